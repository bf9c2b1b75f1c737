//! The JetStream streams, created from what the spec declares, idempotently, by whoever
//! starts first (a relay for its own stream, a consumer for its publisher's and the
//! dead-letter stream).

use std::time::Duration;

use async_nats::jetstream::{self, stream};

use super::EventsError;

/// The dead-letter stream: events a consumer gave up on, with the error, until replayed.
pub const DEAD_LETTERS: &str = "NOVA_DEAD_LETTERS";
/// Its subjects: `nova_dead.<consumer>.<original subject>`.
pub const DEAD_LETTER_PREFIX: &str = "nova_dead";

/// How long a stream keeps events a consumer may replay (a week), and JetStream's dedupe
/// window for `Nats-Msg-Id` (a relay restarted within it republishes nothing twice; the
/// consumers' inboxes cover a longer gap).
const KEEP_FOR: Duration = Duration::from_secs(7 * 24 * 3600);
const DEDUPE_WINDOW: Duration = Duration::from_secs(120);

/// The stream of `publisher`'s events: `NOVA_AUTH`.
pub fn stream_name(publisher: &str) -> String {
    format!("NOVA_{}", publisher.to_ascii_uppercase())
}

/// Creates `publisher`'s stream unless it exists.
///
/// # Errors
///
/// [`EventsError::Nats`] when JetStream is unreachable or refuses.
pub async fn ensure_publisher_stream(js: &jetstream::Context, publisher: &str, replicas: usize) -> Result<stream::Stream, EventsError> {
    ensure(js, stream_name(publisher), format!("nova.{publisher}.>"), replicas).await
}

/// Creates the dead-letter stream unless it exists.
///
/// # Errors
///
/// [`EventsError::Nats`] when JetStream is unreachable or refuses.
pub async fn ensure_dead_letter_stream(js: &jetstream::Context, replicas: usize) -> Result<stream::Stream, EventsError> {
    ensure(js, DEAD_LETTERS.to_string(), format!("{DEAD_LETTER_PREFIX}.>"), replicas).await
}

async fn ensure(js: &jetstream::Context, name: String, subjects: String, replicas: usize) -> Result<stream::Stream, EventsError> {
    js.get_or_create_stream(stream::Config {
        name,
        subjects: vec![subjects],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        max_age: KEEP_FOR,
        duplicate_window: DEDUPE_WINDOW,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(EventsError::nats)
}
