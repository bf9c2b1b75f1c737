//! Who may see a stream and who may run it: the creator alone edits, rotates the key, ends and
//! reads analytics; a FOLLOWERS_ONLY stream (and its playback address) is for the creator's
//! followers; a viewer the creator blocks sees none of their streams; lists leave out what the
//! caller may not see. Real auth, user and streaming over mutual TLS, with users' tokens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_streaming::{StreamingClient, pb};
use nova_tests::cache_probe::until;
use nova_tests::{TestSystem, TestUser};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;

struct Streams {
    system: TestSystem,
    /// The edge, anonymous; `with_token` for a user (sharing its cache).
    edge: StreamingClient,
    users: UserClient,
}

impl Streams {
    async fn start() -> Self {
        let mut system = TestSystem::new();
        system.start_with_callees(nova_streaming::SERVICE).await;
        let edge = system.client(StreamingClient::from_peers);
        let users = system.client(UserClient::from_peers);
        Streams { system, edge, users }
    }

    fn as_(&self, user: &TestUser) -> StreamingClient {
        self.edge.with_token(&user.token)
    }

    /// A stream of `creator` with `visibility`, live unless `scheduled`: (stream, its key).
    async fn stream(&self, creator: &TestUser, visibility: pb::StreamVisibility, live: bool) -> (pb::LiveStream, String) {
        let request = pb::CreateLiveStreamRequest {
            creator_id: creator.id.clone(),
            title: format!("{visibility:?}"),
            visibility: visibility as i32,
            chat_enabled: true,
            ..Default::default()
        };
        let created = self.as_(creator).create_live_stream(request).await.unwrap();
        let key = created.stream_key.unwrap().stream_key;
        let mut stream = created.stream.unwrap();
        if live {
            stream = self.edge.start_stream(pb::StartStreamRequest { stream_key: key.clone() }).await.unwrap().stream.unwrap();
        }
        (stream, key)
    }

    async fn follow(&self, follower: &TestUser, followee: &TestUser) {
        let request = user_pb::FollowRequest { follower_id: follower.id.clone(), followee_id: followee.id.clone() };
        self.users.with_token(&follower.token).follow(request).await.unwrap();
    }

    async fn block(&self, blocker: &TestUser, blocked: &TestUser) {
        let request = user_pb::BlockRequest { blocker_id: blocker.id.clone(), blocked_id: blocked.id.clone() };
        self.users.with_token(&blocker.token).block(request).await.unwrap();
    }

