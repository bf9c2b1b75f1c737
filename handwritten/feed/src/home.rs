//! Home feeds: following (fan-out on read: followed authors from user, their posts from
//! content, newest first), personalized (followed posts and trending posts ranked by one
//! time-decayed score) and GetUserFeed (whichever of the two the user's preferences choose).

use std::collections::HashMap;

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::paging::{decode_token, encode_token, page_size};
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed::repo::user_feed_preferences::DefaultFeedKind;
use nova_feed::{LogicError, pb};

use crate::FeedLogic;
use crate::calls::Reach;
use crate::decay;
use crate::paging::{self, DEFAULT_PAGE, MAX_PAGE};
use crate::queries;

/// The personalized feed ranks at most this many of the newest followed posts (two pages of
/// GetFeedPosts) ...
const FOLLOWED_CANDIDATES: usize = 200;
const FEED_POSTS_PAGE: usize = 100;
/// ... and this many of the day's trending posts; it ends after them.
const TRENDING_CANDIDATES: i64 = 200;
/// The window whose scores (half-life 6 hours) rank the personalized feed.
const RANKING_WINDOW: TimeWindow = TimeWindow::Day;
/// A followed post enters the ranking as if it had this engagement weight when posted (a
/// like): newer followed posts rank higher, and engagement adds to it.
const FOLLOWING_WEIGHT: f64 = 2.0;
/// A trending post in one of the user's preferred categories counts this many times.
const INTEREST_BOOST: f64 = 2.0;

