//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use nova_runtime::client::{call_deadline, channel, endpoint_from_env};
use tokio::time::Instant;
#[test]
fn inherited_deadlines_only_shorten() {
    let now = Instant::now();
    let policy = Duration::from_millis(300);
    assert_eq!(call_deadline(policy, None, now), now + policy);
    let sooner = now + Duration::from_millis(100);
    assert_eq!(call_deadline(policy, Some(sooner), now), sooner);
    let later = now + Duration::from_secs(5);
    assert_eq!(call_deadline(policy, Some(later), now), now + policy);
}

#[test]
fn endpoints_default_to_loopback() {
    assert_eq!(endpoint_from_env("nonexistent_service_x", 50099).unwrap(), "http://127.0.0.1:50099");
    assert!(channel("not a uri").is_err());
}
