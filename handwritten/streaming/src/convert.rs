//! Request fields to values (errors name the field) and rows to protos.

use nova_runtime::codegen::chrono::{DateTime, Utc};
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::convert::{optional_timestamp, parse_uuid, text, timestamp};
use nova_streaming::repo::stream_chat_messages;
use nova_streaming::repo::streams::{self, Status, Visibility};
use nova_streaming::{LogicError, pb};

use crate::settings::StreamingSettings;

/// Longest title, description and chat message, in characters (documented in the proto).
pub const MAX_TITLE_CHARS: usize = 140;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_CHAT_CHARS: usize = 500;
/// Longest free-form client description of a viewer session.
pub const MAX_CLIENT_CHARS: usize = 200;

pub fn stream_id(value: &str) -> Result<Uuid, LogicError> {
    parse_uuid("stream_id", value)
}

/// An optional id field: empty means absent, anything else must be a UUID.
pub fn optional_uuid(field: &str, value: &str) -> Result<Option<Uuid>, LogicError> {
    if value.is_empty() { Ok(None) } else { parse_uuid(field, value).map(Some) }
}

/// A free-text field of at most `max` characters, storable by the database.
pub fn bounded_text(field: &str, value: &str, max: usize) -> Result<String, LogicError> {
    text(field, value)?;
    let chars = value.chars().count();
    if chars > max {
        return Err(LogicError::invalid_argument(format!("{field} holds {chars} characters; at most {max} are allowed")));
    }
    Ok(value.to_string())
}

/// A text field that must hold something besides white space.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, LogicError> {
    let value = bounded_text(field, value, max)?;
    if value.trim().is_empty() {
        return Err(LogicError::invalid_argument(format!("{field} must not be empty")));
    }
    Ok(value)
}

/// The stored visibility for a request's; UNSPECIFIED means public (as the proto says).
pub fn visibility(field: &str, value: i32) -> Result<Visibility, LogicError> {
    let unknown = || LogicError::invalid_argument(format!("{field}: {value} is not a StreamVisibility"));
    match pb::StreamVisibility::try_from(value) {
        Ok(pb::StreamVisibility::Unspecified) => Ok(Visibility::Public),
        Ok(known) => Visibility::try_from(known).map_err(|_| unknown()),
        Err(_) => Err(unknown()),
    }
}

/// The stored statuses a filter names; empty means all of them.
pub fn statuses(field: &str, values: &[i32]) -> Result<Vec<Status>, LogicError> {
    if values.is_empty() {
        return Ok(vec![Status::Scheduled, Status::Live, Status::Ended, Status::Cancelled]);
    }
    let mut statuses = Vec::with_capacity(values.len());
    for &value in values {
        let unknown = || LogicError::invalid_argument(format!("{field}: {value} is not a StreamStatus"));
        let status = pb::StreamStatus::try_from(value).map_err(|_| unknown())?;
        let status = Status::try_from(status).map_err(|_| unknown())?;
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    statuses.sort();
    Ok(statuses)
}

/// An optional timestamp field, unset meaning none.
pub fn optional_time(field: &str, value: Option<&nova_runtime::codegen::prost_types::Timestamp>) -> Result<Option<DateTime<Utc>>, LogicError> {
    value.map(|t| nova_runtime::convert::from_timestamp(field, t)).transpose()
}

/// Whether a stream can change no more (ended or cancelled).
pub fn is_over(status: Status) -> bool {
    matches!(status, Status::Ended | Status::Cancelled)
}

/// FAILED_PRECONDITION for a change of a stream that is over.
pub fn over(stream: &streams::Row) -> LogicError {
    LogicError::FailedPrecondition(format!("stream_id: stream {} is {}", stream.id, stream.status.name()))
}

pub fn no_stream(id: Uuid) -> LogicError {
    LogicError::not_found(format!("stream_id: no stream {id}"))
}

/// A stream as callers see it.
pub fn stream(row: &streams::Row, settings: &StreamingSettings) -> pb::LiveStream {
    pb::LiveStream {
        id: row.id.to_string(),
        creator_id: row.creator_id.to_string(),
        title: row.title.clone(),
        description: row.description.clone(),
        status: pb::StreamStatus::from(row.status) as i32,
        visibility: pb::StreamVisibility::from(row.visibility) as i32,
        chat_enabled: row.chat_enabled,
        thumbnail_media_id: row.thumbnail_media_id.map(|id| id.to_string()).unwrap_or_default(),
        playback_url: settings.playback_url(row.id),
        scheduled_start_at: optional_timestamp(row.scheduled_start_at),
        started_at: optional_timestamp(row.started_at),
        ended_at: optional_timestamp(row.ended_at),
        current_viewer_count: if row.status == Status::Live { row.current_viewer_count } else { 0 },
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        version: row.version,
    }
}

pub fn chat_message(row: &stream_chat_messages::Row) -> pb::ChatMessage {
    pb::ChatMessage {
        id: row.id.to_string(),
        stream_id: row.stream_id.to_string(),
        sender_id: row.sender_id.to_string(),
        body: row.body.clone(),
        created_at: Some(timestamp(row.created_at)),
    }
}
