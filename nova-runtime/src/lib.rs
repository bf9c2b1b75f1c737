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
//! - [`context`]: the [`CallContext`] handed to every handler, and the deadline and caller
//!   that outgoing calls inherit,
//! - [`identity`]: who is calling (certificate and bearer token) and who may call what,
//! - [`tls`]: mutual TLS between services, with identities in certificates,
//! - [`client`]: the call path of generated clients (cache, deadline propagation, circuit
//!   breaker, retries),
//! - [`error`], [`repo`] and [`sql_error`]: typed errors for business logic and
//!   repositories, with database errors classified in one place,
//! - [`db`]: the database pool and its creation,
//! - [`migrate`]: applying embedded migrations (owner role, advisory lock, no-transaction files),
//! - [`convert`] and [`paging`]: proto <-> database value conversions, checks of request text,
//!   page sizes and page tokens,
//! - [`config`], [`telemetry`] and [`periodic`]: settings from the environment, logging, and
//!   background jobs,
//! - [`metrics`]: Prometheus families of servers and clients.
//!
//! Hand-written business logic mostly needs three names, re-exported at the root:
//! [`CallContext`] (who calls, and how long they wait), [`LogicError`] (what a handler
//! returns) and [`RepoError`] (what generated repositories return; `?` turns it into a
//! `LogicError`).
//!
//! Everything public here is used by generated code, by the hand-written service crates, by
//! nova-gen or by the tests; the rest is private to the crate. Items whose docs say "for tests
//! and tools" (e.g. looking into the response cache) are public so that integration tests can
//! observe the runtime from outside.

#![warn(missing_docs, unreachable_pub)]

pub mod client;
pub mod codegen;
pub mod config;
pub mod context;
pub mod convert;
pub mod db;
pub mod error;
pub mod events;
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
pub mod users;

pub use context::CallContext;
pub use error::LogicError;
pub use repo::RepoError;
