//! Prometheus metrics of servers and clients, with the conventional names of
//! go-grpc-prometheus (`grpc_server_handled_total`, `grpc_client_handling_seconds`, ...) so
//! that existing dashboards and the generated alert rules read them.
//!
//! - Server families live in a registry owned by each running server ([`crate::server::serve`]), created
//!   with every series of every method at zero, and rendered by that server's `/metrics`.
//! - Client families go to the process-wide recorder, installed on first use; [`render`]
//!   gives their text, which every `/metrics` of the process appends. A client registers its
//!   series at zero when it is created ([`register_client`]).

pub(crate) mod server;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};

use crate::rpc::RpcDescriptor;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets (seconds), defined in `nova-constants` so that the generator, whose alert
/// rules and their tests read them, need not link the runtime.
pub use nova_constants::metrics::LATENCY_BUCKETS;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder once per process. Without it (another recorder is
/// installed) metrics are simply not exported here.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), &LATENCY_BUCKETS);
            match builder {
                Ok(builder) => match builder.install_recorder() {
                    Ok(handle) => {
                        describe_client_families();
                        Some(handle)
                    }
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

/// HELP texts of the process-wide families (clients, events): `promtool check metrics` (and
/// people) want one per family.
fn describe_client_families() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!("grpc_client_started_total", "Total number of RPCs started by the client.");
    describe_counter!("grpc_client_handled_total", "Total number of RPCs completed by the client, regardless of success or failure.");
    describe_histogram!(
        "grpc_client_handling_seconds",
        "Histogram of response latency (seconds) of the gRPC calls made by the client, all attempts included."
    );
    describe_counter!("grpc_client_attempts_total", "Total number of attempts (first tries and retries) sent by the client.");
    describe_counter!("grpc_client_retries_total", "Total number of retries sent by the client.");
    describe_counter!("grpc_client_cache_requests_total", "Client cache lookups by level (l1, l2, none) and result (hit, miss, stale).");
    describe_gauge!(
        "grpc_client_circuit_breaker_state",
        "State of the client's circuit breaker towards a target service: 0 closed, 1 open, 2 half-open."
    );
    describe_counter!("grpc_client_circuit_breaker_rejected_total", "Calls the open circuit breaker rejected without sending them.");
    describe_counter!("grpc_client_retries_throttled_total", "Retries the retry budget (gRFC A6 throttling) dropped.");
    use crate::events::metric as events;
    describe_counter!(events::PUBLISHED, "Events the outbox relay published and JetStream acknowledged.");
    describe_counter!(events::CONSUMED, "Events a consumer finished, by subject and outcome (applied, duplicate, stale, retried, dead_lettered).");
    describe_counter!(events::DEAD_LETTERED, "Events a consumer gave up on and parked in the NOVA_DEAD_LETTERS stream, by subject.");
    describe_gauge!(events::OUTBOX_BACKLOG, "Outbox rows left after the relay's last pass: events NATS has not acknowledged yet.");
}

/// The text exposition of the process-wide (client) metrics.
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

/// The `grpc_code` label of `code`, as go-grpc-prometheus writes it.
pub(crate) fn code_label(code: tonic::Code) -> &'static str {
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

/// The client-side metric handles of one RPC, resolved once: a label lookup per call would
/// cost more than an L1 cache hit.
#[derive(Debug)]
pub(crate) struct RpcMetrics {
    rpc: &'static RpcDescriptor,
    handled: [OnceLock<Counter>; 17],
    seconds: Histogram,
    /// `grpc_client_started_total`: logical calls started (once per call, whatever its retries
    /// or cache); with `grpc_client_handled_total` it shows calls in flight.
    pub(crate) started: Counter,
    /// `grpc_client_attempts_total`: attempts sent (first tries and retries).
    pub(crate) attempts: Counter,
    /// `grpc_client_retries_total`: retries sent.
    pub(crate) retries: Counter,
    /// `grpc_client_cache_requests_total{level="l1",result="hit"}`.
    pub(crate) cache_l1_hits: Counter,
    /// `grpc_client_cache_requests_total{level="l2",result="hit"}`.
    pub(crate) cache_l2_hits: Counter,
    /// `grpc_client_cache_requests_total{level="none",result="miss"}`.
    pub(crate) cache_misses: Counter,
    /// `grpc_client_cache_requests_total{level="none",result="stale"}`: expired entries served
    /// because the owner failed.
    pub(crate) cache_stale: Counter,
}

impl RpcMetrics {
    fn new(rpc: &'static RpcDescriptor) -> Self {
        let (service, method) = (rpc.service, rpc.method);
        let cache = |level: &'static str, result: &'static str| counter!("grpc_client_cache_requests_total", "grpc_service" => service, "grpc_method" => method, "level" => level, "result" => result);
        let seconds = histogram!("grpc_client_handling_seconds", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method);
        let started = counter!("grpc_client_started_total", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method);
        RpcMetrics {
            rpc,
            handled: std::array::from_fn(|_| OnceLock::new()),
            seconds,
            started,
            attempts: counter!("grpc_client_attempts_total", "grpc_service" => service, "grpc_method" => method),
            retries: counter!("grpc_client_retries_total", "grpc_service" => service, "grpc_method" => method),
            cache_l1_hits: cache("l1", "hit"),
            cache_l2_hits: cache("l2", "hit"),
            cache_misses: cache("none", "miss"),
            cache_stale: cache("none", "stale"),
        }
    }

    /// A finished call: `grpc_client_handled_total{grpc_code}` and the latency histogram.
    pub(crate) fn handled(&self, code: tonic::Code, elapsed: Duration) {
        self.handled_counter(code).increment(1);
        self.seconds.record(elapsed.as_secs_f64());
    }

    fn handled_counter(&self, code: tonic::Code) -> &Counter {
        let index = usize::try_from(i32::from(code)).unwrap_or(0).min(16);
        self.handled[index].get_or_init(|| {
            let (service, method, code) = (self.rpc.service, self.rpc.method, code_label(code));
            counter!("grpc_client_handled_total", "grpc_type" => "unary", "grpc_service" => service, "grpc_method" => method, "grpc_code" => code)
        })
    }
}

type Registry = RwLock<HashMap<usize, Arc<RpcMetrics>>>;

/// The client-side handles of an RPC.
pub(crate) fn client(rpc: &'static RpcDescriptor) -> Arc<RpcMetrics> {
    static CLIENT: OnceLock<Registry> = OnceLock::new();
    install();
    let registry = CLIENT.get_or_init(|| RwLock::new(HashMap::new()));
    // Descriptors are statics: their address identifies them.
    let id = std::ptr::from_ref(rpc) as usize;
    if let Some(found) = registry.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id) {
        return Arc::clone(found);
    }
    let mut write = registry.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(write.entry(id).or_insert_with(|| Arc::new(RpcMetrics::new(rpc))))
}

/// Registers every client series of `rpcs` (one target service's RPCs, e.g. the generated
/// `rpc::ALL`) at zero, every `grpc_code` included, so that a client's families exist from
/// the moment it is created, before its first call. Call it when a client is constructed;
/// calling it again is cheap and changes nothing.
pub fn register_client(rpcs: &[&'static RpcDescriptor]) {
    for rpc in rpcs {
        let metrics = client(rpc);
        for code in ALL_CODES {
            metrics.handled_counter(code);
        }
    }
}

/// Every gRPC status code, in numeric order (0..=16).
pub(crate) const ALL_CODES: [tonic::Code; 17] = [
    tonic::Code::Ok,
    tonic::Code::Cancelled,
    tonic::Code::Unknown,
    tonic::Code::InvalidArgument,
    tonic::Code::DeadlineExceeded,
    tonic::Code::NotFound,
    tonic::Code::AlreadyExists,
    tonic::Code::PermissionDenied,
    tonic::Code::ResourceExhausted,
    tonic::Code::FailedPrecondition,
    tonic::Code::Aborted,
    tonic::Code::OutOfRange,
    tonic::Code::Unimplemented,
    tonic::Code::Internal,
    tonic::Code::Unavailable,
    tonic::Code::DataLoss,
    tonic::Code::Unauthenticated,
];

/// Per-target handles of a client: its breaker and its retry budget.
#[derive(Debug, Clone)]
pub struct TargetMetrics {
    /// `grpc_client_circuit_breaker_state`: 0 closed, 1 open, 2 half-open.
    pub breaker_state: metrics::Gauge,
    /// `grpc_client_circuit_breaker_rejected_total`: calls failed by the open breaker.
    pub breaker_rejected: Counter,
    /// `grpc_client_retries_throttled_total`: retries the budget dropped.
    pub retries_throttled: Counter,
}

impl TargetMetrics {
    /// The handles for calls to `target` (e.g. `auth`), in the process-wide registry of
    /// client metrics (installed on first use).
    pub fn new(target: &'static str) -> Self {
        install();
        TargetMetrics {
            breaker_state: gauge!("grpc_client_circuit_breaker_state", "target" => target),
            breaker_rejected: counter!("grpc_client_circuit_breaker_rejected_total", "target" => target),
            retries_throttled: counter!("grpc_client_retries_throttled_total", "target" => target),
        }
    }
}
