//! The content service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`): auth, media, user and content started in that
//! order, content calling the others only through their generated clients; every call made
//! for a user carries that user's token (see tests/services/content_harness.rs). Who may see and do
//! what is tested in tests/security/content_access.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use crate::content_harness::{Content, assert_error, code, ids, unknown};
use nova_content::ContentClient;
use nova_content::pb;
use nova_runtime::codegen::sqlx;
use nova_tests::eventually::until_answered;
use nova_tests::{TestSystem, TestUser};
use tonic::Code;
use uuid::Uuid;

// ----- posts -----

#[tokio::test]
async fn posts_are_created_read_listed_and_paged() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let as_ada = t.as_user(&ada);
    let first = t.post(&ada, "first").await;
    assert_eq!((first.author_id.as_str(), first.body.as_str(), first.version), (ada.id.as_str(), "first", 0));
    assert_eq!(first.visibility, pb::PostVisibility::Public as i32, "UNSPECIFIED would mean PUBLIC too");
    let second = t.post_with(&ada, "second", pb::PostVisibility::Followers).await;
    let third = t.post_with(&ada, "third", pb::PostVisibility::Private).await;
    let bobs = t.post(&bob, "bob's").await;

    assert_eq!(t.get(&ada, &first.id).await.unwrap(), first);
    assert!(as_ada.check_post_exists(pb::CheckPostExistsRequest { post_id: first.id.clone() }).await.unwrap().exists);
    assert!(!as_ada.check_post_exists(pb::CheckPostExistsRequest { post_id: unknown() }).await.unwrap().exists);

    let missing = unknown();
    let batch = as_ada
        .get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: vec![third.id.clone(), missing.clone(), first.id.clone(), third.id.clone()] })
        .await
        .unwrap();
    assert_eq!(ids(&batch.posts), [third.id.as_str(), first.id.as_str()], "in the order asked, once each");
    assert_eq!(batch.missing_post_ids, [missing]);

    // By author, newest first, two pages; the author sees every visibility of her own.
    let page = |token: String, visibilities: Vec<i32>| pb::GetPostsByAuthorRequest {
        author_id: ada.id.clone(),
        visibilities,
        page_size: 2,
        page_token: token,
        viewer_id: String::new(),
    };
    let one = as_ada.get_posts_by_author(page(String::new(), vec![])).await.unwrap();
    assert_eq!(ids(&one.posts), [third.id.as_str(), second.id.as_str()]);
    let two = as_ada.get_posts_by_author(page(one.next_page_token.clone(), vec![])).await.unwrap();
    assert_eq!(ids(&two.posts), [first.id.as_str()]);
    assert!(two.next_page_token.is_empty());
    let public = as_ada.get_posts_by_author(page(String::new(), vec![pb::PostVisibility::Public as i32])).await.unwrap();
    assert_eq!(public.posts, std::slice::from_ref(&first));
    // A token of one filter does not page another.
    assert_error(
        as_ada.get_posts_by_author(page(one.next_page_token.clone(), vec![pb::PostVisibility::Public as i32])).await,
        Code::InvalidArgument,
        "page_token",
    );
    assert_error(as_ada.get_posts_by_author(page(String::new(), vec![0])).await, Code::InvalidArgument, "visibilities");
    assert_error(
        as_ada.get_posts_by_author(pb::GetPostsByAuthorRequest { page_size: -1, ..page(String::new(), vec![]) }).await,
        Code::InvalidArgument,
        "page_size",
    );

    // The feed, as the feed service asks for it by itself: public and followers-only posts of
    // the authors, newest first, paged.
    let as_feed = t.as_service("feed");
    let feed = |token: String| pb::GetFeedPostsRequest { author_ids: vec![ada.id.clone(), bob.id.clone()], page_size: 2, page_token: token };
    let one = as_feed.get_feed_posts(feed(String::new())).await.unwrap();
    let two = as_feed.get_feed_posts(feed(one.next_page_token.clone())).await.unwrap();
    let listed: Vec<&str> = one.posts.iter().chain(two.posts.iter()).map(|p| p.id.as_str()).collect();
    assert_eq!(listed, [bobs.id.as_str(), second.id.as_str(), first.id.as_str()], "private posts never reach a feed");
    assert!(two.next_page_token.is_empty());
    let too_many: Vec<String> = (0..501).map(|_| unknown()).collect();
    assert_error(
        as_feed.get_feed_posts(pb::GetFeedPostsRequest { author_ids: too_many, page_size: 0, page_token: String::new() }).await,
        Code::InvalidArgument,
        "author_ids",
    );
    assert_error(
        as_feed.get_feed_posts(pb::GetFeedPostsRequest { author_ids: vec!["x".into()], page_size: 0, page_token: String::new() }).await,
        Code::InvalidArgument,
        "author_ids",
    );
    assert_error(as_feed.get_feed_posts(feed("garbage".into())).await, Code::InvalidArgument, "page_token");

    assert_error(t.get(&ada, &unknown()).await, Code::NotFound, "post_id");
    assert_error(t.get(&ada, "nope").await, Code::InvalidArgument, "post_id");
    // The viewer is the caller: a malformed (or another user's) viewer_id is refused.
    assert_error(
        as_ada.get_post(pb::GetPostRequest { post_id: first.id.clone(), viewer_id: "nope".into() }).await,
        Code::PermissionDenied,
        "viewer_id",
    );
    assert_error(
        as_ada.get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: (0..101).map(|_| unknown()).collect() }).await,
        Code::InvalidArgument,
        "post_ids",
    );
    assert_error(as_ada.check_post_exists(pb::CheckPostExistsRequest { post_id: "x".into() }).await, Code::InvalidArgument, "post_id");
    t.stop().await;
}

#[tokio::test]
async fn create_post_refuses_bad_input_and_unknown_or_inactive_authors() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let as_ada = t.as_user(&ada);
    let create = |author: &str, body: &str, media: Vec<String>, visibility: i32| pb::CreatePostRequest {
        author_id: author.into(),
        body: body.into(),
        media_ids: media,
        visibility,
    };
    // The author is the caller: another id, or none signed in, is refused before anything.
    assert_error(as_ada.create_post(create("x", "hi", vec![], 0)).await, Code::PermissionDenied, "author_id");
    assert_error(as_ada.create_post(create(&unknown(), "hi", vec![], 0)).await, Code::PermissionDenied, "author_id");
    assert_eq!(code(t.content.create_post(create("", "hi", vec![], 0)).await), Code::Unauthenticated);
    let ada_id = ada.id.as_str();
    assert_error(as_ada.create_post(create(ada_id, "  ", vec![], 0)).await, Code::InvalidArgument, "body");
    assert_error(as_ada.create_post(create(ada_id, &"é".repeat(2201), vec![], 0)).await, Code::InvalidArgument, "body");
    assert_error(as_ada.create_post(create(ada_id, "nul\0", vec![], 0)).await, Code::InvalidArgument, "body");
    assert_error(as_ada.create_post(create(ada_id, "hi", (0..11).map(|_| unknown()).collect(), 0)).await, Code::InvalidArgument, "media_ids");
    let twice = unknown();
    assert_error(as_ada.create_post(create(ada_id, "hi", vec![twice.clone(), twice], 0)).await, Code::InvalidArgument, "media_ids");
    assert_error(as_ada.create_post(create(ada_id, "hi", vec!["x".into()], 0)).await, Code::InvalidArgument, "media_ids");
    assert_error(as_ada.create_post(create(ada_id, "hi", vec![], 99)).await, Code::InvalidArgument, "visibility");
    assert_eq!(t.count("SELECT count(*) FROM posts WHERE id <> $1", &unknown()).await, 0, "nothing stored");
    // An empty author_id is the caller.
    let own = as_ada.create_post(create("", "mine", vec![], 0)).await.unwrap().post.unwrap();
    assert_eq!(own.author_id, ada.id);

    // Accounts changed in auth's own database (before content ever read them): their tokens
    // still verify, content asks auth about the author.
    let locked = t.user("locked").await;
    let gone = t.user("gone").await;
    t.sql("auth", "UPDATE users SET status = 2 WHERE username = 'locked'").await;
    t.sql("auth", "UPDATE users SET status = 3, deleted_at = now() WHERE username = 'gone'").await;
    assert_error(t.as_user(&locked).create_post(create(&locked.id, "hi", vec![], 0)).await, Code::FailedPrecondition, "author_id");
    assert_error(t.as_user(&gone).create_post(create(&gone.id, "hi", vec![], 0)).await, Code::NotFound, "author_id");
    assert_eq!(t.count("SELECT count(*) FROM posts WHERE id <> $1", &own.id).await, 0, "nothing else stored");
    t.stop().await;
}

