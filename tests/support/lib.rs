//! Helpers for integration tests: a throwaway database per test, services started on
//! loopback ports, and waiting until they serve. Tests run in parallel, so nothing here is
//! shared between tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

pub mod database;
pub mod metrics;
pub mod policy;
pub mod proxy;
pub mod redis_prefix;
pub mod scripted;
pub mod service;

pub use database::TestDatabase;
pub use scripted::{Script, Scripted, start_scripted};
pub use service::{RunningService, wait_until_serving};
