//! The events pipeline on this machine: a private NATS JetStream server (`sync_interval:
//! always`, as `.ci/nats.conf`), an outbox database with auth's tables and an inbox database
//! with content's, the relay and a durable consumer in this process (what a service runs).
//!
//! 1. **Relay throughput**: 20 000 events committed while no relay runs, then the relay started:
//!    events per second from the outbox to JetStream's acknowledgements (rows deleted), and the
//!    consumer's rate applying them (inbox, version guard, the handler's insert, commit).
//! 2. **End to end at a fixed rate**: one event per transaction at 200/s for 15 s; for each,
//!    the time from the writer's commit to the consumer's commit (both in this process, so one
//!    clock), P50 / P95 / P99 / max.
//! 3. **The outbox's cost per write**: the same transaction (a row update) without and with an
//!    event published in it, alternating, one writer: median and P95 latency; then 8 writers
//!    for 5 s each way: writes per second.
//!
//!     cargo bench -p nova-tests --bench events_pipeline
//!
//! BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nova_runtime::LogicError;
use nova_runtime::codegen::sqlx::{self, PgPool};
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::events::consume::Subscription;
use nova_runtime::events::{Consumer, EventsConfig, Handler, Outgoing, Received, Relay, Tx, publish};
use nova_tests::database::TestDatabase;
use nova_tests::private_nats::PrivateNats;

const BACKLOG: usize = 20_000;
const RATE: u64 = 200;
const RATE_FOR: Duration = Duration::from_secs(15);
const PAIRED_WRITES: usize = 3_000;
const WRITERS: usize = 8;
const WRITERS_FOR: Duration = Duration::from_secs(5);

/// Applies each event with one insert and notes, after its commit, when it was applied.
struct Timed {
    applied: Mutex<HashMap<Uuid, Instant>>,
}

impl Handler for Timed {
    async fn handle(&self, tx: &mut Tx, event: &Received) -> Result<(), LogicError> {
        sqlx::query("INSERT INTO bench_applied (event_id) VALUES ($1)")
            .bind(event.envelope.id())
            .execute(&mut **tx)
            .await
            .map_err(|e| LogicError::internal("recording", e))?;
        Ok(())
    }

    async fn committed(&self, event: &Received) {
        if let Some(id) = event.envelope.id() {
            self.applied.lock().unwrap().insert(id, Instant::now());
        }
    }
}

