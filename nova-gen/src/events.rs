//! `nova-gen events`: the dead-letter stream of a running system (`NOVA_DEAD_LETTERS`, see
//! `nova_runtime::events::dead_letter`): what each consumer gave up on, and its replay once
//! the cause is fixed. A replayed event is published again on its own subject; the consumer
//! that gave up applies it (once: its inbox), those that applied it already skip it, and an
//! event older than what a consumer applied since has no effect (its version guard).

use std::fmt::Write as _;

use nova_gen_core::{Analysis, Failure};
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::events::dead_letter::{self, DeadLetter};
use nova_runtime::events::{Envelope, EventsConfig, JetStream};

use crate::block_on;

fn failed(what: &str, error: impl std::fmt::Display) -> Failure {
    Failure::Command(format!("{what}: {error}").into())
}

/// The services of the spec that consume events (the only names a dead letter can carry).
fn consumers(analysis: &Analysis) -> Vec<&str> {
    analysis.spec.services.iter().filter(|s| !s.events.consumes.is_empty()).map(|s| s.name.as_str()).collect()
}

/// `consumer` if the spec has such a consumer; a clear refusal listing the real ones otherwise.
fn known_consumer<'a>(analysis: &Analysis, consumer: &'a str) -> Result<&'a str, Failure> {
    let known = consumers(analysis);
    if known.contains(&consumer) {
        return Ok(consumer);
    }
    Err(Failure::Command(format!("`{consumer}` consumes no events in specs/ownership.toml; the consumers are: {}", known.join(", ")).into()))
}

async fn connect(nats_url: &str) -> Result<JetStream, Failure> {
    let config = EventsConfig { nats_url: nats_url.to_string(), ..Default::default() };
    config.connect_once().await.map_err(|e| failed(&format!("connecting to NATS at {nats_url} (set --nats-url or NOVA_NATS_URL)"), e))
}

/// One line per letter: sequence, consumer, subject, event id, deliveries' last error.
fn render(letters: &[DeadLetter]) -> String {
    if letters.is_empty() {
        return "no dead letters\n".to_string();
    }
    let mut out = String::new();
    for letter in letters {
        let envelope = <Envelope as nova_runtime::codegen::prost::Message>::decode(letter.payload.as_slice()).ok();
        let id = envelope.as_ref().map_or_else(|| "(undecodable)".to_string(), |e| e.event_id.clone());
        let _ = writeln!(out, "{:>6}  {:<10} {:<40} {id}  {}", letter.sequence, letter.consumer, letter.subject, letter.error);
    }
    let _ = writeln!(out, "{} dead letter(s)", letters.len());
    out
}

/// `events dead-letters [--consumer <svc>]`: the report to print.
///
/// # Errors
///
/// An unknown consumer, or NATS unreachable.
pub fn list(analysis: &Analysis, nats_url: &str, consumer: Option<&str>) -> Result<String, Failure> {
    let consumer = consumer.map(|c| known_consumer(analysis, c)).transpose()?;
    block_on(async {
        let js = connect(nats_url).await?;
        let letters = dead_letter::list(&js, consumer).await.map_err(|e| failed("reading NOVA_DEAD_LETTERS", e))?;
        Ok(render(&letters))
    })
}

/// `events replay <consumer> [--event <id>]`: the report to print.
///
/// # Errors
///
/// An unknown consumer, a malformed event id, or NATS unreachable.
pub fn replay(analysis: &Analysis, nats_url: &str, consumer: &str, event: Option<&str>) -> Result<String, Failure> {
    let consumer = known_consumer(analysis, consumer)?;
    let event = event
        .map(|e| Uuid::parse_str(e).map_err(|error| Failure::Command(format!("--event {e:?} is not an event id (a UUID): {error}").into())))
        .transpose()?;
    block_on(async {
        let js = connect(nats_url).await?;
        let replayed = dead_letter::replay(&js, consumer, event).await.map_err(|e| failed("replaying from NOVA_DEAD_LETTERS", e))?;
        Ok(match (replayed, event) {
            (0, Some(id)) => format!("no dead letter of {consumer} is the event {id}\n"),
            (0, None) => format!("no dead letters of {consumer}\n"),
            (n, _) => format!("replayed {n} event(s) to {consumer}: published again on their subjects and removed from NOVA_DEAD_LETTERS\n"),
        })
    })
}
