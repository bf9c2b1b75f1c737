//! Single flight: concurrent misses of one key make one upstream call.
//!
//! The shared load belongs to the cache, not to the caller that started it: it runs in its
//! own task, which stores the result, removes its own entry from `in_flight` (on success,
//! failure or panic: a drop guard does it) and then publishes the result to whoever still
//! waits. So a caller that gives up (its deadline passed, its own caller hung up) abandons
//! only its wait: the load finishes on its own, within the deadline it started with, and
//! reports its outcome to the circuit breaker; nothing is left behind for a later caller to
//! resume.
//!
//! Fairness:
//! - every waiter stops at its own deadline;
//! - a waiter with more time left than the load it joined gets a fresh load, with its own
//!   deadline, if that load failed on its (shorter) deadline;
//! - a caller never joins a load that started before an invalidation of one of the key's tags
//!   that this process heard of, or before a generation change its own L2 lookup saw: it
//!   starts a new load instead (the old one finishes, and does not store its result).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::{Code, Status};
use tracing::Instrument as _;

use super::{CacheKey, ResponseCache, Snapshot};
use crate::rpc::CachePolicy;

type Outcome = Option<Result<Bytes, Status>>;

/// One shared load, as its waiters see it.
#[derive(Debug, Clone)]
pub(super) struct Flight {
    id: u64,
    /// The generations tick when the load started.
    started: u64,
    /// The Redis generations the load's snapshot holds (compared with a joiner's own).
    remote: Option<Arc<[u64]>>,
    deadline: Instant,
    outcome: watch::Receiver<Outcome>,
}

#[derive(Debug, Default)]
pub(super) struct Flights {
    in_flight: Mutex<HashMap<Arc<[u8]>, Flight>>,
    next_id: AtomicU64,
}

impl Flights {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<[u8]>, Flight>> {
        // The map is consistent after every statement; keep going after a panic elsewhere.
        self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Removes its flight from `in_flight` when the load task ends, however it ends (a panic
/// unwinds through it; an aborted task drops it), unless a newer flight replaced it.
struct Landing<'a> {
    cache: &'a ResponseCache,
    key: &'a Arc<[u8]>,
    id: u64,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.cache.flights.lock();
        if in_flight.get(self.key).is_some_and(|flight| flight.id == self.id) {
            in_flight.remove(self.key);
        }
        self.cache.metrics.loads_in_flight.decrement(1.0);
    }
}

impl ResponseCache {
    /// Loads through `fetch` once for all concurrent callers of the same key, and stores the
    /// result unless the key was invalidated meanwhile. `snapshot` is what this caller's L2
    /// lookup saw; `deadline` is this caller's. `fetch` makes the upstream call (within the
    /// deadline of the caller that runs it); it is called once per load this caller starts.
    ///
    /// # Errors
    ///
    /// The load's failure as `fetch` returned it (shared by every caller of that load), or
    /// `DEADLINE_EXCEEDED` when this caller's `deadline` passes first (the load itself goes
    /// on for the others), or `INTERNAL` when the load task ended without an outcome (it
    /// panicked).
    pub async fn load<F>(
        self: &Arc<Self>,
        key: &CacheKey,
        policy: CachePolicy,
        snapshot: Snapshot,
        deadline: Instant,
        fetch: F,
    ) -> Result<Bytes, Status>
    where
        F: Fn() -> BoxFuture<'static, Result<Bytes, Status>>,
    {
        self.ensure_listening();
        loop {
            let flight = self.join_or_start(key, policy, &snapshot, deadline, &fetch);
            let Ok(outcome) = tokio::time::timeout_at(deadline, wait(flight.outcome)).await else {
                return Err(Status::deadline_exceeded("the call's deadline passed while its response was loading"));
            };
            match outcome {
                Err(status) if status.code() == Code::DeadlineExceeded && flight.deadline < deadline && Instant::now() < deadline => {
                    tracing::debug!("the shared load ran out of its starter's time; loading again within this caller's");
                }
                outcome => return outcome,
            }
        }
    }

    /// Joins the load of `key` in flight if it is still valid for this caller, or starts one.
    fn join_or_start<F>(self: &Arc<Self>, key: &CacheKey, policy: CachePolicy, snapshot: &Snapshot, deadline: Instant, fetch: &F) -> Flight
    where
        F: Fn() -> BoxFuture<'static, Result<Bytes, Status>>,
    {
        let mut in_flight = self.flights.lock();
        if let Some(flight) = in_flight.get(&key.l1)
            && flight.remote == snapshot.remote
            && self.generations.is_joinable(&key.tags, flight.started)
        {
            self.metrics.coalesced.increment(1);
            return flight.clone();
        }
        let (publish, outcome) = watch::channel(None);
        let flight = Flight {
            id: self.flights.next_id.fetch_add(1, Ordering::Relaxed),
            started: self.generations.now(),
            remote: snapshot.remote.clone(),
            deadline,
            outcome,
        };
        // Replaces a flight that is no longer valid; that one finishes on its own and its
        // landing leaves this entry alone.
        in_flight.insert(key.l1.clone(), flight.clone());
        self.metrics.loads_in_flight.increment(1.0);
        drop(in_flight);
        let task = Arc::clone(self).fly(key.clone(), policy, flight.clone(), snapshot.clone(), fetch(), publish);
        tokio::spawn(task.in_current_span());
        flight
    }

    /// The load task: fetch within the starter's deadline, store, land, then publish.
    async fn fly(
        self: Arc<Self>,
        key: CacheKey,
        policy: CachePolicy,
        flight: Flight,
        snapshot: Snapshot,
        fetch: BoxFuture<'static, Result<Bytes, Status>>,
        publish: watch::Sender<Outcome>,
    ) {
        let landing = Landing { cache: &self, key: &key.l1, id: flight.id };
        let result = match tokio::time::timeout_at(flight.deadline, fetch).await {
            Ok(result) => result,
            Err(_) => Err(Status::deadline_exceeded("the shared load did not finish before its deadline")),
        };
        if let Ok(payload) = &result {
            self.store(&key, policy, flight.started, &snapshot, payload.clone()).await;
        }
        // Land before publishing: a waiter that retries must not find this flight again.
        drop(landing);
        publish.send_replace(Some(result));
    }
}

/// The shared load's outcome; an error if the load task ended without one (it panicked, or
/// the runtime is shutting down).
async fn wait(mut outcome: watch::Receiver<Outcome>) -> Result<Bytes, Status> {
    match outcome.wait_for(Option::is_some).await {
        Ok(published) => published.clone().unwrap_or_else(|| Err(Status::internal("the shared load published nothing"))),
        Err(_) => Err(Status::internal("the shared load ended without an answer")),
    }
}
