//! The `/metrics` endpoint: Prometheus text over plain HTTP/1.1 on its own port, as
//! Kubernetes scrapes it: the server's own families, then the process-wide client families.
//! The same port answers the kubelet's probes, which cannot speak mutual TLS to the gRPC port:
//! `GET /readyz` (200 while SERVING, 503 otherwise) and `GET /livez` (200 while the server
//! runs). Neither reveals anything beyond that.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::server::ServerMetrics;
use crate::server::readiness::Readiness;

/// Serves `/metrics`, `/readyz` and `/livez` on `listener` until `stop` turns true (or its
/// sender is dropped).
pub(crate) async fn serve(listener: TcpListener, metrics: Arc<ServerMetrics>, readiness: Arc<Readiness>, mut stop: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => return,
        };
        let (stream, _) = match accepted {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(error = %error, "metrics accept failed");
                continue;
            }
        };
        let metrics = Arc::clone(&metrics);
        let readiness = Arc::clone(&readiness);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                let response = respond(&request, &metrics, &readiness);
                async move { Ok::<_, Infallible>(response) }
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(error = %error, "metrics connection failed");
            }
        });
    }
}

fn respond<B>(request: &Request<B>, metrics: &ServerMetrics, readiness: &Readiness) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, "text/plain; version=0.0.4", metrics.render() + &crate::metrics::render()),
        (&Method::GET, "/readyz") if readiness.serving() => (StatusCode::OK, "text/plain", "SERVING\n".to_string()),
        (&Method::GET, "/readyz") => (StatusCode::SERVICE_UNAVAILABLE, "text/plain", "NOT_SERVING\n".to_string()),
        (&Method::GET, "/livez") => (StatusCode::OK, "text/plain", "alive\n".to_string()),
        (_, "/metrics" | "/readyz" | "/livez") => (StatusCode::METHOD_NOT_ALLOWED, "text/plain", "use GET\n".to_string()),
        _ => (StatusCode::NOT_FOUND, "text/plain", "metrics are at /metrics, probes at /readyz and /livez\n".to_string()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}
