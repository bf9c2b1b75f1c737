//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use chrono::Utc;
use nova_runtime::convert::{from_timestamp, parse_uuid, parse_uuids, timestamp};
use uuid::Uuid;
#[test]
fn uuids() {
    let id = Uuid::new_v4();
    assert_eq!(parse_uuid("user_id", &id.to_string()).unwrap(), id);
    let error = parse_uuid("user_id", "nope").unwrap_err();
    assert!(error.to_string().contains("user_id"));
    let ids = parse_uuids("ids", &[id.to_string(), id.to_string()], 2).unwrap();
    assert_eq!(ids, [id]);
    assert!(parse_uuids("ids", &vec![id.to_string(); 3], 2).is_err());
}

#[test]
fn timestamps_round_trip() {
    let now = Utc::now();
    let back = from_timestamp("t", &timestamp(now)).unwrap();
    assert_eq!(back, now);
    assert!(from_timestamp("t", &prost_types::Timestamp { seconds: 0, nanos: -1 }).is_err());
}
