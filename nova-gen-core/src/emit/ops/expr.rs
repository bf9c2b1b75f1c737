//! Metric names and PromQL pieces, in one place: exactly the names and labels nova-runtime
//! exports (`nova_runtime::metrics`), which `nova-gen/tests/ops.rs` holds in sync with a
//! running service's `/metrics`.

use crate::ir::Service;

pub const SERVER_HANDLED: &str = "grpc_server_handled_total";
pub const SERVER_SECONDS_BUCKET: &str = "grpc_server_handling_seconds_bucket";
pub const CLIENT_CACHE_REQUESTS: &str = "grpc_client_cache_requests_total";
pub const CLIENT_BREAKER_STATE: &str = "grpc_client_circuit_breaker_state";
pub const CLIENT_RETRIES_THROTTLED: &str = "grpc_client_retries_throttled_total";
/// `nova_runtime::events::metric::DEAD_LETTERED`, by service and subject.
pub const EVENTS_DEAD_LETTERED: &str = "nova_events_dead_lettered_total";
/// `nova_runtime::events::metric::OUTBOX_BACKLOG`, by service.
pub const EVENTS_OUTBOX_BACKLOG: &str = "nova_events_outbox_backlog";

/// The value of `grpc_client_circuit_breaker_state` for an open breaker (0 closed, 2 half-open).
pub const BREAKER_OPEN: u8 = 1;

/// Status codes that count against the error budget: failures of the service, not of the
/// request (InvalidArgument, NotFound, PermissionDenied, Aborted, ... are the caller's).
pub const ERROR_CODES: [&str; 6] = ["Unknown", "DeadlineExceeded", "Unimplemented", "Internal", "Unavailable", "DataLoss"];

/// Labels kept by every recording rule. `rollouts_pod_template_hash` (copied from the pod's
/// label by the ServiceMonitor) separates a canary from the stable version; outside
/// Kubernetes it is simply absent.
pub const BY_METHOD: &str = "grpc_service, grpc_method, rollouts_pod_template_hash";
pub const BY_SERVICE: &str = "grpc_service, rollouts_pod_template_hash";

/// The Prometheus job of a service: its Kubernetes Service's name, as the chart names it.
pub fn job_name(service: &str) -> String {
    format!("nova-{}", service.replace('_', "-"))
}

pub fn error_codes_regex() -> String {
    ERROR_CODES.join("|")
}

pub fn grpc_service(service: &Service) -> String {
    service.proto.full_name()
}

/// Recording-rule names (level:metric:operations).
pub mod record {
    pub const METHOD_REQUESTS: &str = "grpc_service_method:grpc_server_requests:rate5m";
    pub const METHOD_ERRORS: &str = "grpc_service_method:grpc_server_errors:rate5m";
    pub const METHOD_ERROR_RATIO: &str = "grpc_service_method:grpc_server_error_ratio:rate5m";
    pub const METHOD_P95: &str = "grpc_service_method:grpc_server_handling_seconds:p95_5m";
    pub const SERVICE_P95: &str = "grpc_service:grpc_server_handling_seconds:p95_5m";
    pub const METHOD_CACHE_HIT_RATIO: &str = "grpc_service_method:grpc_client_cache_hit_ratio:rate5m";

    pub fn service_error_ratio(window: &str) -> String {
        format!("grpc_service:grpc_server_error_ratio:rate{window}")
    }
}

/// The windows of the multi-window, multi-burn-rate alerts (Google SRE workbook, ch. 5).
pub const BURN_WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// The canary analysis' queries (Argo Rollouts `AnalysisTemplate`): the alerts' recording rules,
/// restricted to the pods of one version (`hash`, `{{args.canary-hash}}` in the template); no
/// series yet reads as 0.
pub fn analysis_error_ratio_query(service: &Service, hash: &str) -> String {
    format!(
        "sum({}{{grpc_service=\"{}\",rollouts_pod_template_hash=\"{hash}\"}}) or vector(0)",
        record::service_error_ratio("5m"),
        grpc_service(service)
    )
}

pub fn analysis_p95_query(service: &Service, hash: &str) -> String {
    format!("max({}{{grpc_service=\"{}\",rollouts_pod_template_hash=\"{hash}\"}}) or vector(0)", record::SERVICE_P95, grpc_service(service))
}

/// What Argo Rollouts substitutes with the canary's pod-template hash.
pub const CANARY_HASH_ARG: &str = "{{args.canary-hash}}";
