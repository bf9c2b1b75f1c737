//! What the streaming service needs besides its database and its peers: the addresses it hands
//! out (where encoders publish, where players fetch) and how often stale viewer sessions are
//! swept. `start` reads them from the environment; tests build them and call `start_with`.

use nova_runtime::config::{ConfigError, env_or};

/// How often stale viewer sessions are closed, by default.
pub const DEFAULT_SWEEP_INTERVAL_SECONDS: u64 = 30;

/// Settings of the streaming service (see the module doc).
#[derive(Debug, Clone)]
pub struct StreamingSettings {
    /// The RTMP URL encoders publish to, returned with every stream key.
    pub ingest_url: String,
    /// Prefix of playback addresses: `<base>/<stream id>/index.m3u8`.
    pub playback_base_url: String,
    /// How often sessions without a heartbeat for a minute are closed on every live stream
    /// (their viewers stop counting); 0 never (joins and GetStreamViewers still close them).
    pub sweep_interval_seconds: u64,
}

impl Default for StreamingSettings {
    fn default() -> Self {
        StreamingSettings {
            ingest_url: "rtmp://127.0.0.1:1935/live".to_string(),
            playback_base_url: "http://127.0.0.1:8080/live".to_string(),
            sweep_interval_seconds: DEFAULT_SWEEP_INTERVAL_SECONDS,
        }
    }
}

impl StreamingSettings {
    /// From `NOVA_STREAMING_INGEST_URL`, `NOVA_STREAMING_PLAYBACK_BASE_URL` and
    /// `NOVA_STREAMING_SWEEP_INTERVAL_SECONDS`, each defaulting as in [`Default`].
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = StreamingSettings::default();
        Ok(StreamingSettings {
            ingest_url: env_or("NOVA_STREAMING_INGEST_URL", defaults.ingest_url)?,
            playback_base_url: env_or("NOVA_STREAMING_PLAYBACK_BASE_URL", defaults.playback_base_url)?,
            sweep_interval_seconds: env_or("NOVA_STREAMING_SWEEP_INTERVAL_SECONDS", defaults.sweep_interval_seconds)?,
        })
    }

    /// Where players fetch the stream.
    pub fn playback_url(&self, stream_id: impl std::fmt::Display) -> String {
        format!("{}/{stream_id}/index.m3u8", self.playback_base_url.trim_end_matches('/'))
    }
}
