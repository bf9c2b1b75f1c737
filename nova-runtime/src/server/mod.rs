//! The server half: [`unary`], the wrapper every generated RPC handler runs in, and
//! [`serve`], which runs a service the way load balancers and orchestrators expect:
//!
//! - `grpc.health.v1` and gRPC reflection (`v1` and `v1alpha`) from the first moment, and
//!   `/metrics` with every family at zero;
//! - health follows the database: NOT_SERVING while it is unreachable (at start, while the
//!   service waits for it, and whenever it goes away later), and calls meanwhile get
//!   `UNAVAILABLE` at once instead of queueing;
//! - the caller's deadline enforced with `DEADLINE_EXCEEDED`, undecodable requests answered
//!   `INVALID_ARGUMENT`, every call counted before its answer leaves;
//! - on shutdown: NOT_SERVING, serve on for the drain delay, stop accepting, let calls in
//!   flight finish within the grace period, and report the calls that had to be cut off.
//!
//! gRPC is served on hyper's HTTP/2 server directly rather than tonic's `Server`, whose
//! built-in `grpc-timeout` handling answers `CANCELLED` and whose listener stays open (new
//! connections hang) until the drain is over.

mod calls;
mod config;
mod connections;
mod database;
pub(crate) mod readiness;
mod shutdown;
mod unary;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::service::Routes;

pub use config::{DEFAULT_DRAIN_DELAY, DEFAULT_GRACE, DEFAULT_MAX_CONCURRENT_STREAMS, ServiceConfig, ShutdownConfig};
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use unary::{parse_grpc_timeout, unary};

use self::calls::{CallState, Calls, InFlight};
use self::connections::Connections;
use self::readiness::Readiness;
use crate::client::Peers;
use crate::config::ConfigError;
use crate::db::{Database, DbError};
use crate::identity::{Identity, Issuer, KeySource, Permissions, RemoteIssuer, Verifier, VerifierSettings};
use crate::metrics::server::ServerMetrics;
use crate::rpc::RpcDescriptor;
use crate::tls::{TlsAcceptor, Transport};

/// What the server announces about the service it serves, and the defaults its binary
/// starts from; generated per service as `server::DESCRIPTION`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDescription {
    /// The nova service, e.g. `auth` (logs).
    pub name: &'static str,
    /// e.g. `nova.auth.v1.AuthService`, the name health checks use.
    pub proto_service: &'static str,
    /// The encoded `FileDescriptorSet` of the service's protos, for gRPC reflection.
    pub file_descriptor_set: &'static [u8],
    /// Every RPC of the service: their metrics exist from start-up.
    pub rpcs: &'static [&'static RpcDescriptor],
    /// The gRPC port used when `NOVA_GRPC_ADDR` is not set.
    pub default_port: u16,
    /// The service's own database, e.g. `nova_auth`; `None` for a service that owns no table
    /// (a stateless gateway): it reads no database settings and never waits for one.
    pub database: Option<&'static str>,
    /// The service that signs end users' access tokens (`[defaults] token_issuer` in the
    /// spec): where this service gets the keys and revocations it verifies tokens with.
    /// `None`: the spec names no issuer, and no call can carry a user.
    pub issuer: Option<Issuer>,
}

/// How [`serve`] runs a service beyond its routes.
#[derive(Debug)]
pub struct ServeOptions {
    /// The shutdown sequence's delays.
    pub shutdown: ShutdownConfig,
    /// The database the service needs: health follows it, and calls are admitted only
    /// while it answers. `None`: SERVING from the start.
    pub database: Option<Database>,
    /// Mutual TLS (callers prove who they are) or, explicitly, plaintext.
    pub transport: Transport,
    /// How callers' tokens are verified and permissions checked. `None`: against the issuer
    /// the description names, reached through `peers` (every service but the issuer itself,
    /// which gives its own with [`ServeOptions::with_identity`]).
    pub identity: Option<Identity>,
    /// Where the issuer answers and how to connect to it.
    pub peers: Peers,
    /// How the token verifier keeps up with the issuer.
    pub verifier: VerifierSettings,
    /// At most this many calls in flight on one connection.
    pub max_concurrent_streams: u32,
}

