//! The response cache of generated clients: L1 in process (moka), L2 in Redis (shared by all
//! replicas of the caller).
//!
//! - **Keys** are the RPC's path, its schema hash and the encoded request: a schema change
//!   gives new keys, so old bytes are never decoded as the new message.
//! - **Single flight**: concurrent misses on one key make one upstream call; the others wait
//!   for its result.
//! - **Invalidation** by key or by entity id works through *generations*: every key has tags
//!   (its own, plus one per entity the request names) and each tag a counter in Redis (and a
//!   local view of it, kept current by Redis pub/sub). An entry remembers the generations it
//!   was loaded under and is only served while none has moved. A load that was in flight
//!   during an invalidation therefore cannot resurrect old data, in L1 or in L2.
//! - **Stale if error**: an entry is kept past its TTL for the policy's `stale_if_error`
//!   window and served if the owner cannot answer.
//! - **Redis down** degrades to L1 + upstream (see `l2.rs`).

mod entry;
mod l2;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};
use sha2::{Digest, Sha256};
use tonic::Status;

pub use entry::Entry;
pub use l2::RedisConfig;

use crate::rpc::{CachePolicy, RpcDescriptor};
use l2::L2;

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Entries kept in process.
    pub l1_capacity: u64,
    /// Redis for L2, if any.
    pub redis: Option<RedisConfig>,
    /// Prefix of every Redis key and of the invalidation channel (tests use their own).
    pub key_prefix: String,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { l1_capacity: 10_000, redis: None, key_prefix: "nova".to_string() }
    }
}

/// Where a cached answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    L1,
    L2,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::L1 => "l1",
            Level::L2 => "l2",
        }
    }
}

#[derive(Debug)]
pub enum Lookup {
    Fresh(Bytes, Level),
    /// Past its TTL but within the stale-if-error window: usable if the owner fails.
    Stale(Bytes),
    Miss,
}

/// The cache identity of one request.
#[derive(Debug, Clone)]
pub struct CacheKey {
    l1: Arc<[u8]>,
    l2: String,
    /// Tag 0 is the key itself; the others are the entities the request names.
    tags: Arc<[String]>,
}

/// An L1 entry keeps its tags, so that a hit is checked without deriving them again.
#[derive(Debug)]
struct L1Entry {
    entry: Entry,
    tags: Arc<[String]>,
}

type Load = Shared<BoxFuture<'static, Result<Bytes, Status>>>;

pub struct ResponseCache {
    /// The service whose responses are cached.
    owner: &'static str,
    prefix: String,
    l1: moka::future::Cache<Arc<[u8]>, Arc<L1Entry>>,
    generations: RwLock<HashMap<String, u64>>,
    l2: Option<L2>,
    in_flight: Mutex<HashMap<Arc<[u8]>, Load>>,
    coalesced: metrics::Counter,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache").field("owner", &self.owner).field("prefix", &self.prefix).field("l2", &self.l2).finish()
    }
}

/// L1 entries live until the end of their stale window.
struct UntilStale;

impl moka::Expiry<Arc<[u8]>, Arc<L1Entry>> for UntilStale {
    fn expire_after_create(&self, _key: &Arc<[u8]>, value: &Arc<L1Entry>, _created_at: std::time::Instant) -> Option<Duration> {
        Some(Duration::from_millis(value.entry.stale_until_ms.saturating_sub(now_ms())))
    }
}

/// Lower-case hex, without an allocation per byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

impl ResponseCache {
    /// A cache for responses of `owner`'s RPCs. With Redis configured, subscribes to
    /// invalidations from other replicas (when called inside a Tokio runtime).
    pub fn new(owner: &'static str, config: CacheConfig) -> Arc<Self> {
        let l2 = config.redis.and_then(|redis| match L2::connect(redis) {
            Ok(l2) => Some(l2),
            Err(error) => {
                tracing::warn!(error = %error, "invalid redis configuration; caching in process only");
                None
            }
        });
        let cache = Arc::new(ResponseCache {
            owner,
            prefix: config.key_prefix,
            l1: moka::future::Cache::builder().max_capacity(config.l1_capacity).expire_after(UntilStale).build(),
            generations: RwLock::new(HashMap::new()),
            l2,
            in_flight: Mutex::new(HashMap::new()),
            coalesced: crate::metrics::TargetMetrics::new(owner).cache_coalesced,
        });
        if let (Some(l2), Ok(runtime)) = (&cache.l2, tokio::runtime::Handle::try_current()) {
            runtime.spawn(listen_for_invalidations(Arc::downgrade(&cache), l2.client.clone(), cache.channel()));
        }
        cache
    }

    fn channel(&self) -> String {
        format!("{}:invalidations", self.prefix)
    }

    fn generation_key(&self, tag: &str) -> String {
        format!("{}:g:{tag}", self.prefix)
    }

