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
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub multiplier: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachePolicy {
    pub ttl: Duration,
}

/// How callers call one RPC, from specs/ownership.toml.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallPolicy {
    /// One deadline for the whole logical call, all attempts included.
    pub deadline: Duration,
    pub retry: Option<RetryPolicy>,
    pub cache: Option<CachePolicy>,
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
    pub idempotency: Idempotency,
    pub policy: CallPolicy,
}

impl RpcDescriptor {
    /// `/package.Service/Method`, the HTTP/2 path of the call.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.service, self.method)
    }
}
