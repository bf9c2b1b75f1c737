//! Static descriptions of RPCs, emitted by nova-gen as `const`s: the single source the
//! server wrapper and the client stack read their behaviour from.

use std::time::Duration;

/// protobuf's `idempotency_level`, as declared on the method in the .proto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// May have side effects; never repeated once it may have reached the server.
    Unknown,
    /// Repeating it has the effect of one call.
    Idempotent,
    /// A read: safe to repeat and to cache.
    NoSideEffects,
}

impl Idempotency {
    /// Whether a failed attempt may be retried even if the server may have seen it.
    pub fn retry_safe(self) -> bool {
        !matches!(self, Idempotency::Unknown)
    }
}

/// gRFC A6 retry parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (2..=5).
    pub max_attempts: u32,
    /// The ceiling of the first retry's random pause (see [`crate::client::backoff`]).
    pub initial_backoff: Duration,
    /// The largest ceiling any pause may have.
    pub max_backoff: Duration,
    /// How much the ceiling grows with each retry.
    pub multiplier: f64,
}

/// How generated clients cache the answers of a read, from the spec's cache settings; see
/// [`crate::client::cache`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachePolicy {
    /// How long a response is served without asking the owner again.
    pub ttl: Duration,
    /// How much longer an expired response may still be served when the owner cannot answer
    /// (unavailable, deadline exceeded, circuit open).
    pub stale_if_error: Duration,
}

/// Resilience4j-style circuit breaker settings for one target service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// Outcomes of the last `window` calls are kept (count-based sliding window).
    pub window: u32,
    /// No decision before this many calls are in the window.
    pub min_calls: u32,
    /// Opens when at least this percentage of the window failed.
    pub failure_rate_percent: f64,
    /// A call taking at least this long counts as slow...
    pub slow_call: Duration,
    /// ...and the breaker opens when at least this percentage of the window was slow.
    pub slow_rate_percent: f64,
    /// How long it stays open before letting probes through.
    pub open_for: Duration,
    /// Probes admitted half-open; their outcome closes or reopens the breaker.
    pub half_open_calls: u32,
}

/// gRFC A6 retry throttling for one target service: a token bucket that stops retries when
/// most recent calls fail, so an outage does not multiply the load on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    /// The bucket's size; it starts full, and retries stop at half of it.
    pub max_tokens: u32,
    /// Tokens earned back by each success (each failure costs one).
    pub token_ratio: f64,
}

/// How callers treat one target service as a whole.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetPolicy {
    /// The nova service, e.g. `auth`.
    pub service: &'static str,
    /// When calls to it fail fast without trying.
    pub breaker: BreakerPolicy,
    /// When retries to it stop.
    pub retry_budget: RetryBudget,
}

/// How callers call one RPC, from specs/ownership.toml.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallPolicy {
    /// One deadline for the whole logical call, all attempts included.
    pub deadline: Duration,
    /// How `UNAVAILABLE` attempts are retried; `None`: never.
    pub retry: Option<RetryPolicy>,
    /// How answers are cached; `None`: never (every call reaches the owner).
    pub cache: Option<CachePolicy>,
    /// An authorization decision or anything else that must not be answered from old data:
    /// a cached answer is never served stale when the owner fails (the call fails instead).
    pub fail_closed: bool,
}

/// One RPC of one service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RpcDescriptor {
    /// Fully qualified proto service, e.g. `nova.auth.v1.AuthService`.
    pub service: &'static str,
    /// e.g. `GetUser`.
    pub method: &'static str,
    /// The nova service that owns it, e.g. `auth`.
    pub owner: &'static str,
    /// What repeating it does: decides retries and caching.
    pub idempotency: Idempotency,
    /// How callers call it (deadline, retries, cache).
    pub policy: CallPolicy,
    /// Hash of the request and response message schemas: cached bytes written under one
    /// schema are never read under another.
    pub schema: u64,
    /// Who may call it (from the spec's `access`), checked by the server before the handler
    /// runs; also what a cached answer depends on.
    pub access: crate::identity::AccessPolicy,
}

impl RpcDescriptor {
    /// `/package.Service/Method`, the HTTP/2 path of the call.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.service, self.method)
    }
}
