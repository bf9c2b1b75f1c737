//! Writing an event: inside the transaction of the change it describes, never outside one
//! (the generated `events` module of each service is the typed way in).

use prost::Message;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Envelope;
use crate::RepoError;

/// One round trip: takes the aggregate's version row (created at 1, else bumped), holding its
/// lock until the transaction ends, so events of one aggregate get consecutive versions in
/// commit order; and writes the outbox row with that version and, as its `created_at`, the
/// database's clock read *under that lock*, so the event's time never decreases along one
/// aggregate's versions either (while the clock does not step back): consumers may use it as
/// the version of a state (search does). The stored envelope leaves both out; the relay fills
/// them in from the row (`relay::pass`).
const SQL_PUBLISH: &str = "WITH next AS (INSERT INTO nova_aggregate_versions (aggregate, aggregate_id, version) VALUES ($3, $4, 1) \
     ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET version = nova_aggregate_versions.version + 1 \
     RETURNING version, clock_timestamp() AS at) \
     INSERT INTO nova_outbox (event_id, subject, aggregate, aggregate_id, version, envelope, created_at) \
     SELECT $1, $2, $3, $4, next.version, $5, next.at FROM next \
     RETURNING version, (extract(epoch FROM created_at) * 1000000)::bigint";

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// The publishing service (`auth`).
    pub publisher: &'a str,
    /// The event's name within it (`users.deleted`).
    pub event: &'a str,
    /// The table it is about (`users`); the envelope names it with its service (`auth.users`).
    pub table: &'a str,
    /// The row's key as text.
    pub aggregate_id: String,
    /// The end user acting, if any.
    pub actor: Option<Uuid>,
    /// The event's own message, encoded (empty for lifecycle events).
    pub payload: Vec<u8>,
}

/// Writes `event` in `tx`: it is published if and only if `tx` commits. Returns the envelope
/// as it will be published (its id and version).
///
/// # Errors
///
/// [`RepoError`] when the database refuses (the caller's transaction should roll back).
pub async fn publish(tx: &mut Transaction<'_, Postgres>, event: Outgoing<'_>) -> Result<Envelope, RepoError> {
    let event_id = Uuid::now_v7();
    let mut envelope = Envelope {
        event_id: event_id.to_string(),
        publisher: event.publisher.to_string(),
        event: event.event.to_string(),
        aggregate: format!("{}.{}", event.publisher, event.table),
        aggregate_id: event.aggregate_id,
        version: 0,
        occurred_at_micros: 0,
        actor_user_id: event.actor.map(|u| u.to_string()).unwrap_or_default(),
        payload: event.payload,
    };
    let (version, occurred_at_micros): (i64, i64) = sqlx::query_as(SQL_PUBLISH)
        .bind(event_id)
        .bind(super::subject(event.publisher, event.event))
        .bind(&envelope.aggregate)
        .bind(&envelope.aggregate_id)
        .bind(envelope.encode_to_vec())
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| RepoError::from_sqlx("nova_outbox", e))?;
    envelope.version = version;
    envelope.occurred_at_micros = occurred_at_micros;
    // No NOTIFY: the relay polls (see `EventsConfig::relay_idle`).
    Ok(envelope)
}
