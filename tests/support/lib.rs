//! Helpers for integration tests: a throwaway database per test, services started on
//! loopback ports, and waiting until they serve. Tests run in parallel, so nothing here is
//! shared between tests.

pub mod database;
pub mod service;

pub use database::TestDatabase;
pub use service::{RunningService, wait_until_serving};
