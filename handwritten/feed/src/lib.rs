// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_feed::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the feed service.
#[derive(Debug, Clone)]
pub struct FeedLogic {
    db: PgPool,
}
impl FeedLogic {
    pub fn new(db: PgPool) -> Self {
        FeedLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for FeedLogic {
    async fn get_personalized_feed(
        &self,
        _ctx: &CallContext,
        _request: pb::GetPersonalizedFeedRequest,
    ) -> Result<pb::GetPersonalizedFeedResponse, LogicError> {
        Err(LogicError::Unimplemented("GetPersonalizedFeed"))
    }
    async fn get_following_feed(
        &self,
        _ctx: &CallContext,
        _request: pb::GetFollowingFeedRequest,
    ) -> Result<pb::GetFollowingFeedResponse, LogicError> {
        Err(LogicError::Unimplemented("GetFollowingFeed"))
    }
    async fn get_trending_feed(
        &self,
        _ctx: &CallContext,
        _request: pb::GetTrendingFeedRequest,
    ) -> Result<pb::GetTrendingFeedResponse, LogicError> {
        Err(LogicError::Unimplemented("GetTrendingFeed"))
    }
    async fn get_trending_by_category(
        &self,
        _ctx: &CallContext,
        _request: pb::GetTrendingByCategoryRequest,
    ) -> Result<pb::GetTrendingByCategoryResponse, LogicError> {
        Err(LogicError::Unimplemented("GetTrendingByCategory"))
    }
    async fn get_suggested_users(
        &self,
        _ctx: &CallContext,
        _request: pb::GetSuggestedUsersRequest,
    ) -> Result<pb::GetSuggestedUsersResponse, LogicError> {
        Err(LogicError::Unimplemented("GetSuggestedUsers"))
    }
    async fn get_popular_posts(
        &self,
        _ctx: &CallContext,
        _request: pb::GetPopularPostsRequest,
    ) -> Result<pb::GetPopularPostsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetPopularPosts"))
    }
    async fn get_user_feed(
        &self,
        _ctx: &CallContext,
        _request: pb::GetUserFeedRequest,
    ) -> Result<pb::GetUserFeedResponse, LogicError> {
        Err(LogicError::Unimplemented("GetUserFeed"))
    }
    async fn invalidate_feed_cache(
        &self,
        _ctx: &CallContext,
        _request: pb::InvalidateFeedCacheRequest,
    ) -> Result<pb::InvalidateFeedCacheResponse, LogicError> {
        Err(LogicError::Unimplemented("InvalidateFeedCache"))
    }
    async fn update_engagement_score(
        &self,
        _ctx: &CallContext,
        _request: pb::UpdateEngagementScoreRequest,
    ) -> Result<pb::UpdateEngagementScoreResponse, LogicError> {
        Err(LogicError::Unimplemented("UpdateEngagementScore"))
    }
    async fn get_feed_metadata(
        &self,
        _ctx: &CallContext,
        _request: pb::GetFeedMetadataRequest,
    ) -> Result<pb::GetFeedMetadataResponse, LogicError> {
        Err(LogicError::Unimplemented("GetFeedMetadata"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_feed::db::open(config.database()?)?;
    let logic = FeedLogic::new(database.pool().clone());
    let options = ServeOptions {
        shutdown: config.shutdown,
        database: Some(database),
    };
    nova_feed::server::serve_with(logic, options, listeners, shutdown).await
}
