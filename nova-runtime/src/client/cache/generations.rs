//! What this process has heard about invalidations, in bounded memory.
//!
//! Redis holds the authoritative generation of every tag (a counter bumped by each
//! invalidation). Locally, what matters for L1 is *when* this process heard that a tag
//! changed, on a local clock that ticks once per change heard (`seq`). An L1 entry, or a load
//! in flight, remembers the tick at which its load started; it is current while none of its
//! tags changed after that tick.
//!
//! The table keeps at most `capacity` tags. When it is full, the quarter that changed longest
//! ago is forgotten, and `floor` rises to the newest tick forgotten: a tag that is not in the
//! table is treated as having changed at `floor`. So forgetting a tag can only make entries
//! look older than they are (a spurious miss), never make an invalidated entry look current.
//!
//! Trust: L1 is only as good as the invalidation feed. While the feed is down nothing is
//! current; when it comes back, `trusted_from` moves to the current tick, so that everything
//! loaded before (possibly across a missed invalidation) stays untrusted.

use std::collections::HashMap;
use std::sync::RwLock;

use metrics::Gauge;

/// Never forget fewer tags than this at once, so that eviction stays amortised O(1).
const MIN_CAPACITY: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Heard {
    /// The tag's generation in Redis, as last heard (0 when only a local change is known).
    generation: u64,
    /// The tick at which the change was heard.
    at: u64,
}

#[derive(Debug)]
struct Table {
    tags: HashMap<String, Heard>,
    /// The local clock: the tick of the latest change heard.
    seq: u64,
    /// Tags not in the table changed at this tick at the latest.
    floor: u64,
    /// Whether the invalidation feed is up (always true without Redis: nothing to miss).
    trusted: bool,
    /// Loads that started before this tick are never current (the feed was down since).
    trusted_from: u64,
}

impl Table {
    fn changed_at(&self, tag: &str) -> u64 {
        self.tags.get(tag).map_or(self.floor, |heard| heard.at)
    }

    fn unchanged_since(&self, tags: &[String], since: u64) -> bool {
        since >= self.trusted_from && tags.iter().all(|tag| self.changed_at(tag) <= since)
    }

    fn tick(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

#[derive(Debug)]
pub(crate) struct Generations {
    table: RwLock<Table>,
    capacity: usize,
    /// `grpc_client_cache_tags_tracked`: moved by deltas, so several caches of one target add up.
    tracked: Gauge,
}

impl Generations {
    pub(crate) fn new(capacity: usize, trusted: bool, tracked: Gauge) -> Self {
        let table = Table { tags: HashMap::new(), seq: 0, floor: 0, trusted, trusted_from: 0 };
        Generations { table: RwLock::new(table), capacity: capacity.max(MIN_CAPACITY), tracked }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // Every update leaves the table consistent between statements; a panic elsewhere
        // while holding the lock must not turn every later lookup into a panic.
        self.table.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current tick: a load starting now records it.
    pub(crate) fn now(&self) -> u64 {
        self.read().seq
    }

    /// Whether an entry loaded at tick `since`, about `tags`, may be served from L1.
    pub(crate) fn is_current(&self, tags: &[String], since: u64) -> bool {
        let table = self.read();
        table.trusted && table.unchanged_since(tags, since)
    }

    /// [`Generations::is_current`] of many entries under one read of the table (a batch read's
    /// ids).
    pub(crate) fn are_current<'a>(&self, entries: impl Iterator<Item = (&'a [String], u64)>) -> Vec<bool> {
        let table = self.read();
        entries.map(|(tags, since)| table.trusted && table.unchanged_since(tags, since)).collect()
    }

    /// Whether a load that started at tick `since` may still be shared with a new caller: none
    /// of its tags changed since, and the feed did not come back since (whether it is up now
    /// does not matter: sharing a load never serves anything older than the load).
    pub(crate) fn is_joinable(&self, tags: &[String], since: u64) -> bool {
        self.read().unchanged_since(tags, since)
    }

    /// A change announced on the invalidation feed: `tag` is now at `generation`. Returns
    /// whether it was news (our own invalidations come back as echoes, which are not).
    pub(crate) fn heard(&self, tag: &str, generation: u64) -> bool {
        let mut table = self.write();
        if table.tags.get(tag).is_some_and(|known| known.generation == generation) {
            return false;
        }
        // A different generation is a change, even a lower one: the key expired in Redis
        // (see l2.rs) and started again.
        let at = table.tick();
        self.record(&mut table, tag, Heard { generation, at });
        true
    }

    /// This process invalidated `tag`; `generation` is what Redis answered, if it did.
    pub(crate) fn bumped(&self, tag: &str, generation: Option<u64>) {
        let mut table = self.write();
        let known = table.tags.get(tag).map_or(0, |heard| heard.generation);
        let at = table.tick();
        self.record(&mut table, tag, Heard { generation: generation.unwrap_or(known), at });
    }

    fn record(&self, table: &mut Table, tag: &str, heard: Heard) {
        match table.tags.get_mut(tag) {
            Some(known) => *known = heard,
            None => {
                table.tags.insert(tag.to_string(), heard);
                self.tracked.increment(1.0);
                if table.tags.len() > self.capacity {
                    self.forget_oldest(table);
                }
            }
        }
    }

    /// Forgets the quarter of the tags that changed longest ago, raising the floor to the
    /// newest of them.
    fn forget_oldest(&self, table: &mut Table) {
        let mut ticks: Vec<u64> = table.tags.values().map(|heard| heard.at).collect();
        let index = ticks.len() / 4;
        let (_, threshold, _) = ticks.select_nth_unstable(index);
        let threshold = *threshold;
        let before = table.tags.len();
        table.tags.retain(|_, heard| heard.at > threshold);
        table.floor = table.floor.max(threshold);
        self.tracked.decrement((before - table.tags.len()) as f64);
    }

    /// The feed is (back) up: trust L1 again, for loads that start from now on.
    pub(crate) fn trust_from_now(&self) {
        let mut table = self.write();
        let now = table.tick();
        table.trusted_from = now;
        table.trusted = true;
    }

    /// The feed is down: nothing in L1 is current until it is back.
    pub(crate) fn distrust(&self) {
        self.write().trusted = false;
    }

    pub(crate) fn is_trusted(&self) -> bool {
        self.read().trusted
    }

    /// Tags currently remembered.
    pub(crate) fn len(&self) -> usize {
        self.read().tags.len()
    }
}

impl Drop for Generations {
    fn drop(&mut self) {
        self.tracked.decrement(self.read().tags.len() as f64);
    }
}
