//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use nova_runtime::client::{call_deadline, channel, endpoint_from_env, own_budget};
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
fn a_minimum_deadline_only_lengthens_a_calls_own_budget() {
    let policy = Duration::from_millis(200);
    assert_eq!(own_budget(policy, None), policy);
    assert_eq!(own_budget(policy, Some(Duration::from_secs(10))), Duration::from_secs(10));
    assert_eq!(own_budget(Duration::from_secs(30), Some(Duration::from_secs(10))), Duration::from_secs(30));
    // An inherited deadline still caps the lengthened budget.
    let now = Instant::now();
    let sooner = now + Duration::from_millis(100);
    assert_eq!(call_deadline(own_budget(policy, Some(Duration::from_secs(10))), Some(sooner), now), sooner);
}

#[test]
fn endpoints_default_to_loopback() {
    assert_eq!(endpoint_from_env("nonexistent_service_x", 50099).unwrap(), "http://127.0.0.1:50099");
    assert!(channel("not a uri").is_err());
}

#[tokio::test]
async fn clients_from_the_environment_need_tls_material_and_cache_in_redis() {
    static TARGET: nova_runtime::rpc::TargetPolicy = nova_runtime::rpc::TargetPolicy {
        service: "nonexistent_service_y",
        breaker: nova_runtime::rpc::BreakerPolicy {
            window: 10,
            min_calls: 5,
            failure_rate_percent: 50.0,
            slow_call: Duration::from_secs(1),
            slow_rate_percent: 100.0,
            open_for: Duration::from_secs(5),
            half_open_calls: 1,
        },
        retry_budget: nova_runtime::rpc::RetryBudget { max_tokens: 10, token_ratio: 0.1 },
    };
    // No NOVA_TLS_* in the test's environment and no NOVA_TLS=off: refused, naming what to set.
    let refused = nova_runtime::client::ClientCore::from_env(&TARGET, 50098).unwrap_err().to_string();
    assert!(refused.contains("NOVA_TLS_CA") && refused.contains("NOVA_TLS=off"), "{refused}");
    let options = nova_runtime::client::ClientOptions::from_env().unwrap();
    let from_env = nova_runtime::client::ClientCore::new(&TARGET, channel("http://127.0.0.1:50098").unwrap(), options);
    assert!(from_env.cache().unwrap().has_l2());
    let lazy = nova_runtime::client::ClientCore::connect_lazy(&TARGET, "http://127.0.0.1:50098").unwrap();
    assert!(!lazy.cache().unwrap().has_l2());
    assert_eq!(lazy.target(), "nonexistent_service_y");
}
