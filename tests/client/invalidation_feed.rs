//! The invalidation feed between replicas, and the expiry of generation keys, against real
//! Redis servers: a private one (tests here kill its connections, which they must never do to
//! the shared Redis) and the shared one under the test's own key prefix.
//!
//! The bound under test (see nova-runtime's `client/cache/mod.rs`): once a replica has noticed
//! that its subscription is gone (at once when the connection closes, within a heartbeat when
//! it dies silently), it serves nothing from L1 until it has resubscribed, and then nothing
//! loaded before. Tests wait for those events, never for time to pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::client::{CacheConfig, ClientCore, ClientOptions, Lookup, MIN_GENERATION_LIFETIME, RedisConfig};
use nova_runtime::codegen::prost::Message as _;
use nova_runtime::rpc::{CachePolicy, Idempotency, RpcDescriptor};
use nova_tests::cache_probe::{SAFETY, target_metric, unique_target, until, until_l1_trusted};
use nova_tests::policy::{NO_BREAKER, named_target, rpc};
use nova_tests::private_redis::PrivateRedis;
use nova_tests::proxy::{Mode, Proxy, Upstream};
use nova_tests::redis_prefix::{RedisPrefix, patient};
use nova_tests::{Scripted, start_scripted};

const HOUR: Duration = Duration::from_secs(3600);

fn read(method: &'static str, policy: CachePolicy) -> &'static RpcDescriptor {
    rpc(method, Idempotency::NoSideEffects, Duration::from_secs(5), None, Some(policy))
}

fn cached_for_an_hour() -> &'static RpcDescriptor {
    read("GetUser", CachePolicy { ttl: HOUR, stale_if_error: HOUR })
}

async fn name_of(core: &ClientCore, descriptor: &'static RpcDescriptor, id: &str) -> String {
    let request = pb::GetUserRequest { user_id: id.to_string() };
    let response = core
        .unary(
            descriptor,
            request,
            |r| vec![r.user_id.clone()],
            |channel, request| async move { AuthServiceClient::new(channel).get_user(request).await },
        )
        .await
        .unwrap();
    response.user.unwrap_or_default().username
}

/// One replica of a client of the scripted server. Replicas of one client share `target`
/// (the owner service: entity tags are named after it) and the key prefix.
fn replica(server_uri: &str, target: &'static str, redis: RedisConfig, prefix: &str) -> ClientCore {
    let cache = CacheConfig { redis: Some(redis), key_prefix: prefix.to_string(), ..CacheConfig::default() };
    ClientCore::new(
        named_target(target, NO_BREAKER),
        nova_runtime::client::channel(server_uri).unwrap(),
        ClientOptions { cache: Some(cache), ..Default::default() },
    )
}

