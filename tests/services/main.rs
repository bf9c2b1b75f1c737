//! Each service's RPCs over real gRPC (one module per former test binary), each test starting
//! the services it needs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod auth_rpcs;
mod bad_input;
mod content_harness;
mod content_rpcs;
mod feed_rpcs;
mod implemented;
mod media_cdn;
mod media_rpcs;
mod messaging_rpcs;
mod search_rpcs;
mod stateless_service;
mod streaming_rpcs;
mod user_rpcs;
