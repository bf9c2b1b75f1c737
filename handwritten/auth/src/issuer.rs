//! auth's own answer to "does this user hold this permission?", for its own server's
//! permission policies (RotateSigningKey, GrantPermission, ...): read from its table in process
//! instead of calling itself.

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::identity::{PermissionFuture, Permissions};
use nova_auth::repo::user_permissions;

use crate::AuthLogic;

/// Permissions held, as `user_permissions` says.
#[derive(Debug, Clone)]
pub struct LocalPermissions(pub AuthLogic);

impl Permissions for LocalPermissions {
    fn has(&self, user: Uuid, permission: &'static str) -> PermissionFuture<'_> {
        Box::pin(async move {
            let held = user_permissions::get(self.0.db(), user, permission).await.map_err(|e| LogicError::from(e).into_status("local permissions", ""))?;
            Ok(held.is_some())
        })
    }
}
