//! Events: a state change and the event describing it commit in one transaction (the
//! outbox), a relay per database publishes them to NATS JetStream, and consumers in other
//! services apply them at most once each, in their own transactions.
//!
//! - [`outbox::publish`] writes the event row inside the caller's transaction, after taking
//!   the aggregate's version row lock: two writers of one aggregate commit their events in
//!   version order, and the event exists if and only if the change does.
//! - [`relay::Relay`] (one leader per database, an advisory lock; standbys wait) claims
//!   outbox rows in sequence order, publishes them with the event id as `Nats-Msg-Id` (so a
//!   row published twice after a crash is stored once), waits for every ack, deletes the rows
//!   and commits. It keeps no high-water mark: a row committed late is simply found later.
//! - [`consume::Consumer`] pulls from a durable consumer with explicit acks, records each
//!   event id in the inbox and each aggregate's newest version in the handler's transaction
//!   (a redelivery or an older event has no effect), retries failures with a growing delay,
//!   and after [`EventsConfig::max_deliveries`] tries parks the event in the dead-letter
//!   stream ([`dead_letter`]), from which `nova-gen events replay` puts it back.
//!
//! Subjects are `nova.<publisher>.<event>` (e.g. `nova.auth.users.deleted`), one stream per
//! publishing service (`NOVA_AUTH`), dead letters under `nova_dead.<consumer>.<subject>` in
//! `NOVA_DEAD_LETTERS`.

pub mod config;
pub mod consume;
pub mod dead_letter;
pub mod envelope;
pub mod outbox;
pub mod relay;
pub mod streams;

pub use config::{DEFAULT_NATS_URL, EventsConfig};
pub use consume::{Consumer, Handler, Received};
pub use envelope::Envelope;
pub use outbox::{Outgoing, publish};
pub use relay::Relay;

/// A JetStream connection (what [`EventsConfig::connect`] returns).
pub type JetStream = async_nats::jetstream::Context;

/// The transaction a consumer's handler runs in: the inbox row, the version guard and the
/// handler's own writes commit (or roll back) together.
pub type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

/// A service's running event tasks; dropping it stops them.
#[derive(Debug)]
pub struct Running {
    service: &'static str,
    db: sqlx::PgPool,
    js: JetStream,
    config: EventsConfig,
    /// The outbox relay, when the service publishes: held only so that dropping `Running`
    /// stops it.
    _relay: Option<Relay>,
    /// One per publisher the service consumes from.
    consumers: Vec<Consumer>,
}

impl Running {
    /// Connects `service` to NATS (reconnecting in the background while it is down) and, when
    /// the service publishes, starts the relay of its outbox in `db`.
    ///
    /// # Errors
    ///
    /// [`EventsError::Nats`] when the NATS URL is malformed.
    pub async fn start(service: &'static str, db: sqlx::PgPool, config: EventsConfig, publishes: bool) -> Result<Running, EventsError> {
        let js = config.connect().await?;
        if publishes {
            metric::register_publisher(service);
        }
        let relay = publishes.then(|| Relay::spawn(service, db.clone(), js.clone(), config.clone()));
        Ok(Running { service, db, js, config, _relay: relay, consumers: Vec::new() })
    }

    /// Starts one durable consumer of `publisher`'s `events`, applied by `handler`.
    pub fn consume<H: Handler>(&mut self, publisher: &'static str, events: Vec<&'static str>, handler: std::sync::Arc<H>) {
        for event in &events {
            metric::register_consumer(self.service, &subject(publisher, event));
        }
        let subscription = consume::Subscription { service: self.service, publisher, events };
        self.consumers.push(Consumer::spawn(subscription, self.db.clone(), self.js.clone(), self.config.clone(), handler));
    }
}

