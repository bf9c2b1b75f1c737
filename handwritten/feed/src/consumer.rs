//! What feed does when other services' events arrive (the generated
//! `nova_feed::events::Consumer`): the rows the spec's references name are deleted or cleared
//! by the generated cascade before this runs.
//!
//! feed caches answers per viewer (who follows or blocks whom decides what they see), so once
//! an account deletion or a follow, unfollow, block or unblock has committed, every answer
//! computed for the users concerned is dropped in every caller (their cache entries carry the
//! viewer's id, see `nova_runtime::client`).

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::events::{Received, Tx};
use nova_feed::LogicError;
use nova_feed::events::{Consumer, user};

use crate::FeedLogic;

impl Consumer for FeedLogic {
    async fn on_auth_users_deleted(&self, _tx: &mut Tx, _event: &Received, _user: Uuid) -> Result<(), LogicError> {
        // The generated cascades (the spec's `-> auth.users.id cascade | set null`) did it all.
        Ok(())
    }

    async fn on_user_profiles_relations_changed(
        &self,
        _tx: &mut Tx,
        _event: &Received,
        _user: Uuid,
        _change: user::RelationChanged,
    ) -> Result<(), LogicError> {
        // Nothing stored here changes; the cached answers go once this commits.
        Ok(())
    }

    async fn committed(&self, event: &Received) {
        let mut users = vec![event.envelope.aggregate_id.clone()];
        if event.is("user", "profiles.relations_changed") {
            users.extend(event.message::<user::RelationChanged>().map(|change| change.other_user_id));
        }
        self.invalidator.entities(users).await;
    }
}
