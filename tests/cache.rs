//! The response cache of generated clients, against a real server and the real Redis: L1 and
//! L2 hits, single flight, invalidation (by key, by entity, across instances, racing an
//! in-flight load), stale-if-error with the dependency down, and Redis outages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_auth::{AuthClient, pb};
use nova_runtime::client::{CacheConfig, ClientCore, ClientOptions, Level, Lookup, RedisConfig};
use nova_runtime::codegen::prost::Message as _;
use nova_runtime::rpc::{BreakerPolicy, CachePolicy, Idempotency, RpcDescriptor};
use nova_tests::policy::{QUICK_RETRY, rpc, target};
use nova_tests::proxy::{Mode, Proxy, closed_port};
use nova_tests::redis_prefix::RedisPrefix;
use nova_tests::{Script, Scripted, start_scripted};
use tokio::time::Instant;
use tonic::Code;

fn client(uri: &str, cache: CacheConfig) -> AuthClient {
    AuthClient::with_options(nova_runtime::client::channel(uri).unwrap(), ClientOptions { cache: Some(cache) })
}

fn by_id(id: &str) -> pb::GetUserRequest {
    pb::GetUserRequest { user_id: id.to_string() }
}

async fn name_of(client: &AuthClient, id: &str) -> String {
    client.get_user(by_id(id)).await.unwrap().user.unwrap().username
}

async fn lookup(client: &AuthClient, id: &str) -> Lookup {
    let cache = client.core().cache().unwrap();
    let key = cache.key(&nova_auth::rpc::GET_USER, &by_id(id).encode_to_vec(), &[id.to_string()]);
    cache.lookup(&key).await
}

