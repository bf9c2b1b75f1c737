//! What user does when other services' events arrive (the generated
//! `nova_user::events::Consumer`): the rows the spec's references name are deleted or cleared by the generated cascade before this runs.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::events::{Received, Tx};
use nova_user::LogicError;
use nova_user::events::Consumer;

use crate::UserLogic;

impl Consumer for UserLogic {
    async fn on_auth_users_deleted(&self, _tx: &mut Tx, _event: &Received, _user: Uuid) -> Result<(), LogicError> {
        // The generated cascades (the spec's `-> auth.users.id cascade | set null`) did it all.
        Ok(())
    }

    async fn committed(&self, event: &Received) {
        // Every cached answer about the deleted user, or computed for them, in every caller.
        self.invalidator.entity(&event.envelope.aggregate_id).await;
    }
}
