//! The seed's headline figure, "users reads 500 -> 5000+ QPS", measured side by side in one
//! process on one key stream:
//!
//! - **legacy**: the monolith's way. One shared database holding the legacy `users` table
//!   (identity and profile columns in one row, `deleted_by`, no version; see
//!   ../shared/DESIGN.md), read by direct SQL through a sqlx pool:
//!   `SELECT ... FROM users WHERE id = ANY($1) AND deleted_at IS NULL`.
//! - **nova**: auth's `GetUsersByIds` through the generated `AuthClient` with L1 and L2
//!   (Redis, production timeouts) as the spec configures it (cached 5 min, entity
//!   `user_ids`), against a real auth server (generated server, `handwritten/auth` logic, its
//!   own database) over loopback gRPC. A fresh client and Redis prefix per run: caches start
//!   cold.
//! - **nova, cache off** (diagnostic): the same RPC through the generated client without a
//!   cache, to separate what the cache costs from what the call costs.
//! - **nova, per id** (diagnostic, 16 tasks only): the same batches as 20 concurrent `GetUser` calls through
//!   the same kind of client. GetUser shares GetUsersByIds's per-id entries and its concurrent
//!   misses are gathered into GetUsersByIds calls (the spec's `per_id`): it shows what
//!   gathering costs against one batch call.
//!
//! Both databases get the same 100 000 users by one `INSERT ... SELECT generate_series`
//! (Register would hash 100 000 passwords with Argon2id: hours). Requests are batches of 20
//! distinct ids drawn from a Zipf(1.1) stream over the users (fixed seed, [`SEED`]); each run
//! sends the same [`REQUESTS`] batches from a fixed number of tasks, in two halves measured
//! separately (the first starts with empty caches, the second finds what the first left).
//! Cache hits are counted from the runtime's Prometheus registry, not estimated.
//!
//!     cargo bench -p nova-tests --bench users_read
//!
//! Prints one markdown table; BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nova_auth::{AuthClient, pb};
use nova_runtime::client::{CacheConfig, ClientOptions, RedisConfig};
use nova_runtime::codegen::sqlx::{self, PgPool};
use nova_runtime::server::ServiceConfig;
use nova_tests::legacy;
use nova_tests::redis_prefix::{RedisPrefix, redis_url};
use nova_tests::zipf::Zipf;
use nova_tests::{RunningService, SAFETY_TIMEOUT, TestDatabase, wait_until_serving};
use uuid::Uuid;

const USERS: usize = 100_000;
const ZIPF_EXPONENT: f64 = 1.1;
const BATCH: usize = 20;
/// Batches per run, sent in two halves.
const REQUESTS: usize = 12_000;
const CONCURRENCY: [usize; 2] = [16, 64];
const SEED: u64 = 11;
/// The per-id diagnostic runs only up to this many tasks (see `main`).
const PER_ID_TASKS: usize = 16;

/// One request: its ids as the legacy query binds them and as the RPC sends them.
struct Batch {
    uuids: Vec<Uuid>,
    strings: Vec<String>,
}

/// [`REQUESTS`] batches of [`BATCH`] distinct users from the Zipf stream: a repeat within a
/// batch is skipped (a caller asks once for each author on a page).
fn batches() -> Vec<Batch> {
    let zipf = Zipf::new(USERS, ZIPF_EXPONENT);
    let mut rng = fastrand::Rng::with_seed(SEED);
    (0..REQUESTS)
        .map(|_| {
            let mut uuids = Vec::with_capacity(BATCH);
            while uuids.len() < BATCH {
                let id = legacy::user_id(zipf.sample(&mut rng));
                if !uuids.contains(&id) {
                    uuids.push(id);
                }
            }
            let strings = uuids.iter().map(Uuid::to_string).collect();
            Batch { uuids, strings }
        })
        .collect()
}

/// The shared legacy database (`nova_tests::legacy`): the monolith's `users` table and the
/// tables referencing it, seeded with [`USERS`] users.
async fn legacy_database() -> (TestDatabase, PgPool) {
    legacy::database(USERS, &[]).await
}

