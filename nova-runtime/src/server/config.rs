//! How a service is run: where it listens, its database, how it shuts down. Plain structs
//! with defaults, so tests and embedders set them directly; the environment is only the
//! default source ([`ServiceConfig::from_env`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::{ServiceDescription, StartError};
use crate::client::{ClientOptions, Peers};
use crate::config::{ConfigError, env_or};
use crate::db::DatabaseConfig;
use crate::identity::VerifierSettings;
use crate::tls::Transport;

/// Everything a service binary needs to know to run.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Where gRPC is served.
    pub listen: SocketAddr,
    /// Where `/metrics` is served (Prometheus text), if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// `None` for a service without a database (see [`ServiceDescription::database`]).
    pub database: Option<DatabaseConfig>,
    /// The shutdown sequence's delays.
    pub shutdown: ShutdownConfig,
    /// The services this one calls: their endpoints and how its clients cache. Build each
    /// client once, with `<Svc>Client::from_peers(&config.peers)`.
    pub peers: Peers,
    /// Where the service may keep files of its own (e.g. media's local object store):
    /// `NOVA_DATA_DIR`, default `var/<service>` under the working directory.
    pub data_dir: PathBuf,
    /// How it serves and calls: mutual TLS with its certificate (`NOVA_TLS_*`), or plaintext
    /// when explicitly asked (`NOVA_TLS=off`). `peers` connect the same way.
    pub transport: Transport,
    /// How it keeps up with the token issuer's keys and revocations (`NOVA_IDENTITY_*`).
    pub verifier: VerifierSettings,
    /// At most this many calls in flight on one connection (`NOVA_GRPC_MAX_CONCURRENT_STREAMS`,
    /// 512): one client cannot hold the server's every task.
    pub max_concurrent_streams: u32,
    /// Where its events go and come from (`NOVA_NATS_URL`, `NOVA_EVENTS_*`); `None` with
    /// `NOVA_EVENTS=off` (and in [`ServiceConfig::loopback`]): the outbox then fills and is
    /// drained by the next process that has events on.
    pub events: Option<crate::events::EventsConfig>,
}

/// The default cap on calls in flight per connection.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 512;

/// The shutdown sequence on SIGTERM: report NOT_SERVING, keep serving for `drain_delay`
/// (load balancers need that long to stop sending calls), stop accepting, then give calls in
/// flight up to `grace` to finish; calls still running then are cut off and the server
/// reports it (the binary exits non-zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownConfig {
    /// How long the server keeps serving after reporting NOT_SERVING, so that load balancers
    /// stop sending it calls before it stops accepting them.
    pub drain_delay: Duration,
    /// How long calls in flight may take to finish once it stopped accepting.
    pub grace: Duration,
}

/// The defaults of [`ShutdownConfig::drain_delay`] (5 s) and [`ShutdownConfig::grace`] (20 s),
/// defined in `nova-constants` (the generated Helm values read the same numbers there).
pub use nova_constants::server::{DEFAULT_DRAIN_DELAY, DEFAULT_GRACE};

impl Default for ShutdownConfig {
    /// 5 s of drain delay and 20 s of grace: together under Kubernetes' default 30 s
    /// `terminationGracePeriodSeconds`.
    fn default() -> Self {
        ShutdownConfig { drain_delay: DEFAULT_DRAIN_DELAY, grace: DEFAULT_GRACE }
    }
}

impl ShutdownConfig {
    /// `NOVA_SHUTDOWN_DRAIN_DELAY_SECONDS` (5) and `NOVA_SHUTDOWN_GRACE_SECONDS` (20).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when either is set but not a number of seconds.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = ShutdownConfig::default();
        Ok(ShutdownConfig {
            drain_delay: Duration::from_secs(env_or("NOVA_SHUTDOWN_DRAIN_DELAY_SECONDS", defaults.drain_delay.as_secs())?),
            grace: Duration::from_secs(env_or("NOVA_SHUTDOWN_GRACE_SECONDS", defaults.grace.as_secs())?),
        })
    }
}

impl ServiceConfig {
    /// `NOVA_GRPC_ADDR` (default `127.0.0.1:<default port>`), `NOVA_METRICS_ADDR` (default
    /// `127.0.0.1:<default port + 1000>`, `off` to disable), plus
    /// [`DatabaseConfig::from_env`] (only for a service with a database) and
    /// [`ShutdownConfig::from_env`] and [`Peers::from_env`].
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for the first invalid variable, TLS material that is missing (without
    /// `NOVA_TLS=off`) or unusable included, and for a missing `NOVA_DATABASE_URL` when the
    /// service has a database.
    pub fn from_env(service: &ServiceDescription) -> Result<Self, ConfigError> {
        let metrics_default = SocketAddr::from(([127, 0, 0, 1], service.default_port.saturating_add(nova_constants::server::METRICS_PORT_OFFSET)));
        let metrics_listen = match std::env::var("NOVA_METRICS_ADDR").ok().as_deref().map(str::trim) {
            Some("off") => None,
            _ => Some(env_or("NOVA_METRICS_ADDR", metrics_default)?),
        };
        let transport = Transport::from_env(Some(service.name)).map_err(|e| ConfigError {
            name: "NOVA_TLS_CA/NOVA_TLS_CERT/NOVA_TLS_KEY".to_string(),
            value: String::new(),
            reason: e.to_string(),
        })?;
        if !transport.is_tls() {
            tracing::warn!(
                "NOVA_TLS=off: serving and calling in plaintext; callers' service identities are claimed, not proven (local development only)"
            );
        }
        Ok(ServiceConfig {
            listen: env_or("NOVA_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], service.default_port)))?,
            metrics_listen,
            database: service.database.map(DatabaseConfig::from_env).transpose()?,
            shutdown: ShutdownConfig::from_env()?,
            peers: Peers::from_env()?.with_transport(transport.clone()),
            data_dir: env_or("NOVA_DATA_DIR", PathBuf::from("var").join(service.name))?,
            transport,
            verifier: VerifierSettings::from_env()?,
            max_concurrent_streams: env_or("NOVA_GRPC_MAX_CONCURRENT_STREAMS", DEFAULT_MAX_CONCURRENT_STREAMS)?,
            events: match std::env::var("NOVA_EVENTS").ok().as_deref().map(str::trim) {
                Some("off") => None,
                _ => Some(crate::events::EventsConfig::from_env()?),
            },
        })
    }

    /// Loopback on any free port, no `/metrics`, the given database, default shutdown.
    pub fn loopback(database: DatabaseConfig) -> Self {
        ServiceConfig { database: Some(database), ..ServiceConfig::loopback_without_database() }
    }

    /// Loopback on any free port, no `/metrics`, no database, default shutdown; clients cache
    /// in process only and find other services at their default local ports; files under
    /// `var` (tests that write files set `data_dir` to a directory of their own); plaintext
    /// (the test system sets mutual TLS, see `nova_tests::TestSystem`).
    pub fn loopback_without_database() -> Self {
        ServiceConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_listen: None,
            database: None,
            shutdown: ShutdownConfig::default(),
            peers: Peers::new(ClientOptions::in_process()),
            data_dir: PathBuf::from("var"),
            transport: Transport::default(),
            verifier: VerifierSettings::default(),
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            events: None,
        }
    }

    /// The database settings, for a service that has a database.
    ///
    /// # Errors
    ///
    /// [`StartError::NoDatabase`] for a service without one.
    pub fn database(&self) -> Result<&DatabaseConfig, StartError> {
        self.database.as_ref().ok_or(StartError::NoDatabase)
    }
}
