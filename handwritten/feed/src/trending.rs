//! Trending (time-decayed score, see `decay`) and popular (engagement count) posts per window,
//! keyset-paged over `trending_scores`; every page is checked with content so that deleted,
//! unknown and non-public posts never leave feed.

use ::nova_runtime::codegen::chrono::Utc;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::text;
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed::{LogicError, pb};

use crate::FeedLogic;
use crate::decay;
use crate::paging::{DEFAULT_PAGE, MAX_PAGE, Position, decode_position, limit, stored};
use crate::queries::{self, Scored};

/// Longest category slug, in characters.
const MAX_CATEGORY_CHARS: usize = 64;

/// The window of a request; INVALID_ARGUMENT naming `field` when unspecified or unknown.
pub fn window(field: &str, value: i32) -> Result<TimeWindow, LogicError> {
    let invalid = || LogicError::invalid_argument(format!("{field} must be HOUR, DAY or WEEK, got {value}"));
    let window = pb::TrendingWindow::try_from(value).map_err(|_| invalid())?;
    TimeWindow::try_from(window).map_err(|_| invalid())
}

/// A category slug as stored: trimmed and lower-cased, non-empty, at most 64 characters.
pub fn category(field: &str, value: &str) -> Result<String, LogicError> {
    let slug = text(field, value)?.trim().to_lowercase();
    if slug.is_empty() {
        return Err(LogicError::invalid_argument(format!("{field} must not be empty")));
    }
    if slug.chars().count() > MAX_CATEGORY_CHARS {
        return Err(LogicError::invalid_argument(format!("{field} holds more than {MAX_CATEGORY_CHARS} characters")));
    }
    Ok(slug)
}

pub async fn get_trending_feed(logic: &FeedLogic, request: pb::GetTrendingFeedRequest) -> Result<pb::GetTrendingFeedResponse, LogicError> {
    let window = window("window", request.window)?;
    let (items, next_page_token) = trending_page(logic, window, None, request.page_size, &request.page_token).await?;
    Ok(pb::GetTrendingFeedResponse { items, next_page_token })
}

pub async fn get_trending_by_category(
    logic: &FeedLogic,
    request: pb::GetTrendingByCategoryRequest,
) -> Result<pb::GetTrendingByCategoryResponse, LogicError> {
    let category = category("category", &request.category)?;
    let window = window("window", request.window)?;
    let (items, next_page_token) = trending_page(logic, window, Some(&category), request.page_size, &request.page_token).await?;
    Ok(pb::GetTrendingByCategoryResponse { items, next_page_token })
}

/// A page of trending posts: the decayed score now, best first.
async fn trending_page(
    logic: &FeedLogic,
    window: TimeWindow,
    category: Option<&str>,
    page_size_requested: i32,
    page_token: &str,
) -> Result<(Vec<pb::FeedItem>, String), LogicError> {
    let size = page_size(page_size_requested, DEFAULT_PAGE, MAX_PAGE)?;
    // The token belongs to one window (and category): it cannot page another list.
    let list = format!("Trending/{}/{}", window.name(), category.unwrap_or(""));
    let after: Option<Position> = decode_position(&list, page_token)?;
    let now = Utc::now();
    let rows = queries::trending(&logic.db, window, category, now - decay::span(window), after, limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| stored((r.score, r.post_id)));
    let items = logic.public_items(&rows, pb::FeedReason::Trending, |r| decay::value_at(window, r.score, now)).await?;
    Ok((items, next_page_token))
}

pub async fn get_popular_posts(logic: &FeedLogic, request: pb::GetPopularPostsRequest) -> Result<pb::GetPopularPostsResponse, LogicError> {
    let window = window("window", request.window)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("Popular/{}", window.name());
    let after: Option<(i64, Uuid)> = decode_token(&list, &request.page_token)?;
    let since = Utc::now() - decay::span(window);
    let rows = queries::popular(&logic.db, window, since, after, limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| (r.engagement_count, r.post_id));
    let items = logic.public_items(&rows, pb::FeedReason::Popular, |r| r.engagement_count as f64).await?;
    Ok(pb::GetPopularPostsResponse { items, next_page_token })
}

impl FeedLogic {
    /// Scored rows as feed items, keeping only the posts content still shows to everyone
    /// (asked as feed itself, whoever called: these lists are shared), with the author as
    /// content knows it.
    pub(crate) async fn public_items(
        &self,
        rows: &[Scored],
        reason: pb::FeedReason,
        score: impl Fn(&Scored) -> f64,
    ) -> Result<Vec<pb::FeedItem>, LogicError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.post_id).collect();
        let live = self.public_posts(&ids).await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                live.get(&row.post_id).map(|post| pb::FeedItem {
                    post_id: row.post_id.to_string(),
                    author_id: post.author_id.clone(),
                    score: score(row),
                    reason: reason as i32,
                    engagement_count: row.engagement_count,
                })
            })
            .collect())
    }
}