#[tokio::test]
async fn update_post_checks_author_and_version() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let (as_ada, as_bob) = (t.as_user(&ada), t.as_user(&bob));
    let post = t.post(&ada, "draft").await;
    let update = |requester: &str, body: &str, visibility: pb::PostVisibility, version: i64| pb::UpdatePostRequest {
        post_id: post.id.clone(),
        requester_id: requester.into(),
        body: body.into(),
        visibility: visibility as i32,
        version,
    };
    let edited = as_ada.update_post(update(&ada.id, "final", pb::PostVisibility::Unspecified, 0)).await.unwrap().post.unwrap();
    assert_eq!(
        (edited.body.as_str(), edited.version, edited.visibility),
        ("final", 1, pb::PostVisibility::Public as i32),
        "UNSPECIFIED keeps the visibility"
    );
    // Bob sees the public post but did not write it; his token cannot act as ada either.
    assert_error(as_bob.update_post(update(&bob.id, "mine now", pb::PostVisibility::Unspecified, 1)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_bob.update_post(update(&ada.id, "mine now", pb::PostVisibility::Unspecified, 1)).await, Code::PermissionDenied, "requester_id");
    let private = as_ada.update_post(update("", "final", pb::PostVisibility::Private, 1)).await.unwrap().post.unwrap();
    assert_eq!((private.version, private.visibility), (2, pb::PostVisibility::Private as i32), "an empty requester_id is the caller");

    assert_error(as_ada.update_post(update(&ada.id, "stale", pb::PostVisibility::Unspecified, 1)).await, Code::Aborted, "version");
    // Private now: to bob it does not exist.
    assert_error(as_bob.update_post(update(&bob.id, "mine now", pb::PostVisibility::Unspecified, 2)).await, Code::NotFound, "post_id");
    assert_error(as_ada.update_post(update(&ada.id, "", pb::PostVisibility::Unspecified, 2)).await, Code::InvalidArgument, "body");
    assert_error(
        as_ada.update_post(pb::UpdatePostRequest { post_id: unknown(), ..update(&ada.id, "a", pb::PostVisibility::Unspecified, 2) }).await,
        Code::NotFound,
        "post_id",
    );
    assert_error(
        as_ada.update_post(pb::UpdatePostRequest { post_id: "x".into(), ..update(&ada.id, "a", pb::PostVisibility::Unspecified, 2) }).await,
        Code::InvalidArgument,
        "post_id",
    );
    assert_eq!(t.get(&ada, &post.id).await.unwrap().body, "final", "refused updates changed nothing");

    as_ada.delete_post(pb::DeletePostRequest { post_id: post.id.clone(), requester_id: ada.id.clone() }).await.unwrap();
    assert_error(as_ada.update_post(update(&ada.id, "zombie", pb::PostVisibility::Unspecified, 2)).await, Code::NotFound, "post_id");
    t.stop().await;
}

/// What `client`'s cache would serve for `request` (about `post`) without calling: its bytes
/// while fresh.
async fn cached<R: nova_runtime::codegen::prost::Message>(
    client: &ContentClient,
    rpc: &nova_runtime::rpc::RpcDescriptor,
    request: &R,
    post: &str,
) -> Option<Vec<u8>> {
    let key = client.core().cache_key(rpc, request, &[post.to_string()]).unwrap();
    match client.core().cache().unwrap().lookup(&key).await {
        nova_runtime::client::Lookup::Fresh(bytes, _) => Some(bytes.to_vec()),
        _ => None,
    }
}

/// Waits until `client`'s cache no longer serves `old` for `request`: the owner's
/// invalidation, recorded in Redis when the write returned, reaches another process's L1 over
/// pub/sub, so its copy may lag by the delivery (see `nova_runtime::client::cache`). Waiting
/// for that event, never for a time; a copy never dropped fails the test (at the safety
/// timeout, far before the entry's TTL would drop it).
async fn until_dropped<R: nova_runtime::codegen::prost::Message>(
    client: &ContentClient,
    rpc: &nova_runtime::rpc::RpcDescriptor,
    request: &R,
    post: &str,
    old: &[u8],
) {
    nova_tests::cache_probe::until(&format!("the client's cached {} is dropped", rpc.method), || async {
        cached(client, rpc, request, post).await.as_deref() != Some(old)
    })
    .await;
}

#[tokio::test]
async fn a_cached_post_is_fresh_after_a_write_through_every_client() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let post = t.post(&ada, "before").await;
    // Two callers (each its own L1) reading as bob.
    let a = t.system.client(ContentClient::from_peers).with_token(&bob.token);
    let read = |client: &ContentClient| {
        let client = client.clone();
        let id = post.id.clone();
        async move { client.get_post(pb::GetPostRequest { post_id: id, viewer_id: String::new() }).await.unwrap().post.unwrap() }
    };
    assert_eq!(read(&a).await.body, "before");
    assert_eq!(read(&a).await.body, "before", "served from A's cache");
    let get = pb::GetPostRequest { post_id: post.id.clone(), viewer_id: String::new() };
    let before = cached(&a, &nova_content::rpc::GET_POST, &get, &post.id).await.unwrap();

    t.as_user(&ada)
        .update_post(pb::UpdatePostRequest {
            post_id: post.id.clone(),
            requester_id: ada.id.clone(),
            body: "after".into(),
            visibility: 0,
            version: 0,
        })
        .await
        .unwrap();
    let b = t.system.client(ContentClient::from_peers).with_token(&bob.token);
    assert_eq!(read(&b).await.body, "after", "a fresh client B");
    until_dropped(&a, &nova_content::rpc::GET_POST, &get, &post.id, &before).await;
    assert_eq!(read(&a).await.body, "after", "A's cached copy was invalidated");

    // Counters too: a like reaches the cached client.
    let unliked = cached(&a, &nova_content::rpc::GET_POST, &get, &post.id).await.unwrap();
    t.as_user(&bob).like_post(pb::LikePostRequest { post_id: post.id.clone(), user_id: bob.id.clone() }).await.unwrap();
    until_dropped(&a, &nova_content::rpc::GET_POST, &get, &post.id, &unliked).await;
    assert_eq!(read(&a).await.like_count, 1);
    let exists = |client: &ContentClient| {
        let client = client.clone();
        let id = post.id.clone();
        async move { client.check_post_exists(pb::CheckPostExistsRequest { post_id: id }).await.unwrap().exists }
    };
    assert!(exists(&a).await);
    let check = pb::CheckPostExistsRequest { post_id: post.id.clone() };
    let existing = cached(&a, &nova_content::rpc::CHECK_POST_EXISTS, &check, &post.id).await.unwrap();
    t.as_user(&ada).delete_post(pb::DeletePostRequest { post_id: post.id.clone(), requester_id: ada.id.clone() }).await.unwrap();
    until_dropped(&a, &nova_content::rpc::CHECK_POST_EXISTS, &check, &post.id, &existing).await;
    assert!(!exists(&a).await, "the cached existence check was invalidated");
    let gone = a.get_post(pb::GetPostRequest { post_id: post.id.clone(), viewer_id: String::new() }).await;
    assert_error(gone, Code::NotFound, "post_id");
    t.stop().await;
}

