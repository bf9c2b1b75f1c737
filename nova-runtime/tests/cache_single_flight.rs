//! Single flight in the response cache, driven through its public API with an upstream the
//! test controls and, where deadlines matter, Tokio's paused clock: no network, no sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod upstream;

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use nova_runtime::client::{CacheConfig, CacheKey, Level, Lookup, ResponseCache, Snapshot};
use tokio::time::Instant;
use tonic::Code;
use upstream::{POLICY, RPC, Upstream};

/// An in-process cache (no Redis) whose metrics carry `target`, unique to the test.
fn cache(target: &'static str) -> Arc<ResponseCache> {
    ResponseCache::new(target, CacheConfig::default())
}

fn key(cache: &ResponseCache, id: &str) -> CacheKey {
    cache.key(&RPC, "", id.as_bytes(), &[id.to_string()])
}

async fn loads_in_flight(cache: &ResponseCache) -> usize {
    cache.stats().await.loads_in_flight
}

/// What L1 serves as fresh for `id`, if anything.
async fn fresh_in_l1(cache: &ResponseCache, id: &str) -> Option<String> {
    match cache.lookup_l1(&cache.l1_key(&RPC, "", id.as_bytes())).await {
        Lookup::Fresh(bytes, Level::L1) => Some(String::from_utf8(bytes.to_vec()).unwrap()),
        _ => None,
    }
}

