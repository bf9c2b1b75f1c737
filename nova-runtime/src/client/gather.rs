//! Where the per-id loads of batch reads gather and fly (see `batch.rs`), without types: ids,
//! their cache keys, and a watch channel per load on which its answers are published.
//!
//! - An **open** load, per group (RPC, scope and credentials: calls of different principals
//!   are never merged where the answer depends on the caller), takes ids until its task takes
//!   them and makes one upstream call. The task goes at once when no load of its group is in
//!   the air (an idle client adds no delay: nothing to wait for), and otherwise when the load
//!   in the air lands, the load is full, its window ends, or a caller that must not wait (a
//!   batch call, or one whose deadline comes first) wakes it: group commit, so that under load
//!   the misses of one round trip's time go together in the next.
//! - A **flying** id is one whose load has been sent; a caller that wants it joins that load
//!   instead of asking again, under the same rule as the single flight of whole responses
//!   (`cache/single_flight.rs`): never a load that started before a change to the id this
//!   process heard of, or from other generations than the caller's own L2 lookup saw.
//!
//! Both maps are under one lock, held only for map updates; a load task that ends in any way
//! removes what it registered (a drop guard), so no later caller joins a dead load.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tonic::Status;

use super::cache::{CacheKey, Item, ResponseCache, Snapshot};

/// What the owner answered for one id of a load.
#[derive(Debug, Clone)]
pub(super) enum Answer {
    Item(Item),
    /// Neither among the items nor listed as missing (the owner spelled the id differently,
    /// say): the caller asks again without the cache.
    Unmatched,
}

/// A load's outcome: its answers by id, and whether ids of more than one caller were in it
/// (then a refusal may be about another caller's ids).
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub(super) answers: Result<Arc<HashMap<String, Answer>>, Status>,
    pub(super) shared: bool,
}

pub(super) type Published = watch::Receiver<Option<Outcome>>;

/// One id a caller needs loaded, with its key and what its L2 lookup saw.
#[derive(Debug, Clone)]
pub(super) struct Wanted {
    pub(super) id: String,
    pub(super) key: CacheKey,
    pub(super) snapshot: Snapshot,
}

#[derive(Debug)]
struct Open {
    wanted: Vec<Wanted>,
    keys: HashSet<Arc<[u8]>>,
    callers: usize,
    /// The latest deadline of its callers: the load serves them all.
    deadline: Instant,
    take_at: Instant,
    wake: Arc<Notify>,
    outcome: Published,
}

#[derive(Debug)]
struct Flying {
    load: u64,
    started: u64,
    remote: Option<Arc<[u64]>>,
    outcome: Published,
}

#[derive(Debug, Default)]
struct State {
    /// Loads not yet taken by their task, by load number.
    open: HashMap<u64, Open>,
    /// The load of each group that still takes ids.
    filling: HashMap<String, u64>,
    flying: HashMap<Arc<[u8]>, Flying>,
    /// Loads taken and not landed yet, per group.
    in_air: HashMap<String, usize>,
}

/// The open and flying per-id loads of one client (shared by its clones).
#[derive(Debug, Default)]
pub(super) struct Gatherer {
    state: Mutex<State>,
    next_load: AtomicU64,
}

/// A load opened by [`Gatherer::enqueue`]: the caller spawns its task.
#[derive(Debug)]
pub(super) struct Opened {
    pub(super) load: u64,
    pub(super) group: String,
    pub(super) wake: Arc<Notify>,
    /// When the task takes its ids at the latest (the window's end, never later than half the
    /// time the caller that opened it had left).
    pub(super) take_at: Instant,
    pub(super) publish: watch::Sender<Option<Outcome>>,
}

/// What a caller waits on: each load with the positions (in the caller's list) it answers, and
/// whether the caller joined it in the air (another caller's load, whose refusal may be about
/// that caller's ids).
#[derive(Debug, Default)]
pub(super) struct Waits {
    pub(super) loads: Vec<(Published, Vec<usize>, bool)>,
}

/// What a load's task took when it flew.
#[derive(Debug)]
pub(super) struct Taken {
    pub(super) wanted: Vec<Wanted>,
    pub(super) deadline: Instant,
    pub(super) shared: bool,
    pub(super) started: u64,
}

/// How a caller enqueues its ids.
#[derive(Debug, Clone, Copy)]
pub(super) struct Enqueue {
    pub(super) deadline: Instant,
    /// Fly now rather than wait for the window (a batch call: it already gathered its ids).
    pub(super) urgent: bool,
    pub(super) max_batch: usize,
    pub(super) window: Duration,
}

