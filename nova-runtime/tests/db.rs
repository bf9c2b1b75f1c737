//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::time::Duration;

use nova_runtime::db::{DatabaseConfig, quote_identifier};
#[test]
fn identifiers_are_quoted() {
    assert_eq!(quote_identifier("nova_auth"), "\"nova_auth\"");
    assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
}

#[test]
fn defaults_fail_fast_and_wait_for_the_database_at_start() {
    let config = DatabaseConfig::for_url("postgres://localhost/x");
    assert_eq!(config.acquire_timeout, Duration::from_millis(250));
    assert_eq!(config.startup_wait, Duration::from_secs(60));
    assert_eq!(config.probe_interval, Duration::from_millis(500));
    assert_eq!(config.probe_timeout, Duration::from_secs(1));
    assert_eq!(config.max_connections, 10);
    assert!(config.create_if_missing);
    assert!(config.migration_url.is_none());
}
