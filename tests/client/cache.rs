//! The response cache of generated clients, against a real server and the real Redis: L1 and
//! L2 hits, invalidation (by key, by entity, across instances, racing an in-flight load),
//! stale-if-error with the dependency down, schema changes and Redis outages. Single flight is
//! in single_flight.rs, the invalidation feed in invalidation_feed.rs.
//!
//! Nothing here waits on time: calls are held at the scripted server's gate, events are
//! awaited, and outcomes are counted (upstream calls, proxy connections, metric deltas on a
//! target name only the test uses).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::sync::LazyLock;
use std::time::Duration;

use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_auth::{AuthClient, pb};
use nova_runtime::client::{BreakerState, CacheConfig, ClientCore, ClientOptions, Level, Lookup, RedisConfig};
use nova_runtime::codegen::prost::Message as _;
use nova_runtime::rpc::{BreakerPolicy, CachePolicy, CallPolicy, Idempotency, RpcDescriptor};
use nova_tests::cache_probe::{SAFETY, target_metric, unique_target, until, until_l1_trusted};
use nova_tests::policy::{NO_BREAKER, QUICK_RETRY, named_target, rpc};
use nova_tests::proxy::{Mode, Proxy, closed_port};
use nova_tests::redis_prefix::RedisPrefix;
use nova_tests::scripted::{Gate, Hold};
use nova_tests::{Script, Scripted, start_scripted};
use tonic::Code;

fn client(uri: &str, cache: CacheConfig) -> AuthClient {
    AuthClient::with_options(nova_runtime::client::channel(uri).unwrap(), ClientOptions { cache: Some(cache), ..Default::default() })
}

/// A client whose L1 is in use (subscribed to invalidations).
async fn subscribed_client(uri: &str, cache: CacheConfig) -> AuthClient {
    let client = client(uri, cache);
    until_l1_trusted(client.core().cache().unwrap()).await;
    client
}

fn by_id(id: &str) -> pb::GetUserRequest {
    pb::GetUserRequest { user_id: id.to_string() }
}

