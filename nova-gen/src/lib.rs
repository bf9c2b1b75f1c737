//! nova-gen, the command: `generate`, `check` and `migrate` over [`nova_gen_core`] (specs to
//! files, no async, no database), and the two commands that need more, kept here so that the
//! core links none of it:
//! - [`db`] creates each service's database and roles on a PostgreSQL server and applies its
//!   migrations through nova-runtime's runner (`nova-gen db up`, `db status`);
//! - [`dev`] runs the whole system locally: databases, TLS material, service processes
//!   (`nova-gen dev`);
//! - [`events`] lists and replays the events consumers gave up on (`nova-gen events`).

pub mod db;
pub mod dev;
pub mod events;

use nova_gen_core::Failure;

/// Runs one command's async work to its end on a runtime of its own (the commands are
/// synchronous: `main` has no runtime).
pub(crate) fn block_on<T>(work: impl std::future::Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::io("starting tokio"))?;
    runtime.block_on(work)
}