    /// The in-process key of a request: cheap, and all an L1 hit needs.
    pub fn l1_key(&self, rpc: &RpcDescriptor, request: &[u8]) -> Arc<[u8]> {
        let mut l1 = Vec::with_capacity(rpc.service.len() + rpc.method.len() + 10 + request.len());
        l1.extend_from_slice(rpc.service.as_bytes());
        l1.push(b'/');
        l1.extend_from_slice(rpc.method.as_bytes());
        l1.push(0);
        l1.extend_from_slice(&rpc.schema.to_be_bytes());
        l1.extend_from_slice(request);
        Arc::from(l1)
    }

    /// The key of a request to an RPC; `entities` are ids the request is about.
    pub fn key(&self, rpc: &RpcDescriptor, request: &[u8], entities: &[String]) -> CacheKey {
        self.key_from(self.l1_key(rpc, request), rpc, request, entities)
    }

    /// The full key (Redis key and tags) for an L1 key computed already.
    pub fn key_from(&self, l1: Arc<[u8]>, rpc: &RpcDescriptor, request: &[u8], entities: &[String]) -> CacheKey {
        let digest = hex(&Sha256::digest(request));
        let l2 = format!("{}:c:{}:{}:{:016x}:{digest}", self.prefix, rpc.service, rpc.method, rpc.schema);
        let mut tags = vec![format!("k:{}/{}:{:016x}:{digest}", rpc.service, rpc.method, rpc.schema)];
        tags.extend(entities.iter().map(|e| self.entity_tag(e)));
        CacheKey { l1, l2, tags: Arc::from(tags) }
    }

    fn entity_tag(&self, entity: &str) -> String {
        format!("e:{}:{entity}", self.owner)
    }

    fn local_generations(&self, tags: &[String]) -> Vec<u64> {
        let map = self.generations.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        tags.iter().map(|t| map.get(t).copied().unwrap_or(0)).collect()
    }

    /// Raises the local view of tag generations to what Redis says (never lowers it).
    fn learn(&self, tags: &[String], remote: &[u64]) {
        let mut map = self.generations.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (tag, value) in tags.iter().zip(remote) {
            let entry = map.entry(tag.clone()).or_insert(0);
            *entry = (*entry).max(*value);
        }
    }

    fn generation_keys(&self, tags: &[String]) -> Vec<String> {
        tags.iter().map(|t| self.generation_key(t)).collect()
    }

    /// Looks in L1 only.
    pub async fn lookup_l1(&self, l1: &Arc<[u8]>) -> Lookup {
        let Some(found) = self.l1.get(l1).await else { return Lookup::Miss };
        if !found.entry.is_current(&self.local_generations(&found.tags)) {
            return Lookup::Miss;
        }
        if found.entry.is_fresh(now_ms()) {
            Lookup::Fresh(found.entry.payload.clone(), Level::L1)
        } else {
            Lookup::Stale(found.entry.payload.clone())
        }
    }

    /// Looks in L2 only; also returns the tag generations Redis reported (for the load that
    /// follows a miss), if it answered.
    pub async fn lookup_l2(&self, key: &CacheKey) -> (Lookup, Option<Vec<u64>>) {
        let Some(l2) = &self.l2 else { return (Lookup::Miss, None) };
        let Some((bytes, remote)) = l2.get_with_generations(&key.l2, &self.generation_keys(&key.tags)).await else { return (Lookup::Miss, None) };
        self.learn(&key.tags, &remote);
        let Some(entry) = bytes.as_deref().and_then(Entry::decode) else { return (Lookup::Miss, Some(remote)) };
        if !(entry.is_current(&remote) && entry.is_current(&self.local_generations(&key.tags))) {
            return (Lookup::Miss, Some(remote));
        }
        let now = now_ms();
        if entry.is_fresh(now) {
            let payload = entry.payload.clone();
            self.l1.insert(key.l1.clone(), Arc::new(L1Entry { entry, tags: key.tags.clone() })).await;
            return (Lookup::Fresh(payload, Level::L2), Some(remote));
        }
        let lookup = if entry.is_usable_stale(now) { Lookup::Stale(entry.payload) } else { Lookup::Miss };
        (lookup, Some(remote))
    }

    /// Looks in L1, then L2.
    pub async fn lookup(&self, key: &CacheKey) -> Lookup {
        let l1 = self.lookup_l1(&key.l1).await;
        if matches!(l1, Lookup::Fresh(..)) {
            return l1;
        }
        match (self.lookup_l2(key).await.0, l1) {
            (fresh @ Lookup::Fresh(..), _) => fresh,
            (_, stale @ Lookup::Stale(_)) | (stale @ Lookup::Stale(_), _) => stale,
            _ => Lookup::Miss,
        }
    }

