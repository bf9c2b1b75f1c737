//! Writing an event: inside the transaction of the change it describes, never outside one
//! (the generated `events` module of each service is the typed way in).

use prost::Message;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::Envelope;
use crate::RepoError;

/// The channel the outbox notifies on commit, so an idle relay wakes at once instead of at its
/// next poll.
pub const NOTIFY_CHANNEL: &str = "nova_outbox";

/// Takes the aggregate's version row (created at 1, else bumped) and holds its lock until the
/// transaction ends: events of one aggregate get consecutive versions in commit order. The
/// event's time is the database's clock read *under that lock* (microseconds since the Unix
/// epoch), so it never decreases along one aggregate's versions either (while the clock does
/// not step back): consumers may use it as the version of a state (search does).
const SQL_NEXT_VERSION: &str = "INSERT INTO nova_aggregate_versions (aggregate, aggregate_id, version) VALUES ($1, $2, 1) \
     ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET version = nova_aggregate_versions.version + 1 \
     RETURNING version, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint";
const SQL_INSERT: &str = "INSERT INTO nova_outbox (event_id, subject, aggregate, aggregate_id, version, envelope) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const SQL_NOTIFY: &str = "SELECT pg_notify('nova_outbox', '')";

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
    let aggregate = format!("{}.{}", event.publisher, event.table);
    let (version, occurred_at_micros): (i64, i64) = sqlx::query_as(SQL_NEXT_VERSION)
        .bind(&aggregate)
        .bind(&event.aggregate_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| RepoError::from_sqlx("nova_aggregate_versions", e))?;
    let event_id = Uuid::now_v7();
    let envelope = Envelope {
        event_id: event_id.to_string(),
        publisher: event.publisher.to_string(),
        event: event.event.to_string(),
        aggregate,
        aggregate_id: event.aggregate_id,
        version,
        occurred_at_micros,
        actor_user_id: event.actor.map(|u| u.to_string()).unwrap_or_default(),
        payload: event.payload,
    };
    sqlx::query(SQL_INSERT)
        .bind(event_id)
        .bind(super::subject(event.publisher, event.event))
        .bind(&envelope.aggregate)
        .bind(&envelope.aggregate_id)
        .bind(version)
        .bind(envelope.encode_to_vec())
        .execute(&mut **tx)
        .await
        .map_err(|e| RepoError::from_sqlx("nova_outbox", e))?;
    // Delivered at commit, once per transaction however many events it wrote.
    sqlx::query(SQL_NOTIFY).execute(&mut **tx).await.map_err(|e| RepoError::from_sqlx("nova_outbox", e))?;
    Ok(envelope)
}
