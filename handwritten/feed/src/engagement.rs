//! UpdateEngagementScore: one engagement event appended and, when it counts, the post's
//! trending scores moved, in one transaction.
//!
//! **One account cannot pump a post.** The engaging user is the caller (`user_id` is bound to
//! them by the policy), the post must be one content shows them, and its author is content's,
//! not the caller's word. Each kind of engagement counts once per user and post (a like, a
//! comment, a share, a bookmark: once ever; a view again once [`VIEW_COUNTS_AGAIN_AFTER`]
//! passed since the view that counted), claimed in `counted_engagements` in the transaction of
//! the event: a new `request_id` logs the event but moves no score.

use ::nova_runtime::codegen::chrono::TimeDelta;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::parse_uuid;
use nova_feed::repo::engagement_events::EventType;
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed::{LogicError, pb};

use crate::FeedLogic;
use crate::decay;
use crate::queries::{self, Engagement};
use crate::trending::category;

/// How long until the same user's view of the same post counts again (documented in the proto).
pub const VIEW_COUNTS_AGAIN_AFTER: TimeDelta = TimeDelta::hours(24);

/// Idempotent by `request_id`: the event insert does nothing on a repeat (a concurrent repeat
/// waits for the first to commit), and then no score moves. Otherwise the event, its claim and
/// the three windows' scores commit together; the scores move by one atomic upsert each (no
/// read), so concurrent engagements of different users are all counted.
pub async fn update_engagement_score(
    logic: &FeedLogic,
    request: pb::UpdateEngagementScoreRequest,
) -> Result<pb::UpdateEngagementScoreResponse, LogicError> {
    let request_id = parse_uuid("request_id", &request.request_id)?;
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let author_id = parse_uuid("author_id", &request.author_id)?;
    let kind = engagement_type(request.engagement_type)?;
    let category = if request.category.is_empty() { String::new() } else { category("category", &request.category)? };
    check_post(logic, post_id, author_id).await?;
    let event = Engagement { request_id, user_id, post_id, author_id, category, kind, weight: decay::weight(kind) };

    let mut tx = logic.db.begin().await?;
    let Some(at) = queries::insert_event(&mut *tx, &event).await? else {
        tx.commit().await?;
        return Ok(pb::UpdateEngagementScoreResponse { already_recorded: true, counted: false });
    };
    let counted = queries::count_once(&mut *tx, &event, at, VIEW_COUNTS_AGAIN_AFTER).await?;
    if counted {
        let windows = TimeWindow::ALL;
        let log_scores: Vec<f64> = windows.iter().map(|w| decay::log_score(*w, event.weight, at)).collect();
        queries::add_scores(&mut *tx, &event, at, &windows, &log_scores).await?;
    }
    tx.commit().await?;
    // Trending and popular lists are not keyed by an entity: callers see the new order when
    // their cached page expires (1 min trending, 5 min popular).
    Ok(pb::UpdateEngagementScoreResponse { already_recorded: false, counted })
}

/// The post is one content shows the caller, by `author`: NOT_FOUND naming `post_id` when
/// content does not show it to them (unknown, deleted, or not theirs to see),
/// INVALID_ARGUMENT naming `author_id` when the post is someone else's.
async fn check_post(logic: &FeedLogic, post: Uuid, author: Uuid) -> Result<(), LogicError> {
    let Some(found) = logic.visible_post(post).await? else {
        return Err(LogicError::not_found(format!("post_id: no post {post} that this user may see")));
    };
    if Uuid::parse_str(&found.author_id).ok() != Some(author) {
        return Err(LogicError::invalid_argument(format!("author_id: post {post} is by {}, not by {author}", found.author_id)));
    }
    Ok(())
}

fn engagement_type(value: i32) -> Result<EventType, LogicError> {
    let invalid = || LogicError::invalid_argument(format!("engagement_type must be VIEW, LIKE, COMMENT, SHARE or BOOKMARK, got {value}"));
    let kind = pb::EngagementType::try_from(value).map_err(|_| invalid())?;
    EventType::try_from(kind).map_err(|_| invalid())
}