#[tokio::test]
async fn a_deleted_post_disappears_from_every_read() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let (as_ada, as_bob) = (t.as_user(&ada), t.as_user(&bob));
    let kept = t.post(&ada, "kept").await;
    let post = t.post(&ada, "doomed").await;
    let id = post.id.clone();
    as_bob.like_post(pb::LikePostRequest { post_id: id.clone(), user_id: bob.id.clone() }).await.unwrap();
    let comment = pb::CreateCommentRequest { post_id: id.clone(), author_id: ada.id.clone(), body: "note".into(), parent_comment_id: String::new() };
    let comment = as_ada.create_comment(comment).await.unwrap().comment.unwrap();
    as_ada.share_post(pb::SharePostRequest { post_id: id.clone(), user_id: ada.id.clone(), quote: String::new() }).await.unwrap();
    for post_id in [&kept.id, &id] {
        as_bob
            .bookmark_post(pb::BookmarkPostRequest { user_id: bob.id.clone(), post_id: post_id.clone(), collection_id: String::new() })
            .await
            .unwrap();
    }

    let delete = |post_id: &str| pb::DeletePostRequest { post_id: post_id.into(), requester_id: ada.id.clone() };
    assert_error(as_ada.delete_post(delete(&unknown())).await, Code::NotFound, "post_id");
    assert_error(as_ada.delete_post(delete("x")).await, Code::InvalidArgument, "post_id");
    let deleted = as_ada.delete_post(delete(&id)).await.unwrap();
    let again = as_ada.delete_post(delete(&id)).await.unwrap();
    assert!(deleted.deleted_at.is_some());
    assert_eq!(deleted, again, "idempotent: the first deletion time, nothing changed");

    // Gone for everyone: its author, another user, nobody signed in, feed as itself.
    for client in [&as_ada, &as_bob, &t.content] {
        let gone = client.get_post(pb::GetPostRequest { post_id: id.clone(), viewer_id: String::new() }).await;
        assert_error(gone, Code::NotFound, "post_id");
        assert!(!client.check_post_exists(pb::CheckPostExistsRequest { post_id: id.clone() }).await.unwrap().exists);
    }
    let batch = t.as_service("feed").get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: vec![id.clone()] }).await.unwrap();
    assert!(batch.posts.is_empty() && batch.missing_post_ids == [id.clone()]);
    let by_author = pb::GetPostsByAuthorRequest {
        author_id: ada.id.clone(),
        visibilities: vec![],
        page_size: 0,
        page_token: String::new(),
        viewer_id: String::new(),
    };
    assert_eq!(as_ada.get_posts_by_author(by_author).await.unwrap().posts, std::slice::from_ref(&kept));
    let feed = t
        .as_service("feed")
        .get_feed_posts(pb::GetFeedPostsRequest { author_ids: vec![ada.id.clone()], page_size: 0, page_token: String::new() })
        .await
        .unwrap();
    assert_eq!(feed.posts, std::slice::from_ref(&kept));
    assert_error(as_bob.like_post(pb::LikePostRequest { post_id: id.clone(), user_id: bob.id.clone() }).await, Code::NotFound, "post_id");
    assert_error(
        as_ada.list_post_likes(pb::ListPostLikesRequest { post_id: id.clone(), page_size: 0, page_token: String::new() }).await,
        Code::NotFound,
        "post_id",
    );
    let comments = pb::ListCommentsRequest { post_id: id.clone(), page_size: 0, page_token: String::new(), viewer_id: String::new() };
    assert_error(as_ada.list_comments(comments).await, Code::NotFound, "post_id");
    let replies = pb::ListCommentRepliesRequest { comment_id: comment.id.clone(), page_size: 0, page_token: String::new() };
    assert_error(as_ada.list_comment_replies(replies).await, Code::NotFound, "comment_id");
    assert_error(
        as_ada.list_post_shares(pb::ListPostSharesRequest { post_id: id.clone(), page_size: 0, page_token: String::new() }).await,
        Code::NotFound,
        "post_id",
    );
    let comment_on_it =
        pb::CreateCommentRequest { post_id: id.clone(), author_id: ada.id.clone(), body: "late".into(), parent_comment_id: String::new() };
    assert_error(as_ada.create_comment(comment_on_it).await, Code::NotFound, "post_id");
    let bookmarks = as_bob
        .list_bookmarks(pb::ListBookmarksRequest { user_id: bob.id.clone(), collection_id: String::new(), page_size: 0, page_token: String::new() })
        .await
        .unwrap();
    let saved: Vec<&str> = bookmarks.bookmarks.iter().map(|b| b.post.as_ref().unwrap().id.as_str()).collect();
    assert_eq!(saved, [kept.id.as_str()]);
    assert_error(
        as_bob.bookmark_post(pb::BookmarkPostRequest { user_id: bob.id.clone(), post_id: id.clone(), collection_id: String::new() }).await,
        Code::NotFound,
        "post_id",
    );
    assert_error(
        as_ada.share_post(pb::SharePostRequest { post_id: id.clone(), user_id: ada.id.clone(), quote: String::new() }).await,
        Code::NotFound,
        "post_id",
    );
    t.stop().await;
}

// ----- likes -----

#[tokio::test]
async fn likes_are_idempotent_per_user_and_listed() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let as_ada = t.as_user(&ada);
    let post = t.post(&ada, "likeable").await;
    let users: Vec<TestUser> = vec![t.user("liker1").await, t.user("liker2").await, t.user("liker3").await];
    let like = |user: &TestUser| {
        let (client, request) = (t.as_user(user), pb::LikePostRequest { post_id: post.id.clone(), user_id: user.id.clone() });
        async move { client.like_post(request).await }
    };
    // An empty user_id is the caller.
    let unlike = |user: &TestUser| {
        let (client, request) = (t.as_user(user), pb::UnlikePostRequest { post_id: post.id.clone(), user_id: String::new() });
        async move { client.unlike_post(request).await }
    };

    assert_eq!(like(&users[0]).await.unwrap().like_count, 1);
    assert_eq!(like(&users[0]).await.unwrap().like_count, 1, "a retry counts once");
    assert_eq!(like(&users[1]).await.unwrap().like_count, 2);
    assert_eq!(like(&users[2]).await.unwrap().like_count, 3);
    assert_eq!(t.count("SELECT count(*) FROM likes WHERE post_id = $1", &post.id).await, 3);

    // Anyone may list the likes of a public post, signed in or not.
    let page = |token: String| pb::ListPostLikesRequest { post_id: post.id.clone(), page_size: 2, page_token: token };
    let one = t.content.list_post_likes(page(String::new())).await.unwrap();
    let two = t.content.list_post_likes(page(one.next_page_token.clone())).await.unwrap();
    let likers: Vec<&str> = one.likes.iter().chain(two.likes.iter()).map(|l| l.user_id.as_str()).collect();
    assert_eq!(likers, [users[2].id.as_str(), users[1].id.as_str(), users[0].id.as_str()], "most recent first");
    assert!(two.next_page_token.is_empty());

    assert_eq!(unlike(&users[1]).await.unwrap().like_count, 2);
    assert_eq!(unlike(&users[1]).await.unwrap().like_count, 2, "a retry removes nothing more");
    assert_eq!(unlike(&ada).await.unwrap().like_count, 2, "unliking what was never liked changes nothing");
    assert_eq!(t.get(&ada, &post.id).await.unwrap().like_count, 2);
    assert_eq!(t.count("SELECT like_count FROM posts WHERE id = $1", &post.id).await, 2);

    // One user cannot like (or unlike) for another, nor can nobody.
    let for_ada = pb::LikePostRequest { post_id: post.id.clone(), user_id: ada.id.clone() };
    assert_error(t.as_user(&users[0]).like_post(for_ada.clone()).await, Code::PermissionDenied, "user_id");
    assert_error(
        t.as_user(&users[0]).like_post(pb::LikePostRequest { user_id: "x".into(), ..for_ada.clone() }).await,
        Code::PermissionDenied,
        "user_id",
    );
    assert_eq!(code(t.content.like_post(pb::LikePostRequest { user_id: String::new(), ..for_ada.clone() }).await), Code::Unauthenticated);
    let unlike_for_bob = pb::UnlikePostRequest { post_id: post.id.clone(), user_id: users[0].id.clone() };
    assert_error(as_ada.unlike_post(unlike_for_bob).await, Code::PermissionDenied, "user_id");
    assert_eq!(t.count("SELECT like_count FROM posts WHERE id = $1", &post.id).await, 2, "refused calls changed nothing");

    assert_error(as_ada.like_post(pb::LikePostRequest { post_id: unknown(), user_id: ada.id.clone() }).await, Code::NotFound, "post_id");
    assert_error(as_ada.unlike_post(pb::UnlikePostRequest { post_id: unknown(), user_id: ada.id.clone() }).await, Code::NotFound, "post_id");
    assert_error(as_ada.unlike_post(pb::UnlikePostRequest { post_id: "x".into(), user_id: ada.id.clone() }).await, Code::InvalidArgument, "post_id");
    assert_error(
        as_ada.list_post_likes(pb::ListPostLikesRequest { post_id: unknown(), page_size: 0, page_token: String::new() }).await,
        Code::NotFound,
        "post_id",
    );
    assert_error(as_ada.list_post_likes(page("bogus".into())).await, Code::InvalidArgument, "page_token");
    t.stop().await;
}

/// LikePost until it answers: 64 concurrent calls on one post (each like locks the post's row
/// to count it) may outwait the pool or the deadline on a loaded machine, and LikePost is
/// IDEMPOTENT, so a retry is what a real caller does (and a like that committed before its
/// answer was lost still counts once).
async fn like_until_answered(client: &ContentClient, request: pb::LikePostRequest) -> i64 {
    until_answered("LikePost", || client.like_post(request.clone())).await.like_count
}

