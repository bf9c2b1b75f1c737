//! A Redis key prefix owned by one test: every key the test's caches write lives under it,
//! and `Drop` deletes them all, so tests run in parallel and leave nothing behind.
//!
//! Caches reach Redis as an ACL user of the test's own, with a password, allowed only the
//! keys and channels under its prefix (as production gives each deployment credentials of its
//! own): a test's clients can neither see nor touch another test's keys. Entries are sealed
//! with a key of the prefix's own, shared by every client of the test.

use std::time::Duration;

use nova_runtime::client::{CacheConfig, MacKey, RedisConfig};

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
    /// The ACL user (named like the prefix) and its password.
    password: String,
    pub mac_key: MacKey,
}

/// One admin command on the test Redis (no credentials: the machine's Redis trusts local
/// connections, the way an operator's would).
fn admin(command: &mut redis::Cmd) -> redis::RedisResult<redis::Value> {
    let client = redis::Client::open(redis_url())?;
    let mut connection = client.get_connection()?;
    command.query(&mut connection)
}

impl RedisPrefix {
    pub fn new() -> Self {
        let prefix = format!("nova-test-{}", uuid::Uuid::new_v4().simple());
        let password = uuid::Uuid::new_v4().simple().to_string();
        let created = admin(
            redis::cmd("ACL")
                .arg("SETUSER")
                .arg(&prefix)
                .arg("reset")
                .arg("on")
                .arg(format!(">{password}"))
                .arg(format!("~{prefix}:*"))
                .arg(format!("&{prefix}:*"))
                .arg("+@all")
                .arg("-@dangerous")
                .arg("+info"),
        );
        if let Err(error) = created {
            panic!("cannot create the Redis ACL user {prefix} (is Redis 6+ running at {}?): {error}", redis_url());
        }
        RedisPrefix { prefix, password, mac_key: MacKey::random() }
    }

    /// `redis://<user>:<password>@host:port` for this prefix's ACL user.
    pub fn url(&self) -> String {
        url_with_user(&redis_url(), &self.prefix, &self.password)
    }

    /// The same Redis reached at `host_port` (a proxy), as this prefix's ACL user.
    pub fn url_through(&self, host_port: &str) -> String {
        format!("redis://{}:{}@{host_port}", self.prefix, self.password)
    }

    /// L1 plus L2 in the test Redis, under this prefix, as its ACL user, with [`patient`]
    /// timeouts and the prefix's sealing key.
    pub fn cache_config(&self) -> CacheConfig {
        CacheConfig { redis: Some(patient(self.url())), key_prefix: self.prefix.clone(), mac_key: self.mac_key.clone(), ..CacheConfig::default() }
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

/// `url` (`redis://host:port[/db]`) with credentials.
fn url_with_user(url: &str, user: &str, password: &str) -> String {
    let rest = url.strip_prefix("redis://").unwrap_or(url);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("redis://{user}:{password}@{rest}")
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        if admin(redis::cmd("ACL").arg("DELUSER").arg(&self.prefix)).is_err() {
            eprintln!("warning: could not delete the Redis ACL user {}", self.prefix);
        }
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