impl ServeOptions {
    /// What `config` says, serving with `database` (if the service has one).
    pub fn new(config: &ServiceConfig, database: Option<Database>) -> Self {
        ServeOptions {
            shutdown: config.shutdown,
            database,
            transport: config.transport.clone(),
            identity: None,
            peers: config.peers.clone(),
            verifier: config.verifier,
            max_concurrent_streams: config.max_concurrent_streams,
        }
    }

    /// Plaintext, no database, no token issuer: for tests of the server's own machinery
    /// (every caller is anonymous or claims a service).
    pub fn insecure_local(shutdown: ShutdownConfig) -> Self {
        ServeOptions::new(&ServiceConfig { shutdown, ..ServiceConfig::loopback_without_database() }, None)
    }

    /// Verify tokens against `keys` and check permissions with `permissions`: what the token
    /// issuer itself serves with, reading its own database instead of calling itself.
    pub fn with_identity(mut self, keys: Arc<dyn KeySource>, permissions: Arc<dyn Permissions>) -> Self {
        self.identity = Some(Identity { verifier: Verifier::new(keys, self.verifier), permissions });
        self
    }
}

/// A [`KeySource`] and [`Permissions`] for a deployment without a token issuer: nothing
/// verifies, nobody holds a permission.
struct NoIssuer;

impl KeySource for NoIssuer {
    fn fetch(&self, _after: i64) -> crate::identity::SourceFuture<'_> {
        Box::pin(async { Err(tonic::Status::unauthenticated("this deployment has no token issuer: calls cannot carry a user")) })
    }
}

