//! The client call path (`ClientCore::unary`) with attempts the test scripts instead of a
//! network, on Tokio's paused clock: deadlines, retries and the breaker's half-open probes,
//! asserted on virtual time and on counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod upstream;

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt as _;
use nova_runtime::client::{BreakerState, ClientCore, ClientOptions};
use nova_runtime::rpc::{BreakerPolicy, CallPolicy, RetryBudget, RetryPolicy, RpcDescriptor, TargetPolicy};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tonic::{Code, Request, Response, Status};

/// The message both ways: a string (prost's `String` implements `Message`).
type Msg = String;

const RETRY: RetryPolicy =
    RetryPolicy { max_attempts: 5, initial_backoff: Duration::from_millis(40), max_backoff: Duration::from_millis(80), multiplier: 2.0 };

const BREAKER: BreakerPolicy = BreakerPolicy {
    window: 4,
    min_calls: 2,
    failure_rate_percent: 50.0,
    slow_call: Duration::from_secs(60),
    slow_rate_percent: 100.0,
    open_for: Duration::from_secs(5),
    half_open_calls: 2,
};

fn target(service: &'static str, breaker: BreakerPolicy) -> &'static TargetPolicy {
    Box::leak(Box::new(TargetPolicy { service, breaker, retry_budget: RetryBudget { max_tokens: 100, token_ratio: 0.1 } }))
}

fn rpc(deadline: Duration, retry: Option<RetryPolicy>, cached: bool) -> &'static RpcDescriptor {
    let cache = cached.then_some(upstream::POLICY);
    Box::leak(Box::new(RpcDescriptor { policy: CallPolicy { deadline, retry, cache, fail_closed: false }, ..upstream::RPC }))
}

fn core(target: &'static TargetPolicy, cached: bool) -> ClientCore {
    // Never connected: the attempts below do not use the channel.
    let channel = nova_runtime::client::channel("http://127.0.0.1:9").unwrap();
    ClientCore::new(target, channel, ClientOptions { cache: cached.then(nova_runtime::client::CacheConfig::default), ..Default::default() })
}