#[tokio::test]
async fn thirty_two_concurrent_likes_count_exactly() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let post = t.post(&ada, "viral").await;
    // 32 signed-in likers, each liking with their own token.
    let mut likers = Vec::new();
    for n in 0..32 {
        likers.push(t.user(&format!("liker{n}")).await);
    }
    let mut counts = Vec::new();
    // Two waves of 32 concurrent calls: 32 different users, then the same 32 again (retries).
    for _wave in 0..2 {
        let calls: Vec<_> = likers
            .iter()
            .map(|user| {
                let client = t.as_user(user);
                let request = pb::LikePostRequest { post_id: post.id.clone(), user_id: user.id.clone() };
                tokio::spawn(async move { like_until_answered(&client, request).await })
            })
            .collect();
        for call in calls {
            counts.push(call.await.unwrap());
        }
    }
    assert!(counts[32..].iter().all(|c| *c == 32), "the second wave changes nothing: {counts:?}");
    assert!(counts.iter().all(|c| (1..=32).contains(c)), "{counts:?}");
    assert_eq!(t.count("SELECT like_count FROM posts WHERE id = $1", &post.id).await, 32);
    assert_eq!(t.count("SELECT count(*) FROM likes WHERE post_id = $1", &post.id).await, 32);
    t.stop().await;
}

// ----- who sees what (content -> user, content -> auth) -----

#[tokio::test]
async fn visibility_follows_follows_and_blocks_even_with_a_warm_relationship_cache() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let fan = t.user("fan").await;
    let stranger = t.user("stranger").await;
    let (as_fan, as_stranger) = (t.as_user(&fan), t.as_user(&stranger));
    let public = t.post(&ada, "hello world").await;
    let followers = t.post_with(&ada, "friends only", pb::PostVisibility::Followers).await;
    let private = t.post_with(&ada, "diary", pb::PostVisibility::Private).await;
    t.follow(&fan, &ada).await;

    for (post, fan_sees, stranger_sees) in [(&public, true, true), (&followers, true, false), (&private, false, false)] {
        assert_eq!(t.get(&fan, &post.id).await.is_ok(), fan_sees, "{}", post.body);
        assert_eq!(t.get(&stranger, &post.id).await.is_ok(), stranger_sees, "{}", post.body);
        assert!(t.get(&ada, &post.id).await.is_ok(), "the author sees every post");
    }
    assert_error(t.get(&stranger, &private.id).await, Code::NotFound, "post_id");
    let by_author = || pb::GetPostsByAuthorRequest {
        author_id: ada.id.clone(),
        visibilities: vec![],
        page_size: 0,
        page_token: String::new(),
        viewer_id: String::new(),
    };
    // These reads also warm content's cache of user's CheckUserRelationship for both viewers.
    let fan_list = as_fan.get_posts_by_author(by_author()).await.unwrap();
    assert_eq!(ids(&fan_list.posts), [followers.id.as_str(), public.id.as_str()]);
    let stranger_list = as_stranger.get_posts_by_author(by_author()).await.unwrap();
    assert_eq!(stranger_list.posts, std::slice::from_ref(&public));
    let only_private = pb::GetPostsByAuthorRequest { visibilities: vec![pb::PostVisibility::Private as i32], ..by_author() };
    assert!(as_fan.get_posts_by_author(only_private).await.unwrap().posts.is_empty());
    let comment = |author: &TestUser| pb::CreateCommentRequest {
        post_id: public.id.clone(),
        author_id: author.id.clone(),
        body: "nice".into(),
        parent_comment_id: String::new(),
    };
    as_fan.create_comment(comment(&fan)).await.unwrap();
    let later = t.post(&ada, "after the block").await;

    // The author blocks the fan: at once the fan sees nothing and cannot comment or share.
    t.block(&ada, &fan).await;
    assert_error(t.get(&fan, &later.id).await, Code::NotFound, "post_id");
    assert_error(as_fan.get_posts_by_author(by_author()).await, Code::NotFound, "author_id");
    assert_error(as_fan.create_comment(comment(&fan)).await, Code::NotFound, "post_id");
    assert_error(
        as_fan.share_post(pb::SharePostRequest { post_id: later.id.clone(), user_id: fan.id.clone(), quote: String::new() }).await,
        Code::NotFound,
        "post_id",
    );
    let comments = || pb::ListCommentsRequest { post_id: public.id.clone(), page_size: 0, page_token: String::new(), viewer_id: String::new() };
    assert_error(as_fan.list_comments(comments()).await, Code::NotFound, "post_id");
    assert_eq!(as_stranger.list_comments(comments()).await.unwrap().comments.len(), 1, "others still see the thread");

    // A block the other way hides the author's posts just the same.
    t.block(&stranger, &ada).await;
    assert_error(t.get(&stranger, &later.id).await, Code::NotFound, "post_id");
    assert_error(as_stranger.get_posts_by_author(by_author()).await, Code::NotFound, "author_id");
    t.stop().await;
}

// ----- comments -----

