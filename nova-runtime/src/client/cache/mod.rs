//! The response cache of generated clients: L1 in process (moka), L2 in Redis (shared by all
//! replicas of the caller).
//!
//! - **Keys** are the RPC's path, its schema hash and the encoded request: a schema change
//!   gives new keys, so old bytes are never decoded as the new message.
//! - **Single flight** (`single_flight.rs`): concurrent misses on one key make one upstream
//!   call, owned by the cache rather than by a caller, so callers may give up at any time.
//! - **Per-id entries** (`items.rs`): a batch read the spec declares `per_id` is cached one
//!   entry per id, not per request (see `client/batch.rs`); many keys are looked up in L2 in
//!   one round trip.
//! - **Write-backs** (`writer.rs`): queued and written to Redis by one task per cache, many
//!   entries per script call, never on a caller's path.
//! - **Invalidation** by key or by entity id works through *generations*: every key has tags
//!   (its own, plus one per entity the request names) and each tag a counter in Redis. An L2
//!   entry remembers the generations it was loaded under and is only served while they are
//!   unchanged; an L1 entry remembers when (on a local clock) its load started and is only
//!   served while this process heard of no change to its tags since (`generations.rs`,
//!   bounded). A load in flight during an invalidation therefore cannot resurrect old data.
//!   Generation keys in Redis expire, but never before the entries stored under them
//!   (`l2.rs`), so an expiry cannot make an invalidated entry current again.
//! - **Stale if error**: an entry is kept past its TTL for the policy's `stale_if_error`
//!   window and served if the owner cannot answer.
//! - **Redis down**: L2 is skipped after a failure (`l2.rs`); L1 is bypassed while the
//!   invalidation subscription is down (`subscription.rs`), so calls go upstream, still one
//!   per key at a time.
//!
//! # Worst-case staleness
//!
//! After an invalidation returns, the replica that made it never serves the old response. Another
//! replica may serve it from its L1 for at most:
//! - while it is subscribed: the time Redis pub/sub takes to deliver the message (bump and
//!   publish are one atomic script, so an invalidation recorded in Redis is always published);
//! - when its subscription breaks: until it notices, which is at once for a connection that
//!   closes and at most `heartbeat + heartbeat_timeout` (2 s by default) for one that dies
//!   silently. From then on it serves nothing from L1 until it is subscribed again, and then
//!   nothing loaded before.
//!
//! L2 is checked against the generations in Redis on every read, so it is never stale after an
//! invalidation recorded there. If the invalidating replica cannot reach Redis at all, the
//! invalidation is local only (counted and logged at warn): the others may serve the old value
//! until its TTL ends, the bound that always holds.

mod entry;
mod generations;
mod items;
mod l2;
mod metrics;
mod single_flight;
mod subscription;
mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::time::Instant;

pub use entry::{Entry, MacKey, Unsealed};
pub use items::{ABSENT_TTL, Item};
use l2::{MAX_SNAPSHOT_AGE, Store};
pub use l2::{MIN_GENERATION_LIFETIME, RedisConfig};
use tokio::sync::mpsc;
use writer::Queued;

use crate::rpc::{CachePolicy, RpcDescriptor};
use generations::Generations;
use l2::L2;
use metrics::CacheMetrics;
use single_flight::Flights;

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// How a [`ResponseCache`] is sized, where its L2 is and how its entries are sealed. What is
/// cached and for how long is not here: that is each RPC's [`CachePolicy`].
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Entries kept in process.
    pub l1_capacity: u64,
    /// Tags whose invalidations are remembered in process; beyond it the oldest are forgotten,
    /// which costs spurious L1 misses, never stale hits.
    pub tag_capacity: usize,
    /// Redis for L2, if any.
    pub redis: Option<RedisConfig>,
    /// Prefix of every Redis key and of the invalidation channel (tests use their own).
    pub key_prefix: String,
    /// What entries in Redis are sealed with (see [`Entry`]): the same for every replica that
    /// should share them (`NOVA_CACHE_KEY`).
    pub mac_key: MacKey,
    /// How long a miss of a single-id read paired with a batch read may wait, while a load of
    /// its group is in the air, for others to share its batch call (see `client/batch.rs`);
    /// never more than half the time it has left. A miss with nothing in the air never waits.
    pub coalesce_window: Duration,
}