/// A generated RPC's descriptor with a deadline no loaded machine runs into (the generated
/// 200-300 ms would make a slow scheduler fail a test that is not about deadlines). Same
/// service, method, schema and cache policy: the same cache keys as the generated client's.
fn patient(rpc: &'static RpcDescriptor) -> &'static RpcDescriptor {
    Box::leak(Box::new(RpcDescriptor { policy: CallPolicy { deadline: Duration::from_secs(30), ..rpc.policy }, ..*rpc }))
}

static GET_USER: LazyLock<&'static RpcDescriptor> = LazyLock::new(|| patient(&nova_auth::rpc::GET_USER));
static GET_USERS_BY_IDS: LazyLock<&'static RpcDescriptor> = LazyLock::new(|| patient(&nova_auth::rpc::GET_USERS_BY_IDS));

async fn name_of(client: &AuthClient, id: &str) -> String {
    get_user(client.core(), *GET_USER, id).await.unwrap().user.unwrap().username
}

async fn batch(client: &AuthClient, ids: &[&str]) -> Vec<String> {
    let request = pb::GetUsersByIdsRequest { user_ids: ids.iter().map(ToString::to_string).collect() };
    let response = client
        .core()
        .unary(
            *GET_USERS_BY_IDS,
            request,
            |r| r.user_ids.clone(),
            |channel, request| async move { AuthServiceClient::new(channel).get_users_by_ids(request).await },
        )
        .await
        .unwrap();
    response.users.into_iter().map(|user| user.username).collect()
}

async fn lookup(client: &AuthClient, id: &str) -> Lookup {
    let cache = client.core().cache().unwrap();
    let key = cache.key(&nova_auth::rpc::GET_USER, &nova_tests::cache_probe::anonymous_scope(), &by_id(id).encode_to_vec(), &[id.to_string()]);
    cache.lookup(&key).await
}

/// Waits until the entry `client` stored for `id` has reached Redis (it is written in the
/// background, after the caller has its answer).
async fn until_in_l2(client: &AuthClient, id: &str) {
    let cache = client.core().cache().unwrap();
    let key = cache.key(&nova_auth::rpc::GET_USER, &nova_tests::cache_probe::anonymous_scope(), &by_id(id).encode_to_vec(), &[id.to_string()]);
    until("the entry reached Redis", || async { matches!(cache.lookup_l2(&key).await.0, Lookup::Fresh(_, Level::L2)) }).await;
}

#[tokio::test]
async fn repeated_reads_come_from_l1_and_other_instances_find_l2() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    let first = subscribed_client(&server.uri(), redis.cache_config()).await;
    assert_eq!(name_of(&first, "u1").await, "ada");
    assert_eq!(name_of(&first, "u1").await, "ada");
    assert_eq!(scripted.calls(), 1, "the second call was served from L1");
    assert!(matches!(lookup(&first, "u1").await, Lookup::Fresh(_, Level::L1)));

    let second = subscribed_client(&server.uri(), redis.cache_config()).await;
    until_in_l2(&first, "u1").await;
    assert_eq!(name_of(&second, "u1").await, "ada", "a new instance finds the entry in Redis");
    assert!(matches!(lookup(&second, "u1").await, Lookup::Fresh(_, Level::L1)), "and keeps it in its own L1");
    assert_eq!(scripted.calls(), 1);
    let mut keys = redis.keys();
    keys.sort();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys[0].contains(":c:nova.auth.v1.AuthService:GetUser:"), "the entry: {keys:?}");
    assert!(keys[1].ends_with(":g-lifetime"), "the longest entry lifetime, for generation expiry: {keys:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn cache_requests_are_counted_by_level_and_result() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    // A method name only this test uses labels the series; the call itself is GetUser.
    let read = rpc("GetUserCountedByLevel", Idempotency::NoSideEffects, Duration::from_secs(5), None, Some(LONG));
    let core = ClientCore::new(
        named_target("auth", NO_BREAKER),
        channel(&server.uri()),
        ClientOptions { cache: Some(redis.cache_config()), ..Default::default() },
    );
    until_l1_trusted(core.cache().unwrap()).await;
    let count = |level: &str, result: &str| {
        let labels = [("grpc_method", "GetUserCountedByLevel"), ("level", level), ("result", result)];
        nova_tests::metrics::sum(&nova_runtime::metrics::render(), "grpc_client_cache_requests_total", &labels)
    };
    get_user(&core, read, "u1").await.unwrap();
    get_user(&core, read, "u1").await.unwrap();
    get_user(&core, read, "u1").await.unwrap();
    let key = core.cache().unwrap().key(read, &nova_tests::cache_probe::anonymous_scope(), &by_id("u1").encode_to_vec(), &["u1".to_string()]);
    until("the entry reached Redis", || async { matches!(core.cache().unwrap().lookup_l2(&key).await.0, Lookup::Fresh(..)) }).await;
    core.cache().unwrap().clear_l1();
    get_user(&core, read, "u1").await.unwrap();
    assert_eq!((count("none", "miss"), count("l1", "hit"), count("l2", "hit")), (1.0, 2.0, 1.0));
    assert_eq!(scripted.calls(), 1);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_invalidation_is_never_undone_by_an_in_flight_load() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "old");
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::first(1, &gate)), ..Script::default() });
    let server = start_scripted(&scripted).await;
    let reader = subscribed_client(&server.uri(), redis.cache_config()).await;
    let in_flight = tokio::spawn({
        let reader = reader.clone();
        async move { name_of(&reader, "u1").await }
    });
    // The load has read "old" and is held at the server...
    scripted.wait_for_calls(1).await;
    // ...when the owner changes the user and invalidates.
    scripted.put_user("u1", "new");
    reader.invalidate_get_user(&by_id("u1")).await;
    gate.open();
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
    let one = subscribed_client(&server.uri(), redis.cache_config()).await;
    let two = subscribed_client(&server.uri(), redis.cache_config()).await;
    name_of(&one, "u1").await;
    name_of(&one, "u2").await;
    batch(&one, &["u1", "u2"]).await;
    until_in_l2(&one, "u1").await;
    name_of(&two, "u1").await;
    assert_eq!(scripted.calls(), 3, "the second instance found u1 in L2");
    assert!(matches!(lookup(&two, "u1").await, Lookup::Fresh(_, Level::L1)));

    scripted.put_user("u1", "ada lovelace");
    one.invalidate_entity("u1").await;
    assert_eq!(name_of(&one, "u1").await, "ada lovelace");
    assert_eq!(batch(&one, &["u1", "u2"]).await[0], "ada lovelace", "the batch naming u1 was dropped too");
    assert_eq!(name_of(&one, "u2").await, "bob");
    assert_eq!(scripted.calls(), 5, "u2 alone stayed cached");

    // The other instance hears of it through Redis pub/sub and stops serving its L1 copy.
    until("the invalidation reached the other instance", || async { name_of(&two, "u1").await == "ada lovelace" }).await;
    server.stop().await.unwrap();
}

const FAST_BREAKER: BreakerPolicy = BreakerPolicy {
    window: 4,
    min_calls: 2,
    failure_rate_percent: 50.0,
    slow_call: Duration::from_secs(10),
    slow_rate_percent: 100.0,
    open_for: Duration::from_secs(3600),
    half_open_calls: 1,
};

/// Responses cached for an hour: no test here depends on an entry expiring by the clock.
const LONG: CachePolicy = CachePolicy { ttl: Duration::from_secs(3600), stale_if_error: Duration::from_secs(3600) };