/// A real auth server on loopback, its database migrated by its start and seeded here.
async fn auth_server() -> (TestDatabase, RunningService) {
    let database = TestDatabase::new("bench_auth");
    let config = ServiceConfig::loopback(database.config());
    let server = RunningService::start(move |listeners, shutdown| nova_auth_service::start(config, listeners, shutdown)).await;
    wait_until_serving(server.addr, nova_auth::PROTO_SERVICE, SAFETY_TIMEOUT).await;
    let mut connection = database.connect().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(legacy::seed_sql(USERS, "", ""))).execute(&mut connection).await.unwrap();
    (database, server)
}

/// What one half of a run measured.
struct Half {
    micros: Vec<f64>,
    elapsed: Duration,
    errors: usize,
    first_error: Option<String>,
    cache: Option<CacheCounts>,
}

/// Deltas of the client's cache counters over a half (`grpc_client_cache_requests_total`).
#[derive(Clone, Copy, Default)]
struct CacheCounts {
    l1: f64,
    l2: f64,
    miss: f64,
    stale: f64,
    l2_errors: f64,
}

impl CacheCounts {
    fn now(method: &str) -> Self {
        let text = nova_runtime::metrics::render();
        let count = |level, result| {
            nova_tests::metrics::sum(&text, "grpc_client_cache_requests_total", &[("grpc_method", method), ("level", level), ("result", result)])
        };
        CacheCounts {
            l1: count("l1", "hit"),
            l2: count("l2", "hit"),
            miss: count("none", "miss"),
            stale: count("none", "stale"),
            l2_errors: nova_tests::metrics::sum(&text, "grpc_client_cache_l2_errors_total", &[]),
        }
    }

    fn since(self, before: CacheCounts) -> Self {
        CacheCounts {
            l1: self.l1 - before.l1,
            l2: self.l2 - before.l2,
            miss: self.miss - before.miss,
            stale: self.stale - before.stale,
            l2_errors: self.l2_errors - before.l2_errors,
        }
    }

    fn add(self, other: CacheCounts) -> Self {
        CacheCounts {
            l1: self.l1 + other.l1,
            l2: self.l2 + other.l2,
            miss: self.miss + other.miss,
            stale: self.stale + other.stale,
            l2_errors: self.l2_errors + other.l2_errors,
        }
    }

    fn lookups(self) -> f64 {
        self.l1 + self.l2 + self.miss + self.stale
    }
}

/// Sends the batches `range` from `tasks` tasks, each taking the next batch as soon as its
/// previous call answered (closed loop). `call` answers how many users it got back.
async fn drive<C, Fut>(batches: &Arc<Vec<Batch>>, range: Range<usize>, tasks: usize, call: C) -> Half
where
    C: Fn(Arc<Vec<Batch>>, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<usize, String>> + Send,
{
    let next = Arc::new(AtomicUsize::new(range.start));
    let end = range.end;
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (next, batches, call) = (Arc::clone(&next), Arc::clone(batches), call.clone());
            tokio::spawn(async move {
                let mut micros = Vec::new();
                let mut errors = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        break;
                    }
                    let sent = Instant::now();
                    let answered = call(Arc::clone(&batches), i).await;
                    micros.push(sent.elapsed().as_secs_f64() * 1e6);
                    match answered {
                        Ok(BATCH) => {}
                        Ok(other) => errors.push(format!("{other} users answered for {BATCH} asked")),
                        Err(error) => errors.push(error),
                    }
                }
                (micros, errors)
            })
        })
        .collect();
    let mut micros = Vec::with_capacity(range.len());
    let mut errors = Vec::new();
    for handle in handles {
        let (task_micros, task_errors) = handle.await.unwrap();
        micros.extend(task_micros);
        errors.extend(task_errors);
    }
    let elapsed = started.elapsed();
    micros.sort_by(f64::total_cmp);
    Half { micros, elapsed, errors: errors.len(), first_error: errors.into_iter().next(), cache: None }
}

