//! Batch reads cached per id, and single-id reads gathered into batch calls.
//!
//! For an RPC the spec declares `per_id` (a batch read: a repeated id field in, one item per
//! id out, the others listed as missing), the generated client calls [`ClientCore::batch`]:
//!
//! 1. each id is looked up in L1, then every id L1 lacks in L2, in **one** Redis round trip;
//! 2. the ids still missing are loaded through the client's gatherer (`gather.rs`): ids already
//!    in flight for another caller are joined, the rest sent in one call of the batch RPC;
//! 3. the answer is merged in the order asked (duplicates answered once, as the owners do),
//!    and each id stored on its own: an item for the policy's TTL, a missing id as missing for
//!    [`ABSENT_TTL`](super::cache::ABSENT_TTL) at most. Invalidation is per id.
//!
//! The single-id RPC the spec pairs with the batch (`single`, e.g. GetUser with
//! GetUsersByIds) goes through [`ClientCore::single`]: it reads and writes the same entries,
//! and its misses are **coalesced** (`gather.rs`): a miss goes at once when no load of its
//! group is in the air; while one is, concurrent misses gather for at most a short window
//! (`CacheConfig::coalesce_window`, never more than half the time the first of them has left),
//! until that load lands, or until the batch is full, and then make one batch call. Calls are
//! only merged within one group: same RPC, same cache scope and same credentials, so an answer
//! that depends on the caller is never loaded with another principal's credentials.
//!
//! Failures stay per caller: an id whose load failed is served stale (within the policy's
//! stale-if-error window, unless the RPC fails closed) if the owner is unreachable; a load
//! that was refused while it carried other callers' ids (one of them malformed, say), or that
//! ran out of an earlier caller's time, is made again for this caller's ids alone. A caller
//! never waits past its own deadline.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use prost::Message;
use tokio::time::Instant;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tracing::Instrument as _;

use super::cache::{Item, Lookup};
use super::gather::{Answer, Enqueue, Opened, Outcome, Wanted};
use super::{ClientCore, How, Target, decode, owner_unreachable, send_with_retries};
use crate::rpc::{CachePolicy, RpcDescriptor};

/// How a per-id batch read is taken apart and put together: generated per RPC from the spec's
/// `per_id`.
#[derive(Debug)]
pub struct PerId<Req, Resp, Item> {
    /// The ids a request asks for.
    pub ids: fn(&Req) -> &[String],
    /// A request for `ids`.
    pub request: fn(Vec<String>) -> Req,
    /// A response's items and the ids it lists as missing.
    pub parts: fn(Resp) -> (Vec<Item>, Vec<String>),
    /// The id of an item.
    pub item_id: fn(&Item) -> &str,
    /// A response from items (in the order asked) and missing ids.
    pub assemble: fn(Vec<Item>, Vec<String>) -> Resp,
    /// Ids the owner accepts in one request: a request with more goes to the owner as it is
    /// (which refuses it), a gathered load never has more.
    pub max_batch: usize,
    /// What an id names, for the paired single RPC's NOT_FOUND, e.g. `user`.
    pub noun: &'static str,
}

/// The single-id read paired with a per-id batch read: generated per pairing from the spec's
/// `single`.
#[derive(Debug)]
pub struct Single<SReq, SResp, Item> {
    /// The id a request asks for.
    pub id: fn(&SReq) -> &str,
    /// The response for an item.
    pub wrap: fn(Item) -> SResp,
    /// The request's id field, named in a NOT_FOUND as the owner names it (`user_id: no user …`).
    pub field: &'static str,
}

/// Loads ids from the owner: the typed batch call, behind a type the gatherer can hold.
type Load = Arc<dyn Fn(Vec<String>, Instant) -> BoxFuture<'static, Result<HashMap<String, Answer>, Status>> + Send + Sync>;

/// What the per-id path made of a call.
enum Resolved {
    /// One answer per id, in the order asked.
    Items(Vec<Item>),
    /// The cache cannot answer this call exactly (no cache, an id the owner spells
    /// differently): make it without the cache.
    Bypass,
}

