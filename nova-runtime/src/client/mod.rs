//! The client half: the call path every generated client method goes through, configured by
//! the RPC's descriptor (from specs/ownership.toml):
//!
//! 1. **cache** (cacheable reads): L1 then L2; a miss loads once for all concurrent callers,
//!    in a load the cache owns (callers may give up; each waits until its own deadline); an
//!    expired entry is served if the owner fails within its stale-if-error window (see
//!    [`cache`] for invalidation and its worst-case staleness);
//! 2. **deadline**: one deadline for the whole logical call, the policy's or what is left of
//!    the call being served if that is sooner, sent downstream in `grpc-timeout`;
//! 3. **circuit breaker** per target: while open, calls fail at once without the network;
//! 4. **retries** of `UNAVAILABLE` where safe, with full-jitter backoff inside the deadline,
//!    and gRFC A6 throttling per target so an outage is not multiplied;
//! 5. **metrics** and a tracing span per call.

mod batch;
mod breaker;
pub mod cache;
mod gather;
mod invalidator;
mod peers;
mod retry;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use prost::Message;
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tracing::Instrument as _;

pub use batch::{PerId, Single};
pub use breaker::{BreakerState, CircuitBreaker, Permit, Rejected};
pub use cache::{CacheConfig, CacheKey, CacheStats, Level, Lookup, MIN_GENERATION_LIFETIME, MacKey, RedisConfig, ResponseCache, Snapshot};
pub use invalidator::Invalidator;
pub use peers::Peers;
use retry::target_failure;
pub use retry::{RetryThrottle, backoff, never_sent, retryable};

use crate::config::{ConfigError, env_or};
use crate::context;
use crate::identity::{Access, Caller};
use crate::rpc::{RpcDescriptor, TargetPolicy};
use crate::tls::{PLAINTEXT_PEER_HEADER, TlsConnector, TlsMaterial};

/// Why a client could not be built. Only configuration fails here: connecting is lazy, so a
/// target that is down shows up as `UNAVAILABLE` on the calls, never at construction.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The target's URI is not a valid endpoint.
    #[error("invalid endpoint {uri:?}")]
    Endpoint {
        /// The URI as configured.
        uri: String,
        /// tonic's reason.
        #[source]
        source: tonic::transport::Error,
    },
    /// A configuration variable (endpoint, cache settings) is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS material is missing or unusable (see [`crate::tls::TlsError`]).
    #[error("TLS: {0}")]
    Tls(String),
}

/// How long establishing a connection (TCP, and TLS when used) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

fn endpoint(uri: &str) -> Result<Endpoint, ClientError> {
    let endpoint = Endpoint::from_shared(uri.to_string()).map_err(|source| ClientError::Endpoint { uri: uri.to_string(), source })?;
    Ok(endpoint.connect_timeout(CONNECT_TIMEOUT).tcp_nodelay(true).http2_keep_alive_interval(Duration::from_secs(30)))
}

/// A lazily connecting plaintext channel to `uri` (e.g. `http://127.0.0.1:50051`):
/// constructing a client never fails because a dependency is down; calls do, and are retried
/// or fail fast.
///
/// # Errors
///
/// [`ClientError::Endpoint`] when `uri` is not a valid endpoint.
pub fn channel(uri: &str) -> Result<Channel, ClientError> {
    Ok(endpoint(uri)?.connect_lazy())
}

/// A lazily connecting mutual-TLS channel to the service `service` at `uri`, presenting
/// `material`'s certificate and accepting only a server certificate naming `service`.
/// `https://` and `http://` mean the same here: the connector always speaks TLS (and tonic must
/// not try its own TLS on top).
///
/// # Errors
///
/// [`ClientError::Tls`] when the connector cannot be built from `material`,
/// [`ClientError::Endpoint`] when `uri` is not a valid endpoint.
pub fn tls_channel(uri: &str, material: &TlsMaterial, service: &str) -> Result<Channel, ClientError> {
    let connector = TlsConnector::new(material, service, CONNECT_TIMEOUT).map_err(|e| ClientError::Tls(e.to_string()))?;
    let uri = uri.strip_prefix("https://").map_or_else(|| uri.to_string(), |rest| format!("http://{rest}"));
    Ok(endpoint(&uri)?.connect_with_connector_lazy(connector))
}