impl Permissions for NoIssuer {
    fn has(&self, _user: uuid::Uuid, _permission: &'static str) -> crate::identity::PermissionFuture<'_> {
        Box::pin(async { Ok(false) })
    }
}

/// The identity a server checks its callers with: the options' own, or the issuer's over
/// gRPC.
fn identity_of(service: &ServiceDescription, options: &mut ServeOptions) -> Result<Identity, StartError> {
    if let Some(identity) = options.identity.take() {
        return Ok(identity);
    }
    let Some(issuer) = service.issuer else {
        let none = Arc::new(NoIssuer);
        return Ok(Identity { verifier: Verifier::new(none.clone(), options.verifier), permissions: none });
    };
    let channel = options.peers.channel(issuer.service, issuer.default_port)?;
    let remote = Arc::new(RemoteIssuer::new(&issuer, channel).map_err(|status| StartError::Identity(status.message().to_string()))?);
    Ok(Identity { verifier: Verifier::new(remote.clone(), options.verifier), permissions: remote })
}

/// Why a service did not start, or did not stop cleanly: what [`serve`] and
/// [`crate::service::main`] report before the binary exits non-zero (see
/// [`crate::service::exit_code`]).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A configuration variable is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened, did not answer within the startup wait, or could not
    /// be migrated.
    #[error("database setup failed")]
    Database(#[from] DbError),
    /// A client of another service could not be built (e.g. an invalid endpoint URI).
    #[error("cannot build a client of another service")]
    Client(#[from] crate::client::ClientError),
    /// A service that owns no table (its description names no database) asked for its
    /// database settings.
    #[error("this service owns no table, so it has no database to open")]
    NoDatabase,
    /// A listening address could not be bound (in use, not permitted).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The service's encoded descriptors (a generated constant) do not decode: a build
    /// problem.
    #[error("gRPC reflection could not read the service's descriptors")]
    Reflection(#[source] tonic_reflection::server::Error),
    /// NATS could not be set up for the service's events.
    #[error(transparent)]
    Events(#[from] crate::events::EventsError),
    /// The TLS material is unusable.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The client of the token issuer could not be built.
    #[error("cannot reach the token issuer: {0}")]
    Identity(String),
    /// The signal handlers could not be installed.
    #[error("cannot install the SIGTERM/SIGINT handlers")]
    Signals(#[source] std::io::Error),
    /// The grace period ran out with calls still running; they were cut off.
    #[error("{calls} call(s) were still running when the {grace:?} grace period ran out and were cut off")]
    CallsCutOff {
        /// How many calls were cut off.
        calls: usize,
        /// The grace period they had.
        grace: Duration,
    },
}

/// The sockets a service serves on, bound before it starts (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// gRPC (health, reflection and the service's RPCs).
    pub grpc: TcpListener,
    /// `/metrics` and `/readyz`, if served.
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Binds the configured addresses.
    ///
    /// # Errors
    ///
    /// [`StartError::Bind`] for the first address that cannot be bound.
    pub async fn bind(config: &ServiceConfig) -> Result<Self, StartError> {
        let grpc = bind(config.listen).await?;
        let metrics = match config.metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Listeners { grpc, metrics })
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })
}

/// After the grace period, cut-off calls get this long to send their `UNAVAILABLE` before
/// their connections are closed.
const CUT_FLUSH: Duration = Duration::from_secs(1);

/// Serves `routes` plus health and reflection on the gRPC listener, and `/metrics` on the
/// metrics listener, until `shutdown` is requested; then runs the shutdown sequence of
/// [`ShutdownConfig`]. Also returns, with [`StartError::Database`], when the database could
/// not be prepared (the startup wait ran out, or migrations failed), and with
/// [`StartError::CallsCutOff`] when the grace period cut calls off.
///
/// # Errors
///
/// Before serving: [`StartError::Tls`], [`StartError::Identity`], [`StartError::Client`] or
/// [`StartError::Reflection`] when the server cannot be set up. While serving or after:
/// [`StartError::Database`] and [`StartError::CallsCutOff`] as above.
pub async fn serve(
    service: ServiceDescription,
    routes: Routes,
    mut options: ServeOptions,
    listeners: Listeners,
    mut shutdown: Shutdown,
) -> Result<(), StartError> {
    let name = service.proto_service;
    let identity = identity_of(&service, &mut options)?;
    identity.verifier.start();
    let acceptor = match &options.transport {
        Transport::Tls(material) => Some(TlsAcceptor::new(material)?),
        Transport::Plaintext { .. } => {
            tracing::warn!(service = name, "serving plaintext gRPC: callers' identities are claimed, not proven (local development only)");
            None
        }
    };
    let reflection = |builder: tonic_reflection::server::Builder<'static>| {
        builder
            .register_encoded_file_descriptor_set(service.file_descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection(tonic_reflection::server::Builder::configure()).build_v1().map_err(StartError::Reflection)?;
    let reflection_v1alpha = reflection(tonic_reflection::server::Builder::configure()).build_v1alpha().map_err(StartError::Reflection)?;
    let metrics = Arc::new(ServerMetrics::new(name, service.rpcs));
    let (reporter, health) = tonic_health::server::health_reporter();
    let readiness = Arc::new(Readiness::new(name, reporter, options.database.is_none()).await);
    let (stop_metrics, metrics_stopped) = watch::channel(false);
    if let Some(listener) = listeners.metrics {
        tracing::info!(service = name, addr = ?listener.local_addr().ok(), "serving /metrics");
        tokio::spawn(crate::metrics_http::serve(listener, Arc::clone(&metrics), Arc::clone(&readiness), metrics_stopped));
    }
    let (cut, cut_seen) = watch::channel(false);
    let (end_streams, streams_end) = watch::channel(false);
    let state = Arc::new(CallState {
        proto_service: name,
        rpcs: service.rpcs.iter().map(|rpc| (rpc.path(), *rpc)).collect(),
        identity,
        metrics,
        readiness: Arc::clone(&readiness),
        in_flight: InFlight::new(),
        cut: cut_seen,
        streams_end,
    });
    let calls = Calls {
        routes: routes.add_service(health).add_service(reflection_v1).add_service(reflection_v1alpha),
        state: Arc::clone(&state),
        connection: None,
    };
    let database = options.database.map(|database| tokio::spawn(database::follow(database, Arc::clone(&readiness))));
    tracing::info!(service = name, addr = ?listeners.grpc.local_addr().ok(), "serving gRPC");
    let connections = Connections::new(acceptor, options.max_concurrent_streams);
    let mut server = Running { calls, connections, readiness, state, cut, end_streams, config: options.shutdown };
    let served = server.run(listeners.grpc, &mut shutdown, database).await;
    let _ = stop_metrics.send(true);
    tracing::info!(service = name, "stopped");
    served
}

/// A server between start and stop.
struct Running {
    calls: Calls,
    connections: Connections,
    readiness: Arc<Readiness>,
    state: Arc<CallState>,
    cut: watch::Sender<bool>,
    end_streams: watch::Sender<bool>,
    config: ShutdownConfig,
}

impl Running {
    async fn run(&mut self, listener: TcpListener, shutdown: &mut Shutdown, mut database: Option<JoinHandle<DbError>>) -> Result<(), StartError> {
        let failed = tokio::select! {
            () = self.connections.accept(&listener, &self.calls) => None,
            () = shutdown.requested(1) => None,
            error = database_failure(&mut database) => Some(error),
        };
        if let Some(error) = failed {
            tracing::error!(error = %crate::error::cause_chain(&error), "the database could not be prepared: stopping");
            self.connections.abort().await;
            return Err(StartError::Database(error));
        }
        self.drain_delay(listener, shutdown).await;
        let cut_off = self.drain().await;
        if let Some(database) = &database {
            database.abort();
        }
        match cut_off {
            0 => Ok(()),
            calls => Err(StartError::CallsCutOff { calls, grace: self.config.grace }),
        }
    }

    /// NOT_SERVING, but still accepting and serving calls while load balancers catch up.
    async fn drain_delay(&mut self, listener: TcpListener, shutdown: &mut Shutdown) {
        self.readiness.drain().await;
        let delay = self.config.drain_delay;
        tracing::info!(delay = ?delay, grace = ?self.config.grace, "shutting down: NOT_SERVING; still serving during the drain delay");
        tokio::select! {
            () = self.connections.accept(&listener, &self.calls) => {}
            () = tokio::time::sleep(delay) => {}
            () = shutdown.requested(2) => tracing::info!("asked again: skipping the rest of the drain delay"),
        }
        // From here on, connecting is refused.
        drop(listener);
    }

    /// Stops new calls, lets those in flight finish within the grace period and cuts the
    /// rest off; returns how many were cut off.
    async fn drain(&mut self) -> usize {
        self.connections.finish();
        let grace_over = Instant::now() + self.config.grace;
        let in_flight = self.state.in_flight.count();
        tracing::info!(in_flight, "no longer accepting connections: draining calls in flight");
        let cut_off = match tokio::time::timeout_at(grace_over, self.state.in_flight.idle()).await {
            Ok(()) => 0,
            Err(_) => {
                let cut_off = self.state.in_flight.count();
                tracing::warn!(cut_off, grace = ?self.config.grace, "grace period over: cutting off the calls still running");
                self.cut.send_replace(true);
                cut_off
            }
        };
        self.end_streams.send_replace(true);
        let close_by = grace_over.max(Instant::now() + CUT_FLUSH);
        if tokio::time::timeout_at(close_by, self.connections.closed()).await.is_err() {
            self.connections.abort().await;
        }
        cut_off
    }
}

/// Completes with the database task's error, if it ever gives up.
async fn database_failure(task: &mut Option<JoinHandle<DbError>>) -> DbError {
    if let Some(handle) = task {
        match handle.await {
            Ok(error) => return error,
            Err(join) => tracing::error!(error = %join, "the database task failed"),
        }
        *task = None;
    }
    std::future::pending().await
}
