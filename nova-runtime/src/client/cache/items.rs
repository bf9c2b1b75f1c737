//! Per-id entries, for batch reads (`GetUsersByIds` and the like; see `client/batch.rs`).
//!
//! A batch read is cached per id rather than per request: batches of popular ids overlap
//! but rarely repeat, so a cache keyed by the whole request never hits. Each id's entry holds
//! the owner's item for it, or the fact that the owner said it does not exist (kept for
//! [`ABSENT_TTL`] at most, so that a hot unknown id does not reach the owner on every call).
//!
//! An id's entry is tagged by the id (and, for an answer that depends on the caller, by the
//! end user it was computed for), so `invalidate_entity(id)` drops exactly it, in every scope.
//! Its key names the batch RPC (its schema covers the item message), the scope, and the id;
//! the single-id RPC paired with the batch in the spec reads and writes the same entries.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use sha2::{Digest, Sha256};

use super::{CacheKey, Level, Lookup, ResponseCache, Snapshot, hex, now_ms};
use crate::rpc::{CachePolicy, RpcDescriptor};

/// How long an id the owner reported as missing is remembered as missing, at most (the
/// policy's TTL if shorter). Ids are made by their owners, so an id nobody has yet is asked for
/// only by mistake or by guessing; a deletion invalidates the id like any other change.
pub const ABSENT_TTL: Duration = Duration::from_secs(5);

/// What the owner said about one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The item, encoded.
    Present(Bytes),
    /// The owner listed the id as missing.
    Absent,
}

impl Item {
    /// Cached form: a marker byte, then the item.
    fn encode(&self) -> Bytes {
        match self {
            Item::Present(item) => {
                let mut out = BytesMut::with_capacity(1 + item.len());
                out.put_u8(1);
                out.put_slice(item);
                out.freeze()
            }
            Item::Absent => Bytes::from_static(&[0]),
        }
    }

    /// `None` for bytes that are not an item entry (treated as a miss).
    pub fn decode(bytes: &Bytes) -> Option<Item> {
        match bytes.first() {
            Some(1) => Some(Item::Present(bytes.slice(1..))),
            Some(0) if bytes.len() == 1 => Some(Item::Absent),
            _ => None,
        }
    }
}

impl ResponseCache {
    /// The in-process key of `id`'s entry for the batch RPC `rpc`, asked in `scope`: cheap, and
    /// all an L1 hit needs.
    fn item_l1_key(rpc: &RpcDescriptor, scope: &str, id: &str) -> Arc<[u8]> {
        // 0xff after the schema: never the first byte of a scope (UTF-8), so an item key never
        // equals a request key of the same RPC.
        let mut l1 = Vec::with_capacity(rpc.service.len() + rpc.method.len() + scope.len() + id.len() + 12);
        l1.extend_from_slice(rpc.service.as_bytes());
        l1.push(b'/');
        l1.extend_from_slice(rpc.method.as_bytes());
        l1.push(0);
        l1.extend_from_slice(&rpc.schema.to_be_bytes());
        l1.push(0xff);
        l1.extend_from_slice(scope.as_bytes());
        l1.push(0);
        l1.extend_from_slice(id.as_bytes());
        Arc::from(l1)
    }

    /// The key of `id`'s entry for the batch RPC `rpc`, asked in `scope` for `viewer` (see
    /// `client::credentials_and_scope`).
    pub fn item_key(&self, rpc: &RpcDescriptor, scope: &str, id: &str, viewer: Option<&str>) -> CacheKey {
        self.item_key_from(Self::item_l1_key(rpc, scope, id), rpc, scope, id, viewer)
    }

    fn item_key_from(&self, l1: Arc<[u8]>, rpc: &RpcDescriptor, scope: &str, id: &str, viewer: Option<&str>) -> CacheKey {
        let digest = hex(&Sha256::new().chain_update(scope.as_bytes()).chain_update([0]).chain_update(id.as_bytes()).finalize());
        let l2 = format!("{}:i:{}:{}:{:016x}:{digest}", self.prefix, rpc.service, rpc.method, rpc.schema);
        // Tag 0 (what `invalidate_key` bumps) is the id itself.
        let mut tags = vec![self.entity_tag(super::entity_of(id))];
        if let Some(viewer) = viewer.filter(|viewer| *viewer != id) {
            tags.push(self.entity_tag(viewer));
        }
        CacheKey { l1, l2, tags: Arc::from(tags) }
    }

