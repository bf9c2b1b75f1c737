// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! The service's binary: configuration from the environment, then serve until SIGTERM.
use ::std::process::ExitCode;
#[tokio::main]
async fn main() -> ExitCode {
    ::nova_runtime::telemetry::init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                error = % ::nova_runtime::error::cause_chain(& error),
                "content service failed"
            );
            ExitCode::FAILURE
        }
    }
}
async fn run() -> Result<(), ::nova_runtime::server::StartError> {
    let config = nova_content::server::config_from_env()?;
    let listeners = ::nova_runtime::server::Listeners::bind(&config).await?;
    nova_content_service::start(
            config,
            listeners,
            ::nova_runtime::server::shutdown_signal(),
        )
        .await
}