/// The default [`CacheConfig::coalesce_window`]: about one loaded round trip to an owner, short
/// next to a lookup's 200 ms deadline.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(2);

impl Default for CacheConfig {
    /// A key of this process only (see [`MacKey::random`]).
    fn default() -> Self {
        CacheConfig {
            l1_capacity: 10_000,
            tag_capacity: 100_000,
            redis: None,
            key_prefix: "nova".to_string(),
            mac_key: MacKey::random(),
            coalesce_window: COALESCE_WINDOW,
        }
    }
}

/// Where a cached answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// This process's memory.
    L1,
    /// Redis, shared by the replicas.
    L2,
}

impl Level {
    /// `l1` or `l2`: the value of the `level` label of cache metrics.
    pub fn label(self) -> &'static str {
        match self {
            Level::L1 => "l1",
            Level::L2 => "l2",
        }
    }
}

/// What the cache holds for a key: the encoded response message, if any, and how usable it
/// is.
#[derive(Debug)]
pub enum Lookup {
    /// Within its TTL and current (no invalidation since its load): serve it.
    Fresh(Bytes, Level),
    /// Past its TTL but within the stale-if-error window: usable if the owner fails.
    Stale(Bytes),
    /// Nothing usable: call the owner.
    Miss,
}

/// The cache identity of one request.
#[derive(Debug, Clone)]
pub struct CacheKey {
    pub(crate) l1: Arc<[u8]>,
    l2: String,
    /// Tag 0 is the key itself; the others are the entities the request names.
    tags: Arc<[String]>,
}

impl CacheKey {
    /// The Redis key of the entry (tests and tools that look into Redis).
    pub fn redis_key(&self) -> &str {
        &self.l2
    }
}

/// What an L2 lookup saw of the key's generations in Redis, for the load that may follow: the
/// load writes back only if they are unchanged. Empty when Redis did not answer.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    remote: Option<Arc<[u64]>>,
    taken: Option<Instant>,
}

impl Snapshot {
    /// The generations seen, if Redis answered.
    pub(crate) fn remote_generations(&self) -> Option<Arc<[u64]>> {
        self.remote.clone()
    }
}

/// A count of what the cache holds, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Entries in L1 (moka's estimate).
    pub l1_entries: u64,
    /// Tags in the local generations table (at most `tag_capacity`).
    pub tags_tracked: usize,
    /// Upstream loads running now (one per key, however many callers wait on it).
    pub loads_in_flight: usize,
    /// Whether L1 is trusted: always without Redis; with Redis, while subscribed to invalidations.
    pub l1_trusted: bool,
    /// Redis round trips made so far to look entries up (one per lookup, however many keys).
    pub redis_lookups: u64,
    /// Redis round trips made so far to write entries back (one per batch of write-backs).
    pub redis_writes: u64,
    /// Redis round trips made so far to record invalidations.
    pub redis_bumps: u64,
}

/// An L1 entry keeps its tags, so that a hit is checked without deriving them again.
#[derive(Debug)]
struct L1Entry {
    payload: Bytes,
    fresh_until_ms: u64,
    stale_until_ms: u64,
    tags: Arc<[String]>,
    /// The generations tick at which its load started.
    loaded_at: u64,
}