    /// Looks `ids` of the batch RPC `rpc` up in L1 (one pass over the invalidations heard),
    /// then every id L1 had no fresh entry for in L2, in one round trip. For each id: what was
    /// found (L1's stale entry is kept if L2 has nothing better), what L2 saw of its
    /// generations, and, unless L1 answered, its full key (for the load that follows a miss).
    pub async fn lookup_items(
        &self,
        rpc: &RpcDescriptor,
        scope: &str,
        ids: &[String],
        viewer: Option<&str>,
    ) -> Vec<(Lookup, Snapshot, Option<CacheKey>)> {
        let keys: Vec<Arc<[u8]>> = ids.iter().map(|id| Self::item_l1_key(rpc, scope, id)).collect();
        let mut entries = Vec::with_capacity(keys.len());
        for key in &keys {
            entries.push(self.l1.get(key).await);
        }
        let current = self.generations.are_current(entries.iter().flatten().map(|e| (&e.tags[..], e.loaded_at)));
        let now = now_ms();
        let mut current = current.into_iter();
        let mut found = Vec::with_capacity(ids.len());
        let mut ask = Vec::new();
        for ((id, key), entry) in ids.iter().zip(keys).zip(entries) {
            let lookup = match entry {
                Some(entry) if current.next().unwrap_or(false) => {
                    if now < entry.fresh_until_ms {
                        Lookup::Fresh(entry.payload.clone(), Level::L1)
                    } else {
                        Lookup::Stale(entry.payload.clone())
                    }
                }
                _ => Lookup::Miss,
            };
            if matches!(lookup, Lookup::Fresh(..)) {
                found.push((lookup, Snapshot::default(), None));
            } else {
                ask.push(found.len());
                found.push((lookup, Snapshot::default(), Some(self.item_key_from(key, rpc, scope, id, viewer))));
            }
        }
        if ask.is_empty() || self.l2.is_none() {
            return found;
        }
        let asked: Vec<CacheKey> = ask.iter().filter_map(|&index| found[index].2.clone()).collect();
        for (index, (lookup, snapshot)) in ask.into_iter().zip(self.lookup_l2_many(&asked).await) {
            let slot = &mut found[index];
            slot.1 = snapshot;
            match lookup {
                fresh @ Lookup::Fresh(..) => slot.0 = fresh,
                stale @ Lookup::Stale(_) if !matches!(slot.0, Lookup::Stale(_)) => slot.0 = stale,
                _ => {}
            }
        }
        found
    }

    /// Stores what the owner said about each id of one load (tick `started`), as
    /// [`ResponseCache::store`] does, their Redis copies in one write: an absent id for
    /// [`ABSENT_TTL`] at most, and never served stale.
    pub(crate) async fn store_items(self: &Arc<Self>, policy: CachePolicy, started: u64, items: Vec<(&CacheKey, &Snapshot, &Item)>) {
        let answers = items
            .into_iter()
            .map(|(key, snapshot, item)| {
                let policy = match item {
                    Item::Present(_) => policy,
                    Item::Absent => CachePolicy { ttl: policy.ttl.min(ABSENT_TTL), stale_if_error: Duration::ZERO },
                };
                (key, policy, snapshot, item.encode())
            })
            .collect();
        self.store_all(answers, started).await;
    }

    /// The generations tick now: a load that starts now stores only if nothing it depends on
    /// changes after it.
    pub(crate) fn tick(&self) -> u64 {
        self.generations.now()
    }

    /// Whether a caller whose L2 lookup saw `snapshot` may share a load of `key` that started
    /// at tick `started` from the generations `remote` (see `single_flight.rs`).
    pub(crate) fn may_join(&self, key: &CacheKey, started: u64, remote: Option<&Arc<[u64]>>, snapshot: &Snapshot) -> bool {
        remote == snapshot.remote.as_ref() && self.generations.is_joinable(&key.tags, started)
    }

    /// Counts a caller that shared a load already in flight or gathering.
    pub(crate) fn count_coalesced(&self, ids: u64) {
        self.metrics.coalesced.increment(ids);
    }

    /// Starts following the invalidation feed if it is not yet (see `single_flight.rs`).
    pub(crate) fn ensure_following(self: &Arc<Self>) {
        self.ensure_listening();
    }
}
