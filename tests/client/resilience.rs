//! The client stack against a real tonic server on loopback whose logic injects faults:
//! retry amplification, which codes are retried, deadlines, and the circuit breaker.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::client::{BreakerState, ClientCore, ClientOptions, never_sent};
use nova_runtime::rpc::{BreakerPolicy, CallPolicy, Idempotency, RpcDescriptor, TargetPolicy};
use nova_tests::policy::{NO_BREAKER, QUICK_RETRY, rpc, target};
use nova_tests::scripted::{Gate, Hold, SERVER_CODES, Script};
use nova_tests::{Scripted, start_scripted};
use tokio::time::Instant;
use tonic::{Code, Status};

fn core(policy: &'static TargetPolicy, uri: &str) -> ClientCore {
    ClientCore::new(policy, nova_runtime::client::channel(uri).unwrap(), ClientOptions { cache: None, ..Default::default() })
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
    // A deadline no loaded machine runs into: this test is about attempts, not time.
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(30), Some(QUICK_RETRY), None);

    // The retry budget alone (breaker out of the way).
    let client = core(target(NO_BREAKER), &server.uri());
    let calls = 300;
    for _ in 0..calls {
        assert_eq!(get_user(&client, read).await.unwrap_err().code(), Code::Unavailable);
    }
    let amplification = scripted.calls() as f64 / f64::from(calls);
    assert!(amplification <= 1.1, "{amplification} attempts per call during a total outage");

    // The whole stack as generated (its breaker, retry budget and GetUser retry policy; only
    // the deadline is longer): the breaker opens and most calls never leave the client.
    let before = scripted.calls();
    let generated = core(&nova_auth::rpc::TARGET, &server.uri());
    let generated_read =
        RpcDescriptor { policy: CallPolicy { deadline: Duration::from_secs(30), ..nova_auth::rpc::GET_USER.policy }, ..nova_auth::rpc::GET_USER };
    let generated_read: &'static RpcDescriptor = Box::leak(Box::new(generated_read));
    for _ in 0..calls {
        assert_eq!(get_user(&generated, generated_read).await.unwrap_err().code(), Code::Unavailable);
    }
    let amplification = (scripted.calls() - before) as f64 / f64::from(calls);
    assert!(amplification <= 0.1, "{amplification} attempts per call with the breaker");
    assert_eq!(generated.breaker_state(), BreakerState::Open);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn ten_percent_failures_cost_at_most_twenty_percent_more_attempts() {
    let scripted = Scripted::default();
    scripted.set(Script { fail_with: Some(Code::Unavailable), fail_ratio: 0.1, ..Script::default() });
    let server = start_scripted(&scripted).await;
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(30), Some(QUICK_RETRY), None);
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
        let descriptor = rpc("Register", idempotency, Duration::from_secs(30), Some(QUICK_RETRY), None);
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
    let write = rpc("RegisterToNowhere", Idempotency::Unknown, Duration::from_secs(30), Some(QUICK_RETRY), None);
    let status = register(&client, write).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(never_sent(&status), "a refused connection is recognised as never sent: {:?}", status.message());
    let text = nova_runtime::metrics::render();
    let attempts = nova_tests::metrics::sum(&text, "grpc_client_attempts_total", &[("grpc_method", "RegisterToNowhere")]);
    assert_eq!(attempts, 3.0, "nothing reached a server, so the non-idempotent call was retried");
}

/// How long calls take against the clock is asserted on a paused clock without a network
/// (nova-runtime/tests/client_calls.rs); over real gRPC this checks what a deadline means on
/// the wire: the code the caller gets, and the `grpc-timeout` the server receives.
#[tokio::test]
async fn an_expired_call_fails_with_deadline_exceeded_and_downstream_gets_only_the_time_left() {
    let scripted = Scripted::default();
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::all(&gate)), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let client = core(target(NO_BREAKER), &server.uri());
    let deadline = Duration::from_millis(150);
    let read = rpc("GetUser", Idempotency::NoSideEffects, deadline, Some(QUICK_RETRY), None);
    for _ in 0..10 {
        assert_eq!(get_user(&client, read).await.unwrap_err().code(), Code::DeadlineExceeded);
    }
    assert!(scripted.calls() <= 10, "a deadline is not retried");
    for sent in scripted.deadlines() {
        assert!(sent.is_some_and(|left| left <= deadline), "grpc-timeout {sent:?} exceeds {deadline:?}");
    }
    // Called while serving a request with 2 s left: that is all the dependency is given, even
    // though its own policy allows 5 s.
    let generous = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(5), None, None);
    let before = scripted.calls();
    let inherited = Instant::now() + Duration::from_secs(2);
    let call = tokio::spawn({
        let client = client.clone();
        nova_runtime::context::with_deadline(Some(inherited), async move { get_user(&client, generous).await })
    });
    scripted.wait_for_calls(before + 1).await;
    gate.open();
    call.await.unwrap().unwrap();
    let sent = scripted.deadlines()[usize::try_from(before).unwrap()].unwrap();
    assert!(sent <= Duration::from_secs(2), "{sent:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_server_calling_another_passes_on_only_the_time_it_has_left() {
    let downstream = Scripted::default();
    // The generated client's GetUser answers from GetUsersByIds: the forwarded id must exist.
    downstream.put_user("forwarded", "someone");
    let downstream_server = start_scripted(&downstream).await;
    let middle = Scripted::default();
    let forward = nova_auth::AuthClient::connect_lazy(&downstream_server.uri()).unwrap();
    let middle_server = start_scripted(&middle).await;
    let client = core(target(NO_BREAKER), &middle_server.uri());
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(1), None, None);
    get_user(&client, read).await.unwrap(); // connect first: the call below has time to spare
    // The middle works 850 ms, then calls downstream with what is left of the caller's 1 s:
    // less than the 200 ms GetUser policy would allow.
    let work = Duration::from_millis(850);
    middle.set(Script { delay: work, forward_to: Some(forward), ..Script::default() });
    let outcome = get_user(&client, read).await;
    let arrived_with = middle.deadlines()[1].unwrap();
    assert!(arrived_with <= Duration::from_secs(1));
    // On a loaded machine the call may reach the middle so late that nothing is left after
    // the work: then nothing is sent downstream and the caller gets DEADLINE_EXCEEDED.
    assert!(outcome.as_ref().map_or_else(|status| status.code() == Code::DeadlineExceeded, |_| true), "{outcome:?}");
    match downstream.deadlines().first() {
        Some(passed_on) => {
            let passed_on = passed_on.unwrap();
            assert!(passed_on + work <= arrived_with, "downstream was given {passed_on:?} of the {arrived_with:?} left before {work:?} of work");
            assert!(passed_on <= nova_auth::rpc::GET_USER.policy.deadline, "never more than its own policy: {passed_on:?}");
        }
        None => assert!(outcome.is_err(), "the middle answered without calling downstream"),
    }
    middle_server.stop().await.unwrap();
    downstream_server.stop().await.unwrap();
}