/// `NOVA_<SERVICE>_ENDPOINT`, default `http://127.0.0.1:<default_port>`.
///
/// # Errors
///
/// [`ClientError::Config`] when the variable is set but not valid text.
pub fn endpoint_from_env(service: &str, default_port: u16) -> Result<String, ClientError> {
    let name = format!("NOVA_{}_ENDPOINT", service.to_ascii_uppercase());
    Ok(env_or(&name, format!("http://127.0.0.1:{default_port}"))?)
}

/// Who this process is when it calls others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// What its certificate says, e.g. `svc/content` or `client/edge`: part of every cache
    /// key of an answer that depends on the caller.
    pub name: String,
    /// In plaintext mode only: the service it announces in `x-nova-service`.
    pub announce: Option<String>,
}

impl Default for ClientIdentity {
    /// A client that proves nothing (plaintext, announcing nobody).
    fn default() -> Self {
        ClientIdentity { name: "unproven".to_string(), announce: None }
    }
}

/// How a client caches, beyond what the RPC policies say, and who it is.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `None` turns caching off for this client.
    pub cache: Option<CacheConfig>,
    /// Who the client is when it calls (set from the transport by [`Peers`]).
    pub identity: ClientIdentity,
    /// A floor under every call's own deadline (an inherited deadline still caps it). `None`
    /// everywhere but test harnesses: the RPC policies' deadlines (200 ms for a lookup) are a
    /// production budget, and a test that is not about deadlines, run on a loaded 2-core CI
    /// box, must not fail because a call took 300 ms.
    pub min_deadline: Option<Duration>,
}

impl ClientOptions {
    /// L1 plus L2 at `NOVA_REDIS_URL` (default `redis://127.0.0.1:6379`; credentials in the
    /// URL, `redis://user:password@host:port`), keys prefixed with `NOVA_CACHE_PREFIX` (default
    /// `nova`), entries sealed with `NOVA_CACHE_KEY` (base64 of at least 32 bytes; every replica
    /// of every service must share it; unset, a key of this process only, and a warning).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when a variable is set but invalid (`NOVA_CACHE_KEY` not base64 of at
    /// least 32 bytes, say).
    pub fn from_env() -> Result<Self, ConfigError> {
        let redis = RedisConfig::new(env_or::<String>("NOVA_REDIS_URL", "redis://127.0.0.1:6379")?);
        let mac_key = match std::env::var("NOVA_CACHE_KEY").ok().filter(|v| !v.trim().is_empty()) {
            Some(value) => MacKey::from_base64(&value).map_err(|reason| ConfigError {
                name: "NOVA_CACHE_KEY".to_string(),
                value: "(secret)".to_string(),
                reason,
            })?,
            None => {
                static WARNED: std::sync::Once = std::sync::Once::new();
                WARNED.call_once(|| tracing::warn!("NOVA_CACHE_KEY is not set: cache entries in Redis are sealed with a key of this process only, so other replicas cannot use them"));
                MacKey::random()
            }
        };
        let cache = CacheConfig { redis: Some(redis), key_prefix: env_or::<String>("NOVA_CACHE_PREFIX", "nova")?, mac_key, ..CacheConfig::default() };
        Ok(ClientOptions { cache: Some(cache), identity: ClientIdentity::default(), min_deadline: None })
    }

    /// L1 only.
    pub fn in_process() -> Self {
        ClientOptions { cache: Some(CacheConfig::default()), identity: ClientIdentity::default(), min_deadline: None }
    }
}

/// Everything a client keeps about its target service.
#[derive(Debug)]
struct Target {
    policy: &'static TargetPolicy,
    channel: Channel,
    breaker: CircuitBreaker,
    throttle: RetryThrottle,
    cache: Option<Arc<ResponseCache>>,
    metrics: crate::metrics::TargetMetrics,
    identity: ClientIdentity,
    /// `x-nova-service` in plaintext mode.
    announce: Option<MetadataValue<Ascii>>,
    /// [`ClientOptions::min_deadline`].
    min_deadline: Option<Duration>,
    /// Per-id loads of batch reads, gathering and in flight (`gather.rs`).
    gatherer: gather::Gatherer,
}

/// What a generated client holds: cheap to clone; clones share the breaker, the retry
/// budget and the cache.
#[derive(Debug, Clone)]
pub struct ClientCore {
    target: Arc<Target>,
    /// An end user's access token this client always sends ([`ClientCore::with_token`]): what
    /// the edge, a tool or a test does. Without it, a client inside a server forwards the token
    /// of the user whose call it serves, if any.
    token: Option<Arc<str>>,
}

