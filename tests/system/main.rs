//! Whole systems and single servers under stress: the eight services end to end, faults and
//! outages, what every generated server provides, and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod database_outage;
mod server;
mod shutdown;
mod system_e2e;
mod system_faults;
