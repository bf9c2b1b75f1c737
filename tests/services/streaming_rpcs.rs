//! The streaming service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`): auth, user and streaming started in that order,
//! streaming calling the other two only through their generated clients. Every call made for a
//! user carries that user's token; who may see and run a stream is tested in
//! `streaming_access.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_runtime::client::{Level, Lookup};
use nova_runtime::codegen::prost::Message;
use nova_runtime::codegen::sqlx;
use nova_runtime::rpc::RpcDescriptor;
use nova_streaming::StreamingClient;
use nova_streaming::pb;
use nova_tests::cache_probe::until;
use nova_tests::{TestSystem, TestUser};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::{Code, Status};
use uuid::Uuid;

/// streaming and its callees, with an anonymous caller of streaming and of user (the edge);
/// calls for a user go through `as_(user)`, the same caller carrying their token.
struct Streaming {
    system: TestSystem,
    streaming: StreamingClient,
    users: UserClient,
}

impl Streaming {
    async fn start() -> Self {
        let mut system = TestSystem::new();
        system.start_with_callees(nova_streaming::SERVICE).await;
        Self::around(system)
    }

    fn around(system: TestSystem) -> Self {
        let streaming = system.client(StreamingClient::from_peers);
        let users = system.client(UserClient::from_peers);
        Streaming { system, streaming, users }
    }

    async fn stop(self) {
        self.system.stop().await;
    }

    /// A caller with an empty L1 (sharing L2): what it reads right after a write is what the
    /// service holds, since a write invalidates L2 before it answers.
    fn fresh(&self) -> StreamingClient {
        self.system.client(StreamingClient::from_peers)
    }

    /// The edge carrying `user`'s token.
    fn as_(&self, user: &TestUser) -> StreamingClient {
        self.streaming.with_token(&user.token)
    }

    /// A registered (active) user, signed in.
    async fn user(&self, name: &str) -> TestUser {
        self.system.sign_up(name).await
    }

    async fn create(&self, creator: &TestUser, title: &str) -> pb::CreateLiveStreamResponse {
        self.create_with(creator, title, pb::StreamVisibility::Unspecified, true).await
    }

    async fn create_with(&self, creator: &TestUser, title: &str, visibility: pb::StreamVisibility, chat: bool) -> pb::CreateLiveStreamResponse {
        let request = pb::CreateLiveStreamRequest {
            creator_id: creator.id.clone(),
            title: title.into(),
            description: "a test stream".into(),
            visibility: visibility as i32,
            chat_enabled: chat,
            ..Default::default()
        };
        self.as_(creator).create_live_stream(request).await.unwrap()
    }

    /// A live stream of `creator`: (stream, its key).
    async fn live(&self, creator: &TestUser, visibility: pb::StreamVisibility) -> (pb::LiveStream, String) {
        let created = self.create_with(creator, "live now", visibility, true).await;
        let key = created.stream_key.unwrap().stream_key;
        let stream = self.start_with(&key).await.unwrap();
        assert_eq!(stream.status, pb::StreamStatus::Live as i32);
        (stream, key)
    }

    async fn start_with(&self, key: &str) -> Result<pb::LiveStream, Status> {
        self.streaming.start_stream(pb::StartStreamRequest { stream_key: key.into() }).await.map(|r| r.stream.unwrap())
    }

    /// Ends (or cancels) the stream as `by`.
    async fn end(&self, by: &TestUser, id: &str) -> Result<pb::LiveStream, Status> {
        self.as_(by).end_stream(pb::EndStreamRequest { stream_id: id.into() }).await.map(|r| r.stream.unwrap())
    }

    /// The stream as a fresh anonymous caller sees it.
    async fn get(&self, id: &str) -> Result<pb::LiveStream, Status> {
        self.fresh().get_live_stream(pb::GetLiveStreamRequest { stream_id: id.into() }).await.map(|r| r.stream.unwrap())
    }

    /// Opens, refreshes or closes a session, for `viewer` (with their token) or signed out.
    async fn view(&self, session: &str, stream: &str, viewer: Option<&TestUser>, ended: bool) -> Result<pb::RecordStreamViewResponse, Status> {
        let request = pb::RecordStreamViewRequest {
            viewer_session_id: session.into(),
            stream_id: stream.into(),
            viewer_id: viewer.map(|v| v.id.clone()).unwrap_or_default(),
            ended,
            client: "test".into(),
        };
        match viewer {
            Some(viewer) => self.as_(viewer).record_stream_view(request).await,
            None => self.streaming.record_stream_view(request).await,
        }
    }

    async fn chat(&self, request_id: &str, stream: &str, sender: &TestUser, body: &str) -> Result<pb::ChatMessage, Status> {
        let request =
            pb::SendChatMessageRequest { request_id: request_id.into(), stream_id: stream.into(), sender_id: sender.id.clone(), body: body.into() };
        self.as_(sender).send_chat_message(request).await.map(|r| r.message.unwrap())
    }