/// How one logical call is made, fixed before it starts.
struct How {
    rpc: &'static RpcDescriptor,
    deadline: Instant,
    credentials: Credentials,
    /// Who the answer is for, in cache keys.
    scope: String,
    /// The end user a per-user answer is for: one more tag of its cache entry (see
    /// [`with_viewer`]).
    viewer: Option<String>,
}

/// A request's entity ids, plus the end user a per-user answer is for: invalidating that
/// user's id (a block, a logout, an account deletion, a change of what they may see) drops
/// every answer computed for them, whatever it is keyed by.
fn with_viewer(mut ids: Vec<String>, viewer: Option<&str>) -> Vec<String> {
    if let Some(viewer) = viewer
        && !ids.iter().any(|id| id == viewer)
    {
        ids.push(viewer.to_string());
    }
    ids
}

/// What one call sends besides the request, fixed before it starts (the call may be carried
/// out by a shared cache load running on another task).
#[derive(Debug, Clone, Default)]
struct Credentials {
    authorization: Option<MetadataValue<Ascii>>,
    announce: Option<MetadataValue<Ascii>>,
}

impl Credentials {
    fn apply<T>(&self, request: &mut Request<T>) {
        if let Some(value) = &self.authorization {
            request.metadata_mut().insert("authorization", value.clone());
        }
        if let Some(value) = &self.announce {
            request.metadata_mut().insert(PLAINTEXT_PEER_HEADER, value.clone());
        }
    }
}

/// Ids a request is about (for invalidation by entity); generated per cacheable RPC.
pub type Entities<Req> = fn(&Req) -> Vec<String>;

impl ClientCore {
    /// A client of `policy.service` over `channel`, with its own breaker, retry budget,
    /// metrics and (if `options.cache` says so) response cache. Generated clients call it;
    /// [`ClientCore::from_env`] and [`ClientCore::connect_lazy`] are the usual ways in.
    pub fn new(policy: &'static TargetPolicy, channel: Channel, options: ClientOptions) -> Self {
        let metrics = crate::metrics::TargetMetrics::new(policy.service);
        metrics.breaker_state.set(BreakerState::Closed.as_gauge());
        let cache = options.cache.map(|config| ResponseCache::new(policy.service, config));
        let breaker = CircuitBreaker::new(policy.breaker);
        let announce = options.identity.announce.as_deref().and_then(|name| MetadataValue::try_from(name).ok());
        let identity = options.identity;
        let min_deadline = options.min_deadline;
        let throttle = RetryThrottle::new(policy.retry_budget);
        let gatherer = gather::Gatherer::default();
        let target = Target { policy, channel, breaker, throttle, cache, metrics, identity, announce, min_deadline, gatherer };
        ClientCore { target: Arc::new(target), token: None }
    }

    /// This client (sharing its cache, breaker and budget) sending `token` as the end user's
    /// access token on every call (`authorization: Bearer`). Answers that depend on the caller
    /// are cached under the token.
    pub fn with_token(&self, token: &str) -> Self {
        ClientCore { target: Arc::clone(&self.target), token: Some(Arc::from(token)) }
    }

    /// Who a call made now acts for, its cache scope and the end user of a per-user answer:
    /// `""` for answers shared by every caller; this process's identity for service-only RPCs
    /// (their answers must not depend on the end user); and the end user as well (by token
    /// digest, or the id the server verified) otherwise. The viewer of a token is its subject as
    /// the token says, unverified: it only tags the entry (the scope, a digest of the whole
    /// token, is what keeps one user's answers from another), so a forged subject could only
    /// make the forger's own entries drop earlier.
    fn credentials_and_scope(&self, rpc: &RpcDescriptor, caller: Option<&Caller>) -> (Credentials, String, Option<String>) {
        let token = self.token.clone().or_else(|| caller.and_then(|c| c.token.clone()));
        let authorization = token.as_deref().and_then(|token| MetadataValue::try_from(format!("Bearer {token}")).ok());
        let credentials = Credentials { authorization, announce: self.target.announce.clone() };
        let me = &self.target.identity.name;
        let (scope, viewer) = if rpc.access.shared {
            (String::new(), None)
        } else if matches!(rpc.access.access, Access::Service) {
            (me.clone(), None)
        } else if let Some(token) = &self.token {
            let digest = Sha256::digest(token.as_bytes());
            let viewer = crate::identity::unverified_subject(token).map(|user| user.to_string());
            (format!("{me}|t:{:x}", u128::from_be_bytes(digest[..16].try_into().unwrap_or([0; 16]))), viewer)
        } else if let Some(user) = caller.and_then(|c| c.principal.user()) {
            (format!("{me}|u:{}", user.id), Some(user.id.to_string()))
        } else {
            (me.clone(), None)
        };
        (credentials, scope, viewer)
    }

