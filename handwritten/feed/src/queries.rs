//! The statements the generated repositories do not offer (the idempotent engagement insert
//! and the default preferences are their `insert_if_absent*`): the claim that counts an
//! engagement once per user, post and kind, the atomic log-space score update (see `decay`),
//! keyset pages of trending and popular posts filtered by recency, popular authors, and the
//! upserts of feed metadata. Each runs on
//! an index of the spec; each is prepared against the migrated schema by tests/data/handwritten_sql.rs.

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::{self, PgExecutor};
use ::nova_runtime::codegen::uuid::Uuid;
use nova_feed::LogicError;
use nova_feed::repo::engagement_events::{self, EventType};
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed::repo::user_feed_preferences;

// Claims the (user, post, kind) engagement for the scores: inserted the first time; a view
// claimed before counts again (its time moves) once `$6` seconds passed since it counted.
// Concurrent first claims meet on the primary key: one inserts, the other then finds the row.
const SQL_COUNT_ONCE: &str = "INSERT INTO counted_engagements (user_id, post_id, event_type, counted_at) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (user_id, post_id, event_type) DO UPDATE SET counted_at = EXCLUDED.counted_at \
    WHERE counted_engagements.event_type = $5 AND counted_engagements.counted_at <= EXCLUDED.counted_at - make_interval(secs => $6) \
    RETURNING counted_at";
// One statement for the post's three windows, always in the same order (hour, day, week), so
// concurrent engagements of one post lock its rows in one order and cannot deadlock. The
// score is the log-sum `GREATEST(a, b) + ln(1 + exp(-|a - b|))`; the exponent is bounded
// because PostgreSQL reports an underflow of `exp` as an error instead of returning 0.
const SQL_ADD_SCORES: &str = "INSERT INTO trending_scores (post_id, time_window, author_id, category, score, engagement_count, updated_at) \
    SELECT $1, w.time_window, $2, $3, w.score, 1, $4 FROM unnest($5::smallint[], $6::float8[]) AS w(time_window, score) \
    ON CONFLICT (post_id, time_window) DO UPDATE SET \
    score = GREATEST(trending_scores.score, EXCLUDED.score) + ln(1 + exp(GREATEST(-abs(trending_scores.score - EXCLUDED.score), -700))), \
    engagement_count = trending_scores.engagement_count + 1, \
    updated_at = GREATEST(trending_scores.updated_at, EXCLUDED.updated_at), \
    author_id = EXCLUDED.author_id, \
    category = CASE WHEN EXCLUDED.category = '' THEN trending_scores.category ELSE EXCLUDED.category END";
const SQL_TRENDING: &str = "SELECT post_id, author_id, category, score, engagement_count FROM trending_scores \
    WHERE time_window = $1 AND updated_at >= $2 ORDER BY score DESC, post_id DESC LIMIT $3";
const SQL_TRENDING_AFTER: &str = "SELECT post_id, author_id, category, score, engagement_count FROM trending_scores \
    WHERE time_window = $1 AND updated_at >= $2 AND (score, post_id) < ($3, $4) ORDER BY score DESC, post_id DESC LIMIT $5";
const SQL_TRENDING_IN: &str = "SELECT post_id, author_id, category, score, engagement_count FROM trending_scores \
    WHERE category = $1 AND time_window = $2 AND updated_at >= $3 ORDER BY score DESC, post_id DESC LIMIT $4";
const SQL_TRENDING_IN_AFTER: &str = "SELECT post_id, author_id, category, score, engagement_count FROM trending_scores \
    WHERE category = $1 AND time_window = $2 AND updated_at >= $3 AND (score, post_id) < ($4, $5) ORDER BY score DESC, post_id DESC LIMIT $6";
const SQL_POPULAR: &str = "SELECT post_id, author_id, category, score, engagement_count FROM trending_scores \
    WHERE time_window = $1 AND updated_at >= $2 ORDER BY engagement_count DESC, post_id DESC LIMIT $3";
