//! Consuming events: a durable pull consumer per (consuming service, publisher), handled one
//! at a time in stream order, each in a transaction that also records it.
//!
//! In that transaction, before the handler runs: the inbox row `(consumer, event id)` (a
//! redelivered event finds it and is acknowledged without effect) and the aggregate's newest
//! version (an event older than one applied is acknowledged without effect: replays and
//! retries never move an aggregate back). A failing handler rolls all of it back; the event is
//! redelivered after a growing delay, and after `max_deliveries` failures parked in the
//! dead-letter stream with the error. Failures that say a dependency is down (UNAVAILABLE)
//! are retried without limit: parking an event because the database restarted would only
//! make work for an operator.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures_util::StreamExt;
use prost::Message;
use sqlx::PgPool;
use tokio::task::JoinHandle;

use super::{Envelope, EventsConfig, EventsError, Tx, dead_letter, metric, streams};
use crate::LogicError;

/// What one service does with the events it consumes (the generated per-service `Consumer`
/// trait is implemented through this).
pub trait Handler: Send + Sync + 'static {
    /// Applies `event` inside `tx`; an error rolls it back and the event is retried.
    fn handle(&self, tx: &mut Tx, event: &Received) -> impl Future<Output = Result<(), LogicError>> + Send;

    /// Runs once the transaction that applied `event` committed (never for a duplicate, a
    /// stale or a failed one): the place for effects outside the database, such as dropping
    /// cached answers, which done before the commit could be cached again from the old rows.
    /// Best effort: a crash between the commit and this call skips it (a cache entry then
    /// lives out its TTL).
    fn committed(&self, event: &Received) -> impl Future<Output = ()> + Send {
        let _ = event;
        async {}
    }
}

/// An event as a handler receives it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The event.
    pub envelope: Envelope,
    /// Its subject (`nova.auth.users.deleted`).
    pub subject: String,
    /// How many times it has been delivered, this time included.
    pub deliveries: i64,
}

impl Received {
    /// Whether this is `publisher`'s `event` (`"user"`, `"profiles.relations_changed"`).
    pub fn is(&self, publisher: &str, event: &str) -> bool {
        self.envelope.publisher == publisher && self.envelope.event == event
    }

    /// The event's message decoded as `M`; `None` when it does not decode (the generated
    /// dispatch has decoded it already before the handler ran, so this is for
    /// [`Handler::committed`]).
    pub fn message<M: prost::Message + Default>(&self) -> Option<M> {
        M::decode(self.envelope.payload.as_slice()).ok()
    }
}

/// A running consumer; dropping it stops the task (unacknowledged events are redelivered).
#[derive(Debug)]
pub struct Consumer(JoinHandle<()>);

impl Drop for Consumer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which events one consumer takes.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The consuming service (its inbox and version guard live in its database).
    pub service: &'static str,
    /// The publishing service.
    pub publisher: &'static str,
    /// The publisher's events it takes (`users.deleted`).
    pub events: Vec<&'static str>,
}

impl Subscription {
    /// The durable consumer's name: `user_from_auth`.
    pub fn durable(&self) -> String {
        format!("{}_from_{}", self.service, self.publisher)
    }
}

const SQL_INBOX: &str = "INSERT INTO nova_event_inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const SQL_VERSION_GUARD: &str = "INSERT INTO nova_consumed_versions (aggregate, aggregate_id, version) VALUES ($1, $2, $3) \
     ON CONFLICT (aggregate, aggregate_id) DO UPDATE SET version = EXCLUDED.version \
     WHERE nova_consumed_versions.version < EXCLUDED.version";

impl Consumer {
    /// Starts consuming `subscription` with `handler`; reconnects and resumes (from the durable
    /// consumer's position) after any NATS or database failure.
    pub fn spawn<H: Handler>(subscription: Subscription, db: PgPool, js: jetstream::Context, config: EventsConfig, handler: Arc<H>) -> Consumer {
        Consumer(tokio::spawn(async move {
            loop {
                if let Err(error) = consume(&subscription, &db, &js, &config, &*handler).await {
                    tracing::warn!(service = subscription.service, publisher = subscription.publisher, %error, "event consumer: reconnecting");
                }
                tokio::time::sleep(config.retry_delay).await;
            }
        }))
    }
}

