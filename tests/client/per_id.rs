//! Batch reads cached per id, and single-id reads gathered into batch calls, through the
//! generated `AuthClient` (GetUsersByIds is `per_id` in the spec, paired with GetUser) against
//! a real server over gRPC and the real Redis.
//!
//! Everything is counted: calls that reach the server and the ids each GetUsersByIds asked for
//! (the scripted server records them), Redis round trips (the cache's own counters), ids
//! waiting to be sent. A miss goes at once when nothing of its group is in the air; gathering is
//! made deterministic by holding a first load at the server's gate, with a window of an hour:
//! the others then wait until it lands, a batch call (which never waits) wakes them, or half
//! their deadline has passed.

use std::collections::BTreeSet;
use std::time::Duration;

use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_auth::{AuthClient, pb};
use nova_runtime::client::{CacheConfig, ClientCore, ClientOptions, Level, Lookup, PerId, Single};
use nova_runtime::rpc::{CachePolicy, Idempotency, RpcDescriptor};
use nova_tests::cache_probe::{target_metric, unique_target, until, until_l1_trusted};
use nova_tests::policy::{NO_BREAKER, QUICK_RETRY, named_target, rpc};
use nova_tests::proxy::{Mode, Proxy};
use nova_tests::redis_prefix::RedisPrefix;
use nova_tests::scripted::{Gate, Hold};
use nova_tests::{Script, Scripted, start_scripted};
use tonic::Code;

const HOUR: Duration = Duration::from_secs(3600);

/// A generated client caching in L1 and the test's Redis prefix, gathering single reads for
/// `window` (zero: a lone single read goes at once); deadlines of 30 s (a loaded CI box must not fail a test that is not about them).
async fn client(uri: &str, redis: &RedisPrefix, window: Duration) -> AuthClient {
    let cache = CacheConfig { coalesce_window: window, ..redis.cache_config() };
    let options = ClientOptions { cache: Some(cache), min_deadline: Some(Duration::from_secs(30)), ..Default::default() };
    let client = AuthClient::with_options(nova_runtime::client::channel(uri).unwrap(), options);
    until_l1_trusted(client.core().cache().unwrap()).await;
    client
}

fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// The usernames GetUsersByIds answers, in its order, and the ids it lists as missing.
async fn users(client: &AuthClient, asked: &[&str]) -> (Vec<String>, Vec<String>) {
    let response = client.get_users_by_ids(pb::GetUsersByIdsRequest { user_ids: ids(asked) }).await.unwrap();
    (response.users.into_iter().map(|u| u.username).collect(), response.missing_user_ids)
}

async fn name(client: &AuthClient, id: &str) -> Result<String, tonic::Status> {
    Ok(client.get_user(pb::GetUserRequest { user_id: id.to_string() }).await?.user.unwrap_or_default().username)
}

fn world() -> Scripted {
    let scripted = Scripted::default();
    for (id, name) in [("u1", "ada"), ("u2", "bob"), ("u3", "cy"), ("u4", "di"), ("u5", "ed")] {
        scripted.put_user(id, name);
    }
    scripted
}

async fn lookups(client: &AuthClient) -> u64 {
    client.core().cache().unwrap().stats().await.redis_lookups
}

/// Waits until `client`'s entry for each of `ids` is in Redis (written after the answer).
async fn until_in_l2(client: &AuthClient, ids: &[&str]) {
    let cache = client.core().cache().unwrap();
    for id in ids {
        let key = client.core().item_key(&nova_auth::rpc::GET_USERS_BY_IDS, id).unwrap();
        until("the entry reached Redis", || async { matches!(cache.lookup_l2(&key).await.0, Lookup::Fresh(_, Level::L2)) }).await;
    }
}

