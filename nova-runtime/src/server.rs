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

use crate::config::{ConfigError, env_or};
use crate::context::{self, CallContext};
use crate::db::{DatabaseConfig, DbError};
use crate::error::LogicError;
use crate::rpc::RpcDescriptor;

/// Runs one unary call: reads the caller's deadline and request id, runs `handler` under
/// that deadline (so outgoing calls inherit it), turns a panic into `INTERNAL` without taking
/// the process down, and maps and logs errors.
pub async fn unary<Req, Resp, F, Fut>(rpc: &'static RpcDescriptor, request: Request<Req>, handler: F) -> Result<Response<Resp>, Status>
where
    F: FnOnce(CallContext, Req) -> Fut,
    Fut: Future<Output = Result<Resp, LogicError>>,
{
    let deadline = grpc_timeout(request.metadata()).map(|timeout| Instant::now() + timeout);
    let request_id = request_id(request.metadata());
    let (metadata, _extensions, message) = request.into_parts();
    let ctx = CallContext { rpc, deadline, request_id: request_id.clone(), metadata };
    let work = AssertUnwindSafe(context::with_deadline(deadline, handler(ctx, message))).catch_unwind();
    let outcome = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.unwrap_or(Ok(Err(LogicError::DeadlineExceeded))),
        None => work.await,
    };
    match outcome {
        Ok(Ok(response)) => Ok(Response::new(response)),
        Ok(Err(error)) => Err(error.into_status(&rpc.path(), &request_id)),
        Err(panic) => {
            tracing::error!(method = %rpc.path(), request_id, panic = panic_message(&*panic), "handler panicked");
            Err(Status::internal(format!("internal error (request id {request_id})")))
        }
    }
}

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
    pub database: DatabaseConfig,
    /// How long in-flight calls may take to finish after SIGTERM.
    pub shutdown_grace: Duration,
}

impl ServiceConfig {
    /// `NOVA_GRPC_ADDR` (default `127.0.0.1:<default_port>`) plus [`DatabaseConfig::from_env`].
    pub fn from_env(default_port: u16, database: &str) -> Result<Self, ConfigError> {
        Ok(ServiceConfig {
            listen: env_or("NOVA_GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], default_port)))?,
            database: DatabaseConfig::from_env(database)?,
            shutdown_grace: Duration::from_secs(env_or::<u64>("NOVA_SHUTDOWN_GRACE_SECONDS", 20u64)?),
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
}

/// Binds the configured address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })
}

/// Serves `routes` plus `grpc.health.v1` on `listener` until `shutdown` completes, then stops
/// accepting calls and lets in-flight ones finish.
pub async fn serve(
    service_name: &'static str,
    routes: Routes,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(service_name, tonic_health::ServingStatus::Serving).await;
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    let local = listener.local_addr().ok();
    tracing::info!(service = service_name, addr = ?local, "serving");
    let draining = async move {
        shutdown.await;
        tracing::info!(service = service_name, "shutting down: draining in-flight calls");
        reporter.set_service_status(service_name, tonic_health::ServingStatus::NotServing).await;
        reporter.set_service_status("", tonic_health::ServingStatus::NotServing).await;
    };
    tonic::transport::Server::builder()
        .add_routes(routes.add_service(health))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), draining)
        .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_all_units() {
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("10u"), Some(Duration::from_micros(10)));
        assert_eq!(parse_grpc_timeout("99999999n"), Some(Duration::from_nanos(99_999_999)));
        assert_eq!(parse_grpc_timeout("123456789S"), None);
        assert_eq!(parse_grpc_timeout("5x"), None);
        assert_eq!(parse_grpc_timeout("S"), None);
    }

    static RPC: RpcDescriptor = RpcDescriptor {
        service: "test.v1.Test",
        method: "Do",
        owner: "test",
        idempotency: crate::rpc::Idempotency::Unknown,
        policy: crate::rpc::CallPolicy { deadline: Duration::from_secs(1), retry: None, cache: None },
    };

    #[tokio::test]
    async fn panics_become_internal() {
        let result: Result<Response<()>, Status> = unary(&RPC, Request::new(()), |_, ()| async {
            if RPC.method == "Do" {
                panic!("boom");
            }
            Ok(())
        })
        .await;
        assert_eq!(result.unwrap_err().code(), tonic::Code::Internal);
    }

    #[tokio::test]
    async fn the_callers_deadline_is_enforced_and_inherited() {
        let mut request = Request::new(());
        request.metadata_mut().insert("grpc-timeout", "50m".parse().unwrap());
        let started = Instant::now();
        let result: Result<Response<()>, Status> = unary(&RPC, request, |ctx, ()| async move {
            assert!(ctx.remaining().unwrap() <= Duration::from_millis(50));
            assert_eq!(context::current_deadline(), ctx.deadline);
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        })
        .await;
        assert_eq!(result.unwrap_err().code(), tonic::Code::DeadlineExceeded);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn errors_map_to_status_and_request_ids_pass_through() {
        let mut request = Request::new(());
        request.metadata_mut().insert("x-request-id", "abc".parse().unwrap());
        let result: Result<Response<()>, Status> = unary(&RPC, request, |ctx, ()| async move {
            assert_eq!(ctx.request_id, "abc");
            Err(LogicError::not_found("user 1"))
        })
        .await;
        let status = result.unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(status.message(), "user 1");
    }
}
