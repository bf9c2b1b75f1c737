//! Single flight through the client stack, against a real server over gRPC and the real
//! Redis: concurrent misses make one upstream call, callers that give up leave nothing
//! behind, and followers are not held to the leader's deadline.
//!
//! Calls are kept in flight by the scripted server's gate, and the test waits for the events
//! it needs (calls arriving, callers joining the load: `grpc_client_cache_coalesced_total` on
//! a target name only this test uses), never for time to pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::client::{ClientCore, ClientOptions};
use nova_runtime::rpc::{CachePolicy, Idempotency, RpcDescriptor};
use nova_tests::cache_probe::{target_metric, unique_target, until, until_l1_trusted};
use nova_tests::policy::{NO_BREAKER, named_target, rpc};
use nova_tests::redis_prefix::RedisPrefix;
use nova_tests::scripted::{Gate, Hold};
use nova_tests::{Script, Scripted, start_scripted};
use tonic::{Code, Status};

const LONG: CachePolicy = CachePolicy { ttl: Duration::from_secs(3600), stale_if_error: Duration::from_secs(3600) };

fn read(deadline: Duration) -> &'static RpcDescriptor {
    rpc("GetUser", Idempotency::NoSideEffects, deadline, None, Some(LONG))
}

async fn get_user(core: &ClientCore, descriptor: &'static RpcDescriptor, id: &str) -> Result<String, Status> {
    let request = pb::GetUserRequest { user_id: id.to_string() };
    let response = core
        .unary(
            descriptor,
            request,
            |r| vec![r.user_id.clone()],
            |channel, request| async move { AuthServiceClient::new(channel).get_user(request).await },
        )
        .await?;
    Ok(response.user.unwrap_or_default().username)
}

/// A client of the scripted server whose metrics carry a target name unique to the test,
/// caching in L1 and the test's own Redis prefix; its L1 is in use before it returns.
async fn core(uri: &str, redis: &RedisPrefix, target: &'static str) -> ClientCore {
    let channel = nova_runtime::client::channel(uri).unwrap();
    let core = ClientCore::new(named_target(target, NO_BREAKER), channel, ClientOptions { cache: Some(redis.cache_config()), ..Default::default() });
    until_l1_trusted(core.cache().unwrap()).await;
    core
}

async fn until_joined(target: &str, followers: f64) {
    until("every follower joined the load", || async { target_metric("grpc_client_cache_coalesced_total", target) >= followers }).await;
    assert_eq!(target_metric("grpc_client_cache_coalesced_total", target), followers);
}

#[tokio::test]
async fn a_thousand_concurrent_misses_make_one_upstream_call() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::all(&gate)), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let target = unique_target("sf-thousand");
    let client = core(&server.uri(), &redis, target).await;
    let callers: Vec<_> = (0..1000)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_user(&client, read(Duration::from_secs(30)), "u1").await })
        })
        .collect();
    scripted.wait_for_calls(1).await;
    until_joined(target, 999.0).await;
    gate.open();
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap(), "ada");
    }
    assert_eq!(scripted.calls(), 1);
    assert_eq!(client.cache().unwrap().stats().await.loads_in_flight, 0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_thousand_callers_of_which_999_give_up_make_one_call_and_leave_nothing_in_flight() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::first(1, &gate)), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let target = unique_target("sf-cancelled");
    let client = core(&server.uri(), &redis, target).await;
    let mut callers: Vec<_> = (0..1000)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get_user(&client, read(Duration::from_secs(30)), "u1").await })
        })
        .collect();
    scripted.wait_for_calls(1).await;
    until_joined(target, 999.0).await;
    // Mid-load, every caller but the last gives up (the one that started the load among them).
    let survivor = callers.pop().unwrap();
    for caller in &callers {
        caller.abort();
    }
    for caller in callers {
        assert!(caller.await.unwrap_err().is_cancelled());
    }
    assert_eq!(client.cache().unwrap().stats().await.loads_in_flight, 1, "the load goes on without them");
    gate.open();
    assert_eq!(survivor.await.unwrap().unwrap(), "ada");
    assert_eq!(scripted.calls(), 1, "exactly one upstream call");
    // The load removed its entry before it answered: nothing is left for a later caller to join.
    assert_eq!(client.cache().unwrap().stats().await.loads_in_flight, 0);
    assert_eq!(target_metric("grpc_client_cache_loads_in_flight", target), 0.0);

    // The next call after an invalidation sees the new value.
    scripted.put_user("u1", "ada lovelace");
    client.invalidate_entity("u1").await;
    assert_eq!(get_user(&client, read(Duration::from_secs(30)), "u1").await.unwrap(), "ada lovelace");
    assert_eq!(scripted.calls(), 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_follower_with_a_1s_deadline_behind_a_leader_with_10ms_succeeds() {
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    // The leader's call (if it gets there before its 10 ms are up) is held until the end of the
    // test; the follower's is answered at once.
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::deadlines_under(Duration::from_millis(100), &gate)), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let target = unique_target("sf-follower");
    let channel = nova_runtime::client::channel(&server.uri()).unwrap();
    // In process only: no Redis round trip before the load, so that `join!` below starts the
    // leader's load and the follower joins it in the same poll, before any timer can fire.
    let client = ClientCore::new(named_target(target, NO_BREAKER), channel, ClientOptions::in_process());
    let leader = get_user(&client, read(Duration::from_millis(10)), "u1");
    let follower = get_user(&client, read(Duration::from_secs(1)), "u1");
    let (leader, follower) = tokio::join!(leader, follower);
    assert_eq!(leader.unwrap_err().code(), Code::DeadlineExceeded);
    assert_eq!(follower.unwrap(), "ada", "the follower had its own second");
    assert_eq!(target_metric("grpc_client_cache_coalesced_total", target), 1.0, "the follower had joined the leader's load");
    // The follower's own call, after the leader's (held) one, if the leader's got that far:
    // on a loaded machine 10 ms may not suffice to reach the server.
    assert!((1..=2).contains(&scripted.calls()), "{} calls", scripted.calls());
    gate.open();
    server.stop().await.unwrap();
}
