//! Conversions between proto field values and database values, with errors that say which
//! field of the request is wrong and quote at most a short prefix of what the caller sent.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::LogicError;

/// At most this many characters of a caller's input are quoted back in a status message or a
/// log field: a 1 MB field must not become a 1 MB log line or a status header larger than
/// the client accepts.
pub const QUOTED_CHARS: usize = 64;

/// `value` quoted for a message or a log field: escaped like `{:?}`, at most
/// [`QUOTED_CHARS`] characters, and the full length when it was cut, e.g.
/// `"aaaa…" (1048576 bytes)`.
pub fn quote(value: &str) -> String {
    let mut prefix = value.char_indices().nth(QUOTED_CHARS).map_or(value, |(end, _)| &value[..end]).to_string();
    if prefix.len() == value.len() {
        return format!("{value:?}");
    }
    prefix.push('…');
    let mut quoted = format!("{prefix:?}");
    let _ = write!(quoted, " ({} bytes)", value.len());
    quoted
}

/// A string field checked for text the database can store: protobuf decoding already
/// guarantees valid UTF-8 (an undecodable request is `INVALID_ARGUMENT` before any handler
/// runs), and this rejects the NUL character, which PostgreSQL refuses in `text`.
///
/// # Errors
///
/// [`LogicError::InvalidArgument`] naming `field` and the NUL's position when `value` holds
/// one.
pub fn text<'a>(field: &str, value: &'a str) -> Result<&'a str, LogicError> {
    match value.find('\0') {
        None => Ok(value),
        Some(at) => Err(LogicError::invalid_argument(format!("{field} must not contain NUL characters (one at byte {at})"))),
    }
}

/// A UUID from a request field (any form [`Uuid::parse_str`] accepts).
///
/// # Errors
///
/// [`LogicError::InvalidArgument`] naming `field` and quoting `value` when it is not a UUID.
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, LogicError> {
    Uuid::parse_str(text(field, value)?).map_err(|_| LogicError::invalid_argument(format!("{field} must be a UUID, got {}", quote(value))))
}

/// UUIDs from a repeated request field, at most `max` of them, duplicates removed in order.
///
/// # Errors
///
/// [`LogicError::InvalidArgument`] when the field holds more than `max` values, or for the
/// first value that is not a UUID.
pub fn parse_uuids(field: &str, values: &[String], max: usize) -> Result<Vec<Uuid>, LogicError> {
    if values.len() > max {
        return Err(LogicError::invalid_argument(format!("{field} holds {} ids; at most {max} are allowed", values.len())));
    }
    let mut ids: Vec<Uuid> = Vec::with_capacity(values.len());
    for value in values {
        let id = parse_uuid(field, value)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A database time as a protobuf `Timestamp` for a response (nanosecond precision kept).
pub fn timestamp(value: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: value.timestamp(), nanos: i32::try_from(value.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// [`timestamp`] for a nullable column: `None` stays an unset field.
pub fn optional_timestamp(value: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    value.map(timestamp)
}

/// A timestamp from a request field.
///
/// # Errors
///
/// [`LogicError::InvalidArgument`] naming `field` when the value is out of chrono's range or
/// its nanoseconds are out of bounds.
pub fn from_timestamp(field: &str, value: &prost_types::Timestamp) -> Result<DateTime<Utc>, LogicError> {
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .ok_or_else(|| LogicError::invalid_argument(format!("{field} is not a valid timestamp")))
}
