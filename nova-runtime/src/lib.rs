//! What nova's generated service crates run on.
//!
//! Generated code reaches everything through [`codegen`], so a generated crate needs only
//! this crate (plus prost/tonic for the message code). The pieces are ordinary, unit-tested
//! Rust rather than code inside `quote!` blocks:
//! - [`rpc`]: the static description of an RPC (name, idempotency, call policy),
//! - [`server`]: the unary handler wrapper (deadline, panic isolation, error mapping,
//!   logging) and `serve` (health that follows the database, reflection, `/metrics`,
//!   admission, deadlines, the shutdown sequence),
//! - [`service`]: the `main` of every service binary,
//! - [`client`]: the call path of generated clients (deadline propagation),
//! - [`error`], [`repo`] and [`sql_error`]: typed errors for business logic and
//!   repositories, with database errors classified in one place,
//! - [`db`]: the database pool and its creation,
//! - [`migrate`]: applying embedded migrations (owner role, advisory lock, no-transaction files),
//! - [`convert`]: proto <-> database value conversions and checks of request text,
//! - [`metrics`]: Prometheus families of servers and clients.

#![warn(missing_docs, unreachable_pub)]

pub mod client;
pub mod codegen;
pub mod config;
pub mod context;
pub mod convert;
pub mod db;
pub mod error;
pub mod identity;
pub mod metrics;
mod metrics_http;
pub mod migrate;
pub mod paging;
pub mod periodic;
pub mod repo;
pub mod rpc;
pub mod server;
pub mod service;
pub mod sql_error;
pub mod telemetry;
pub mod tls;

pub use context::CallContext;
pub use error::LogicError;
pub use repo::RepoError;
