//! How a service reaches NATS and how hard its consumers retry (`NOVA_NATS_*`,
//! `NOVA_EVENTS_*`).

use std::time::Duration;

use crate::config::{ConfigError, env_duration, env_or};

/// Where NATS listens when `NOVA_NATS_URL` is not set: nova's own JetStream server
/// (`nova-gen dev` and `.ci/run` start it with `sync_interval: always`), not a system one.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4322";

/// The events settings of one service.
#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// `NOVA_NATS_URL`.
    pub nats_url: String,
    /// Copies JetStream keeps of each stream (`NOVA_EVENTS_REPLICAS`, 1; 3 in a cluster).
    pub replicas: usize,
    /// Deliveries of one event before it is dead-lettered (`NOVA_EVENTS_MAX_DELIVERIES`, 5).
    pub max_deliveries: i64,
    /// The delay before the first retry of a failed event, doubled per delivery up to
    /// 32 times it (`NOVA_EVENTS_RETRY_DELAY`, 1s).
    pub retry_delay: Duration,
    /// Outbox rows the relay claims per transaction (`NOVA_EVENTS_RELAY_BATCH`, 500; below
    /// JetStream's limit of pending publish acks).
    pub relay_batch: i64,
    /// How often a standby relay asks for leadership (`NOVA_EVENTS_RELAY_POLL`, 1s).
    pub relay_poll: Duration,
    /// The longest an idle leader waits before looking for new outbox rows
    /// (`NOVA_EVENTS_RELAY_IDLE`, 50ms): it looks again 1 ms after finding none, doubling up to
    /// this, and at once after moving some. (Writers send no NOTIFY: PostgreSQL serialises
    /// every notifying commit of the whole server on one lock, which halved write throughput.)
    pub relay_idle: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            nats_url: DEFAULT_NATS_URL.to_string(),
            replicas: 1,
            max_deliveries: 5,
            retry_delay: Duration::from_secs(1),
            relay_batch: 500,
            relay_poll: Duration::from_secs(1),
            relay_idle: Duration::from_millis(50),
        }
    }
}

impl EventsConfig {
    /// The settings from the environment, with [`Default`]'s values where unset.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when a variable is set to something unusable.
    pub fn from_env() -> Result<Self, ConfigError> {
        let default = EventsConfig::default();
        let config = EventsConfig {
            nats_url: env_or("NOVA_NATS_URL", default.nats_url)?,
            replicas: env_or("NOVA_EVENTS_REPLICAS", default.replicas)?,
            max_deliveries: env_or("NOVA_EVENTS_MAX_DELIVERIES", default.max_deliveries)?,
            retry_delay: env_duration("NOVA_EVENTS_RETRY_DELAY", default.retry_delay)?,
            relay_batch: env_or("NOVA_EVENTS_RELAY_BATCH", default.relay_batch)?,
            relay_poll: env_duration("NOVA_EVENTS_RELAY_POLL", default.relay_poll)?,
            relay_idle: env_duration("NOVA_EVENTS_RELAY_IDLE", default.relay_idle)?,
        };
        let refuse = |name: &str, value: String, reason: &str| ConfigError { name: name.to_string(), value, reason: reason.to_string() };
        if !(1..=5).contains(&config.replicas) {
            return Err(refuse("NOVA_EVENTS_REPLICAS", config.replicas.to_string(), "JetStream keeps 1 to 5 replicas"));
        }
        if config.max_deliveries < 1 {
            return Err(refuse("NOVA_EVENTS_MAX_DELIVERIES", config.max_deliveries.to_string(), "at least one delivery"));
        }
        if !(1..=4000).contains(&config.relay_batch) {
            return Err(refuse(
                "NOVA_EVENTS_RELAY_BATCH",
                config.relay_batch.to_string(),
                "1 to 4000 (JetStream allows 5000 unacknowledged publishes)",
            ));
        }
        if config.relay_poll.is_zero() {
            return Err(refuse("NOVA_EVENTS_RELAY_POLL", "0".to_string(), "a positive duration"));
        }
        if config.relay_idle.is_zero() {
            return Err(refuse("NOVA_EVENTS_RELAY_IDLE", "0".to_string(), "a positive duration"));
        }
        Ok(config)
    }

    /// The delay before redelivering an event delivered `deliveries` times.
    pub fn retry_after(&self, deliveries: i64) -> Duration {
        let doublings = u32::try_from(deliveries.saturating_sub(1).clamp(0, 5)).unwrap_or(5);
        self.retry_delay.saturating_mul(1 << doublings)
    }

    /// Connects to NATS; the client keeps reconnecting in the background, so a service starts
    /// (and its writes go on filling the outbox) while NATS is down.
    ///
    /// # Errors
    ///
    /// [`super::EventsError::Nats`] when the URL is malformed.
    pub async fn connect(&self) -> Result<async_nats::jetstream::Context, super::EventsError> {
        let client =
            async_nats::ConnectOptions::new().retry_on_initial_connect().connect(self.nats_url.as_str()).await.map_err(super::EventsError::nats)?;
        Ok(async_nats::jetstream::new(client))
    }

    /// Connects to NATS once, for a tool: fails (instead of retrying in the background) when
    /// the server does not answer within a few seconds.
    ///
    /// # Errors
    ///
    /// [`super::EventsError::Nats`] when the URL is malformed or the server does not answer.
    pub async fn connect_once(&self) -> Result<async_nats::jetstream::Context, super::EventsError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(std::time::Duration::from_secs(5))
            .connect(self.nats_url.as_str())
            .await
            .map_err(super::EventsError::nats)?;
        Ok(async_nats::jetstream::new(client))
    }
}
