//! The statements the generated repositories do not offer: lifecycle transitions as
//! conditional updates (the state they leave is checked by the row they match, so two
//! concurrent transitions cannot both apply), the viewer counter moved with its peak, viewer
//! sessions refreshed and closed exactly once, per-minute counters added by upsert, and the
//! filtered keyset pages. Everything else (the row lock, first inserts of sessions and chat
//! messages) goes through `nova_streaming::repo`.

use nova_runtime::codegen::chrono::{DateTime, Utc};
use nova_runtime::codegen::sqlx::{self, PgConnection, PgExecutor, Row as _};
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::repo::{RepoError, RepoResult};
use nova_streaming::repo::streams::{self, Status, Visibility};
use nova_streaming::repo::{stream_chat_messages, stream_metrics, viewer_sessions};

// The column lists and enum literals of the statements below come from the generated
// repositories' macros (`streams::columns!()`, `streams::status_sql!(live)`, ...), so they
// cannot drift from what the repository reads or stores.

/// SCHEDULED -> LIVE; matches nothing in any other state.
const START: &str = concat!(
    "UPDATE streams SET status = ",
    streams::status_sql!(live),
    ", started_at = now(), updated_at = now(), version = version + 1 WHERE id = $1 AND status = ",
    streams::status_sql!(scheduled),
    " RETURNING ",
    streams::columns!()
);
/// LIVE -> ENDED, SCHEDULED -> CANCELLED; matches nothing once over. Nobody watches any more.
const END: &str = concat!(
    "UPDATE streams SET status = CASE WHEN status = ",
    streams::status_sql!(live),
    " THEN ",
    streams::status_sql!(ended),
    " ELSE ",
    streams::status_sql!(cancelled),
    " END, ended_at = now(), current_viewer_count = 0, updated_at = now(), version = version + 1 WHERE id = $1 AND status IN (",
    streams::status_sql!(scheduled),
    ", ",
    streams::status_sql!(live),
    ") RETURNING ",
    streams::columns!()
);
const REVOKE_KEYS: &str = "UPDATE stream_keys SET revoked_at = now() WHERE stream_id = $1 AND revoked_at IS NULL";
/// Adds `$2` viewers (negative: removes) and raises the peak with them, while the stream is live.
const MOVE_VIEWERS: &str = concat!(
    "UPDATE streams SET current_viewer_count = current_viewer_count + $2, \
     peak_viewer_count = GREATEST(peak_viewer_count, current_viewer_count + $2) WHERE id = $1 AND status = ",
    streams::status_sql!(live),
    " RETURNING current_viewer_count"
);
const HEARTBEAT: &str = "UPDATE viewer_sessions SET last_seen_at = now() WHERE id = $1 AND left_at IS NULL RETURNING joined_at";
const CLOSE_SESSION: &str = "UPDATE viewer_sessions SET left_at = now(), last_seen_at = now() WHERE id = $1 AND left_at IS NULL";
const CLOSE_SESSIONS_OF_STREAM: &str = "UPDATE viewer_sessions SET left_at = now() WHERE stream_id = $1 AND left_at IS NULL";
/// Closes the sessions of a stream silent for `$2` seconds (as of their last heartbeat).
const EXPIRE_SESSIONS: &str = "UPDATE viewer_sessions SET left_at = last_seen_at WHERE stream_id = $1 AND left_at IS NULL \
     AND last_seen_at < now() - make_interval(secs => $2)";
const ANONYMOUS_VIEWERS: &str = "SELECT count(*) FROM viewer_sessions WHERE stream_id = $1 AND left_at IS NULL AND viewer_id IS NULL";
const VIEWERS: &str = "SELECT id, viewer_id, joined_at FROM viewer_sessions WHERE stream_id = $1 AND left_at IS NULL \
     AND viewer_id IS NOT NULL ORDER BY joined_at, id LIMIT $2";
const VIEWERS_AFTER: &str = "SELECT id, viewer_id, joined_at FROM viewer_sessions WHERE stream_id = $1 AND left_at IS NULL \
     AND viewer_id IS NOT NULL AND (joined_at, id) > ($3, $4) ORDER BY joined_at, id LIMIT $2";
/// Adds to the minute's counters, creating the minute's row if needed (one statement: no
/// read, no lost increment); the viewer count keeps the minute's highest.
const ADD_METRICS: &str = "INSERT INTO stream_metrics (stream_id, bucket_start, viewer_count, chat_message_count, reaction_count, \
     share_count, buffering_count, playback_error_count) VALUES ($1, date_trunc('minute', $2::timestamptz), $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (stream_id, bucket_start) DO UPDATE SET viewer_count = GREATEST(stream_metrics.viewer_count, EXCLUDED.viewer_count), \
     chat_message_count = stream_metrics.chat_message_count + EXCLUDED.chat_message_count, \
     reaction_count = stream_metrics.reaction_count + EXCLUDED.reaction_count, \
     share_count = stream_metrics.share_count + EXCLUDED.share_count, \
     buffering_count = stream_metrics.buffering_count + EXCLUDED.buffering_count, \
     playback_error_count = stream_metrics.playback_error_count + EXCLUDED.playback_error_count";
