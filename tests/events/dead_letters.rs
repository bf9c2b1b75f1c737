//! A consumer that fails on one event: the others flow, that one is dead-lettered after the
//! configured deliveries, with its error, and a replay after the fix applies it once.

use std::sync::atomic::Ordering;

use nova_runtime::events::{Envelope, dead_letter};
use nova_tests::eventually::eventually_some;
use prost::Message as _;

use crate::harness::{self, Pipeline, Recorder};

/// Runs a `nova-gen events` command against `nats_url` with the repository's spec (it makes its
/// own runtime, so on a blocking thread); its report, or the failure as text.
async fn nova_gen_events(
    nats_url: String,
    command: impl FnOnce(&nova_gen_core::Analysis, &str) -> Result<String, nova_gen_core::Failure> + Send + 'static,
) -> String {
    tokio::task::spawn_blocking(move || {
        let layout = nova_gen_core::layout::Layout::at(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        let analysis = nova_gen_core::analyse(&layout).unwrap();
        command(&analysis, &nats_url).unwrap_or_else(|failure| format!("failed: {failure}"))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_dead_lettered_after_its_tries_and_replayed_once_fixed() {
    let recorder = Recorder::new(Some("a7"));
    let pipeline = Pipeline::start(recorder.clone(), true).await;
    let (outbox, inbox, js) = (&pipeline.outbox, &pipeline.inbox, &pipeline.js);

    harness::write_events(outbox, 0, 30, 30, 5).await;
    harness::wait_applied(inbox, 29).await;
    // The poison event: parked once its deliveries ran out.
    let letters = eventually_some("the poison event dead-lettered", || async {
        let letters = dead_letter::list(js, Some("content")).await.unwrap_or_default();
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].subject, "nova.auth.users.deleted");
    assert!(letters[0].error.contains("poison aggregate a7"), "{}", letters[0].error);
    assert_eq!(harness::applied(inbox).await, 29, "the poison event was not applied");

    // What an operator sees and does: `nova-gen events dead-letters`, then, once the cause is
    // fixed, `nova-gen events replay content` (the command's library half, on this test's NATS).
    let listed = nova_gen_events(pipeline.nats.url(), |analysis, url| nova_gen::events::list(analysis, url, Some("content"))).await;
    let poison_id = Envelope::decode(letters[0].payload.as_slice()).unwrap().event_id;
    assert!(listed.contains("nova.auth.users.deleted") && listed.contains(&poison_id) && listed.contains("poison aggregate a7"), "{listed}");
    assert!(listed.contains("1 dead letter(s)"), "{listed}");
    recorder.fixed.store(true, Ordering::SeqCst);
    let replayed = nova_gen_events(pipeline.nats.url(), |analysis, url| nova_gen::events::replay(analysis, url, "content", None)).await;
    assert!(replayed.starts_with("replayed 1 event(s) to content"), "{replayed}");
    harness::wait_applied(inbox, 30).await;
    assert!(dead_letter::list(js, Some("content")).await.unwrap().is_empty(), "the replayed letter is gone");
    // A second replay finds nothing, and nothing is applied twice.
    assert_eq!(dead_letter::replay(js, "content", None).await.unwrap(), 0);
    harness::assert_exactly_once_in_order(inbox, 30).await;
    let poison: i64 =
        nova_runtime::codegen::sqlx::query_scalar("SELECT count(*) FROM test_applied WHERE aggregate_id = 'a7'").fetch_one(inbox).await.unwrap();
    assert_eq!(poison, 1);
}

/// Anyone who can publish on a subject can put any bytes there: an event whose envelope does
/// not decode, or names another publisher or event than its subject, is parked and never
/// applied, and the events after it flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_or_mislabelled_event_is_parked_never_applied() {
    let pipeline = Pipeline::start(Recorder::new(None), true).await;
    let (outbox, inbox, js) = (&pipeline.outbox, &pipeline.inbox, &pipeline.js);
    harness::write_events(outbox, 0, 1, 1, 1).await;
    harness::wait_applied(inbox, 1).await;

    // A well-formed envelope that claims to be content's, on auth's subject.
    let forged = Envelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        publisher: "content".into(),
        event: "users.deleted".into(),
        aggregate: "auth.users".into(),
        aggregate_id: "forged".into(),
        version: 1,
        ..Default::default()
    };
    for payload in [forged.encode_to_vec(), b"not protobuf at all".to_vec()] {
        js.publish("nova.auth.users.deleted", payload.into()).await.unwrap().await.unwrap();
    }
    harness::write_events(outbox, 1, 1, 1, 1).await;
    harness::wait_applied(inbox, 2).await;
    let letters = eventually_some("both bad events dead-lettered", || async {
        let letters = dead_letter::list(js, Some("content")).await.unwrap_or_default();
        (letters.len() == 2).then_some(letters)
    })
    .await;
    for letter in &letters {
        assert!(letter.error.contains("whose publisher and event are its subject's"), "{}", letter.error);
    }
    let forged_applied: i64 =
        nova_runtime::codegen::sqlx::query_scalar("SELECT count(*) FROM test_applied WHERE aggregate_id = 'forged'").fetch_one(inbox).await.unwrap();
    assert_eq!(forged_applied, 0);
    harness::assert_exactly_once_in_order(inbox, 2).await;
}