#[tokio::test]
async fn a_batch_asks_the_owner_only_for_the_ids_it_lacks_and_answers_in_the_order_asked() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, Duration::ZERO).await;

    let before = lookups(&a).await;
    assert_eq!(users(&a, &["u3", "u1", "u2", "u1"]).await, (ids(&["cy", "ada", "bob"]), vec![]), "duplicates once, in the order asked");
    assert_eq!(scripted.batches(), vec![ids(&["u3", "u1", "u2"])]);
    assert_eq!(lookups(&a).await - before, 1, "three misses, one Redis round trip");

    assert_eq!(users(&a, &["u2", "u4", "u3", "u5"]).await, (ids(&["bob", "di", "cy", "ed"]), vec![]));
    assert_eq!(scripted.batches()[1], ids(&["u4", "u5"]), "only the ids not cached reach the owner");
    assert_eq!(lookups(&a).await - before, 2, "u2 and u3 from L1; u4 and u5 in one round trip");

    assert_eq!(users(&a, &["u5", "u1"]).await, (ids(&["ed", "ada"]), vec![]));
    assert_eq!(scripted.calls(), 2, "all from L1");
    assert_eq!(lookups(&a).await - before, 2, "L1 hits need no Redis");

    // Another instance finds every id in Redis, in one round trip.
    until_in_l2(&a, &["u1", "u2", "u3", "u4", "u5"]).await;
    let stats = a.core().cache().unwrap().stats().await;
    assert!((1..=2).contains(&stats.redis_writes), "two loads, at most one write each: {}", stats.redis_writes);
    let b = client(&server.uri(), &redis, Duration::ZERO).await;
    let b_before = lookups(&b).await;
    assert_eq!(users(&b, &["u1", "u2", "u3", "u4", "u5"]).await.0, ids(&["ada", "bob", "cy", "di", "ed"]));
    assert_eq!(scripted.calls(), 2);
    assert_eq!(lookups(&b).await - b_before, 1);
    assert_eq!((a.core().loads_pending(), b.core().loads_pending()), (0, 0), "nothing left gathering or in flight");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_missing_id_is_cached_as_missing_and_get_user_shares_the_entries() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, Duration::ZERO).await;

    assert_eq!(users(&a, &["u1", "nobody"]).await, (ids(&["ada"]), ids(&["nobody"])));
    assert_eq!(users(&a, &["nobody", "u1"]).await, (ids(&["ada"]), ids(&["nobody"])));
    assert_eq!(scripted.calls(), 1, "the missing id is remembered as missing");
    let status = name(&a, "nobody").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(name(&a, "u1").await.unwrap(), "ada");
    assert_eq!(scripted.calls(), 1, "GetUser reads the batch's entries");

    // A GetUser miss is loaded by a GetUsersByIds call, whose entry the batch then finds.
    assert_eq!(name(&a, "u2").await.unwrap(), "bob");
    assert_eq!(scripted.batches(), vec![ids(&["u1", "nobody"]), ids(&["u2"])]);
    assert_eq!(users(&a, &["u2"]).await.0, ids(&["bob"]));
    assert_eq!(scripted.calls(), 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_invalidation_drops_exactly_its_id() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, Duration::ZERO).await;
    users(&a, &["u1", "u2", "u3"]).await;
    scripted.put_user("u2", "bob marley");
    a.invalidate_get_user(&pb::GetUserRequest { user_id: "u2".into() }).await;
    assert_eq!(users(&a, &["u1", "u2", "u3"]).await.0, ids(&["ada", "bob marley", "cy"]));
    assert_eq!(scripted.batches()[1], ids(&["u2"]), "u1 and u3 stayed cached");
    scripted.put_user("u3", "cyd");
    a.invalidate_get_users_by_ids(&pb::GetUsersByIdsRequest { user_ids: ids(&["u3"]) }).await;
    assert_eq!(name(&a, "u3").await.unwrap(), "cyd");
    assert_eq!(scripted.calls(), 3);
    server.stop().await.unwrap();
}

/// A GetUser of `id` through `client`, running on its own.
fn reading(client: &AuthClient, id: &str) -> tokio::task::JoinHandle<Result<String, tonic::Status>> {
    let (client, id) = (client.clone(), id.to_string());
    tokio::spawn(async move { name(&client, &id).await })
}

/// Makes `scripted` hold the first call it sees at the returned gate (and refuse batches asking
/// for `refuse_id`, if given).
fn hold_first(scripted: &Scripted, refuse_id: Option<&str>) -> Gate {
    let gate = Gate::default();
    scripted.set(Script { hold: Some(Hold::first(1, &gate)), refuse_id: refuse_id.map(String::from), ..Script::default() });
    gate
}

