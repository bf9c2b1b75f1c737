//! Business logic of the search service: full-text search over posts, users and hashtags from
//! its own index, the query log behind suggestions, trending searches and analytics.
//!
//! The index is written only through [`index::apply_change`], which the owners' events reach
//! (content's `posts.changed`, user's `profiles.changed`, applied once each in `consumer`; auth's
//! `users.deleted` removes everything of the user), and an operator's repair (IndexDocuments,
//! RemoveDocuments, for holders of `search.index`). Each owner writes only its own kind, and
//! changes are order-safe by the owners' versions, which are times no more than a few minutes
//! ahead of search's clock (see [`index`]). Search calls only auth (whose keys verify tokens,
//! and which says who holds `search.analytics` and `search.index`).
//!
//! **Who sees what.** The searches are `shared`: one answer for every caller, so the index
//! holds only what everyone may see (public posts, public profiles: the owners' events carry
//! nothing else). The query log is private to each user; see `log` for what of it others see.
//!
//! Module map: `index` (changes of the index, hashtag counts), `consumer` (the owners' events),
//! `reads` (the searches),
//! `log` (the query log and suggestions), `text` (query rules, hashtag extraction), `sql`
//! (statements the generated repositories do not offer), `paging` (ranked-list pages).
//!
//! Caching: callers cache the searches for their TTLs (30 s to 5 min, in the spec); an index
//! change reaches a caller's cached answer within that TTL, as no search answer is keyed by
//! one document.

mod consumer;
pub mod index;
mod log;
mod paging;
mod reads;
mod sql;
mod text;

use ::nova_runtime::codegen::sqlx::{PgPool, Postgres, pool::PoolConnection};
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
use nova_search::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};

/// The business logic of the search service.
#[derive(Debug, Clone)]
pub struct SearchLogic {
    db: PgPool,
}

impl SearchLogic {
    pub fn new(dependencies: Dependencies) -> Self {
        SearchLogic { db: dependencies.db }
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }

    async fn connection(&self) -> Result<PoolConnection<Postgres>, LogicError> {
        Ok(self.db.acquire().await?)
    }
}

impl Logic for SearchLogic {
    async fn full_text_search(&self, _ctx: &CallContext, request: pb::FullTextSearchRequest) -> Result<pb::FullTextSearchResponse, LogicError> {
        self.full_text(request).await
    }

    async fn search_posts(&self, _ctx: &CallContext, request: pb::SearchPostsRequest) -> Result<pb::SearchPostsResponse, LogicError> {
        self.posts(request).await
    }

    async fn search_users(&self, _ctx: &CallContext, request: pb::SearchUsersRequest) -> Result<pb::SearchUsersResponse, LogicError> {
        self.users(request).await
    }

    async fn search_hashtags(&self, _ctx: &CallContext, request: pb::SearchHashtagsRequest) -> Result<pb::SearchHashtagsResponse, LogicError> {
        self.hashtags(request).await
    }

    async fn get_posts_by_hashtag(
        &self,
        _ctx: &CallContext,
        request: pb::GetPostsByHashtagRequest,
    ) -> Result<pb::GetPostsByHashtagResponse, LogicError> {
        self.posts_by_hashtag(request).await
    }

    async fn get_search_suggestions(
        &self,
        _ctx: &CallContext,
        request: pb::GetSearchSuggestionsRequest,
    ) -> Result<pb::GetSearchSuggestionsResponse, LogicError> {
        self.suggestions(request).await
    }

    async fn advanced_search(&self, _ctx: &CallContext, request: pb::AdvancedSearchRequest) -> Result<pb::AdvancedSearchResponse, LogicError> {
        self.advanced(request).await
    }

    async fn record_search_query(
        &self,
        _ctx: &CallContext,
        request: pb::RecordSearchQueryRequest,
    ) -> Result<pb::RecordSearchQueryResponse, LogicError> {
        self.record(request).await
    }

    async fn get_trending_searches(
        &self,
        _ctx: &CallContext,
        request: pb::GetTrendingSearchesRequest,
    ) -> Result<pb::GetTrendingSearchesResponse, LogicError> {
        self.trending(request).await
    }

    async fn get_search_analytics(
        &self,
        _ctx: &CallContext,
        request: pb::GetSearchAnalyticsRequest,
    ) -> Result<pb::GetSearchAnalyticsResponse, LogicError> {
        self.analytics(request).await
    }

    async fn index_documents(&self, _ctx: &CallContext, request: pb::IndexDocumentsRequest) -> Result<pb::IndexDocumentsResponse, LogicError> {
        self.index_changes(request).await
    }

    async fn remove_documents(&self, _ctx: &CallContext, request: pb::RemoveDocumentsRequest) -> Result<pb::RemoveDocumentsResponse, LogicError> {
        self.remove_changes(request).await
    }
}

/// Starts the service as the spec wires it (see [`Wiring`]), then serves on `listeners` until
/// `shutdown` is requested.
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = SearchLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}
