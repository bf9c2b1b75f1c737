//! The Helm values of one service, for the chart in `generated/ops/chart`: image, replicas and
//! resources; ports; its own database URL as a Secret reference; the Redis URL; the endpoints
//! of exactly the services it `calls`; shutdown timing matching the runtime; and the canary
//! analysis derived from its SLO.

use askama::Template;

use super::expr;
use super::yaml::{number, quote};
use crate::emit::EmitError;
use crate::ir::{Service, Spec};

/// Seconds: the runtime's defaults (`nova_runtime::server::DEFAULT_DRAIN_DELAY`, `DEFAULT_GRACE`;
/// a test keeps them equal) and the pod's grace period, which covers both with room to exit.
pub const DRAIN_DELAY_SECONDS: u64 = 5;
pub const GRACE_SECONDS: u64 = 20;
pub const TERMINATION_GRACE_PERIOD_SECONDS: u64 = 30;
const _: () = assert!(TERMINATION_GRACE_PERIOD_SECONDS > DRAIN_DELAY_SECONDS + GRACE_SECONDS);
/// The metrics listener: the gRPC port + 1000 (nova_runtime::server::ServiceConfig::from_env).
pub const METRICS_PORT_OFFSET: u16 = 1000;

#[derive(Template)]
#[template(path = "ops/values.yaml", escape = "none")]
struct ValuesView {
    header: String,
    file: String,
    release: String,
    name: String,
    job: String,
    grpc_service: String,
    grpc_port: u16,
    metrics_port: u16,
    /// (database name, Secret name); `None` for a stateless service.
    database: Option<(String, String)>,
    calls: Vec<(String, String, String)>,
    drain: u64,
    grace: u64,
    termination: u64,
    error_rate: String,
    p95: String,
    error_query: String,
    p95_query: String,
}

pub fn values_file(spec: &Spec, service: &Service) -> Result<String, EmitError> {
    let calls = service
        .calls
        .iter()
        .filter_map(|c| spec.service(c))
        .map(|callee| {
            let env = format!("NOVA_{}_ENDPOINT", callee.name.to_ascii_uppercase());
            (quote(&callee.name), quote(&env), quote(&format!("http://{}:{}", expr::job_name(&callee.name), callee.port)))
        })
        .collect();
    let view = ValuesView {
        header: super::header("#"),
        file: service.name.clone(),
        release: expr::job_name(&service.name),
        name: quote(&service.name),
        job: quote(&expr::job_name(&service.name)),
        grpc_service: quote(&service.proto.full_name()),
        grpc_port: service.port,
        metrics_port: service.port.saturating_add(METRICS_PORT_OFFSET),
        database: service.database.as_ref().map(|d| (quote(d), quote(&format!("{}-database", expr::job_name(&service.name))))),
        calls,
        drain: DRAIN_DELAY_SECONDS,
        grace: GRACE_SECONDS,
        termination: TERMINATION_GRACE_PERIOD_SECONDS,
        error_rate: number(service.slo.error_rate_percent / 100.0),
        p95: number(service.slo.p95_latency.as_secs_f64()),
        error_query: quote(&expr::analysis_error_ratio_query(service, expr::CANARY_HASH_ARG)),
        p95_query: quote(&expr::analysis_p95_query(service, expr::CANARY_HASH_ARG)),
    };
    view.render().map_err(|e| EmitError::new(format!("values template: {e}")))
}
