//! The query log and what is read from it: RecordSearchQuery (retry-safe by request id),
//! GetTrendingSearches, GetSearchAnalytics, and GetSearchSuggestions (which also completes
//! user names and hashtags from the index).
//!
//! **Privacy.** A logged query is the user's: what others see of the log is only what cannot
//! point at anyone. Suggestions complete the searcher's own queries (`user_id`, bound to the
//! caller) and the queries at least [`MIN_SEARCHERS`] distinct users ran; trending counts
//! distinct users and lists only queries with at least [`MIN_SEARCHERS`] of them in the window
//! (one account is one vote, and a rare query, which could name its author, never shows).
//! Analytics, which shows the log's top queries as they are, needs the `search.analytics`
//! permission (checked with auth before the handler runs).

use ::nova_runtime::codegen::chrono::TimeDelta;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{from_timestamp, parse_uuid};
use nova_search::repo::search_queries;
use nova_search::{LogicError, pb};

use crate::SearchLogic;
use crate::sql;
use crate::text::{self, MAX_PREFIX, MAX_QUERY};

/// Longest range GetSearchAnalytics summarises (documented in the proto).
const MAX_ANALYTICS_DAYS: i64 = 90;
/// Queries in each top list of GetSearchAnalytics.
const TOP_QUERIES: i64 = 20;
const DEFAULT_TRENDING: u32 = 10;
const MAX_TRENDING: u32 = 50;
const DEFAULT_SUGGESTIONS: u32 = 10;
const MAX_SUGGESTIONS: u32 = 20;
/// The `k` of the log's aggregates (documented in the proto): a query shows to others only
/// once this many distinct signed-in users ran it (in the last 30 days for suggestions, in
/// the window for trending).
pub const MIN_SEARCHERS: i64 = 5;

fn optional_uuid(field: &str, value: &str) -> Result<Option<Uuid>, LogicError> {
    if value.is_empty() { Ok(None) } else { parse_uuid(field, value).map(Some) }
}

/// A count bound: `default` for 0, at most `max`, INVALID_ARGUMENT naming `field` if negative.
fn count(field: &str, value: i32, default: u32, max: u32) -> Result<i64, LogicError> {
    match value {
        n if n < 0 => Err(LogicError::invalid_argument(format!("{field} must not be negative, got {n}"))),
        0 => Ok(i64::from(default)),
        n => Ok(i64::from(n.unsigned_abs().min(max))),
    }
}

impl SearchLogic {
    pub(crate) async fn record(&self, request: pb::RecordSearchQueryRequest) -> Result<pb::RecordSearchQueryResponse, LogicError> {
        let request_id = parse_uuid("request_id", &request.request_id)?;
        // Bound to the signed-in caller by the policy: every logged query has its user.
        let user_id = Some(parse_uuid("user_id", &request.user_id)?);
        let query = text::required("query", &request.query, MAX_QUERY)?;
        let scope = match pb::SearchScope::try_from(request.scope) {
            Ok(pb::SearchScope::Unspecified) => pb::SearchScope::All,
            Ok(scope) => scope,
            Err(_) => return Err(LogicError::invalid_argument(format!("scope: unknown value {}", request.scope))),
        };
        if request.result_count < 0 {
            return Err(LogicError::invalid_argument(format!("result_count must not be negative, got {}", request.result_count)));
        }
        let normalized = text::normalize(query);
        let logged = search_queries::New {
            id: None,
            request_id,
            user_id,
            query: query.to_string(),
            normalized_query: normalized,
            // Never UNSPECIFIED here (mapped to ALL above), so the conversion always succeeds.
            scope: search_queries::Scope::try_from(scope).ok(),
            result_count: Some(request.result_count),
            created_at: None,
        };
        let mut conn = self.connection().await?;
        // Logged before under this request id: the first log's id, and `already_recorded`.
        let (row, created) = search_queries::insert_idempotent(&mut *conn, &logged).await?;
        Ok(pb::RecordSearchQueryResponse { query_id: row.id.to_string(), already_recorded: !created })
    }

    pub(crate) async fn trending(&self, request: pb::GetTrendingSearchesRequest) -> Result<pb::GetTrendingSearchesResponse, LogicError> {
        let window = match pb::TrendingWindow::try_from(request.window) {
            Ok(pb::TrendingWindow::Hour) => TimeDelta::hours(1),
            Ok(pb::TrendingWindow::Day) => TimeDelta::days(1),
            Ok(pb::TrendingWindow::Week) => TimeDelta::weeks(1),
            Ok(pb::TrendingWindow::Unspecified) => return Err(LogicError::invalid_argument("window must be specified")),
            Err(_) => return Err(LogicError::invalid_argument(format!("window: unknown value {}", request.window))),
        };
        let max = count("max_results", request.max_results, DEFAULT_TRENDING, MAX_TRENDING)?;
        let mut conn = self.connection().await?;
        let rows = sql::trending(&mut conn, window.num_seconds() as f64, max, MIN_SEARCHERS).await?;
        let searches = rows
            .into_iter()
            .map(|(query, current, previous)| pb::TrendingSearch {
                query,
                search_count: current,
                // Fewer than k users before count as none: the ratio would tell how many.
                growth_ratio: if previous < MIN_SEARCHERS { 0.0 } else { current as f64 / previous as f64 },
            })
            .collect();
        Ok(pb::GetTrendingSearchesResponse { searches })
    }