/// Runs the statements that make a consumer's rows follow a deletion elsewhere (the spec's
/// `cascade` / `set null` on logical references), each `(table, statement)` with the deleted
/// row's `key` as `$1`, in `tx`.
///
/// # Errors
///
/// [`crate::RepoError`] of the first statement the database refuses.
pub async fn follow_deletion<K>(tx: &mut Tx, key: &K, statements: &[(&'static str, &'static str)]) -> Result<(), crate::RepoError>
where
    K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Sync,
{
    for (table, statement) in statements {
        sqlx::query(*statement).bind(key).execute(&mut **tx).await.map_err(|e| crate::RepoError::from_sqlx(table, e))?;
    }
    Ok(())
}

/// The newest version of `aggregate` (`<service>.<table>`) row `aggregate_id` this service has
/// applied, if any, read in `tx`. A handler uses it to ask what it already learned about
/// another aggregate: e.g. whether a user's deletion (the last event of a user) was applied
/// before a late event about one of the user's posts.
///
/// # Errors
///
/// [`crate::RepoError`] when the database refuses.
pub async fn applied_version(tx: &mut Tx, aggregate: &str, aggregate_id: &str) -> Result<Option<i64>, crate::RepoError> {
    sqlx::query_scalar(SQL_APPLIED_VERSION)
        .bind(aggregate)
        .bind(aggregate_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| crate::RepoError::from_sqlx("nova_consumed_versions", e))
}

const SQL_APPLIED_VERSION: &str = "SELECT version FROM nova_consumed_versions WHERE aggregate = $1 AND aggregate_id = $2";

/// An event's aggregate key, parsed back from its text.
///
/// # Errors
///
/// `INVALID_ARGUMENT` when it does not parse (a corrupt event: it is dead-lettered).
pub fn parse_key<T: std::str::FromStr>(text: &str) -> Result<T, crate::LogicError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| crate::LogicError::invalid_argument(format!("event key {text:?}: {e}")))
}

/// What went wrong talking to NATS or the database while moving events.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// The database refused or is unreachable.
    #[error("events: database: {0}")]
    Database(#[from] sqlx::Error),
    /// NATS (or JetStream) refused or is unreachable.
    #[error("events: NATS: {0}")]
    Nats(String),
    /// An event could not be decoded.
    #[error("events: undecodable event: {0}")]
    Decode(String),
}

impl EventsError {
    pub(crate) fn nats(error: impl std::fmt::Display) -> Self {
        EventsError::Nats(error.to_string())
    }
}

/// The subject an event of `publisher` is published on: `nova.auth.users.deleted`.
pub fn subject(publisher: &str, event: &str) -> String {
    format!("nova.{publisher}.{event}")
}

/// Metric names, described once in [`crate::metrics`].
pub mod metric {
    /// Events the relay published and JetStream acknowledged, by service.
    pub const PUBLISHED: &str = "nova_events_published_total";
    /// Events a consumer finished, by service, subject and outcome (applied, duplicate, stale,
    /// retried, dead_lettered).
    pub const CONSUMED: &str = "nova_events_consumed_total";
    /// Events parked in the dead-letter stream, by service and subject.
    pub const DEAD_LETTERED: &str = "nova_events_dead_lettered_total";
    /// Outbox rows left after the relay's last pass (what NATS has not acknowledged yet).
    pub const OUTBOX_BACKLOG: &str = "nova_events_outbox_backlog";

    /// A publishing `service`'s series at zero, exported from its start (the generated alerts
    /// read them, and an alert on a series that appears only with its first event would see
    /// nothing to compare against).
    pub fn register_publisher(service: &'static str) {
        metrics::counter!(PUBLISHED, "service" => service).absolute(0);
        metrics::gauge!(OUTBOX_BACKLOG, "service" => service).set(0.0);
    }

    /// A consuming `service`'s dead-letter series of `subject` at zero, exported from its start.
    pub fn register_consumer(service: &'static str, subject: &str) {
        metrics::counter!(DEAD_LETTERED, "service" => service, "subject" => subject.to_string()).absolute(0);
    }
}
