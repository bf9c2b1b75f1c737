//! What nova's generated service crates run on.
//!
//! Generated code reaches everything through [`codegen`], so a generated crate needs only
//! this crate (plus prost/tonic for the message code). The pieces are ordinary, unit-tested
//! Rust rather than code inside `quote!` blocks:
//! - [`rpc`]: the static description of an RPC (name, idempotency, call policy),
//! - [`server`]: the unary handler wrapper (deadline, panic isolation, error mapping,
//!   logging) and the bootstrap (health, graceful shutdown),
//! - [`client`]: the call path of generated clients (deadline propagation),
//! - [`error`] and [`repo`]: typed errors for business logic and repositories,
//! - [`db`]: database creation and embedded migrations,
//! - [`convert`]: proto <-> database value conversions.

pub mod client;
pub mod codegen;
pub mod config;
pub mod context;
pub mod convert;
pub mod db;
pub mod error;
pub mod metrics;
mod metrics_http;
pub mod repo;
pub mod rpc;
pub mod server;
pub mod telemetry;

pub use context::CallContext;
pub use error::LogicError;
pub use repo::RepoError;