#[tokio::test]
async fn comments_are_threaded_paged_counted_and_soft_deleted() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let cy = t.user("cyril").await;
    let (as_ada, as_bob, as_cy) = (t.as_user(&ada), t.as_user(&bob), t.as_user(&cy));
    let post = t.post(&ada, "discuss").await;
    let other = t.post(&ada, "elsewhere").await;
    let create = |author: &TestUser, body: &str, parent: &str| pb::CreateCommentRequest {
        post_id: post.id.clone(),
        author_id: author.id.clone(),
        body: body.into(),
        parent_comment_id: parent.into(),
    };
    let first = as_bob.create_comment(create(&bob, "first", "")).await.unwrap().comment.unwrap();
    assert_eq!((first.post_id.as_str(), first.author_id.as_str(), first.parent_comment_id.as_str()), (post.id.as_str(), bob.id.as_str(), ""));
    let second = as_cy.create_comment(create(&cy, "second", "")).await.unwrap().comment.unwrap();
    let third = as_ada.create_comment(create(&ada, "third", "")).await.unwrap().comment.unwrap();
    let reply = as_ada.create_comment(create(&ada, "thanks", &first.id)).await.unwrap().comment.unwrap();
    let reply2 = as_cy.create_comment(create(&cy, "+1", &first.id)).await.unwrap().comment.unwrap();
    assert_eq!(reply.parent_comment_id, first.id);
    assert_eq!(t.get(&ada, &post.id).await.unwrap().comment_count, 5, "replies count too");

    // The thread of a public post is for anyone, signed in or not.
    let top = |token: String| pb::ListCommentsRequest { post_id: post.id.clone(), page_size: 2, page_token: token, viewer_id: String::new() };
    let one = t.content.list_comments(top(String::new())).await.unwrap();
    let two = t.content.list_comments(top(one.next_page_token.clone())).await.unwrap();
    let listed: Vec<&str> = one.comments.iter().chain(two.comments.iter()).map(|c| c.id.as_str()).collect();
    assert_eq!(listed, [first.id.as_str(), second.id.as_str(), third.id.as_str()], "top-level only, oldest first");
    assert!(two.next_page_token.is_empty());
    let replies = |token: String| pb::ListCommentRepliesRequest { comment_id: first.id.clone(), page_size: 1, page_token: token };
    let r1 = t.content.list_comment_replies(replies(String::new())).await.unwrap();
    let r2 = as_cy.list_comment_replies(replies(r1.next_page_token.clone())).await.unwrap();
    let listed: Vec<&str> = r1.comments.iter().chain(r2.comments.iter()).map(|c| c.id.as_str()).collect();
    assert_eq!(listed, [reply.id.as_str(), reply2.id.as_str()]);
    assert!(r2.next_page_token.is_empty());

    // Errors.
    assert_error(as_bob.create_comment(create(&bob, "  ", "")).await, Code::InvalidArgument, "body");
    assert_error(as_bob.create_comment(create(&bob, &"x".repeat(2201), "")).await, Code::InvalidArgument, "body");
    assert_error(as_bob.create_comment(create(&cy, "hi", "")).await, Code::PermissionDenied, "author_id");
    assert_eq!(code(t.content.create_comment(create(&bob, "hi", "")).await), Code::Unauthenticated);
    assert_error(as_bob.create_comment(create(&bob, "hi", "x")).await, Code::InvalidArgument, "parent_comment_id");
    assert_error(as_bob.create_comment(create(&bob, "hi", &unknown())).await, Code::NotFound, "parent_comment_id");
    let elsewhere = pb::CreateCommentRequest { post_id: other.id.clone(), ..create(&bob, "hi", &first.id) };
    assert_error(as_bob.create_comment(elsewhere).await, Code::InvalidArgument, "parent_comment_id");
    assert_error(as_bob.create_comment(pb::CreateCommentRequest { post_id: unknown(), ..create(&bob, "hi", "") }).await, Code::NotFound, "post_id");
    assert_error(as_bob.list_comments(pb::ListCommentsRequest { post_id: unknown(), ..top(String::new()) }).await, Code::NotFound, "post_id");
    assert_error(as_bob.list_comments(top("zzz".into())).await, Code::InvalidArgument, "page_token");
    assert_error(
        as_bob.list_comment_replies(pb::ListCommentRepliesRequest { comment_id: unknown(), page_size: 0, page_token: String::new() }).await,
        Code::NotFound,
        "comment_id",
    );
    assert_error(
        as_bob.list_comment_replies(pb::ListCommentRepliesRequest { comment_id: "x".into(), page_size: 0, page_token: String::new() }).await,
        Code::InvalidArgument,
        "comment_id",
    );

    // Deleting: the comment's author or the post's author (moderators: tests/security/content_access.rs);
    // idempotent; the count follows.
    let delete = |id: &str, requester: &TestUser| pb::DeleteCommentRequest { comment_id: id.into(), requester_id: requester.id.clone() };
    assert_error(as_cy.delete_comment(delete(&first.id, &cy)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_cy.delete_comment(delete(&first.id, &bob)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_cy.delete_comment(delete(&unknown(), &cy)).await, Code::NotFound, "comment_id");
    assert_error(as_cy.delete_comment(delete("x", &cy)).await, Code::InvalidArgument, "comment_id");
    let by_author = as_cy.delete_comment(delete(&second.id, &cy)).await.unwrap();
    let again = as_cy.delete_comment(delete(&second.id, &cy)).await.unwrap();
    assert!(by_author.deleted_at.is_some());
    assert_eq!(by_author, again, "idempotent");
    as_ada.delete_comment(delete(&reply2.id, &ada)).await.unwrap(); // the post's author
    assert_eq!(t.get(&ada, &post.id).await.unwrap().comment_count, 3);
    assert_eq!(t.count("SELECT comment_count FROM posts WHERE id = $1", &post.id).await, 3);
    assert_eq!(t.count("SELECT count(*) FROM comments WHERE post_id = $1 AND deleted_at IS NOT NULL", &post.id).await, 2, "soft-deleted, kept");
    let listed = t.content.list_comments(pb::ListCommentsRequest { page_size: 0, ..top(String::new()) }).await.unwrap();
    assert_eq!(listed.comments.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [first.id.as_str(), third.id.as_str()]);
    let listed = t.content.list_comment_replies(pb::ListCommentRepliesRequest { page_size: 0, ..replies(String::new()) }).await.unwrap();
    assert_eq!(listed.comments, std::slice::from_ref(&reply));
    assert_error(as_bob.create_comment(create(&bob, "hi", &second.id)).await, Code::NotFound, "parent_comment_id");

    // Deleting a comment takes the thread below it along, and the count follows exactly.
    let nested = as_cy.create_comment(create(&cy, "deeper", &reply.id)).await.unwrap().comment.unwrap();
    assert_eq!(t.get(&ada, &post.id).await.unwrap().comment_count, 4);
    as_bob.delete_comment(delete(&first.id, &bob)).await.unwrap();
    assert_eq!(t.get(&ada, &post.id).await.unwrap().comment_count, 1);
    assert_eq!(t.count("SELECT count(*) FROM comments WHERE post_id = $1 AND deleted_at IS NULL", &post.id).await, 1);
    let nested_replies = pb::ListCommentRepliesRequest { comment_id: reply.id.clone(), page_size: 0, page_token: String::new() };
    assert_error(as_ada.list_comment_replies(nested_replies).await, Code::NotFound, "comment_id");
    let gone_with_it = as_cy.delete_comment(delete(&nested.id, &cy)).await.unwrap();
    assert!(gone_with_it.deleted_at.is_some(), "deleted with its thread; deleting it again changes nothing");
    assert_eq!(t.get(&ada, &post.id).await.unwrap().comment_count, 1);
    t.stop().await;
}

// ----- shares -----

#[tokio::test]
async fn shares_count_and_list_newest_first() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let (as_ada, as_bob) = (t.as_user(&ada), t.as_user(&bob));
    let post = t.post(&ada, "share me").await;
    let share = |user: &TestUser, quote: &str| pb::SharePostRequest { post_id: post.id.clone(), user_id: user.id.clone(), quote: quote.into() };
    let plain = as_bob.share_post(share(&bob, "")).await.unwrap();
    assert_eq!((plain.share_count, plain.share.as_ref().unwrap().quote.as_str()), (1, ""));
    let quoted = as_bob.share_post(share(&bob, "look")).await.unwrap();
    assert_eq!(quoted.share_count, 2, "not idempotent: every call is one share");
    let own = as_ada.share_post(share(&ada, "mine")).await.unwrap();
    assert_eq!(t.get(&ada, &post.id).await.unwrap().share_count, 3);

    let page = |token: String| pb::ListPostSharesRequest { post_id: post.id.clone(), page_size: 2, page_token: token };
    let one = t.content.list_post_shares(page(String::new())).await.unwrap();
    let two = as_bob.list_post_shares(page(one.next_page_token.clone())).await.unwrap();
    let listed: Vec<&str> = one.shares.iter().chain(two.shares.iter()).map(|s| s.id.as_str()).collect();
    let expected = [own.share.unwrap().id, quoted.share.unwrap().id, plain.share.unwrap().id];
    assert_eq!(listed, expected.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(two.next_page_token.is_empty());

    assert_error(as_bob.share_post(share(&bob, &"q".repeat(2201))).await, Code::InvalidArgument, "quote");
    assert_error(as_bob.share_post(share(&ada, "")).await, Code::PermissionDenied, "user_id");
    assert_error(as_bob.share_post(pb::SharePostRequest { post_id: unknown(), ..share(&bob, "") }).await, Code::NotFound, "post_id");
    assert_error(
        as_bob.list_post_shares(pb::ListPostSharesRequest { post_id: unknown(), page_size: 0, page_token: String::new() }).await,
        Code::NotFound,
        "post_id",
    );
    assert_error(as_bob.list_post_shares(page("bad".into())).await, Code::InvalidArgument, "page_token");
    assert_eq!(t.count("SELECT count(*) FROM shares WHERE post_id = $1", &post.id).await, 3);
    t.stop().await;
}

// ----- media attachments (content -> media) -----

#[tokio::test]
async fn posts_carry_only_ready_media_of_their_author() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let as_ada = t.as_user(&ada);
    let first = t.media(&ada, true).await;
    let second = t.media(&ada, true).await;
    let pending = t.media(&ada, false).await;
    let bobs = t.media(&bob, true).await;
    let create = |media: Vec<String>| pb::CreatePostRequest { author_id: ada.id.clone(), body: String::new(), media_ids: media, visibility: 0 };

    let post = as_ada.create_post(create(vec![second.clone(), first.clone()])).await.unwrap().post.unwrap();
    assert_eq!(post.media_ids, [second.clone(), first.clone()], "display order kept; a body is optional with media");
    assert_eq!(t.get(&ada, &post.id).await.unwrap().media_ids, [second.clone(), first.clone()]);
    assert_eq!(t.count("SELECT count(*) FROM post_media WHERE post_id = $1", &post.id).await, 2);
    let listed = t.as_user(&bob).get_posts_by_ids(pb::GetPostsByIdsRequest { post_ids: vec![post.id.clone()] }).await.unwrap();
    assert_eq!(listed.posts[0].media_ids, [second.clone(), first.clone()]);

    assert_error(as_ada.create_post(create(vec![first.clone(), bobs])).await, Code::FailedPrecondition, "media_ids");
    assert_error(as_ada.create_post(create(vec![pending])).await, Code::FailedPrecondition, "media_ids");
    assert_error(as_ada.create_post(create(vec![unknown()])).await, Code::FailedPrecondition, "media_ids");
    assert_eq!(t.count("SELECT count(*) FROM posts WHERE author_id = $1", &ada.id).await, 1, "refused posts stored nothing");
    assert_eq!(t.count("SELECT count(*) FROM post_media WHERE post_id <> $1", &post.id).await, 0);

    // An edit keeps the media and may then leave the body empty.
    let edit = pb::UpdatePostRequest { post_id: post.id.clone(), requester_id: ada.id.clone(), body: String::new(), visibility: 0, version: 0 };
    assert_eq!(as_ada.update_post(edit).await.unwrap().post.unwrap().media_ids, [second, first]);
    t.stop().await;
}

// ----- stories -----