#[tokio::test]
async fn repeated_reads_come_from_l1_and_other_instances_find_l2() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    let first = client(&server.uri(), redis.cache_config());
    assert_eq!(name_of(&first, "u1").await, "ada");
    assert_eq!(name_of(&first, "u1").await, "ada");
    assert_eq!(scripted.calls(), 1, "the second call was served from L1");
    assert!(matches!(lookup(&first, "u1").await, Lookup::Fresh(_, Level::L1)));

    let second = client(&server.uri(), redis.cache_config());
    assert!(matches!(lookup(&second, "u1").await, Lookup::Fresh(_, Level::L2)), "a new instance finds the entry in Redis");
    assert_eq!(name_of(&second, "u1").await, "ada");
    assert!(matches!(lookup(&second, "u1").await, Lookup::Fresh(_, Level::L1)), "and keeps it in its own L1");
    assert_eq!(scripted.calls(), 1);
    let text = nova_runtime::metrics::render();
    assert!(
        nova_tests::metrics::sum(&text, "grpc_client_cache_requests_total", &[("grpc_method", "GetUser"), ("level", "l1"), ("result", "hit")]) >= 1.0
    );
    assert!(redis.key_count() >= 1, "the entry is in Redis under the test's prefix");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_thousand_concurrent_misses_make_one_upstream_call() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    scripted.set(Script { delay: Duration::from_millis(100), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let client = client(&server.uri(), redis.cache_config());
    let calls: Vec<_> = (0..1000).map(|_| client.get_user(by_id("u1"))).collect();
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|r| r.user.as_ref().is_some_and(|u| u.username == "ada"))));
    assert_eq!(scripted.calls(), 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_invalidation_is_never_undone_by_an_in_flight_load() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "old");
    scripted.set(Script { delay: Duration::from_millis(150), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let reader = client(&server.uri(), redis.cache_config());
    let in_flight = tokio::spawn({
        let reader = reader.clone();
        async move { name_of(&reader, "u1").await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(scripted.calls(), 1, "the load is at the server");
    // The owner changes the user and invalidates while that load is still in flight.
    scripted.put_user("u1", "new");
    reader.invalidate_get_user(&by_id("u1")).await;
    assert_eq!(in_flight.await.unwrap(), "old", "the in-flight call answers what it read");

    assert_eq!(name_of(&reader, "u1").await, "new", "L1 did not keep the old value");
    assert_eq!(scripted.calls(), 2);
    let other = client(&server.uri(), redis.cache_config());
    assert_eq!(name_of(&other, "u1").await, "new", "L2 did not keep the old value");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn invalidating_an_entity_drops_every_response_about_it_in_every_instance() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    scripted.put_user("u2", "bob");
    let server = start_scripted(&scripted).await;
    let one = client(&server.uri(), redis.cache_config());
    let two = client(&server.uri(), redis.cache_config());
    name_of(&one, "u1").await;
    name_of(&one, "u2").await;
    one.get_users_by_ids(pb::GetUsersByIdsRequest { user_ids: vec!["u1".into(), "u2".into()] }).await.unwrap();
    name_of(&two, "u1").await;
    assert_eq!(scripted.calls(), 3, "the second instance found u1 in L2");

    scripted.put_user("u1", "ada lovelace");
    one.invalidate_entity("u1").await;
    assert_eq!(name_of(&one, "u1").await, "ada lovelace");
    let batch = one.get_users_by_ids(pb::GetUsersByIdsRequest { user_ids: vec!["u1".into(), "u2".into()] }).await.unwrap();
    assert_eq!(batch.users[0].username, "ada lovelace", "the batch naming u1 was dropped too");
    assert_eq!(name_of(&one, "u2").await, "bob");
    assert_eq!(scripted.calls(), 5, "u2 alone stayed cached");

    // The other instance hears of it through Redis and stops serving its L1 copy.
    let deadline = Instant::now() + Duration::from_secs(2);
    while name_of(&two, "u1").await != "ada lovelace" {
        assert!(Instant::now() < deadline, "the invalidation never reached the other instance");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await.unwrap();
}

const FAST_BREAKER: BreakerPolicy = BreakerPolicy {
    window: 4,
    min_calls: 2,
    failure_rate_percent: 50.0,
    slow_call: Duration::from_secs(10),
    slow_rate_percent: 100.0,
    open_for: Duration::from_secs(30),
    half_open_calls: 1,
};

async fn get_user(core: &ClientCore, descriptor: &'static RpcDescriptor, id: &str) -> Result<pb::GetUserResponse, tonic::Status> {
    core.unary(
        descriptor,
        by_id(id),
        |r| vec![r.user_id.clone()],
        |channel, request| async move { AuthServiceClient::new(channel).get_user(request).await },
    )
    .await
}

#[tokio::test]
async fn with_the_owner_down_cached_keys_are_served_stale_and_others_fail_fast() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    let proxy = Proxy::start(server.addr).await;
    let policy = CachePolicy { ttl: Duration::from_millis(100), stale_if_error: Duration::from_millis(1500) };
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_millis(300), Some(QUICK_RETRY), Some(policy));
    let core = ClientCore::new(
        target(FAST_BREAKER),
        nova_runtime::client::channel(&proxy.uri()).unwrap(),
        ClientOptions { cache: Some(redis.cache_config()) },
    );
    assert_eq!(get_user(&core, read, "u1").await.unwrap().user.unwrap().username, "ada");

    // The owner goes away; the entry expires but stays within its stale window.
    proxy.set(Mode::Reset);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stale = get_user(&core, read, "u1").await.unwrap();
    assert_eq!(stale.user.unwrap().username, "ada", "served stale while the owner is down");
    for _ in 0..3 {
        assert_eq!(get_user(&core, read, "u9").await.unwrap_err().code(), Code::Unavailable);
    }
    assert_eq!(core.breaker_state(), nova_runtime::client::BreakerState::Open);
    let started = Instant::now();
    assert_eq!(get_user(&core, read, "u9").await.unwrap_err().code(), Code::Unavailable);
    assert!(started.elapsed() < Duration::from_millis(5), "uncached keys fail fast: {:?}", started.elapsed());
    let started = Instant::now();
    assert_eq!(get_user(&core, read, "u1").await.unwrap().user.unwrap().username, "ada");
    assert!(started.elapsed() < Duration::from_millis(50), "the stale answer does not wait on the owner");

    // Past the stale window nothing is left to serve.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(get_user(&core, read, "u1").await.unwrap_err().code(), Code::Unavailable);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn redis_down_degrades_to_l1_and_upstream() {
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    // A Redis that accepts connections and never answers (the worst case: only timeouts tell).
    let silent = Proxy::start(closed_port().await).await;
    silent.set(Mode::Blackhole);
    {
        let config = CacheConfig {
            redis: Some(RedisConfig::new(format!("redis://{}", silent.addr))),
            key_prefix: "nova-test-down".into(),
            ..CacheConfig::default()
        };
        let down = client(&server.uri(), config);
        let before = scripted.calls();
        let started = Instant::now();
        assert_eq!(name_of(&down, "u1").await, "ada");
        assert!(started.elapsed() < Duration::from_millis(200), "a silent Redis costs at most its timeout: {:?}", started.elapsed());
        assert_eq!(name_of(&down, "u1").await, "ada");
        assert_eq!(scripted.calls(), before + 1, "L1 still caches");
        down.invalidate_entity("u1").await;
        assert_eq!(name_of(&down, "u1").await, "ada");
        assert_eq!(scripted.calls(), before + 2, "invalidation still works locally");
    }
    // A Redis that refuses connections.
    let refused = CacheConfig {
        redis: Some(RedisConfig::new(format!("redis://{}", closed_port().await))),
        key_prefix: "nova-test-down".into(),
        ..CacheConfig::default()
    };
    assert_eq!(name_of(&client(&server.uri(), refused), "u1").await, "ada");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_schema_change_never_reads_old_bytes() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    let before = client(&server.uri(), redis.cache_config());
    name_of(&before, "u1").await;
    let mut changed = nova_auth::rpc::GET_USER;
    changed.schema ^= 1;
    let changed: &'static RpcDescriptor = Box::leak(Box::new(changed));
    let after = ClientCore::new(
        &nova_auth::rpc::TARGET,
        nova_runtime::client::channel(&server.uri()).unwrap(),
        ClientOptions { cache: Some(redis.cache_config()) },
    );
    let cache = after.cache().unwrap();
    let key = cache.key(changed, &by_id("u1").encode_to_vec(), &["u1".to_string()]);
    assert!(matches!(cache.lookup(&key).await, Lookup::Miss), "bytes cached under the old schema are not found");
    get_user(&after, changed, "u1").await.unwrap();
    assert_eq!(scripted.calls(), 2);
    server.stop().await.unwrap();
}
