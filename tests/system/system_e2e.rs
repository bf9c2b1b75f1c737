//! The whole system, end to end: all eight services in process on loopback, each with its own
//! database, calling each other through their generated clients over mutual TLS, one Redis
//! prefix for the test. One story, as its users live it through the edge, each call carrying
//! the acting user's token: register, log in, set profiles, follow, post a photo, find it in
//! the feed and in search, talk, block, delete, and go live; and a third user who tries to act
//! for the others, and is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

use nova_auth::{AuthClient, pb as auth};
use nova_content::{ContentClient, pb as content};
use nova_feed::{FeedClient, pb as feed};
use nova_media::MediaClient;
use nova_messaging::{MessagingClient, pb as messaging};
use nova_search::{SearchClient, pb as search};
use nova_streaming::{StreamingClient, pb as streaming};
use nova_tests::eventually::eventually;
use nova_tests::{TestSystem, TestUser, media_upload};
use nova_user::{UserClient, pb as user};
use tonic::Code;

struct App {
    auth: AuthClient,
    user: UserClient,
    media: MediaClient,
    content: ContentClient,
    messaging: MessagingClient,
    /// Feed and search are read without a cache of the test's own, so that what is checked is
    /// what the services answer, not what this caller remembers.
    feed: FeedClient,
    search: SearchClient,
    streaming: StreamingClient,
}

impl App {
    /// The same clients (sharing their caches) acting for `user`, as the edge does.
    fn as_user(&self, user: &TestUser) -> App {
        App {
            auth: self.auth.with_token(&user.token),
            user: self.user.with_token(&user.token),
            media: self.media.with_token(&user.token),
            content: self.content.with_token(&user.token),
            messaging: self.messaging.with_token(&user.token),
            feed: self.feed.with_token(&user.token),
            search: self.search.with_token(&user.token),
            streaming: self.streaming.with_token(&user.token),
        }
    }

    fn new(system: &TestSystem) -> Self {
        App {
            auth: system.client(AuthClient::from_peers),
            user: system.client(UserClient::from_peers),
            media: system.client(MediaClient::from_peers),
            content: system.client(ContentClient::from_peers),
            messaging: system.client(MessagingClient::from_peers),
            feed: system.uncached_client(FeedClient::from_peers),
            search: system.uncached_client(SearchClient::from_peers),
            streaming: system.client(StreamingClient::from_peers),
        }
    }

    /// Registers and signs in `name`, and sets their profile as them.
    async fn register(&self, system: &TestSystem, name: &str) -> TestUser {
        let signed_in = system.sign_up(name).await;
        let me = self.as_user(&signed_in);
        let id = signed_in.id.clone();
        let profile = me.user.get_user_profile(user::GetUserProfileRequest { user_id: id.clone() }).await.unwrap().profile.unwrap();
        let update = user::UpdateUserProfileRequest {
            user_id: id.clone(),
            display_name: format!("{name} (e2e)"),
            bio: format!("{name}'s bio"),
            visibility: user::ProfileVisibility::Public as i32,
            version: profile.version,
            ..Default::default()
        };
        me.user.update_user_profile(update).await.unwrap();
        signed_in
    }

    async fn following_feed(&self, viewer: &str) -> Vec<String> {
        let request = feed::GetFollowingFeedRequest { user_id: viewer.into(), page_size: 50, page_token: String::new() };
        self.feed.get_following_feed(request).await.unwrap().items.into_iter().map(|item| item.post_id).collect()
    }

    async fn search_posts(&self, query: &str) -> Vec<String> {
        let request = search::SearchPostsRequest { query: query.into(), page_size: 20, ..Default::default() };
        self.search.search_posts(request).await.unwrap().posts.into_iter().map(|hit| hit.post_id).collect()
    }

    async fn by_hashtag(&self, tag: &str) -> Vec<String> {
        let request = search::GetPostsByHashtagRequest { tag: tag.into(), page_size: 20, page_token: String::new() };
        self.search.get_posts_by_hashtag(request).await.unwrap().posts.into_iter().map(|hit| hit.post_id).collect()
    }

