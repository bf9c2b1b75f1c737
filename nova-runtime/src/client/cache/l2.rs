//! The Redis half of the cache (L2), shared by every replica. Redis is an optimisation: each
//! operation has a short timeout, and after a failure L2 is skipped for a cool-down, so a
//! Redis outage costs callers at most one timeout, never a failed call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, RedisResult, Script};

use super::now_ms;

#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: String,
    /// Longest any single Redis operation may take before L2 is treated as down.
    pub op_timeout: Duration,
    /// How long L2 is skipped after a failure.
    pub cooldown: Duration,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig { url: url.into(), op_timeout: Duration::from_millis(50), cooldown: Duration::from_secs(1) }
    }
}

/// Writes an entry only if none of its tags' generations moved since the load began, so an
/// in-flight load cannot put back data that an invalidation removed.
const STORE_IF_CURRENT: &str = r"
for i = 1, #KEYS - 1 do
  local current = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  if current > tonumber(ARGV[i + 2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

pub struct L2 {
    pub client: redis::Client,
    connection: ConnectionManager,
    config: RedisConfig,
    down_until_ms: AtomicU64,
    store_script: Script,
}

impl std::fmt::Debug for L2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2").field("url", &self.config.url).finish()
    }
}

impl L2 {
    pub fn connect(config: RedisConfig) -> RedisResult<Self> {
        let client = redis::Client::open(config.url.as_str())?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.op_timeout))
            .set_response_timeout(Some(config.op_timeout))
            .set_number_of_retries(1);
        let connection = client.get_connection_manager_lazy(manager_config)?;
        Ok(L2 { client, connection, config, down_until_ms: AtomicU64::new(0), store_script: Script::new(STORE_IF_CURRENT) })
    }

    pub fn is_available(&self) -> bool {
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
        crate::metrics::cache_l2_error();
    }

    /// The entry bytes and the current generations of `generation_keys`, in one round trip.
    pub async fn get_with_generations(&self, key: &str, generation_keys: &[String]) -> Option<(Option<Vec<u8>>, Vec<u64>)> {
        let mut connection = self.connection.clone();
        let mut pipe = redis::pipe();
        pipe.get(key).cmd("MGET").arg(generation_keys);
        let (value, generations): (Option<Vec<u8>>, Vec<Option<u64>>) = self.run(pipe.query_async(&mut connection)).await?;
        Some((value, generations.into_iter().map(|g| g.unwrap_or(0)).collect()))
    }

    pub async fn generations(&self, generation_keys: &[String]) -> Option<Vec<u64>> {
        let mut connection = self.connection.clone();
        let keys = generation_keys.to_vec();
        let values: Vec<Option<u64>> = self.run(async move { connection.mget(keys).await }).await?;
        Some(values.into_iter().map(|g| g.unwrap_or(0)).collect())
    }

    /// Stores `value` for `ttl` unless a generation moved past `expected`; `Some(true)` if stored.
    pub async fn store_if_current(&self, key: &str, value: &[u8], ttl: Duration, generation_keys: &[String], expected: &[u64]) -> Option<bool> {
        let mut connection = self.connection.clone();
        let mut invocation = self.store_script.key(key);
        invocation.arg(value).arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
        for (generation_key, generation) in generation_keys.iter().zip(expected) {
            invocation.key(generation_key).arg(*generation);
        }
        let stored: i64 = self.run(invocation.invoke_async(&mut connection)).await?;
        Some(stored == 1)
    }

    /// Bumps a generation and tells the other replicas; the new value.
    pub async fn bump(&self, generation_key: &str, channel: &str, tag: &str) -> Option<u64> {
        let mut connection = self.connection.clone();
        let value: u64 = self.run(connection.incr(generation_key, 1u64)).await?;
        let message = format!("{value}\t{tag}");
        let _delivered: Option<i64> = self.run(connection.publish(channel, message)).await;
        Some(value)
    }

    pub async fn delete(&self, key: &str) {
        let mut connection = self.connection.clone();
        let _removed: Option<i64> = self.run(connection.del(key)).await;
    }
}
