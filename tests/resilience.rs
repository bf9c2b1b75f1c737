//! The client stack against a real tonic server on loopback whose logic injects faults:
//! retry amplification, which codes are retried, deadlines, and the circuit breaker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::client::{BreakerState, ClientCore, ClientOptions, never_sent};
use nova_runtime::rpc::{BreakerPolicy, Idempotency, RpcDescriptor, TargetPolicy};
use nova_tests::policy::{NO_BREAKER, QUICK_RETRY, rpc, target};
use nova_tests::scripted::{SERVER_CODES, Script};
use nova_tests::{Scripted, start_scripted};
use tokio::time::Instant;
use tonic::{Code, Status};

fn core(policy: &'static TargetPolicy, uri: &str) -> ClientCore {
    ClientCore::new(policy, nova_runtime::client::channel(uri).unwrap(), ClientOptions { cache: None })
}

async fn get_user(core: &ClientCore, rpc: &'static RpcDescriptor) -> Result<pb::GetUserResponse, Status> {
    let request = pb::GetUserRequest { user_id: "u1".into() };
    core.unary(rpc, request, |r| vec![r.user_id.clone()], |channel, request| async move { AuthServiceClient::new(channel).get_user(request).await })
        .await
}

async fn register(core: &ClientCore, rpc: &'static RpcDescriptor) -> Result<pb::RegisterResponse, Status> {
    let request = pb::RegisterRequest { email: "a@b.c".into(), username: "abc".into(), password: "correct horse".into() };
    core.unary(rpc, request, |_| Vec::new(), |channel, request| async move { AuthServiceClient::new(channel).register(request).await }).await
}

