//! The server half: the wrapper every generated RPC handler runs in, and the bootstrap that
//! serves a service with health checks and graceful shutdown.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataMap;
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use crate::config::{ConfigError, env_or};
use crate::context::{self, CallContext};
use crate::db::{DatabaseConfig, DbError};
use crate::error::LogicError;
use crate::rpc::RpcDescriptor;

/// Runs one unary call: reads the caller's deadline and request id, runs `handler` under
/// that deadline (so outgoing calls inherit it), turns a panic into `INTERNAL` without taking
/// the process down, maps and logs errors, and records the call's metrics and span.
///
/// The deadline itself is enforced by tonic's transport, which drops the call when
/// `grpc-timeout` expires (a second timer here would only add cost); the call is then still
/// counted and logged, as `DEADLINE_EXCEEDED`, when it is dropped.
pub async fn unary<Req, Resp, F, Fut>(rpc: &'static RpcDescriptor, request: Request<Req>, handler: F) -> Result<Response<Resp>, Status>
where
    F: FnOnce(CallContext, Req) -> Fut,
    Fut: Future<Output = Result<Resp, LogicError>>,
{
    let started = Instant::now();
    let metrics = crate::metrics::server(rpc);
    metrics.started.increment(1);
    let deadline = grpc_timeout(request.metadata()).map(|timeout| started + timeout);
    let request_id = request_id(request.metadata());
    let span = tracing::info_span!("grpc.server", service = rpc.service, method = rpc.method, request_id = %request_id);
    let mut unfinished = Unfinished { metrics: &metrics, started, deadline, request_id: &request_id, rpc, finished: false };
    let (metadata, _extensions, message) = request.into_parts();
    let ctx = CallContext { rpc, deadline, request_id: request_id.clone(), metadata };
    let outcome = AssertUnwindSafe(context::with_deadline(deadline, handler(ctx, message))).catch_unwind().instrument(span.clone()).await;
    unfinished.finished = true;
    let result = span.in_scope(|| match outcome {
        Ok(Ok(response)) => Ok(Response::new(response)),
        Ok(Err(error)) => Err(error.into_status(&rpc.path(), &request_id)),
        Err(panic) => {
            tracing::error!(method = %rpc.path(), request_id, panic = panic_message(&*panic), "handler panicked");
            Err(Status::internal(format!("internal error (request id {request_id})")))
        }
    });
    let code = result.as_ref().map_or_else(Status::code, |_| tonic::Code::Ok);
    metrics.handled(code, started.elapsed());
    result
}

/// Accounts for a call the transport abandoned: its deadline expired, or the caller left.
struct Unfinished<'a> {
    metrics: &'a crate::metrics::RpcMetrics,
    started: Instant,
    deadline: Option<Instant>,
    request_id: &'a str,
    rpc: &'static RpcDescriptor,
    finished: bool,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let expired = self.deadline.is_some_and(|deadline| Instant::now() + DEADLINE_SLACK >= deadline);
        let code = if expired { tonic::Code::DeadlineExceeded } else { tonic::Code::Cancelled };
        tracing::warn!(method = %self.rpc.path(), request_id = self.request_id, code = ?code, elapsed = ?self.started.elapsed(), "call abandoned before it finished");
        self.metrics.handled(code, self.started.elapsed());
    }
}

/// A call dropped this close to its deadline was dropped because of it.
const DEADLINE_SLACK: Duration = Duration::from_millis(2);

fn request_id(metadata: &MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str)).unwrap_or("non-string panic payload")
}

/// The `grpc-timeout` header: up to 8 digits and a unit (H, M, S, m, u, n).
pub fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    parse_grpc_timeout(value)
}

pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Where a service listens and which database it uses.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub listen: SocketAddr,
    /// Where `/metrics` is served (Prometheus text), if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    pub database: DatabaseConfig,
}

impl ServiceConfig {
    /// `NOVA_GRPC_ADDR` (default `127.0.0.1:<default_port>`), `NOVA_METRICS_ADDR` (default
    /// `127.0.0.1:<default_port + 1000>`, `off` to disable), plus [`DatabaseConfig::from_env`].
    pub fn from_env(default_port: u16, database: &str) -> Result<Self, ConfigError> {
        let metrics_default = SocketAddr::from(([127, 0, 0, 1], default_port.saturating_add(1000)));
        let metrics_listen = match std::env::var("NOVA_METRICS_ADDR").ok().as_deref().map(str::trim) {
            Some("off") => None,
            _ => Some(env_or("NOVA_METRICS_ADDR", metrics_default)?),
        };
        Ok(ServiceConfig {
            listen: env_or("NOVA_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], default_port)))?,
            metrics_listen,
            database: DatabaseConfig::from_env(database)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database setup failed")]
    Database(#[from] DbError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("gRPC server failed")]
    Serve(#[from] tonic::transport::Error),
    #[error("gRPC reflection could not read the service's descriptors")]
    Reflection(#[source] tonic_reflection::server::Error),
}

/// The sockets a service serves on, bound before it starts (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    pub grpc: TcpListener,
    pub metrics: Option<TcpListener>,
}

impl Listeners {
    /// Binds the configured addresses.
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

/// What the server announces about the service it serves.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDescription {
    /// e.g. `nova.auth.v1.AuthService`, the name health checks use.
    pub proto_service: &'static str,
    /// The encoded `FileDescriptorSet` of the service's protos, for gRPC reflection.
    pub file_descriptor_set: &'static [u8],
}

/// Serves `routes` plus `grpc.health.v1` and gRPC reflection on the gRPC listener, and
/// `/metrics` on the metrics listener, until `shutdown` completes; then reports NOT_SERVING,
/// stops accepting calls and lets in-flight ones finish.
pub async fn serve(
    service: ServiceDescription,
    routes: Routes,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    crate::metrics::install();
    let name = service.proto_service;
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(name, tonic_health::ServingStatus::Serving).await;
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(service.file_descriptor_set)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(StartError::Reflection)?;
    let grace = Duration::from_secs(env_or::<u64>("NOVA_SHUTDOWN_GRACE_SECONDS", 20u64)?);
    let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
    if let Some(listener) = listeners.metrics {
        tracing::info!(service = name, addr = ?listener.local_addr().ok(), "serving /metrics");
        tokio::spawn(crate::metrics_http::serve(listener, metrics_stopped));
    }
    tracing::info!(service = name, addr = ?listeners.grpc.local_addr().ok(), "serving gRPC");
    let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
    let draining = async move {
        shutdown.await;
        tracing::info!(service = name, grace = ?grace, "shutting down: draining in-flight calls");
        reporter.set_service_status(name, tonic_health::ServingStatus::NotServing).await;
        reporter.set_service_status("", tonic_health::ServingStatus::NotServing).await;
        let _ = draining_tx.send(());
    };
    let server = tonic::transport::Server::builder()
        .add_routes(routes.add_service(health).add_service(reflection))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listeners.grpc), draining);
    // Drain for at most the grace period: a call stuck past it must not block the rollout.
    let deadline = async {
        if draining_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let served = tokio::select! {
        served = server => served.map_err(StartError::from),
        () = deadline => {
            tracing::warn!(service = name, grace = ?grace, "grace period over: stopping with calls still in flight");
            Ok(())
        }
    };
    let _ = stop_metrics.send(true);
    served?;
    tracing::info!(service = name, "stopped");
    Ok(())
}

/// Completes on SIGTERM (how orchestrators stop pods) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