#[tokio::test]
async fn stories_expire_count_each_viewer_once_and_show_viewers_to_the_author() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let cy = t.user("cyril").await;
    let (as_ada, as_bob, as_cy) = (t.as_user(&ada), t.as_user(&bob), t.as_user(&cy));
    let media = t.media(&ada, true).await;
    let create = |media_id: &str, expires_at: Option<nova_runtime::codegen::prost_types::Timestamp>| pb::CreateStoryRequest {
        author_id: ada.id.clone(),
        media_id: media_id.into(),
        caption: "sunset".into(),
        expires_at,
    };
    let story = as_ada.create_story(create(&media, None)).await.unwrap().story.unwrap();
    let (created, expires) = (story.created_at.unwrap(), story.expires_at.unwrap());
    assert!((expires.seconds - created.seconds - 24 * 3600).abs() <= 1, "24 hours by default");
    let older = as_ada.create_story(create(&media, None)).await.unwrap().story.unwrap();

    // The viewer is the caller (an empty viewer_id).
    let get = |story_id: &str| pb::GetStoryRequest { story_id: story_id.into(), viewer_id: String::new() };
    assert_eq!(as_bob.get_story(get(&story.id)).await.unwrap().story.unwrap(), story);
    let list = |token: String| pb::ListActiveStoriesRequest { author_id: ada.id.clone(), page_size: 1, page_token: token, viewer_id: String::new() };
    let one = as_bob.list_active_stories(list(String::new())).await.unwrap();
    let two = as_bob.list_active_stories(list(one.next_page_token.clone())).await.unwrap();
    let listed: Vec<&str> = one.stories.iter().chain(two.stories.iter()).map(|s| s.id.as_str()).collect();
    assert_eq!(listed, [older.id.as_str(), story.id.as_str()], "newest first");

    let view = |story_id: &str| pb::ViewStoryRequest { story_id: story_id.into(), viewer_id: String::new() };
    assert_eq!(as_bob.view_story(view(&story.id)).await.unwrap().view_count, 1);
    assert_eq!(as_bob.view_story(view(&story.id)).await.unwrap().view_count, 1, "a retry counts once");
    assert_eq!(as_cy.view_story(view(&story.id)).await.unwrap().view_count, 2);
    assert_eq!(as_ada.view_story(view(&story.id)).await.unwrap().view_count, 2, "the author's views are not counted");
    let viewers = |requester: &TestUser| pb::ListStoryViewersRequest {
        story_id: story.id.clone(),
        requester_id: requester.id.clone(),
        page_size: 0,
        page_token: String::new(),
    };
    let seen = as_ada.list_story_viewers(viewers(&ada)).await.unwrap();
    let mut expected = vec![bob.id.clone(), cy.id.clone()];
    expected.sort();
    assert_eq!(seen.viewers.iter().map(|v| v.viewer_id.clone()).collect::<Vec<_>>(), expected);
    assert_error(as_bob.list_story_viewers(viewers(&bob)).await, Code::PermissionDenied, "requester_id");
    assert_eq!(t.count("SELECT count(*) FROM story_views WHERE story_id = $1", &story.id).await, 2);

    // A blocked viewer sees no story (with content's relationship cache warm from the reads above).
    t.block(&ada, &bob).await;
    assert_error(as_bob.get_story(get(&story.id)).await, Code::NotFound, "story_id");
    assert_error(as_bob.view_story(view(&story.id)).await, Code::NotFound, "story_id");
    assert_error(as_bob.list_active_stories(list(String::new())).await, Code::NotFound, "author_id");

    // Expiry: a story whose time has passed (set in the database) is gone from every read.
    t.sql("content", "UPDATE stories SET expires_at = now() - interval '1 second' WHERE caption = 'sunset' AND view_count = 0").await;
    assert_error(as_cy.get_story(get(&older.id)).await, Code::NotFound, "story_id");
    let active = as_cy.list_active_stories(list(String::new())).await.unwrap();
    assert_eq!(active.stories.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [story.id.as_str()]);
    assert_error(as_cy.view_story(view(&older.id)).await, Code::NotFound, "story_id");

    // Deleting: author only, idempotent, then gone.
    let delete = |requester: &TestUser| pb::DeleteStoryRequest { story_id: story.id.clone(), requester_id: requester.id.clone() };
    assert_error(as_cy.delete_story(delete(&cy)).await, Code::PermissionDenied, "requester_id");
    assert_error(as_cy.delete_story(delete(&ada)).await, Code::PermissionDenied, "requester_id");
    let deleted = as_ada.delete_story(delete(&ada)).await.unwrap();
    assert_eq!(as_ada.delete_story(delete(&ada)).await.unwrap(), deleted, "idempotent");
    assert_error(as_cy.get_story(get(&story.id)).await, Code::NotFound, "story_id");
    assert_error(as_ada.list_story_viewers(viewers(&ada)).await, Code::NotFound, "story_id");
    assert_error(as_ada.delete_story(pb::DeleteStoryRequest { story_id: unknown(), requester_id: ada.id.clone() }).await, Code::NotFound, "story_id");

    // Creation errors.
    let past = nova_runtime::codegen::prost_types::Timestamp { seconds: created.seconds - 60, nanos: 0 };
    let far = nova_runtime::codegen::prost_types::Timestamp { seconds: created.seconds + 8 * 24 * 3600, nanos: 0 };
    assert_error(as_ada.create_story(create(&media, Some(past))).await, Code::InvalidArgument, "expires_at");
    assert_error(as_ada.create_story(create(&media, Some(far))).await, Code::InvalidArgument, "expires_at");
    assert_error(as_ada.create_story(create("x", None)).await, Code::InvalidArgument, "media_id");
    assert_error(as_ada.create_story(create(&unknown(), None)).await, Code::FailedPrecondition, "media_id");
    let bobs = t.media(&bob, true).await;
    assert_error(as_ada.create_story(create(&bobs, None)).await, Code::FailedPrecondition, "media_id");
    assert_error(as_bob.create_story(create(&media, None)).await, Code::PermissionDenied, "author_id");
    assert_error(
        as_ada.create_story(pb::CreateStoryRequest { caption: "c".repeat(2201), ..create(&media, None) }).await,
        Code::InvalidArgument,
        "caption",
    );
    assert_error(as_ada.get_story(get("x")).await, Code::InvalidArgument, "story_id");
    assert_error(
        as_ada.view_story(pb::ViewStoryRequest { story_id: story.id.clone(), viewer_id: "x".into() }).await,
        Code::PermissionDenied,
        "viewer_id",
    );
    t.stop().await;
}

#[tokio::test]
async fn a_deleted_author_cannot_post_even_when_auth_is_cached() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    t.post(&ada, "while alive").await; // content's cache of auth GetUser is warm now
    let auth = t.system.client(nova_auth::AuthClient::from_peers).with_token(&ada.token);
    auth.delete_user(nova_auth::pb::DeleteUserRequest { user_id: ada.id.clone() }).await.unwrap();
    // DeleteUser revokes her tokens; until the revocation reaches content (one poll of the
    // issuer), her token still verifies and content asks auth, whose cached answer was
    // invalidated: either way the post is refused.
    let request = pb::CreatePostRequest { author_id: ada.id.clone(), body: "from beyond".into(), media_ids: vec![], visibility: 0 };
    let refused = t.as_user(&ada).create_post(request).await.unwrap_err();
    match refused.code() {
        Code::NotFound => assert!(refused.message().contains("author_id"), "{refused:?}"),
        Code::Unauthenticated => {}
        other => panic!("{other:?}: {refused:?}"),
    }
    assert_eq!(t.count("SELECT count(*) FROM posts WHERE author_id = $1", &ada.id).await, 1);
    t.stop().await;
}

// ----- bookmarks -----