#[tokio::test]
async fn a_total_outage_is_not_multiplied_by_retries() {
    let scripted = Scripted::default();
    scripted.set(Script { fail_with: Some(Code::Unavailable), fail_ratio: 1.0, ..Script::default() });
    let server = start_scripted(&scripted).await;
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(1), Some(QUICK_RETRY), None);

    // The retry budget alone (breaker out of the way).
    let client = core(target(NO_BREAKER), &server.uri());
    let calls = 300;
    for _ in 0..calls {
        assert_eq!(get_user(&client, read).await.unwrap_err().code(), Code::Unavailable);
    }
    let amplification = scripted.calls() as f64 / f64::from(calls);
    assert!(amplification <= 1.1, "{amplification} attempts per call during a total outage");

    // The whole stack as generated: the breaker opens and most calls never leave the client.
    let before = scripted.calls();
    let generated = nova_auth::AuthClient::connect_lazy(&server.uri()).unwrap();
    for _ in 0..calls {
        assert_eq!(generated.get_user(pb::GetUserRequest { user_id: "u1".into() }).await.unwrap_err().code(), Code::Unavailable);
    }
    let amplification = (scripted.calls() - before) as f64 / f64::from(calls);
    assert!(amplification <= 0.1, "{amplification} attempts per call with the breaker");
    assert_eq!(generated.core().breaker_state(), BreakerState::Open);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn ten_percent_failures_cost_at_most_twenty_percent_more_attempts() {
    let scripted = Scripted::default();
    scripted.set(Script { fail_with: Some(Code::Unavailable), fail_ratio: 0.1, ..Script::default() });
    let server = start_scripted(&scripted).await;
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(1), Some(QUICK_RETRY), None);
    let client = core(target(NO_BREAKER), &server.uri());
    let calls: u32 = 1000;
    let mut succeeded: u32 = 0;
    for _ in 0..calls {
        succeeded += u32::from(get_user(&client, read).await.is_ok());
    }
    let amplification = scripted.calls() as f64 / f64::from(calls);
    assert!(amplification <= 1.2, "{amplification} attempts per call at 10 % failures");
    // 10 % is where gRFC A6's default budget (ratio 0.1) balances: failures are retried while
    // tokens last, so retries happened and rescued calls, but not every one.
    assert!(amplification > 1.02, "failed calls were retried ({amplification})");
    let retries = scripted.calls() - u64::from(calls);
    assert!(u64::from(succeeded) > 900 + retries / 2, "{succeeded} of {calls} succeeded with {retries} retries");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn only_unavailable_is_retried_and_only_when_safe() {
    let scripted = Scripted::default();
    let server = start_scripted(&scripted).await;
    for idempotency in [Idempotency::Unknown, Idempotency::Idempotent, Idempotency::NoSideEffects] {
        let descriptor = rpc("Register", idempotency, Duration::from_secs(1), Some(QUICK_RETRY), None);
        for code in SERVER_CODES {
            // A fresh client each time: earlier failures must not spend this case's retry budget.
            let client = core(target(NO_BREAKER), &server.uri());
            let before = scripted.calls();
            scripted.set(Script { fail_with: Some(code), fail_first: Some(before + 1), ..Script::default() });
            let result = register(&client, descriptor).await;
            let attempts = scripted.calls() - before;
            let retried = code == Code::Unavailable && idempotency != Idempotency::Unknown;
            assert_eq!(attempts, if retried { 2 } else { 1 }, "{code:?} on a {idempotency:?} RPC");
            match result {
                Ok(_) => assert!(retried, "{code:?} on {idempotency:?} succeeded without a retry"),
                Err(status) => {
                    assert!(!retried);
                    assert_eq!(status.code(), code);
                }
            }
        }
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_write_that_never_reached_the_server_is_retried() {
    let closed = nova_tests::proxy::closed_port().await;
    let client = core(target(NO_BREAKER), &format!("http://{closed}"));
    let write = rpc("RegisterToNowhere", Idempotency::Unknown, Duration::from_secs(2), Some(QUICK_RETRY), None);
    let status = register(&client, write).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(never_sent(&status), "a refused connection is recognised as never sent: {:?}", status.message());
    let text = nova_runtime::metrics::render();
    let attempts = nova_tests::metrics::sum(&text, "grpc_client_attempts_total", &[("grpc_method", "RegisterToNowhere")]);
    assert_eq!(attempts, 3.0, "nothing reached a server, so the non-idempotent call was retried");
}

#[tokio::test]
async fn no_call_outlives_its_deadline_and_downstream_gets_only_the_time_left() {
    let scripted = Scripted::default();
    scripted.set(Script { delay: Duration::from_secs(2), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let client = core(target(NO_BREAKER), &server.uri());
    let deadline = Duration::from_millis(150);
    let read = rpc("GetUser", Idempotency::NoSideEffects, deadline, Some(QUICK_RETRY), None);
    for _ in 0..10 {
        let started = Instant::now();
        let status = get_user(&client, read).await.unwrap_err();
        let elapsed = started.elapsed();
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert!(elapsed < deadline + Duration::from_millis(25), "took {elapsed:?} with a {deadline:?} deadline");
    }
    for sent in scripted.deadlines() {
        assert!(sent.is_some_and(|left| left <= deadline), "grpc-timeout {sent:?} exceeds {deadline:?}");
    }
    // Called while serving a request with 80 ms left: that is all the dependency is given.
    let before = scripted.deadlines().len();
    let inherited = Instant::now() + Duration::from_millis(80);
    let started = Instant::now();
    let status = nova_runtime::context::with_deadline(Some(inherited), get_user(&client, read)).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_millis(80 + 25));
    let sent = scripted.deadlines()[before].unwrap();
    assert!(sent <= Duration::from_millis(80), "{sent:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_server_calling_another_passes_on_only_the_time_it_has_left() {
    let downstream = Scripted::default();
    let downstream_server = start_scripted(&downstream).await;
    let middle = Scripted::default();
    let forward = nova_auth::AuthClient::connect_lazy(&downstream_server.uri()).unwrap();
    middle.set(Script { delay: Duration::from_millis(100), forward_to: Some(forward), ..Script::default() });
    let middle_server = start_scripted(&middle).await;
    let client = core(target(NO_BREAKER), &middle_server.uri());
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_millis(250), None, None);
    get_user(&client, read).await.unwrap();
    let arrived_with = middle.deadlines()[0].unwrap();
    let passed_on = downstream.deadlines()[0].unwrap();
    assert!(arrived_with <= Duration::from_millis(250));
    // 250 ms minus the 100 ms spent in the middle: well under the 200 ms GetUser policy.
    assert!(passed_on <= Duration::from_millis(150), "downstream was given {passed_on:?}");
    assert!(passed_on >= Duration::from_millis(100), "downstream was given {passed_on:?}");
    middle_server.stop().await.unwrap();
    downstream_server.stop().await.unwrap();
}

const SMALL_BREAKER: BreakerPolicy = BreakerPolicy {
    window: 4,
    min_calls: 4,
    failure_rate_percent: 50.0,
    slow_call: Duration::from_secs(10),
    slow_rate_percent: 100.0,
    open_for: Duration::from_millis(300),
    half_open_calls: 2,
};

#[tokio::test]
async fn the_breaker_opens_rejects_without_network_probes_and_closes() {
    let scripted = Scripted::default();
    scripted.set(Script { fail_with: Some(Code::Unavailable), fail_ratio: 1.0, ..Script::default() });
    let server = start_scripted(&scripted).await;
    let client = core(target(SMALL_BREAKER), &server.uri());
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(1), None, None);
    for _ in 0..4 {
        assert_eq!(get_user(&client, read).await.unwrap_err().code(), Code::Unavailable);
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);
    let reached = scripted.calls();
    let mut rejections = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let status = get_user(&client, read).await.unwrap_err();
        rejections.push(started.elapsed());
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.message().contains("circuit breaker"), "{}", status.message());
    }
    assert_eq!(scripted.calls(), reached, "an open breaker never touches the network");
    rejections.sort();
    let median = rejections[rejections.len() / 2];
    assert!(median < Duration::from_millis(1), "rejections take {median:?}");

    // Half-open: exactly the configured probes go through, then success closes it.
    tokio::time::sleep(SMALL_BREAKER.open_for).await;
    scripted.set(Script { delay: Duration::from_millis(100), ..Script::default() });
    let concurrent: Vec<_> = (0..6).map(|_| get_user(&client, read)).collect();
    let results = futures_util::future::join_all(concurrent).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2, "two probes admitted");
    assert_eq!(scripted.calls(), reached + 2);
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    get_user(&client, read).await.unwrap();
    assert_eq!(scripted.calls(), reached + 3);
    server.stop().await.unwrap();
}
