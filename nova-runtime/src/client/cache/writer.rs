//! Write-backs to Redis, off the caller's path.
//!
//! A load stores its answer in L1 at once and queues the L2 copy here; one task per cache
//! drains the queue and writes everything queued meanwhile in a single script call
//! (`l2.rs`). So a caller never waits for a write-back, a batch of misses costs one write for
//! all its ids, and a busy client makes far fewer round trips than it has misses. The queue is
//! bounded: when Redis is slower than the misses, write-backs are dropped (counted), which
//! costs later misses, never a wrong answer.

use std::sync::{Arc, Weak};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::ResponseCache;
use super::l2::{MAX_SNAPSHOT_AGE, Store};

/// Write-backs waiting for the writer; beyond it they are dropped.
const QUEUE: usize = 4096;
/// Loads whose write-backs go in one script call at most (its keys and arguments stay small).
const PER_WRITE: usize = 64;

/// The write-backs of one load (one entry, or a batch read's ids) and when the oldest of their
/// generation snapshots was taken.
#[derive(Debug)]
pub(super) struct Queued {
    pub(super) stores: Vec<Store>,
    pub(super) taken: Instant,
}

impl ResponseCache {
    /// Queues a write-back; starts the writer on first use.
    pub(super) fn write_back(self: &Arc<Self>, queued: Queued) {
        let sender = self.writes.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE);
            tokio::spawn(drain(Arc::downgrade(self), receiver));
            sender
        });
        if sender.try_send(queued).is_err() {
            self.metrics.write_backs_dropped.increment(1);
        }
    }
}

/// Writes what is queued, many entries per round trip, until the cache is dropped.
async fn drain(cache: Weak<ResponseCache>, mut receiver: mpsc::Receiver<Queued>) {
    let mut queued = Vec::with_capacity(PER_WRITE);
    while receiver.recv_many(&mut queued, PER_WRITE).await > 0 {
        let Some(cache) = cache.upgrade() else { return };
        // A snapshot this old may predate a generation key's expiry (see `l2.rs`): not written.
        let stores: Vec<Store> = queued.drain(..).filter(|q| q.taken.elapsed() < MAX_SNAPSHOT_AGE).flat_map(|q| q.stores).collect();
        if let (Some(l2), false) = (&cache.l2, stores.is_empty()) {
            l2.store_if_current(&cache.lifetime_key(), &stores).await;
        }
    }
}
