// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the feed service: what a user sees and in which order.
//!
//! Feed owns engagement signals, trending scores and feed preferences, never posts or follows:
//! it asks user whom a viewer follows (GetUserFollowing, every page up to
//! [`calls::MAX_FOLLOWED`] authors) and content for their posts (GetFeedPosts, keyset-paged),
//! through the generated clients and their caches, and answers post ids with scores and
//! reasons; callers fetch the bodies from content.
//!
//! # Freshness
//!
//! * Follows: user invalidates GetUserFollowing by `user_id` after Follow, Unfollow and Block,
//!   so feed's next computation sees the new graph at once.
//! * Deleted posts: every page is checked against content's GetPostsByIds (cached, and
//!   invalidated by post id when a post is deleted or edited), so a deleted or newly private
//!   post leaves the next computation at once, although GetFeedPosts itself is cached 15 s.
//! * New posts appear within GetFeedPosts' TTL (15 s).
//! * Feed's own callers cache its answers (GetFollowingFeed 30 s, GetPersonalizedFeed 2 min,
//!   ...) keyed by `user_id`; only UpdateFeedPreferences and InvalidateFeedCache invalidate
//!   them, so a follow or a deletion reaches a caller's cached page within that TTL.
//!
//! # Who sees what
//!
//! A user's feeds, suggestions, metadata and preferences are bound to the caller by the
//! policy; feed forwards the user's token to user and content (the generated clients do), so
//! they answer what that user may see. The trending and popular lists are shared by every
//! caller: their posts are checked with content as feed itself (see
//! [`calls`]'s `public_posts`), public ones only. Engagement counts once per user, post and
//! kind (see [`engagement`]).
//!
//! # Scores
//!
//! Trending scores decay exponentially with a half-life per window (see [`decay`]); each
//! engagement adds its weight in log space, so old rows are never rewritten (see
//! [`engagement`]).

mod calls;
mod consumer;
pub mod decay;
mod engagement;
mod home;
mod metadata;
mod paging;
pub mod queries;
mod suggestions;
mod trending;

use ::nova_runtime::client::Invalidator;
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
use nova_content_api::ContentClient;
use nova_feed::wiring::Users;
use nova_feed::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
use nova_user_api::UserClient;

/// The business logic of the feed service.
#[derive(Debug, Clone)]
pub struct FeedLogic {
    db: PgPool,
    /// Posts of followed authors, and whether listed posts are still live.
    content: ContentClient,
    /// The follow graph and blocks.
    user: UserClient,
    /// Drops callers' cached feeds of a user (by user id) after a write commits.
    invalidator: Invalidator,
    /// Whether a user exists (auth, cached).
    users: Users,
}

impl FeedLogic {
    pub fn new(dependencies: Dependencies) -> Self {
        let Dependencies { db, content, user, invalidator, users, auth: _ } = dependencies;
        FeedLogic { db, content, user, invalidator, users }
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
        request: pb::GetPersonalizedFeedRequest,
    ) -> Result<pb::GetPersonalizedFeedResponse, LogicError> {
        let (items, next_page_token) = home::personalized(self, &request.user_id, request.page_size, &request.page_token).await?;
        Ok(pb::GetPersonalizedFeedResponse { items, next_page_token })
    }

    async fn get_following_feed(&self, _ctx: &CallContext, request: pb::GetFollowingFeedRequest) -> Result<pb::GetFollowingFeedResponse, LogicError> {
        let (items, next_page_token) = home::following(self, &request.user_id, request.page_size, &request.page_token).await?;
        Ok(pb::GetFollowingFeedResponse { items, next_page_token })
    }

    async fn get_trending_feed(&self, _ctx: &CallContext, request: pb::GetTrendingFeedRequest) -> Result<pb::GetTrendingFeedResponse, LogicError> {
        trending::get_trending_feed(self, request).await
    }

    async fn get_trending_by_category(
        &self,
        _ctx: &CallContext,
        request: pb::GetTrendingByCategoryRequest,
    ) -> Result<pb::GetTrendingByCategoryResponse, LogicError> {
        trending::get_trending_by_category(self, request).await
    }

    async fn get_suggested_users(
        &self,
        _ctx: &CallContext,
        request: pb::GetSuggestedUsersRequest,
    ) -> Result<pb::GetSuggestedUsersResponse, LogicError> {
        suggestions::get_suggested_users(self, request).await
    }

    async fn get_popular_posts(&self, _ctx: &CallContext, request: pb::GetPopularPostsRequest) -> Result<pb::GetPopularPostsResponse, LogicError> {
        trending::get_popular_posts(self, request).await
    }

    async fn get_user_feed(&self, _ctx: &CallContext, request: pb::GetUserFeedRequest) -> Result<pb::GetUserFeedResponse, LogicError> {
        home::get_user_feed(self, request).await
    }

    async fn invalidate_feed_cache(
        &self,
        ctx: &CallContext,
        request: pb::InvalidateFeedCacheRequest,
    ) -> Result<pb::InvalidateFeedCacheResponse, LogicError> {
        metadata::invalidate_feed_cache(self, ctx.require_user()?, request).await
    }

    async fn update_engagement_score(
        &self,
        _ctx: &CallContext,
        request: pb::UpdateEngagementScoreRequest,
    ) -> Result<pb::UpdateEngagementScoreResponse, LogicError> {
        engagement::update_engagement_score(self, request).await
    }

    async fn get_feed_metadata(&self, _ctx: &CallContext, request: pb::GetFeedMetadataRequest) -> Result<pb::GetFeedMetadataResponse, LogicError> {
        metadata::get_feed_metadata(self, request).await
    }

    async fn update_feed_preferences(
        &self,
        _ctx: &CallContext,
        request: pb::UpdateFeedPreferencesRequest,
    ) -> Result<pb::UpdateFeedPreferencesResponse, LogicError> {
        metadata::update_feed_preferences(self, request).await
    }
}

/// Starts the service as the spec wires it (see [`Wiring`]), then serves on `listeners` until
/// `shutdown` is requested.
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = FeedLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}
