//! An upstream the test drives by hand, without a network: it counts its calls, answers with
//! the value set when each call starts, and holds the first `held` calls at a gate until the
//! test opens it. Shared by the runtime's cache and client tests (each includes it as a module).

#![allow(dead_code)] // each test file uses a different part

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use nova_runtime::rpc::{CachePolicy, CallPolicy, Idempotency, RpcDescriptor};
use tokio::sync::Semaphore;
use tonic::Status;

pub const POLICY: CachePolicy = CachePolicy { ttl: Duration::from_secs(60), stale_if_error: Duration::from_secs(60) };

/// A cacheable read, as nova-gen would describe it.
pub static RPC: RpcDescriptor = RpcDescriptor {
    service: "nova.test.v1.TestService",
    method: "Get",
    owner: "test",
    idempotency: Idempotency::NoSideEffects,
    policy: CallPolicy { deadline: Duration::from_secs(1), retry: None, cache: Some(POLICY), fail_closed: false },
    schema: 1,
    access: nova_runtime::identity::AccessPolicy::PUBLIC,
};

#[derive(Debug, Clone)]
pub struct Upstream {
    calls: Arc<AtomicU64>,
    value: Arc<Mutex<String>>,
    held: Arc<AtomicU64>,
    gate: Arc<Semaphore>,
}

impl Upstream {
    /// Answers `value`; holds the first `held` calls until [`Upstream::open`].
    pub fn new(value: &str, held: u64) -> Self {
        Upstream {
            calls: Arc::new(AtomicU64::new(0)),
            value: Arc::new(Mutex::new(value.to_string())),
            held: Arc::new(AtomicU64::new(held)),
            gate: Arc::new(Semaphore::new(0)),
        }
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn set(&self, value: &str) {
        *self.value.lock().unwrap() = value.to_string();
    }

    /// Releases the held calls, and holds none from now on.
    pub fn open(&self) {
        self.gate.close();
    }

    /// One call: counted and answered with the value of the moment it starts (like a query
    /// whose answer is on its way), after the gate if it is one of the held calls.
    pub fn fetch(&self) -> BoxFuture<'static, Result<Bytes, Status>> {
        let upstream = self.clone();
        async move {
            let n = upstream.calls.fetch_add(1, Ordering::SeqCst);
            let value = upstream.value.lock().unwrap().clone();
            if n < upstream.held.load(Ordering::SeqCst) {
                let _ = upstream.gate.acquire().await;
            }
            Ok(Bytes::from(value))
        }
        .boxed()
    }
}

/// Yields until `condition` holds; a 60 s safety net (real time, even under a paused clock)
/// only turns a hang into a failure.
pub async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(std::time::Instant::now() < give_up, "never happened: {what}");
        tokio::task::yield_now().await;
    }
}
