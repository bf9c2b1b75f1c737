//! The wire form of every event: one protobuf message carrying what a consumer needs to apply
//! it once and in order, whatever the event's own payload is.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One event as stored in the outbox and carried by JetStream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    /// A UUIDv7, unique per event: the `Nats-Msg-Id` (JetStream's dedupe id) and the inbox key.
    #[prost(string, tag = "1")]
    pub event_id: String,
    /// The publishing service, e.g. `auth`.
    #[prost(string, tag = "2")]
    pub publisher: String,
    /// The event's name within its publisher, e.g. `users.deleted`.
    #[prost(string, tag = "3")]
    pub event: String,
    /// What changed, e.g. `auth.users`.
    #[prost(string, tag = "4")]
    pub aggregate: String,
    /// Which one (its key as text).
    #[prost(string, tag = "5")]
    pub aggregate_id: String,
    /// The aggregate's event count, 1 for its first event: consumers ignore a version they
    /// have passed.
    #[prost(int64, tag = "6")]
    pub version: i64,
    /// When the change was written: the publishing database's clock, read under the aggregate's
    /// version lock, so it never decreases along one aggregate's versions (microseconds since
    /// the Unix epoch).
    #[prost(int64, tag = "7")]
    pub occurred_at_micros: i64,
    /// The end user whose call made the change, if a user's call did.
    #[prost(string, tag = "8")]
    pub actor_user_id: String,
    /// The event's own message (protobuf), empty for lifecycle events that carry only the key.
    #[prost(bytes = "vec", tag = "9")]
    pub payload: Vec<u8>,
}

impl Envelope {
    /// The event id, parsed.
    pub fn id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.event_id).ok()
    }

    /// The acting end user, if any.
    pub fn actor(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.actor_user_id).ok()
    }

    /// When the change committed.
    pub fn occurred_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_micros(self.occurred_at_micros)
    }
}
