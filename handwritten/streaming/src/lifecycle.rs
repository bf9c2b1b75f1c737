//! Streams and their lifecycle: SCHEDULED -> LIVE -> ENDED, or SCHEDULED -> CANCELLED.
//!
//! Every transition is one conditional UPDATE (`WHERE status = <the state it leaves>`), so
//! of two concurrent transitions exactly one applies and the other sees the state it left:
//! StartStream and EndStream are idempotent (a live stream started again, an ended one ended
//! again, are returned unchanged) and a transition out of ENDED or CANCELLED is
//! FAILED_PRECONDITION. Edits use the row's `version` (ABORTED when stale); transitions bump
//! it too, so an edit read before a stream ended cannot apply after it.
//!
//! Edits and EndStream are the creator's (see `audience`); StartStream is anyone's who holds
//! the stream key, which is the credential. Reads show what the caller's audience may see.

use std::collections::btree_map::{BTreeMap, Entry};

use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::convert::parse_uuid;
use nova_runtime::identity::Principal;
use nova_runtime::paging::{decode_token, page_size, split_page};
use nova_streaming::repo::streams::{self, Status};
use nova_streaming::{LogicError, pb};

use crate::audience::{self, Standing};
use crate::{StreamingLogic, convert, keys, sql};

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

fn limit(size: usize) -> i64 {
    i64::try_from(size + 1).unwrap_or(i64::MAX)
}

impl StreamingLogic {
    pub(crate) async fn create_stream(&self, request: pb::CreateLiveStreamRequest) -> Result<pb::CreateLiveStreamResponse, LogicError> {
        let creator_id = parse_uuid("creator_id", &request.creator_id)?;
        let title = convert::required_text("title", &request.title, convert::MAX_TITLE_CHARS)?;
        let description = convert::bounded_text("description", &request.description, convert::MAX_DESCRIPTION_CHARS)?;
        let visibility = convert::visibility("visibility", request.visibility)?;
        let thumbnail_media_id = convert::optional_uuid("thumbnail_media_id", &request.thumbnail_media_id)?;
        let scheduled_start_at = convert::optional_time("scheduled_start_at", request.scheduled_start_at.as_ref())?;
        self.require_user("creator_id", creator_id, true).await?;
        let new = streams::New {
            creator_id,
            title,
            description: Some(description),
            visibility: Some(visibility),
            chat_enabled: Some(request.chat_enabled),
            thumbnail_media_id,
            scheduled_start_at,
            id: None,
            status: None,
            started_at: None,
            ended_at: None,
            created_at: None,
            updated_at: None,
            current_viewer_count: None,
            peak_viewer_count: None,
        };
        let mut tx = self.db.begin().await?;
        let row = streams::insert(&mut *tx, &new).await?;
        let stream_key = self.issue_key(&mut tx, row.id).await?;
        tx.commit().await?;
        self.invalidator.entities([creator_id.to_string()]).await;
        Ok(pb::CreateLiveStreamResponse { stream: Some(convert::stream(&row, &self.settings)), stream_key: Some(stream_key) })
    }

    pub(crate) async fn get_stream(&self, principal: &Principal, request: pb::GetLiveStreamRequest) -> Result<pb::GetLiveStreamResponse, LogicError> {
        let id = convert::stream_id(&request.stream_id)?;
        let row = self.visible_stream(principal, id).await?;
        Ok(pb::GetLiveStreamResponse { stream: Some(convert::stream(&row, &self.settings)) })
    }

    /// The stream, NOT_FOUND naming `stream_id` when there is none.
    pub(crate) async fn stream(&self, id: Uuid) -> Result<streams::Row, LogicError> {
        streams::get(&self.db, id).await?.ok_or_else(|| convert::no_stream(id))
    }

    pub(crate) async fn update_stream(
        &self,
        principal: &Principal,
        request: pb::UpdateLiveStreamRequest,
    ) -> Result<pb::UpdateLiveStreamResponse, LogicError> {
        let id = convert::stream_id(&request.stream_id)?;
        let patch = streams::Patch {
            title: Some(convert::required_text("title", &request.title, convert::MAX_TITLE_CHARS)?),
            description: Some(convert::bounded_text("description", &request.description, convert::MAX_DESCRIPTION_CHARS)?),
            visibility: Some(convert::visibility("visibility", request.visibility)?),
            chat_enabled: Some(request.chat_enabled),
            thumbnail_media_id: Some(convert::optional_uuid("thumbnail_media_id", &request.thumbnail_media_id)?),
            scheduled_start_at: Some(convert::optional_time("scheduled_start_at", request.scheduled_start_at.as_ref())?),
            ..Default::default()
        };
        // The creator never changes: checked before the row is locked (no call under a lock).
        self.creators_stream(principal, id, "edit it").await?;
        let mut tx = self.db.begin().await?;
        // Locked, so that a rotation and the edit are one step; the state is checked on the
        // row as locked, the version by the update itself.
        let current = streams::get_for_update(&mut tx, id).await?.ok_or_else(|| convert::no_stream(id))?;
        if convert::is_over(current.status) {
            return Err(convert::over(&current));
        }
        let row = streams::update_if_version(&mut *tx, id, request.version, &patch).await?;
        let stream_key = if request.rotate_stream_key { Some(self.issue_key(&mut tx, id).await?) } else { None };
        tx.commit().await?;
        self.invalidate_stream(&row).await;
        Ok(pb::UpdateLiveStreamResponse { stream: Some(convert::stream(&row, &self.settings)), stream_key })
    }