    async fn send(
        &self,
        sender: &str,
        target: messaging::send_message_request::Target,
        body: &str,
    ) -> Result<messaging::SendMessageResponse, tonic::Status> {
        let request = messaging::SendMessageRequest {
            sender_id: sender.into(),
            target: Some(target),
            kind: messaging::MessageKind::Text as i32,
            body: body.into(),
            ..Default::default()
        };
        self.messaging.send_message(request).await
    }
}

#[tokio::test]
async fn two_users_live_a_day_on_nova() {
    let mut system = TestSystem::new().with_events();
    system.start_all().await;
    let edge = App::new(&system);

    // Register and log in; tokens verify.
    let alice = edge.register(&system, "alice").await;
    let bob = edge.register(&system, "bob").await;
    let carol = edge.register(&system, "carol").await;
    let mallory = edge.register(&system, "mallory").await;
    let (as_alice, as_bob, as_carol, as_mallory) = (edge.as_user(&alice), edge.as_user(&bob), edge.as_user(&carol), edge.as_user(&mallory));
    let verified = edge.auth.verify_token(auth::VerifyTokenRequest { access_token: alice.token.clone() }).await.unwrap();
    assert!(verified.valid && verified.user_id == alice.id, "{verified:?}");

    // Bob and Carol follow Alice; Alice posts a photo with a hashtag.
    for follower in [&as_bob, &as_carol] {
        follower.user.follow(user::FollowRequest { follower_id: String::new(), followee_id: alice.id.clone() }).await.unwrap();
    }
    let photo = media_upload::upload_png(&as_alice.media, &alice.id, &media_upload::png(64, 48)).await;
    let create = content::CreatePostRequest {
        author_id: alice.id.clone(),
        body: "Sunrise over the glacier #mountains".into(),
        media_ids: vec![photo.id.clone()],
        visibility: content::PostVisibility::Public as i32,
    };
    let post = as_alice.content.create_post(create).await.unwrap().post.unwrap();
    assert_eq!(post.media_ids, vec![photo.id.clone()]);

    // Mallory cannot post as Alice, nor delete her post, nor make Bob follow anyone.
    let forged = content::CreatePostRequest { author_id: alice.id.clone(), body: "not alice".into(), ..Default::default() };
    assert_eq!(as_mallory.content.create_post(forged).await.unwrap_err().code(), Code::PermissionDenied);
    let deletion = content::DeletePostRequest { post_id: post.id.clone(), requester_id: String::new() };
    assert!(as_mallory.content.delete_post(deletion).await.is_err(), "mallory deleted alice's post");
    let follow = user::FollowRequest { follower_id: bob.id.clone(), followee_id: mallory.id.clone() };
    assert_eq!(as_mallory.user.follow(follow).await.unwrap_err().code(), Code::PermissionDenied);

    // The followers' feeds show it; search finds it by a word and by its hashtag.
    assert!(as_bob.following_feed(&bob.id).await.contains(&post.id), "bob's following feed has alice's post");
    eventually("search finds the post by a word", || async { edge.search_posts("glacier").await.contains(&post.id) }).await;
    eventually("search finds the post by its hashtag", || async { edge.by_hashtag("mountains").await.contains(&post.id) }).await;

    // They message each other; nobody else reads the conversation.
    let first = as_bob.send(&bob.id, messaging::send_message_request::Target::RecipientId(alice.id.clone()), "nice photo!").await.unwrap();
    let conversation = first.conversation.unwrap().id;
    as_alice.send(&alice.id, messaging::send_message_request::Target::ConversationId(conversation.clone()), "thanks!").await.unwrap();
    let read = |requester: &str| messaging::GetMessagesRequest {
        conversation_id: conversation.clone(),
        requester_id: requester.into(),
        page_size: 10,
        page_token: String::new(),
    };
    let listed = as_bob.messaging.get_messages(read(&bob.id)).await.unwrap();
    let bodies: Vec<&str> = listed.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["thanks!", "nice photo!"], "newest first");
    assert_eq!(as_mallory.messaging.get_messages(read(&bob.id)).await.unwrap_err().code(), Code::PermissionDenied, "mallory cannot claim to be bob");
    assert!(as_mallory.messaging.get_messages(read(&mallory.id)).await.is_err(), "mallory is no member");
    assert_eq!(edge.messaging.get_messages(read("")).await.unwrap_err().code(), Code::Unauthenticated, "nobody signed in");

    // Alice blocks Bob: no more messages from him, her posts are hidden from him, and her post
    // leaves his feed (a block removes the follow).
    as_alice.user.block(user::BlockRequest { blocker_id: alice.id.clone(), blocked_id: bob.id.clone() }).await.unwrap();
    let refused = as_bob.send(&bob.id, messaging::send_message_request::Target::ConversationId(conversation.clone()), "hello?").await.unwrap_err();
    assert!(matches!(refused.code(), Code::FailedPrecondition | Code::PermissionDenied), "{refused:?}");
    let hidden = as_bob.content.get_post(content::GetPostRequest { post_id: post.id.clone(), viewer_id: bob.id.clone() }).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    eventually("the blocked follower's feed drops the post", || async { !as_bob.following_feed(&bob.id).await.contains(&post.id) }).await;
    assert!(as_carol.following_feed(&carol.id).await.contains(&post.id), "carol still sees it");

    // Alice deletes the post: it leaves the feeds and search.
    as_alice.content.delete_post(content::DeletePostRequest { post_id: post.id.clone(), requester_id: alice.id.clone() }).await.unwrap();
    eventually("the deleted post leaves carol's feed", || async { !as_carol.following_feed(&carol.id).await.contains(&post.id) }).await;
    eventually("search forgets the deleted post", || async {
        !edge.search_posts("glacier").await.contains(&post.id) && !edge.by_hashtag("mountains").await.contains(&post.id)
    })
    .await;

    // Alice goes live: Carol watches and chats; Alice moderates; Bob (blocked) cannot chat;
    // Mallory cannot take the stream over.
    let created = as_alice
        .streaming
        .create_live_stream(streaming::CreateLiveStreamRequest {
            creator_id: alice.id.clone(),
            title: "Glacier live".into(),
            visibility: streaming::StreamVisibility::Public as i32,
            chat_enabled: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let stream = created.stream.unwrap();
    let key = created.stream_key.unwrap().stream_key;
    edge.streaming.start_stream(streaming::StartStreamRequest { stream_key: key }).await.unwrap();
    assert!(
        as_mallory.streaming.rotate_stream_key(streaming::RotateStreamKeyRequest { stream_id: stream.id.clone() }).await.is_err(),
        "mallory took the stream key"
    );
    let view = streaming::RecordStreamViewRequest {
        viewer_session_id: uuid::Uuid::new_v4().to_string(),
        stream_id: stream.id.clone(),
        viewer_id: carol.id.clone(),
        client: "e2e".into(),
        ..Default::default()
    };
    as_carol.streaming.record_stream_view(view).await.unwrap();
    let viewers = as_alice
        .streaming
        .get_stream_viewers(streaming::GetStreamViewersRequest { stream_id: stream.id.clone(), page_size: 10, page_token: String::new() })
        .await
        .unwrap();
    assert_eq!(viewers.current_viewer_count, 1, "{viewers:?}");
    let chat = |sender: &str, body: &str| streaming::SendChatMessageRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        stream_id: stream.id.clone(),
        sender_id: sender.into(),
        body: body.into(),
    };
    let said = as_carol.streaming.send_chat_message(chat(&carol.id, "wow")).await.unwrap().message.unwrap();
    let blocked = as_bob.streaming.send_chat_message(chat(&bob.id, "hi alice")).await.unwrap_err();
    assert!(matches!(blocked.code(), Code::PermissionDenied | Code::FailedPrecondition), "{blocked:?}");
    as_alice
        .streaming
        .delete_chat_message(streaming::DeleteChatMessageRequest { message_id: said.id.clone(), deleted_by_id: alice.id.clone() })
        .await
        .unwrap();

    system.stop().await;
}