/// GetFollowingFeed: one page of content's GetFeedPosts over the authors the user follows
/// (muted ones left out), checked live with content. The token wraps content's own (a
/// position meaningful in any author set, so a follow between pages does not break paging).
pub async fn following(logic: &FeedLogic, user_id: &str, requested_size: i32, page_token: &str) -> Result<(Vec<pb::FeedItem>, String), LogicError> {
    let user = parse_uuid("user_id", user_id)?;
    let size = page_size(requested_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("GetFollowingFeed/{user}");
    let content_token: Option<String> = decode_token(&list, page_token)?;
    let preferences = logic.preferences(user).await?;
    let authors: Vec<Uuid> = logic.followed("user_id", user).await?.into_iter().filter(|a| !preferences.muted_author_ids.contains(a)).collect();
    if page_token.is_empty() {
        logic.note_generated(user).await;
    }
    if authors.is_empty() {
        return Ok((Vec::new(), String::new()));
    }
    let page = logic.feed_posts(&authors, size, content_token.unwrap_or_default()).await?;
    let ids: Vec<Uuid> = page.posts.iter().filter_map(|p| Uuid::parse_str(&p.id).ok()).collect();
    let live = logic.live_posts(&ids, Reach::Follower).await?;
    let items = ids
        .iter()
        .filter_map(|id| live.get(id))
        .map(|post| pb::FeedItem {
            post_id: post.id.clone(),
            author_id: post.author_id.clone(),
            // Chronological: the creation time in seconds, newest highest.
            score: post.created_at.as_ref().map(|t| t.seconds as f64 + f64::from(t.nanos) / 1e9).unwrap_or_default(),
            reason: pb::FeedReason::Following as i32,
            engagement_count: 0,
        })
        .collect();
    let next_page_token = if page.next_page_token.is_empty() { String::new() } else { encode_token(&list, &page.next_page_token) };
    Ok((items, next_page_token))
}

/// A post competing for a place in the personalized feed.
#[derive(Debug, Clone)]
struct Candidate {
    post_id: Uuid,
    log_score: f64,
    reason: pb::FeedReason,
    engagement_count: i64,
}

/// GetPersonalizedFeed: the newest followed posts and the day's trending posts, each with a
/// log-score in the day window (see `decay`): a followed post starts at `FOLLOWING_WEIGHT` at
/// its creation time, engagement adds its decayed weight, a preferred category doubles a
/// trending post. Scores are measured against a fixed epoch, so the order does not move with
/// the clock and pages are keyset positions `(score, post id)`.
pub async fn personalized(
    logic: &FeedLogic,
    user_id: &str,
    requested_size: i32,
    page_token: &str,
) -> Result<(Vec<pb::FeedItem>, String), LogicError> {
    let user = parse_uuid("user_id", user_id)?;
    let size = page_size(requested_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("GetPersonalizedFeed/{user}");
    let after = paging::decode_position(&list, page_token)?;
    let preferences = logic.preferences(user).await?;
    let authors: Vec<Uuid> = logic.followed("user_id", user).await?.into_iter().filter(|a| !preferences.muted_author_ids.contains(a)).collect();
    let now = Utc::now();

    let mut candidates: HashMap<Uuid, Candidate> = HashMap::new();
    let mut content_token = String::new();
    let mut fetched = 0;
    while !authors.is_empty() && fetched < FOLLOWED_CANDIDATES {
        let page = logic.feed_posts(&authors, FEED_POSTS_PAGE, content_token).await?;
        fetched += FEED_POSTS_PAGE;
        for post in &page.posts {
            let (Ok(post_id), Some(created)) = (Uuid::parse_str(&post.id), post.created_at.as_ref()) else { continue };
            let created = DateTime::from_timestamp(created.seconds, u32::try_from(created.nanos).unwrap_or(0)).unwrap_or(now);
            let log_score = decay::log_score(RANKING_WINDOW, FOLLOWING_WEIGHT, created);
            candidates.insert(post_id, Candidate { post_id, log_score, reason: pb::FeedReason::Following, engagement_count: 0 });
        }
        if page.next_page_token.is_empty() {
            break;
        }
        content_token = page.next_page_token;
    }
    let trending = queries::trending(&logic.db, RANKING_WINDOW, None, now - decay::span(RANKING_WINDOW), None, TRENDING_CANDIDATES).await?;
    for row in trending {
        if row.author_id == user || preferences.muted_author_ids.contains(&row.author_id) {
            continue;
        }
        match candidates.get_mut(&row.post_id) {
            Some(followed) => {
                followed.log_score = decay::log_add(followed.log_score, row.score);
                followed.engagement_count = row.engagement_count;
            }
            None => {
                let interesting = !row.category.is_empty() && preferences.preferred_categories.contains(&row.category);
                let (log_score, reason) =
                    if interesting { (row.score + INTEREST_BOOST.ln(), pb::FeedReason::Interest) } else { (row.score, pb::FeedReason::Trending) };
                candidates.insert(row.post_id, Candidate { post_id: row.post_id, log_score, reason, engagement_count: row.engagement_count });
            }
        }
    }

    let mut ranked: Vec<Candidate> = candidates.into_values().collect();
    paging::sort_best_first(&mut ranked, |c| (c.log_score, c.post_id));
    let (page, next_page_token) = paging::window(ranked, after, size, &list, |c| (c.log_score, c.post_id));
    let ids: Vec<Uuid> = page.iter().map(|c| c.post_id).collect();
    let live = logic.live_posts(&ids, Reach::Follower).await?;
    let items = page
        .iter()
        .filter_map(|candidate| {
            let post = live.get(&candidate.post_id)?;
            // Only a followed author's followers-only posts belong here; the rest must be public.
            if candidate.reason != pb::FeedReason::Following && !Reach::Everyone.admits(post) {
                return None;
            }
            // A trending post whose author content reports as muted (the row's author is a hint).
            if Uuid::parse_str(&post.author_id).is_ok_and(|a| preferences.muted_author_ids.contains(&a)) {
                return None;
            }
            Some(pb::FeedItem {
                post_id: post.id.clone(),
                author_id: post.author_id.clone(),
                score: decay::value_at(RANKING_WINDOW, candidate.log_score, now),
                reason: candidate.reason as i32,
                engagement_count: candidate.engagement_count,
            })
        })
        .collect();
    if page_token.is_empty() {
        logic.note_generated(user).await;
    }
    Ok((items, next_page_token))
}

/// GetUserFeed: the mode the user's preferences choose (personalized by default).
pub async fn get_user_feed(logic: &FeedLogic, request: pb::GetUserFeedRequest) -> Result<pb::GetUserFeedResponse, LogicError> {
    let user = parse_uuid("user_id", &request.user_id)?;
    let kind = logic.preferences(user).await?.default_feed_kind;
    let (items, next_page_token) = match kind {
        DefaultFeedKind::Following => following(logic, &request.user_id, request.page_size, &request.page_token).await?,
        DefaultFeedKind::Personalized => personalized(logic, &request.user_id, request.page_size, &request.page_token).await?,
    };
    Ok(pb::GetUserFeedResponse { items, next_page_token, feed_kind: pb::FeedKind::from(kind) as i32 })
}

impl FeedLogic {
    /// Records that a feed of `user` was built (GetFeedMetadata's `last_generated_at`). The
    /// feed was served either way: a failure here is logged, not returned.
    async fn note_generated(&self, user: Uuid) {
        if let Err(error) = queries::mark_generated(&self.db, user).await {
            tracing::warn!(%user, %error, "could not record when the feed was built");
        }
    }
}
