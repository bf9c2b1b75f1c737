//! Prometheus metrics of servers and clients, with the conventional names of
//! go-grpc-prometheus (`grpc_server_handled_total`, `grpc_client_handling_seconds`, ...) so
//! that existing dashboards and the generated alert rules read them.
//!
//! The recorder is process-wide and installed on first use; [`render`] gives the text
//! exposition served at `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets (seconds): fine below 100 ms so that "P95 > 100 ms" can be answered, and
/// up to the seed's 1 s P99 target and beyond.
pub const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process. Without it (another recorder is
/// installed) metrics are simply not exported here.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), &LATENCY_BUCKETS);
            match builder {
                Ok(builder) => match builder.install_recorder() {
                    Ok(handle) => Some(handle),
                    Err(error) => {
                        tracing::warn!(error = %error, "prometheus recorder not installed");
                        None
                    }
                },
                Err(error) => {
                    tracing::warn!(error = %error, "invalid histogram buckets");
                    None
                }
            }
        })
        .as_ref()
}

/// The text exposition of every metric.
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

fn code_label(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "Canceled",
        tonic::Code::Unknown => "Unknown",
        tonic::Code::InvalidArgument => "InvalidArgument",
        tonic::Code::DeadlineExceeded => "DeadlineExceeded",
        tonic::Code::NotFound => "NotFound",
        tonic::Code::AlreadyExists => "AlreadyExists",
        tonic::Code::PermissionDenied => "PermissionDenied",
        tonic::Code::ResourceExhausted => "ResourceExhausted",
        tonic::Code::FailedPrecondition => "FailedPrecondition",
        tonic::Code::Aborted => "Aborted",
        tonic::Code::OutOfRange => "OutOfRange",
        tonic::Code::Unimplemented => "Unimplemented",
        tonic::Code::Internal => "Internal",
        tonic::Code::Unavailable => "Unavailable",
        tonic::Code::DataLoss => "DataLoss",
        tonic::Code::Unauthenticated => "Unauthenticated",
    }
}

pub fn server_started(service: &'static str, method: &'static str) {
    counter!("grpc_server_started_total", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method).increment(1);
}

pub fn server_handled(service: &'static str, method: &'static str, code: tonic::Code, elapsed: Duration) {
    let code = code_label(code);
    counter!("grpc_server_handled_total", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method, "grpc_code" => code)
        .increment(1);
    histogram!("grpc_server_handling_seconds", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method)
        .record(elapsed.as_secs_f64());
}

pub fn client_handled(service: &'static str, method: &'static str, code: tonic::Code, elapsed: Duration) {
    let code = code_label(code);
    counter!("grpc_client_handled_total", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method, "grpc_code" => code)
        .increment(1);
    histogram!("grpc_client_handling_seconds", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method)
        .record(elapsed.as_secs_f64());
}

/// One attempt sent on the wire (first tries and retries).
pub fn client_attempt(service: &'static str, method: &'static str) {
    counter!("grpc_client_attempts_total", "grpc_service" => service, "grpc_method" => method).increment(1);
}

pub fn client_retry(service: &'static str, method: &'static str) {
    counter!("grpc_client_retries_total", "grpc_service" => service, "grpc_method" => method).increment(1);
}

pub fn client_retry_throttled(target: &'static str) {
    counter!("grpc_client_retries_throttled_total", "target" => target).increment(1);
}

pub fn breaker_state(target: &'static str, state: crate::client::BreakerState) {
    gauge!("grpc_client_circuit_breaker_state", "target" => target).set(state.as_gauge());
}

pub fn breaker_rejected(target: &'static str) {
    counter!("grpc_client_circuit_breaker_rejected_total", "target" => target).increment(1);
}

/// A cache lookup: `level` is l1/l2 for hits, `result` hit, miss or stale.
pub fn cache_request(service: &'static str, method: &'static str, level: &'static str, result: &'static str) {
    counter!("grpc_client_cache_requests_total", "grpc_service" => service, "grpc_method" => method, "level" => level, "result" => result)
        .increment(1);
}

/// A miss that waited for another caller's load of the same key.
pub fn cache_coalesced(target: &'static str) {
    counter!("grpc_client_cache_coalesced_total", "target" => target).increment(1);
}

pub fn cache_l2_error() {
    counter!("grpc_client_cache_l2_errors_total").increment(1);
}