const SQL_POPULAR_AFTER: &str = "SELECT post_id, author_id, category, score, engagement_count FROM trending_scores \
    WHERE time_window = $1 AND updated_at >= $2 AND (engagement_count, post_id) < ($3, $4) ORDER BY engagement_count DESC, post_id DESC LIMIT $5";
const SQL_POPULAR_AUTHORS: &str = "SELECT author_id, max(score) AS best FROM trending_scores \
    WHERE time_window = $1 AND updated_at >= $2 GROUP BY author_id ORDER BY best DESC, author_id DESC LIMIT $3";
const SQL_MARK_INVALIDATED: &str = "INSERT INTO feed_metadata (user_id, cache_invalidated_at) SELECT id, now() FROM unnest($1::uuid[]) AS u(id) \
    ON CONFLICT (user_id) DO UPDATE SET cache_invalidated_at = EXCLUDED.cache_invalidated_at, updated_at = now() RETURNING cache_invalidated_at";
const SQL_MARK_GENERATED: &str = "INSERT INTO feed_metadata (user_id, last_generated_at) VALUES ($1, now()) \
    ON CONFLICT (user_id) DO UPDATE SET last_generated_at = EXCLUDED.last_generated_at, updated_at = now()";

/// One engagement to record.
#[derive(Debug, Clone)]
pub struct Engagement {
    pub request_id: Uuid,
    pub user_id: Uuid,
    pub post_id: Uuid,
    pub author_id: Uuid,
    pub category: String,
    pub kind: EventType,
    pub weight: f64,
}

/// Records `event` unless its request id was recorded before: its time when inserted, `None`
/// for a repeat. A concurrent repeat waits on the unique index for the first to commit.
pub async fn insert_event<'e>(db: impl PgExecutor<'e>, event: &Engagement) -> Result<Option<DateTime<Utc>>, LogicError> {
    let new = engagement_events::New {
        id: None,
        request_id: event.request_id,
        user_id: event.user_id,
        post_id: event.post_id,
        author_id: event.author_id,
        category: Some(event.category.clone()),
        event_type: event.kind,
        weight: event.weight,
        created_at: None,
    };
    Ok(engagement_events::insert_if_absent_by_request_id(db, &new).await?.map(|row| row.created_at))
}

/// Claims `event`, which happened at `at`, for the post's scores: true when it counts (the
/// first of its user, post and kind; a view also when `view_again_after` passed since the
/// view that counted), false when it was counted already.
pub async fn count_once<'e>(
    db: impl PgExecutor<'e>,
    event: &Engagement,
    at: DateTime<Utc>,
    view_again_after: ::nova_runtime::codegen::chrono::TimeDelta,
) -> Result<bool, LogicError> {
    let counted: Option<DateTime<Utc>> = sqlx::query_scalar(SQL_COUNT_ONCE)
        .bind(event.user_id)
        .bind(event.post_id)
        .bind(event.kind)
        .bind(at)
        .bind(EventType::View)
        .bind(view_again_after.as_seconds_f64())
        .fetch_optional(db)
        .await?;
    Ok(counted.is_some())
}

/// Adds one engagement at `at` to the post's row of each window: `log_scores[i]` (the
/// engagement's log-score in `windows[i]`) log-added to the stored score, the count
/// incremented, in one statement.
pub async fn add_scores<'e>(
    db: impl PgExecutor<'e>,
    event: &Engagement,
    at: DateTime<Utc>,
    windows: &[TimeWindow],
    log_scores: &[f64],
) -> Result<(), LogicError> {
    let numbers: Vec<i16> = windows.iter().map(|w| w.number()).collect();
    sqlx::query(SQL_ADD_SCORES)
        .bind(event.post_id)
        .bind(event.author_id)
        .bind(&event.category)
        .bind(at)
        .bind(&numbers)
        .bind(log_scores)
        .execute(db)
        .await?;
    Ok(())
}

/// A post's row in one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub post_id: Uuid,
    pub author_id: Uuid,
    pub category: String,
    /// The log-score (see `decay`).
    pub score: f64,
    pub engagement_count: i64,
}

type ScoredTuple = (Uuid, Uuid, String, f64, i64);