    async fn stop(self) {
        self.system.stop().await;
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// The codes of the creator's operations on `stream` as `client` calls them, in an order the
/// creator can follow: UpdateLiveStream (with a key rotation, at the stream's version),
/// RotateStreamKey, GetStreamAnalytics, EndStream.
async fn creator_ops(client: &StreamingClient, stream: &pb::LiveStream) -> Vec<Code> {
    let id = || stream.id.clone();
    let update = pb::UpdateLiveStreamRequest {
        stream_id: id(),
        version: stream.version,
        title: "taken over".into(),
        visibility: stream.visibility,
        chat_enabled: true,
        rotate_stream_key: true,
        ..Default::default()
    };
    vec![
        code(client.update_live_stream(update).await),
        code(client.rotate_stream_key(pb::RotateStreamKeyRequest { stream_id: id() }).await),
        code(client.get_stream_analytics(pb::GetStreamAnalyticsRequest { stream_id: id() }).await),
        code(client.end_stream(pb::EndStreamRequest { stream_id: id() }).await),
    ]
}

/// The codes of the reads of `stream` as `client` makes them: GetLiveStream, GetChatMessages,
/// GetStreamViewers.
async fn reads(client: &StreamingClient, stream: &str) -> Vec<Code> {
    let id = || stream.to_string();
    vec![
        code(client.get_live_stream(pb::GetLiveStreamRequest { stream_id: id() }).await),
        code(client.get_chat_messages(pb::GetChatMessagesRequest { stream_id: id(), ..Default::default() }).await),
        code(client.get_stream_viewers(pb::GetStreamViewersRequest { stream_id: id(), ..Default::default() }).await),
    ]
}

async fn creator_list(client: &StreamingClient, creator: &TestUser) -> Vec<String> {
    let request = pb::GetCreatorStreamsRequest { creator_id: creator.id.clone(), page_size: 100, ..Default::default() };
    client.get_creator_streams(request).await.unwrap().streams.into_iter().map(|s| s.id).collect()
}

async fn active(client: &StreamingClient) -> Vec<String> {
    let request = pb::GetActiveStreamsRequest { page_size: 100, ..Default::default() };
    client.get_active_streams(request).await.unwrap().streams.into_iter().map(|s| s.id).collect()
}

#[tokio::test]
async fn only_the_creator_rotates_the_key_ends_edits_and_reads_analytics() {
    let t = Streams::start().await;
    let ada = t.system.sign_up("ada").await;
    let bob = t.system.sign_up("bob").await;
    let (public, key) = t.stream(&ada, pb::StreamVisibility::Public, false).await;
    let (private, _) = t.stream(&ada, pb::StreamVisibility::FollowersOnly, false).await;

    // Bob sees the public stream: PERMISSION_DENIED. The followers-only one does not exist for him.
    assert_eq!(creator_ops(&t.as_(&bob), &public).await, vec![Code::PermissionDenied; 4]);
    let refused = t.as_(&bob).end_stream(pb::EndStreamRequest { stream_id: public.id.clone() }).await.unwrap_err();
    assert!(refused.message().contains("stream_id: only the creator"), "{refused:?}");
    assert_eq!(creator_ops(&t.as_(&bob), &private).await, vec![Code::NotFound; 4]);
    // Nobody signed in: refused before the handler.
    assert_eq!(creator_ops(&t.edge, &public).await, vec![Code::Unauthenticated; 4]);

    // Nothing changed: ada's key still starts her stream, untouched.
    let mut db = t.system.connect("streaming").await;
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM stream_keys WHERE stream_id = $1::uuid").bind(&public.id).fetch_one(&mut db).await.unwrap();
    assert_eq!(keys, 1, "no key was issued for bob");
    let started = t.edge.start_stream(pb::StartStreamRequest { stream_key: key }).await.unwrap().stream.unwrap();
    assert_eq!((started.title.as_str(), started.status), ("Public", pb::StreamStatus::Live as i32));

    // Ada may do all of it.
    let live = t.as_(&ada).get_live_stream(pb::GetLiveStreamRequest { stream_id: public.id.clone() }).await.unwrap().stream.unwrap();
    assert_eq!(creator_ops(&t.as_(&ada), &live).await, vec![Code::Ok; 4]);
    t.stop().await;
}

#[tokio::test]
async fn followers_only_streams_and_their_playback_addresses_are_for_followers() {
    let t = Streams::start().await;
    let ada = t.system.sign_up("ada").await;
    let bob = t.system.sign_up("bob").await;
    let cyd = t.system.sign_up("cyd").await;
    t.follow(&cyd, &ada).await;
    let (public, _) = t.stream(&ada, pb::StreamVisibility::Public, true).await;
    let (private, _) = t.stream(&ada, pb::StreamVisibility::FollowersOnly, true).await;
    let (unlisted, _) = t.stream(&ada, pb::StreamVisibility::Unlisted, true).await;

    // The creator and a follower see it, with where to play it.
    for viewer in [&ada, &cyd] {
        let seen = t.as_(viewer).get_live_stream(pb::GetLiveStreamRequest { stream_id: private.id.clone() }).await.unwrap().stream.unwrap();
        assert!(seen.playback_url.contains(&private.id), "{}: {}", viewer.name, seen.playback_url);
        assert_eq!(reads(&t.as_(viewer), &private.id).await, vec![Code::Ok; 3], "{}", viewer.name);
    }
    // Anyone else: no such stream (the same client that cached ada's and cyd's answers asks).
    assert_eq!(reads(&t.as_(&bob), &private.id).await, vec![Code::NotFound; 3]);
    let refused = t.as_(&bob).get_live_stream(pb::GetLiveStreamRequest { stream_id: private.id.clone() }).await.unwrap_err();
    assert!(refused.message().contains("stream_id: no stream"), "{refused:?}");
    // Signed out (GetStreamViewers needs a user), or a service as itself (no viewer: the anonymous audience).
    assert_eq!(reads(&t.edge, &private.id).await, vec![Code::NotFound, Code::NotFound, Code::Unauthenticated]);
    let content = t.system.service_client("content", StreamingClient::from_peers);
    assert_eq!(code(content.get_live_stream(pb::GetLiveStreamRequest { stream_id: private.id.clone() }).await), Code::NotFound);
    // The public and the unlisted stream are anyone's to watch.
    assert_eq!(reads(&t.as_(&bob), &public.id).await, vec![Code::Ok; 3]);
    assert_eq!(reads(&t.as_(&bob), &unlisted.id).await, vec![Code::Ok; 3]);

    // Lists: everything for the creator, followers-only streams for followers, unlisted ones
    // for nobody else; only public ones among the active streams.
    let newest_first = |ids: &[&pb::LiveStream]| ids.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(creator_list(&t.as_(&ada), &ada).await, newest_first(&[&unlisted, &private, &public]));
    assert_eq!(creator_list(&t.as_(&cyd), &ada).await, newest_first(&[&private, &public]));
    assert_eq!(creator_list(&t.as_(&bob), &ada).await, newest_first(&[&public]));
    assert_eq!(creator_list(&t.edge, &ada).await, newest_first(&[&public]));
    assert_eq!(active(&t.as_(&cyd)).await, newest_first(&[&public]));

    // Once bob follows, he sees it too.
    t.follow(&bob, &ada).await;
    until("bob sees the followers-only stream", || async {
        reads(&t.system.client(StreamingClient::from_peers).with_token(&bob.token), &private.id).await == vec![Code::Ok; 3]
    })
    .await;
    t.stop().await;
}

#[tokio::test]
async fn a_viewer_the_creator_blocks_sees_none_of_their_streams() {
    let t = Streams::start().await;
    let ada = t.system.sign_up("ada").await;
    let bob = t.system.sign_up("bob").await;
    let cyd = t.system.sign_up("cyd").await;
    let (adas, _) = t.stream(&ada, pb::StreamVisibility::Public, true).await;
    let (bobs, _) = t.stream(&bob, pb::StreamVisibility::Public, true).await;
    let fresh = || t.system.client(StreamingClient::from_peers).with_token(&cyd.token);
    // Before the block cyd watches ada's stream. (GetActiveStreams names no entity, so a block
    // reaches a cached list only when it expires: cyd asks for the list after the block.)
    assert_eq!(reads(&fresh(), &adas.id).await, vec![Code::Ok; 3]);

    t.block(&ada, &cyd).await;
    until("the block reaches streaming", || async { reads(&fresh(), &adas.id).await == vec![Code::NotFound; 3] }).await;
    assert_eq!(creator_list(&fresh(), &ada).await, Vec::<String>::new());
    assert_eq!(active(&fresh()).await, vec![bobs.id.clone()], "ada's stream is left out, bob's is not");
    assert_eq!(creator_ops(&fresh(), &adas).await, vec![Code::NotFound; 4]);
    // Everyone else still sees it.
    assert_eq!(reads(&t.as_(&bob), &adas.id).await, vec![Code::Ok; 3]);
    let mut everything = active(&t.edge).await;
    everything.sort();
    let mut both = vec![adas.id.clone(), bobs.id.clone()];
    both.sort();
    assert_eq!(everything, both);
    t.stop().await;
}