#[tokio::test]
async fn a_replica_whose_subscription_is_killed_never_serves_what_was_invalidated_meanwhile() {
    let redis = PrivateRedis::start();
    let scripted = Scripted::default();
    scripted.put_user("u1", "old");
    let server = start_scripted(&scripted).await;
    let target = unique_target("feed-killed");
    let reader = replica(&server.uri(), target, patient(redis.url()), "killed");
    let writer = replica(&server.uri(), target, patient(redis.url()), "killed");
    until_l1_trusted(reader.cache().unwrap()).await;
    until_l1_trusted(writer.cache().unwrap()).await;
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "old");
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "old");
    assert_eq!(scripted.calls(), 1, "the reader serves u1 from L1");

    let mut trusted = reader.cache().unwrap().l1_trusted();
    trusted.borrow_and_update();
    assert!(redis.kill_subscribers() >= 2, "both replicas' subscriptions were killed");
    // The reader notices (its connection closed); it may have resubscribed already.
    tokio::time::timeout(SAFETY, trusted.changed()).await.expect("the reader never noticed its subscription closing").unwrap();
    // Meanwhile the owner changes u1 and the writer invalidates it: the reader may not hear it.
    scripted.put_user("u1", "new");
    writer.invalidate_entity("u1").await;
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new", "nothing loaded before the loss is served");
    until_l1_trusted(reader.cache().unwrap()).await;
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new");
    assert_eq!(target_metric("grpc_client_cache_invalidations_subscribed", target), 1.0, "resubscribed");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn while_its_subscription_is_down_a_replica_bypasses_l1_until_it_is_back() {
    let redis = PrivateRedis::start();
    let proxy = Proxy::start_to(Upstream::Unix(redis.socket())).await;
    let scripted = Scripted::default();
    scripted.put_user("u1", "old");
    let server = start_scripted(&scripted).await;
    let target = unique_target("feed-down");
    let reader = replica(&server.uri(), target, patient(format!("redis://{}", proxy.addr)), "down");
    let writer = replica(&server.uri(), target, patient(redis.url()), "down");
    until_l1_trusted(reader.cache().unwrap()).await;
    until_l1_trusted(writer.cache().unwrap()).await;
    assert_eq!(target_metric("grpc_client_cache_invalidations_subscribed", target), 1.0);
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "old");
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "old");
    assert_eq!(scripted.calls(), 1);

    // The reader loses Redis entirely, and cannot reconnect.
    proxy.set(Mode::Reset);
    let mut trusted = reader.cache().unwrap().l1_trusted();
    tokio::time::timeout(SAFETY, trusted.wait_for(|trusted| !*trusted)).await.expect("the loss was never noticed").unwrap();
    assert_eq!(target_metric("grpc_client_cache_invalidations_subscribed", target), 0.0);
    // An invalidation it cannot hear, then reads: none comes from its L1.
    scripted.put_user("u1", "new");
    writer.invalidate_entity("u1").await;
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new");
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new");
    assert_eq!(scripted.calls(), 3, "L1 is bypassed while unsubscribed: both reads went upstream");

    // Back: it resubscribes by itself, and L1 is used again from then on.
    proxy.set(Mode::Forward);
    until_l1_trusted(reader.cache().unwrap()).await;
    assert_eq!(target_metric("grpc_client_cache_invalidations_subscribed", target), 1.0);
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new");
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new");
    assert_eq!(scripted.calls(), 4, "one load after resubscribing, then L1");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_subscription_that_dies_silently_is_noticed_by_its_heartbeat() {
    let redis = PrivateRedis::start();
    let proxy = Proxy::start_to(Upstream::Unix(redis.socket())).await;
    let scripted = Scripted::default();
    scripted.put_user("u1", "old");
    let server = start_scripted(&scripted).await;
    let config = RedisConfig { heartbeat: Duration::from_millis(100), ..RedisConfig::new(format!("redis://{}", proxy.addr)) };
    let target = unique_target("feed-silent");
    let reader = replica(&server.uri(), target, config, "silent");
    let writer = replica(&server.uri(), target, patient(redis.url()), "silent");
    until_l1_trusted(reader.cache().unwrap()).await;
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "old");

    // A partition: the connections stay open and nothing passes, not even a FIN.
    proxy.set(Mode::Freeze);
    let mut trusted = reader.cache().unwrap().l1_trusted();
    tokio::time::timeout(SAFETY, trusted.wait_for(|trusted| !*trusted)).await.expect("the heartbeat never noticed").unwrap();
    scripted.put_user("u1", "new");
    writer.invalidate_entity("u1").await;
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new");

    proxy.set(Mode::Forward);
    until_l1_trusted(reader.cache().unwrap()).await;
    assert_eq!(name_of(&reader, cached_for_an_hour(), "u1").await, "new");
    server.stop().await.unwrap();
}

/// Each generation key's time to live, and each entry's, under the prefix, read in one Lua
/// script (Redis freezes the clock while a script runs, so they compare exactly).
fn time_to_live(redis: &RedisPrefix) -> (Vec<i64>, Vec<i64>) {
    let mut connection = redis::Client::open(nova_tests::redis_prefix::redis_url()).unwrap().get_connection().unwrap();
    let keys = redis.keys();
    let script = redis::Script::new("local out = {} for i, key in ipairs(KEYS) do out[i] = redis.call('PTTL', key) end return out");
    let mut invocation = script.prepare_invoke();
    for key in &keys {
        invocation.key(key);
    }
    let ttls: Vec<i64> = invocation.invoke(&mut connection).unwrap();
    let pick = |part: &str| keys.iter().zip(&ttls).filter(|(key, _)| key.contains(part)).map(|(_, ttl)| *ttl).collect::<Vec<_>>();
    (pick(":g:"), pick(":c:"))
}

