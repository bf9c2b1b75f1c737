//! GetFollowingFeed latency at a fixed request rate, cold and warm: feed fans out on read over
//! user's follows and content's posts, so a cold feed costs calls to both, a warm one is served
//! by feed's own cached clients, and a caller's cache answers without reaching feed at all.
//! Auth, media, user, content and feed run together in process (real gRPC on loopback, each
//! with its own PostgreSQL database, clients with L1 + L2 in the real Redis); the world is
//! made by nova-seed through the public RPCs, the same generator as `nova-gen dev --seed`.
//!
//!     cargo bench -p nova-tests --bench feed_latency
//!
//! Requests are sent open-loop at `RATE` per second (each in its own task, so a slow answer
//! does not delay the next request) and timed from their scheduled send.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::time::{Duration, Instant};

use nova_feed::{FeedClient, pb};
use nova_seed::{Clients, Plan};
use nova_tests::TestSystem;

/// Requests per second.
const RATE: u64 = 50;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Sends one GetFollowingFeed per viewer at `RATE`, open loop; the latencies in ms, sorted.
async fn at_rate(client: &FeedClient, viewers: &[String]) -> Vec<f64> {
    let period = Duration::from_micros(1_000_000 / RATE);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(viewers.len());
    for (i, viewer) in viewers.iter().enumerate() {
        let scheduled = start + period * i as u32;
        tokio::time::sleep_until(scheduled).await;
        let (client, viewer) = (client.clone(), viewer.clone());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let request = pb::GetFollowingFeedRequest { user_id: viewer, page_size: 20, page_token: String::new() };
            let items = client.get_following_feed(request).await.unwrap().items.len();
            (sent.elapsed().as_secs_f64() * 1e3, items)
        }));
    }
    let mut millis = Vec::with_capacity(tasks.len());
    let mut empty = 0;
    for task in tasks {
        let (ms, items) = task.await.unwrap();
        millis.push(ms);
        empty += usize::from(items == 0);
    }
    assert!(empty < viewers.len() / 10, "most viewers follow someone who posted ({empty} empty feeds)");
    millis.sort_by(f64::total_cmp);
    millis
}

#[tokio::main]
async fn main() {
    let mut system = TestSystem::new();
    system.start_with_callees("feed").await;
    let plan = Plan {
        users: 200,
        follows_per_user: 25,
        posts_per_user: 5,
        image_every: 0,
        likes_per_user: 0,
        conversations: 0,
        streams: 0,
        ..Plan::demo("bench")
    };
    let clients = Clients::from_peers(system.peers()).unwrap();
    let seeded = nova_seed::seed(&clients, &plan, |line| eprintln!("seed: {line}")).await.unwrap();
    let viewers: Vec<String> = seeded.users.iter().map(|u| u.id.clone()).collect();

    // Cold: every viewer's first feed (feed's clients have cached nothing for them yet), from
    // a caller without a cache. Warm in feed: the same viewers again from that caller: feed
    // answers from its cached calls to user and content. Warm in the caller: a caching
    // caller that has read each feed once.
    let uncached = system.uncached_client(FeedClient::from_peers);
    let cold = at_rate(&uncached, &viewers).await;
    let warm_feed = at_rate(&uncached, &viewers).await;
    let caching = system.client(FeedClient::from_peers);
    at_rate(&caching, &viewers).await;
    let warm_caller = at_rate(&caching, &viewers).await;

    println!(
        "\nGetFollowingFeed at {RATE}/s, {} viewers following {} authors each ({} posts in all)",
        viewers.len(),
        plan.follows_per_user,
        seeded.posts.len()
    );
    println!("{:<36} {:>9} {:>9} {:>9}", "", "p50 ms", "p95 ms", "p99 ms");
    for (name, millis) in
        [("cold (feed builds it)", &cold), ("warm in feed (caller uncached)", &warm_feed), ("warm in the caller's cache", &warm_caller)]
    {
        println!("{name:<36} {:>9.2} {:>9.2} {:>9.2}", percentile(millis, 0.5), percentile(millis, 0.95), percentile(millis, 0.99));
    }
    system.stop().await;
}
