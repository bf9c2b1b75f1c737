//! Fault isolation across the whole system: all eight services in process, every service,
//! database and Redis behind a proxy of the test's own (`TestSystem::with_faults`), and a
//! bounded load loop of one read per service while one thing is broken:
//! - content is down: feed keeps answering from what its clients cached (stale-if-error),
//!   a feed that needs content fails fast, and feed recovers by itself once content is back;
//! - auth is down: its own RPCs fail, but every other service keeps verifying tokens with the
//!   keys and revocations it already has (within its staleness bound), so signed-in calls to
//!   them keep working; VerifyToken answers fail closed;
//! - Redis is down: every service keeps answering without L2;
//! - content's database is down: only content and reads that need it uncached degrade.
//!
//! Success per service is printed for each fault (BENCHMARKS.md records a run).
//! Each fault on a system of its own, started healthy: the figures (and the breakers) of one
//! fault never mix with another's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

use std::collections::BTreeMap;
use std::time::Instant;

use nova_auth::{AuthClient, pb as auth};
use nova_content::{ContentClient, pb as content};
use nova_feed::{FeedClient, pb as feed};
use nova_media::{MediaClient, pb as media};
use nova_messaging::{MessagingClient, pb as messaging};
use nova_search::{SearchClient, pb as search};
use nova_streaming::{StreamingClient, pb as streaming};
use nova_tests::eventually::eventually;
use nova_tests::system::Fault;
use nova_tests::{TestSystem, media_upload};
use nova_user::{UserClient, pb as user};
use tonic::Code;

/// Rounds of the load loop per phase: each round reads once from every service, through a
/// caching caller and through an uncached one.
const ROUNDS: usize = 20;

/// One caller per service: `cached` caches as the generated policy says (L1 + L2),
/// `uncached` reaches the service on every call.
#[derive(Clone)]
struct Callers {
    auth: AuthClient,
    user: UserClient,
    media: MediaClient,
    content: ContentClient,
    messaging: MessagingClient,
    feed: FeedClient,
    search: SearchClient,
    streaming: StreamingClient,
}

impl Callers {
    fn new(system: &TestSystem, cached: bool) -> Self {
        let build = |s: &TestSystem| Callers {
            auth: if cached { s.client(AuthClient::from_peers) } else { s.uncached_client(AuthClient::from_peers) },
            user: if cached { s.client(UserClient::from_peers) } else { s.uncached_client(UserClient::from_peers) },
            media: if cached { s.client(MediaClient::from_peers) } else { s.uncached_client(MediaClient::from_peers) },
            content: if cached { s.client(ContentClient::from_peers) } else { s.uncached_client(ContentClient::from_peers) },
            messaging: if cached { s.client(MessagingClient::from_peers) } else { s.uncached_client(MessagingClient::from_peers) },
            feed: if cached { s.client(FeedClient::from_peers) } else { s.uncached_client(FeedClient::from_peers) },
            search: if cached { s.client(SearchClient::from_peers) } else { s.uncached_client(SearchClient::from_peers) },
            streaming: if cached { s.client(StreamingClient::from_peers) } else { s.uncached_client(StreamingClient::from_peers) },
        };
        build(system)
    }
}

/// What the reads are about: a small world made through the public RPCs.
struct World {
    alice: String,
    bob: String,
    carol: String,
    /// Registered, never posted or read before a fault: what feed knows nothing about.
    newcomer: String,
    /// Each user's access token: every call acting as a user carries it (through the edge).
    alice_token: String,
    bob_token: String,
    carol_token: String,
    newcomer_token: String,
    post: String,
    photo: String,
    conversation: String,
    stream: String,
}

/// One service's answers in one phase.
#[derive(Debug, Default)]
struct Count {
    ok: usize,
    failed: Vec<Code>,
    /// The first failure's message, for the report.
    first: Option<String>,
}

/// Each service's answers in one phase.
type Tally = BTreeMap<&'static str, Count>;