const METRIC_TOTALS: &str = "SELECT COALESCE(sum(chat_message_count), 0)::bigint, COALESCE(sum(reaction_count), 0)::bigint, \
     COALESCE(sum(share_count), 0)::bigint FROM stream_metrics WHERE stream_id = $1";
/// The last 24 hours of minutes (newest first; the caller reverses them).
const TIMELINE: &str =
    concat!("SELECT ", stream_metrics::columns!(), " FROM stream_metrics WHERE stream_id = $1 ORDER BY bucket_start DESC LIMIT 1440");
const VIEW_TOTALS: &str = "SELECT count(*), count(DISTINCT viewer_id), \
     COALESCE(avg(EXTRACT(EPOCH FROM (COALESCE(left_at, last_seen_at) - joined_at))), 0)::float8 FROM viewer_sessions WHERE stream_id = $1";
const ACTIVE: &str = concat!(
    "SELECT ",
    streams::columns!(),
    " FROM streams WHERE status = ",
    streams::status_sql!(live),
    " AND visibility = ",
    streams::visibility_sql!(public),
    " ORDER BY current_viewer_count DESC, id DESC LIMIT $1"
);
const ACTIVE_AFTER: &str = concat!(
    "SELECT ",
    streams::columns!(),
    " FROM streams WHERE status = ",
    streams::status_sql!(live),
    " AND visibility = ",
    streams::visibility_sql!(public),
    " AND (current_viewer_count, id) < ($2, $3) ORDER BY current_viewer_count DESC, id DESC LIMIT $1"
);
const BY_CREATOR: &str = concat!(
    "SELECT ",
    streams::columns!(),
    " FROM streams WHERE creator_id = $1 AND status = ANY($2::smallint[]) AND visibility = ANY($4::smallint[]) ORDER BY created_at DESC, id DESC LIMIT $3"
);
const BY_CREATOR_AFTER: &str = concat!(
    "SELECT ",
    streams::columns!(),
    " FROM streams WHERE creator_id = $1 AND status = ANY($2::smallint[]) AND visibility = ANY($4::smallint[]) AND (created_at, id) < ($5, $6) \
     ORDER BY created_at DESC, id DESC LIMIT $3"
);
/// Serialises one sender's messages in one stream, so the rate limit below counts exactly.
const LOCK_SENDER: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 0))";
const RECENT_MESSAGES: &str = "SELECT count(*) FROM stream_chat_messages WHERE sender_id = $2 AND stream_id = $1 \
     AND created_at > now() - make_interval(secs => $3)";
const DELETE_MESSAGE: &str =
    "UPDATE stream_chat_messages SET deleted_at = now(), deleted_by_id = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at";
const MESSAGES: &str = concat!(
    "SELECT ",
    stream_chat_messages::columns!(),
    " FROM stream_chat_messages WHERE stream_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2"
);
const MESSAGES_AFTER: &str = concat!(
    "SELECT ",
    stream_chat_messages::columns!(),
    " FROM stream_chat_messages WHERE stream_id = $1 AND deleted_at IS NULL AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $2"
);

fn error(table: &'static str) -> impl Fn(sqlx::Error) -> RepoError {
    move |e| RepoError::from_sqlx(table, e)
}

async fn one_stream<'e>(db: impl PgExecutor<'e>, sql: &'static str, id: Uuid) -> RepoResult<Option<streams::Row>> {
    sqlx::query_as(sql).bind(id).fetch_optional(db).await.map_err(error("streams"))
}

/// The stream after SCHEDULED -> LIVE, `None` when it was not scheduled (or does not exist).
pub async fn start(db: &mut PgConnection, id: Uuid) -> RepoResult<Option<streams::Row>> {
    one_stream(db, START, id).await
}

/// The stream after LIVE -> ENDED or SCHEDULED -> CANCELLED, `None` when it was over already
/// (or does not exist).
pub async fn end(db: &mut PgConnection, id: Uuid) -> RepoResult<Option<streams::Row>> {
    one_stream(db, END, id).await
}

pub async fn revoke_keys(db: &mut PgConnection, stream_id: Uuid) -> RepoResult<()> {
    sqlx::query(REVOKE_KEYS).bind(stream_id).execute(db).await.map_err(error("stream_keys"))?;
    Ok(())
}

