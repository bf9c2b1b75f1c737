//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use nova_runtime::client::{RetryThrottle, backoff, retryable};
use nova_runtime::rpc::{Idempotency, RetryBudget, RetryPolicy};
use tonic::{Code, Status};
const POLICY: RetryPolicy =
    RetryPolicy { max_attempts: 4, initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_millis(250), multiplier: 2.0 };

#[test]
fn backoff_is_full_jitter_under_an_exponential_cap() {
    assert_eq!(backoff(&POLICY, 1, 1.0), Duration::from_millis(100));
    assert_eq!(backoff(&POLICY, 2, 1.0), Duration::from_millis(200));
    assert_eq!(backoff(&POLICY, 3, 1.0), Duration::from_millis(250), "capped at max_backoff");
    assert_eq!(backoff(&POLICY, 3, 0.5), Duration::from_millis(125));
    assert_eq!(backoff(&POLICY, 1, 0.0), Duration::ZERO);
}

#[test]
fn only_unavailable_is_retried_and_only_when_safe() {
    let server_said = Status::unavailable("overloaded");
    assert!(retryable(&server_said, Idempotency::NoSideEffects));
    assert!(retryable(&server_said, Idempotency::Idempotent));
    assert!(!retryable(&server_said, Idempotency::Unknown), "the server may have acted");
    let refused = Status::unavailable("tcp connect error: Connection refused (os error 111)");
    assert!(retryable(&refused, Idempotency::Unknown), "nothing reached the server");
    for code in [Code::InvalidArgument, Code::DeadlineExceeded, Code::Cancelled, Code::Aborted, Code::NotFound, Code::Internal] {
        assert!(!retryable(&Status::new(code, "x"), Idempotency::NoSideEffects), "{code:?}");
    }
}

#[test]
fn throttle_follows_grfc_a6() {
    let throttle = RetryThrottle::new(RetryBudget { max_tokens: 10, token_ratio: 0.1 });
    assert!(throttle.allows_retry());
    for _ in 0..5 {
        throttle.on_failure();
    }
    assert_eq!(throttle.tokens(), 5.0);
    assert!(!throttle.allows_retry(), "at half the tokens retries stop");
    throttle.on_success();
    assert!(throttle.allows_retry());
    for _ in 0..100 {
        throttle.on_success();
    }
    assert_eq!(throttle.tokens(), 10.0, "never above max_tokens");
    for _ in 0..100 {
        throttle.on_failure();
    }
    assert_eq!(throttle.tokens(), 0.0, "never below zero");
}
