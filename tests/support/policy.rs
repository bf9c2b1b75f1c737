//! RPC descriptors and target policies for tests that vary what the spec would say: the
//! runtime reads its behaviour from these, exactly as from generated ones.

use std::time::Duration;

use nova_runtime::rpc::{BreakerPolicy, CachePolicy, CallPolicy, Idempotency, RetryBudget, RetryPolicy, RpcDescriptor, TargetPolicy};

/// A breaker that never opens within a test (to observe retries alone).
pub const NO_BREAKER: BreakerPolicy = BreakerPolicy {
    window: 10_000,
    min_calls: 10_000,
    failure_rate_percent: 100.0,
    slow_call: Duration::from_secs(3600),
    slow_rate_percent: 100.0,
    open_for: Duration::from_secs(1),
    half_open_calls: 1,
};

pub const A6_BUDGET: RetryBudget = RetryBudget { max_tokens: 10, token_ratio: 0.1 };

/// Fast retries, so tests do not wait on backoff.
pub const QUICK_RETRY: RetryPolicy =
    RetryPolicy { max_attempts: 3, initial_backoff: Duration::from_millis(1), max_backoff: Duration::from_millis(5), multiplier: 2.0 };

pub fn target(breaker: BreakerPolicy) -> &'static TargetPolicy {
    named_target("auth", breaker)
}

/// A target whose name, unique to a test, labels its breaker and cache metrics (the calls
/// still go to whatever server the client's channel points at).
pub fn named_target(service: &'static str, breaker: BreakerPolicy) -> &'static TargetPolicy {
    Box::leak(Box::new(TargetPolicy { service, breaker, retry_budget: A6_BUDGET }))
}

/// A descriptor for the auth service's GetUser (or another method, whose name only labels
/// metrics and logs: the call itself is whatever the test's attempt closure sends).
pub fn rpc(
    method: &'static str,
    idempotency: Idempotency,
    deadline: Duration,
    retry: Option<RetryPolicy>,
    cache: Option<CachePolicy>,
) -> &'static RpcDescriptor {
    Box::leak(Box::new(RpcDescriptor {
        service: nova_auth::PROTO_SERVICE,
        method,
        owner: "auth",
        idempotency,
        policy: CallPolicy { deadline, retry, cache, fail_closed: false },
        schema: nova_auth::rpc::GET_USER.schema,
        access: nova_runtime::identity::AccessPolicy::PUBLIC,
    }))
}