impl Gatherer {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every map update is complete when the lock is released; go on after a panic elsewhere.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts each of `wanted` (with its position in the caller's list) on a flying load that
    /// may be joined, or on the group's filling load, opening new ones as they fill up.
    pub(super) fn enqueue(&self, cache: &ResponseCache, group: &str, wanted: Vec<(usize, Wanted)>, how: Enqueue) -> (Waits, Vec<Opened>) {
        let mut waits = Waits::default();
        let mut opened = Vec::new();
        let mut slots: HashMap<u64, usize> = HashMap::new();
        let mut shared_ids = 0;
        let mut state = self.lock();
        let slot_of = |slots: &mut HashMap<u64, usize>, waits: &mut Waits, load: u64, outcome: &Published, joined: bool| {
            *slots.entry(load).or_insert_with(|| {
                waits.loads.push((outcome.clone(), Vec::new(), joined));
                waits.loads.len() - 1
            })
        };
        for (position, want) in wanted {
            if let Some(flying) = state.flying.get(&want.key.l1)
                && cache.may_join(&want.key, flying.started, flying.remote.as_ref(), &want.snapshot)
            {
                let slot = slot_of(&mut slots, &mut waits, flying.load, &flying.outcome, true);
                waits.loads[slot].1.push(position);
                shared_ids += 1;
                continue;
            }
            let load = match state.filling.get(group) {
                Some(&load) => load,
                None => {
                    let (publish, outcome) = watch::channel(None);
                    let load = self.next_load.fetch_add(1, Ordering::Relaxed);
                    let wake = Arc::new(Notify::new());
                    // Never more than half of the time its first caller has left: the other
                    // half is for the call.
                    let now = Instant::now();
                    let take_at = (now + how.window).min(now + how.deadline.saturating_duration_since(now) / 2);
                    let open =
                        Open { wanted: Vec::new(), keys: HashSet::new(), callers: 0, deadline: how.deadline, take_at, wake: wake.clone(), outcome };
                    if state.in_air.get(group).is_none_or(|n| *n == 0) {
                        // Nothing of the group in the air: nothing to gather behind.
                        wake.notify_one();
                    }
                    state.open.insert(load, open);
                    state.filling.insert(group.to_string(), load);
                    opened.push(Opened { load, group: group.to_string(), wake, take_at, publish });
                    load
                }
            };
            let Some(open) = state.open.get_mut(&load) else { continue };
            let first_of_caller = !slots.contains_key(&load);
            let slot = slot_of(&mut slots, &mut waits, load, &open.outcome, false);
            waits.loads[slot].1.push(position);
            if first_of_caller {
                open.callers += 1;
                open.deadline = open.deadline.max(how.deadline);
            }
            if open.keys.insert(want.key.l1.clone()) {
                open.wanted.push(want);
            } else {
                shared_ids += 1;
            }
            let full = open.wanted.len() >= how.max_batch;
            // A caller that must not wait, or whose deadline comes before the window ends.
            if full || how.urgent || how.deadline < open.take_at {
                open.wake.notify_one();
            }
            if full {
                state.filling.remove(group);
            }
        }
        drop(state);
        cache.count_coalesced(shared_ids);
        (waits, opened)
    }

    /// Takes the open load `load` for its task and marks its ids flying (from tick `started`).
    pub(super) fn take(&self, group: &str, load: u64, started: u64) -> Option<Taken> {
        let mut state = self.lock();
        if state.filling.get(group) == Some(&load) {
            state.filling.remove(group);
        }
        let open = state.open.remove(&load)?;
        *state.in_air.entry(group.to_string()).or_default() += 1;
        for want in &open.wanted {
            let flying = Flying { load, started, remote: want.snapshot.remote_generations(), outcome: open.outcome.clone() };
            state.flying.insert(want.key.l1.clone(), flying);
        }
        Some(Taken { wanted: open.wanted, deadline: open.deadline, shared: open.callers > 1, started })
    }

    /// Forgets everything of load `load` (its task ended, however it ended; `taken` if it had
    /// taken its ids), and wakes the group's open load if it waited for this one.
    pub(super) fn land(&self, group: &str, load: u64, keys: &[Arc<[u8]>], taken: bool) {
        let mut state = self.lock();
        if state.filling.get(group) == Some(&load) {
            state.filling.remove(group);
        }
        state.open.remove(&load);
        for key in keys {
            if state.flying.get(key).is_some_and(|flying| flying.load == load) {
                state.flying.remove(key);
            }
        }
        if taken && let Some(count) = state.in_air.get_mut(group) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.in_air.remove(group);
            }
        }
        if let Some(next) = state.filling.get(group).and_then(|load| state.open.get(load)) {
            next.wake.notify_one();
        }
    }

    /// Loads open or ids flying now (tests look: nothing may be left behind).
    pub(super) fn pending(&self) -> usize {
        let state = self.lock();
        state.open.len() + state.flying.len()
    }

    /// Ids waiting in open loads now (tests wait for callers to have gathered).
    pub(super) fn gathering(&self) -> usize {
        self.lock().open.values().map(|open| open.wanted.len()).sum()
    }
}