#[tokio::test]
async fn bookmarks_are_idempotent_grouped_in_collections_and_survive_their_collection() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let bob = t.user("bob").await;
    let (as_ada, as_bob) = (t.as_user(&ada), t.as_user(&bob));
    let p1 = t.post(&ada, "one").await;
    let p2 = t.post(&ada, "two").await;
    let p3 = t.post(&ada, "three").await;
    let create = |user: &TestUser, name: &str| pb::CreateBookmarkCollectionRequest { user_id: user.id.clone(), name: name.into() };
    let recipes = as_bob.create_bookmark_collection(create(&bob, " recipes ")).await.unwrap().collection.unwrap();
    assert_eq!(recipes.name, "recipes");
    let art = as_bob.create_bookmark_collection(create(&bob, "art")).await.unwrap().collection.unwrap();
    let adas = as_ada.create_bookmark_collection(create(&ada, "recipes")).await.unwrap().collection.unwrap();
    assert_error(as_bob.create_bookmark_collection(create(&bob, "recipes")).await, Code::AlreadyExists, "name");
    assert_error(as_bob.create_bookmark_collection(create(&bob, "  ")).await, Code::InvalidArgument, "name");
    assert_error(as_bob.create_bookmark_collection(create(&bob, &"n".repeat(101))).await, Code::InvalidArgument, "name");
    assert_error(as_bob.create_bookmark_collection(create(&ada, "a")).await, Code::PermissionDenied, "user_id");
    let collections = |token: String| pb::ListBookmarkCollectionsRequest { user_id: bob.id.clone(), page_size: 1, page_token: token };
    let one = as_bob.list_bookmark_collections(collections(String::new())).await.unwrap();
    let two = as_bob.list_bookmark_collections(collections(one.next_page_token.clone())).await.unwrap();
    let names: Vec<&str> = one.collections.iter().chain(two.collections.iter()).map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["art", "recipes"], "by name, only the user's");
    assert!(two.next_page_token.is_empty());
    assert_error(as_ada.list_bookmark_collections(collections(String::new())).await, Code::PermissionDenied, "user_id");

    let save =
        |post: &str, collection: &str| pb::BookmarkPostRequest { user_id: bob.id.clone(), post_id: post.into(), collection_id: collection.into() };
    let saved = as_bob.bookmark_post(save(&p1.id, "")).await.unwrap().bookmark.unwrap();
    assert_eq!((saved.post.unwrap().id, saved.collection_id.as_str()), (p1.id.clone(), ""));
    let again = as_bob.bookmark_post(save(&p1.id, "")).await.unwrap().bookmark.unwrap();
    assert_eq!(again.created_at, saved.created_at, "idempotent: saved once");
    let moved = as_bob.bookmark_post(save(&p1.id, &recipes.id)).await.unwrap().bookmark.unwrap();
    assert_eq!(moved.collection_id, recipes.id, "saving again moves it");
    as_bob.bookmark_post(save(&p2.id, &recipes.id)).await.unwrap();
    as_bob.bookmark_post(save(&p3.id, &art.id)).await.unwrap();
    assert_eq!(t.count("SELECT count(*) FROM bookmarks WHERE user_id = $1", &bob.id).await, 3);
    assert_error(as_bob.bookmark_post(save(&p1.id, &adas.id)).await, Code::PermissionDenied, "collection_id");
    assert_error(as_bob.bookmark_post(save(&p1.id, &unknown())).await, Code::NotFound, "collection_id");
    assert_error(as_bob.bookmark_post(save(&unknown(), "")).await, Code::NotFound, "post_id");
    assert_error(as_bob.bookmark_post(save("x", "")).await, Code::InvalidArgument, "post_id");
    assert_error(as_ada.bookmark_post(save(&p1.id, "")).await, Code::PermissionDenied, "user_id");

    let list = |collection: &str, size: i32, token: String| pb::ListBookmarksRequest {
        user_id: bob.id.clone(),
        collection_id: collection.into(),
        page_size: size,
        page_token: token,
    };
    let saved_ids = |response: &pb::ListBookmarksResponse| response.bookmarks.iter().map(|b| b.post.as_ref().unwrap().id.clone()).collect::<Vec<_>>();
    let one = as_bob.list_bookmarks(list("", 2, String::new())).await.unwrap();
    let two = as_bob.list_bookmarks(list("", 2, one.next_page_token.clone())).await.unwrap();
    assert_eq!([saved_ids(&one), saved_ids(&two)].concat(), [p3.id.clone(), p2.id.clone(), p1.id.clone()], "newest saved first");
    let mut in_recipes = saved_ids(&as_bob.list_bookmarks(list(&recipes.id, 0, String::new())).await.unwrap());
    in_recipes.sort();
    let mut expected = vec![p1.id.clone(), p2.id.clone()];
    expected.sort();
    assert_eq!(in_recipes, expected);
    // Another user reads neither bob's bookmarks nor his collection.
    assert_error(as_ada.list_bookmarks(list("", 0, String::new())).await, Code::PermissionDenied, "user_id");
    assert_error(
        as_ada.list_bookmarks(pb::ListBookmarksRequest { user_id: ada.id.clone(), ..list(&recipes.id, 0, String::new()) }).await,
        Code::PermissionDenied,
        "collection_id",
    );
    assert_eq!(code(t.content.list_bookmarks(list("", 0, String::new())).await), Code::Unauthenticated);
    assert_error(as_bob.list_bookmarks(list(&unknown(), 0, String::new())).await, Code::NotFound, "collection_id");
    assert_error(as_bob.list_bookmarks(list("", 0, "not-a-token".into())).await, Code::InvalidArgument, "page_token");

    // Deleting a collection keeps its bookmarks, outside any collection.
    let delete = |id: &str, user: &TestUser| pb::DeleteBookmarkCollectionRequest { collection_id: id.into(), user_id: user.id.clone() };
    assert_error(as_ada.delete_bookmark_collection(delete(&recipes.id, &ada)).await, Code::PermissionDenied, "collection_id");
    assert_error(as_ada.delete_bookmark_collection(delete(&recipes.id, &bob)).await, Code::PermissionDenied, "user_id");
    as_bob.delete_bookmark_collection(delete(&recipes.id, &bob)).await.unwrap();
    assert_error(as_bob.delete_bookmark_collection(delete(&recipes.id, &bob)).await, Code::NotFound, "collection_id");
    let all = as_bob.list_bookmarks(list("", 0, String::new())).await.unwrap();
    assert_eq!(all.bookmarks.len(), 3);
    assert!(all.bookmarks.iter().filter(|b| b.collection_id.is_empty()).count() == 2, "moved out, still saved");

    let remove = |post: &str| pb::RemoveBookmarkRequest { user_id: bob.id.clone(), post_id: post.into() };
    assert_error(as_ada.remove_bookmark(remove(&p1.id)).await, Code::PermissionDenied, "user_id");
    assert!(as_bob.remove_bookmark(remove(&p1.id)).await.unwrap().removed);
    assert!(!as_bob.remove_bookmark(remove(&p1.id)).await.unwrap().removed, "idempotent");
    assert_error(as_bob.remove_bookmark(remove("x")).await, Code::InvalidArgument, "post_id");
    assert_eq!(t.count("SELECT count(*) FROM bookmarks WHERE user_id = $1", &bob.id).await, 2);
    t.stop().await;
}

// ----- fail-closed -----

#[tokio::test]
async fn without_user_a_viewer_sees_nothing_but_what_needs_no_relationship_works() {
    // user is never started: its endpoint refuses connections (TestSystem::UNREACHABLE).
    let mut system = TestSystem::new();
    system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
    system.start(&nova_content::server::DESCRIPTION, nova_content_service::start).await;
    let content = system.client(ContentClient::from_peers);
    let ada = system.sign_up("ada").await;
    let bob = system.sign_up("bob").await;
    let (as_ada, as_bob) = (content.with_token(&ada.token), content.with_token(&bob.token));
    let post = as_ada
        .create_post(pb::CreatePostRequest { author_id: ada.id.clone(), body: "hi".into(), media_ids: vec![], visibility: 0 })
        .await
        .unwrap()
        .post
        .unwrap();
    let get = || pb::GetPostRequest { post_id: post.id.clone(), viewer_id: String::new() };
    assert!(content.get_post(get()).await.is_ok(), "nobody signed in has no relationship to ask about");
    assert!(as_ada.get_post(get()).await.is_ok(), "nor does the author");
    let as_feed = system.service_client("feed", ContentClient::from_peers);
    let by_ids = || pb::GetPostsByIdsRequest { post_ids: vec![post.id.clone()] };
    assert_eq!(as_feed.get_posts_by_ids(by_ids()).await.unwrap().posts.len(), 1, "nor feed as itself");
    assert_eq!(code(as_bob.get_post(get()).await), Code::Unavailable);
    assert_eq!(code(as_bob.get_posts_by_ids(by_ids()).await), Code::Unavailable);
    assert_eq!(code(as_bob.check_post_exists(pb::CheckPostExistsRequest { post_id: post.id.clone() }).await), Code::Unavailable);
    let feed = pb::GetFeedPostsRequest { author_ids: vec![ada.id.clone()], page_size: 0, page_token: String::new() };
    assert_eq!(code(as_bob.get_feed_posts(feed).await), Code::Unavailable);
    let comment =
        pb::CreateCommentRequest { post_id: post.id.clone(), author_id: bob.id.clone(), body: "hi".into(), parent_comment_id: String::new() };
    assert_eq!(code(as_bob.create_comment(comment).await), Code::Unavailable);
    let by_author = pb::GetPostsByAuthorRequest {
        author_id: ada.id.clone(),
        visibilities: vec![],
        page_size: 0,
        page_token: String::new(),
        viewer_id: String::new(),
    };
    assert_eq!(code(as_bob.get_posts_by_author(by_author).await), Code::Unavailable);
    let comments = pb::ListCommentsRequest { post_id: post.id.clone(), page_size: 0, page_token: String::new(), viewer_id: String::new() };
    assert_eq!(code(as_bob.list_comments(comments).await), Code::Unavailable);
    let share = pb::SharePostRequest { post_id: post.id.clone(), user_id: bob.id.clone(), quote: String::new() };
    assert_eq!(code(as_bob.share_post(share).await), Code::Unavailable);
    let like = pb::LikePostRequest { post_id: post.id.clone(), user_id: bob.id.clone() };
    assert_eq!(code(as_bob.like_post(like).await), Code::Unavailable);
    let save = pb::BookmarkPostRequest { user_id: bob.id.clone(), post_id: post.id.clone(), collection_id: String::new() };
    assert_eq!(code(as_bob.bookmark_post(save).await), Code::Unavailable);
    // Media down too: attaching media cannot be checked.
    let with_media = pb::CreatePostRequest { author_id: ada.id.clone(), body: "hi".into(), media_ids: vec![unknown()], visibility: 0 };
    assert_eq!(code(as_ada.create_post(with_media).await), Code::Unavailable);
    let story = pb::CreateStoryRequest { author_id: ada.id.clone(), media_id: unknown(), caption: String::new(), expires_at: None };
    assert_eq!(code(as_ada.create_story(story).await), Code::Unavailable);
    // A story stored directly: its viewers cannot be checked either.
    let mut db = system.connect("content").await;
    let story_id: Uuid =
        sqlx::query_scalar("INSERT INTO stories (author_id, media_id, expires_at) VALUES ($1, $2, now() + interval '1 hour') RETURNING id")
            .bind(Uuid::parse_str(&ada.id).unwrap())
            .bind(Uuid::new_v4())
            .fetch_one(&mut db)
            .await
            .unwrap();
    let view = pb::ViewStoryRequest { story_id: story_id.to_string(), viewer_id: String::new() };
    assert_eq!(code(as_bob.view_story(view).await), Code::Unavailable);
    let get = pb::GetStoryRequest { story_id: story_id.to_string(), viewer_id: String::new() };
    assert_eq!(code(as_bob.get_story(get).await), Code::Unavailable);
    let active = pb::ListActiveStoriesRequest { author_id: ada.id.clone(), page_size: 0, page_token: String::new(), viewer_id: String::new() };
    assert_eq!(code(as_bob.list_active_stories(active).await), Code::Unavailable);
    assert_eq!(count_of(&mut db, "SELECT count(*) FROM story_views").await, 0);
    assert_eq!(count_of(&mut db, "SELECT count(*) FROM likes").await + count_of(&mut db, "SELECT count(*) FROM bookmarks").await, 0);
    system.stop().await;
}