fn channel(uri: &str) -> tonic::transport::Channel {
    nova_runtime::client::channel(uri).unwrap()
}

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
    scripted.put_user("u2", "bob");
    let server = start_scripted(&scripted).await;
    let proxy = Proxy::start(server.addr).await;
    // Expired as soon as stored, and servable stale for an hour (u1) or not at all (u2): no
    // test step waits for a TTL to pass.
    let stale_for_an_hour = CachePolicy { ttl: Duration::ZERO, stale_if_error: Duration::from_secs(3600) };
    let never_stale = CachePolicy { ttl: Duration::ZERO, stale_if_error: Duration::ZERO };
    let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(5), Some(QUICK_RETRY), Some(stale_for_an_hour));
    let read_never_stale = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(5), Some(QUICK_RETRY), Some(never_stale));
    let core = ClientCore::new(
        named_target("auth", FAST_BREAKER),
        channel(&proxy.uri()),
        ClientOptions { cache: Some(redis.cache_config()), ..Default::default() },
    );
    until_l1_trusted(core.cache().unwrap()).await;
    assert_eq!(get_user(&core, read, "u1").await.unwrap().user.unwrap().username, "ada");
    assert_eq!(get_user(&core, read_never_stale, "u2").await.unwrap().user.unwrap().username, "bob");
    assert_eq!(scripted.calls(), 2);

    // The owner goes away.
    proxy.set(Mode::Reset);
    let stale = get_user(&core, read, "u1").await.unwrap();
    assert_eq!(stale.user.unwrap().username, "ada", "served stale while the owner is down");
    assert_eq!(get_user(&core, read_never_stale, "u2").await.unwrap_err().code(), Code::Unavailable, "nothing stale to serve");
    for _ in 0..3 {
        assert_eq!(get_user(&core, read, "u9").await.unwrap_err().code(), Code::Unavailable);
    }
    assert_eq!(core.breaker_state(), BreakerState::Open);
    // With the breaker open nothing touches the network: not even a connection attempt.
    let connections = proxy.connections();
    let rejected = get_user(&core, read, "u9").await.unwrap_err();
    assert_eq!(rejected.code(), Code::Unavailable);
    assert!(rejected.message().contains("circuit breaker"), "{rejected:?}");
    assert_eq!(get_user(&core, read, "u1").await.unwrap().user.unwrap().username, "ada", "stale, without asking the owner");
    assert_eq!(proxy.connections(), connections, "an open breaker never touches the network");
    assert_eq!(scripted.calls(), 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn redis_down_degrades_to_upstream_and_counts_lost_invalidations() {
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    // A Redis that accepts connections and never answers (the worst case: only timeouts tell).
    let silent = Proxy::start(closed_port().await).await;
    silent.set(Mode::Blackhole);
    let refused = closed_port().await;
    for redis_url in [format!("redis://{}", silent.addr), format!("redis://{refused}")] {
        let target = unique_target("redis-down");
        let config = CacheConfig { redis: Some(RedisConfig::new(redis_url)), key_prefix: "nova-test-down".into(), ..CacheConfig::default() };
        let core =
            ClientCore::new(named_target(target, NO_BREAKER), channel(&server.uri()), ClientOptions { cache: Some(config), ..Default::default() });
        let read = rpc("GetUser", Idempotency::NoSideEffects, Duration::from_secs(5), None, Some(LONG));
        let before = scripted.calls();
        // A 60 s safety net: Redis timeouts bound every cache step, so a hang is a failure.
        let answered = tokio::time::timeout(SAFETY, get_user(&core, read, "u1")).await.expect("a Redis outage must not hang calls");
        assert_eq!(answered.unwrap().user.unwrap().username, "ada");
        assert_eq!(get_user(&core, read, "u1").await.unwrap().user.unwrap().username, "ada");
        assert_eq!(scripted.calls(), before + 2, "without invalidations from Redis, L1 is not trusted: each call goes upstream");
        assert_eq!(target_metric("grpc_client_cache_invalidations_subscribed", target), 0.0);
        core.invalidate_entity("u1").await;
        assert_eq!(target_metric("grpc_client_cache_invalidation_publish_failures_total", target), 1.0, "the lost invalidation is counted");
    }
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
    until_in_l2(&before, "u1").await;
    let mut changed = nova_auth::rpc::GET_USER;
    changed.schema ^= 1;
    let changed: &'static RpcDescriptor = Box::leak(Box::new(changed));
    let after =
        ClientCore::new(&nova_auth::rpc::TARGET, channel(&server.uri()), ClientOptions { cache: Some(redis.cache_config()), ..Default::default() });
    let cache = after.cache().unwrap();
    let key = cache.key(changed, &nova_tests::cache_probe::anonymous_scope(), &by_id("u1").encode_to_vec(), &["u1".to_string()]);
    assert!(matches!(cache.lookup(&key).await, Lookup::Miss), "bytes cached under the old schema are not found");
    get_user(&after, changed, "u1").await.unwrap();
    assert_eq!(scripted.calls(), 2);
    server.stop().await.unwrap();
}