/// Moves the live stream's viewer count by `by` (raising its peak); the new count, `None` when
/// the stream is not live.
pub async fn move_viewers(db: &mut PgConnection, stream_id: Uuid, by: i32) -> RepoResult<Option<i32>> {
    let row = sqlx::query(MOVE_VIEWERS).bind(stream_id).bind(by).fetch_optional(db).await.map_err(error("streams"))?;
    row.map(|r| r.try_get(0)).transpose().map_err(error("streams"))
}

/// Opens the session; its join time when this call opened it, `None` when it existed.
pub async fn open_session(
    db: &mut PgConnection,
    id: Uuid,
    stream_id: Uuid,
    viewer_id: Option<Uuid>,
    client: &str,
) -> RepoResult<Option<DateTime<Utc>>> {
    let new = viewer_sessions::New { id, stream_id, viewer_id, client: Some(client.to_owned()), joined_at: None, last_seen_at: None, left_at: None };
    Ok(viewer_sessions::insert_if_absent(db, &new).await?.map(|row| row.joined_at))
}

/// Refreshes an open session; its join time, `None` when it is closed.
pub async fn heartbeat<'e>(db: impl PgExecutor<'e>, id: Uuid) -> RepoResult<Option<DateTime<Utc>>> {
    let row = sqlx::query(HEARTBEAT).bind(id).fetch_optional(db).await.map_err(error("viewer_sessions"))?;
    row.map(|r| r.try_get(0)).transpose().map_err(error("viewer_sessions"))
}

/// Closes an open session; true when this call closed it.
pub async fn close_session(db: &mut PgConnection, id: Uuid) -> RepoResult<bool> {
    let done = sqlx::query(CLOSE_SESSION).bind(id).execute(db).await.map_err(error("viewer_sessions"))?;
    Ok(done.rows_affected() == 1)
}

pub async fn close_sessions_of_stream(db: &mut PgConnection, stream_id: Uuid) -> RepoResult<u64> {
    let done = sqlx::query(CLOSE_SESSIONS_OF_STREAM).bind(stream_id).execute(db).await.map_err(error("viewer_sessions"))?;
    Ok(done.rows_affected())
}

/// Closes the stream's sessions silent for `timeout_seconds`; how many it closed.
pub async fn expire_sessions(db: &mut PgConnection, stream_id: Uuid, timeout_seconds: f64) -> RepoResult<u64> {
    let done = sqlx::query(EXPIRE_SESSIONS).bind(stream_id).bind(timeout_seconds).execute(db).await.map_err(error("viewer_sessions"))?;
    Ok(done.rows_affected())
}

pub async fn anonymous_viewers<'e>(db: impl PgExecutor<'e>, stream_id: Uuid) -> RepoResult<i64> {
    sqlx::query_scalar(ANONYMOUS_VIEWERS).bind(stream_id).fetch_one(db).await.map_err(error("viewer_sessions"))
}

/// A signed-in viewer's open session: (session id, viewer id, joined at).
pub type Viewer = (Uuid, Uuid, DateTime<Utc>);

/// One page of the open sessions of signed-in viewers, earliest joiner first.
pub async fn viewers<'e>(db: impl PgExecutor<'e>, stream_id: Uuid, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> RepoResult<Vec<Viewer>> {
    let query = match after {
        None => sqlx::query_as(VIEWERS).bind(stream_id).bind(limit),
        Some((joined_at, id)) => sqlx::query_as(VIEWERS_AFTER).bind(stream_id).bind(limit).bind(joined_at).bind(id),
    };
    query.fetch_all(db).await.map_err(error("viewer_sessions"))
}

/// What one call adds to a minute of a stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct MetricsDelta {
    /// Not added: the minute keeps the highest value it saw.
    pub viewer_count: i32,
    pub chat_messages: i64,
    pub reactions: i64,
    pub shares: i64,
    pub buffering: i64,
    pub playback_errors: i64,
}

pub async fn add_metrics<'e>(db: impl PgExecutor<'e>, stream_id: Uuid, at: DateTime<Utc>, delta: MetricsDelta) -> RepoResult<()> {
    sqlx::query(ADD_METRICS)
        .bind(stream_id)
        .bind(at)
        .bind(delta.viewer_count)
        .bind(delta.chat_messages)
        .bind(delta.reactions)
        .bind(delta.shares)
        .bind(delta.buffering)
        .bind(delta.playback_errors)
        .execute(db)
        .await
        .map_err(error("stream_metrics"))?;
    Ok(())
}

/// (chat messages, reactions, shares) over the stream's whole life.
pub async fn metric_totals<'e>(db: impl PgExecutor<'e>, stream_id: Uuid) -> RepoResult<(i64, i64, i64)> {
    sqlx::query_as(METRIC_TOTALS).bind(stream_id).fetch_one(db).await.map_err(error("stream_metrics"))
}

