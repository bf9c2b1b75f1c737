//! The relay SIGKILLed 50 times while 10 000 events are written and relayed: every event is
//! applied once, each aggregate's in order. Each kill waits for progress since the last one
//! (the consumer applied more), so the kills land while the outbox is being drained.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use nova_tests::eventually::eventually_some;

use crate::harness::{self, Pipeline, Recorder};

const EVENTS: usize = 10_000;
const AGGREGATES: usize = 100;
const KILLS: usize = 50;

/// A relay process that has taken the leadership.
fn start_victim(database_url: &str, nats_url: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay-victim"))
        .args([database_url, nats_url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start relay-victim: {e}"));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "leading", "the victim should announce its leadership");
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_fifty_times_loses_nothing_and_applies_nothing_twice() {
    // The relay runs in the victim processes only.
    let pipeline = Pipeline::start(Recorder::new(None), false).await;
    let (outbox, inbox, nats_url, outbox_url) = (&pipeline.outbox, &pipeline.inbox, pipeline.nats.url(), &pipeline.outbox_database.url);

    let writer = {
        let outbox = outbox.clone();
        tokio::spawn(async move { harness::write_events(&outbox, 0, EVENTS, AGGREGATES, 20).await })
    };
    let mut kills = 0;
    let mut seen = harness::applied(inbox).await;
    while kills < KILLS {
        let mut victim = start_victim(outbox_url, &nats_url);
        // Progress since the last kill, unless everything is through already.
        let before = seen;
        seen = eventually_some(&format!("progress after kill {kills}"), || async {
            let now = harness::applied(inbox).await;
            (now > before || now == EVENTS as i64).then_some(now)
        })
        .await;
        victim.kill().unwrap(); // SIGKILL
        victim.wait().unwrap();
        kills += 1;
    }
    writer.await.unwrap();
    let mut last = start_victim(outbox_url, &nats_url);
    harness::wait_applied(inbox, EVENTS as i64).await;
    last.kill().unwrap();
    last.wait().unwrap();
    let left: i64 = nova_runtime::codegen::sqlx::query_scalar("SELECT count(*) FROM nova_outbox").fetch_one(outbox).await.unwrap();
    assert_eq!(left, 0, "outbox rows left after the last relay drained it");
    assert_eq!(kills, KILLS);
    harness::assert_exactly_once_in_order(inbox, EVENTS as i64).await;
}