/// Starts a read of `id` whose load the server holds at its gate (the first call it sees).
async fn held(scripted: &Scripted, client: &AuthClient, id: &str) -> tokio::task::JoinHandle<Result<String, tonic::Status>> {
    let reader = reading(client, id);
    scripted.wait_for_calls(1).await;
    reader
}

#[tokio::test]
async fn single_reads_missed_while_a_load_is_in_the_air_go_together_when_it_lands() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let names: Vec<String> = (0..20).map(|n| format!("user{n}")).collect();
    for (n, id) in names.iter().enumerate() {
        scripted.put_user(&format!("g{n}"), id);
    }
    let gate = hold_first(&scripted, None);
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, HOUR).await;
    // Nothing in the air: the first miss goes at once (and is held there).
    let first = held(&scripted, &a, "u1").await;
    let readers: Vec<_> = (0..20).map(|n| reading(&a, &format!("g{n}"))).collect();
    // A twenty-first reader of an id already gathering shares its slot.
    let twin = reading(&a, "g0");
    until("the readers gathered", || async { a.core().ids_gathering() == 20 }).await;
    assert_eq!(scripted.calls(), 1, "nothing more is sent while the first load is in the air");
    gate.open();
    assert_eq!(first.await.unwrap().unwrap(), "ada");
    for (n, reader) in readers.into_iter().enumerate() {
        assert_eq!(reader.await.unwrap().unwrap(), names[n]);
    }
    assert_eq!(twin.await.unwrap().unwrap(), "user0");
    assert_eq!(scripted.calls(), 2, "one batch call for the 20 gathered ids");
    let batches = scripted.batches();
    assert_eq!(batches[0], ids(&["u1"]));
    let asked: BTreeSet<String> = batches[1].iter().cloned().collect();
    assert_eq!(asked, (0..20).map(|n| format!("g{n}")).collect::<BTreeSet<_>>());
    assert_eq!(batches[1].len(), 20, "each id once");
    assert_eq!(a.core().loads_pending(), 0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_batch_call_sends_the_gathered_ids_at_once() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let gate = hold_first(&scripted, None);
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, HOUR).await;
    let first = held(&scripted, &a, "u1").await;
    let second = reading(&a, "u2");
    until("the reader gathered", || async { a.core().ids_gathering() == 1 }).await;
    assert_eq!(users(&a, &["u3"]).await.0, ids(&["cy"]), "the batch call does not wait for the load in the air");
    assert_eq!(second.await.unwrap().unwrap(), "bob");
    assert_eq!(scripted.batches()[1].iter().cloned().collect::<BTreeSet<_>>(), ["u2", "u3"].map(String::from).into_iter().collect());
    gate.open();
    assert_eq!(first.await.unwrap().unwrap(), "ada");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_single_read_waits_at_most_half_its_deadline_behind_a_load_in_the_air() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let gate = hold_first(&scripted, None);
    let server = start_scripted(&scripted).await;
    // A window of an hour, a deadline of 2 s: the second load must leave after 1 s at the latest
    // though the first never lands.
    let cache = CacheConfig { coalesce_window: HOUR, ..redis.cache_config() };
    let options = ClientOptions { cache: Some(cache), min_deadline: Some(Duration::from_secs(2)), ..Default::default() };
    let a = AuthClient::with_options(nova_runtime::client::channel(&server.uri()).unwrap(), options);
    until_l1_trusted(a.core().cache().unwrap()).await;
    let first = held(&scripted, &a, "u1").await;
    assert_eq!(name(&a, "u2").await.unwrap(), "bob");
    assert_eq!(scripted.batches(), vec![ids(&["u1"]), ids(&["u2"])]);
    gate.open();
    // The held call's own 2 s may have passed meanwhile on a loaded machine: either outcome.
    let _ = first.await.unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn calls_for_different_principals_are_never_gathered_together() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let gate = hold_first(&scripted, None);
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, HOUR).await;
    // An anonymous load held in the air, an anonymous reader gathering behind it...
    let first = held(&scripted, &a, "u1").await;
    let anonymous = reading(&a, "u2");
    until("the anonymous reader gathered", || async { a.core().ids_gathering() == 1 }).await;
    // ...and readers with a token: their group is another, with nothing in the air, so they go
    // at once, carrying their token. This server has no token issuer: it refuses them before
    // any handler runs (UNAVAILABLE: it cannot verify tokens).
    let as_ada = a.with_token("token-of-ada");
    for id in ["u2", "u4"] {
        let status = name(&as_ada, id).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    assert_eq!(a.core().ids_gathering(), 1, "the anonymous reader still waits, alone");
    gate.open();
    assert_eq!(first.await.unwrap().unwrap(), "ada");
    assert_eq!(anonymous.await.unwrap().unwrap(), "bob");
    assert_eq!(scripted.batches(), vec![ids(&["u1"]), ids(&["u2"])], "no id asked with a token reached the handler");
    assert_eq!(a.core().loads_pending(), 0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_refused_gathered_load_is_made_again_for_each_caller_alone() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let gate = hold_first(&scripted, Some("bad"));
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, HOUR).await;
    let first = held(&scripted, &a, "u3").await;
    let good = reading(&a, "u1");
    let bad = reading(&a, "bad");
    until("both gathered", || async { a.core().ids_gathering() == 2 }).await;
    assert_eq!(users(&a, &["u2"]).await.0, ids(&["bob"]), "an innocent batch caller gets its answer");
    assert_eq!(good.await.unwrap().unwrap(), "ada", "so does an innocent single caller");
    assert_eq!(bad.await.unwrap().unwrap_err().code(), Code::InvalidArgument, "the refusal reaches the caller it is about");
    gate.open();
    assert_eq!(first.await.unwrap().unwrap(), "cy");
    let batches = scripted.batches();
    assert_eq!(batches.len(), 5, "the held load, the merged one, then each of its callers alone: {batches:?}");
    assert_eq!(batches[1].iter().cloned().collect::<BTreeSet<_>>(), ["u1", "bad", "u2"].map(String::from).into_iter().collect());
    let alone: BTreeSet<Vec<String>> = batches[2..].iter().cloned().collect();
    assert_eq!(alone, [ids(&["u1"]), ids(&["bad"]), ids(&["u2"])].into_iter().collect());
    server.stop().await.unwrap();
}

