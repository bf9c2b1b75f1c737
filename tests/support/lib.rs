//! Helpers for integration tests: a throwaway database per test, services started on
//! loopback ports, and waiting until they serve. Tests run in parallel, so nothing here is
//! shared between tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

pub mod cache_probe;
pub mod cpu;
pub mod database;
pub mod eventually;
pub mod gated;
pub mod legacy;
pub mod media_s3;
pub mod media_upload;
pub mod metrics;
pub mod pki;
pub mod policy;
pub mod private_nats;
pub mod private_postgres;
pub mod private_redis;
pub mod proxy;
pub mod raw_grpc;
pub mod redis_prefix;
pub mod scripted;
pub mod service;
pub mod statements;
pub mod system;
pub mod zipf;

pub use database::TestDatabase;
pub use gated::Gated;
pub use private_postgres::PrivatePostgres;
pub use raw_grpc::{RawGrpc, RawReply};
pub use scripted::{Script, Scripted, start_scripted};
pub use service::{HealthWatch, RunningService, SAFETY_TIMEOUT, wait_until_serving, wait_until_serving_tls};
pub use system::{TestDirectory, TestSystem, TestUser};