    /// The viewers as `by` reads them, through a fresh caller.
    async fn viewers(&self, by: &TestUser, stream: &str) -> pb::GetStreamViewersResponse {
        let request = pb::GetStreamViewersRequest { stream_id: stream.into(), ..Default::default() };
        self.fresh().with_token(&by.token).get_stream_viewers(request).await.unwrap()
    }

    /// One number read from streaming's database, the query taking the stream id as $1.
    async fn stored(&self, statement: &'static str, id: &str) -> i64 {
        let mut db = self.system.connect("streaming").await;
        sqlx::query_scalar(statement).bind(Uuid::parse_str(id).unwrap()).fetch_one(&mut db).await.unwrap()
    }

    async fn execute(&self, statement: &'static str, id: &str) -> u64 {
        let mut db = self.system.connect("streaming").await;
        sqlx::query(statement).bind(Uuid::parse_str(id).unwrap()).execute(&mut db).await.unwrap().rows_affected()
    }
}

/// The call failed with `code`, and its message names `field`.
#[track_caller]
fn assert_error<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, field: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(field), "{field} not named in {:?}", status.message());
}

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// Waits until the answer `client` cached for `request` (naming `entities`) is in Redis: from
/// then on, a caller without it in L1 would be served this answer unless a write invalidated it.
async fn until_in_l2<R: Message>(client: &StreamingClient, rpc: &RpcDescriptor, request: &R, entities: &[String]) {
    let cache = client.core().cache().unwrap();
    let key = client.core().cache_key(rpc, request, entities).unwrap();
    until(&format!("the cached answer of {} reached Redis", rpc.method), || async {
        matches!(cache.lookup_l2(&key).await.0, Lookup::Fresh(_, Level::L2))
    })
    .await;
}

// ----- lifecycle -----

#[tokio::test]
async fn streams_are_created_validated_and_edited_with_versions() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let as_ada = t.as_(&ada);
    let create = |creator: String, title: String| pb::CreateLiveStreamRequest { creator_id: creator, title, ..Default::default() };
    // A stream is created for the signed-in user only: another id (or none that parses) is
    // refused before the handler, and nobody signed in creates anything.
    assert_error(as_ada.create_live_stream(create("nope".into(), "t".into())).await, Code::PermissionDenied, "creator_id");
    assert_error(as_ada.create_live_stream(create(new_id(), "t".into())).await, Code::PermissionDenied, "creator_id");
    assert_eq!(t.streaming.create_live_stream(create(String::new(), "t".into())).await.unwrap_err().code(), Code::Unauthenticated);
    assert_error(as_ada.create_live_stream(create(ada.id.clone(), "  ".into())).await, Code::InvalidArgument, "title");
    assert_error(as_ada.create_live_stream(create(ada.id.clone(), "x".repeat(141))).await, Code::InvalidArgument, "title");
    let mut bad_visibility = create(ada.id.clone(), "t".into());
    bad_visibility.visibility = 9;
    assert_error(as_ada.create_live_stream(bad_visibility).await, Code::InvalidArgument, "visibility");
    // An empty creator_id means the caller.
    let implicit = as_ada.create_live_stream(create(String::new(), "mine".into())).await.unwrap().stream.unwrap();
    assert_eq!(implicit.creator_id, ada.id);

    let created = t.create(&ada, "first").await;
    let stream = created.stream.unwrap();
    let key = created.stream_key.unwrap();
    assert_eq!(stream.status, pb::StreamStatus::Scheduled as i32);
    assert_eq!(stream.visibility, pb::StreamVisibility::Public as i32, "UNSPECIFIED means public");
    assert!(stream.playback_url.contains(&stream.id), "{}", stream.playback_url);
    assert!(key.stream_key.starts_with("nsk_") && !key.ingest_url.is_empty());
    assert_eq!(t.get(&stream.id).await.unwrap(), stream);
    assert_error(t.get(&new_id()).await, Code::NotFound, "stream_id");
    assert_error(t.get("x").await, Code::InvalidArgument, "stream_id");

    let update = |version: i64, title: &str| pb::UpdateLiveStreamRequest {
        stream_id: stream.id.clone(),
        version,
        title: title.into(),
        description: "edited".into(),
        visibility: pb::StreamVisibility::Unlisted as i32,
        chat_enabled: false,
        ..Default::default()
    };
    let edited = as_ada.update_live_stream(update(0, "renamed")).await.unwrap();
    let edited_stream = edited.stream.unwrap();
    assert_eq!((edited_stream.title.as_str(), edited_stream.version, edited_stream.chat_enabled), ("renamed", 1, false));
    assert!(edited.stream_key.is_none(), "no rotation asked");
    assert_error(as_ada.update_live_stream(update(0, "stale")).await, Code::Aborted, "version");
    assert_error(as_ada.update_live_stream(update(1, "")).await, Code::InvalidArgument, "title");
    let mut missing = update(1, "t");
    missing.stream_id = new_id();
    assert_error(as_ada.update_live_stream(missing).await, Code::NotFound, "stream_id");
    assert_eq!(t.get(&stream.id).await.unwrap().title, "renamed", "a fresh caller sees the edit");
    t.stop().await;
}

