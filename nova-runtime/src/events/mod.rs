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

pub use config::EventsConfig;
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
    /// The outbox relay, when the service publishes.
    pub relay: Option<Relay>,
    /// One per publisher the service consumes from.
    pub consumers: Vec<Consumer>,
}

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
}
