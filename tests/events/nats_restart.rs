//! NATS stopped in the middle of a load: writes go on (the outbox grows), and once NATS is
//! back every event arrives, once, in order.

use nova_runtime::events::Relay;
use nova_tests::private_nats::PrivateNats;

use crate::harness::{self, Recorder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_mid_load_loses_nothing_and_never_fails_a_write() {
    let mut nats = PrivateNats::start();
    let (_outbox_db, outbox) = harness::outbox_database().await;
    let (_inbox_db, inbox) = harness::inbox_database().await;
    let config = harness::config(nats.url());
    let js = config.connect().await.unwrap();
    let _consumer = harness::consume(&inbox, &js, &config, Recorder::new(None));
    let _relay = Relay::spawn("auth", outbox.clone(), js.clone(), config.clone());

    harness::write_events(&outbox, 0, 1000, 50, 10).await;
    harness::wait_applied(&inbox, 1).await;
    nats.stop();
    // Every write commits while NATS is gone (write_events fails the test on any error).
    harness::write_events(&outbox, 1000, 1000, 50, 10).await;
    let waiting: i64 = nova_runtime::codegen::sqlx::query_scalar("SELECT count(*) FROM nova_outbox").fetch_one(&outbox).await.unwrap();
    assert!(waiting > 0, "events wait in the outbox while NATS is down");
    nats.restart();
    harness::wait_applied(&inbox, 2000).await;
    harness::assert_exactly_once_in_order(&inbox, 2000).await;
}