#[tokio::test]
async fn the_lifecycle_moves_forward_only_and_its_transitions_are_idempotent() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let created = t.create(&ada, "show").await;
    let id = created.stream.unwrap().id;
    let key = created.stream_key.unwrap().stream_key;

    let live = t.start_with(&key).await.unwrap();
    assert_eq!((live.status, live.version), (pb::StreamStatus::Live as i32, 1));
    assert!(live.started_at.is_some());
    assert_eq!(t.start_with(&key).await.unwrap(), live, "starting a live stream again returns it unchanged");
    assert_error(t.start_with("").await, Code::InvalidArgument, "stream_key");
    assert_error(t.start_with("nsk_not-a-key").await, Code::PermissionDenied, "stream_key");

    // Eight concurrent ends: exactly one transition, every caller sees the ended stream.
    let ends: Vec<_> = (0..8).map(|_| t.end(&ada, &id)).collect();
    let ended: Vec<pb::LiveStream> = futures_util::future::join_all(ends).await.into_iter().map(Result::unwrap).collect();
    assert!(ended.iter().all(|s| s.status == pb::StreamStatus::Ended as i32 && s.version == 2), "{ended:#?}");
    assert_eq!(t.stored("SELECT version FROM streams WHERE id = $1", &id).await, 2, "one transition bumped the version once");
    assert_error(t.start_with(&key).await, Code::FailedPrecondition, "stream_id");
    let update = pb::UpdateLiveStreamRequest { stream_id: id.clone(), version: 2, title: "late".into(), ..Default::default() };
    assert_error(t.as_(&ada).update_live_stream(update).await, Code::FailedPrecondition, "stream_id");
    assert_error(t.end(&ada, &new_id()).await, Code::NotFound, "stream_id");

    // A stream that never went live is cancelled, and stays so.
    let other = t.create(&ada, "never").await;
    let cancelled = t.end(&ada, &other.stream.unwrap().id).await.unwrap();
    assert_eq!(cancelled.status, pb::StreamStatus::Cancelled as i32);
    assert!(cancelled.started_at.is_none() && cancelled.ended_at.is_some());
    assert_error(t.start_with(&other.stream_key.unwrap().stream_key).await, Code::FailedPrecondition, "cancelled");
    t.stop().await;
}

#[tokio::test]
async fn a_transition_reaches_callers_that_cached_the_stream_and_the_creators_list() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let created = t.create(&ada, "cached").await;
    let id = created.stream.unwrap().id;
    let get = pb::GetLiveStreamRequest { stream_id: id.clone() };
    let list = pb::GetCreatorStreamsRequest { creator_id: ada.id.clone(), ..Default::default() };
    // Client A caches both answers (L1, then L2).
    let scheduled = pb::StreamStatus::Scheduled as i32;
    assert_eq!(t.streaming.get_live_stream(get.clone()).await.unwrap().stream.unwrap().status, scheduled);
    assert_eq!(t.streaming.get_creator_streams(list.clone()).await.unwrap().streams[0].status, scheduled);
    until_in_l2(&t.streaming, &nova_streaming::rpc::GET_LIVE_STREAM, &get, std::slice::from_ref(&id)).await;
    until_in_l2(&t.streaming, &nova_streaming::rpc::GET_CREATOR_STREAMS, &list, std::slice::from_ref(&ada.id)).await;

    t.start_with(&created.stream_key.unwrap().stream_key).await.unwrap();

    // Client B has nothing in L1: without the invalidation it would get the old answers from L2.
    let live = pb::StreamStatus::Live as i32;
    let b = t.fresh();
    assert_eq!(b.get_live_stream(get.clone()).await.unwrap().stream.unwrap().status, live, "client B");
    assert_eq!(b.get_creator_streams(list.clone()).await.unwrap().streams[0].status, live, "client B, the creator's list");
    // Client A hears of it through pub/sub.
    until("client A sees the stream live", || async { t.streaming.get_live_stream(get.clone()).await.unwrap().stream.unwrap().status == live }).await;
    until("client A sees the list change", || async { t.streaming.get_creator_streams(list.clone()).await.unwrap().streams[0].status == live }).await;
    t.stop().await;
}

// ----- keys -----