fn coalesced(target: &str) -> f64 {
    let text = nova_runtime::metrics::render();
    text.lines()
        .filter(|line| line.starts_with("grpc_client_cache_coalesced_total{") && line.contains(&format!("target=\"{target}\"")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn callers_that_all_give_up_never_orphan_the_load() {
    let cache = cache("sf-orphan");
    let upstream = Upstream::new("ada", u64::MAX);
    let key = key(&cache, "u1");
    let far = Instant::now() + Duration::from_secs(60);
    {
        // Ten callers start (the first leads, nine join), then all go away mid-load.
        let mut callers: Vec<_> = (0..10).map(|_| Box::pin(cache.load(&key, POLICY, Snapshot::default(), far, || upstream.fetch()))).collect();
        for caller in &mut callers {
            assert!(caller.as_mut().now_or_never().is_none(), "the load is held upstream");
        }
    }
    assert_eq!(coalesced("sf-orphan"), 9.0);
    upstream::until("the load reached upstream", || upstream.calls() == 1).await;
    upstream.open();
    // The load finishes on its own, stores its answer and leaves nothing behind.
    while loads_in_flight(&cache).await > 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(fresh_in_l1(&cache, "u1").await.as_deref(), Some("ada"), "the abandoned load stored its answer");
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_follower_with_more_time_than_the_leader_gets_a_load_of_its_own() {
    let cache = cache("sf-follower");
    // The first call never answers (until the test ends); later ones answer at once.
    let upstream = Upstream::new("ada", 1);
    let key = key(&cache, "u1");
    let started = Instant::now();
    let leader = cache.load(&key, POLICY, Snapshot::default(), started + Duration::from_millis(10), || upstream.fetch());
    let follower = cache.load(&key, POLICY, Snapshot::default(), started + Duration::from_secs(1), || upstream.fetch());
    // join! polls the leader first: it starts the load, and the follower joins it.
    let (leader, follower) = tokio::join!(leader, follower);
    assert_eq!(leader.unwrap_err().code(), Code::DeadlineExceeded);
    assert_eq!(follower.unwrap(), "ada", "the follower did not inherit the leader's deadline");
    assert_eq!(coalesced("sf-follower"), 1.0, "the follower had joined the leader's load");
    assert_eq!(upstream.calls(), 2, "one call for the leader, a fresh one for the follower");
    assert!(Instant::now() < started + Duration::from_secs(1));
    upstream.open();
}

#[tokio::test(start_paused = true)]
async fn every_waiter_stops_at_its_own_deadline() {
    let cache = cache("sf-own-deadline");
    let upstream = Upstream::new("ada", u64::MAX);
    let key = key(&cache, "u1");
    let started = Instant::now();
    let mut leader = pin!(cache.load(&key, POLICY, Snapshot::default(), started + Duration::from_secs(1), || upstream.fetch()));
    assert!(leader.as_mut().now_or_never().is_none());
    let follower = cache.load(&key, POLICY, Snapshot::default(), started + Duration::from_millis(10), || upstream.fetch()).await;
    assert_eq!(follower.unwrap_err().code(), Code::DeadlineExceeded);
    let waited = Instant::now() - started;
    assert!(waited >= Duration::from_millis(10) && waited < Duration::from_secs(1), "the follower waited {waited:?} (paused clock)");
    assert_eq!(upstream.calls(), 1, "the follower gave up without a load of its own");
    upstream.open();
    assert_eq!(leader.await.unwrap(), "ada", "the leader's load went on");
}

#[tokio::test]
async fn a_caller_never_joins_a_load_that_started_before_an_invalidation() {
    let cache = cache("sf-invalidated");
    let upstream = Upstream::new("old", 1);
    let key = key(&cache, "u1");
    let far = Instant::now() + Duration::from_secs(60);
    let mut before = pin!(cache.load(&key, POLICY, Snapshot::default(), far, || upstream.fetch()));
    assert!(before.as_mut().now_or_never().is_none());
    upstream::until("the first load reached upstream", || upstream.calls() == 1).await;
    // The owner changes the data and invalidates while that load is in flight.
    upstream.set("new");
    cache.invalidate_entity("u1").await;
    let after = cache.load(&key, POLICY, Snapshot::default(), far, || upstream.fetch()).await.unwrap();
    assert_eq!(after, "new", "the new caller did not join the older load");
    assert_eq!(coalesced("sf-invalidated"), 0.0);
    upstream.open();
    assert_eq!(before.await.unwrap(), "old", "the older load answers its own caller");
    while loads_in_flight(&cache).await > 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(fresh_in_l1(&cache, "u1").await.as_deref(), Some("new"), "the older load did not store its answer");
}

#[tokio::test]
async fn a_load_that_panics_leaves_nothing_behind() {
    let cache = cache("sf-panic");
    let key = key(&cache, "u1");
    let far = Instant::now() + Duration::from_secs(60);
    let failed = cache.load(&key, POLICY, Snapshot::default(), far, || async { panic!("a bug in a fetch") }.boxed()).await;
    assert_eq!(failed.unwrap_err().code(), Code::Internal);
    assert_eq!(loads_in_flight(&cache).await, 0);
    let upstream = Upstream::new("ada", 0);
    assert_eq!(cache.load(&key, POLICY, Snapshot::default(), far, || upstream.fetch()).await.unwrap(), "ada");
}

#[tokio::test]
async fn forgetting_old_tags_never_makes_an_invalidated_entry_current() {
    let config = CacheConfig { tag_capacity: 16, ..CacheConfig::default() };
    let cache = ResponseCache::new("sf-forgetting", config);
    let upstream = Upstream::new("old", 0);
    let far = Instant::now() + Duration::from_secs(60);
    let a = key(&cache, "a");
    cache.load(&a, POLICY, Snapshot::default(), far, || upstream.fetch()).await.unwrap();
    assert_eq!(fresh_in_l1(&cache, "a").await.as_deref(), Some("old"));
    cache.invalidate_entity("a").await;
    assert_eq!(fresh_in_l1(&cache, "a").await, None);
    // Enough other invalidations that the table forgets "a" several times over.
    for i in 0..1000 {
        cache.invalidate_entity(&format!("other-{i}")).await;
    }
    let stats = cache.stats().await;
    assert!(stats.tags_tracked <= 16, "{stats:?}");
    assert_eq!(fresh_in_l1(&cache, "a").await, None, "still invalidated after its tag was forgotten");
    upstream.set("new");
    cache.load(&a, POLICY, Snapshot::default(), far, || upstream.fetch()).await.unwrap();
    assert_eq!(fresh_in_l1(&cache, "a").await.as_deref(), Some("new"), "a new load is cached again");
}