async fn one_read_each(callers: &Callers, world: &World, tally: &mut Tally) {
    let outcomes: [(&'static str, Result<(), tonic::Status>); 8] = [
        ("auth", callers.auth.get_user(auth::GetUserRequest { user_id: world.alice.clone() }).await.map(drop)),
        ("user", callers.user.get_user_profile(user::GetUserProfileRequest { user_id: world.bob.clone() }).await.map(drop)),
        ("media", callers.media.with_token(&world.alice_token).get_media(media::GetMediaRequest { media_id: world.photo.clone() }).await.map(drop)),
        (
            "content",
            callers
                .content
                .with_token(&world.carol_token)
                .get_post(content::GetPostRequest { post_id: world.post.clone(), viewer_id: world.carol.clone() })
                .await
                .map(drop),
        ),
        (
            "messaging",
            callers
                .messaging
                .with_token(&world.bob_token)
                .get_conversation(messaging::GetConversationRequest { conversation_id: world.conversation.clone(), requester_id: world.bob.clone() })
                .await
                .map(drop),
        ),
        (
            "feed",
            callers
                .feed
                .with_token(&world.carol_token)
                .get_following_feed(feed::GetFollowingFeedRequest { user_id: world.carol.clone(), page_size: 20, page_token: String::new() })
                .await
                .map(drop),
        ),
        (
            "search",
            callers.search.search_posts(search::SearchPostsRequest { query: "glacier".into(), page_size: 10, ..Default::default() }).await.map(drop),
        ),
        ("streaming", callers.streaming.get_live_stream(streaming::GetLiveStreamRequest { stream_id: world.stream.clone() }).await.map(drop)),
    ];
    for (service, outcome) in outcomes {
        let entry = tally.entry(service).or_default();
        match outcome {
            Ok(()) => entry.ok += 1,
            Err(status) => {
                entry.failed.push(status.code());
                entry.first.get_or_insert_with(|| status.message().to_string());
            }
        }
    }
}

/// `ROUNDS` rounds through both callers: (uncached tally, cached tally).
async fn load(uncached: &Callers, cached: &Callers, world: &World) -> (Tally, Tally) {
    let (mut direct, mut through_caches) = (Tally::new(), Tally::new());
    for _ in 0..ROUNDS {
        one_read_each(uncached, world, &mut direct).await;
        one_read_each(cached, world, &mut through_caches).await;
    }
    (direct, through_caches)
}

fn report(fault: &str, direct: &Tally, cached: &Tally) {
    println!("\n{fault}: RPC success per service over {ROUNDS} reads each");
    println!("  {:<10} {:>9} {:>13}  failures (uncached)", "service", "uncached", "through cache");
    for (service, count) in direct {
        let (ok, failed) = (&count.ok, &count.failed);
        let through = cached.get(service).map_or(0, |c| c.ok);
        let percent = |n: usize| 100.0 * n as f64 / ROUNDS as f64;
        let mut codes: Vec<String> = failed.iter().map(|c| format!("{c:?}")).collect();
        codes.dedup();
        println!("  {service:<10} {:>8.0}% {:>12.0}%  {}", percent(*ok), percent(through), codes.join(" "));
    }
    for (service, count) in direct {
        if let Some(message) = &count.first {
            println!("  first failure of {service}: {message}");
        }
    }
}

/// Calls to `target` that open circuit breakers of this process rejected without sending them
/// (the figure is process-wide: run with `--test-threads 1` to read one test's).
fn breaker_rejections(target: &str) -> f64 {
    nova_tests::metrics::sum(&nova_runtime::metrics::render(), "grpc_client_circuit_breaker_rejected_total", &[("target", target)])
}

/// Waits until one read of every service succeeds through an uncached caller: the fault is
/// over for everyone (every breaker that opened during it has closed again), so the next fault's
/// figures are its own.
async fn recovered(callers: &Callers, world: &World) {
    eventually("every service answers again", || async {
        let mut tally = Tally::new();
        one_read_each(callers, world, &mut tally).await;
        tally.values().all(|count| count.ok == 1 && count.failed.is_empty())
    })
    .await;
}

fn all_ok(tally: &Tally, service: &str) -> bool {
    tally.get(service).is_some_and(|count| count.ok == ROUNDS && count.failed.is_empty())
}

fn none_ok(tally: &Tally, service: &str, code: Code) -> bool {
    tally.get(service).is_some_and(|count| count.ok == 0 && count.failed.iter().all(|c| *c == code))
}

async fn build_world(system: &TestSystem) -> World {
    let c = Callers::new(system, true);
    let (alice, bob, carol, newcomer) =
        (system.sign_up("alice").await, system.sign_up("bob").await, system.sign_up("carol").await, system.sign_up("newcomer").await);
    for follower in [&bob, &carol, &newcomer] {
        c.user
            .with_token(&follower.token)
            .follow(user::FollowRequest { follower_id: follower.id.clone(), followee_id: alice.id.clone() })
            .await
            .unwrap();
    }
    // The newcomer's authors (alice and bob) are a set no other feed asks content for.
    c.user.with_token(&newcomer.token).follow(user::FollowRequest { follower_id: newcomer.id.clone(), followee_id: bob.id.clone() }).await.unwrap();
    let photo = media_upload::upload_png(&c.media.with_token(&alice.token), &alice.id, &media_upload::png(32, 32)).await.id;
    let create = content::CreatePostRequest {
        author_id: alice.id.clone(),
        body: "Sunrise over the glacier #mountains".into(),
        media_ids: vec![photo.clone()],
        visibility: content::PostVisibility::Public as i32,
    };
    let post = c.content.with_token(&alice.token).create_post(create).await.unwrap().post.unwrap().id;
    let sent = c
        .messaging
        .with_token(&bob.token)
        .send_message(messaging::SendMessageRequest {
            sender_id: bob.id.clone(),
            target: Some(messaging::send_message_request::Target::RecipientId(alice.id.clone())),
            kind: messaging::MessageKind::Text as i32,
            body: "hello".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let conversation = sent.conversation.unwrap().id;
    let stream = c
        .streaming
        .with_token(&alice.token)
        .create_live_stream(streaming::CreateLiveStreamRequest {
            creator_id: alice.id.clone(),
            title: "live".into(),
            visibility: streaming::StreamVisibility::Public as i32,
            chat_enabled: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .stream
        .unwrap()
        .id;
    let world = World {
        alice: alice.id,
        bob: bob.id,
        carol: carol.id,
        newcomer: newcomer.id,
        alice_token: alice.token,
        bob_token: bob.token,
        carol_token: carol.token,
        newcomer_token: newcomer.token,
        post,
        photo,
        conversation,
        stream,
    };
    let search = system.uncached_client(SearchClient::from_peers);
    eventually("search has indexed the post", || async {
        let request = search::SearchPostsRequest { query: "glacier".into(), page_size: 10, ..Default::default() };
        search.search_posts(request).await.is_ok_and(|r| r.posts.iter().any(|hit| hit.post_id == world.post))
    })
    .await;
    world
}

/// A fresh system (all eight services behind fault proxies), its world, and its callers,
/// checked healthy: every read of every service succeeds, which also warms the caches.
struct Scene {
    system: TestSystem,
    world: World,
    uncached: Callers,
    cached: Callers,
}

const EVERY: [&str; 8] = ["auth", "user", "media", "content", "messaging", "feed", "search", "streaming"];

impl Scene {
    async fn healthy(name: &str) -> Self {
        let mut system = TestSystem::with_faults().await.with_events();
        system.start_all().await;
        let world = build_world(&system).await;
        let (uncached, cached) = (Callers::new(&system, false), Callers::new(&system, true));
        let (direct, through) = load(&uncached, &cached, &world).await;
        report(&format!("{name}: before the fault"), &direct, &through);
        for service in EVERY {
            assert!(all_ok(&direct, service), "healthy {service}: {:?}", direct.get(service));
        }
        Scene { system, world, uncached, cached }
    }

    /// Breaks `fault`, runs the load loop, reports it: the tallies (uncached, through caches).
    async fn during(&self, name: &str, fault: Fault) -> (Tally, Tally) {
        self.system.break_(fault);
        let (direct, through) = load(&self.uncached, &self.cached, &self.world).await;
        report(name, &direct, &through);
        (direct, through)
    }

    async fn end(self, fault: Fault) {
        self.system.repair(fault);
        recovered(&self.uncached, &self.world).await;
        self.system.stop().await;
    }
}

/// Every service but `affected` answered every read, uncached.
fn unaffected(direct: &Tally, affected: &[&str], fault: &str) {
    for service in EVERY.iter().filter(|s| !affected.contains(s)) {
        assert!(all_ok(direct, service), "{fault}, {service}: {:?}", direct.get(service));
    }
}

#[tokio::test]
async fn content_down_feed_answers_from_its_caches_and_recovers_by_itself() {
    let scene = Scene::healthy("content down").await;
    let rejected_before = breaker_rejections("content");
    let (direct, through) = scene.during("content down", Fault::Service("content")).await;
    assert!(none_ok(&direct, "content", Code::Unavailable), "content down answers UNAVAILABLE: {:?}", direct.get("content"));
    assert!(all_ok(&through, "content"), "cached GetPost is served (stale-if-error): {:?}", through.get("content"));
    assert!(all_ok(&direct, "feed"), "feed answers from what its clients cached: {:?}", direct.get("feed"));
    unaffected(&direct, &["content"], "content down");

    // A feed that feed has never built needs content: it fails, fast, until content is back;
    // then feed recovers by itself (its breaker to content closes after a probe).
    let (world, uncached) = (&scene.world, &scene.uncached);
    let newcomer_feed = || {
        let request = feed::GetFollowingFeedRequest { user_id: world.newcomer.clone(), page_size: 5, page_token: String::new() };
        let feed = uncached.feed.with_token(&world.newcomer_token);
        async move { feed.get_following_feed(request).await }
    };
    let refused = newcomer_feed().await.map(drop).unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "a feed that needs content while it is down: {refused:?}");
    println!("  calls to content an open breaker rejected during the outage: {}", breaker_rejections("content") - rejected_before);
    scene.system.repair(Fault::Service("content"));
    let back = Instant::now();
    eventually("feed recovers by itself once content is back", || async { newcomer_feed().await.is_ok() }).await;
    println!("  content back: feed built the new feed {} ms later", back.elapsed().as_millis());
    scene.end(Fault::Service("content")).await;
}

#[tokio::test]
async fn auth_down_tokens_fail_closed_and_profiles_keep_being_read() {
    let scene = Scene::healthy("auth down").await;
    let token = scene.world.alice_token.clone();
    let (direct, _) = scene.during("auth down", Fault::Service("auth")).await;
    assert!(none_ok(&direct, "auth", Code::Unavailable), "auth down answers UNAVAILABLE: {:?}", direct.get("auth"));
    assert!(all_ok(&direct, "user"), "profiles keep being read: {:?}", direct.get("user"));
    unaffected(&direct, &["auth"], "auth down");
    let verify = scene.uncached.auth.verify_token(auth::VerifyTokenRequest { access_token: token.clone() }).await;
    assert_eq!(verify.map(drop).unwrap_err().code(), Code::Unavailable, "token verification fails closed");
    let fresh = scene.system.client(AuthClient::from_peers);
    let verify = fresh.verify_token(auth::VerifyTokenRequest { access_token: token }).await;
    assert!(verify.is_err(), "a caller that never verified this token gets no answer from a cache: {verify:?}");
    scene.end(Fault::Service("auth")).await;
}

#[tokio::test]
async fn redis_down_every_service_answers_without_l2() {
    let scene = Scene::healthy("Redis down").await;
    let (direct, through) = scene.during("Redis down", Fault::Redis).await;
    for service in EVERY {
        assert!(all_ok(&direct, service), "Redis down, {service}: {:?}", direct.get(service));
        assert!(all_ok(&through, service), "Redis down, {service} through a cache: {:?}", through.get(service));
    }
    scene.end(Fault::Redis).await;
}

#[tokio::test]
async fn a_database_down_degrades_only_its_service() {
    let scene = Scene::healthy("content's database down").await;
    let (direct, through) = scene.during("content's database down", Fault::Database("content")).await;
    assert!(none_ok(&direct, "content", Code::Unavailable), "content without its database: {:?}", direct.get("content"));
    assert!(all_ok(&through, "content"), "cached GetPost is served: {:?}", through.get("content"));
    assert!(all_ok(&direct, "feed"), "feed answers from its clients' caches: {:?}", direct.get("feed"));
    unaffected(&direct, &["content"], "content's database down");
    scene.end(Fault::Database("content")).await;
}
