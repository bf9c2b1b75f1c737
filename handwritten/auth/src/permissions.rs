//! Permissions held by users (`user_permissions`), e.g. `content.moderate`.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::{LogicError, RepoError};
use nova_auth::pb;
use nova_auth::repo::{user_permissions, users as users_table};

use crate::input::required;
use crate::{AuthLogic, sql};

/// Longest permission name.
const MAX_PERMISSION_CHARS: usize = 64;

/// A permission name: dot-separated segments of `a-z`, `0-9` and `_`, each starting with a
/// letter, at least two segments (`service.action`).
pub fn parse_permission(value: &str) -> Result<&str, LogicError> {
    let value = required("permission", value)?;
    let segment_ok =
        |s: &str| s.starts_with(|c: char| c.is_ascii_lowercase()) && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let valid = value.len() <= MAX_PERMISSION_CHARS && value.split('.').count() >= 2 && value.split('.').all(segment_ok);
    if !valid {
        return Err(LogicError::invalid_argument(format!(
            "permission must look like \"content.moderate\": dot-separated a-z, 0-9 or _, at most {MAX_PERMISSION_CHARS} characters"
        )));
    }
    Ok(value)
}

/// The user id of a request, which must name a live user.
async fn live_user(logic: &AuthLogic, user_id: &str) -> Result<Uuid, LogicError> {
    let id = parse_uuid("user_id", user_id)?;
    match users_table::get(logic.db(), id).await? {
        Some(_) => Ok(id),
        None => Err(LogicError::not_found(format!("no user {id}"))),
    }
}

pub async fn check(logic: &AuthLogic, request: pb::CheckPermissionRequest) -> Result<pb::CheckPermissionResponse, LogicError> {
    let permission = parse_permission(&request.permission)?;
    let id = live_user(logic, &request.user_id).await?;
    let allowed = user_permissions::get(logic.db(), id, permission).await?.is_some();
    Ok(pb::CheckPermissionResponse { allowed })
}

pub async fn list(logic: &AuthLogic, request: pb::GetUserPermissionsRequest) -> Result<pb::GetUserPermissionsResponse, LogicError> {
    let id = live_user(logic, &request.user_id).await?;
    Ok(pb::GetUserPermissionsResponse { permissions: sql::user_permissions(logic.db(), id).await? })
}

/// GrantPermission: idempotent; a second grant (even a concurrent one) changes nothing.
pub async fn grant(logic: &AuthLogic, request: pb::GrantPermissionRequest) -> Result<pb::GrantPermissionResponse, LogicError> {
    let permission = parse_permission(&request.permission)?.to_string();
    let id = live_user(logic, &request.user_id).await?;
    let new = user_permissions::New { user_id: id, permission, granted_at: None };
    match user_permissions::insert(logic.db(), &new).await {
        Ok(_) => logic.invalidator().entity(&id.to_string()).await,
        Err(RepoError::UniqueViolation { .. }) => {}
        // The user was purged between the check and the insert.
        Err(RepoError::ForeignKeyViolation { .. }) => return Err(LogicError::not_found(format!("no user {id}"))),
        Err(other) => return Err(other.into()),
    }
    Ok(pb::GrantPermissionResponse {})
}

/// RevokePermission: idempotent; revoking a permission not held succeeds.
pub async fn revoke(logic: &AuthLogic, request: pb::RevokePermissionRequest) -> Result<pb::RevokePermissionResponse, LogicError> {
    let permission = parse_permission(&request.permission)?;
    let id = live_user(logic, &request.user_id).await?;
    if user_permissions::delete(logic.db(), id, permission).await? {
        logic.invalidator().entity(&id.to_string()).await;
    }
    Ok(pb::RevokePermissionResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_are_dotted_lower_case() {
        for ok in ["content.moderate", "media.delete_any", "a.b.c2"] {
            assert!(parse_permission(ok).is_ok(), "{ok}");
        }
        for bad in ["", "moderate", "Content.moderate", "content.", ".x", "content.mod-erate", "content.1x"] {
            assert!(parse_permission(bad).is_err(), "{bad}");
        }
    }
}
