//! Logging setup shared by every service binary.

use tracing_subscriber::EnvFilter;

/// Structured logs to stderr; `RUST_LOG` overrides the default `info` level. Safe to call
/// more than once (tests start several services in one process).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_set = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
