//! What user does when other services' events arrive (the generated
//! `nova_user::events::Consumer`). Each method runs before the generated cascade deletes or
//! clears the rows the spec's references name, in the same transaction.

use ::nova_runtime::RepoError;
use ::nova_runtime::codegen::sqlx;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::events::{Received, Tx};
use nova_user::LogicError;
use nova_user::events::Consumer;

use crate::UserLogic;

/// The counts the deleted user's follows are part of, before the cascade deletes the follows:
/// each followee loses a follower, each follower a followee.
const SQL_UNCOUNT_FOLLOWS: [&str; 2] = [
    "UPDATE profiles SET follower_count = follower_count - 1 WHERE user_id IN (SELECT followee_id FROM follows WHERE follower_id = $1)",
    "UPDATE profiles SET following_count = following_count - 1 WHERE user_id IN (SELECT follower_id FROM follows WHERE followee_id = $1)",
];

impl Consumer for UserLogic {
    async fn on_auth_users_deleted(&self, tx: &mut Tx, _event: &Received, user: Uuid) -> Result<(), LogicError> {
        // The generated cascade then deletes the user's profile, settings, follows and blocks.
        for statement in SQL_UNCOUNT_FOLLOWS {
            sqlx::query(statement).bind(user).execute(&mut **tx).await.map_err(|e| RepoError::from_sqlx("profiles", e))?;
        }
        Ok(())
    }

    async fn committed(&self, event: &Received) {
        // Every cached answer about the deleted user, or computed for them, in every caller.
        self.invalidator.entity(&event.envelope.aggregate_id).await;
    }
}