/// GetUsersByIds taken apart as the generated client does, for descriptors with other cache
/// policies than the spec's.
static SHAPE: PerId<pb::GetUsersByIdsRequest, pb::GetUsersByIdsResponse, pb::User> = PerId {
    ids: |request| &request.user_ids,
    request: |user_ids| pb::GetUsersByIdsRequest { user_ids },
    parts: |response| (response.users, response.missing_user_ids),
    item_id: |user| &user.id,
    assemble: |users, missing_user_ids| pb::GetUsersByIdsResponse { users, missing_user_ids },
    max_batch: 100,
    noun: "user",
};

async fn batch(core: &ClientCore, rpc: &'static RpcDescriptor, asked: &[&str]) -> Result<Vec<String>, tonic::Status> {
    let request = pb::GetUsersByIdsRequest { user_ids: ids(asked) };
    let response =
        core.batch(rpc, &SHAPE, request, |channel, request| async move { AuthServiceClient::new(channel).get_users_by_ids(request).await }).await?;
    Ok(response.users.into_iter().map(|u| u.username).collect())
}

#[tokio::test]
async fn with_the_owner_down_each_id_is_served_stale_or_the_call_fails() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let server = start_scripted(&scripted).await;
    let proxy = Proxy::start(server.addr).await;
    // Expired as soon as stored, servable stale for an hour: no step waits for a TTL.
    let stale_for_an_hour = CachePolicy { ttl: Duration::ZERO, stale_if_error: HOUR };
    let read = rpc("GetUsersByIds", Idempotency::NoSideEffects, Duration::from_secs(5), Some(QUICK_RETRY), Some(stale_for_an_hour));
    let mut closed = *read;
    closed.policy.fail_closed = true;
    let closed: &'static RpcDescriptor = Box::leak(Box::new(closed));
    let channel = nova_runtime::client::channel(&proxy.uri()).unwrap();
    let core = ClientCore::new(named_target("auth", NO_BREAKER), channel, ClientOptions { cache: Some(redis.cache_config()), ..Default::default() });
    until_l1_trusted(core.cache().unwrap()).await;
    assert_eq!(batch(&core, read, &["u1", "u2"]).await.unwrap(), ids(&["ada", "bob"]));
    assert_eq!(batch(&core, closed, &["u1"]).await.unwrap(), ids(&["ada"]));
    assert_eq!(scripted.calls(), 2, "expired at once: each call asks");

    proxy.set(Mode::Reset);
    assert_eq!(batch(&core, read, &["u2", "u1"]).await.unwrap(), ids(&["bob", "ada"]), "every id stale: served");
    let status = batch(&core, read, &["u1", "u3"]).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "u3 has nothing to serve: {status:?}");
    let status = batch(&core, closed, &["u1"]).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "a fail-closed read is never served stale: {status:?}");
    assert_eq!(scripted.calls(), 2);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_miss_costs_one_redis_round_trip_before_the_call_and_one_write_after() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let many: Vec<String> = (0..20).map(|n| format!("m{n}")).collect();
    for id in &many {
        scripted.put_user(id, id);
    }
    let server = start_scripted(&scripted).await;
    let a = client(&server.uri(), &redis, Duration::ZERO).await;
    let stats = a.core().cache().unwrap().stats().await;
    assert_eq!(name(&a, "u1").await.unwrap(), "ada");
    until_in_l2(&a, &["u1"]).await;
    let after_one = a.core().cache().unwrap().stats().await;
    // (until_in_l2 looks into Redis itself: one more lookup per look.)
    assert_eq!(after_one.redis_writes - stats.redis_writes, 1, "one write-back");

    let writes = after_one.redis_writes;
    let before = lookups(&a).await;
    let asked: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(users(&a, &asked).await.0, many);
    assert_eq!(lookups(&a).await - before, 1, "twenty misses, one lookup");
    until_in_l2(&a, &asked).await;
    assert_eq!(a.core().cache().unwrap().stats().await.redis_writes - writes, 1, "twenty entries, one write");
    assert_eq!(scripted.calls(), 2);
    server.stop().await.unwrap();
}