    pub(crate) async fn analytics(&self, request: pb::GetSearchAnalyticsRequest) -> Result<pb::GetSearchAnalyticsResponse, LogicError> {
        let start = request.start_time.as_ref().ok_or_else(|| LogicError::invalid_argument("start_time is required"))?;
        let end = request.end_time.as_ref().ok_or_else(|| LogicError::invalid_argument("end_time is required"))?;
        let (start, end) = (from_timestamp("start_time", start)?, from_timestamp("end_time", end)?);
        if start >= end {
            return Err(LogicError::invalid_argument("start_time must be before end_time"));
        }
        if end - start > TimeDelta::days(MAX_ANALYTICS_DAYS) {
            return Err(LogicError::invalid_argument(format!("end_time is more than {MAX_ANALYTICS_DAYS} days after start_time")));
        }
        let mut conn = self.connection().await?;
        let (total, users, zero) = sql::analytics_totals(&mut conn, start, end).await?;
        let top = sql::analytics_top(&mut conn, start, end, false, TOP_QUERIES).await?;
        let top_zero = sql::analytics_top(&mut conn, start, end, true, TOP_QUERIES).await?;
        let counts = |rows: Vec<(String, i64)>| rows.into_iter().map(|(query, count)| pb::QueryCount { query, count }).collect();
        Ok(pb::GetSearchAnalyticsResponse {
            total_queries: total,
            unique_users: users,
            zero_result_rate: if total == 0 { 0.0 } else { zero as f64 / total as f64 },
            top_queries: counts(top),
            top_zero_result_queries: counts(top_zero),
        })
    }

    /// Queries (the caller's own, and those of at least [`MIN_SEARCHERS`] users), users and
    /// hashtags completing the prefix, interleaved (a query, a user, a hashtag, ...) so that each
    /// kind shows among the first few; best first within a kind. `user_id` is the caller's
    /// (bound by the policy), empty without a signed-in user.
    pub(crate) async fn suggestions(&self, request: pb::GetSearchSuggestionsRequest) -> Result<pb::GetSearchSuggestionsResponse, LogicError> {
        let prefix = text::optional("prefix", &request.prefix, MAX_PREFIX)?;
        let user = optional_uuid("user_id", &request.user_id)?;
        let max = count("max_results", request.max_results, DEFAULT_SUGGESTIONS, MAX_SUGGESTIONS)?;
        let normalized = text::normalize(prefix);
        if normalized.is_empty() {
            return Ok(pb::GetSearchSuggestionsResponse::default());
        }
        let mut conn = self.connection().await?;
        let queries = sql::suggest_queries(&mut conn, &normalized, max, user, MIN_SEARCHERS).await?;
        let users = match text::prefix_tsquery(&normalized) {
            Some(tsquery) => sql::suggest_users(&mut conn, &tsquery, &normalized, max).await?,
            None => Vec::new(),
        };
        let tag = text::tag(&normalized);
        let hashtags = if tag.is_empty() { Vec::new() } else { sql::suggest_hashtags(&mut conn, &tag, max).await? };
        let mut kinds = [
            queries
                .into_iter()
                .map(|(text, score)| pb::SearchSuggestion { text, kind: pb::SuggestionKind::Query as i32, id: String::new(), score })
                .collect::<Vec<_>>(),
            users
                .into_iter()
                .map(|(id, text, score)| pb::SearchSuggestion { text, kind: pb::SuggestionKind::User as i32, id: id.to_string(), score })
                .collect(),
            hashtags
                .into_iter()
                .map(|(id, tag, score)| pb::SearchSuggestion {
                    text: format!("#{tag}"),
                    kind: pb::SuggestionKind::Hashtag as i32,
                    id: id.to_string(),
                    score,
                })
                .collect(),
        ]
        .map(|list| list.into_iter());
        let mut suggestions = Vec::new();
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        while suggestions.len() < max {
            let before = suggestions.len();
            for kind in &mut kinds {
                if suggestions.len() < max
                    && let Some(next) = kind.next()
                {
                    suggestions.push(next);
                }
            }
            if suggestions.len() == before {
                break;
            }
        }
        Ok(pb::GetSearchSuggestionsResponse { suggestions })
    }
}