#[tokio::test]
async fn a_rotated_key_is_refused_and_its_successor_accepted() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let created = t.create(&ada, "keys").await;
    let stream = created.stream.unwrap();
    let first = created.stream_key.unwrap().stream_key;

    // Stored only as a hash, never as given.
    let mut db = t.system.connect("streaming").await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT key_hash FROM stream_keys").fetch_all(&mut db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&first) && stored[0].len() == 64, "{stored:?}");

    let as_ada = t.as_(&ada);
    let rotate = |id: &str| as_ada.rotate_stream_key(pb::RotateStreamKeyRequest { stream_id: id.into() });
    let second = rotate(&stream.id).await.unwrap().stream_key.unwrap().stream_key;
    assert_ne!(second, first);
    assert_error(t.start_with(&first).await, Code::PermissionDenied, "stream_key");

    // Rotating through UpdateLiveStream, in the same transaction as an edit.
    let update = pb::UpdateLiveStreamRequest {
        stream_id: stream.id.clone(),
        version: stream.version,
        title: "keys".into(),
        rotate_stream_key: true,
        chat_enabled: true,
        ..Default::default()
    };
    let third = as_ada.update_live_stream(update).await.unwrap().stream_key.unwrap().stream_key;
    assert_error(t.start_with(&second).await, Code::PermissionDenied, "stream_key");

    // Concurrent rotations leave exactly one key in force.
    let rotations: Vec<_> = (0..6).map(|_| rotate(&stream.id)).collect();
    let keys: Vec<String> = futures_util::future::join_all(rotations).await.into_iter().map(|r| r.unwrap().stream_key.unwrap().stream_key).collect();
    assert_eq!(t.stored("SELECT count(*) FROM stream_keys WHERE stream_id = $1 AND revoked_at IS NULL", &stream.id).await, 1);
    assert_eq!(t.stored("SELECT count(*) FROM stream_keys WHERE stream_id = $1", &stream.id).await, 9, "revoked keys are kept");
    assert_error(t.start_with(&third).await, Code::PermissionDenied, "stream_key");
    let mut accepted = 0;
    for key in &keys {
        if t.start_with(key).await.is_ok() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 1, "only the last rotation's key starts the stream");

    // Starts racing rotations: each start is accepted or refused, never a deadlock (ABORTED).
    let racing = t.create(&ada, "race").await;
    let race_id = racing.stream.unwrap().id;
    let race_key = racing.stream_key.unwrap().stream_key;
    let starts: Vec<_> = (0..4).map(|_| t.start_with(&race_key)).collect();
    let rotations: Vec<_> = (0..4).map(|_| rotate(&race_id)).collect();
    let (starts, rotations) = tokio::join!(futures_util::future::join_all(starts), futures_util::future::join_all(rotations));
    for rotated in rotations {
        rotated.unwrap();
    }
    let mut started = 0;
    for start in starts {
        match start {
            Ok(stream) => {
                assert_eq!(stream.status, pb::StreamStatus::Live as i32);
                started += 1;
            }
            Err(status) => assert_eq!(status.code(), Code::PermissionDenied, "{status:?}"),
        }
    }
    let live = t.stored("SELECT count(*) FROM streams WHERE id = $1 AND status = 2", &race_id).await;
    assert_eq!(live, i64::from(started > 0), "live exactly when a start was accepted");
    assert_eq!(t.stored("SELECT count(*) FROM stream_keys WHERE stream_id = $1 AND revoked_at IS NULL", &race_id).await, 1);

    assert_error(rotate(&new_id()).await, Code::NotFound, "stream_id");
    t.end(&ada, &stream.id).await.unwrap();
    assert_error(rotate(&stream.id).await, Code::FailedPrecondition, "stream_id");
    t.stop().await;
}

// ----- viewers -----

