// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the service: implement each RPC here.
use nova_search::{CallContext, Logic, LogicError, pb};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{
    Listeners, ServeOptions, ServiceConfig, Shutdown, StartError,
};
/// The business logic of the search service.
#[derive(Debug, Clone)]
pub struct SearchLogic {
    db: PgPool,
}
impl SearchLogic {
    pub fn new(db: PgPool) -> Self {
        SearchLogic { db }
    }
    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}
impl Logic for SearchLogic {
    async fn full_text_search(
        &self,
        _ctx: &CallContext,
        _request: pb::FullTextSearchRequest,
    ) -> Result<pb::FullTextSearchResponse, LogicError> {
        Err(LogicError::Unimplemented("FullTextSearch"))
    }
    async fn search_posts(
        &self,
        _ctx: &CallContext,
        _request: pb::SearchPostsRequest,
    ) -> Result<pb::SearchPostsResponse, LogicError> {
        Err(LogicError::Unimplemented("SearchPosts"))
    }
    async fn search_users(
        &self,
        _ctx: &CallContext,
        _request: pb::SearchUsersRequest,
    ) -> Result<pb::SearchUsersResponse, LogicError> {
        Err(LogicError::Unimplemented("SearchUsers"))
    }
    async fn search_hashtags(
        &self,
        _ctx: &CallContext,
        _request: pb::SearchHashtagsRequest,
    ) -> Result<pb::SearchHashtagsResponse, LogicError> {
        Err(LogicError::Unimplemented("SearchHashtags"))
    }
    async fn get_posts_by_hashtag(
        &self,
        _ctx: &CallContext,
        _request: pb::GetPostsByHashtagRequest,
    ) -> Result<pb::GetPostsByHashtagResponse, LogicError> {
        Err(LogicError::Unimplemented("GetPostsByHashtag"))
    }
    async fn get_search_suggestions(
        &self,
        _ctx: &CallContext,
        _request: pb::GetSearchSuggestionsRequest,
    ) -> Result<pb::GetSearchSuggestionsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetSearchSuggestions"))
    }
    async fn advanced_search(
        &self,
        _ctx: &CallContext,
        _request: pb::AdvancedSearchRequest,
    ) -> Result<pb::AdvancedSearchResponse, LogicError> {
        Err(LogicError::Unimplemented("AdvancedSearch"))
    }
    async fn record_search_query(
        &self,
        _ctx: &CallContext,
        _request: pb::RecordSearchQueryRequest,
    ) -> Result<pb::RecordSearchQueryResponse, LogicError> {
        Err(LogicError::Unimplemented("RecordSearchQuery"))
    }
    async fn get_trending_searches(
        &self,
        _ctx: &CallContext,
        _request: pb::GetTrendingSearchesRequest,
    ) -> Result<pb::GetTrendingSearchesResponse, LogicError> {
        Err(LogicError::Unimplemented("GetTrendingSearches"))
    }
    async fn get_search_analytics(
        &self,
        _ctx: &CallContext,
        _request: pb::GetSearchAnalyticsRequest,
    ) -> Result<pb::GetSearchAnalyticsResponse, LogicError> {
        Err(LogicError::Unimplemented("GetSearchAnalytics"))
    }
}
/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
pub async fn start(
    config: ServiceConfig,
    listeners: Listeners,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let database = nova_search::db::open(config.database()?)?;
    let logic = SearchLogic::new(database.pool().clone());
    let options = ServeOptions {
        shutdown: config.shutdown,
        database: Some(database),
    };
    nova_search::server::serve_with(logic, options, listeners, shutdown).await
}