/// The ids once each, in the order first asked.
fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// The owner's answer to a load of `asked`, by id.
fn answers<Resp, It: Message>(shape: &PerId<impl Sized, Resp, It>, asked: &[String], response: Resp) -> HashMap<String, Answer> {
    let (items, missing) = (shape.parts)(response);
    let asked: HashSet<&str> = asked.iter().map(String::as_str).collect();
    let mut answers = HashMap::with_capacity(asked.len());
    for item in items {
        let id = (shape.item_id)(&item);
        if asked.contains(id) {
            answers.insert(id.to_string(), Answer::Item(Item::Present(Bytes::from(item.encode_to_vec()))));
        }
    }
    for id in missing {
        if asked.contains(id.as_str()) {
            answers.entry(id).or_insert(Answer::Item(Item::Absent));
        }
    }
    for id in asked {
        answers.entry(id.to_string()).or_insert(Answer::Unmatched);
    }
    answers
}

impl ClientCore {
    /// Makes one logical call of a per-id batch RPC (see the module documentation).
    ///
    /// # Errors
    ///
    /// As [`ClientCore::unary`]; a call with ids that are all cached is answered without the
    /// owner.
    pub async fn batch<Req, Resp, It, F, Fut>(
        &self,
        rpc: &'static RpcDescriptor,
        shape: &'static PerId<Req, Resp, It>,
        request: Req,
        attempt: F,
    ) -> Result<Resp, Status>
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + Send + 'static,
        It: Message + Default + Send + 'static,
        F: Fn(Channel, Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        let attempt = Arc::new(attempt);
        let (how, metrics, started, span) = self.begin(rpc);
        let metrics = &*metrics;
        let result = async {
            // More ids than the owner accepts (duplicates count, as the owners count them) go to
            // the owner as they are, to be refused as they would be without a cache.
            let asked = (shape.ids)(&request);
            let ids = distinct(asked);
            if !ids.is_empty() && asked.len() <= shape.max_batch {
                let load = self.loader(rpc, shape, Arc::clone(&attempt), &how);
                if let Resolved::Items(found) = self.resolve(rpc, &how, metrics, &ids, true, shape.max_batch, load).await? {
                    let mut items = Vec::with_capacity(ids.len());
                    let mut missing = Vec::new();
                    for (id, item) in ids.into_iter().zip(found) {
                        match item {
                            Item::Present(bytes) => items.push(decode::<It>(&bytes)?),
                            Item::Absent => missing.push(id),
                        }
                    }
                    return Ok((shape.assemble)(items, missing));
                }
            }
            send_with_retries(&self.target, rpc, metrics, request, &*attempt, how.deadline, &how.credentials).await
        }
        .instrument(span)
        .await;
        super::finish(metrics, started, &result);
        result
    }

    /// Makes one logical call of the single-id RPC `rpc` that the spec pairs with the batch
    /// RPC `batch_rpc`: answered from the batch's per-id entries, its misses gathered with
    /// other callers' into batch calls (see the module documentation). `single` reads the
    /// request's id and makes the response from an item.
    ///
    /// # Errors
    ///
    /// As [`ClientCore::unary`]; `NOT_FOUND` for an id the owner lists as missing.
    #[allow(clippy::too_many_arguments)] // generated code calls it: the two RPCs, their shapes and their calls
    pub async fn single<SReq, SResp, Req, Resp, It, F, Fut, G, Gut>(
        &self,
        rpc: &'static RpcDescriptor,
        batch_rpc: &'static RpcDescriptor,
        shape: &'static PerId<Req, Resp, It>,
        single: &'static Single<SReq, SResp, It>,
        request: SReq,
        attempt: F,
        batch_attempt: G,
    ) -> Result<SResp, Status>
    where
        SReq: Message + Clone + Send + Sync + 'static,
        SResp: Message + Default + Send + 'static,
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + Send + 'static,
        It: Message + Default + Send + 'static,
        F: Fn(Channel, Request<SReq>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<SResp>, Status>> + Send + 'static,
        G: Fn(Channel, Request<Req>) -> Gut + Send + Sync + 'static,
        Gut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        let (how, metrics, started, span) = self.begin(rpc);
        let metrics = &*metrics;
        let result = async {
            let wanted = (single.id)(&request).to_string();
            if !wanted.is_empty() {
                // The batch's own deadline governs its load; this call's is already in `how`.
                let load = self.loader(batch_rpc, shape, Arc::new(batch_attempt), &how);
                if let Resolved::Items(mut found) =
                    self.resolve(batch_rpc, &how, metrics, std::slice::from_ref(&wanted), false, shape.max_batch, load).await?
                {
                    return match found.pop() {
                        Some(Item::Present(bytes)) => Ok((single.wrap)(decode::<It>(&bytes)?)),
                        _ => Err(Status::not_found(format!("{}: no {} {wanted}", single.field, shape.noun))),
                    };
                }
            }
            send_with_retries(&self.target, rpc, metrics, request, &attempt, how.deadline, &how.credentials).await
        }
        .instrument(span)
        .await;
        super::finish(metrics, started, &result);
        result
    }

