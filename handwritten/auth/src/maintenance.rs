//! Background clean-up while the service serves: rows that no longer decide anything are
//! deleted, so tables that grow with traffic (and with attacks) stay bounded by their window.

use ::nova_runtime::codegen::chrono::Utc;

use crate::{AuthLogic, revocations, sql};

/// Deletes sign-in counts whose window and refusal both ended, and revocations that cover no
/// token still valid. A failure is logged at warn; the next run retries.
pub async fn prune(logic: &AuthLogic) {
    let now = Utc::now();
    match revocations::prune(logic.db(), now).await {
        Ok(0) => {}
        Ok(deleted) => ::tracing::debug!(deleted, "pruned expired revocations"),
        Err(error) => ::tracing::warn!(%error, "could not prune expired revocations; will retry"),
    }
    match sql::prune_throttles(logic.db(), now - logic.settings().lockout, now).await {
        Ok(0) => {}
        Ok(deleted) => ::tracing::debug!(deleted, "pruned sign-in counts"),
        Err(error) => ::tracing::warn!(%error, "could not prune sign-in counts; will retry"),
    }
}