    /// A client of `policy.service` at `uri`, caching in process only; connects on first use.
    ///
    /// # Errors
    ///
    /// [`ClientError::Endpoint`] when `uri` is not a valid endpoint.
    pub fn connect_lazy(policy: &'static TargetPolicy, uri: &str) -> Result<Self, ClientError> {
        Ok(Self::new(policy, channel(uri)?, ClientOptions::in_process()))
    }

    /// A client of `policy.service` at `NOVA_<SERVICE>_ENDPOINT` (default: its local port),
    /// caching in process and in Redis ([`ClientOptions::from_env`]).
    /// With `NOVA_TLS_*` (or `NOVA_TLS=off`) as [`crate::tls::Transport::from_env`] reads them.
    ///
    /// # Errors
    ///
    /// [`ClientError::Tls`] when TLS is neither configured nor turned off (or its material is
    /// unusable), [`ClientError::Config`] or [`ClientError::Endpoint`] for an invalid variable.
    pub fn from_env(policy: &'static TargetPolicy, default_port: u16) -> Result<Self, ClientError> {
        let transport = crate::tls::Transport::from_env(None).map_err(|e| ClientError::Tls(e.to_string()))?;
        let peers = Peers::from_env()?.with_transport(transport);
        Ok(Self::new(policy, peers.channel(policy.service, default_port)?, peers.options))
    }

