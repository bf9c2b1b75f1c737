//! Permissions held by users, e.g. `content.moderate`: those granted (`user_permissions`), and
//! every `auth.*` permission for the operators named by email in the settings
//! (`NOVA_AUTH_ADMIN_EMAILS`), so that the first operator exists without anyone granting it.
//! Every read of permissions (CheckPermission, GetUserPermissions, and the permission policies
//! of auth's own RPCs through `issuer::LocalPermissions`) goes through [`holds`] or
//! [`held`].

use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::identity::Access;
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

/// The permissions an operator (an email of `admin_emails`) holds: every `auth.*` one.
const OPERATOR_PREFIX: &str = "auth.";

/// The `auth.*` permissions auth's own RPCs ask for (`auth.admin`), read from their access
/// policies rather than kept by hand: what GetUserPermissions lists for an operator.
pub fn operator_permissions() -> Vec<&'static str> {
    let mut found: Vec<&'static str> = nova_auth::rpc::ALL
        .iter()
        .filter_map(|rpc| match rpc.access.access {
            Access::Permission(permission) if permission.starts_with(OPERATOR_PREFIX) => Some(permission),
            _ => None,
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Whether `user` is an operator by email, which holds every `auth.*` permission.
fn is_operator(logic: &AuthLogic, user: &users_table::Row) -> bool {
    logic.settings().is_admin_email(&user.email)
}

/// Whether the live `user` holds `permission`: granted, or an `auth.*` one and the user an
/// operator by email.
pub async fn holds(logic: &AuthLogic, user: &users_table::Row, permission: &str) -> Result<bool, LogicError> {
    if permission.starts_with(OPERATOR_PREFIX) && is_operator(logic, user) {
        return Ok(true);
    }
    Ok(user_permissions::get(logic.db(), user.id, permission).await?.is_some())
}

/// Every permission the live `user` holds, sorted: those granted, and for an operator the
/// [`operator_permissions`].
pub async fn held(logic: &AuthLogic, user: &users_table::Row) -> Result<Vec<String>, LogicError> {
    let mut permissions = sql::user_permissions(logic.db(), user.id).await?;
    if is_operator(logic, user) {
        permissions.extend(operator_permissions().into_iter().map(str::to_string));
        permissions.sort_unstable();
        permissions.dedup();
    }
    Ok(permissions)
}

/// The user of a request's `user_id`, which must name a live user.
async fn live_user(logic: &AuthLogic, user_id: &str) -> Result<users_table::Row, LogicError> {
    let id = parse_uuid("user_id", user_id)?;
    users_table::get(logic.db(), id).await?.ok_or_else(|| LogicError::not_found(format!("no user {id}")))
}

/// CheckPermission: see the proto (services only).
pub async fn check(logic: &AuthLogic, request: pb::CheckPermissionRequest) -> Result<pb::CheckPermissionResponse, LogicError> {
    let permission = parse_permission(&request.permission)?;
    let user = live_user(logic, &request.user_id).await?;
    Ok(pb::CheckPermissionResponse { allowed: holds(logic, &user, permission).await? })
}

/// GetUserPermissions: see the proto (`user_id` is bound to the caller by the server).
pub async fn list(logic: &AuthLogic, request: pb::GetUserPermissionsRequest) -> Result<pb::GetUserPermissionsResponse, LogicError> {
    let user = live_user(logic, &request.user_id).await?;
    Ok(pb::GetUserPermissionsResponse { permissions: held(logic, &user).await? })
}

/// GrantPermission: idempotent; a second grant (even a concurrent one) changes nothing.
pub async fn grant(logic: &AuthLogic, request: pb::GrantPermissionRequest) -> Result<pb::GrantPermissionResponse, LogicError> {
    let permission = parse_permission(&request.permission)?.to_string();
    let id = live_user(logic, &request.user_id).await?.id;
    let new = user_permissions::New { user_id: id, permission, granted_at: None };
    match user_permissions::insert(logic.db(), &new).await {
        Ok(_) => logic.forget_user(id).await,
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
    let id = live_user(logic, &request.user_id).await?.id;
    if user_permissions::delete(logic.db(), id, permission).await? {
        logic.forget_user(id).await;
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

    #[test]
    fn operators_hold_the_auth_permissions_the_rpcs_ask_for() {
        assert_eq!(operator_permissions(), ["auth.admin"]);
        assert!(operator_permissions().iter().all(|p| parse_permission(p).is_ok()));
    }
}
