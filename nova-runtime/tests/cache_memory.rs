//! A million distinct keys and entities through one response cache leave it bounded: L1,
//! the local generations table and the loads in flight stay within their capacities, and
//! the process's resident memory stops growing once they are full.
//!
//! The cache is driven through its API directly, in process, rather than by a million gRPC
//! calls: what is under test is what the cache keeps. Every one of the million keys is
//! looked up in L1, and the entity it names is invalidated (each invalidation is a tag
//! the local generations table hears of: the structure that used to grow without bound); one
//! key in ten is also loaded and stored (with its tags derived) (100 000 loads, 50 times L1's capacity), which keeps
//! the test to seconds in a debug build where a load costs ~60 µs. The test is alone in its
//! binary so that no other test's allocations move the resident size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod upstream;

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use nova_runtime::client::{CacheConfig, Lookup, ResponseCache, Snapshot};
use tokio::time::Instant;
use upstream::{POLICY, RPC};

const KEYS: usize = 1_000_000;
const LOADED_ONE_IN: usize = 10;
const L1_CAPACITY: u64 = 2_000;
const TAG_CAPACITY: usize = 20_000;

/// Resident set size of this process, from /proc.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test]
async fn a_million_keys_and_entities_leave_the_cache_bounded() {
    let config = CacheConfig { l1_capacity: L1_CAPACITY, tag_capacity: TAG_CAPACITY, ..CacheConfig::default() };
    let cache = ResponseCache::new("memory-test", config);
    let payload = Bytes::from(vec![7u8; 64]);
    let far = Instant::now() + Duration::from_secs(3600);
    let mut resident_when_full = 0;
    let mut peak_tags = 0;
    for i in 0..KEYS {
        let id = format!("user-{i}");
        let missed = matches!(cache.lookup_l1(&cache.l1_key(&RPC, "", id.as_bytes())).await, Lookup::Miss);
        if missed && i % LOADED_ONE_IN == 0 {
            let key = cache.key(&RPC, "", id.as_bytes(), std::slice::from_ref(&id));
            let answer = payload.clone();
            cache.load(&key, POLICY, Snapshot::default(), far, move || std::future::ready(Ok(answer.clone())).boxed()).await.unwrap();
        }
        // Every entity is also invalidated once: a tag the local table hears about.
        cache.invalidate_entity(&id).await;
        if i % 10_000 == 0 {
            let stats = cache.stats().await;
            peak_tags = peak_tags.max(stats.tags_tracked);
            assert!(stats.l1_entries <= L1_CAPACITY, "after {i} keys: {stats:?}");
            assert_eq!(stats.loads_in_flight, 0, "after {i} keys");
        }
        // By a tenth of the run every structure has been full for a while.
        if i == KEYS / 10 {
            resident_when_full = resident_bytes();
        }
    }
    let stats = cache.stats().await;
    assert!(stats.tags_tracked <= TAG_CAPACITY && peak_tags <= TAG_CAPACITY, "{stats:?}, peak {peak_tags}");
    assert!(stats.l1_entries <= L1_CAPACITY, "{stats:?}");
    assert_eq!(stats.loads_in_flight, 0);
    // 900 000 more keys and entities after that point: with an unbounded table, resident
    // memory grew by ~123 MiB here (measured); bounded, by under 1 MiB.
    let growth = resident_bytes().saturating_sub(resident_when_full);
    assert!(growth < 24 * 1024 * 1024, "resident memory grew by {} MiB over the last 900 000 keys", growth / (1024 * 1024));
}
