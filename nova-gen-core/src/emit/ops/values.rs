//! The Helm values of one service, for the chart in `generated/ops/chart`: image, replicas and
//! resources; ports; the pod's user and writable directories; its own database URL, Redis URL,
//! cache key and other secrets as Secret references; its mTLS identity; the services it `calls`
//! and, reversed, those that call it (the NetworkPolicy's admitted callers); shutdown timing
//! matching the runtime; and the canary analysis derived from its SLO.

use askama::Template;

use super::expr;
use super::yaml::{number, quote};
use crate::emit::EmitError;
use crate::ir::{Service, Spec};

/// Seconds: the runtime's defaults (`nova_constants::server::DEFAULT_DRAIN_DELAY`,
/// `DEFAULT_GRACE`, which the runtime re-exports) and the pod's grace period, which covers both
/// with room to exit.
pub const DRAIN_DELAY_SECONDS: u64 = nova_constants::server::DEFAULT_DRAIN_DELAY.as_secs();
pub const GRACE_SECONDS: u64 = nova_constants::server::DEFAULT_GRACE.as_secs();
pub const TERMINATION_GRACE_PERIOD_SECONDS: u64 = 30;
const _: () = assert!(TERMINATION_GRACE_PERIOD_SECONDS > DRAIN_DELAY_SECONDS + GRACE_SECONDS);
/// The metrics listener: the gRPC port + this (what `nova_runtime::server::ServiceConfig::from_env`
/// listens on by default).
pub const METRICS_PORT_OFFSET: u16 = nova_constants::server::METRICS_PORT_OFFSET;
/// The SPIFFE trust domain of the runtime's identities: `spiffe://nova.local/svc/<service>`
/// for services, `spiffe://nova.local/client/<name>` for callers that are not services.
const TRUST_DOMAIN: &str = "nova.local";
/// The pod's user and group: high, so that it matches no user of the node.
const POD_UID: u32 = 10001;
/// The environment variable holding the key that encrypts the token issuer's signing keys.
const KEY_ENCRYPTION_KEY_ENV: &str = "NOVA_AUTH_KEY_ENCRYPTION_KEY";

/// The identity a service's certificate carries (its URI SAN).
fn service_identity(service: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/svc/{service}")
}

/// The identity of a client that is not a service, such as the edge.
fn client_identity(client: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/client/{client}")
}

/// The service that issues tokens (`[defaults] token_issuer`) and so keeps signing keys
/// encrypted at rest.
fn is_token_issuer(spec: &Spec, service: &Service) -> bool {
    spec.token_issuer == Some(service.id)
}

/// The services that call `service` (their `calls` name it), sorted by name: the reverse edges.
fn callers<'a>(spec: &'a Spec, service: &Service) -> Vec<&'a Service> {
    spec.services.iter().filter(|s| s.calls.contains(&service.id)).collect()
}

/// A peer of the service in values: a callee or a caller.
struct Peer {
    name: String,
    fullname: String,
    port: u16,
    env: String,
}

impl Peer {
    fn of(service: &Service) -> Peer {
        Peer {
            name: quote(&service.name),
            fullname: quote(&expr::job_name(&service.name)),
            port: service.port,
            env: quote(&format!("NOVA_{}_ENDPOINT", service.name.to_ascii_uppercase())),
        }
    }
}

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
    uid: u32,
    /// (database name, Secret name); `None` for a stateless service.
    database: Option<(String, String)>,
    redis_secret: String,
    secret_env: Vec<SecretEnv>,
    identity: String,
    tls_secret: String,
    edge_identity: String,
    calls: Vec<Peer>,
    callers: Vec<Peer>,
    /// `None` for a service without events.
    events: Option<EventsView>,
    drain: u64,
    grace: u64,
    termination: u64,
    error_rate: String,
    p95: String,
    error_query: String,
    p95_query: String,
}

/// What a service declares on NATS JetStream at start (see `nova_runtime::events`): the
/// stream of its own events and one durable consumer per publisher it follows.
struct EventsView {
    nats_secret: String,
    stream: Option<String>,
    subjects: Vec<String>,
    consumers: Vec<(String, Vec<String>)>,
}

/// Stream `NOVA_<SVC>` and subjects `nova.<svc>.<table>.<event>`, as the runtime names them.
fn events_view(service: &Service) -> Option<EventsView> {
    let events = &service.events;
    if !events.any() {
        return None;
    }
    let subject = |publisher: &str, event: &crate::ir::Event| quote(&format!("nova.{publisher}.{}", event.qualified()));
    Some(EventsView {
        nats_secret: quote(&format!("{}-nats", expr::job_name(&service.name))),
        stream: (!events.publishes.is_empty()).then(|| quote(&format!("NOVA_{}", service.name.to_ascii_uppercase()))),
        subjects: events.publishes.iter().map(|e| subject(&service.name, e)).collect(),
        consumers: events
            .consumes
            .iter()
            .map(|s| {
                let durable = quote(&format!("{}_from_{}", service.name, s.publisher_name));
                (durable, s.events.iter().map(|c| subject(&s.publisher_name, &c.event)).collect())
            })
            .collect(),
    })
}

/// The services `service` calls, sorted by name.
fn callees(spec: &Spec, service: &Service) -> Vec<Peer> {
    spec.resolve(&service.calls).map(Peer::of).collect()
}

/// An environment variable the pod reads from a key of a Secret (values quoted for YAML).
struct SecretEnv {
    name: String,
    secret: String,
    key: String,
}

/// Secret environment beyond the database and Redis URLs and the cache key.
fn secret_env(spec: &Spec, service: &Service) -> Vec<SecretEnv> {
    let mut env = Vec::new();
    if is_token_issuer(spec, service) {
        let secret = format!("{}-keys", expr::job_name(&service.name));
        env.push(SecretEnv { name: quote(KEY_ENCRYPTION_KEY_ENV), secret: quote(&secret), key: quote("key-encryption-key") });
    }
    env
}

pub fn values_file(spec: &Spec, service: &Service) -> Result<String, EmitError> {
    let job = expr::job_name(&service.name);
    let view = ValuesView {
        header: super::header("#"),
        file: service.name.clone(),
        release: job.clone(),
        name: quote(&service.name),
        job: quote(&job),
        grpc_service: quote(&service.proto.full_name()),
        grpc_port: service.port,
        metrics_port: service.port.saturating_add(METRICS_PORT_OFFSET),
        uid: POD_UID,
        database: service.database.as_ref().map(|d| (quote(d), quote(&format!("{job}-database")))),
        redis_secret: quote(&format!("{job}-redis")),
        secret_env: secret_env(spec, service),
        identity: quote(&service_identity(&service.name)),
        tls_secret: quote(&format!("{job}-tls")),
        edge_identity: quote(&client_identity("edge")),
        calls: callees(spec, service),
        callers: callers(spec, service).into_iter().map(Peer::of).collect(),
        events: events_view(service),
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
