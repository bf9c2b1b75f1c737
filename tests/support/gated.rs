//! An auth `Logic` whose `Register` calls wait at a gate the test opens: the test knows, by
//! events rather than by time, that a call is in flight (it entered) and when it may finish
//! (the gate opened). `GetUser` answers at once; everything else is UNIMPLEMENTED.

use std::sync::Arc;

use nova_auth::{CallContext, Logic, LogicError, pb};
use tokio::sync::watch;

/// Shared between the test and the server it started.
#[derive(Debug, Clone)]
pub struct Gated {
    entered: Arc<watch::Sender<usize>>,
    open: Arc<watch::Sender<bool>>,
}

impl Default for Gated {
    fn default() -> Self {
        Gated { entered: Arc::new(watch::channel(0).0), open: Arc::new(watch::channel(false).0) }
    }
}

impl Gated {
    /// Waits until `count` `Register` calls have entered the handler.
    pub async fn entered(&self, count: usize) {
        let _ = self.entered.subscribe().wait_for(|n| *n >= count).await;
    }

    /// Lets every waiting (and future) `Register` call finish.
    pub fn open(&self) {
        self.open.send_replace(true);
    }
}

impl Logic for Gated {
    async fn register(&self, _ctx: &CallContext, request: pb::RegisterRequest) -> Result<pb::RegisterResponse, LogicError> {
        self.entered.send_modify(|n| *n += 1);
        let _ = self.open.subscribe().wait_for(|open| *open).await;
        Ok(pb::RegisterResponse { user: Some(pb::User { username: request.username, ..pb::User::default() }) })
    }

    async fn login(&self, _ctx: &CallContext, _request: pb::LoginRequest) -> Result<pb::LoginResponse, LogicError> {
        Err(LogicError::Unimplemented("Login"))
    }

    async fn refresh(&self, _ctx: &CallContext, _request: pb::RefreshRequest) -> Result<pb::RefreshResponse, LogicError> {
        Err(LogicError::Unimplemented("Refresh"))
    }

    async fn get_user(&self, _ctx: &CallContext, request: pb::GetUserRequest) -> Result<pb::GetUserResponse, LogicError> {
        Ok(pb::GetUserResponse { user: Some(pb::User { id: request.user_id, ..pb::User::default() }) })
    }

    async fn get_users_by_ids(&self, _ctx: &CallContext, _request: pb::GetUsersByIdsRequest) -> Result<pb::GetUsersByIdsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUsersByIds"))
    }

    async fn verify_token(&self, _ctx: &CallContext, _request: pb::VerifyTokenRequest) -> Result<pb::VerifyTokenResponse, LogicError> {
        Err(LogicError::Unimplemented("VerifyToken"))
    }

    async fn check_user_exists(&self, _ctx: &CallContext, _request: pb::CheckUserExistsRequest) -> Result<pb::CheckUserExistsResponse, LogicError> {
        Err(LogicError::Unimplemented("CheckUserExists"))
    }

    async fn get_user_by_email(&self, _ctx: &CallContext, _request: pb::GetUserByEmailRequest) -> Result<pb::GetUserByEmailResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserByEmail"))
    }

    async fn list_users(&self, _ctx: &CallContext, _request: pb::ListUsersRequest) -> Result<pb::ListUsersResponse, LogicError> {
        Err(LogicError::Unimplemented("ListUsers"))
    }

    async fn check_permission(&self, _ctx: &CallContext, _request: pb::CheckPermissionRequest) -> Result<pb::CheckPermissionResponse, LogicError> {
        Err(LogicError::Unimplemented("CheckPermission"))
    }

    async fn get_user_permissions(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserPermissionsRequest,
    ) -> Result<pb::GetUserPermissionsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserPermissions"))
    }

    async fn record_failed_login(
        &self,
        _ctx: &CallContext,
        _request: pb::RecordFailedLoginRequest,
    ) -> Result<pb::RecordFailedLoginResponse, LogicError> {
        Err(LogicError::Unimplemented("RecordFailedLogin"))
    }

    async fn logout(&self, _ctx: &CallContext, _request: pb::LogoutRequest) -> Result<pb::LogoutResponse, LogicError> {
        Err(LogicError::Unimplemented("Logout"))
    }

    async fn grant_permission(&self, _ctx: &CallContext, _request: pb::GrantPermissionRequest) -> Result<pb::GrantPermissionResponse, LogicError> {
        Err(LogicError::Unimplemented("GrantPermission"))
    }

    async fn revoke_permission(&self, _ctx: &CallContext, _request: pb::RevokePermissionRequest) -> Result<pb::RevokePermissionResponse, LogicError> {
        Err(LogicError::Unimplemented("RevokePermission"))
    }

    async fn delete_user(&self, _ctx: &CallContext, _request: pb::DeleteUserRequest) -> Result<pb::DeleteUserResponse, LogicError> {
        Err(LogicError::Unimplemented("DeleteUser"))
    }

    async fn rotate_signing_key(
        &self,
        _ctx: &CallContext,
        _request: pb::RotateSigningKeyRequest,
    ) -> Result<pb::RotateSigningKeyResponse, LogicError> {
        Err(LogicError::Unimplemented("RotateSigningKey"))
    }

    async fn get_token_verification(
        &self,
        _ctx: &CallContext,
        _request: pb::GetTokenVerificationRequest,
    ) -> Result<pb::GetTokenVerificationResponse, LogicError> {
        Err(LogicError::Unimplemented("GetTokenVerification"))
    }

    async fn change_password(&self, _ctx: &CallContext, _request: pb::ChangePasswordRequest) -> Result<pb::ChangePasswordResponse, LogicError> {
        Err(LogicError::Unimplemented("ChangePassword"))
    }
}