const SMALL_BREAKER: BreakerPolicy = BreakerPolicy {
    window: 4,
    min_calls: 4,
    failure_rate_percent: 50.0,
    slow_call: Duration::from_secs(10),
    slow_rate_percent: 100.0,
    open_for: Duration::from_secs(30),
    half_open_calls: 2,
};

/// Moves Tokio's clock past a breaker's open period at once (the breaker reads Tokio's
/// clock): deterministic where sleeping would be a bet on the scheduler.
async fn skip(duration: Duration) {
    tokio::time::pause();
    tokio::time::advance(duration).await;
    tokio::time::resume();
}

/// Opens `client`'s breaker with four failed calls; returns the calls the server saw.
async fn open_the_breaker(client: &ClientCore, scripted: &Scripted, read: &'static RpcDescriptor) -> u64 {
    scripted.set(Script { fail_with: Some(Code::Unavailable), fail_ratio: 1.0, ..Script::default() });
    for _ in 0..4 {
        assert_eq!(get_user(client, read).await.unwrap_err().code(), Code::Unavailable);
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);
    scripted.calls()
}

#[tokio::test]
async fn the_breaker_opens_rejects_without_network_probes_and_closes() {
    let scripted = Scripted::default();
    let server = start_scripted(&scripted).await;
    let client = core(target(SMALL_BREAKER), &server.uri());
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(5), None, None);
    let reached = open_the_breaker(&client, &scripted, read).await;
    for _ in 0..200 {
        let status = get_user(&client, read).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.message().contains("circuit breaker"), "{}", status.message());
    }
    assert_eq!(scripted.calls(), reached, "an open breaker never touches the network");

    // Half-open: exactly the configured probes go through, then success closes it.
    skip(SMALL_BREAKER.open_for).await;
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::all(&gate)), ..Script::default() });
    let probes: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn({
                let client = client.clone();
                async move { get_user(&client, read).await }
            })
        })
        .collect();
    scripted.wait_for_calls(reached + 2).await;
    for _ in 0..4 {
        assert!(get_user(&client, read).await.unwrap_err().message().contains("circuit breaker"), "only two probes");
    }
    gate.open();
    for probe in probes {
        probe.await.unwrap().unwrap();
    }
    assert_eq!(scripted.calls(), reached + 2);
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    get_user(&client, read).await.unwrap();
    assert_eq!(scripted.calls(), reached + 3);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn half_open_probes_cancelled_mid_call_do_not_wedge_the_breaker() {
    let scripted = Scripted::default();
    let server = start_scripted(&scripted).await;
    let client = core(target(SMALL_BREAKER), &server.uri());
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(30), None, None);
    let reached = open_the_breaker(&client, &scripted, read).await;
    skip(SMALL_BREAKER.open_for).await;
    // Both probes reach the server and are held there; then their callers give up.
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::first(reached + 2, &gate)), ..Script::default() });
    let probes: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn({
                let client = client.clone();
                async move { get_user(&client, read).await }
            })
        })
        .collect();
    scripted.wait_for_calls(reached + 2).await;
    assert!(get_user(&client, read).await.unwrap_err().message().contains("circuit breaker"));
    for probe in &probes {
        probe.abort();
    }
    for probe in probes {
        assert!(probe.await.unwrap_err().is_cancelled());
    }
    // Their slots came back: two new probes are admitted, succeed, and close the breaker.
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    get_user(&client, read).await.unwrap();
    get_user(&client, read).await.unwrap();
    assert_eq!(scripted.calls(), reached + 4);
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    gate.open();
    server.stop().await.unwrap();
}
