//! The Redis half of the cache (L2), shared by every replica. Redis is an optimisation: each
//! operation has a short timeout, and after a failure L2 is skipped for a cool-down, so a
//! Redis outage costs callers at most one timeout, never a failed call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, RedisResult, Script};

use super::now_ms;

/// Where L2 lives and how patient the cache is with it: every timeout is short because Redis
/// only saves work, and a slow Redis must not slow calls down.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: String,
    /// Longest any single Redis operation may take before L2 is treated as down.
    pub op_timeout: Duration,
    /// How long L2 is skipped after a failure.
    pub cooldown: Duration,
    /// How often the invalidation subscription is checked with a PING: a connection that
    /// died silently (no FIN, e.g. a network partition) is noticed within `heartbeat +
    /// heartbeat_timeout`.
    pub heartbeat: Duration,
    /// How long a PING (and a (re)subscription) may take before the subscription counts as lost.
    pub heartbeat_timeout: Duration,
}

impl RedisConfig {
    /// Redis at `url` with the default timeouts: 50 ms per operation, 1 s cool-down after a
    /// failure, a 1 s heartbeat with a 1 s timeout.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            op_timeout: Duration::from_millis(50),
            cooldown: Duration::from_secs(1),
            heartbeat: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(1),
        }
    }
}

/// The least time a generation key lives after a bump, even when no entry was ever stored
/// under this prefix. It must exceed the longest time between reading a generation snapshot
/// and the store that uses it (a load's deadline plus the write-back), which
/// `MAX_SNAPSHOT_AGE` (60 s) bounds with a wide margin.
pub const MIN_GENERATION_LIFETIME: Duration = Duration::from_secs(600);

/// A load whose generation snapshot is older than this does not write back to Redis.
pub(crate) const MAX_SNAPSHOT_AGE: Duration = Duration::from_secs(60);

/// Writes entries, each only if no generation of its tags moved since the load read them, so
/// an in-flight load cannot put back data that an invalidation removed. Many entries go in
/// one call: the write-backs queued while the previous write ran (`writer.rs`), so that a
/// batch of misses, or a busy client, costs one round trip for all its write-backs.
///
/// KEYS: the lifetime key, then per entry: the entry's key and one generation key per tag.
/// ARGV: per entry: its number of tags, its lifetime (ms), its bytes, then the expected
/// generation per tag. Returns how many entries were written.
///
/// Expiry of generation keys (what keeps Redis bounded) is safe because a generation key
/// always outlives every entry stored under it:
/// - a generation key that exists is given at least the entry's lifetime (plus a second)
///   here, atomically with the write; bumps only ever lengthen it;
/// - for a tag without a key (generation 0), the lifetime key first records the longest entry
///   lifetime ever stored, and the bump that creates the key gives it at least that;
/// - the generations must be *equal* to the snapshot: lower means the key expired and started
///   again since the snapshot, and the entry would look current after a later bump.
const STORE_IF_CURRENT: &str = r"
local longest = tonumber(redis.call('GET', KEYS[1]) or '0')
local k, a, stored = 2, 1, 0
while a <= #ARGV do
  local tags, lifetime = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local current = true
  for i = 1, tags do
    if tonumber(redis.call('GET', KEYS[k + i]) or '0') ~= tonumber(ARGV[a + 2 + i]) then
      current = false
      break
    end
  end
  if current then
    if lifetime > longest then
      redis.call('SET', KEYS[1], lifetime)
      longest = lifetime
    end
    -- A second beyond the entry: the generation key's expiry and the entry's are set by two
    -- commands, and an equal lifetime left the key expiring a millisecond before the entry.
    local outlive = lifetime + 1000
    for i = 1, tags do
      local ttl = redis.call('PTTL', KEYS[k + i])
      if ttl >= 0 and ttl < outlive then redis.call('PEXPIRE', KEYS[k + i], outlive) end
    end
    redis.call('SET', KEYS[k], ARGV[a + 2], 'PX', lifetime)
    stored = stored + 1
  end
  k = k + 1 + tags
  a = a + 3 + tags
end
return stored
";

/// Bumps a generation, makes it live at least as long as any entry (see above), and tells
/// the other replicas, in one atomic step: an invalidation recorded in Redis is always
/// published.
///
/// KEYS: the generation key, the lifetime key. ARGV: the channel, the tag, the least lifetime (ms).
const BUMP: &str = r"
local generation = redis.call('INCR', KEYS[1])
local lifetime = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), tonumber(ARGV[3]))
local ttl = redis.call('PTTL', KEYS[1])
if ttl < lifetime then redis.call('PEXPIRE', KEYS[1], lifetime) end
redis.call('PUBLISH', ARGV[1], generation .. '	' .. ARGV[2])
return generation
";

/// Redis round trips made, by kind: what tests count (a miss must cost one lookup in front of
/// the call; write-backs are batched).
#[derive(Debug, Default)]
pub(crate) struct RoundTrips {
    pub(crate) lookups: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) bumps: AtomicU64,
}

