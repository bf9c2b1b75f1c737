//! What operators read: the Prometheus rules against real `/metrics`, and the README's policy
//! table against the services.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod metrics_rules_sync;
mod readme_access;
