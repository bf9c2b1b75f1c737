//! When a failed attempt may be repeated, how long to wait first, and when not to retry at
//! all because the target is failing as a whole (gRFC A6 semantics).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tonic::{Code, Status};

use crate::rpc::{Idempotency, RetryBudget, RetryPolicy};

/// Whether the failed attempt never left this process or never reached the server: nothing
/// can have happened there, so even a non-idempotent call may be repeated.
///
/// tonic reports a failed connection as `UNAVAILABLE` with the connector's message (and no
/// source); the messages below are what hyper and tokio produce for refused, unreachable or
/// unresolvable targets. `tests/client/resilience.rs` pins this against a real closed port.
pub fn never_sent(status: &Status) -> bool {
    if status.code() != Code::Unavailable {
        return false;
    }
    let message = status.message();
    ["tcp connect error", "error trying to connect", "Connection refused", "dns error", "client error (Connect)"]
        .iter()
        .any(|marker| message.contains(marker))
}

/// hyper cancels the calls of a connection that closes, and tonic reports that as CANCELLED;
/// for the caller it is the target becoming unavailable (gRPC's code for a broken
/// connection). The request may have been sent, so it is not "never sent".
pub(crate) fn connection_lost_is_unavailable(status: Status) -> Status {
    // tonic reports a connection that broke under a call as CANCELLED or UNKNOWN ("transport
    // error"); gRPC calls both UNAVAILABLE.
    let from_transport = matches!(status.code(), Code::Cancelled | Code::Unknown)
        && std::error::Error::source(&status).is_some_and(|source| source.downcast_ref::<tonic::transport::Error>().is_some());
    if from_transport { Status::unavailable(format!("connection lost: {}", status.message())) } else { status }
}

/// Whether an attempt that failed with `status` may be retried: `UNAVAILABLE` only, and only
/// for idempotent RPCs unless nothing reached the server. Every other code is the server's
/// considered answer (or the caller's deadline) and is returned as is.
pub fn retryable(status: &Status, idempotency: Idempotency) -> bool {
    status.code() == Code::Unavailable && (idempotency.retry_safe() || never_sent(status))
}

/// Whether an attempt's status says the target is unhealthy (for the breaker and the retry
/// budget), as opposed to a normal answer such as `NOT_FOUND` or `INVALID_ARGUMENT`.
pub(crate) fn target_failure(status: &Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded | Code::Internal | Code::Unknown | Code::ResourceExhausted | Code::DataLoss)
}

/// The pause before retry number `retry` (1 for the first retry): full jitter, uniformly
/// random in `[0, min(initial * multiplier^(retry-1), max))`.
pub fn backoff(policy: &RetryPolicy, retry: u32, random_unit: f64) -> Duration {
    let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
    let ceiling = policy.initial_backoff.as_secs_f64() * policy.multiplier.powi(exponent);
    let ceiling = ceiling.min(policy.max_backoff.as_secs_f64()).max(0.0);
    Duration::from_secs_f64(ceiling * random_unit.clamp(0.0, 1.0))
}

/// gRFC A6 retry throttling, per target: failures cost a token, successes earn
/// `token_ratio`; retries stop while at most half the tokens are left.
#[derive(Debug)]
pub struct RetryThrottle {
    /// In thousandths of a token, as A6 specifies three decimal places.
    milli_tokens: AtomicI64,
    max_milli: i64,
    ratio_milli: i64,
}

impl RetryThrottle {
    /// A full bucket of `budget.max_tokens`.
    pub fn new(budget: RetryBudget) -> Self {
        let max_milli = i64::from(budget.max_tokens) * 1000;
        // Saturating float-to-int cast: ratios are small positive numbers.
        let ratio_milli = (budget.token_ratio * 1000.0).round() as i64;
        RetryThrottle { milli_tokens: AtomicI64::new(max_milli), max_milli, ratio_milli }
    }

    /// An attempt failed in a way that counts against the target: one token less.
    pub fn on_failure(&self) {
        let _ = self.milli_tokens.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| Some((t - 1000).max(0)));
    }

    /// An attempt succeeded: `token_ratio` tokens back, up to the maximum.
    pub fn on_success(&self) {
        let (max, ratio) = (self.max_milli, self.ratio_milli);
        let _ = self.milli_tokens.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| Some((t + ratio).min(max)));
    }

    /// Retries are allowed while more than half the tokens are left.
    pub fn allows_retry(&self) -> bool {
        self.milli_tokens.load(Ordering::Relaxed) * 2 > self.max_milli
    }

    /// The tokens left (for tests and diagnostics).
    pub fn tokens(&self) -> f64 {
        self.milli_tokens.load(Ordering::Relaxed) as f64 / 1000.0
    }
}