fn scored(rows: Vec<ScoredTuple>) -> Vec<Scored> {
    rows.into_iter()
        .map(|(post_id, author_id, category, score, engagement_count)| Scored { post_id, author_id, category, score, engagement_count })
        .collect()
}

/// Posts of `window` engaged with since `since` (in `category` when given), by log-score,
/// best first, after `after` (index `(time_window, score desc)` or
/// `(category, time_window, score desc)`).
pub async fn trending<'e>(
    db: impl PgExecutor<'e>,
    window: TimeWindow,
    category: Option<&str>,
    since: DateTime<Utc>,
    after: Option<(f64, Uuid)>,
    limit: i64,
) -> Result<Vec<Scored>, LogicError> {
    let rows: Vec<ScoredTuple> = match (category, after) {
        (None, None) => sqlx::query_as(SQL_TRENDING).bind(window).bind(since).bind(limit).fetch_all(db).await?,
        (None, Some((score, id))) => {
            sqlx::query_as(SQL_TRENDING_AFTER).bind(window).bind(since).bind(score).bind(id).bind(limit).fetch_all(db).await?
        }
        (Some(category), None) => sqlx::query_as(SQL_TRENDING_IN).bind(category).bind(window).bind(since).bind(limit).fetch_all(db).await?,
        (Some(category), Some((score, id))) => {
            sqlx::query_as(SQL_TRENDING_IN_AFTER).bind(category).bind(window).bind(since).bind(score).bind(id).bind(limit).fetch_all(db).await?
        }
    };
    Ok(scored(rows))
}

/// Posts of `window` engaged with since `since`, most engagements first, after `after`
/// (index `(time_window, engagement_count desc)`).
pub async fn popular<'e>(
    db: impl PgExecutor<'e>,
    window: TimeWindow,
    since: DateTime<Utc>,
    after: Option<(i64, Uuid)>,
    limit: i64,
) -> Result<Vec<Scored>, LogicError> {
    let rows: Vec<ScoredTuple> = match after {
        None => sqlx::query_as(SQL_POPULAR).bind(window).bind(since).bind(limit).fetch_all(db).await?,
        Some((count, id)) => sqlx::query_as(SQL_POPULAR_AFTER).bind(window).bind(since).bind(count).bind(id).bind(limit).fetch_all(db).await?,
    };
    Ok(scored(rows))
}

/// Authors of the best-scored posts of `window` engaged with since `since`, best first.
pub async fn popular_authors<'e>(db: impl PgExecutor<'e>, window: TimeWindow, since: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>, LogicError> {
    let rows: Vec<(Uuid, f64)> = sqlx::query_as(SQL_POPULAR_AUTHORS).bind(window).bind(since).bind(limit).fetch_all(db).await?;
    Ok(rows.into_iter().map(|(author, _)| author).collect())
}

/// Records that the feeds of `users` were invalidated now; the time recorded.
pub async fn mark_invalidated<'e>(db: impl PgExecutor<'e>, users: &[Uuid]) -> Result<Option<DateTime<Utc>>, LogicError> {
    let times: Vec<Option<DateTime<Utc>>> = sqlx::query_scalar(SQL_MARK_INVALIDATED).bind(users).fetch_all(db).await?;
    Ok(times.into_iter().flatten().next())
}

/// Records that a feed of `user` was built now.
pub async fn mark_generated<'e>(db: impl PgExecutor<'e>, user: Uuid) -> Result<(), LogicError> {
    sqlx::query(SQL_MARK_GENERATED).bind(user).execute(db).await?;
    Ok(())
}

/// Gives `user` the default preferences (version 0) unless they have a row.
pub async fn ensure_preferences<'e>(db: impl PgExecutor<'e>, user: Uuid) -> Result<(), LogicError> {
    let new = user_feed_preferences::New {
        user_id: user,
        default_feed_kind: None,
        preferred_categories: None,
        muted_author_ids: None,
        created_at: None,
        updated_at: None,
    };
    user_feed_preferences::insert_if_absent(db, &new).await?;
    Ok(())
}