async fn consume<H: Handler>(
    subscription: &Subscription,
    db: &PgPool,
    js: &jetstream::Context,
    config: &EventsConfig,
    handler: &H,
) -> Result<(), EventsError> {
    let stream = streams::ensure_publisher_stream(js, subscription.publisher, config.replicas).await?;
    streams::ensure_dead_letter_stream(js, config.replicas).await?;
    let durable = subscription.durable();
    let filter_subjects = subscription.events.iter().map(|event| super::subject(subscription.publisher, event)).collect();
    let mut messages: pull::Stream = stream
        .get_or_create_consumer(
            &durable,
            pull::Config {
                durable_name: Some(durable.clone()),
                filter_subjects,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_ack_pending: 1000,
                ..Default::default()
            },
        )
        .await
        .map_err(EventsError::nats)?
        .messages()
        .await
        .map_err(EventsError::nats)?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(EventsError::nats)?;
        handle_one(subscription, db, js, config, handler, message).await?;
    }
    Err(EventsError::Nats("the message stream ended".to_string()))
}

/// What became of one delivery.
enum Outcome {
    Applied,
    Duplicate,
    Stale,
    Failed(LogicError),
}

async fn handle_one<H: Handler>(
    subscription: &Subscription,
    db: &PgPool,
    js: &jetstream::Context,
    config: &EventsConfig,
    handler: &H,
    message: jetstream::Message,
) -> Result<(), EventsError> {
    let service = subscription.service;
    let subject = message.subject.to_string();
    let deliveries = message.info().map(|info| info.delivered).unwrap_or(1);
    let envelope = match Envelope::decode(message.payload.as_ref()) {
        // The subject is what the stream's publish permissions govern: an envelope naming
        // another publisher or event than its subject does is not believed.
        Ok(envelope) if envelope.id().is_some() && super::subject(&envelope.publisher, &envelope.event) == subject => envelope,
        Ok(_) | Err(_) => {
            let reason = "not a nova envelope with an event id whose publisher and event are its subject's";
            dead_letter::park(js, service, &subject, None, &message.payload, deliveries, reason).await?;
            metrics::counter!(metric::DEAD_LETTERED, "service" => service, "subject" => subject.clone()).increment(1);
            message.ack_with(AckKind::Term).await.map_err(EventsError::nats)?;
            return Ok(());
        }
    };
    let received = Received { envelope, subject: subject.clone(), deliveries };
    let outcome = match apply(service, db, handler, &received).await {
        Ok(outcome) => outcome,
        Err(error) => Outcome::Failed(LogicError::from(crate::RepoError::from_sqlx("nova_event_inbox", error))),
    };
    let label = match outcome {
        Outcome::Applied => "applied",
        Outcome::Duplicate => "duplicate",
        Outcome::Stale => "stale",
        Outcome::Failed(error) => {
            let transient = error.code() == tonic::Code::Unavailable;
            if transient || deliveries < config.max_deliveries {
                tracing::warn!(service, subject, deliveries, error = %error, "event handler failed; retrying later");
                message.ack_with(AckKind::Nak(Some(config.retry_after(deliveries)))).await.map_err(EventsError::nats)?;
                metrics::counter!(metric::CONSUMED, "service" => service, "subject" => subject, "outcome" => "retried").increment(1);
                return Ok(());
            }
            let reason = crate::error::cause_chain(&error);
            tracing::error!(service, subject, deliveries, error = %reason, "event handler failed for the last time; dead-lettered");
            dead_letter::park(js, service, &subject, received.envelope.id(), &message.payload, deliveries, &reason).await?;
            metrics::counter!(metric::DEAD_LETTERED, "service" => service, "subject" => subject.clone()).increment(1);
            "dead_lettered"
        }
    };
    // After the commit: an ack lost here means a redelivery, which the inbox absorbs.
    message.ack().await.map_err(EventsError::nats)?;
    metrics::counter!(metric::CONSUMED, "service" => service, "subject" => subject, "outcome" => label).increment(1);
    Ok(())
}

async fn apply<H: Handler>(service: &'static str, db: &PgPool, handler: &H, received: &Received) -> Result<Outcome, sqlx::Error> {
    let envelope = &received.envelope;
    let mut tx: Tx = db.begin().await?;
    let fresh = sqlx::query(SQL_INBOX).bind(service).bind(envelope.id()).execute(&mut *tx).await?.rows_affected() == 1;
    if !fresh {
        return Ok(Outcome::Duplicate);
    }
    let newer = sqlx::query(SQL_VERSION_GUARD)
        .bind(&envelope.aggregate)
        .bind(&envelope.aggregate_id)
        .bind(envelope.version)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !newer {
        tx.commit().await?;
        return Ok(Outcome::Stale);
    }
    match handler.handle(&mut tx, received).await {
        Ok(()) => {
            tx.commit().await?;
            handler.committed(received).await;
            Ok(Outcome::Applied)
        }
        Err(error) => {
            tx.rollback().await?;
            Ok(Outcome::Failed(error))
        }
    }
}