#[tokio::test]
async fn generation_keys_expire_but_outlive_every_entry_stored_under_them() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    let client = replica(&server.uri(), unique_target("generation-expiry"), patient(nova_tests::redis_prefix::redis_url()), &redis.prefix);
    let minutes = read("GetUserForMinutes", CachePolicy { ttl: Duration::from_secs(60), stale_if_error: Duration::from_secs(60) });
    let hours = read("GetUserForHours", CachePolicy { ttl: HOUR, stale_if_error: HOUR });
    let min_lifetime = i64::try_from(MIN_GENERATION_LIFETIME.as_millis()).unwrap();

    // An invalidation before anything was stored: the key lives the minimum lifetime.
    client.invalidate_entity("u1").await;
    let (generations, _) = time_to_live(&redis);
    assert_eq!(generations.len(), 1);
    assert!(generations[0] > 0 && generations[0] <= min_lifetime, "{generations:?}");

    // Entries stored under it (2 min and 2 h lifetimes): the key is made to outlive both.
    name_of(&client, minutes, "u1").await;
    name_of(&client, hours, "u1").await;
    let key = client.cache().unwrap().key(
        hours,
        &nova_tests::cache_probe::anonymous_scope(),
        &pb::GetUserRequest { user_id: "u1".into() }.encode_to_vec(),
        &["u1".to_string()],
    );
    until("both entries reached Redis", || async { time_to_live(&redis).1.len() == 2 }).await;
    assert!(matches!(client.cache().unwrap().lookup_l2(&key).await.0, Lookup::Fresh(..)));
    let (generations, entries) = time_to_live(&redis);
    assert!(generations.iter().all(|&ttl| ttl > 0), "every generation key expires: {generations:?}");
    let longest_entry = entries.iter().copied().max().unwrap();
    assert!(longest_entry > 3_600_000, "{entries:?}");
    assert!(generations.iter().all(|&ttl| ttl >= longest_entry), "generation keys {generations:?} outlive entries {entries:?}");

    // A later bump keeps it at least that long: the longest lifetime ever stored is remembered.
    client.invalidate_entity("u1").await;
    let (generations, entries) = time_to_live(&redis);
    assert!(generations.iter().all(|&ttl| ttl >= entries.iter().copied().max().unwrap_or(0) && ttl > 3_600_000), "{generations:?}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_entry_whose_generation_key_vanished_is_never_served() {
    let redis = RedisPrefix::new();
    let scripted = Scripted::default();
    scripted.put_user("u1", "ada");
    let server = start_scripted(&scripted).await;
    let client = replica(&server.uri(), unique_target("generation-vanished"), patient(nova_tests::redis_prefix::redis_url()), &redis.prefix);
    client.invalidate_entity("u1").await;
    name_of(&client, cached_for_an_hour(), "u1").await;
    let cache = client.cache().unwrap();
    let key = cache.key(
        cached_for_an_hour(),
        &nova_tests::cache_probe::anonymous_scope(),
        &pb::GetUserRequest { user_id: "u1".into() }.encode_to_vec(),
        &["u1".to_string()],
    );
    until("the entry reached Redis", || async { matches!(cache.lookup_l2(&key).await.0, Lookup::Fresh(..)) }).await;
    // The entry was stored under generation 1 of u1. Should that key ever vanish (it cannot
    // expire first, but keys can be deleted), a later bump would start again at 1: an entry
    // "at least as new" would then pass for current. Generations must match exactly.
    let generation_key = redis.keys().into_iter().find(|key| key.contains(":g:e:")).unwrap();
    let mut connection = redis::Client::open(nova_tests::redis_prefix::redis_url()).unwrap().get_connection().unwrap();
    let _: i64 = redis::cmd("DEL").arg(&generation_key).query(&mut connection).unwrap();
    assert!(matches!(cache.lookup_l2(&key).await.0, Lookup::Miss));
    server.stop().await.unwrap();
}
