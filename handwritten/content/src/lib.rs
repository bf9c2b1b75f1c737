// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the content service: posts with their media, likes, threaded comments,
//! shares, bookmarks and stories.
//!
//! Each RPC lives in the module named for what it touches (`posts`, `likes`, `comments`,
//! `shares`, `bookmarks`, `stories`); the `Logic` impl below only dispatches. Calls to auth,
//! media and user (and the mapping of their errors) are in `calls`, conversions to protos in
//! `convert`, the few statements the generated repositories do not offer in `queries`; the
//! `posts.changed` event (written in the transaction of each post write; search indexes from
//! it) in `changes`; what content does when another service's event arrives in `consumer`; who
//! sees what (the viewer of a call and their audience towards an author) in `viewers`.

mod bookmarks;
mod calls;
mod changes;
mod comments;
mod consumer;
mod convert;
mod likes;
mod posts;
pub mod queries;
mod shares;
mod stories;
mod viewers;

use ::nova_runtime::client::Invalidator;
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
use nova_auth_api::AuthClient;
use nova_content::wiring::Users;
use nova_content::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use nova_media_api::MediaClient;
use nova_user_api::UserClient;

/// The business logic of the content service.
#[derive(Debug, Clone)]
pub struct ContentLogic {
    db: PgPool,
    /// Authors exist and are active; moderators hold `content.moderate`.
    auth: AuthClient,
    /// Attached media are READY and owned by the author.
    media: MediaClient,
    /// Blocks and follows decide who sees what (fail-closed).
    user: UserClient,
    /// Drops cached reads of this service (by post id) after a write commits.
    invalidator: Invalidator,
    /// Whether authors exist and are active (auth, cached).
    users: Users,
}

impl ContentLogic {
    pub fn new(dependencies: Dependencies) -> Self {
        let Dependencies { db, auth, media, user, invalidator, users } = dependencies;
        ContentLogic { db, auth, media, user, invalidator, users }
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}

impl Logic for ContentLogic {
    async fn get_post(&self, ctx: &CallContext, request: pb::GetPostRequest) -> Result<pb::GetPostResponse, LogicError> {
        posts::get_post(self, ctx, request).await
    }

    async fn get_posts_by_ids(&self, ctx: &CallContext, request: pb::GetPostsByIdsRequest) -> Result<pb::GetPostsByIdsResponse, LogicError> {
        posts::get_posts_by_ids(self, ctx, request).await
    }

    async fn get_posts_by_author(&self, ctx: &CallContext, request: pb::GetPostsByAuthorRequest) -> Result<pb::GetPostsByAuthorResponse, LogicError> {
        posts::get_posts_by_author(self, ctx, request).await
    }

    async fn create_post(&self, ctx: &CallContext, request: pb::CreatePostRequest) -> Result<pb::CreatePostResponse, LogicError> {
        posts::create_post(self, ctx, request).await
    }

    async fn update_post(&self, ctx: &CallContext, request: pb::UpdatePostRequest) -> Result<pb::UpdatePostResponse, LogicError> {
        posts::update_post(self, ctx, request).await
    }

    async fn delete_post(&self, ctx: &CallContext, request: pb::DeletePostRequest) -> Result<pb::DeletePostResponse, LogicError> {
        posts::delete_post(self, ctx, request).await
    }

    async fn get_feed_posts(&self, ctx: &CallContext, request: pb::GetFeedPostsRequest) -> Result<pb::GetFeedPostsResponse, LogicError> {
        posts::get_feed_posts(self, ctx, request).await
    }

    async fn check_post_exists(&self, ctx: &CallContext, request: pb::CheckPostExistsRequest) -> Result<pb::CheckPostExistsResponse, LogicError> {
        posts::check_post_exists(self, ctx, request).await
    }

    async fn like_post(&self, ctx: &CallContext, request: pb::LikePostRequest) -> Result<pb::LikePostResponse, LogicError> {
        likes::like_post(self, ctx, request).await
    }

    async fn unlike_post(&self, ctx: &CallContext, request: pb::UnlikePostRequest) -> Result<pb::UnlikePostResponse, LogicError> {
        likes::unlike_post(self, ctx, request).await
    }

    async fn list_post_likes(&self, ctx: &CallContext, request: pb::ListPostLikesRequest) -> Result<pb::ListPostLikesResponse, LogicError> {
        likes::list_post_likes(self, ctx, request).await
    }