    /// The typed load of a batch RPC, for the gatherer: one call for `ids` with this caller's
    /// credentials (every caller of a gathered load has the same).
    fn loader<Req, Resp, It, F, Fut>(&self, rpc: &'static RpcDescriptor, shape: &'static PerId<Req, Resp, It>, attempt: Arc<F>, how: &How) -> Load
    where
        Req: Message + Clone + Send + Sync + 'static,
        Resp: Message + Default + Send + 'static,
        It: Message + Default + Send + 'static,
        F: Fn(Channel, Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    {
        let (target, credentials) = (Arc::clone(&self.target), how.credentials.clone());
        Arc::new(move |ids: Vec<String>, deadline: Instant| {
            let (target, attempt, credentials) = (Arc::clone(&target), Arc::clone(&attempt), credentials.clone());
            async move {
                let metrics = crate::metrics::client(rpc);
                let response = send_with_retries(&target, rpc, &metrics, (shape.request)(ids.clone()), &*attempt, deadline, &credentials).await?;
                Ok(answers(shape, &ids, response))
            }
            .boxed()
        })
    }

    /// The per-id path of one call: cached answers, then one gathered load for the rest.
    #[allow(clippy::too_many_arguments)]
    async fn resolve(
        &self,
        rpc: &'static RpcDescriptor,
        how: &How,
        metrics: &crate::metrics::RpcMetrics,
        ids: &[String],
        urgent: bool,
        max_batch: usize,
        load: Load,
    ) -> Result<Resolved, Status> {
        let (Some(policy), Some(cache)) = (rpc.policy.cache, self.target.cache.clone()) else { return Ok(Resolved::Bypass) };
        cache.ensure_following();
        let mut found: Vec<Option<Item>> = vec![None; ids.len()];
        let mut stale: Vec<Option<Item>> = vec![None; ids.len()];
        let mut wanted = Vec::new();
        let (mut l1_hits, mut l2_hits) = (0, 0);
        for (position, (lookup, snapshot, key)) in cache.lookup_items(rpc, &how.scope, ids, how.viewer.as_deref()).await.into_iter().enumerate() {
            match lookup {
                Lookup::Fresh(bytes, level) => {
                    if let Some(item) = Item::decode(&bytes) {
                        if level == super::Level::L1 {
                            l1_hits += 1;
                        } else {
                            l2_hits += 1;
                        }
                        found[position] = Some(item);
                        continue;
                    }
                }
                Lookup::Stale(bytes) => stale[position] = Item::decode(&bytes),
                Lookup::Miss => {}
            }
            let key = key.unwrap_or_else(|| cache.item_key(rpc, &how.scope, &ids[position], how.viewer.as_deref()));
            wanted.push((position, Wanted { id: ids[position].clone(), key, snapshot }));
        }
        // Counted per id, once per call.
        metrics.cache_l1_hits.increment(l1_hits);
        metrics.cache_l2_hits.increment(l2_hits);
        metrics.cache_misses.increment(wanted.len() as u64);
        if !wanted.is_empty() {
            let group = self.group(rpc, how);
            let enqueue = Enqueue { deadline: how.deadline, urgent, max_batch, window: cache.coalesce_window() };
            let (waits, opened) = self.target.gatherer.enqueue(&cache, &group, wanted.clone(), enqueue);
            for opened in opened {
                tokio::spawn(fly(Arc::clone(&self.target), Arc::clone(&cache), policy, opened, Arc::clone(&load)));
            }
            let mut failed: Vec<usize> = Vec::new();
            let mut failure: Option<(Status, bool)> = None;
            for (outcome, positions, joined) in waits.loads {
                match tokio::time::timeout_at(how.deadline, wait(outcome)).await {
                    Ok(Outcome { answers: Ok(answers), .. }) => {
                        for position in positions {
                            match answers.get(&ids[position]) {
                                Some(Answer::Item(item)) => found[position] = Some(item.clone()),
                                _ => return Ok(Resolved::Bypass),
                            }
                        }
                    }
                    Ok(Outcome { answers: Err(status), shared }) => {
                        failed.extend(positions);
                        failure = Some((status, shared || joined));
                    }
                    Err(_) => {
                        failed.extend(positions);
                        failure = Some((Status::deadline_exceeded(format!("{} did not load before the call's deadline", rpc.path())), false));
                    }
                }
            }
            if let Some((status, shared)) = failure {
                self.recover(rpc, how, metrics, policy, &cache, ids, &wanted, &failed, &mut found, &stale, status, shared, &load).await?;
            }
        }
        Ok(found.into_iter().collect::<Option<Vec<Item>>>().map_or(Resolved::Bypass, Resolved::Items))
    }

    /// What a caller does with ids whose shared load failed: serve them stale if the owner is
    /// unreachable and the RPC allows it; load them again alone if the failure may be about
    /// other callers' ids or time; else fail.
    #[allow(clippy::too_many_arguments)]
    async fn recover(
        &self,
        rpc: &'static RpcDescriptor,
        how: &How,
        metrics: &crate::metrics::RpcMetrics,
        policy: CachePolicy,
        cache: &Arc<super::ResponseCache>,
        ids: &[String],
        wanted: &[(usize, Wanted)],
        failed: &[usize],
        found: &mut [Option<Item>],
        stale: &[Option<Item>],
        status: Status,
        shared: bool,
        load: &Load,
    ) -> Result<(), Status> {
        let unreachable = owner_unreachable(&status) && status.code() != Code::DeadlineExceeded;
        if unreachable || Instant::now() >= how.deadline {
            if rpc.policy.fail_closed || !failed.iter().all(|&position| stale[position].is_some()) {
                return Err(status);
            }
            tracing::info!(method = rpc.method, code = ?status.code(), ids = failed.len(), "serving stale cached items: the owner is unreachable");
            metrics.cache_stale.increment(failed.len() as u64);
            for &position in failed {
                found[position] = stale[position].clone();
            }
            return Ok(());
        }
        if !shared && status.code() != Code::DeadlineExceeded {
            return Err(status);
        }
        // Alone: this caller's ids, its own deadline, nobody else's ids in the request.
        let started = cache.tick();
        let alone: Vec<String> = failed.iter().map(|&position| ids[position].clone()).collect();
        let answers = load(alone, how.deadline).await?;
        let mut items = Vec::with_capacity(failed.len());
        for (position, want) in wanted.iter().filter(|(position, _)| failed.contains(position)) {
            // An unmatched id leaves its slot empty: the call is then made without the cache.
            if let Some(Answer::Item(item)) = answers.get(&ids[*position]) {
                found[*position] = Some(item.clone());
                items.push((&want.key, &want.snapshot, item));
            }
        }
        cache.store_items(policy, started, items).await;
        Ok(())
    }

    /// The cache key of `id`'s entry of the per-id batch RPC `rpc`, as a call made now would
    /// use it (scope included), if this client caches: for tests and tools that look into the
    /// cache.
    pub fn item_key(&self, rpc: &RpcDescriptor, id: &str) -> Option<super::CacheKey> {
        let cache = self.target.cache.as_ref()?;
        let (_, scope, viewer) = self.credentials_and_scope(rpc, crate::context::current_caller().as_deref());
        Some(cache.item_key(rpc, &scope, id, viewer.as_deref()))
    }

    /// Forgets every cached answer about each of `ids` (a per-id batch read's entries are
    /// tagged by their id), here and in every replica.
    pub async fn invalidate_ids(&self, ids: &[String]) {
        for id in distinct(ids) {
            self.invalidate_entity(&id).await;
        }
    }

    /// Per-id loads gathering or in flight now: none once every call has returned (tests
    /// check that nothing is left behind).
    pub fn loads_pending(&self) -> usize {
        self.target.gatherer.pending()
    }

    /// Ids waiting in gathering loads now, not yet sent (tests wait for callers to gather).
    pub fn ids_gathering(&self) -> usize {
        self.target.gatherer.gathering()
    }

    /// Calls merged into one load must have the same RPC, scope and credentials.
    fn group(&self, rpc: &RpcDescriptor, how: &How) -> String {
        let authorization = how.credentials.authorization.as_ref().map_or("", |value| value.to_str().unwrap_or(""));
        format!("{}/{}\0{}\0{authorization}", rpc.service, rpc.method, how.scope)
    }
}

/// The task of one gathered load: waits for its window (or to be woken), takes its ids, makes
/// the call, stores each answer, and publishes the outcome to every caller waiting on it.
async fn fly(target: Arc<Target>, cache: Arc<super::ResponseCache>, policy: CachePolicy, opened: Opened, load: Load) {
    let mut landing = Landing { target: &target, group: &opened.group, load: opened.load, keys: Vec::new(), taken: false };
    tokio::select! {
        () = opened.wake.notified() => {}
        () = tokio::time::sleep_until(opened.take_at) => {}
    }
    // Callers already scheduled (a burst spawned together) join before the ids are taken.
    tokio::task::yield_now().await;
    let Some(taken) = target.gatherer.take(&opened.group, opened.load, cache.tick()) else { return };
    landing.taken = true;
    landing.keys = taken.wanted.iter().map(|want| want.key.l1.clone()).collect();
    let ids: Vec<String> = taken.wanted.iter().map(|want| want.id.clone()).collect();
    let answers = match tokio::time::timeout_at(taken.deadline, load(ids, taken.deadline)).await {
        Ok(answers) => answers,
        Err(_) => Err(Status::deadline_exceeded("the gathered load did not finish before its deadline")),
    };
    if let Ok(answers) = &answers {
        let items = taken
            .wanted
            .iter()
            .filter_map(|want| match answers.get(&want.id) {
                Some(Answer::Item(item)) => Some((&want.key, &want.snapshot, item)),
                _ => None,
            })
            .collect();
        cache.store_items(policy, taken.started, items).await;
    }
    // Land before publishing: a caller that loads again must not find this load.
    drop(landing);
    opened.publish.send_replace(Some(Outcome { answers: answers.map(Arc::new), shared: taken.shared }));
}

/// Removes a load's registrations when its task ends, however it ends.
struct Landing<'a> {
    target: &'a Target,
    group: &'a str,
    load: u64,
    keys: Vec<Arc<[u8]>>,
    taken: bool,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.target.gatherer.land(self.group, self.load, &self.keys, self.taken);
    }
}

/// A load's outcome; an error if its task ended without one (it panicked, or the runtime is
/// shutting down).
async fn wait(mut outcome: super::gather::Published) -> Outcome {
    match outcome.wait_for(Option::is_some).await {
        Ok(published) => {
            published.clone().unwrap_or_else(|| Outcome { answers: Err(Status::internal("the gathered load published nothing")), shared: true })
        }
        Err(_) => Outcome { answers: Err(Status::internal("the gathered load ended without an answer")), shared: true },
    }
}
