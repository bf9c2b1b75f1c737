//! Viewer sessions and the concurrent-viewer count.
//!
//! `streams.current_viewer_count` counts open sessions. It moves only by atomic increments,
//! and only in the transaction that really opened or closed a session: opening is an
//! `INSERT ... ON CONFLICT (id) DO NOTHING` (a repeated or concurrent join of one session
//! inserts once), closing an `UPDATE ... WHERE left_at IS NULL` (a session closes once,
//! whether by its viewer, by silence or by the stream's end). So the count stays exact under
//! any mix of concurrent joins and leaves, and `peak_viewer_count` is raised in the same
//! statement as every increase.
//!
//! A session silent for [`SESSION_TIMEOUT_SECONDS`] stops counting: it is closed (as of its
//! last heartbeat) by GetStreamViewers and by the periodic sweep.
//!
//! Lock order: every transaction that closes sessions locks the stream row first (EndStream
//! by its transition, a leave and an expiry by `FOR UPDATE`), then the sessions, so they
//! queue instead of deadlocking. A join inserts its session and then takes the stream row
//! only to move the count: until it commits its row is invisible to every other transaction,
//! so nobody waits for it, and all joins of a popular stream hold the stream row only for
//! their last two statements. A heartbeat touches only its own session.

use nova_runtime::codegen::chrono::{DateTime, Utc};
use nova_runtime::codegen::sqlx::PgConnection;
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::convert::{parse_uuid, timestamp};
use nova_runtime::identity::Principal;
use nova_runtime::paging::{decode_token, page_size, split_page};
use nova_streaming::repo::streams::{self, Status};
use nova_streaming::repo::viewer_sessions;
use nova_streaming::{LogicError, pb};

use crate::sql::MetricsDelta;
use crate::{StreamingLogic, convert, sql};

/// A session without a heartbeat for this long is closed ("viewers seen in the last minute").
pub const SESSION_TIMEOUT_SECONDS: f64 = 60.0;
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 500;

impl StreamingLogic {
    pub(crate) async fn record_view(&self, request: pb::RecordStreamViewRequest) -> Result<pb::RecordStreamViewResponse, LogicError> {
        let session_id = parse_uuid("viewer_session_id", &request.viewer_session_id)?;
        let stream_id = convert::stream_id(&request.stream_id)?;
        let viewer_id = convert::optional_uuid("viewer_id", &request.viewer_id)?;
        let client = convert::bounded_text("client", &request.client, convert::MAX_CLIENT_CHARS)?;
        let stream = self.stream(stream_id).await?;
        let existing = viewer_sessions::get(&self.db, session_id).await?;
        if let Some(session) = &existing
            && (session.stream_id != stream_id || session.viewer_id != viewer_id)
        {
            return Err(LogicError::invalid_argument(
                "viewer_session_id: the session belongs to another stream or viewer; a new session needs a new id",
            ));
        }
        if request.ended {
            let Some(session) = existing else {
                return Err(LogicError::not_found(format!("viewer_session_id: no session {session_id} on stream {stream_id}")));
            };
            let count = self.leave(stream_id, session_id).await?;
            return Ok(pb::RecordStreamViewResponse { joined_at: Some(timestamp(session.joined_at)), current_viewer_count: count });
        }
        if existing.is_some() {
            let joined_at = sql::heartbeat(&self.db, session_id).await?.ok_or_else(closed)?;
            let count = self.stream(stream_id).await?.current_viewer_count;
            return Ok(pb::RecordStreamViewResponse { joined_at: Some(timestamp(joined_at)), current_viewer_count: count });
        }
        if stream.status != Status::Live {
            return Err(LogicError::FailedPrecondition(format!("stream_id: stream {stream_id} is {}, not live", stream.status.name())));
        }
        if let Some(viewer) = viewer_id {
            self.require_user("viewer_id", viewer, false).await?;
        }
        self.require_audience("viewer_id", &stream, viewer_id).await?;
        let (joined_at, count, opened) = self.join(&stream, session_id, viewer_id, &client).await?;
        if opened {
            self.invalidator.entities([stream_id.to_string()]).await;
        }
        Ok(pb::RecordStreamViewResponse { joined_at: Some(timestamp(joined_at)), current_viewer_count: count })
    }

