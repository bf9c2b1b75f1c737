//! Events end to end against a NATS JetStream server of each test's own and real PostgreSQL:
//! the relay killed during a load, NATS restarted during a load, a poison event dead-lettered
//! and replayed, and an account deletion followed by every service.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod account_deletion;
mod dead_letters;
mod harness;
mod invalidation;
mod nats_restart;
mod relay_kill;
