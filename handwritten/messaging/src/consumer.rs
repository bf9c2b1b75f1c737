//! What messaging does when other services' events arrive (the generated
//! `nova_messaging::events::Consumer`). Each method runs before the generated cascade deletes
//! or clears the rows the spec's references name, in the same transaction.

use ::nova_runtime::RepoError;
use ::nova_runtime::codegen::sqlx;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::events::{Received, Tx};
use nova_messaging::LogicError;
use nova_messaging::events::Consumer;

use crate::MessagingLogic;

/// Each conversation the deleted user was a member of loses a member, before the cascade
/// deletes the memberships.
const SQL_UNCOUNT_MEMBERSHIPS: &str =
    "UPDATE conversations SET member_count = member_count - 1 WHERE id IN (SELECT conversation_id FROM conversation_members WHERE user_id = $1)";

impl Consumer for MessagingLogic {
    async fn on_auth_users_deleted(&self, tx: &mut Tx, _event: &Received, user: Uuid) -> Result<(), LogicError> {
        // The generated cascade then deletes the memberships and reactions; messages stay,
        // their sender a user auth no longer knows.
        sqlx::query(SQL_UNCOUNT_MEMBERSHIPS).bind(user).execute(&mut **tx).await.map_err(|e| RepoError::from_sqlx("conversations", e))?;
        Ok(())
    }
}