/// One entry to write back if its tags' generations are still `expected`.
#[derive(Debug)]
pub(crate) struct Store {
    pub(crate) key: String,
    pub(crate) bytes: bytes::Bytes,
    pub(crate) lifetime: Duration,
    pub(crate) generation_keys: Vec<String>,
    pub(crate) expected: Vec<u64>,
}

/// The connection to Redis and the scripts run there; skipped while down.
pub(crate) struct L2 {
    pub(crate) client: redis::Client,
    connection: ConnectionManager,
    config: RedisConfig,
    down_until_ms: AtomicU64,
    store_script: Script,
    bump_script: Script,
    pub(crate) round_trips: RoundTrips,
}

impl std::fmt::Debug for L2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2").field("url", &self.config.url).finish()
    }
}

impl L2 {
    pub(crate) fn connect(config: RedisConfig) -> RedisResult<Self> {
        let client = redis::Client::open(config.url.as_str())?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.op_timeout))
            .set_response_timeout(Some(config.op_timeout))
            .set_number_of_retries(1);
        let connection = client.get_connection_manager_lazy(manager_config)?;
        Ok(L2 {
            client,
            connection,
            config,
            down_until_ms: AtomicU64::new(0),
            store_script: Script::new(STORE_IF_CURRENT),
            bump_script: Script::new(BUMP),
            round_trips: RoundTrips::default(),
        })
    }

    pub(crate) fn config(&self) -> &RedisConfig {
        &self.config
    }

    pub(crate) fn is_available(&self) -> bool {
        now_ms() >= self.down_until_ms.load(Ordering::Relaxed)
    }

    /// Runs one operation within the timeout; `None` (and a cool-down) on any failure.
    async fn run<T>(&self, operation: impl std::future::Future<Output = RedisResult<T>>) -> Option<T> {
        if !self.is_available() {
            return None;
        }
        match tokio::time::timeout(self.config.op_timeout, operation).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                self.trip(&error.to_string());
                None
            }
            Err(_) => {
                self.trip("timed out");
                None
            }
        }
    }

    fn trip(&self, why: &str) {
        let until = now_ms() + u64::try_from(self.config.cooldown.as_millis()).unwrap_or(u64::MAX);
        let previous = self.down_until_ms.swap(until, Ordering::Relaxed);
        if previous < now_ms() {
            tracing::warn!(url = %self.config.url, error = why, cooldown = ?self.config.cooldown, "redis cache unavailable; serving from L1 and upstream");
        }
        super::metrics::l2_error();
    }

    /// The bytes of each of `keys` and the current generations of `generation_keys`, in one
    /// round trip.
    pub(crate) async fn get_with_generations(&self, keys: &[&str], generation_keys: &[String]) -> Option<(Vec<Option<Vec<u8>>>, Vec<u64>)> {
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.get(*key);
        }
        pipe.cmd("MGET").arg(generation_keys);
        self.round_trips.lookups.fetch_add(1, Ordering::Relaxed);
        let mut replies: Vec<redis::Value> = self.run(pipe.query_async(&mut connection)).await?;
        let generations = replies.pop()?;
        let generations: Vec<Option<u64>> = redis::from_redis_value(generations).ok()?;
        let values = replies.into_iter().map(|value| redis::from_redis_value::<Option<Vec<u8>>>(value).ok().flatten()).collect();
        Some((values, generations.into_iter().map(|g| g.unwrap_or(0)).collect()))
    }

    /// Writes each entry unless a generation of its tags differs from its snapshot, in one
    /// round trip; how many were written.
    pub(crate) async fn store_if_current(&self, lifetime_key: &str, stores: &[Store]) -> Option<u64> {
        let mut connection = self.connection.clone();
        let mut invocation = self.store_script.key(lifetime_key);
        for store in stores {
            invocation.key(&store.key);
            invocation.arg(store.generation_keys.len()).arg(millis(store.lifetime)).arg(store.bytes.as_ref());
            for (generation_key, generation) in store.generation_keys.iter().zip(&store.expected) {
                invocation.key(generation_key).arg(*generation);
            }
        }
        self.round_trips.writes.fetch_add(1, Ordering::Relaxed);
        self.run(invocation.invoke_async(&mut connection)).await
    }

    /// Bumps a generation and tells the other replicas; the new generation, or `None` if Redis
    /// did not answer (then nothing was published: the script is atomic).
    pub(crate) async fn bump(&self, generation_key: &str, lifetime_key: &str, channel: &str, tag: &str) -> Option<u64> {
        let mut connection = self.connection.clone();
        let mut invocation = self.bump_script.key(generation_key);
        invocation.key(lifetime_key).arg(channel).arg(tag).arg(millis(MIN_GENERATION_LIFETIME));
        self.round_trips.bumps.fetch_add(1, Ordering::Relaxed);
        self.run(invocation.invoke_async(&mut connection)).await
    }

    pub(crate) async fn delete(&self, key: &str) {
        let mut connection = self.connection.clone();
        let _removed: Option<i64> = self.run(connection.del(key)).await;
    }
}

/// Milliseconds for `PX`/`PEXPIRE`: at least 1 (0 is an error for `SET ... PX`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}
