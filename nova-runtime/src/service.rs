//! The one entry point of every service binary: a scaffolded `main.rs` is
//! `nova_runtime::service::main(DESCRIPTION, start)`.
//!
//! The order matters: the signal handlers are installed first, so a SIGTERM that arrives
//! while the service is still reading its configuration, binding or waiting for its
//! database starts an orderly shutdown instead of killing the process.

use std::future::Future;
use std::process::ExitCode;

use crate::server::{Listeners, ServiceConfig, ServiceDescription, Shutdown, StartError};

/// Runs a service binary to completion: logging, signal handlers, configuration from the
/// environment, listeners, then `start` (the handwritten crate's: open the database, build
/// the `Logic`, serve) until SIGTERM. Returns the process's exit status (see [`exit_code`]).
pub fn main<F, Fut>(service: ServiceDescription, start: F) -> ExitCode
where
    F: FnOnce(ServiceConfig, Listeners, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{} service: cannot start the async runtime: {error}", service.name);
            return ExitCode::from(exit_code(&Err(StartError::Signals(error))));
        }
    };
    let result = runtime.block_on(run(service, start));
    if let Err(error) = &result {
        tracing::error!(error = %crate::error::cause_chain(error), "{} service failed", service.name);
    }
    ExitCode::from(exit_code(&result))
}

/// Everything [`main`] does inside the runtime, in order: for embedders that run their own
/// runtime.
///
/// # Errors
///
/// [`StartError::Signals`] when the handlers cannot be installed, [`StartError::Config`] or
/// [`StartError::Bind`] when configuration or binding fails, else whatever `start` returns.
pub async fn run<F, Fut>(service: ServiceDescription, start: F) -> Result<(), StartError>
where
    F: FnOnce(ServiceConfig, Listeners, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), StartError>>,
{
    let shutdown = Shutdown::on_signals().map_err(StartError::Signals)?;
    crate::telemetry::init();
    let config = ServiceConfig::from_env(&service)?;
    let listeners = Listeners::bind(&config).await?;
    start(config, listeners, shutdown).await
}

/// The exit status for how a service ended: 0 after a clean shutdown; 1 when it could not
/// start or serve; 3 when the grace period cut calls off (an orchestrator, or a human,
/// should know that callers saw failures).
pub fn exit_code(result: &Result<(), StartError>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(StartError::CallsCutOff { .. }) => 3,
        Err(_) => 1,
    }
}
