//! What the event tests share: an outbox database (auth's migrations, so the tables are the
//! generated ones), an inbox database (content's), a writer of events and a consumer that
//! records what it applied, in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nova_runtime::LogicError;
use nova_runtime::codegen::sqlx::{self, PgPool};
use nova_runtime::events::consume::Subscription;
use nova_runtime::events::{Consumer, EventsConfig, Handler, JetStream, Outgoing, Received, Relay, Tx, publish};
use nova_tests::database::TestDatabase;
use nova_tests::eventually::eventually;
use nova_tests::private_nats::PrivateNats;

/// A database of one test with auth's tables (the outbox among them).
pub async fn outbox_database() -> (TestDatabase, PgPool) {
    let database = TestDatabase::new("events_out");
    match nova_auth::db::connect(&database.config()).await {
        Ok(pool) => (database, pool),
        Err(error) => panic!("outbox database: {error}"),
    }
}

/// A database of one test with content's tables (the inbox among them) and `test_applied`,
/// where the [`Recorder`] writes each event it applies, in apply order.
pub async fn inbox_database() -> (TestDatabase, PgPool) {
    let database = TestDatabase::new("events_in");
    let pool = match nova_content::db::connect(&database.config()).await {
        Ok(pool) => pool,
        Err(error) => panic!("inbox database: {error}"),
    };
    sqlx::query("CREATE TABLE test_applied (n bigserial PRIMARY KEY, event_id uuid NOT NULL, aggregate_id text NOT NULL, version bigint NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    (database, pool)
}

/// Settings for tests: this test's NATS, quick retries.
pub fn config(nats_url: String) -> EventsConfig {
    EventsConfig { nats_url, retry_delay: Duration::from_millis(20), relay_poll: Duration::from_millis(50), max_deliveries: 3, ..Default::default() }
}

/// Writes `count` events about `aggregates` aggregates (`a0`, `a1`, ...) round robin, `per_tx`
/// per transaction, as auth's `users.deleted` (the payload does not matter here).
pub async fn write_events(pool: &PgPool, from: usize, count: usize, aggregates: usize, per_tx: usize) {
    let mut written = 0;
    while written < count {
        let mut tx = pool.begin().await.unwrap();
        for _ in 0..per_tx.min(count - written) {
            let aggregate_id = format!("a{}", (from + written) % aggregates);
            let event = Outgoing { publisher: "auth", event: "users.deleted", table: "users", aggregate_id, actor: None, payload: Vec::new() };
            publish(&mut tx, event).await.unwrap();
            written += 1;
        }
        tx.commit().await.unwrap();
    }
}

/// A consumer that records every event it applies; fails on `poison` until `fixed`.
pub struct Recorder {
    pub poison: Option<String>,
    pub fixed: AtomicBool,
}

impl Recorder {
    pub fn new(poison: Option<&str>) -> Arc<Self> {
        Arc::new(Recorder { poison: poison.map(str::to_string), fixed: AtomicBool::new(false) })
    }
}

impl Handler for Recorder {
    async fn handle(&self, tx: &mut Tx, event: &Received) -> Result<(), LogicError> {
        if self.poison.as_deref() == Some(event.envelope.aggregate_id.as_str()) && !self.fixed.load(Ordering::SeqCst) {
            return Err(LogicError::invalid_argument(format!("poison aggregate {}", event.envelope.aggregate_id)));
        }
        sqlx::query("INSERT INTO test_applied (event_id, aggregate_id, version) VALUES ($1, $2, $3)")
            .bind(event.envelope.id())
            .bind(&event.envelope.aggregate_id)
            .bind(event.envelope.version)
            .execute(&mut **tx)
            .await
            .map_err(|e| LogicError::internal("recording", e))?;
        Ok(())
    }
}

/// A NATS server of the test's own, an outbox database and an inbox database, with content's
/// consumer of auth's `users.deleted` applying through a [`Recorder`], and the relay in this
/// process unless the test runs its own.
pub struct Pipeline {
    pub nats: PrivateNats,
    pub outbox: PgPool,
    pub inbox: PgPool,
    pub js: JetStream,
    pub outbox_database: TestDatabase,
    _inbox_database: TestDatabase,
    _consumer: Consumer,
    _relay: Option<Relay>,
}

impl Pipeline {
    pub async fn start(recorder: Arc<Recorder>, relay_in_process: bool) -> Self {
        let nats = PrivateNats::start();
        let (outbox_database, outbox) = outbox_database().await;
        let (inbox_database, inbox) = inbox_database().await;
        let config = config(nats.url());
        let js = config.connect().await.unwrap();
        let consumer = consume(&inbox, &js, &config, recorder);
        let relay = relay_in_process.then(|| Relay::spawn("auth", outbox.clone(), js.clone(), config.clone()));
        Pipeline { nats, outbox, inbox, js, outbox_database, _inbox_database: inbox_database, _consumer: consumer, _relay: relay }
    }
}

/// Starts content consuming auth's `users.deleted` with `recorder`.
pub fn consume(pool: &PgPool, js: &JetStream, config: &EventsConfig, recorder: Arc<Recorder>) -> Consumer {
    let subscription = Subscription { service: "content", publisher: "auth", events: vec!["users.deleted"] };
    Consumer::spawn(subscription, pool.clone(), js.clone(), config.clone(), recorder)
}

pub async fn applied(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM test_applied").fetch_one(pool).await.unwrap()
}

/// Waits until `pool` has applied `count` events (the consumer runs in the background).
pub async fn wait_applied(pool: &PgPool, count: i64) {
    eventually(&format!("{count} events applied"), || async { applied(pool).await >= count }).await;
}

/// Every event applied once, and each aggregate's versions applied as 1, 2, 3, ... in order:
/// nothing lost (a gap), nothing twice (a repeat), no reordering (a descent).
pub async fn assert_exactly_once_in_order(pool: &PgPool, expected: i64) {
    let (total, distinct): (i64, i64) = sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM test_applied").fetch_one(pool).await.unwrap();
    assert_eq!(total, expected, "events applied");
    assert_eq!(distinct, expected, "distinct events applied (a repeat means an event applied twice)");
    let per_aggregate: Vec<(String, Vec<i64>)> =
        sqlx::query_as("SELECT aggregate_id, array_agg(version ORDER BY n) FROM test_applied GROUP BY aggregate_id").fetch_all(pool).await.unwrap();
    for (aggregate, versions) in per_aggregate {
        let wanted: Vec<i64> = (1..=i64::try_from(versions.len()).unwrap()).collect();
        assert_eq!(versions, wanted, "versions of {aggregate} as applied");
    }
}
