//! What search does when other services' events arrive (the generated
//! `nova_search::events::Consumer`): the rows the spec's references name are deleted or cleared by the generated cascade before this runs.

use ::nova_runtime::RepoError;
use ::nova_runtime::codegen::sqlx;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::events::{Received, Tx};

/// The deleted user's profile document (kind 2 = user).
const SQL_DELETE_USER_DOCUMENTS: &str = "DELETE FROM search_documents WHERE kind = 2 AND source_id = $1";
use nova_search::LogicError;
use nova_search::events::Consumer;

use crate::SearchLogic;

impl Consumer for SearchLogic {
    async fn on_auth_users_deleted(&self, tx: &mut Tx, _event: &Received, user: Uuid) -> Result<(), LogicError> {
        // The user's own document names them as its source, not as its author.
        sqlx::query(SQL_DELETE_USER_DOCUMENTS).bind(user).execute(&mut **tx).await.map_err(|e| RepoError::from_sqlx("search_documents", e))?;
        Ok(())
    }
}
