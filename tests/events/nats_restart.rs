//! NATS stopped in the middle of a load: writes go on (the outbox grows), and once NATS is
//! back every event arrives, once, in order.

use crate::harness::{self, Pipeline, Recorder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_mid_load_loses_nothing_and_never_fails_a_write() {
    let mut pipeline = Pipeline::start(Recorder::new(None), true).await;
    let (outbox, inbox) = (pipeline.outbox.clone(), pipeline.inbox.clone());
    harness::write_events(&outbox, 0, 1000, 50, 10).await;
    harness::wait_applied(&inbox, 1).await;
    pipeline.nats.stop();
    // Every write commits while NATS is gone (write_events fails the test on any error).
    harness::write_events(&outbox, 1000, 1000, 50, 10).await;
    let waiting: i64 = nova_runtime::codegen::sqlx::query_scalar("SELECT count(*) FROM nova_outbox").fetch_one(&outbox).await.unwrap();
    assert!(waiting > 0, "events wait in the outbox while NATS is down");
    pipeline.nats.restart();
    harness::wait_applied(&inbox, 2000).await;
    harness::assert_exactly_once_in_order(&inbox, 2000).await;
}