/// Scripted attempts: each is counted; it fails with UNAVAILABLE after `takes` while
/// `failing`, or waits at the gate (when closed) and succeeds.
#[derive(Clone)]
struct Attempts {
    count: Arc<AtomicU64>,
    failing: Arc<std::sync::atomic::AtomicBool>,
    takes: Duration,
    gate: Arc<Semaphore>,
    timeouts: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Attempts {
    fn new(failing: bool, takes: Duration) -> Self {
        Attempts {
            count: Arc::new(AtomicU64::new(0)),
            failing: Arc::new(std::sync::atomic::AtomicBool::new(failing)),
            takes,
            gate: Arc::new(Semaphore::new(0)),
            timeouts: Arc::default(),
        }
    }

    fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    async fn call(&self, core: &ClientCore, rpc: &'static RpcDescriptor) -> Result<Msg, Status> {
        let attempts = self.clone();
        core.unary(
            rpc,
            "u1".to_string(),
            |id: &Msg| vec![id.clone()],
            move |_channel, request: Request<Msg>| {
                let attempts = attempts.clone();
                async move {
                    attempts.count.fetch_add(1, Ordering::SeqCst);
                    let timeout = request.metadata().get("grpc-timeout").and_then(|v| v.to_str().ok()).unwrap_or("none").to_string();
                    attempts.timeouts.lock().unwrap().push(timeout);
                    if !attempts.takes.is_zero() {
                        tokio::time::sleep(attempts.takes).await;
                    }
                    if attempts.failing.load(Ordering::SeqCst) {
                        return Err(Status::unavailable("scripted outage"));
                    }
                    let _ = attempts.gate.acquire().await;
                    Ok(Response::new(Msg::from("ada")))
                }
            },
        )
        .await
    }
}

#[tokio::test(start_paused = true)]
async fn no_call_outlives_its_deadline_whatever_its_retries_and_backoff() {
    let core = core(target("calls-deadline", BREAKER_NEVER), false);
    let deadline = Duration::from_millis(150);
    let read = rpc(deadline, Some(RETRY), false);
    let attempts = Attempts::new(true, Duration::from_millis(30));
    for _ in 0..20 {
        let started = Instant::now();
        let status = attempts.call(&core, read).await.unwrap_err();
        let took = Instant::now() - started;
        assert!(matches!(status.code(), Code::Unavailable | Code::DeadlineExceeded), "{status:?}");
        // Timers have millisecond resolution.
        assert!(took <= deadline + Duration::from_millis(1), "a call took {took:?} of virtual time with a {deadline:?} deadline");
    }
    // An attempt that never answers ends exactly at the deadline.
    let hanging = Attempts::new(false, Duration::from_secs(3600));
    let started = Instant::now();
    assert_eq!(hanging.call(&core, read).await.unwrap_err().code(), Code::DeadlineExceeded);
    let took = Instant::now() - started;
    assert!(took >= deadline && took <= deadline + Duration::from_millis(1), "{took:?}");
}

#[tokio::test(start_paused = true)]
async fn a_call_inside_a_served_call_passes_on_only_the_time_left() {
    let core = core(target("calls-inherited", BREAKER_NEVER), false);
    let read = rpc(Duration::from_millis(300), None, false);
    let attempts = Attempts::new(false, Duration::ZERO);
    attempts.gate.close();
    let inherited = Instant::now() + Duration::from_millis(80);
    nova_runtime::context::with_deadline(Some(inherited), attempts.call(&core, read)).await.unwrap();
    attempts.call(&core, read).await.unwrap();
    let sent: Vec<Duration> =
        attempts.timeouts.lock().unwrap().iter().map(|t| nova_runtime::server::parse_grpc_timeout(t).expect("a valid grpc-timeout header")).collect();
    assert_eq!(sent, [Duration::from_millis(80), Duration::from_millis(300)], "the inherited 80 ms, then the policy's 300 ms");
}

/// A breaker that never opens (to observe deadlines and retries alone).
const BREAKER_NEVER: BreakerPolicy = BreakerPolicy { window: 1000, min_calls: 1000, ..BREAKER };

/// Opens `core`'s breaker with failing calls, then moves the clock past its open period.
async fn open_then_half_open(core: &ClientCore, read: &'static RpcDescriptor) {
    let failing = Attempts::new(true, Duration::ZERO);
    for _ in 0..2 {
        assert_eq!(failing.call(core, read).await.unwrap_err().code(), Code::Unavailable);
    }
    assert_eq!(core.breaker_state(), BreakerState::Open);
    tokio::time::advance(BREAKER.open_for).await;
    assert_eq!(core.breaker_state(), BreakerState::HalfOpen);
}

#[tokio::test(start_paused = true)]
async fn half_open_probes_cancelled_mid_call_do_not_wedge_the_breaker() {
    let core = core(target("calls-probes", BREAKER), false);
    let read = rpc(Duration::from_secs(1), None, false);
    open_then_half_open(&core, read).await;
    let held = Attempts::new(false, Duration::ZERO);
    {
        let mut first = pin!(held.call(&core, read));
        let mut second = pin!(held.call(&core, read));
        assert!(first.as_mut().now_or_never().is_none() && second.as_mut().now_or_never().is_none());
        assert_eq!(held.count(), 2, "both probes are in their attempt");
        let rejected = held.call(&core, read).await.unwrap_err();
        assert!(rejected.message().contains("circuit breaker"), "{rejected:?}");
        assert_eq!(held.count(), 2, "a third call is not let through while the probes run");
    } // Both probes are dropped mid-call here: their permits must come back.
    held.gate.close();
    held.call(&core, read).await.unwrap();
    held.call(&core, read).await.unwrap();
    assert_eq!(held.count(), 4, "two new probes were admitted");
    assert_eq!(core.breaker_state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn cached_probes_whose_callers_give_up_still_report_to_the_breaker() {
    let core = core(target("calls-cached-probes", BREAKER), true);
    let read = rpc(Duration::from_secs(1), None, true);
    open_then_half_open(&core, read).await;
    let held = Attempts::new(false, Duration::ZERO);
    {
        // One probe, through the cache: its load belongs to the cache, not to this caller.
        let mut probe = pin!(held.call(&core, read));
        assert!(probe.as_mut().now_or_never().is_none());
        upstream::until("the probe reached its attempt", || held.count() == 1).await;
    }
    held.gate.close();
    // The abandoned load finishes, is recorded as a success, and the last probe closes it.
    let cache = core.cache().unwrap().clone();
    while cache.stats().await.loads_in_flight > 0 {
        tokio::task::yield_now().await;
    }
    assert_eq!(core.breaker_state(), BreakerState::HalfOpen, "one of two probes reported");
    assert_eq!(held.call(&core, read).await.unwrap(), "ada", "served from L1: the abandoned load stored it");
    assert_eq!(held.count(), 1);
    let other = rpc(Duration::from_secs(1), None, false);
    held.call(&core, other).await.unwrap();
    assert_eq!(core.breaker_state(), BreakerState::Closed);
    assert_eq!(held.count(), 2);
}
