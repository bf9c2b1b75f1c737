//! How a server lives with its database: at start it waits for it with backoff (health
//! NOT_SERVING, calls refused with UNAVAILABLE, health/reflection/`/metrics` served), creates
//! and migrates it once it answers, then checks it every `probe_interval` and lets health and
//! call admission follow the answer. The checks use a connection of their own, so a busy pool
//! never reads as an outage.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use tokio::time::{Instant, MissedTickBehavior};

use super::readiness::Readiness;
use crate::db::{Database, DbError};
use crate::error::cause_chain;

/// First pause between two attempts to reach the database at start; it doubles up to
/// [`MAX_BACKOFF`], with jitter so that replicas do not knock in step.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Waits for and prepares the database, marks the service ready, then follows the
/// database's health for as long as the server runs. Returns only when the database could
/// not be prepared: the startup wait ran out, or a failure that waiting cannot fix.
pub(crate) async fn follow(database: Database, readiness: Arc<Readiness>) -> DbError {
    let connection = match wait_and_prepare(&database).await {
        Ok(connection) => connection,
        Err(error) => return error,
    };
    readiness.set_database(true).await;
    let mut connection = Some(connection);
    let mut ticks = tokio::time::interval(database.config().probe_interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let probed = probe(&database, &mut connection).await;
        if let Err(error) = &probed
            && readiness.admits_calls()
        {
            tracing::warn!(error = %cause_chain(error), "database check failed");
        }
        readiness.set_database(probed.is_ok()).await;
    }
}

async fn wait_and_prepare(database: &Database) -> Result<PgConnection, DbError> {
    let waited = database.config().startup_wait;
    let give_up = Instant::now() + waited;
    let mut backoff = INITIAL_BACKOFF;
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let error = match tokio::time::timeout_at(give_up, database.prepare()).await {
            Ok(Ok(connection)) => {
                // Each migration applied is logged at info where it is applied; an up-to-date
                // schema is not news on every start.
                tracing::debug!(attempts, "database ready: schema up to date");
                return Ok(connection);
            }
            Ok(Err(error)) if !error.is_transient() => return Err(error),
            Ok(Err(error)) => error,
            Err(_) => DbError::Connect(sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "the attempt outlived the startup wait"))),
        };
        if attempts == 1 || attempts.is_multiple_of(20) {
            tracing::warn!(attempts, wait = ?waited, error = %cause_chain(&error), "waiting for the database (NOT_SERVING meanwhile)");
        }
        let now = Instant::now();
        if now >= give_up {
            return Err(DbError::GaveUp { waited, last: Box::new(error) });
        }
        let pause = backoff.mul_f64(0.5 + fastrand::f64() / 2.0);
        tokio::time::sleep_until((now + pause).min(give_up)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One check: a round trip on the probe connection (reconnecting first if the last check
/// lost it), within `probe_timeout`.
async fn probe(database: &Database, connection: &mut Option<PgConnection>) -> Result<(), DbError> {
    let live = match connection {
        Some(live) => live,
        None => connection.insert(database.connect_once().await?),
    };
    let timeout = database.config().probe_timeout;
    let answered = match tokio::time::timeout(timeout, live.ping()).await {
        Ok(pinged) => pinged.map_err(DbError::Connect),
        Err(_) => Err(DbError::Connect(sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {timeout:?}"))))),
    };
    if answered.is_err() {
        *connection = None;
    }
    answered
}