/// Both halves of a run, the cache counters of `method` (if any) taken around each.
async fn run_halves<C, Fut>(batches: &Arc<Vec<Batch>>, tasks: usize, method: Option<&str>, call: C) -> [Half; 2]
where
    C: Fn(Arc<Vec<Batch>>, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<usize, String>> + Send,
{
    let half = REQUESTS / 2;
    let mut out = Vec::new();
    for range in [0..half, half..REQUESTS] {
        let before = method.map(CacheCounts::now);
        let mut measured = drive(batches, range, tasks, call.clone()).await;
        measured.cache = method.zip(before).map(|(method, before)| CacheCounts::now(method).since(before));
        out.push(measured);
    }
    let [first, second] = <[Half; 2]>::try_from(out).ok().unwrap();
    [first, second]
}

/// A client as a caller service builds it (L1 + L2 with production Redis settings), with a
/// fresh channel and its own Redis prefix, so nothing is cached yet.
async fn fresh_client(server: &RunningService, prefix: &RedisPrefix) -> AuthClient {
    let cache = CacheConfig { redis: Some(RedisConfig::new(redis_url())), key_prefix: prefix.prefix.clone(), ..CacheConfig::default() };
    let channel = nova_runtime::client::channel(&server.uri()).unwrap();
    let client = AuthClient::with_options(channel, ClientOptions { cache: Some(cache), ..Default::default() });
    // L1 serves only once the cache hears invalidations; a caller service waits the same way.
    nova_tests::cache_probe::until_l1_trusted(client.core().cache().unwrap()).await;
    client
}

async fn legacy_run(pool: &PgPool, batches: &Arc<Vec<Batch>>, tasks: usize) -> [Half; 2] {
    let pool = pool.clone();
    run_halves(batches, tasks, None, move |batches, i| {
        let pool = pool.clone();
        async move {
            let rows: Vec<legacy::Row> =
                sqlx::query_as(legacy::READ).bind(&batches[i].uuids[..]).fetch_all(&pool).await.map_err(|e| e.to_string())?;
            Ok(rows.len())
        }
    })
    .await
}

async fn nova_run(server: &RunningService, batches: &Arc<Vec<Batch>>, tasks: usize) -> [Half; 2] {
    let prefix = RedisPrefix::new();
    let client = fresh_client(server, &prefix).await;
    run_halves(batches, tasks, Some("GetUsersByIds"), move |batches, i| {
        let client = client.clone();
        async move {
            let request = pb::GetUsersByIdsRequest { user_ids: batches[i].strings.clone() };
            let response = client.get_users_by_ids(request).await.map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
            Ok(response.users.len())
        }
    })
    .await
}

/// The same RPC through the generated client with its cache turned off: the cost of the path
/// (client stack, gRPC, auth's logic and database) without the cache's Redis work.
async fn nova_uncached_run(server: &RunningService, batches: &Arc<Vec<Batch>>, tasks: usize) -> [Half; 2] {
    let channel = nova_runtime::client::channel(&server.uri()).unwrap();
    let client = AuthClient::with_options(channel, ClientOptions { cache: None, ..Default::default() });
    run_halves(batches, tasks, None, move |batches, i| {
        let client = client.clone();
        async move {
            let request = pb::GetUsersByIdsRequest { user_ids: batches[i].strings.clone() };
            let response = client.get_users_by_ids(request).await.map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
            Ok(response.users.len())
        }
    })
    .await
}

async fn nova_per_id_run(server: &RunningService, batches: &Arc<Vec<Batch>>, tasks: usize) -> [Half; 2] {
    let prefix = RedisPrefix::new();
    let client = fresh_client(server, &prefix).await;
    run_halves(batches, tasks, Some("GetUser"), move |batches, i| {
        let client = client.clone();
        async move {
            let calls = batches[i].strings.iter().map(|id| client.get_user(pb::GetUserRequest { user_id: id.clone() }));
            let answers = futures_util::future::try_join_all(calls).await.map_err(|status| format!("{:?}: {}", status.code(), status.message()))?;
            Ok(answers.iter().filter(|answer| answer.user.is_some()).count())
        }
    })
    .await
}

/// One printed row: a half, or both halves together.
struct Row {
    tasks: usize,
    path: &'static str,
    part: &'static str,
    requests: usize,
    errors: usize,
    qps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    cache: Option<CacheCounts>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] / 1000.0
}