async fn count_of(db: &mut sqlx::PgConnection, statement: &'static str) -> i64 {
    sqlx::query_scalar(statement).fetch_one(db).await.unwrap()
}

#[tokio::test]
async fn without_auth_no_post_is_created_and_no_stranger_deletes() {
    // Auth and content behind proxies of the test's own: auth is taken down once both users
    // signed in and content knows auth's signing keys (their tokens keep verifying for
    // NOVA_IDENTITY_MAX_STALENESS without auth).
    let mut system = TestSystem::with_faults().await;
    system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
    system.start(&nova_content::server::DESCRIPTION, nova_content_service::start).await;
    let content = system.client(ContentClient::from_peers);
    let ada = system.sign_up("ada").await;
    let stranger = system.sign_up("stranger").await;
    let (as_ada, as_stranger) = (content.with_token(&ada.token), content.with_token(&stranger.token));
    for client in [&as_ada, &as_stranger] {
        let unknown_post = pb::GetPostRequest { post_id: unknown(), viewer_id: String::new() };
        assert_eq!(code(client.get_post(unknown_post).await), Code::NotFound, "the token verified");
    }
    system.break_(nova_tests::system::Fault::Service("auth"));

    let create = pb::CreatePostRequest { author_id: ada.id.clone(), body: "hi".into(), media_ids: vec![], visibility: 0 };
    assert_eq!(code(as_ada.create_post(create).await), Code::Unavailable, "the author cannot be checked");
    let mut db = system.connect("content").await;
    let post_id: Uuid = sqlx::query_scalar("INSERT INTO posts (author_id, body) VALUES ($1, 'stored') RETURNING id")
        .bind(Uuid::parse_str(&ada.id).unwrap())
        .fetch_one(&mut db)
        .await
        .unwrap();
    let by_stranger = pb::DeletePostRequest { post_id: post_id.to_string(), requester_id: stranger.id.clone() };
    assert_eq!(code(as_stranger.delete_post(by_stranger).await), Code::Unavailable, "the moderator check fails closed");
    let by_author = pb::DeletePostRequest { post_id: post_id.to_string(), requester_id: ada.id.clone() };
    assert!(as_ada.delete_post(by_author).await.unwrap().deleted_at.is_some(), "the author needs no permission check");
    system.stop().await;
}

#[tokio::test]
async fn page_tokens_belong_to_their_list_and_viewers_page() {
    let t = Content::start().await;
    let ada = t.user("ada").await;
    let as_ada = t.as_user(&ada);
    let post = t.post(&ada, "tokens").await;
    let other = t.post(&ada, "other").await;
    let comment = |post_id: &str| pb::CreateCommentRequest {
        post_id: post_id.into(),
        author_id: ada.id.clone(),
        body: "c".into(),
        parent_comment_id: String::new(),
    };
    let parent = as_ada.create_comment(comment(&post.id)).await.unwrap().comment.unwrap();
    for _ in 0..2 {
        as_ada.create_comment(comment(&post.id)).await.unwrap();
        as_ada.create_comment(pb::CreateCommentRequest { parent_comment_id: parent.id.clone(), ..comment(&post.id) }).await.unwrap();
        as_ada.create_comment(comment(&other.id)).await.unwrap();
    }
    let comments =
        |post_id: &str, token: String| pb::ListCommentsRequest { post_id: post_id.into(), page_size: 1, page_token: token, viewer_id: String::new() };
    let token = as_ada.list_comments(comments(&post.id, String::new())).await.unwrap().next_page_token;
    assert!(!token.is_empty());
    assert_error(as_ada.list_comments(comments(&other.id, token.clone())).await, Code::InvalidArgument, "page_token");
    let replies = pb::ListCommentRepliesRequest { comment_id: parent.id.clone(), page_size: 1, page_token: token.clone() };
    assert_error(as_ada.list_comment_replies(replies).await, Code::InvalidArgument, "page_token");
    let likes = pb::ListPostLikesRequest { post_id: post.id.clone(), page_size: 1, page_token: token.clone() };
    assert_error(as_ada.list_post_likes(likes).await, Code::InvalidArgument, "page_token");

    // Story viewers, a page at a time, in viewer id order.
    let media = t.media(&ada, true).await;
    let story = pb::CreateStoryRequest { author_id: ada.id.clone(), media_id: media, caption: String::new(), expires_at: None };
    let story = as_ada.create_story(story).await.unwrap().story.unwrap();
    let mut viewers = Vec::new();
    for name in ["viewer1", "viewer2", "viewer3"] {
        let viewer = t.user(name).await;
        t.as_user(&viewer).view_story(pb::ViewStoryRequest { story_id: story.id.clone(), viewer_id: viewer.id.clone() }).await.unwrap();
        viewers.push(viewer.id);
    }
    viewers.sort();
    let page =
        |token: String| pb::ListStoryViewersRequest { story_id: story.id.clone(), requester_id: ada.id.clone(), page_size: 2, page_token: token };
    let one = as_ada.list_story_viewers(page(String::new())).await.unwrap();
    let two = as_ada.list_story_viewers(page(one.next_page_token.clone())).await.unwrap();
    let seen: Vec<String> = one.viewers.iter().chain(two.viewers.iter()).map(|v| v.viewer_id.clone()).collect();
    assert_eq!(seen, viewers);
    assert!(two.next_page_token.is_empty());
    assert_error(as_ada.list_story_viewers(page(token.clone())).await, Code::InvalidArgument, "page_token");
    let stories = pb::ListActiveStoriesRequest { author_id: ada.id.clone(), page_size: 1, page_token: token, viewer_id: String::new() };
    assert_error(as_ada.list_active_stories(stories).await, Code::InvalidArgument, "page_token");

    // A comment of a deleted post is gone with it, for deletion too.
    as_ada.delete_post(pb::DeletePostRequest { post_id: post.id.clone(), requester_id: ada.id.clone() }).await.unwrap();
    let delete = pb::DeleteCommentRequest { comment_id: parent.id.clone(), requester_id: ada.id.clone() };
    assert_error(as_ada.delete_comment(delete).await, Code::NotFound, "comment_id");
    t.stop().await;
}
