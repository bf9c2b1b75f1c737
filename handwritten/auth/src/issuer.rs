//! auth's own answer to "does this user hold this permission?", for its own server's
//! permission policies (RotateSigningKey, GrantPermission, ...): read in process (the same rule
//! as CheckPermission, operators by email included) instead of calling itself.

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::identity::{PermissionFuture, Permissions};
use nova_auth::repo::users;

use crate::{AuthLogic, permissions};

/// Permissions held by live users, as [`permissions::holds`] says.
#[derive(Debug, Clone)]
pub struct LocalPermissions(pub AuthLogic);

impl Permissions for LocalPermissions {
    fn has(&self, user: Uuid, permission: &'static str) -> PermissionFuture<'_> {
        Box::pin(async move {
            let failed = |e: LogicError| e.into_status("local permissions", "");
            match users::get(self.0.db(), user).await.map_err(|e| failed(e.into()))? {
                Some(row) => permissions::holds(&self.0, &row, permission).await.map_err(failed),
                // A deleted account holds nothing (its tokens are revoked anyway).
                None => Ok(false),
            }
        })
    }
}
