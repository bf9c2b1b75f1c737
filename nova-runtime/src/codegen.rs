//! The one path generated code uses to reach its dependencies, so that generated crates do
//! not pin versions of their own (see tonic's `codegen` module for the same idea).

pub use chrono;
pub use prost;
pub use prost_types;
pub use serde;
pub use serde_json;
pub use sqlx;
pub use tokio;
pub use tonic;
pub use tracing;
pub use uuid;