#[tokio::test]
async fn viewer_counts_stay_exact_under_concurrent_joins_and_leaves() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let scheduled = t.create(&ada, "not yet").await.stream.unwrap();
    assert_error(t.view(&new_id(), &scheduled.id, None, false).await, Code::FailedPrecondition, "not live");
    assert_error(t.view(&new_id(), &new_id(), None, false).await, Code::NotFound, "stream_id");
    assert_error(t.view("x", &scheduled.id, None, false).await, Code::InvalidArgument, "viewer_session_id");
    let (stream, _) = t.live(&ada, pb::StreamVisibility::Public).await;

    // 20 anonymous sessions, each joining twice at once: each counts once.
    let sessions: Vec<String> = (0..20).map(|_| new_id()).collect();
    let joins: Vec<_> = sessions.iter().chain(sessions.iter()).map(|s| t.view(s, &stream.id, None, false)).collect();
    for joined in futures_util::future::join_all(joins).await {
        joined.unwrap();
    }
    let count = "SELECT current_viewer_count::bigint FROM streams WHERE id = $1";
    let open = "SELECT count(*) FROM viewer_sessions WHERE stream_id = $1 AND left_at IS NULL";
    assert_eq!((t.stored(count, &stream.id).await, t.stored(open, &stream.id).await), (20, 20));
    // A heartbeat refreshes the session and changes nothing else.
    assert_eq!(t.view(&sessions[0], &stream.id, None, false).await.unwrap().current_viewer_count, 20);

    // 8 leave, each twice at once, while 5 new ones join.
    let newcomers: Vec<String> = (0..5).map(|_| new_id()).collect();
    let leaves = sessions[..8].iter().chain(sessions[..8].iter()).map(|s| t.view(s, &stream.id, None, true));
    let more = newcomers.iter().map(|s| t.view(s, &stream.id, None, false));
    for call in futures_util::future::join_all(leaves.chain(more)).await {
        call.unwrap();
    }
    assert_eq!((t.stored(count, &stream.id).await, t.stored(open, &stream.id).await), (17, 17));
    // The peak is what the count reached: 20 at least, 25 if the newcomers came before the leaves.
    let peak = t.stored("SELECT peak_viewer_count::bigint FROM streams WHERE id = $1", &stream.id).await;
    assert!((20..=25).contains(&peak), "peak {peak}");
    assert_error(t.view(&sessions[0], &stream.id, None, false).await, Code::FailedPrecondition, "closed");
    assert_error(t.view(&sessions[19], &stream.id, Some(&bob), false).await, Code::InvalidArgument, "viewer_session_id");

    // Signed-in viewers are listed, earliest first, a page at a time.
    let bob_session = new_id();
    let ada_session = new_id();
    t.view(&bob_session, &stream.id, Some(&bob), false).await.unwrap();
    t.view(&ada_session, &stream.id, Some(&ada), false).await.unwrap();
    let as_bob = t.fresh().with_token(&bob.token);
    let first =
        as_bob.get_stream_viewers(pb::GetStreamViewersRequest { stream_id: stream.id.clone(), page_size: 1, ..Default::default() }).await.unwrap();
    assert_eq!((first.current_viewer_count, first.anonymous_viewer_count), (19, 17));
    assert_eq!(first.viewers.iter().map(|v| v.viewer_id.as_str()).collect::<Vec<_>>(), [bob.id.as_str()]);
    let request = pb::GetStreamViewersRequest { stream_id: stream.id.clone(), page_size: 1, page_token: first.next_page_token.clone() };
    let second = t.fresh().with_token(&bob.token).get_stream_viewers(request).await.unwrap();
    assert_eq!(second.viewers.iter().map(|v| v.viewer_id.as_str()).collect::<Vec<_>>(), [ada.id.as_str()]);
    assert!(second.next_page_token.is_empty());
    let request = pb::GetStreamViewersRequest { stream_id: stream.id.clone(), page_size: 1, page_token: "garbage".into() };
    assert_error(t.fresh().with_token(&bob.token).get_stream_viewers(request).await, Code::InvalidArgument, "page_token");

    // Sessions silent for over a minute stop counting (moved into the past, not waited for).
    let silenced = t
        .execute(
            "UPDATE viewer_sessions SET last_seen_at = now() - interval '2 minutes' WHERE stream_id = $1 AND viewer_id IS NULL AND left_at IS NULL",
            &stream.id,
        )
        .await;
    assert_eq!(silenced, 17);
    let after = t.viewers(&ada, &stream.id).await;
    assert_eq!((after.current_viewer_count, after.anonymous_viewer_count), (2, 0));
    assert_eq!(t.stored(count, &stream.id).await, 2);

    // The end closes every session.
    t.end(&ada, &stream.id).await.unwrap();
    assert_eq!((t.stored(count, &stream.id).await, t.stored(open, &stream.id).await), (0, 0));
    assert_eq!(t.get(&stream.id).await.unwrap().current_viewer_count, 0);
    t.stop().await;
}

// ----- who may watch and chat -----