    pub(crate) async fn start_stream(&self, request: pb::StartStreamRequest) -> Result<pb::StartStreamResponse, LogicError> {
        let key = keys::presented(&request.stream_key)?;
        let mut tx = self.db.begin().await?;
        let locked = self.lock_stream_of_key(&mut tx, key).await?;
        let started = sql::start(&mut tx, locked.id).await?;
        let changed = started.is_some();
        let row = match started {
            Some(row) => row,
            None if locked.status == Status::Live => locked,
            None => return Err(convert::over(&locked)),
        };
        tx.commit().await?;
        if changed {
            self.invalidate_stream(&row).await;
        }
        Ok(pb::StartStreamResponse { stream: Some(convert::stream(&row, &self.settings)) })
    }

    pub(crate) async fn end_stream(&self, principal: &Principal, request: pb::EndStreamRequest) -> Result<pb::EndStreamResponse, LogicError> {
        let id = convert::stream_id(&request.stream_id)?;
        self.creators_stream(principal, id, "end it").await?;
        let mut tx = self.db.begin().await?;
        let ended = sql::end(&mut tx, id).await?;
        let changed = ended.is_some();
        let row = match ended {
            Some(row) => {
                // Under the stream's lock: a join either committed before (its session is
                // closed here) or finds the stream over.
                sql::close_sessions_of_stream(&mut tx, id).await?;
                row
            }
            None => streams::get(&mut *tx, id).await?.ok_or_else(|| convert::no_stream(id))?,
        };
        tx.commit().await?;
        if changed {
            self.invalidate_stream(&row).await;
        }
        Ok(pb::EndStreamResponse { stream: Some(convert::stream(&row, &self.settings)) })
    }

    pub(crate) async fn active_streams(
        &self,
        principal: &Principal,
        request: pb::GetActiveStreamsRequest,
    ) -> Result<pb::GetActiveStreamsResponse, LogicError> {
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        const LIST: &str = "GetActiveStreams";
        // Ordered by the live viewer count, which moves: a stream whose count changes between
        // two pages may be seen twice or not at all, never in a loop.
        let after: Option<(i32, Uuid)> = decode_token(LIST, &request.page_token)?;
        let rows = sql::active(&self.db, after, limit(size)).await?;
        let (rows, next_page_token) = split_page(rows, size, LIST, |r| (r.current_viewer_count, r.id));
        // Public streams only: what the page leaves out are those whose creator blocks the
        // caller (the page may hold fewer than page_size; the token tells whether more follow).
        let viewer = audience::viewer(principal);
        let mut standings: BTreeMap<Uuid, Standing> = BTreeMap::new();
        for row in &rows {
            if let Entry::Vacant(entry) = standings.entry(row.creator_id) {
                entry.insert(self.standing(row.creator_id, viewer).await?);
            }
        }
        let streams = rows
            .iter()
            .filter(|r| standings.get(&r.creator_id).is_some_and(|s| s.may_watch(r.visibility)))
            .map(|r| convert::stream(r, &self.settings))
            .collect();
        Ok(pb::GetActiveStreamsResponse { streams, next_page_token })
    }

    pub(crate) async fn creator_streams(
        &self,
        principal: &Principal,
        request: pb::GetCreatorStreamsRequest,
    ) -> Result<pb::GetCreatorStreamsResponse, LogicError> {
        let creator_id = parse_uuid("creator_id", &request.creator_id)?;
        let statuses = convert::statuses("statuses", &request.statuses)?;
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let numbers: Vec<i16> = statuses.iter().map(|s| s.number()).collect();
        let list = format!("GetCreatorStreams/{creator_id}/{numbers:?}");
        let after: Option<streams::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
        // The caller's standing decides which visibilities are listed (nothing for a viewer the
        // creator blocks; UNLISTED streams for the creator only): filtered in the query, so
        // pages stay full.
        let visibilities = self.standing(creator_id, audience::viewer(principal)).await?.listed();
        if visibilities.is_empty() {
            return Ok(pb::GetCreatorStreamsResponse { streams: Vec::new(), next_page_token: String::new() });
        }
        let rows = sql::by_creator(&self.db, creator_id, &statuses, visibilities, after.as_ref(), limit(size)).await?;
        let (rows, next_page_token) = split_page(rows, size, &list, |r| streams::CreatedAtCursor::from(r));
        Ok(pb::GetCreatorStreamsResponse { streams: rows.iter().map(|r| convert::stream(r, &self.settings)).collect(), next_page_token })
    }

    /// After a commit that changed what a stream's reads answer: its own reads and its
    /// creator's list.
    pub(crate) async fn invalidate_stream(&self, row: &streams::Row) {
        self.invalidator.entities([row.id.to_string(), row.creator_id.to_string()]).await;
    }
}
