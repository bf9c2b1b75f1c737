//! A Redis key prefix owned by one test: every key the test's caches write lives under it,
//! and `Drop` deletes them all, so tests run in parallel and leave nothing behind.

use std::time::Duration;

use nova_runtime::client::{CacheConfig, RedisConfig};

pub fn redis_url() -> String {
    std::env::var("NOVA_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// Redis settings for tests about what the cache does rather than how fast Redis answers: the
/// production timeouts (50 ms per operation, 1 s for a heartbeat) are tuning for a healthy
/// network, and a loaded 2-core test machine can exceed them, which would turn Redis "down"
/// (skipping L2, distrusting L1) at random. Tests of timeouts set their own.
pub fn patient(url: impl Into<String>) -> RedisConfig {
    RedisConfig { op_timeout: Duration::from_secs(10), heartbeat_timeout: Duration::from_secs(10), ..RedisConfig::new(url) }
}

pub struct RedisPrefix {
    pub prefix: String,
}

impl RedisPrefix {
    pub fn new() -> Self {
        RedisPrefix { prefix: format!("nova-test-{}", uuid::Uuid::new_v4().simple()) }
    }

    /// L1 plus L2 in the test Redis, under this prefix, with [`patient`] timeouts.
    pub fn cache_config(&self) -> CacheConfig {
        CacheConfig { redis: Some(patient(redis_url())), key_prefix: self.prefix.clone(), ..CacheConfig::default() }
    }

    /// How many keys exist under the prefix.
    pub fn key_count(&self) -> usize {
        self.keys().len()
    }

    /// The keys under the prefix.
    pub fn keys(&self) -> Vec<String> {
        let Ok(client) = redis::Client::open(redis_url()) else { return Vec::new() };
        let Ok(mut connection) = client.get_connection() else { return Vec::new() };
        redis::cmd("KEYS").arg(format!("{}:*", self.prefix)).query(&mut connection).unwrap_or_default()
    }
}

impl Default for RedisPrefix {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let keys = self.keys();
        if keys.is_empty() {
            return;
        }
        let deleted: Option<i64> = redis::Client::open(redis_url())
            .ok()
            .and_then(|client| client.get_connection().ok())
            .and_then(|mut connection| redis::cmd("DEL").arg(&keys).query(&mut connection).ok());
        if deleted.is_none() {
            eprintln!("warning: could not delete test keys under {}", self.prefix);
        }
    }
}
