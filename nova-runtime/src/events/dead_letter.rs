//! The dead-letter stream: events a consumer failed on `max_deliveries` times, kept with the
//! error until an operator has fixed the cause and replays them (`nova-gen events replay`).

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;
use uuid::Uuid;

use super::{EventsError, streams};

/// Headers a dead letter carries besides the event itself.
pub mod header {
    /// The consuming service that gave up.
    pub const CONSUMER: &str = "Nova-Consumer";
    /// The event's own subject, where a replay publishes it again.
    pub const SUBJECT: &str = "Nova-Subject";
    /// The last error, with its causes.
    pub const ERROR: &str = "Nova-Error";
    /// How many deliveries failed.
    pub const DELIVERIES: &str = "Nova-Deliveries";
}

/// Parks `payload` (the event as it was delivered on `subject`) for `consumer`, waiting for
/// JetStream's ack: the caller acknowledges the original only once its dead letter is stored.
///
/// # Errors
///
/// [`EventsError::Nats`] when JetStream does not store it.
pub async fn park(
    js: &jetstream::Context,
    consumer: &str,
    subject: &str,
    event_id: Option<Uuid>,
    payload: &[u8],
    deliveries: i64,
    error: &str,
) -> Result<(), EventsError> {
    let mut headers = HeaderMap::new();
    if let Some(event_id) = event_id {
        // Parked twice (the ack of the original lost) is stored once.
        headers.insert("Nats-Msg-Id", format!("{consumer}:{event_id}").as_str());
    }
    headers.insert(header::CONSUMER, consumer);
    headers.insert(header::SUBJECT, subject);
    headers.insert(header::ERROR, error.replace(['\r', '\n'], " ").as_str());
    headers.insert(header::DELIVERIES, deliveries.to_string().as_str());
    let dead_subject = format!("{}.{consumer}.{subject}", streams::DEAD_LETTER_PREFIX);
    js.publish_with_headers(dead_subject, headers, payload.to_vec().into()).await.map_err(EventsError::nats)?.await.map_err(EventsError::nats)?;
    Ok(())
}

/// One dead letter as an operator sees it.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its sequence in the dead-letter stream.
    pub sequence: u64,
    /// The consumer that gave up.
    pub consumer: String,
    /// The event's subject.
    pub subject: String,
    /// The error.
    pub error: String,
    /// The event, as delivered.
    pub payload: Vec<u8>,
}

/// The dead letters of `consumer` (every consumer when `None`), oldest first.
///
/// # Errors
///
/// [`EventsError::Nats`] when JetStream is unreachable or the stream is missing.
pub async fn list(js: &jetstream::Context, consumer: Option<&str>) -> Result<Vec<DeadLetter>, EventsError> {
    let stream = js.get_stream(streams::DEAD_LETTERS).await.map_err(EventsError::nats)?;
    let filter_subject = match consumer {
        Some(consumer) => format!("{}.{consumer}.>", streams::DEAD_LETTER_PREFIX),
        None => format!("{}.>", streams::DEAD_LETTER_PREFIX),
    };
    // An ephemeral consumer that reads without acknowledging: listing changes nothing.
    let reader = stream
        .create_consumer(pull::Config {
            filter_subject,
            ack_policy: jetstream::consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        })
        .await
        .map_err(EventsError::nats)?;
    let mut letters = Vec::new();
    loop {
        let mut batch = reader.fetch().max_messages(200).expires(Duration::from_millis(300)).messages().await.map_err(EventsError::nats)?;
        let mut fetched = 0;
        let mut pending = 0;
        while let Some(message) = batch.next().await {
            let message = message.map_err(EventsError::nats)?;
            fetched += 1;
            let info = message.info().map_err(EventsError::nats)?;
            pending = info.pending;
            let sequence = info.stream_sequence;
            let header = |name: &str| message.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_string()).unwrap_or_default();
            letters.push(DeadLetter {
                sequence,
                consumer: header(header::CONSUMER),
                subject: header(header::SUBJECT),
                error: header(header::ERROR),
                payload: message.payload.to_vec(),
            });
        }
        if fetched == 0 || pending == 0 {
            return Ok(letters);
        }
    }
}

/// Publishes `consumer`'s dead letters (only `event_id`'s when given) again on their own
/// subjects and removes them from the dead-letter stream. Consumers that applied an event
/// before find it in their inbox and skip it; the one that gave up applies it now. Returns
/// how many were replayed.
///
/// # Errors
///
/// [`EventsError::Nats`] when JetStream is unreachable; letters replayed before the failure
/// are gone from the stream, the others stay.
pub async fn replay(js: &jetstream::Context, consumer: &str, event_id: Option<Uuid>) -> Result<usize, EventsError> {
    let stream = js.get_stream(streams::DEAD_LETTERS).await.map_err(EventsError::nats)?;
    let mut replayed = 0;
    for letter in list(js, Some(consumer)).await? {
        let envelope = <super::Envelope as prost::Message>::decode(letter.payload.as_slice()).ok();
        let id = envelope.as_ref().and_then(super::Envelope::id);
        if event_id.is_some() && id != event_id {
            continue;
        }
        let mut headers = HeaderMap::new();
        // A fresh dedupe id: the original id is still inside JetStream's dedupe window when the
        // fix is quick, and the republished event would be dropped as a duplicate.
        let dedupe = format!("{}.replay.{}", id.map(|i| i.to_string()).unwrap_or_default(), letter.sequence);
        headers.insert("Nats-Msg-Id", dedupe.as_str());
        js.publish_with_headers(letter.subject.clone(), headers, letter.payload.clone().into())
            .await
            .map_err(EventsError::nats)?
            .await
            .map_err(EventsError::nats)?;
        stream.delete_message(letter.sequence).await.map_err(EventsError::nats)?;
        replayed += 1;
    }
    Ok(replayed)
}