/// GetUser as the generated client pairs it with GetUsersByIds.
static SINGLE: Single<pb::GetUserRequest, pb::GetUserResponse, pb::User> =
    Single { id: |request| &request.user_id, wrap: |user| pb::GetUserResponse { user: Some(user) }, field: "user_id" };

async fn single(core: &ClientCore, id: &str) -> Result<String, tonic::Status> {
    let response = core
        .single(
            &nova_auth::rpc::GET_USER,
            &nova_auth::rpc::GET_USERS_BY_IDS,
            &SHAPE,
            &SINGLE,
            pb::GetUserRequest { user_id: id.to_string() },
            |channel, request| async move { AuthServiceClient::new(channel).get_user(request).await },
            |channel, request| async move { AuthServiceClient::new(channel).get_users_by_ids(request).await },
        )
        .await?;
    Ok(response.user.unwrap_or_default().username)
}

#[tokio::test]
async fn a_caller_that_joined_a_load_in_the_air_asks_again_alone_when_it_is_refused() {
    let redis = RedisPrefix::new();
    let scripted = world();
    let gate = hold_first(&scripted, Some("bad"));
    let server = start_scripted(&scripted).await;
    // A target name of this test's own: its coalesced counter is this test's alone.
    let target = unique_target("per-id-joined");
    let options = ClientOptions { cache: Some(redis.cache_config()), min_deadline: Some(Duration::from_secs(30)), ..Default::default() };
    let core = ClientCore::new(named_target(target, NO_BREAKER), nova_runtime::client::channel(&server.uri()).unwrap(), options);
    until_l1_trusted(core.cache().unwrap()).await;
    let refused = tokio::spawn({
        let core = core.clone();
        async move { batch(&core, &nova_auth::rpc::GET_USERS_BY_IDS, &["bad", "u1"]).await }
    });
    scripted.wait_for_calls(1).await;
    let joiner = tokio::spawn({
        let core = core.clone();
        async move { single(&core, "u1").await }
    });
    until("the reader joined the load in the air", || async { target_metric("grpc_client_cache_coalesced_total", target) == 1.0 }).await;
    gate.open();
    assert_eq!(refused.await.unwrap().unwrap_err().code(), Code::InvalidArgument, "the refusal is the asker's");
    assert_eq!(joiner.await.unwrap().unwrap(), "ada", "the joiner asked again for its own id");
    assert_eq!(scripted.batches(), vec![ids(&["bad", "u1"]), ids(&["u1"])]);
    server.stop().await.unwrap();
}
