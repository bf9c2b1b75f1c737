//! A consumer that fails on one event: the others flow, that one is dead-lettered after the
//! configured deliveries, with its error, and a replay after the fix applies it once.

use std::sync::atomic::Ordering;

use nova_runtime::events::{Relay, dead_letter};
use nova_tests::private_nats::PrivateNats;

use crate::harness::{self, Recorder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_dead_lettered_after_its_tries_and_replayed_once_fixed() {
    let nats = PrivateNats::start();
    let (_outbox_db, outbox) = harness::outbox_database().await;
    let (_inbox_db, inbox) = harness::inbox_database().await;
    let config = harness::config(nats.url());
    let js = config.connect().await.unwrap();
    let recorder = Recorder::new(Some("a7"));
    let _consumer = harness::consume(&inbox, &js, &config, recorder.clone());
    let _relay = Relay::spawn("auth", outbox.clone(), js.clone(), config.clone());

    harness::write_events(&outbox, 0, 30, 30, 5).await;
    harness::wait_applied(&inbox, 29).await;
    // The poison event: parked once its deliveries ran out.
    let letters = loop {
        let letters = dead_letter::list(&js, Some("content")).await.unwrap_or_default();
        if !letters.is_empty() {
            break letters;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].subject, "nova.auth.users.deleted");
    assert!(letters[0].error.contains("poison aggregate a7"), "{}", letters[0].error);
    assert_eq!(harness::applied(&inbox).await, 29, "the poison event was not applied");

    recorder.fixed.store(true, Ordering::SeqCst);
    assert_eq!(dead_letter::replay(&js, "content", None).await.unwrap(), 1);
    harness::wait_applied(&inbox, 30).await;
    assert!(dead_letter::list(&js, Some("content")).await.unwrap().is_empty(), "the replayed letter is gone");
    // A second replay finds nothing, and nothing is applied twice.
    assert_eq!(dead_letter::replay(&js, "content", None).await.unwrap(), 0);
    harness::assert_exactly_once_in_order(&inbox, 30).await;
    let poison: i64 =
        nova_runtime::codegen::sqlx::query_scalar("SELECT count(*) FROM test_applied WHERE aggregate_id = 'a7'").fetch_one(&inbox).await.unwrap();
    assert_eq!(poison, 1);
}