fn event(aggregate: usize) -> Outgoing<'static> {
    Outgoing { publisher: "auth", event: "users.deleted", table: "users", aggregate_id: format!("a{aggregate}"), actor: None, payload: vec![0; 64] }
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(600);
    while !done().await {
        assert!(Instant::now() < give_up, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let nats = PrivateNats::start();
    let (_out_db, outbox) = {
        let database = TestDatabase::new("bench_events_out");
        let pool = nova_auth::db::connect(&database.config()).await.unwrap();
        (database, pool)
    };
    let (_in_db, inbox) = {
        let database = TestDatabase::new("bench_events_in");
        let pool = nova_content::db::connect(&database.config()).await.unwrap();
        (database, pool)
    };
    sqlx::query("CREATE TABLE bench_applied (event_id uuid PRIMARY KEY)").execute(&inbox).await.unwrap();
    sqlx::query("CREATE TABLE bench_rows (id int PRIMARY KEY, n bigint NOT NULL)").execute(&outbox).await.unwrap();
    sqlx::query("INSERT INTO bench_rows SELECT g, 0 FROM generate_series(0, 999) g").execute(&outbox).await.unwrap();
    let config = EventsConfig { nats_url: nats.url(), ..Default::default() };
    let js = config.connect().await.unwrap();
    let timed = Arc::new(Timed { applied: Mutex::new(HashMap::new()) });
    let subscription = Subscription { service: "content", publisher: "auth", events: vec!["users.deleted"] };
    let _consumer = Consumer::spawn(subscription, inbox.clone(), js.clone(), config.clone(), Arc::clone(&timed));

    // 1. A backlog, then the relay.
    for chunk in 0..BACKLOG / 100 {
        let mut tx = outbox.begin().await.unwrap();
        for i in 0..100 {
            publish(&mut tx, event(chunk * 100 + i)).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let started = Instant::now();
    let relay = Relay::spawn("auth", outbox.clone(), js.clone(), config.clone());
    until("the outbox is drained", async || count(&outbox, "SELECT count(*) FROM nova_outbox").await == 0).await;
    let relayed = started.elapsed();
    until("every event is applied", async || count(&inbox, "SELECT count(*) FROM bench_applied").await == BACKLOG as i64).await;
    let consumed = started.elapsed();
    println!("| stage | events | seconds | events/s |");
    println!("|---|---:|---:|---:|");
    println!(
        "| relay: outbox to JetStream ack (rows deleted) | {BACKLOG} | {:.2} | {:.0} |",
        relayed.as_secs_f64(),
        BACKLOG as f64 / relayed.as_secs_f64()
    );
    println!(
        "| consumer: applied and committed (from the relay's start) | {BACKLOG} | {:.2} | {:.0} |",
        consumed.as_secs_f64(),
        BACKLOG as f64 / consumed.as_secs_f64()
    );

    // 2. End to end at a fixed rate.
    timed.applied.lock().unwrap().clear();
    let mut committed: Vec<(Uuid, Instant)> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let total = RATE * RATE_FOR.as_secs();
    for i in 0..total {
        tick.tick().await;
        let mut tx = outbox.begin().await.unwrap();
        let envelope = publish(&mut tx, event(BACKLOG + i as usize)).await.unwrap();
        tx.commit().await.unwrap();
        committed.push((envelope.id().unwrap(), Instant::now()));
    }
    until("every timed event is applied", async || timed.applied.lock().unwrap().len() == committed.len()).await;
    let applied = timed.applied.lock().unwrap().clone();
    let mut delays: Vec<f64> = committed.iter().map(|(id, at)| applied[id].saturating_duration_since(*at).as_secs_f64() * 1000.0).collect();
    println!();
    println!("| rate | events | P50 ms | P95 ms | P99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| {RATE}/s for {}s, commit to the consumer's commit | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        RATE_FOR.as_secs(),
        delays.len(),
        percentile(&mut delays, 0.50),
        percentile(&mut delays, 0.95),
        percentile(&mut delays, 0.99),
        percentile(&mut delays, 1.0)
    );
    drop(relay);

    // 3. The outbox's cost per write (the relay stopped: its work is not the writer's).
    let write = |outbox: PgPool, with_event: bool, row: usize| async move {
        let mut tx = outbox.begin().await.unwrap();
        sqlx::query("UPDATE bench_rows SET n = n + 1 WHERE id = $1").bind((row % 1000) as i32).execute(&mut *tx).await.unwrap();
        if with_event {
            publish(&mut tx, event(row % 1000)).await.unwrap();
        }
        tx.commit().await.unwrap();
    };
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for i in 0..PAIRED_WRITES {
        for with_event in [i % 2 == 0, i % 2 != 0] {
            let started = Instant::now();
            write(outbox.clone(), with_event, i).await;
            let micros = started.elapsed().as_secs_f64() * 1e6;
            if with_event { with.push(micros) } else { without.push(micros) }
        }
    }
    let (m0, p0) = (percentile(&mut without, 0.5), percentile(&mut without, 0.95));
    let (m1, p1) = (percentile(&mut with, 0.5), percentile(&mut with, 0.95));
    let mut rates = Vec::new();
    for with_event in [false, true] {
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let until_at = Instant::now() + WRITERS_FOR;
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (outbox, done) = (outbox.clone(), Arc::clone(&done));
                tokio::spawn(async move {
                    let mut i = w;
                    while Instant::now() < until_at {
                        write(outbox.clone(), with_event, i).await;
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        i += WRITERS;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        rates.push(done.load(std::sync::atomic::Ordering::Relaxed) as f64 / WRITERS_FOR.as_secs_f64());
    }
    println!();
    println!("| write (UPDATE of one row, own transaction) | median µs | P95 µs | {WRITERS} writers: writes/s |");
    println!("|---|---:|---:|---:|");
    println!("| without an event | {m0:.0} | {p0:.0} | {:.0} |", rates[0]);
    println!("| with an event in the same transaction | {m1:.0} | {p1:.0} | {:.0} |", rates[1]);
    println!(
        "| cost of the outbox | {:+.0} µs ({:+.0} %) | {:+.0} µs | {:+.0} % |",
        m1 - m0,
        (m1 / m0 - 1.0) * 100.0,
        p1 - p0,
        (rates[1] / rates[0] - 1.0) * 100.0
    );
}
