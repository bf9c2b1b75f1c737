//! UpdateEngagementScore: one engagement event appended and the post's trending scores moved,
//! in one transaction.

use ::nova_runtime::convert::parse_uuid;
use nova_feed::repo::engagement_events::EventType;
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed::{LogicError, pb};

use crate::FeedLogic;
use crate::decay;
use crate::queries::{self, Engagement};
use crate::trending::category;

/// Idempotent by `request_id`: the event insert does nothing on a repeat (a concurrent repeat
/// waits for the first to commit), and then no score moves. Otherwise the event and the three
/// windows' scores commit together; the scores move by one atomic upsert each (no read), so
/// concurrent engagements are all counted.
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
    let event = Engagement { request_id, user_id, post_id, author_id, category, kind, weight: decay::weight(kind) };

    let mut tx = logic.db.begin().await?;
    let Some(at) = queries::insert_event(&mut *tx, &event).await? else {
        tx.commit().await?;
        return Ok(pb::UpdateEngagementScoreResponse { already_recorded: true });
    };
    let windows = TimeWindow::ALL;
    let log_scores: Vec<f64> = windows.iter().map(|w| decay::log_score(*w, event.weight, at)).collect();
    queries::add_scores(&mut *tx, &event, at, &windows, &log_scores).await?;
    tx.commit().await?;
    // Trending and popular lists are not keyed by an entity: callers see the new order when
    // their cached page expires (1 min trending, 5 min popular).
    Ok(pb::UpdateEngagementScoreResponse { already_recorded: false })
}

fn engagement_type(value: i32) -> Result<EventType, LogicError> {
    let invalid = || LogicError::invalid_argument(format!("engagement_type must be VIEW, LIKE, COMMENT, SHARE or BOOKMARK, got {value}"));
    let kind = pb::EngagementType::try_from(value).map_err(|_| invalid())?;
    EventType::try_from(kind).map_err(|_| invalid())
}
