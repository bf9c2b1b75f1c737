// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_user::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the user service.
#[derive(Debug, Clone)]
pub struct UserLogic {
    db: PgPool,
}
impl UserLogic {
    pub fn new(db: PgPool) -> Self {
        UserLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for UserLogic {
    async fn get_user_profile(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserProfileRequest,
    ) -> Result<pb::GetUserProfileResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserProfile"))
    }
    async fn get_user_profiles_by_ids(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserProfilesByIdsRequest,
    ) -> Result<pb::GetUserProfilesByIdsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserProfilesByIds"))
    }
    async fn update_user_profile(
        &self,
        _ctx: &CallContext,
        _request: pb::UpdateUserProfileRequest,
    ) -> Result<pb::UpdateUserProfileResponse, LogicError> {
        Err(LogicError::Unimplemented("UpdateUserProfile"))
    }
    async fn get_user_settings(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserSettingsRequest,
    ) -> Result<pb::GetUserSettingsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserSettings"))
    }
    async fn update_user_settings(
        &self,
        _ctx: &CallContext,
        _request: pb::UpdateUserSettingsRequest,
    ) -> Result<pb::UpdateUserSettingsResponse, LogicError> {
        Err(LogicError::Unimplemented("UpdateUserSettings"))
    }
    async fn follow(
        &self,
        _ctx: &CallContext,
        _request: pb::FollowRequest,
    ) -> Result<pb::FollowResponse, LogicError> {
        Err(LogicError::Unimplemented("Follow"))
    }
    async fn unfollow(
        &self,
        _ctx: &CallContext,
        _request: pb::UnfollowRequest,
    ) -> Result<pb::UnfollowResponse, LogicError> {
        Err(LogicError::Unimplemented("Unfollow"))
    }
    async fn block(
        &self,
        _ctx: &CallContext,
        _request: pb::BlockRequest,
    ) -> Result<pb::BlockResponse, LogicError> {
        Err(LogicError::Unimplemented("Block"))
    }
    async fn unblock(
        &self,
        _ctx: &CallContext,
        _request: pb::UnblockRequest,
    ) -> Result<pb::UnblockResponse, LogicError> {
        Err(LogicError::Unimplemented("Unblock"))
    }
    async fn get_user_followers(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserFollowersRequest,
    ) -> Result<pb::GetUserFollowersResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserFollowers"))
    }
    async fn get_user_following(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserFollowingRequest,
    ) -> Result<pb::GetUserFollowingResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserFollowing"))
    }
    async fn check_user_relationship(
        &self,
        _ctx: &CallContext,
        _request: pb::CheckUserRelationshipRequest,
    ) -> Result<pb::CheckUserRelationshipResponse, LogicError> {
        Err(LogicError::Unimplemented("CheckUserRelationship"))
    }
    async fn search_users(
        &self,
        _ctx: &CallContext,
        _request: pb::SearchUsersRequest,
    ) -> Result<pb::SearchUsersResponse, LogicError> {
        Err(LogicError::Unimplemented("SearchUsers"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_user::db::open(config.database()?)?;
    let logic = UserLogic::new(database.pool().clone());
    let options = ServeOptions {
        shutdown: config.shutdown,
        database: Some(database),
    };
    nova_user::server::serve_with(logic, options, listeners, shutdown).await
}
