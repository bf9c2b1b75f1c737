//! The values nova's runtime (`nova-runtime`) and its generator (`nova-gen-core`) must agree
//! on: the latency histogram's buckets (which the generated alert rules and their tests
//! read), the shutdown timing (which the generated Helm values cover), the metrics port and
//! the migration marker.
//!
//! A crate of its own, with no dependencies, so that the generator does not link the runtime
//! (tokio, sqlx, tonic) for a handful of numbers, and there is still one source of truth:
//! the runtime re-exports these where it always had them.

pub mod metrics;
pub mod migrate;
pub mod server;
