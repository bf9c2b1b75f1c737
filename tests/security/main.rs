//! Who may call what: identities and tokens, revocation, failing closed, and each service's
//! access rules end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod auth_e2e;
mod content_access;
// Shared with the services binary (content_rpcs).
#[path = "../services/content_harness.rs"]
mod content_harness;
mod fail_closed;
mod identity;
mod media_access;
mod revocation;
mod streaming_access;
