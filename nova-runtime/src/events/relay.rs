//! The outbox relay: one leader per database moves committed outbox rows to JetStream.
//!
//! Each pass is one transaction on the leader's connection: claim the oldest rows (`FOR UPDATE
//! SKIP LOCKED`, in sequence order), publish them all (pipelined, each with its event id as
//! `Nats-Msg-Id`), wait for every ack, delete them, commit. A crash anywhere before the commit
//! leaves the rows to be published again, which JetStream's dedupe window and the consumers'
//! inboxes absorb; nothing is deleted unacknowledged. There is no high-water mark: rows commit
//! out of sequence order, and one committed after a pass is simply in the next. An idle leader
//! polls (1 ms after an empty pass, doubling up to `relay_idle`); writers send no NOTIFY, whose
//! commit-time lock is one for the whole PostgreSQL server.

use std::sync::Arc;

use async_nats::HeaderMap;
use async_nats::jetstream;
use futures_util::future::try_join_all;
use sqlx::postgres::PgPool;
use sqlx::{Acquire, PgConnection};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{EventsConfig, EventsError, metric, streams};

/// The advisory lock key the leader holds (per database: each service has its own).
const LEADER_LOCK: i64 = 0x6e6f_7661_6f75_7462; // "novaoutb"

const SQL_TRY_LEAD: &str = "SELECT pg_try_advisory_lock($1)";
/// The oldest rows, with the version and time the writer's statement gave them (see
/// `outbox::SQL_PUBLISH`), which the stored envelope leaves out.
const SQL_CLAIM: &str = "SELECT seq, event_id, subject, envelope, version, (extract(epoch FROM created_at) * 1000000)::bigint \
     FROM nova_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED";
const SQL_DELETE: &str = "DELETE FROM nova_outbox WHERE seq = ANY($1)";
const SQL_BACKLOG: &str = "SELECT count(*) FROM nova_outbox";
/// How soon an idle leader first looks again for rows (then doubling up to `relay_idle`).
const IDLE_FIRST: std::time::Duration = std::time::Duration::from_millis(1);

/// A running relay; dropping it stops the task (its leadership ends with its connection).
#[derive(Debug)]
pub struct Relay {
    task: JoinHandle<()>,
    leading: watch::Receiver<bool>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Relay {
    /// Starts relaying `service`'s outbox in `db` to JetStream.
    pub fn spawn(service: &'static str, db: PgPool, js: jetstream::Context, config: EventsConfig) -> Relay {
        let (lead_tx, leading) = watch::channel(false);
        let task = tokio::spawn(run(service, db, js, Arc::new(config), lead_tx));
        Relay { task, leading }
    }

    /// Waits until this relay is the leader of its database (tests, and the kill test's
    /// victim, which announce it).
    pub async fn leading(&mut self) {
        let _ = self.leading.wait_for(|leading| *leading).await;
    }
}

async fn run(service: &'static str, db: PgPool, js: jetstream::Context, config: Arc<EventsConfig>, leading: watch::Sender<bool>) {
    let mut stream_ready = false;
    loop {
        let _ = leading.send(false);
        match lead(service, &db, &js, &config, &leading, &mut stream_ready).await {
            Ok(()) => {}
            Err(error) => tracing::warn!(service, %error, "outbox relay: stepping back, retrying"),
        }
        tokio::time::sleep(config.relay_poll).await;
    }
}

/// Becomes the leader (or returns at once when another holds the lock) and relays until an
/// error ends the leadership.
async fn lead(
    service: &'static str,
    db: &PgPool,
    js: &jetstream::Context,
    config: &EventsConfig,
    leading: &watch::Sender<bool>,
    stream_ready: &mut bool,
) -> Result<(), EventsError> {
    let mut conn = db.acquire().await?;
    let won: bool = sqlx::query_scalar(SQL_TRY_LEAD).bind(LEADER_LOCK).fetch_one(&mut *conn).await?;
    if !won {
        return Ok(());
    }
    // The lock is the connection's: if the connection goes back to the pool still holding it,
    // the next leader election on this process would see it taken forever. Detach it, so it
    // closes (and the lock goes) with this function.
    let mut conn = conn.detach();
    let _ = leading.send(true);
    tracing::info!(service, "outbox relay: leading");
    let mut idle = IDLE_FIRST;
    loop {
        if !*stream_ready {
            streams::ensure_publisher_stream(js, service, config.replicas).await?;
            *stream_ready = true;
        }
        let moved = pass(service, &mut conn, js, config.relay_batch).await?;
        if moved == 0 {
            // Idle: look again soon, then less and less often, up to `relay_idle`.
            metrics::gauge!(metric::OUTBOX_BACKLOG, "service" => service).set(0.0);
            tokio::time::sleep(idle).await;
            idle = (idle * 2).min(config.relay_idle);
            continue;
        }
        idle = IDLE_FIRST;
        if moved < config.relay_batch {
            let backlog: i64 = sqlx::query_scalar(SQL_BACKLOG).fetch_one(&mut conn).await?;
            metrics::gauge!(metric::OUTBOX_BACKLOG, "service" => service).set(backlog as f64);
        }
    }
}

/// The stored envelope with its version and time. One that does not decode (it cannot, unless
/// the row was damaged) goes out as it is: its consumers dead-letter it, nothing is lost here.
fn completed(stored: Vec<u8>, version: i64, occurred_at_micros: i64) -> Vec<u8> {
    match <super::Envelope as prost::Message>::decode(stored.as_slice()) {
        Ok(mut envelope) => {
            envelope.version = version;
            envelope.occurred_at_micros = occurred_at_micros;
            prost::Message::encode_to_vec(&envelope)
        }
        Err(_) => stored,
    }
}

/// One transaction: claim, publish, await acks, delete, commit. Returns how many rows moved.
async fn pass(service: &'static str, conn: &mut PgConnection, js: &jetstream::Context, batch: i64) -> Result<i64, EventsError> {
    let mut tx = conn.begin().await?;
    let rows: Vec<(i64, uuid::Uuid, String, Vec<u8>, i64, i64)> = sqlx::query_as(SQL_CLAIM).bind(batch).fetch_all(&mut *tx).await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let mut acks = Vec::with_capacity(rows.len());
    let mut seqs = Vec::with_capacity(rows.len());
    for (seq, event_id, subject, envelope, version, occurred_at_micros) in rows {
        let envelope = completed(envelope, version, occurred_at_micros);
        let mut headers = HeaderMap::new();
        headers.insert("Nats-Msg-Id", event_id.to_string().as_str());
        // Published in sequence order on one connection, so JetStream stores them in that order.
        let ack = js.publish_with_headers(subject, headers, envelope.into()).await.map_err(EventsError::nats)?;
        acks.push(ack.into_future());
        seqs.push(seq);
    }
    try_join_all(acks).await.map_err(EventsError::nats)?;
    sqlx::query(SQL_DELETE).bind(&seqs).execute(&mut *tx).await?;
    tx.commit().await?;
    let moved = i64::try_from(seqs.len()).unwrap_or(i64::MAX);
    metrics::counter!(metric::PUBLISHED, "service" => service).increment(seqs.len() as u64);
    Ok(moved)
}
