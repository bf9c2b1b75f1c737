//! The client stack against real servers: retries, deadlines and breakers, the cache (L1, L2,
//! single flight) and its invalidation feed.
//!
//! Client metrics are process-wide: every test here reads series only it labels (a target or
//! method name of its own), so the tests of this binary never move each other's figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod cache;
mod invalidation_feed;
mod per_id;
mod resilience;
mod single_flight;