#[tokio::test]
async fn a_viewer_the_creator_blocks_can_neither_join_nor_chat() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let (stream, _) = t.live(&ada, pb::StreamVisibility::Public).await;
    t.view(&new_id(), &stream.id, Some(&bob), false).await.unwrap();
    t.chat(&new_id(), &stream.id, &bob, "hello").await.unwrap();

    // streaming cached "not blocked" a moment ago; user's Block invalidates it.
    t.users.with_token(&ada.token).block(user_pb::BlockRequest { blocker_id: ada.id.clone(), blocked_id: bob.id.clone() }).await.unwrap();
    until("the block reaches streaming", || async {
        matches!(t.view(&new_id(), &stream.id, Some(&bob), false).await, Err(status) if status.code() == Code::PermissionDenied)
    })
    .await;
    assert_error(t.chat(&new_id(), &stream.id, &bob, "still here?").await, Code::PermissionDenied, "sender_id");
    // The creator's own chat is unaffected; a sender other than the caller is refused.
    t.chat(&new_id(), &stream.id, &ada, "welcome").await.unwrap();
    let impostor = pb::SendChatMessageRequest { request_id: new_id(), stream_id: stream.id.clone(), sender_id: new_id(), body: "who?".into() };
    assert_error(t.as_(&ada).send_chat_message(impostor).await, Code::PermissionDenied, "sender_id");

    // A followers-only stream: the signed-out and non-followers are refused, followers not.
    let cy = t.user("cyd").await;
    let (private, _) = t.live(&ada, pb::StreamVisibility::FollowersOnly).await;
    assert_error(t.view(&new_id(), &private.id, None, false).await, Code::PermissionDenied, "viewer_id");
    assert_error(t.view(&new_id(), &private.id, Some(&cy), false).await, Code::PermissionDenied, "viewer_id");
    t.users.with_token(&cy.token).follow(user_pb::FollowRequest { follower_id: cy.id.clone(), followee_id: ada.id.clone() }).await.unwrap();
    until("the follow reaches streaming", || async { t.view(&new_id(), &private.id, Some(&cy), false).await.is_ok() }).await;
    t.chat(&new_id(), &private.id, &cy, "hi").await.unwrap();
    t.stop().await;
}

#[tokio::test]
async fn with_user_down_who_may_watch_and_chat_fails_closed() {
    // auth and streaming only: user's endpoint refuses connections.
    let mut system = TestSystem::new();
    system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
    system.start(&nova_streaming::server::DESCRIPTION, nova_streaming_service::start).await;
    let t = Streaming::around(system);
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let (stream, _) = t.live(&ada, pb::StreamVisibility::Public).await;
    let session = new_id();
    assert_eq!(t.view(&session, &stream.id, Some(&bob), false).await.unwrap_err().code(), Code::Unavailable, "no answer is no permission");
    assert_eq!(t.chat(&new_id(), &stream.id, &bob, "hi").await.unwrap_err().code(), Code::Unavailable);
    assert_eq!(t.stored("SELECT count(*) FROM viewer_sessions WHERE stream_id = $1", &stream.id).await, 0);
    assert_eq!(t.stored("SELECT count(*) FROM stream_chat_messages WHERE stream_id = $1", &stream.id).await, 0);
    // Reads too: what bob may see needs the relationship, and no answer shows him nothing.
    let get = pb::GetLiveStreamRequest { stream_id: stream.id.clone() };
    assert_eq!(t.fresh().with_token(&bob.token).get_live_stream(get).await.unwrap_err().code(), Code::Unavailable);
    // What needs no relationship still works: a signed-out viewer of a public stream, the creator.
    t.get(&stream.id).await.unwrap();
    t.view(&new_id(), &stream.id, None, false).await.unwrap();
    t.chat(&new_id(), &stream.id, &ada, "still live").await.unwrap();
    t.stop().await;
}

// ----- chat -----

