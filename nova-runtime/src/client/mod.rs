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

mod breaker;
pub mod cache;
mod invalidator;
mod peers;
mod retry;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use prost::Message;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};
use tracing::Instrument as _;

pub use breaker::{BreakerState, CircuitBreaker, Permit, Rejected};
pub use cache::{CacheConfig, CacheKey, CacheStats, Level, Lookup, MIN_GENERATION_LIFETIME, RedisConfig, ResponseCache, Snapshot};
pub use invalidator::Invalidator;
pub use peers::Peers;
pub use retry::{RetryThrottle, backoff, never_sent, retryable, target_failure};

use crate::config::{ConfigError, env_or};
use crate::context;
use crate::rpc::{RpcDescriptor, TargetPolicy};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid endpoint {uri:?}")]
    Endpoint {
        uri: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A lazily connecting channel to `uri` (e.g. `http://127.0.0.1:50051`): constructing a client
/// never fails because a dependency is down; calls do, and are retried or fail fast.
pub fn channel(uri: &str) -> Result<Channel, ClientError> {
    let endpoint = Endpoint::from_shared(uri.to_string()).map_err(|source| ClientError::Endpoint { uri: uri.to_string(), source })?;
    Ok(endpoint.connect_timeout(Duration::from_secs(1)).tcp_nodelay(true).http2_keep_alive_interval(Duration::from_secs(30)).connect_lazy())
}

/// `NOVA_<SERVICE>_ENDPOINT`, default `http://127.0.0.1:<default_port>`.
pub fn endpoint_from_env(service: &str, default_port: u16) -> Result<String, ClientError> {
    let name = format!("NOVA_{}_ENDPOINT", service.to_ascii_uppercase());
    Ok(env_or(&name, format!("http://127.0.0.1:{default_port}"))?)
}

/// How a client caches, beyond what the RPC policies say.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `None` turns caching off for this client.
    pub cache: Option<CacheConfig>,
}

impl ClientOptions {
    /// L1 plus L2 at `NOVA_REDIS_URL` (default `redis://127.0.0.1:6379`), keys prefixed with
    /// `NOVA_CACHE_PREFIX` (default `nova`).
    pub fn from_env() -> Result<Self, ConfigError> {
        let redis = RedisConfig::new(env_or::<String>("NOVA_REDIS_URL", "redis://127.0.0.1:6379")?);
        let cache = CacheConfig { redis: Some(redis), key_prefix: env_or::<String>("NOVA_CACHE_PREFIX", "nova")?, ..CacheConfig::default() };
        Ok(ClientOptions { cache: Some(cache) })
    }

    /// L1 only.
    pub fn in_process() -> Self {
        ClientOptions { cache: Some(CacheConfig::default()) }
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
}

/// What a generated client holds: cheap to clone; clones share the breaker, the retry
/// budget and the cache.
#[derive(Debug, Clone)]
pub struct ClientCore {
    target: Arc<Target>,
}

/// Ids a request is about (for invalidation by entity); generated per cacheable RPC.
pub type Entities<Req> = fn(&Req) -> Vec<String>;

impl ClientCore {
    pub fn new(policy: &'static TargetPolicy, channel: Channel, options: ClientOptions) -> Self {
        let metrics = crate::metrics::TargetMetrics::new(policy.service);
        metrics.breaker_state.set(BreakerState::Closed.as_gauge());
        let cache = options.cache.map(|config| ResponseCache::new(policy.service, config));
        let breaker = CircuitBreaker::new(policy.breaker);
        let target = Target { policy, channel, breaker, throttle: RetryThrottle::new(policy.retry_budget), cache, metrics };
        ClientCore { target: Arc::new(target) }
    }

    /// A client of `policy.service` at `uri`, caching in process only; connects on first use.
    pub fn connect_lazy(policy: &'static TargetPolicy, uri: &str) -> Result<Self, ClientError> {
        Ok(Self::new(policy, channel(uri)?, ClientOptions::in_process()))
    }

    /// A client of `policy.service` at `NOVA_<SERVICE>_ENDPOINT` (default: its local port),
    /// caching in process and in Redis ([`ClientOptions::from_env`]).
    pub fn from_env(policy: &'static TargetPolicy, default_port: u16) -> Result<Self, ClientError> {
        let peers = Peers::from_env()?;
        Ok(Self::new(policy, peers.channel(policy.service, default_port)?, peers.options))
    }

    /// The service this client calls, e.g. `auth`.
    pub fn target(&self) -> &'static str {
        self.target.policy.service
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.target.breaker.state(Instant::now())
    }

    pub fn cache(&self) -> Option<&Arc<ResponseCache>> {
        self.target.cache.as_ref()
    }

    /// Makes one logical call. `attempt` performs the RPC on a channel (generated code wraps
    /// the tonic method); `entities` names the ids the request is about.
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
        let started = Instant::now();
        let metrics = crate::metrics::client(rpc);
        let deadline = call_deadline(rpc.policy.deadline, context::current_deadline(), started);
        let span = tracing::debug_span!("grpc.client", service = rpc.service, method = rpc.method, target = self.target());
        let result = self.call(rpc, &metrics, request, entities, attempt, deadline).instrument(span).await;
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        metrics.handled(code, started.elapsed());
        result
    }

    async fn call<Req, Resp, F, Fut>(
        &self,
        rpc: &'static RpcDescriptor,
        metrics: &crate::metrics::RpcMetrics,
        request: Req,
        entities: Entities<Req>,
        attempt: F,
        deadline: Instant,
    ) -> Result<Resp, Status>
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + Send + 'static,
        F: Fn(Channel, Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        let (Some(policy), Some(cache)) = (rpc.policy.cache, self.target.cache.clone()) else {
            return send_with_retries(&self.target, rpc, metrics, request, &attempt, deadline).await;
        };
        let encoded = request.encode_to_vec();
        let l1_key = cache.l1_key(rpc, &encoded);
        let mut stale = match cache.lookup_l1(&l1_key).await {
            Lookup::Fresh(bytes, _) => {
                metrics.cache_l1_hits.increment(1);
                return decode(&bytes);
            }
            Lookup::Stale(bytes) => Some(bytes),
            Lookup::Miss => None,
        };
        let key = cache.key_from(l1_key, rpc, &encoded, &entities(&request));
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
            let (target, attempt, request) = (Arc::clone(&target), Arc::clone(&attempt), request.clone());
            async move {
                let metrics = crate::metrics::client(rpc);
                let response: Resp = send_with_retries(&target, rpc, &metrics, request, &*attempt, deadline).await?;
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

    /// Forgets the cached response to `request`, here and in every replica.
    pub async fn invalidate<Req: Message>(&self, rpc: &'static RpcDescriptor, request: &Req, entities: Entities<Req>) {
        if let Some(cache) = &self.target.cache {
            cache.invalidate_key(&cache.key(rpc, &request.encode_to_vec(), &entities(request))).await;
        }
    }

    /// Forgets every cached response about the entity `id` (e.g. a user id after an update).
    pub async fn invalidate_entity(&self, id: &str) {
        if let Some(cache) = &self.target.cache {
            cache.invalidate_entity(id).await;
        }
    }
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

/// The deadline of an outgoing call: the policy's, never later than the inherited one.
pub fn call_deadline(policy: Duration, inherited: Option<Instant>, now: Instant) -> Instant {
    let own = now + policy;
    match inherited {
        Some(inherited) if inherited < own => inherited,
        _ => own,
    }
}