/// The two-level cache of one target service's responses, shared by every clone of a client
/// (see [`crate::client::cache`] for keys, invalidation and staleness). Generated clients use it
/// through [`crate::client::ClientCore`]; its methods are public for tests and tools that
/// look into it.
pub struct ResponseCache {
    /// The service whose responses are cached.
    owner: &'static str,
    prefix: String,
    mac_key: MacKey,
    l1: moka::future::Cache<Arc<[u8]>, Arc<L1Entry>>,
    generations: Generations,
    l2: Option<L2>,
    flights: Flights,
    /// Whether L1 is trusted (see [`CacheStats::l1_trusted`]).
    trusted: watch::Sender<bool>,
    listening: AtomicBool,
    metrics: CacheMetrics,
    /// The write-back queue (`writer.rs`), started on first use.
    writes: OnceLock<mpsc::Sender<Queued>>,
    coalesce_window: Duration,
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
        Some(Duration::from_millis(value.stale_until_ms.saturating_sub(now_ms())))
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
    /// A cache for responses of `owner`'s RPCs. With Redis configured, it subscribes to
    /// invalidations from other replicas (at once inside a Tokio runtime, else on the first
    /// load) and trusts its L1 only while subscribed.
    pub fn new(owner: &'static str, config: CacheConfig) -> Arc<Self> {
        let l2 = config.redis.and_then(|redis| match L2::connect(redis) {
            Ok(l2) => Some(l2),
            Err(error) => {
                tracing::warn!(error = %error, "invalid redis configuration; caching in process only");
                None
            }
        });
        let metrics = CacheMetrics::new(owner);
        // Without Redis there is no other replica to hear from: L1 is trusted from the start.
        let trusted_at_start = l2.is_none();
        if l2.is_some() {
            metrics.subscriber_created();
        }
        let cache = Arc::new(ResponseCache {
            owner,
            prefix: config.key_prefix,
            mac_key: config.mac_key,
            l1: moka::future::Cache::builder().max_capacity(config.l1_capacity).expire_after(UntilStale).build(),
            generations: Generations::new(config.tag_capacity, trusted_at_start, metrics.tags_tracked.clone()),
            l2,
            flights: Flights::default(),
            trusted: watch::Sender::new(trusted_at_start),
            listening: AtomicBool::new(false),
            metrics,
            writes: OnceLock::new(),
            coalesce_window: config.coalesce_window,
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            cache.ensure_listening();
        }
        cache
    }

    /// Starts following the invalidation feed, once, if there is Redis and a runtime.
    fn ensure_listening(self: &Arc<Self>) {
        let Some(l2) = &self.l2 else { return };
        if self.listening.load(Ordering::Relaxed) || self.listening.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = subscription::follow_invalidations(Arc::downgrade(self), l2.client.clone(), self.channel(), l2.config().clone());
        tokio::spawn(task);
    }

    fn channel(&self) -> String {
        format!("{}:invalidations", self.prefix)
    }

    fn generation_key(&self, tag: &str) -> String {
        format!("{}:g:{tag}", self.prefix)
    }

    /// The longest lifetime of any entry stored under this prefix (see `l2.rs`).
    fn lifetime_key(&self) -> String {
        format!("{}:g-lifetime", self.prefix)
    }

    /// The in-process key of a request: cheap, and all an L1 hit needs. `scope` is who the
    /// answer is for (see `client::scope`): the same request asked by another principal is
    /// another key.
    pub fn l1_key(&self, rpc: &RpcDescriptor, scope: &str, request: &[u8]) -> Arc<[u8]> {
        let mut l1 = Vec::with_capacity(rpc.service.len() + rpc.method.len() + scope.len() + 11 + request.len());
        l1.extend_from_slice(rpc.service.as_bytes());
        l1.push(b'/');
        l1.extend_from_slice(rpc.method.as_bytes());
        l1.push(0);
        l1.extend_from_slice(&rpc.schema.to_be_bytes());
        l1.extend_from_slice(scope.as_bytes());
        l1.push(0);
        l1.extend_from_slice(request);
        Arc::from(l1)
    }

    /// The key of a request to an RPC, asked in `scope`; `entities` are ids the request is
    /// about.
    pub fn key(&self, rpc: &RpcDescriptor, scope: &str, request: &[u8], entities: &[String]) -> CacheKey {
        self.key_from(self.l1_key(rpc, scope, request), rpc, scope, request, entities)
    }

    /// The full key (Redis key and tags) for an L1 key computed already. The key's own tag
    /// names the request without its scope, so that invalidating a request reaches every
    /// principal's answer to it.
    pub(crate) fn key_from(&self, l1: Arc<[u8]>, rpc: &RpcDescriptor, scope: &str, request: &[u8], entities: &[String]) -> CacheKey {
        let digest = hex(&Sha256::digest(request));
        let scoped = if scope.is_empty() {
            digest.clone()
        } else {
            hex(&Sha256::new().chain_update(scope.as_bytes()).chain_update([0]).chain_update(request).finalize())
        };
        let l2 = format!("{}:c:{}:{}:{:016x}:{scoped}", self.prefix, rpc.service, rpc.method, rpc.schema);
        let mut tags = vec![format!("k:{}/{}:{:016x}:{digest}", rpc.service, rpc.method, rpc.schema)];
        tags.extend(entities.iter().map(|e| self.entity_tag(entity_of(e))));
        CacheKey { l1, l2, tags: Arc::from(tags) }
    }

    fn entity_tag(&self, entity: impl std::fmt::Display) -> String {
        format!("e:{}:{entity}", self.owner)
    }

    fn generation_keys(&self, tags: &[String]) -> Vec<String> {
        tags.iter().map(|t| self.generation_key(t)).collect()
    }

    /// Looks in L1 only.
    pub async fn lookup_l1(&self, l1: &Arc<[u8]>) -> Lookup {
        let Some(found) = self.l1.get(l1).await else { return Lookup::Miss };
        if !self.generations.is_current(&found.tags, found.loaded_at) {
            return Lookup::Miss;
        }
        if now_ms() < found.fresh_until_ms { Lookup::Fresh(found.payload.clone(), Level::L1) } else { Lookup::Stale(found.payload.clone()) }
    }

    /// Looks in L2 only; also returns what it saw of the key's generations, for the load that
    /// follows a miss.
    pub async fn lookup_l2(&self, key: &CacheKey) -> (Lookup, Snapshot) {
        self.lookup_l2_many(std::slice::from_ref(key)).await.pop().unwrap_or((Lookup::Miss, Snapshot::default()))
    }

    /// Looks `keys` up in L2 in one round trip (their entries and the generations of all their
    /// tags); for each, what it found and what it saw of its generations.
    pub(crate) async fn lookup_l2_many(&self, keys: &[CacheKey]) -> Vec<(Lookup, Snapshot)> {
        let missed = || keys.iter().map(|_| (Lookup::Miss, Snapshot::default())).collect();
        let Some(l2) = &self.l2 else { return missed() };
        // Each tag once, however many keys share it (a batch's viewer tag).
        let mut tags: Vec<&String> = keys.iter().flat_map(|key| key.tags.iter()).collect();
        tags.sort_unstable();
        tags.dedup();
        let generation_keys: Vec<String> = tags.iter().map(|tag| self.generation_key(tag)).collect();
        let entry_keys: Vec<&str> = keys.iter().map(|key| key.l2.as_str()).collect();
        // Before the round trip: a change heard during it makes a promoted entry not current.
        let since = self.generations.now();
        let taken = Instant::now();
        let Some((entries, generations)) = l2.get_with_generations(&entry_keys, &generation_keys).await else { return missed() };
        let mut found = Vec::with_capacity(keys.len());
        for (key, bytes) in keys.iter().zip(entries) {
            let remote: Vec<u64> =
                key.tags.iter().map(|tag| tags.binary_search(&tag).ok().and_then(|i| generations.get(i).copied()).unwrap_or(0)).collect();
            let snapshot = Snapshot { remote: Some(Arc::from(remote)), taken: Some(taken) };
            let lookup = self.judge(key, bytes.as_deref(), &snapshot, since).await;
            found.push((lookup, snapshot));
        }
        found
    }

    /// What the bytes found in Redis for `key` are worth, given the generations there now; a
    /// fresh entry is promoted to L1.
    async fn judge(&self, key: &CacheKey, bytes: Option<&[u8]>, snapshot: &Snapshot, since: u64) -> Lookup {
        let entry = match bytes.map(|bytes| Entry::open(bytes, &self.mac_key, &key.l2)) {
            Some(Ok(entry)) => entry,
            Some(Err(Unsealed::Forged)) => {
                self.metrics.forged.increment(1);
                tracing::warn!(owner = self.owner, key = %key.l2, "a cache entry in redis does not carry this deployment's seal: ignored (a planted entry, or NOVA_CACHE_KEY differs between replicas)");
                return Lookup::Miss;
            }
            Some(Err(Unsealed::Foreign)) | None => return Lookup::Miss,
        };
        if !snapshot.remote.as_deref().is_some_and(|remote| entry.is_current(remote)) {
            return Lookup::Miss;
        }
        let now = now_ms();
        if entry.is_fresh(now) {
            let payload = entry.payload.clone();
            self.remember(key, &entry, since).await;
            return Lookup::Fresh(payload, Level::L2);
        }
        if entry.is_usable_stale(now) { Lookup::Stale(entry.payload) } else { Lookup::Miss }
    }

    /// Keeps `entry` in L1, unless a change heard since tick `since` (or a lost subscription)
    /// already makes it not current there.
    async fn remember(&self, key: &CacheKey, entry: &Entry, since: u64) {
        if !self.generations.is_current(&key.tags, since) {
            return;
        }
        let l1 = L1Entry {
            payload: entry.payload.clone(),
            fresh_until_ms: entry.fresh_until_ms,
            stale_until_ms: entry.stale_until_ms,
            tags: key.tags.clone(),
            loaded_at: since,
        };
        self.l1.insert(key.l1.clone(), Arc::new(l1)).await;
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

    /// Stores a loaded response: in L1 if nothing changed since the load started (tick
    /// `started`), and in Redis (queued for the writer, `writer.rs`) if the generations there
    /// still match the snapshot the load started from.
    async fn store(self: &Arc<Self>, key: &CacheKey, policy: CachePolicy, started: u64, snapshot: &Snapshot, payload: Bytes) {
        self.store_all(vec![(key, policy, snapshot, payload)], started).await;
    }

    /// Stores the answers of one load (tick `started`) as [`ResponseCache::store`] does, their
    /// Redis copies in one write-back.
    pub(crate) async fn store_all(self: &Arc<Self>, answers: Vec<(&CacheKey, CachePolicy, &Snapshot, Bytes)>, started: u64) {
        let mut stores = Vec::new();
        let mut oldest: Option<Instant> = None;
        for (key, policy, snapshot, payload) in answers {
            let fresh_until_ms = now_ms().saturating_add(u64::try_from(policy.ttl.as_millis()).unwrap_or(u64::MAX));
            let stale_until_ms = fresh_until_ms.saturating_add(u64::try_from(policy.stale_if_error.as_millis()).unwrap_or(u64::MAX));
            let remote = snapshot.remote.as_deref().map(<[u64]>::to_vec).unwrap_or_default();
            let entry = Entry { payload, fresh_until_ms, stale_until_ms, generations: remote };
            if let (Some(_), Some(_), Some(taken)) = (&self.l2, &snapshot.remote, snapshot.taken)
                && taken.elapsed() < MAX_SNAPSHOT_AGE
            {
                // The caller has its answer; the script refuses the write if an invalidation came first.
                stores.push(Store {
                    key: key.l2.clone(),
                    bytes: entry.encode(&self.mac_key, &key.l2),
                    lifetime: policy.ttl + policy.stale_if_error,
                    generation_keys: self.generation_keys(&key.tags),
                    expected: entry.generations.clone(),
                });
                oldest = Some(oldest.map_or(taken, |o| o.min(taken)));
            }
            self.remember(key, &entry, started).await;
        }
        if let Some(taken) = oldest {
            self.write_back(Queued { stores, taken });
        }
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
        let Some(l2) = &self.l2 else {
            self.generations.bumped(tag, None);
            return;
        };
        let generation = l2.bump(&self.generation_key(tag), &self.lifetime_key(), &self.channel(), tag).await;
        if generation.is_none() {
            self.metrics.publish_failures.increment(1);
            tracing::warn!(
                owner = self.owner,
                tag,
                "invalidation not recorded in redis: other replicas may serve the old response until its TTL ends"
            );
        }
        self.generations.bumped(tag, generation);
    }

    /// A message from the invalidation feed: `<generation>\t<tag>`.
    fn heard(&self, message: &str) {
        let parsed = message.split_once('\t').and_then(|(generation, tag)| Some((generation.parse::<u64>().ok()?, tag)));
        match parsed {
            Some((generation, tag)) => {
                self.generations.heard(tag, generation);
            }
            None => {
                // Something changed, but what? Start over rather than guess.
                tracing::warn!(message, "unreadable cache invalidation; dropping L1");
                self.generations.trust_from_now();
                self.l1.invalidate_all();
            }
        }
    }

    fn subscription_established(&self) {
        self.generations.trust_from_now();
        self.l1.invalidate_all();
        if !self.trusted.send_replace(true) {
            self.metrics.subscription_changed(true);
        }
        tracing::info!(owner = self.owner, channel = %self.channel(), "subscribed to cache invalidations; L1 in use");
    }

    fn subscription_lost(&self, why: &str) {
        self.generations.distrust();
        self.l1.invalidate_all();
        if self.trusted.send_replace(false) {
            self.metrics.subscription_changed(false);
        }
        tracing::warn!(owner = self.owner, channel = %self.channel(), why, "cache invalidation subscription lost; L1 bypassed until it is back");
    }

    /// Whether L1 is trusted, as it changes (see [`CacheStats::l1_trusted`]): wait on it to
    /// know that a new cache has subscribed, or that a lost subscription is back.
    pub fn l1_trusted(&self) -> watch::Receiver<bool> {
        self.trusted.subscribe()
    }

    /// What the cache holds now.
    pub async fn stats(&self) -> CacheStats {
        self.l1.run_pending_tasks().await;
        CacheStats {
            l1_entries: self.l1.entry_count(),
            tags_tracked: self.generations.len(),
            loads_in_flight: self.flights.len(),
            l1_trusted: self.generations.is_trusted(),
            redis_lookups: self.l2.as_ref().map_or(0, |l2| l2.round_trips.lookups.load(Ordering::Relaxed)),
            redis_writes: self.l2.as_ref().map_or(0, |l2| l2.round_trips.writes.load(Ordering::Relaxed)),
            redis_bumps: self.l2.as_ref().map_or(0, |l2| l2.round_trips.bumps.load(Ordering::Relaxed)),
        }
    }

    /// Drops every L1 entry (tests and benchmarks use it to reach L2).
    pub fn clear_l1(&self) {
        self.l1.invalidate_all();
    }

    /// How long a paired single-id read waits for others to share its batch call.
    pub fn coalesce_window(&self) -> Duration {
        self.coalesce_window
    }

    /// Whether Redis is configured as L2 (whether or not it answers now).
    pub fn has_l2(&self) -> bool {
        self.l2.is_some()
    }
}

impl Drop for ResponseCache {
    fn drop(&mut self) {
        if self.l2.is_some() {
            self.metrics.subscriber_dropped(*self.trusted.borrow());
        }
    }
}

/// The entity an id names in tags: itself, except a bearer token (VerifyToken's `access_token`),
/// which names its subject. So the token never becomes part of a Redis key, and dropping the
/// user (a logout, a password change, an account deletion) drops every cached answer about
/// any of their tokens. The subject is read without verifying the token: a forged one can
/// only tag the forger's own answer.
fn entity_of(id: &str) -> std::borrow::Cow<'_, str> {
    if id.bytes().filter(|b| *b == b'.').count() == 2
        && let Some(user) = crate::identity::unverified_subject(id)
    {
        return std::borrow::Cow::Owned(user.to_string());
    }
    std::borrow::Cow::Borrowed(id)
}