    async fn create_comment(&self, ctx: &CallContext, request: pb::CreateCommentRequest) -> Result<pb::CreateCommentResponse, LogicError> {
        comments::create_comment(self, ctx, request).await
    }

    async fn list_comments(&self, ctx: &CallContext, request: pb::ListCommentsRequest) -> Result<pb::ListCommentsResponse, LogicError> {
        comments::list_comments(self, ctx, request).await
    }

    async fn list_comment_replies(
        &self,
        ctx: &CallContext,
        request: pb::ListCommentRepliesRequest,
    ) -> Result<pb::ListCommentRepliesResponse, LogicError> {
        comments::list_comment_replies(self, ctx, request).await
    }

    async fn delete_comment(&self, ctx: &CallContext, request: pb::DeleteCommentRequest) -> Result<pb::DeleteCommentResponse, LogicError> {
        comments::delete_comment(self, ctx, request).await
    }

    async fn share_post(&self, ctx: &CallContext, request: pb::SharePostRequest) -> Result<pb::SharePostResponse, LogicError> {
        shares::share_post(self, ctx, request).await
    }

    async fn list_post_shares(&self, ctx: &CallContext, request: pb::ListPostSharesRequest) -> Result<pb::ListPostSharesResponse, LogicError> {
        shares::list_post_shares(self, ctx, request).await
    }

    async fn create_bookmark_collection(
        &self,
        ctx: &CallContext,
        request: pb::CreateBookmarkCollectionRequest,
    ) -> Result<pb::CreateBookmarkCollectionResponse, LogicError> {
        bookmarks::create_bookmark_collection(self, ctx, request).await
    }

    async fn list_bookmark_collections(
        &self,
        ctx: &CallContext,
        request: pb::ListBookmarkCollectionsRequest,
    ) -> Result<pb::ListBookmarkCollectionsResponse, LogicError> {
        bookmarks::list_bookmark_collections(self, ctx, request).await
    }

    async fn delete_bookmark_collection(
        &self,
        ctx: &CallContext,
        request: pb::DeleteBookmarkCollectionRequest,
    ) -> Result<pb::DeleteBookmarkCollectionResponse, LogicError> {
        bookmarks::delete_bookmark_collection(self, ctx, request).await
    }

    async fn bookmark_post(&self, ctx: &CallContext, request: pb::BookmarkPostRequest) -> Result<pb::BookmarkPostResponse, LogicError> {
        bookmarks::bookmark_post(self, ctx, request).await
    }

    async fn remove_bookmark(&self, ctx: &CallContext, request: pb::RemoveBookmarkRequest) -> Result<pb::RemoveBookmarkResponse, LogicError> {
        bookmarks::remove_bookmark(self, ctx, request).await
    }

    async fn list_bookmarks(&self, ctx: &CallContext, request: pb::ListBookmarksRequest) -> Result<pb::ListBookmarksResponse, LogicError> {
        bookmarks::list_bookmarks(self, ctx, request).await
    }

    async fn create_story(&self, ctx: &CallContext, request: pb::CreateStoryRequest) -> Result<pb::CreateStoryResponse, LogicError> {
        stories::create_story(self, ctx, request).await
    }

    async fn get_story(&self, ctx: &CallContext, request: pb::GetStoryRequest) -> Result<pb::GetStoryResponse, LogicError> {
        stories::get_story(self, ctx, request).await
    }

    async fn list_active_stories(
        &self,
        ctx: &CallContext,
        request: pb::ListActiveStoriesRequest,
    ) -> Result<pb::ListActiveStoriesResponse, LogicError> {
        stories::list_active_stories(self, ctx, request).await
    }

    async fn view_story(&self, ctx: &CallContext, request: pb::ViewStoryRequest) -> Result<pb::ViewStoryResponse, LogicError> {
        stories::view_story(self, ctx, request).await
    }

    async fn list_story_viewers(&self, ctx: &CallContext, request: pb::ListStoryViewersRequest) -> Result<pb::ListStoryViewersResponse, LogicError> {
        stories::list_story_viewers(self, ctx, request).await
    }

    async fn delete_story(&self, ctx: &CallContext, request: pb::DeleteStoryRequest) -> Result<pb::DeleteStoryResponse, LogicError> {
        stories::delete_story(self, ctx, request).await
    }
}

/// Starts the service: opens its database (the server waits for it and applies
/// migrations), builds the clients of auth, media and user once (endpoints and caches from
/// `config.peers`), then serves on `listeners`, with its events relay and consumers when
/// `config.events` is set, until `shutdown` is requested.
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = ContentLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}
