//! The server families of one running server: `grpc_server_started_total`,
//! `grpc_server_handled_total` and `grpc_server_handling_seconds`, for every method of its
//! service and (for `handled`) every status code, present at zero from start-up so that
//! alerts and `absent()` rules behave before the first call.
//!
//! Each server owns its registry and renders it at its own `/metrics`: two servers in one
//! process (tests, or several services in one binary) never see each other's counts. Plain
//! atomics: recording a call is a few relaxed additions, no label lookup, no lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{ALL_CODES, LATENCY_BUCKETS, code_label};
use crate::rpc::RpcDescriptor;

/// The registry of one server.
#[derive(Debug)]
pub(crate) struct ServerMetrics {
    service: &'static str,
    methods: Box<[MethodMetrics]>,
}

/// The counters of one method.
#[derive(Debug)]
pub(crate) struct MethodMetrics {
    method: &'static str,
    started: AtomicU64,
    handled: [AtomicU64; ALL_CODES.len()],
    /// Observations per bucket (not cumulative), the last one for `+Inf`.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl ServerMetrics {
    /// A registry for `service` (e.g. `nova.auth.v1.AuthService`) with every method of `rpcs`
    /// at zero.
    pub(crate) fn new(service: &'static str, rpcs: &[&'static RpcDescriptor]) -> Self {
        let methods = rpcs.iter().filter(|rpc| rpc.service == service).map(|rpc| MethodMetrics::new(rpc.method)).collect();
        ServerMetrics { service, methods }
    }

    /// The method an HTTP/2 path (`/package.Service/Method`) calls, if it is one of ours.
    pub(crate) fn method(&self, path: &str) -> Option<&MethodMetrics> {
        let method = path.strip_prefix('/')?.strip_prefix(self.service)?.strip_prefix('/')?;
        self.methods.iter().find(|m| m.method == method)
    }

    /// The Prometheus text exposition (format 0.0.4) of every family.
    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        family(&mut text, "grpc_server_started_total", "counter", "Total number of RPCs started on the server.");
        for m in &self.methods {
            let _ = writeln!(text, "grpc_server_started_total{{{}}} {}", self.labels(m), m.started.load(Ordering::Relaxed));
        }
        family(&mut text, "grpc_server_handled_total", "counter", "Total number of RPCs completed on the server, regardless of success or failure.");
        for m in &self.methods {
            for (code, count) in ALL_CODES.iter().zip(&m.handled) {
                let (labels, code, count) = (self.labels(m), code_label(*code), count.load(Ordering::Relaxed));
                let _ = writeln!(text, "grpc_server_handled_total{{{labels},grpc_code=\"{code}\"}} {count}");
            }
        }
        family(
            &mut text,
            "grpc_server_handling_seconds",
            "histogram",
            "Histogram of response latency (seconds) of gRPC calls handled by the server.",
        );
        for m in &self.methods {
            m.render_histogram(&mut text, &self.labels(m));
        }
        text
    }

    fn labels(&self, method: &MethodMetrics) -> String {
        format!("grpc_type=\"unary\",grpc_service=\"{}\",grpc_method=\"{}\"", self.service, method.method)
    }
}

fn family(text: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

impl MethodMetrics {
    fn new(method: &'static str) -> Self {
        MethodMetrics {
            method,
            started: AtomicU64::new(0),
            handled: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// The method's name, e.g. `GetUser`.
    pub(crate) fn name(&self) -> &'static str {
        self.method
    }

    /// A call arrived.
    pub(crate) fn started(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// A call finished with `code` after `elapsed`.
    pub(crate) fn handled(&self, code: tonic::Code, elapsed: Duration) {
        let index = usize::try_from(i32::from(code)).unwrap_or(0).min(ALL_CODES.len() - 1);
        self.handled[index].fetch_add(1, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render_histogram(&self, text: &mut String, labels: &str) {
        let mut cumulative = 0;
        for (index, count) in self.buckets.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let bound = LATENCY_BUCKETS.get(index).map_or_else(|| "+Inf".to_string(), f64::to_string);
            let _ = writeln!(text, "grpc_server_handling_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let sum = Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        let _ = writeln!(text, "grpc_server_handling_seconds_sum{{{labels}}} {sum}");
        let _ = writeln!(text, "grpc_server_handling_seconds_count{{{labels}}} {}", self.count.load(Ordering::Relaxed));
    }
}
