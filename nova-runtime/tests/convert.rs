//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use chrono::Utc;
use nova_runtime::convert::{QUOTED_CHARS, from_timestamp, parse_uuid, parse_uuids, quote, text, timestamp};
use tonic::Code;
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
fn a_huge_invalid_id_is_quoted_by_a_short_prefix_and_its_length() {
    let huge = "é".repeat(1024 * 1024);
    let message = parse_uuid("user_id", &huge).unwrap_err().to_string();
    assert!(message.len() < 200, "{} bytes", message.len());
    assert!(message.starts_with("user_id must be a UUID, got \""), "{message}");
    assert!(message.ends_with(&format!("…\" ({} bytes)", huge.len())), "{message}");
}

#[test]
fn quotes_keep_short_input_whole_and_cut_long_input_on_a_character() {
    assert_eq!(quote("abc"), "\"abc\"");
    assert_eq!(quote("a\"b\n"), "\"a\\\"b\\n\"");
    let exact = "x".repeat(QUOTED_CHARS);
    assert_eq!(quote(&exact), format!("\"{exact}\""));
    let long = "ü".repeat(QUOTED_CHARS + 1);
    assert_eq!(quote(&long), format!("\"{}…\" ({} bytes)", "ü".repeat(QUOTED_CHARS), long.len()));
}

#[test]
fn text_fields_with_nul_are_invalid_arguments_naming_the_field() {
    assert_eq!(text("email", "a@b.c").unwrap(), "a@b.c");
    let error = text("email", "a\0@b.c").unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.to_string().contains("email") && error.to_string().contains("byte 1"), "{error}");
    assert_eq!(parse_uuid("user_id", "\0").unwrap_err().code(), Code::InvalidArgument);
}

#[test]
fn timestamps_round_trip() {
    let now = Utc::now();
    let back = from_timestamp("t", &timestamp(now)).unwrap();
    assert_eq!(back, now);
    assert!(from_timestamp("t", &prost_types::Timestamp { seconds: 0, nanos: -1 }).is_err());
}
