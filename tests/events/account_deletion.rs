//! An account deleted in auth is followed by every service, as the spec's logical references
//! say (`-> auth.users.id cascade | set null`): afterwards no row of any of the eight
//! databases names the user, the public RPCs show nothing of theirs, and the counters their
//! rows were part of (followers, likes, comments with the replies under them, shares, hashtag
//! uses) no longer count them.

use nova_content::ContentClient;
use nova_content::pb as content_pb;
use nova_runtime::codegen::sqlx;
use nova_tests::TestSystem;
use nova_tests::eventually::eventually;
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;

/// Every (service, table, column) the spec says follows auth.users deletions, read from the
/// spec itself so that a reference added later is checked too.
fn followers_of_user_deletes() -> Vec<(String, String, String)> {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/ownership.toml")).unwrap();
    let mut table: Option<(String, String)> = None;
    let mut found = Vec::new();
    for line in spec.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let parts: Vec<&str> = section.split('.').collect();
            table = match parts.as_slice() {
                [service, "tables", name] => Some((service.to_string(), name.to_string())),
                _ => None,
            };
            continue;
        }
        let (Some((service, name)), Some(rest)) = (&table, line.strip_prefix("columns.")) else { continue };
        let Some((column, decl)) = rest.split_once(" = ") else { continue };
        if decl.contains("-> auth.users.id cascade") || decl.contains("-> auth.users.id set null") {
            found.push((service.clone(), name.clone(), column.to_string()));
        }
    }
    found
}

/// Rows naming `user` in the columns that follow deletes, per (service.table.column).
async fn traces(system: &TestSystem, user: &str) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    for (service, table, column) in followers_of_user_deletes() {
        let mut db = system.connect(&service).await;
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table} WHERE {column} = $1::uuid")))
            .bind(user)
            .fetch_one(&mut db)
            .await
            .unwrap();
        if count > 0 {
            found.push((format!("{service}.{table}.{column}"), count));
        }
    }
    found
}

/// How many live posts search files under #farewell.
async fn farewell_uses(system: &TestSystem) -> Option<i64> {
    let search = system.uncached_client(nova_search::SearchClient::from_peers);
    let tags = nova_search::pb::SearchHashtagsRequest { query: "farewell".into(), ..Default::default() };
    search.search_hashtags(tags).await.unwrap().hashtags.into_iter().find(|h| h.tag == "farewell").map(|h| h.post_count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_account_leaves_no_trace_in_any_service() {
    let mut system = TestSystem::new().with_events();
    system.start_all().await;
    let ada = system.sign_up("ada").await;
    let bob = system.sign_up("bob").await;
    let users = system.client(UserClient::from_peers);
    let content = system.client(ContentClient::from_peers);
    for (follower, followee) in [(&ada, &bob), (&bob, &ada)] {
        let request = user_pb::FollowRequest { follower_id: follower.id.clone(), followee_id: followee.id.clone() };
        users.with_token(&follower.token).follow(request).await.unwrap();
    }
    let create = |author: &nova_tests::TestUser, body: &str| content_pb::CreatePostRequest {
        author_id: author.id.clone(),
        body: body.into(),
        media_ids: vec![],
        visibility: content_pb::PostVisibility::Public as i32,
    };
    let post = content.with_token(&ada.token).create_post(create(&ada, "hello #farewell")).await.unwrap().post.unwrap();
    // bob's post, which ada likes, shares and comments on, and bob answers her comment.
    let bobs_post = content.with_token(&bob.token).create_post(create(&bob, "a #farewell party")).await.unwrap().post.unwrap();
    let as_ada = content.with_token(&ada.token);
    as_ada.like_post(content_pb::LikePostRequest { post_id: bobs_post.id.clone(), user_id: ada.id.clone() }).await.unwrap();
    as_ada.share_post(content_pb::SharePostRequest { post_id: bobs_post.id.clone(), user_id: ada.id.clone(), quote: String::new() }).await.unwrap();
    let comment =
        content_pb::CreateCommentRequest { post_id: bobs_post.id.clone(), author_id: ada.id.clone(), body: "see you".into(), ..Default::default() };
    let comment = as_ada.create_comment(comment).await.unwrap().comment.unwrap();
    let reply = content_pb::CreateCommentRequest {
        post_id: bobs_post.id.clone(),
        author_id: bob.id.clone(),
        body: "bye".into(),
        parent_comment_id: comment.id.clone(),
    };
    content.with_token(&bob.token).create_comment(reply).await.unwrap();
    let own = content_pb::CreateCommentRequest {
        post_id: bobs_post.id.clone(),
        author_id: bob.id.clone(),
        body: "mine stays".into(),
        ..Default::default()
    };
    content.with_token(&bob.token).create_comment(own).await.unwrap();
    let before = traces(&system, &ada.id).await;
    let places: Vec<&str> = before.iter().map(|(place, _)| place.as_str()).collect();
    for expected in ["user.follows.follower_id", "user.follows.followee_id", "content.posts.author_id"] {
        assert!(places.contains(&expected), "{expected} should hold ada before the deletion: {before:?}");
    }

    // Both posts are indexed (their events applied) before the deletion.
    eventually("search counts both uses of #farewell", || async { farewell_uses(&system).await == Some(2) }).await;
    let auth = system.client(nova_auth::AuthClient::from_peers);
    auth.with_token(&ada.token).delete_user(nova_auth::pb::DeleteUserRequest { user_id: ada.id.clone() }).await.unwrap();

    // Every service applies auth's event in the background: wait for it.
    eventually("no trace of the deleted account in any database", || async { traces(&system, &ada.id).await.is_empty() }).await;
    // Seen from outside: the post is gone for bob, and bob follows nobody and nobody follows him.
    let fresh = system.uncached_client(ContentClient::from_peers);
    let read = fresh.with_token(&bob.token).get_post(content_pb::GetPostRequest { post_id: post.id.clone(), viewer_id: String::new() }).await;
    assert_eq!(read.map(|_| ()).unwrap_err().code(), Code::NotFound);
    let mut db = system.connect("user").await;
    let bobs: i64 = sqlx::query_scalar("SELECT count(*) FROM follows WHERE follower_id = $1::uuid OR followee_id = $1::uuid")
        .bind(&bob.id)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(bobs, 0, "bob's follows of and by ada are gone");

    // The counters no longer count ada: bob's followers and followees, his post's like, share
    // and comments (hers and the reply under it; his own stays), the hashtag's uses.
    let profile = system.uncached_client(UserClient::from_peers);
    let bob_profile = profile.get_user_profile(user_pb::GetUserProfileRequest { user_id: bob.id.clone() }).await.unwrap().profile.unwrap();
    assert_eq!((bob_profile.follower_count, bob_profile.following_count), (0, 0), "bob's follow counts");
    let read = content_pb::GetPostRequest { post_id: bobs_post.id.clone(), viewer_id: String::new() };
    let bobs_now = fresh.with_token(&bob.token).get_post(read).await.unwrap().post.unwrap();
    assert_eq!((bobs_now.like_count, bobs_now.share_count, bobs_now.comment_count), (0, 0, 1), "bob's post's counts");
    assert_eq!(farewell_uses(&system).await, Some(1), "search counts only bob's use of #farewell");
    system.stop().await;
}