#[tokio::test]
async fn chat_is_retry_safe_paged_and_moderated() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let cy = t.user("cyd").await;
    let scheduled = t.create(&ada, "soon").await.stream.unwrap();
    assert_error(t.chat(&new_id(), &scheduled.id, &bob, "early").await, Code::FailedPrecondition, "not live");
    let quiet = t.create_with(&ada, "quiet", pb::StreamVisibility::Public, false).await;
    t.start_with(&quiet.stream_key.unwrap().stream_key).await.unwrap();
    assert_error(t.chat(&new_id(), &quiet.stream.unwrap().id, &bob, "hi").await, Code::FailedPrecondition, "chat is off");
    let (stream, _) = t.live(&ada, pb::StreamVisibility::Public).await;
    assert_error(t.chat(&new_id(), &stream.id, &bob, " ").await, Code::InvalidArgument, "body");
    assert_error(t.chat(&new_id(), &stream.id, &bob, &"x".repeat(501)).await, Code::InvalidArgument, "body");
    assert_error(t.chat("x", &stream.id, &bob, "hi").await, Code::InvalidArgument, "request_id");
    assert_error(t.chat(&new_id(), &new_id(), &bob, "hi").await, Code::NotFound, "stream_id");

    let mut sent = Vec::new();
    for n in 0..5 {
        sent.push(t.chat(&new_id(), &stream.id, &bob, &format!("message {n}")).await.unwrap());
    }
    // A retry answers the first message; a reused id for something else is refused.
    let retry_id = new_id();
    let once = t.chat(&retry_id, &stream.id, &cy, "once").await.unwrap();
    let retries: Vec<_> = (0..4).map(|_| t.chat(&retry_id, &stream.id, &cy, "once")).collect();
    for retried in futures_util::future::join_all(retries).await {
        assert_eq!(retried.unwrap(), once);
    }
    assert_error(t.chat(&retry_id, &stream.id, &cy, "other").await, Code::AlreadyExists, "request_id");
    assert_eq!(t.stored("SELECT count(*) FROM stream_chat_messages WHERE stream_id = $1", &stream.id).await, 6);

    // Newest first, two at a time.
    let page = |token: String| pb::GetChatMessagesRequest { stream_id: stream.id.clone(), page_size: 2, page_token: token };
    let mut bodies = Vec::new();
    let mut token = String::new();
    loop {
        let response = t.fresh().get_chat_messages(page(token)).await.unwrap();
        bodies.extend(response.messages.into_iter().map(|m| m.body));
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
    }
    assert_eq!(bodies, ["once", "message 4", "message 3", "message 2", "message 1", "message 0"]);
    assert_error(t.fresh().get_chat_messages(page("garbage".into())).await, Code::InvalidArgument, "page_token");
    let unknown = pb::GetChatMessagesRequest { stream_id: new_id(), ..Default::default() };
    assert_error(t.fresh().get_chat_messages(unknown).await, Code::NotFound, "stream_id");

    // Deleted by the sender, or by the stream's creator; nobody else.
    let delete = |message: &str, by: &TestUser| {
        let (client, request) = (t.as_(by), pb::DeleteChatMessageRequest { message_id: message.into(), deleted_by_id: by.id.clone() });
        async move { client.delete_chat_message(request).await }
    };
    assert_error(delete(&sent[0].id, &cy).await, Code::PermissionDenied, "deleted_by_id");
    // Nor in another's name: the deleter is the caller.
    let in_bobs_name = pb::DeleteChatMessageRequest { message_id: sent[0].id.clone(), deleted_by_id: bob.id.clone() };
    assert_error(t.as_(&cy).delete_chat_message(in_bobs_name).await, Code::PermissionDenied, "deleted_by_id");
    let first = delete(&sent[0].id, &bob).await.unwrap().deleted_at;
    assert_eq!(delete(&sent[0].id, &bob).await.unwrap().deleted_at, first, "deleting again answers the first deletion");
    delete(&sent[1].id, &ada).await.unwrap();
    assert_error(delete(&new_id(), &ada).await, Code::NotFound, "message_id");
    let left: Vec<String> = t.fresh().get_chat_messages(page(String::new())).await.unwrap().messages.into_iter().map(|m| m.body).collect();
    assert_eq!(left, ["once", "message 4"]);
    let all = pb::GetChatMessagesRequest { stream_id: stream.id.clone(), page_size: 10, ..Default::default() };
    assert_eq!(t.fresh().get_chat_messages(all).await.unwrap().messages.len(), 4, "deleted messages are left out");

    // The rate limit: a sender who posted 30 messages in the last minute must wait.
    let flood = "INSERT INTO stream_chat_messages (request_id, stream_id, sender_id, body) \
         SELECT gen_random_uuid(), $1, (SELECT sender_id FROM stream_chat_messages WHERE body = 'once'), 'flood' FROM generate_series(1, 29)";
    assert_eq!(t.execute(flood, &stream.id).await, 29);
    assert_error(t.chat(&new_id(), &stream.id, &cy, "one more").await, Code::ResourceExhausted, "sender_id");
    t.chat(&new_id(), &stream.id, &bob, "others still can").await.unwrap();
    t.stop().await;
}

// ----- events and analytics -----