    /// The service this client calls, e.g. `auth`.
    pub fn target(&self) -> &'static str {
        self.target.policy.service
    }

    /// The state of the circuit breaker of this client's target now (shared by every clone).
    pub fn breaker_state(&self) -> BreakerState {
        self.target.breaker.state(Instant::now())
    }

    /// The response cache, when this client caches (tests and tools look into it).
    pub fn cache(&self) -> Option<&Arc<ResponseCache>> {
        self.target.cache.as_ref()
    }

    /// Makes one logical call. `attempt` performs the RPC on a channel (generated code wraps
    /// the tonic method); `entities` names the ids the request is about.
    ///
    /// # Errors
    ///
    /// The status of the call as the caller should see it: the target's answer (after any
    /// retries the policy allows), `DEADLINE_EXCEEDED` when the deadline passed, `UNAVAILABLE`
    /// when the breaker is open, the target unreachable or a lost connection. A cacheable read
    /// may instead answer from a stale entry when the target fails within its stale-if-error
    /// window.
    pub async fn unary<Req, Resp, F, Fut>(
        &self,
        rpc: &'static RpcDescriptor,
        request: Req,
        entities: Entities<Req>,
        attempt: F,
    ) -> Result<Resp, Status>
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + Send + 'static,
        F: Fn(Channel, Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        let (how, metrics, started, span) = self.begin(rpc);
        let result = self.call(&how, &metrics, request, entities, attempt).instrument(span).await;
        finish(&metrics, started, &result);
        result
    }

    /// What every logical call fixes before it starts: its deadline, credentials and cache
    /// scope, its metric handles (counting it started), its start time and its span.
    fn begin(&self, rpc: &'static RpcDescriptor) -> (How, Arc<crate::metrics::RpcMetrics>, Instant, tracing::Span) {
        let started = Instant::now();
        let metrics = crate::metrics::client(rpc);
        metrics.started.increment(1);
        let deadline = call_deadline(own_budget(rpc.policy.deadline, self.target.min_deadline), context::current_deadline(), started);
        let (credentials, scope, viewer) = self.credentials_and_scope(rpc, context::current_caller().as_deref());
        let span = tracing::debug_span!("grpc.client", service = rpc.service, method = rpc.method, target = self.target());
        (How { rpc, deadline, credentials, scope, viewer }, metrics, started, span)
    }

    async fn call<Req, Resp, F, Fut>(
        &self,
        how: &How,
        metrics: &crate::metrics::RpcMetrics,
        request: Req,
        entities: Entities<Req>,
        attempt: F,
    ) -> Result<Resp, Status>
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + Send + 'static,
        F: Fn(Channel, Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        let (rpc, deadline, credentials, scope) = (how.rpc, how.deadline, how.credentials.clone(), how.scope.as_str());
        let (Some(policy), Some(cache)) = (rpc.policy.cache, self.target.cache.clone()) else {
            return send_with_retries(&self.target, rpc, metrics, request, &attempt, deadline, &credentials).await;
        };
        let encoded = request.encode_to_vec();
        let l1_key = cache.l1_key(rpc, scope, &encoded);
        let mut stale = match cache.lookup_l1(&l1_key).await {
            Lookup::Fresh(bytes, _) => {
                metrics.cache_l1_hits.increment(1);
                return decode(&bytes);
            }
            Lookup::Stale(bytes) => Some(bytes),
            Lookup::Miss => None,
        };
        let key = cache.key_from(l1_key, rpc, scope, &encoded, &with_viewer(entities(&request), how.viewer.as_deref()));
        let (l2, snapshot) = cache.lookup_l2(&key).await;
        match l2 {
            Lookup::Fresh(bytes, _) => {
                metrics.cache_l2_hits.increment(1);
                return decode(&bytes);
            }
            Lookup::Stale(bytes) => stale = stale.or(Some(bytes)),
            Lookup::Miss => {}
        }
        metrics.cache_misses.increment(1);
        let target = Arc::clone(&self.target);
        let attempt = Arc::new(attempt);
        // Called again only if this caller must load after a shared load ran out of time.
        let fetch = move || {
            let (target, attempt, request, credentials) = (Arc::clone(&target), Arc::clone(&attempt), request.clone(), credentials.clone());
            async move {
                let metrics = crate::metrics::client(rpc);
                let response: Resp = send_with_retries(&target, rpc, &metrics, request, &*attempt, deadline, &credentials).await?;
                Ok(Bytes::from(response.encode_to_vec()))
            }
            .boxed()
        };
        let loaded = cache.load(&key, policy, snapshot, deadline, fetch).await;
        match (loaded, stale) {
            (Ok(bytes), _) => decode(&bytes),
            (Err(status), Some(stale)) if owner_unreachable(&status) && !rpc.policy.fail_closed => {
                tracing::info!(method = rpc.method, code = ?status.code(), "serving a stale cached response: the owner is unreachable");
                metrics.cache_stale.increment(1);
                decode(&stale)
            }
            (Err(status), _) => Err(status),
        }
    }

    /// The cache key a call of `rpc` with `request` made now would use (scope included), if
    /// this client caches: for tests and tools that look into the cache.
    pub fn cache_key<Req: Message>(&self, rpc: &RpcDescriptor, request: &Req, entities: &[String]) -> Option<CacheKey> {
        let cache = self.target.cache.as_ref()?;
        let (_, scope, viewer) = self.credentials_and_scope(rpc, context::current_caller().as_deref());
        Some(cache.key(rpc, &scope, &request.encode_to_vec(), &with_viewer(entities.to_vec(), viewer.as_deref())))
    }

    /// Forgets the cached responses to `request` (whoever asked it), here and in every replica.
    pub async fn invalidate<Req: Message>(&self, rpc: &'static RpcDescriptor, request: &Req, entities: Entities<Req>) {
        if let Some(cache) = &self.target.cache {
            let (_, scope, viewer) = self.credentials_and_scope(rpc, context::current_caller().as_deref());
            cache.invalidate_key(&cache.key(rpc, &scope, &request.encode_to_vec(), &with_viewer(entities(request), viewer.as_deref()))).await;
        }
    }

    /// Forgets every cached response about the entity `id` (e.g. a user id after an update).
    pub async fn invalidate_entity(&self, id: &str) {
        if let Some(cache) = &self.target.cache {
            cache.invalidate_entity(id).await;
        }
    }
}

/// Counts a finished logical call by its code and time.
fn finish<T>(metrics: &crate::metrics::RpcMetrics, started: Instant, result: &Result<T, Status>) {
    let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
    metrics.handled(code, started.elapsed());
}

fn decode<Resp: Message + Default>(bytes: &Bytes) -> Result<Resp, Status> {
    Resp::decode(bytes.clone()).map_err(|e| Status::internal(format!("cached response does not decode: {e}")))
}

/// Failures that mean "the owner could not answer", when a stale answer beats none.
fn owner_unreachable(status: &Status) -> bool {
    matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted)
}

fn deadline_exceeded(rpc: &RpcDescriptor, deadline: Instant) -> Status {
    let late = Instant::now().saturating_duration_since(deadline);
    Status::deadline_exceeded(format!("{} did not finish before its deadline ({late:?} ago)", rpc.path()))
}

/// A CANCELLED this close to the deadline is the deadline expiring on the server.
const DEADLINE_SLACK: Duration = Duration::from_millis(5);