    /// Loads through `fetch` once for all concurrent callers of the same key, and stores the
    /// result unless the key was invalidated meanwhile.
    /// `remote` are the generations Redis reported during the lookup, if it did.
    pub async fn load(
        self: &Arc<Self>,
        key: &CacheKey,
        policy: CachePolicy,
        remote: Option<Vec<u64>>,
        fetch: BoxFuture<'static, Result<Bytes, Status>>,
    ) -> Result<Bytes, Status> {
        let (load, leader) = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match in_flight.get(&key.l1) {
                Some(load) => (load.clone(), false),
                None => {
                    let load = Arc::clone(self).load_and_store(key.clone(), policy, remote, fetch).boxed().shared();
                    in_flight.insert(key.l1.clone(), load.clone());
                    (load, true)
                }
            }
        };
        if !leader {
            self.coalesced.increment(1);
        }
        let result = load.clone().await;
        let mut in_flight = self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if in_flight.get(&key.l1).is_some_and(|current| current.ptr_eq(&load)) {
            in_flight.remove(&key.l1);
        }
        result
    }

    async fn load_and_store(
        self: Arc<Self>,
        key: CacheKey,
        policy: CachePolicy,
        remote: Option<Vec<u64>>,
        fetch: BoxFuture<'static, Result<Bytes, Status>>,
    ) -> Result<Bytes, Status> {
        let generation_keys = self.generation_keys(&key.tags);
        let remote = match (remote, &self.l2) {
            (Some(remote), _) => Some(remote),
            (None, Some(l2)) => l2.generations(&generation_keys).await,
            (None, None) => None,
        };
        if let Some(remote) = remote {
            self.learn(&key.tags, &remote);
        }
        let snapshot = self.local_generations(&key.tags);
        let payload = fetch.await?;
        let now = now_ms();
        let ttl_ms = u64::try_from(policy.ttl.as_millis()).unwrap_or(u64::MAX);
        let stale_ms = u64::try_from(policy.stale_if_error.as_millis()).unwrap_or(u64::MAX);
        let fresh_until_ms = now.saturating_add(ttl_ms);
        let entry = Entry {
            payload: payload.clone(),
            fresh_until_ms,
            stale_until_ms: fresh_until_ms.saturating_add(stale_ms),
            generations: snapshot.clone(),
        };
        if self.l2.is_some() {
            // Written in the background: the caller has its answer; the script refuses the write
            // if an invalidation came first.
            let cache = Arc::clone(&self);
            let (l2_key, bytes, ttl) = (key.l2.clone(), entry.encode(), policy.ttl + policy.stale_if_error);
            tokio::spawn(async move {
                if let Some(l2) = &cache.l2 {
                    l2.store_if_current(&l2_key, &bytes, ttl, &generation_keys, &snapshot).await;
                }
            });
        }
        if self.local_generations(&key.tags) == entry.generations {
            self.l1.insert(key.l1.clone(), Arc::new(L1Entry { entry, tags: key.tags.clone() })).await;
        }
        Ok(payload)
    }

    /// Forgets one request's cached response, here and in every replica.
    pub async fn invalidate_key(&self, key: &CacheKey) {
        if let Some(tag) = key.tags.first() {
            self.bump(tag).await;
        }
        self.l1.invalidate(&key.l1).await;
        if let Some(l2) = &self.l2 {
            l2.delete(&key.l2).await;
        }
    }

    /// Forgets every cached response about `entity` (an id the owner's requests name).
    pub async fn invalidate_entity(&self, entity: &str) {
        self.bump(&self.entity_tag(entity)).await;
    }

    async fn bump(&self, tag: &str) {
        let remote = match &self.l2 {
            Some(l2) => l2.bump(&self.generation_key(tag), &self.channel(), tag).await,
            None => None,
        };
        let mut map = self.generations.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.entry(tag.to_string()).or_insert(0);
        *entry = match remote {
            Some(value) => (*entry).max(value),
            // Redis is unreachable: invalidate locally at least.
            None => *entry + 1,
        };
    }

    /// The local generation of an entity's tag (for tests and diagnostics).
    pub fn entity_generation(&self, entity: &str) -> u64 {
        self.local_generations(&[self.entity_tag(entity)]).first().copied().unwrap_or(0)
    }

    /// Drops every L1 entry (tests and benchmarks use it to reach L2).
    pub fn clear_l1(&self) {
        self.l1.invalidate_all();
    }

    pub fn has_l2(&self) -> bool {
        self.l2.is_some()
    }
}

/// Keeps the local generations current with invalidations made by other replicas.
async fn listen_for_invalidations(cache: Weak<ResponseCache>, client: redis::Client, channel: String) {
    use futures_util::StreamExt as _;
    loop {
        if cache.strong_count() == 0 {
            return;
        }
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        let Some(cache) = cache.upgrade() else { return };
                        let Ok(text) = message.get_payload::<String>() else { continue };
                        if let Some((value, tag)) = text.split_once('\t')
                            && let Ok(value) = value.parse::<u64>()
                        {
                            cache.learn(&[tag.to_string()], &[value]);
                        }
                    }
                }
            }
            Err(error) => tracing::debug!(error = %error, "redis invalidation subscription failed; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