#[tokio::test]
async fn views_chat_and_events_add_up_in_the_analytics() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let (stream, _) = t.live(&ada, pb::StreamVisibility::Public).await;
    let event =
        |kind: pb::StreamEventType| pb::RecordStreamEventRequest { stream_id: stream.id.clone(), event_type: kind as i32, ..Default::default() };
    for kind in [pb::StreamEventType::Reaction, pb::StreamEventType::Reaction, pb::StreamEventType::Reaction, pb::StreamEventType::Share] {
        t.streaming.record_stream_event(event(kind)).await.unwrap();
    }
    assert_error(t.streaming.record_stream_event(event(pb::StreamEventType::Unspecified)).await, Code::InvalidArgument, "event_type");
    let mut old = event(pb::StreamEventType::Share);
    old.occurred_at = Some(nova_runtime::codegen::prost_types::Timestamp { seconds: 1_000_000, nanos: 0 });
    assert_error(t.streaming.record_stream_event(old).await, Code::InvalidArgument, "occurred_at");
    let mut unknown = event(pb::StreamEventType::Share);
    unknown.stream_id = new_id();
    assert_error(t.streaming.record_stream_event(unknown).await, Code::NotFound, "stream_id");

    let (a, b, c) = (new_id(), new_id(), new_id());
    t.view(&a, &stream.id, Some(&bob), false).await.unwrap();
    t.view(&b, &stream.id, Some(&bob), false).await.unwrap();
    t.view(&c, &stream.id, None, false).await.unwrap();
    t.view(&a, &stream.id, Some(&bob), true).await.unwrap();
    t.chat(&new_id(), &stream.id, &bob, "hi").await.unwrap();
    t.chat(&new_id(), &stream.id, &ada, "hello").await.unwrap();
    t.end(&ada, &stream.id).await.unwrap();

    let request = pb::GetStreamAnalyticsRequest { stream_id: stream.id.clone() };
    let analytics = t.fresh().with_token(&ada.token).get_stream_analytics(request).await.unwrap().analytics.unwrap();
    assert_eq!((analytics.total_views, analytics.unique_viewers, analytics.peak_concurrent_viewers), (3, 1, 3));
    assert_eq!((analytics.chat_message_count, analytics.reaction_count, analytics.share_count), (2, 3, 1));
    assert!(analytics.live_duration.is_some() && analytics.average_watch_time.is_some());
    let sum = |f: fn(&pb::StreamMetricsBucket) -> i64| analytics.timeline.iter().map(f).sum::<i64>();
    assert_eq!((sum(|m| m.reaction_count), sum(|m| m.share_count), sum(|m| m.chat_message_count)), (3, 1, 2));
    assert_eq!(analytics.timeline.iter().map(|m| m.viewer_count).max(), Some(3), "the minute's highest concurrent count");
    let missing = pb::GetStreamAnalyticsRequest { stream_id: new_id() };
    assert_error(t.fresh().with_token(&ada.token).get_stream_analytics(missing).await, Code::NotFound, "stream_id");
    t.stop().await;
}

// ----- lists -----

#[tokio::test]
async fn active_and_creator_streams_are_keyset_paged() {
    let t = Streaming::start().await;
    let ada = t.user("ada").await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(t.create(&ada, &format!("stream {n}")).await);
    }
    let key = |n: usize| created[n].stream_key.clone().unwrap().stream_key;
    let id = |n: usize| created[n].stream.clone().unwrap().id;
    for n in [1, 2] {
        t.start_with(&key(n)).await.unwrap();
    }
    // One more live stream, not public: never listed as active.
    let (hidden, _) = t.live(&ada, pb::StreamVisibility::Unlisted).await;
    t.view(&new_id(), &id(1), None, false).await.unwrap();

    let active = |token: String| pb::GetActiveStreamsRequest { page_size: 1, page_token: token };
    let first = t.fresh().get_active_streams(active(String::new())).await.unwrap();
    let second = t.fresh().get_active_streams(active(first.next_page_token.clone())).await.unwrap();
    let listed: Vec<String> = first.streams.iter().chain(second.streams.iter()).map(|s| s.id.clone()).collect();
    assert_eq!(listed, [id(1), id(2)], "most watched first");
    assert!(second.next_page_token.is_empty());
    assert!(!listed.contains(&hidden.id));
    assert_error(t.fresh().get_active_streams(active("garbage".into())).await, Code::InvalidArgument, "page_token");

    // The creator's own list holds every stream, unlisted ones too.
    let by =
        |statuses: Vec<i32>, token: String| pb::GetCreatorStreamsRequest { creator_id: ada.id.clone(), statuses, page_size: 2, page_token: token };
    let as_ada = || t.fresh().with_token(&ada.token);
    let mut ids = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    let mut first_token = String::new();
    loop {
        let response = as_ada().get_creator_streams(by(vec![], token)).await.unwrap();
        ids.extend(response.streams.into_iter().map(|s| s.id));
        pages += 1;
        if pages == 1 {
            first_token = response.next_page_token.clone();
        }
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
    }
    assert_eq!(ids, [hidden.id.clone(), id(4), id(3), id(2), id(1), id(0)], "newest first");
    assert_eq!(pages, 3);
    let live_only = as_ada().get_creator_streams(by(vec![pb::StreamStatus::Live as i32], String::new())).await.unwrap();
    assert_eq!(live_only.streams.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), [hidden.id.clone(), id(2)]);
    let other_filter = by(vec![pb::StreamStatus::Scheduled as i32], first_token);
    assert_error(as_ada().get_creator_streams(other_filter).await, Code::InvalidArgument, "page_token");
    assert_error(t.fresh().get_creator_streams(by(vec![42], String::new())).await, Code::InvalidArgument, "statuses");
    // Anyone else's list leaves the unlisted stream out, and pages stay full.
    let anonymous = t.fresh().get_creator_streams(by(vec![], String::new())).await.unwrap();
    assert_eq!(anonymous.streams.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), [id(4), id(3)]);
    let malformed = pb::GetCreatorStreamsRequest { creator_id: "ada".into(), ..Default::default() };
    assert_error(t.fresh().get_creator_streams(malformed).await, Code::InvalidArgument, "creator_id");
    t.stop().await;
}
