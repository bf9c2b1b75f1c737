// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! The service's binary: `nova_runtime::service::main` runs it (signal handlers first,
//! configuration from the environment, serve until SIGTERM, exit status).
fn main() -> ::std::process::ExitCode {
    ::nova_runtime::service::main(nova_streaming::server::DESCRIPTION, nova_streaming_service::start)
}
