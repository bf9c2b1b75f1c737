//! A Redis key prefix owned by one test: every key the test's caches write lives under it,
//! and `Drop` deletes them all, so tests run in parallel and leave nothing behind.

use nova_runtime::client::{CacheConfig, RedisConfig};

pub fn redis_url() -> String {
    std::env::var("NOVA_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

pub struct RedisPrefix {
    pub prefix: String,
}

impl RedisPrefix {
    pub fn new() -> Self {
        RedisPrefix { prefix: format!("nova-test-{}", uuid::Uuid::new_v4().simple()) }
    }

    /// L1 plus L2 in the test Redis, under this prefix.
    pub fn cache_config(&self) -> CacheConfig {
        CacheConfig { redis: Some(RedisConfig::new(redis_url())), key_prefix: self.prefix.clone(), ..CacheConfig::default() }
    }

    /// How many keys exist under the prefix.
    pub fn key_count(&self) -> usize {
        self.keys().len()
    }

    fn keys(&self) -> Vec<String> {
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
