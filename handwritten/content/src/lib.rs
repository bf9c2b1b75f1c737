// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_content::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the content service.
#[derive(Debug, Clone)]
pub struct ContentLogic {
    db: PgPool,
}
impl ContentLogic {
    pub fn new(db: PgPool) -> Self {
        ContentLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for ContentLogic {
    async fn get_post(
        &self,
        _ctx: &CallContext,
        _request: pb::GetPostRequest,
    ) -> Result<pb::GetPostResponse, LogicError> {
        Err(LogicError::Unimplemented("GetPost"))
    }
    async fn get_posts_by_ids(
        &self,
        _ctx: &CallContext,
        _request: pb::GetPostsByIdsRequest,
    ) -> Result<pb::GetPostsByIdsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetPostsByIds"))
    }
    async fn get_posts_by_author(
        &self,
        _ctx: &CallContext,
        _request: pb::GetPostsByAuthorRequest,
    ) -> Result<pb::GetPostsByAuthorResponse, LogicError> {
        Err(LogicError::Unimplemented("GetPostsByAuthor"))
    }
    async fn create_post(
        &self,
        _ctx: &CallContext,
        _request: pb::CreatePostRequest,
    ) -> Result<pb::CreatePostResponse, LogicError> {
        Err(LogicError::Unimplemented("CreatePost"))
    }
    async fn update_post(
        &self,
        _ctx: &CallContext,
        _request: pb::UpdatePostRequest,
    ) -> Result<pb::UpdatePostResponse, LogicError> {
        Err(LogicError::Unimplemented("UpdatePost"))
    }
    async fn delete_post(
        &self,
        _ctx: &CallContext,
        _request: pb::DeletePostRequest,
    ) -> Result<pb::DeletePostResponse, LogicError> {
        Err(LogicError::Unimplemented("DeletePost"))
    }
    async fn increment_like_count(
        &self,
        _ctx: &CallContext,
        _request: pb::IncrementLikeCountRequest,
    ) -> Result<pb::IncrementLikeCountResponse, LogicError> {
        Err(LogicError::Unimplemented("IncrementLikeCount"))
    }
    async fn decrement_like_count(
        &self,
        _ctx: &CallContext,
        _request: pb::DecrementLikeCountRequest,
    ) -> Result<pb::DecrementLikeCountResponse, LogicError> {
        Err(LogicError::Unimplemented("DecrementLikeCount"))
    }
    async fn get_feed_posts(
        &self,
        _ctx: &CallContext,
        _request: pb::GetFeedPostsRequest,
    ) -> Result<pb::GetFeedPostsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetFeedPosts"))
    }
    async fn check_post_exists(
        &self,
        _ctx: &CallContext,
        _request: pb::CheckPostExistsRequest,
    ) -> Result<pb::CheckPostExistsResponse, LogicError> {
        Err(LogicError::Unimplemented("CheckPostExists"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_content::db::open(config.database()?)?;
    let logic = ContentLogic::new(database.pool().clone());
    let options = ServeOptions {
        shutdown: config.shutdown,
        database: Some(database),
    };
    nova_content::server::serve_with(logic, options, listeners, shutdown).await
}