    /// Opens the session (once) on a live stream: (joined at, current count, whether this
    /// call opened it).
    async fn join(
        &self,
        stream: &streams::Row,
        session_id: Uuid,
        viewer_id: Option<Uuid>,
        client: &str,
    ) -> Result<(DateTime<Utc>, i32, bool), LogicError> {
        let mut tx = self.db.begin().await?;
        let opened = sql::open_session(&mut tx, session_id, stream.id, viewer_id, client).await?;
        let Some(joined_at) = opened else {
            // The same session joined concurrently: this call is its heartbeat.
            tx.rollback().await?;
            let joined_at = sql::heartbeat(&self.db, session_id).await?.ok_or_else(closed)?;
            return Ok((joined_at, self.stream(stream.id).await?.current_viewer_count, false));
        };
        // Only a live stream gains viewers; one that ended meanwhile rolls the session back.
        let not_live = || LogicError::FailedPrecondition(format!("stream_id: stream {} is not live any more", stream.id));
        let count = sql::move_viewers(&mut tx, stream.id, 1).await?.ok_or_else(not_live)?;
        let delta = MetricsDelta { viewer_count: count, ..Default::default() };
        sql::add_metrics(&mut *tx, stream.id, joined_at, delta).await?;
        tx.commit().await?;
        Ok((joined_at, count, true))
    }

    /// Closes the session if open; the stream's count after.
    async fn leave(&self, stream_id: Uuid, session_id: Uuid) -> Result<i32, LogicError> {
        let mut tx = self.db.begin().await?;
        let stream = streams::get_for_update(&mut tx, stream_id).await?.ok_or_else(|| convert::no_stream(stream_id))?;
        let closed = sql::close_session(&mut tx, session_id).await?;
        let count = if closed { sql::move_viewers(&mut tx, stream_id, -1).await?.unwrap_or(0) } else { stream.current_viewer_count };
        tx.commit().await?;
        if closed {
            self.invalidator.entities([stream_id.to_string()]).await;
        }
        Ok(if stream.status == Status::Live { count } else { 0 })
    }

    /// Closes the stream's silent sessions (see the module doc); its count after.
    pub(crate) async fn expire_sessions(&self, stream_id: Uuid) -> Result<i32, LogicError> {
        let mut tx = self.db.begin().await?;
        let stream = streams::get_for_update(&mut tx, stream_id).await?.ok_or_else(|| convert::no_stream(stream_id))?;
        let before = stream.current_viewer_count;
        let count = expire(&mut tx, &stream).await?;
        tx.commit().await?;
        if count != before {
            self.invalidator.entities([stream_id.to_string()]).await;
        }
        Ok(count)
    }

    /// Expires the silent sessions of every live stream; how many streams changed.
    pub async fn sweep_sessions(&self) -> Result<usize, LogicError> {
        let mut after: Option<streams::StartedAtCursor> = None;
        let mut changed = 0;
        loop {
            let page = streams::list_by_status(&self.db, Status::Live, after.as_ref(), 100).await?;
            for stream in &page {
                if self.expire_sessions(stream.id).await? != stream.current_viewer_count {
                    changed += 1;
                }
            }
            if page.len() < 100 {
                return Ok(changed);
            }
            after = page.last().map(Into::into);
        }
    }

    pub(crate) async fn stream_viewers(
        &self,
        principal: &Principal,
        request: pb::GetStreamViewersRequest,
    ) -> Result<pb::GetStreamViewersResponse, LogicError> {
        let stream_id = convert::stream_id(&request.stream_id)?;
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let list = format!("GetStreamViewers/{stream_id}");
        let after = decode_token(&list, &request.page_token)?;
        let stream = self.visible_stream(principal, stream_id).await?;
        let count = if stream.status == Status::Live { self.expire_sessions(stream_id).await? } else { 0 };
        let anonymous = sql::anonymous_viewers(&self.db, stream_id).await?;
        let limit = i64::try_from(size + 1).unwrap_or(i64::MAX);
        let rows = sql::viewers(&self.db, stream_id, after, limit).await?;
        let (rows, next_page_token) = split_page(rows, size, &list, |(session, _, joined_at)| (*joined_at, *session));
        Ok(pb::GetStreamViewersResponse {
            viewers: rows
                .iter()
                .map(|(_, viewer, joined_at)| pb::StreamViewer { viewer_id: viewer.to_string(), joined_at: Some(timestamp(*joined_at)) })
                .collect(),
            next_page_token,
            current_viewer_count: count,
            anonymous_viewer_count: i32::try_from(anonymous).unwrap_or(i32::MAX),
        })
    }
}

/// Closes the locked stream's silent sessions and takes them off its count; the count after.
async fn expire(tx: &mut PgConnection, stream: &streams::Row) -> Result<i32, LogicError> {
    let expired = sql::expire_sessions(&mut *tx, stream.id, SESSION_TIMEOUT_SECONDS).await?;
    if expired == 0 || stream.status != Status::Live {
        return Ok(stream.current_viewer_count);
    }
    let by = -i32::try_from(expired).unwrap_or(i32::MAX);
    Ok(sql::move_viewers(&mut *tx, stream.id, by).await?.unwrap_or(0))
}

fn closed() -> LogicError {
    LogicError::FailedPrecondition("viewer_session_id: the session is closed; open a new session with a new id".to_string())
}
