//! Conversions between proto field values and database values, with errors that say which
//! field of the request is wrong.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::LogicError;

/// A UUID from a request field; `INVALID_ARGUMENT` naming the field otherwise.
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, LogicError> {
    Uuid::parse_str(value).map_err(|_| LogicError::invalid_argument(format!("{field} must be a UUID, got {value:?}")))
}

/// UUIDs from a repeated request field, at most `max` of them, duplicates removed in order.
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

pub fn timestamp(value: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: value.timestamp(), nanos: i32::try_from(value.timestamp_subsec_nanos()).unwrap_or(0) }
}

pub fn optional_timestamp(value: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    value.map(timestamp)
}

/// A timestamp from a request field; `INVALID_ARGUMENT` when out of range.
pub fn from_timestamp(field: &str, value: &prost_types::Timestamp) -> Result<DateTime<Utc>, LogicError> {
    u32::try_from(value.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos))
        .ok_or_else(|| LogicError::invalid_argument(format!("{field} is not a valid timestamp")))
}
