//! The whole system, end to end: all eight services in process on loopback, each with its own
//! database, calling each other through their generated clients, one Redis prefix for the
//! test. One story, as two users live it: register, log in, set profiles, follow, post a photo,
//! find it in the feed and in search, talk, block, delete, and go live.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step is a failed test

use nova_auth::{AuthClient, pb as auth};
use nova_content::{ContentClient, pb as content};
use nova_feed::{FeedClient, pb as feed};
use nova_media::MediaClient;
use nova_messaging::{MessagingClient, pb as messaging};
use nova_search::{SearchClient, pb as search};
use nova_streaming::{StreamingClient, pb as streaming};
use nova_tests::eventually::eventually;
use nova_tests::{TestSystem, media_upload};
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

    async fn register(&self, name: &str) -> (String, String) {
        let email = format!("{name}@example.com");
        let request = auth::RegisterRequest { email: email.clone(), username: name.into(), password: "correct horse battery".into() };
        let id = self.auth.register(request).await.unwrap().user.unwrap().id;
        let login = auth::LoginRequest { email, password: "correct horse battery".into(), device: "e2e".into() };
        let token = self.auth.login(login).await.unwrap().tokens.unwrap().access_token;
        let profile = self.user.get_user_profile(user::GetUserProfileRequest { user_id: id.clone() }).await.unwrap().profile.unwrap();
        let update = user::UpdateUserProfileRequest {
            user_id: id.clone(),
            display_name: format!("{name} (e2e)"),
            bio: format!("{name}'s bio"),
            visibility: user::ProfileVisibility::Public as i32,
            version: profile.version,
            ..Default::default()
        };
        self.user.update_user_profile(update).await.unwrap();
        (id, token)
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

    async fn send(&self, sender: &str, target: messaging::send_message_request::Target, body: &str) -> Result<messaging::SendMessageResponse, tonic::Status> {
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
    let mut system = TestSystem::new();
    system.start_all().await;
    let app = App::new(&system);

    // Register and log in; tokens verify.
    let (alice, alice_token) = app.register("alice").await;
    let (bob, _) = app.register("bob").await;
    let (carol, _) = app.register("carol").await;
    let verified = app.auth.verify_token(auth::VerifyTokenRequest { access_token: alice_token }).await.unwrap();
    assert!(verified.valid && verified.user_id == alice, "{verified:?}");

    // Bob and Carol follow Alice; Alice posts a photo with a hashtag.
    for follower in [&bob, &carol] {
        app.user.follow(user::FollowRequest { follower_id: follower.clone(), followee_id: alice.clone() }).await.unwrap();
    }
    let photo = media_upload::upload_png(&app.media, &alice, &media_upload::png(64, 48)).await;
    let create = content::CreatePostRequest {
        author_id: alice.clone(),
        body: "Sunrise over the glacier #mountains".into(),
        media_ids: vec![photo.id.clone()],
        visibility: content::PostVisibility::Public as i32,
    };
    let post = app.content.create_post(create).await.unwrap().post.unwrap();
    assert_eq!(post.media_ids, vec![photo.id.clone()]);

    // The followers' feeds show it; search finds it by a word and by its hashtag.
    assert!(app.following_feed(&bob).await.contains(&post.id), "bob's following feed has alice's post");
    eventually("search finds the post by a word", || async { app.search_posts("glacier").await.contains(&post.id) }).await;
    eventually("search finds the post by its hashtag", || async { app.by_hashtag("mountains").await.contains(&post.id) }).await;

    // They message each other.
    let first = app.send(&bob, messaging::send_message_request::Target::RecipientId(alice.clone()), "nice photo!").await.unwrap();
    let conversation = first.conversation.unwrap().id;
    app.send(&alice, messaging::send_message_request::Target::ConversationId(conversation.clone()), "thanks!").await.unwrap();
    let listed = app
        .messaging
        .get_messages(messaging::GetMessagesRequest { conversation_id: conversation.clone(), requester_id: bob.clone(), page_size: 10, page_token: String::new() })
        .await
        .unwrap();
    let bodies: Vec<&str> = listed.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["thanks!", "nice photo!"], "newest first");

    // Alice blocks Bob: no more messages from him, her posts are hidden from him, and her post
    // leaves his feed (a block removes the follow).
    app.user.block(user::BlockRequest { blocker_id: alice.clone(), blocked_id: bob.clone() }).await.unwrap();
    let refused = app.send(&bob, messaging::send_message_request::Target::ConversationId(conversation.clone()), "hello?").await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let hidden = app.content.get_post(content::GetPostRequest { post_id: post.id.clone(), viewer_id: bob.clone() }).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    eventually("the blocked follower's feed drops the post", || async { !app.following_feed(&bob).await.contains(&post.id) }).await;
    assert!(app.following_feed(&carol).await.contains(&post.id), "carol still sees it");

    // Alice deletes the post: it leaves the feeds and search.
    app.content.delete_post(content::DeletePostRequest { post_id: post.id.clone(), requester_id: alice.clone() }).await.unwrap();
    eventually("the deleted post leaves carol's feed", || async { !app.following_feed(&carol).await.contains(&post.id) }).await;
    eventually("search forgets the deleted post", || async {
        !app.search_posts("glacier").await.contains(&post.id) && !app.by_hashtag("mountains").await.contains(&post.id)
    })
    .await;

    // Alice goes live: Carol watches and chats; Alice moderates; Bob (blocked) cannot chat.
    let created = app
        .streaming
        .create_live_stream(streaming::CreateLiveStreamRequest {
            creator_id: alice.clone(),
            title: "Glacier live".into(),
            visibility: streaming::StreamVisibility::Public as i32,
            chat_enabled: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let stream = created.stream.unwrap();
    let key = created.stream_key.unwrap().stream_key;
    app.streaming.start_stream(streaming::StartStreamRequest { stream_key: key }).await.unwrap();
    let view = streaming::RecordStreamViewRequest {
        viewer_session_id: uuid::Uuid::new_v4().to_string(),
        stream_id: stream.id.clone(),
        viewer_id: carol.clone(),
        client: "e2e".into(),
        ..Default::default()
    };
    app.streaming.record_stream_view(view).await.unwrap();
    let viewers = app
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
    let said = app.streaming.send_chat_message(chat(&carol, "wow")).await.unwrap().message.unwrap();
    let blocked = app.streaming.send_chat_message(chat(&bob, "hi alice")).await.unwrap_err();
    assert!(matches!(blocked.code(), Code::PermissionDenied | Code::FailedPrecondition), "{blocked:?}");
    app.streaming.delete_chat_message(streaming::DeleteChatMessageRequest { message_id: said.id.clone(), deleted_by_id: alice.clone() }).await.unwrap();

    system.stop().await;
}
