// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_auth::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{ServiceConfig, StartError};
use ::nova_runtime::codegen::tokio::net::TcpListener;
/// The business logic of the auth service.
#[derive(Debug, Clone)]
pub struct AuthLogic {
    db: PgPool,
}
impl AuthLogic {
    pub fn new(db: PgPool) -> Self {
        AuthLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for AuthLogic {
    async fn register(
        &self,
        _ctx: &CallContext,
        _request: pb::RegisterRequest,
    ) -> Result<pb::RegisterResponse, LogicError> {
        Err(LogicError::Unimplemented("Register"))
    }
    async fn login(
        &self,
        _ctx: &CallContext,
        _request: pb::LoginRequest,
    ) -> Result<pb::LoginResponse, LogicError> {
        Err(LogicError::Unimplemented("Login"))
    }
    async fn refresh(
        &self,
        _ctx: &CallContext,
        _request: pb::RefreshRequest,
    ) -> Result<pb::RefreshResponse, LogicError> {
        Err(LogicError::Unimplemented("Refresh"))
    }
    async fn get_user(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserRequest,
    ) -> Result<pb::GetUserResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUser"))
    }
    async fn get_users_by_ids(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUsersByIdsRequest,
    ) -> Result<pb::GetUsersByIdsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUsersByIds"))
    }
    async fn verify_token(
        &self,
        _ctx: &CallContext,
        _request: pb::VerifyTokenRequest,
    ) -> Result<pb::VerifyTokenResponse, LogicError> {
        Err(LogicError::Unimplemented("VerifyToken"))
    }
    async fn check_user_exists(
        &self,
        _ctx: &CallContext,
        _request: pb::CheckUserExistsRequest,
    ) -> Result<pb::CheckUserExistsResponse, LogicError> {
        Err(LogicError::Unimplemented("CheckUserExists"))
    }
    async fn get_user_by_email(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserByEmailRequest,
    ) -> Result<pb::GetUserByEmailResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserByEmail"))
    }
    async fn list_users(
        &self,
        _ctx: &CallContext,
        _request: pb::ListUsersRequest,
    ) -> Result<pb::ListUsersResponse, LogicError> {
        Err(LogicError::Unimplemented("ListUsers"))
    }
    async fn check_permission(
        &self,
        _ctx: &CallContext,
        _request: pb::CheckPermissionRequest,
    ) -> Result<pb::CheckPermissionResponse, LogicError> {
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
}
/// Starts the service: opens its database (applying migrations), then serves on
/// `listener` until `shutdown` completes.
pub async fn start(
    config: ServiceConfig,
    listener: TcpListener,
    shutdown: impl ::std::future::Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let db = nova_auth::db::connect(&config.database).await?;
    nova_auth::server::serve(AuthLogic::new(db), listener, shutdown).await
}