/// Gives a breaker permit back if the attempt is abandoned (the caller went away).
struct PermitGuard<'a> {
    target: &'a Target,
    permit: Option<Permit>,
}

impl PermitGuard<'_> {
    fn record(mut self, failed: bool, elapsed: Duration) {
        if let Some(permit) = self.permit.take() {
            let state = self.target.breaker.record(permit, failed, elapsed, Instant::now());
            self.target.metrics.breaker_state.set(state.as_gauge());
        }
    }
}

impl Drop for PermitGuard<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.target.breaker.release(permit);
        }
    }
}

/// Attempts the call until it succeeds, fails in a way that must not be retried, runs out of
/// attempts, retry budget or time.
async fn send_with_retries<Req, Resp, F, Fut>(
    target: &Target,
    rpc: &'static RpcDescriptor,
    metrics: &crate::metrics::RpcMetrics,
    request: Req,
    attempt: &F,
    deadline: Instant,
    credentials: &Credentials,
) -> Result<Resp, Status>
where
    Req: Clone,
    F: Fn(Channel, Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Resp>, Status>>,
{
    let service = target.policy.service;
    let max_attempts = rpc.policy.retry.map_or(1, |r| r.max_attempts.clamp(1, 5));
    let mut attempts = 0;
    loop {
        attempts += 1;
        let now = Instant::now();
        if now >= deadline {
            return Err(deadline_exceeded(rpc, deadline));
        }
        let permit = match target.breaker.try_acquire(now) {
            Ok(permit) => PermitGuard { target, permit: Some(permit) },
            Err(rejected) => {
                target.metrics.breaker_rejected.increment(1);
                let wait = rejected.retry_after.map_or_else(|| "until its probes finish".to_string(), |d| format!("for {d:?}"));
                return Err(Status::unavailable(format!("circuit breaker for the {service} service is open {wait}; not calling {}", rpc.path())));
            }
        };
        let mut outgoing = Request::new(request.clone());
        outgoing.set_timeout(deadline - now);
        credentials.apply(&mut outgoing);
        metrics.attempts.increment(1);
        let sent = Instant::now();
        let outcome = tokio::time::timeout_at(deadline, attempt(target.channel.clone(), outgoing)).await;
        let elapsed = sent.elapsed();
        let status = match outcome {
            Ok(Ok(response)) => {
                permit.record(false, elapsed);
                target.throttle.on_success();
                return Ok(response.into_inner());
            }
            // The server's transport reports an expired deadline as CANCELLED.
            Ok(Err(status)) if status.code() == Code::Cancelled && Instant::now() + DEADLINE_SLACK >= deadline => {
                permit.record(true, elapsed);
                target.throttle.on_failure();
                return Err(deadline_exceeded(rpc, deadline));
            }
            Ok(Err(status)) => retry::connection_lost_is_unavailable(status),
            Err(_) => {
                permit.record(true, elapsed);
                target.throttle.on_failure();
                return Err(deadline_exceeded(rpc, deadline));
            }
        };
        let unhealthy = target_failure(&status);
        permit.record(unhealthy, elapsed);
        if unhealthy {
            target.throttle.on_failure()
        } else {
            target.throttle.on_success()
        }
        let Some(policy) = rpc.policy.retry.filter(|_| attempts < max_attempts && retryable(&status, rpc.idempotency)) else {
            return Err(status);
        };
        if !target.throttle.allows_retry() {
            target.metrics.retries_throttled.increment(1);
            return Err(status);
        }
        let pause = backoff(&policy, attempts, fastrand::f64());
        if Instant::now() + pause >= deadline {
            return Err(status);
        }
        tracing::debug!(method = rpc.method, attempt = attempts, pause = ?pause, code = ?status.code(), "retrying");
        metrics.retries.increment(1);
        tokio::time::sleep(pause).await;
    }
}

/// How long an outgoing call may take by itself: the policy's deadline, or the client's
/// [`ClientOptions::min_deadline`] if that is longer.
pub fn own_budget(policy: Duration, min_deadline: Option<Duration>) -> Duration {
    min_deadline.map_or(policy, |floor| policy.max(floor))
}

/// The deadline of an outgoing call: the policy's, never later than the inherited one.
pub fn call_deadline(policy: Duration, inherited: Option<Instant>, now: Instant) -> Instant {
    let own = now + policy;
    match inherited {
        Some(inherited) if inherited < own => inherited,
        _ => own,
    }
}