fn rows(tasks: usize, path: &'static str, halves: &[Half; 2]) -> Vec<Row> {
    let row = |part, micros: &[f64], elapsed: Duration, errors, cache| Row {
        tasks,
        path,
        part,
        requests: micros.len(),
        errors,
        qps: micros.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(micros, 0.50),
        p95: percentile(micros, 0.95),
        p99: percentile(micros, 0.99),
        cache,
    };
    let mut all: Vec<f64> = halves.iter().flat_map(|half| half.micros.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let total_cache = halves[0].cache.zip(halves[1].cache).map(|(a, b)| a.add(b));
    for half in halves {
        if let Some(error) = &half.first_error {
            eprintln!("{path} with {tasks} tasks: {} failed calls, the first: {error}", half.errors);
        }
    }
    vec![
        row("1st half (cold start)", &halves[0].micros, halves[0].elapsed, halves[0].errors, halves[0].cache),
        row("2nd half", &halves[1].micros, halves[1].elapsed, halves[1].errors, halves[1].cache),
        row("whole run", &all, halves[0].elapsed + halves[1].elapsed, halves[0].errors + halves[1].errors, total_cache),
    ]
}

fn print(rows: &[Row]) {
    println!(
        "| tasks | path | part | requests | errors | QPS | P50 ms | P95 ms | P99 ms | L1 hits | L2 hits | misses | hit rate | nova/legacy QPS |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let (l1, l2, miss, rate) = match row.cache {
            Some(c) => {
                let rate = if c.lookups() > 0.0 { format!("{:.1} %", (c.l1 + c.l2) / c.lookups() * 100.0) } else { "-".into() };
                (format!("{:.0}", c.l1), format!("{:.0}", c.l2), format!("{:.0}", c.miss + c.stale), rate)
            }
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        let legacy = rows.iter().find(|other| other.tasks == row.tasks && other.part == row.part && other.path == "legacy");
        let ratio = match legacy {
            Some(legacy) if row.path != "legacy" => format!("{:.2}x", row.qps / legacy.qps),
            _ => "-".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {l1} | {l2} | {miss} | {rate} | {ratio} |",
            row.tasks, row.path, row.part, row.requests, row.errors, row.qps, row.p50, row.p95, row.p99
        );
    }
    let l2_errors: f64 = rows.iter().filter(|row| row.part == "whole run").filter_map(|row| row.cache).map(|c| c.l2_errors).sum();
    println!("\nRedis (L2) errors during the nova runs: {l2_errors:.0}");
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let batches = Arc::new(batches());
    // The cache keys a request by its bytes: a batch can only hit if the same ids came before
    // in the same order.
    let distinct: std::collections::HashSet<&[Uuid]> = batches.iter().map(|batch| &batch.uuids[..]).collect();
    println!("{} distinct batches among the {REQUESTS} of the stream", distinct.len());
    let seeding = Instant::now();
    let (legacy_db, pool) = legacy_database().await;
    let (auth_db, server) = auth_server().await;
    println!("{USERS} users seeded in both databases (auth started and migrated) in {:.1} s", seeding.elapsed().as_secs_f64());
    let mut all = Vec::new();
    for tasks in CONCURRENCY {
        all.extend(rows(tasks, "legacy", &legacy_run(&pool, &batches, tasks).await));
        all.extend(rows(tasks, "nova", &nova_run(&server, &batches, tasks).await));
        all.extend(rows(tasks, "nova, cache off", &nova_uncached_run(&server, &batches, tasks).await));
        // 20 calls per batch: 64 tasks would keep 1280 calls in flight, far past what this
        // 2-core machine answers within GetUser's 200 ms deadline (the breaker opens).
        if tasks <= PER_ID_TASKS {
            all.extend(rows(tasks, "nova per id", &nova_per_id_run(&server, &batches, tasks).await));
        }
    }
    println!();
    print(&all);
    pool.close().await;
    server.stop().await.unwrap();
    drop((legacy_db, auth_db));
    println!("\ntotal {:.1} s", started.elapsed().as_secs_f64());
}