/// The stream's last 24 hours of minutes, oldest first.
pub async fn timeline<'e>(db: impl PgExecutor<'e>, stream_id: Uuid) -> RepoResult<Vec<stream_metrics::Row>> {
    let mut rows: Vec<stream_metrics::Row> = sqlx::query_as(TIMELINE).bind(stream_id).fetch_all(db).await.map_err(error("stream_metrics"))?;
    rows.reverse();
    Ok(rows)
}

/// (sessions, distinct signed-in viewers, average session length in seconds).
pub async fn view_totals<'e>(db: impl PgExecutor<'e>, stream_id: Uuid) -> RepoResult<(i64, i64, f64)> {
    sqlx::query_as(VIEW_TOTALS).bind(stream_id).fetch_one(db).await.map_err(error("viewer_sessions"))
}

/// One page of public live streams, most watched first.
pub async fn active<'e>(db: impl PgExecutor<'e>, after: Option<(i32, Uuid)>, limit: i64) -> RepoResult<Vec<streams::Row>> {
    let query = match after {
        None => sqlx::query_as(ACTIVE).bind(limit),
        Some((count, id)) => sqlx::query_as(ACTIVE_AFTER).bind(limit).bind(count).bind(id),
    };
    query.fetch_all(db).await.map_err(error("streams"))
}

/// One page of a creator's streams in `statuses` with one of `visibilities`, newest first.
pub async fn by_creator<'e>(
    db: impl PgExecutor<'e>,
    creator_id: Uuid,
    statuses: &[Status],
    visibilities: &[Visibility],
    after: Option<&streams::CreatedAtCursor>,
    limit: i64,
) -> RepoResult<Vec<streams::Row>> {
    let numbers: Vec<i16> = statuses.iter().map(|s| s.number()).collect();
    let shown: Vec<i16> = visibilities.iter().map(|v| v.number()).collect();
    let query = match after {
        None => sqlx::query_as(BY_CREATOR).bind(creator_id).bind(numbers).bind(limit).bind(shown),
        Some(after) => sqlx::query_as(BY_CREATOR_AFTER).bind(creator_id).bind(numbers).bind(limit).bind(shown).bind(after.created_at).bind(after.id),
    };
    query.fetch_all(db).await.map_err(error("streams"))
}

/// Holds the (stream, sender) chat lock until the transaction ends.
pub async fn lock_sender(db: &mut PgConnection, stream_id: Uuid, sender_id: Uuid) -> RepoResult<()> {
    sqlx::query(LOCK_SENDER).bind(stream_id.to_string()).bind(sender_id.to_string()).execute(db).await.map_err(error("stream_chat_messages"))?;
    Ok(())
}

/// How many messages the sender posted to the stream in the last `seconds`.
pub async fn recent_messages(db: &mut PgConnection, stream_id: Uuid, sender_id: Uuid, seconds: f64) -> RepoResult<i64> {
    sqlx::query_scalar(RECENT_MESSAGES).bind(stream_id).bind(sender_id).bind(seconds).fetch_one(db).await.map_err(error("stream_chat_messages"))
}

/// Inserts the message once per request id: the stored row, and whether this call inserted it
/// (`false`: the row an earlier or concurrent call with this request id stored).
pub async fn insert_message(
    db: &mut PgConnection,
    request_id: Uuid,
    stream_id: Uuid,
    sender_id: Uuid,
    body: &str,
) -> RepoResult<(stream_chat_messages::Row, bool)> {
    let new = stream_chat_messages::New {
        id: None,
        request_id,
        stream_id,
        sender_id,
        body: body.to_owned(),
        created_at: None,
        deleted_at: None,
        deleted_by_id: None,
    };
    stream_chat_messages::insert_idempotent(db, &new).await
}

/// Soft-deletes a live message; its deletion time when this call deleted it.
pub async fn delete_message<'e>(db: impl PgExecutor<'e>, id: Uuid, deleted_by: Uuid) -> RepoResult<Option<DateTime<Utc>>> {
    let row = sqlx::query(DELETE_MESSAGE).bind(id).bind(deleted_by).fetch_optional(db).await.map_err(error("stream_chat_messages"))?;
    row.map(|r| r.try_get(0)).transpose().map_err(error("stream_chat_messages"))
}

/// One page of the stream's messages that are not deleted, newest first.
pub async fn messages<'e>(
    db: impl PgExecutor<'e>,
    stream_id: Uuid,
    after: Option<&stream_chat_messages::CreatedAtCursor>,
    limit: i64,
) -> RepoResult<Vec<stream_chat_messages::Row>> {
    let query = match after {
        None => sqlx::query_as(MESSAGES).bind(stream_id).bind(limit),
        Some(after) => sqlx::query_as(MESSAGES_AFTER).bind(stream_id).bind(limit).bind(after.created_at).bind(after.id),
    };
    query.fetch_all(db).await.map_err(error("stream_chat_messages"))
}
