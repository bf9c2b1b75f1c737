//! `nova-gen dev`: the whole system on one machine, in one command (like `encore run`).
//!
//! Phases, in order, each in a module of its own:
//! 0. [`nats`]: the NATS JetStream server at `NOVA_NATS_URL` when one answers; otherwise the
//!    binary to start one with is found (and started after the build, stopped when `dev` exits);
//! 1. [`provision`]: every service's database and roles (`db up`), and the environment each
//!    service is started with (its login role's URL, its data directory);
//! 2. [`build`]: `cargo build` of the eight service binaries (and the seeder with `--seed`);
//! 3. [`supervisor`]: each binary started on its port, its log lines prefixed with its name,
//!    restarted with backoff when it exits unexpectedly, and drained on Ctrl-C or SIGTERM;
//!    [`health`] waits for each to report SERVING and [`table`] prints where they answer;
//! 4. with `--seed`, the seeder fills the running system with demo data through the public RPCs.

mod build;
mod health;
pub mod nats;
pub mod pki;
mod provision;
mod supervisor;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use nova_gen_core::layout::Layout;
use nova_gen_core::{Analysis, Failure};

/// What `nova-gen dev` was asked to do.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Build and run release binaries (what the start-to-SERVING figures are measured with).
    pub release: bool,
    /// Run the seeder once every service is SERVING.
    pub seed: bool,
    /// The PostgreSQL server and a role that may create databases and roles.
    pub db_url: String,
    /// Where `db up` keeps the login roles' passwords (and `dev` its keys).
    pub secrets: PathBuf,
    /// The Redis server, as a user that may create users (`ACL SETUSER`).
    pub redis_url: String,
    /// Stop after every service is SERVING (and the seed ran) instead of supervising until a
    /// signal: for scripts and CI, which want the table and the exit status.
    pub exit_when_ready: bool,
    /// How long a service may take from its start to SERVING before the table says so.
    pub ready_timeout: Duration,
}

/// Runs the whole system until Ctrl-C or SIGTERM (or until ready, see
/// [`DevOptions::exit_when_ready`]). Exit 0 after a clean stop; 1 when a service never became
/// SERVING or the seed failed.
pub fn run(layout: &Layout, analysis: &Analysis, options: &DevOptions) -> Result<ExitCode, Failure> {
    let nats = nats::Plan::find(&layout.root)?;
    let system = provision::provision(layout, analysis, options, nats.url())?;
    let binaries = build::build(layout, &system.services, options)?;
    // Started after the build (minutes, during which a Ctrl-C would leave it behind); dropped,
    // so stopped, after the services.
    let _nats = nats.start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Failure::io("starting tokio"))?;
    let ok = runtime.block_on(supervisor::run(layout, system, binaries, options));
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
