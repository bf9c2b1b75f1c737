//! The search service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`), and the index following its owners' events: posts
//! created, edited and deleted in content (`posts.changed`), and profiles created and edited in
//! user (`profiles.changed`), reach search through each one's outbox and NATS JetStream (a
//! private server per test), also when search was down while they were written. The index's
//! repair RPCs (IndexDocuments, RemoveDocuments) are an operator's, holding `search.index`.
//!
//! Searches are read through a client without a response cache (`uncached`): callers cache
//! search answers for their TTL, and these tests watch the index change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_content::ContentClient;
use nova_content::pb as content_pb;
use nova_runtime::codegen::chrono::{TimeDelta, Utc};
use nova_runtime::codegen::sqlx;
use nova_runtime::convert::timestamp;
use nova_search::SearchClient;
use nova_search::pb;
use nova_tests::cache_probe::until;
use nova_tests::{TestSystem, TestUser};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;
use uuid::Uuid;

/// A search client that caches nothing (the edge, without a token), so each call reads the
/// index as it is.
fn uncached(system: &TestSystem) -> SearchClient {
    system.uncached_client(SearchClient::from_peers)
}

/// Search as an operator holding `search.index` (the repair RPCs) calls it: a user of its own
/// with that permission.
async fn operator(system: &TestSystem) -> SearchClient {
    let indexer = system.sign_up("indexer").await;
    let mut auth_db = system.connect("auth").await;
    sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1::uuid, 'search.index')")
        .bind(&indexer.id)
        .execute(&mut auth_db)
        .await
        .unwrap();
    uncached(system).with_token(&indexer.token)
}

/// A system with events on: content (with auth, media and user) and search.
async fn content_and_search() -> TestSystem {
    let mut system = TestSystem::new().with_events();
    system.start_with_callees("content").await;
    system.start_with_callees("search").await;
    system
}

async fn create_post(content: &ContentClient, author: &TestUser, body: &str) -> content_pb::Post {
    let request = content_pb::CreatePostRequest {
        author_id: author.id.clone(),
        body: body.into(),
        media_ids: vec![],
        visibility: content_pb::PostVisibility::Public as i32,
    };
    content.with_token(&author.token).create_post(request).await.unwrap().post.unwrap()
}

/// The ids of the posts SearchPosts finds for `query` (first page of 100).
async fn found(search: &SearchClient, query: &str) -> Vec<String> {
    let request = pb::SearchPostsRequest { query: query.into(), page_size: 100, ..Default::default() };
    search.search_posts(request).await.unwrap().posts.into_iter().map(|p| p.post_id).collect()
}

async fn tagged(search: &SearchClient, tag: &str) -> Vec<String> {
    let request = pb::GetPostsByHashtagRequest { tag: tag.into(), page_size: 100, ..Default::default() };
    search.get_posts_by_hashtag(request).await.unwrap().posts.into_iter().map(|p| p.post_id).collect()
}

/// The post count of `tag` (0 when no live post carries it).
async fn tag_count(search: &SearchClient, tag: &str) -> i64 {
    let request = pb::SearchHashtagsRequest { query: tag.into(), page_size: 100, ..Default::default() };
    let hashtags = search.search_hashtags(request).await.unwrap().hashtags;
    hashtags.into_iter().find(|h| h.tag == tag).map(|h| h.post_count).unwrap_or(0)
}

/// Events of `service` not yet relayed to JetStream.
async fn outbox_rows(system: &TestSystem, service: &str) -> i64 {
    let mut db = system.connect(service).await;
    sqlx::query_scalar("SELECT count(*) FROM nova_outbox").fetch_one(&mut db).await.unwrap()
}

async fn users_found(search: &SearchClient, query: &str) -> Vec<pb::UserHit> {
    search.search_users(pb::SearchUsersRequest { query: query.into(), ..Default::default() }).await.unwrap().users
}

fn post_doc(id: &str, author: &str, body: &str, version: i64) -> pb::IndexedDocument {
    pb::IndexedDocument {
        kind: pb::DocumentKind::Post as i32,
        id: id.into(),
        author_id: author.into(),
        body: body.into(),
        created_at: Some(timestamp(Utc::now())),
        version,
        ..Default::default()
    }
}

fn removal(id: &str, version: i64) -> pb::RemovedDocument {
    pb::RemovedDocument { kind: pb::DocumentKind::Post as i32, id: id.into(), version }
}

async fn index(search: &SearchClient, docs: Vec<pb::IndexedDocument>) -> pb::IndexDocumentsResponse {
    search.index_documents(pb::IndexDocumentsRequest { documents: docs }).await.unwrap()
}

async fn remove(search: &SearchClient, docs: Vec<pb::RemovedDocument>) -> pb::RemoveDocumentsResponse {
    search.remove_documents(pb::RemoveDocumentsRequest { documents: docs }).await.unwrap()
}

/// Search alone (and auth), an uncached reader of it and an operator's client of it.
async fn search_only() -> (TestSystem, SearchClient, SearchClient) {
    let mut system = TestSystem::new();
    system.start_with_callees("search").await;
    let (search, operator) = (uncached(&system), operator(&system).await);
    (system, search, operator)
}

#[tokio::test]
async fn a_post_written_in_content_is_found_by_word_and_hashtag_until_it_is_deleted() {
    let system = content_and_search().await;
    let (content, search) = (system.client(ContentClient::from_peers), uncached(&system));
    let author = system.sign_up("sunny_author").await;

    let post = create_post(&content, &author, "A sunny afternoon on the #Beach with #friends").await;
    until("the new post is indexed", || async { found(&search, "sunny").await == vec![post.id.clone()] }).await;
    assert_eq!(tagged(&search, "#beach").await, vec![post.id.clone()], "found by its hashtag, any case, with or without '#'");
    assert_eq!(tagged(&search, "FRIENDS").await, vec![post.id.clone()]);
    assert_eq!(tag_count(&search, "beach").await, 1);
    let hit = search.search_posts(pb::SearchPostsRequest { query: "sunny".into(), ..Default::default() }).await.unwrap().posts.remove(0);
    assert_eq!(hit.author_id, author.id);
    assert!(hit.score > 0.0);

    let content = content.with_token(&author.token);
    let request = content_pb::UpdatePostRequest {
        post_id: post.id.clone(),
        requester_id: author.id.clone(),
        body: "A rainy evening with #books".into(),
        version: post.version,
        ..Default::default()
    };
    content.update_post(request).await.unwrap();
    until("the edit is indexed", || async { found(&search, "rainy").await == vec![post.id.clone()] }).await;
    assert!(found(&search, "sunny").await.is_empty(), "the old text is no longer found");
    assert!(tagged(&search, "beach").await.is_empty(), "the lost hashtag no longer lists the post");
    assert_eq!(tag_count(&search, "beach").await, 0);
    assert_eq!(tag_count(&search, "books").await, 1);

    content.delete_post(content_pb::DeletePostRequest { post_id: post.id.clone(), requester_id: author.id.clone() }).await.unwrap();
    until("the deletion is indexed", || async { found(&search, "rainy").await.is_empty() }).await;
    assert!(tagged(&search, "books").await.is_empty());
    assert_eq!(tag_count(&search, "books").await, 0);
    let all = pb::FullTextSearchRequest { query: "rainy".into(), ..Default::default() };
    assert!(search.full_text_search(all).await.unwrap().hits.is_empty());
    until("content's outbox is drained", || async { outbox_rows(&system, "content").await == 0 }).await;
    system.stop().await;
}

#[tokio::test]
async fn changes_written_while_search_is_down_reach_it_once_it_is_back() {
    let mut system = TestSystem::new().with_events();
    // content and user run, search does not: their writes succeed and their events wait in
    // JetStream (relayed from the outboxes), not in their databases.
    system.start_with_callees("content").await;
    let (content, users) = (system.client(ContentClient::from_peers), system.client(UserClient::from_peers));
    let author = system.sign_up("offline_author").await;
    let kept = create_post(&content, &author, "written during an #outage").await;
    let gone = create_post(&content, &author, "deleted during the #outage").await;
    let request = content_pb::DeletePostRequest { post_id: gone.id.clone(), requester_id: author.id.clone() };
    content.with_token(&author.token).delete_post(request).await.unwrap();
    users.get_user_profile(user_pb::GetUserProfileRequest { user_id: author.id.clone() }).await.unwrap();
    until("content's outbox is relayed", || async { outbox_rows(&system, "content").await == 0 }).await;
    until("user's outbox is relayed", || async { outbox_rows(&system, "user").await == 0 }).await;

    // Search starts late: its durable consumers begin at the start of the streams.
    system.start_with_callees("search").await;
    let search = uncached(&system);
    // Four events: two posts created, one deleted, one profile created.
    until("search handled the four events", || async {
        let mut db = system.connect("search").await;
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM nova_event_inbox").fetch_one(&mut db).await.unwrap() == 4
    })
    .await;
    assert_eq!(found(&search, "outage").await, vec![kept.id.clone()]);
    assert!(users_found(&search, "offline_author").await.iter().any(|u| u.user_id == author.id));
    assert_eq!(tag_count(&search, "outage").await, 1, "the deleted post was filed, then unfiled");
    assert!(found(&search, "deleted").await.is_empty());
    system.stop().await;
}

#[tokio::test]
async fn profiles_are_found_by_name_bio_and_username_while_they_are_public() {
    let mut system = TestSystem::new().with_events();
    system.start_with_callees("user").await;
    system.start_with_callees("search").await;
    let (users, search) = (system.client(UserClient::from_peers), uncached(&system));
    let alice = system.sign_up("alice_w").await;
    let id = alice.id.clone();
    let as_alice = users.with_token(&alice.token);
    // The first read materialises the profile, whose event carries the username.
    let profile = users.get_user_profile(user_pb::GetUserProfileRequest { user_id: id.clone() }).await.unwrap().profile.unwrap();
    let by_username = || async {
        let request = pb::SearchUsersRequest { query: "ALICE_W".into(), ..Default::default() };
        search.search_users(request).await.unwrap().users
    };
    until("the new profile is indexed", || async { by_username().await.iter().any(|u| u.user_id == id) }).await;
    assert_eq!(by_username().await[0].username, "alice_w");

    let edit = |visibility: user_pb::ProfileVisibility, version: i64| user_pb::UpdateUserProfileRequest {
        user_id: id.clone(),
        display_name: "Wonderland Explorer".into(),
        bio: "collects teapots".into(),
        visibility: visibility as i32,
        version,
        ..Default::default()
    };
    let edited = as_alice.update_user_profile(edit(user_pb::ProfileVisibility::Public, profile.version)).await.unwrap().profile.unwrap();
    until("the edit is indexed", || async { users_found(&search, "teapots").await.iter().any(|u| u.user_id == id) }).await;
    let hits = users_found(&search, "wonderland explorer").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].username, "alice_w", "an edit without a username keeps the indexed one");
    let suggest = || async {
        let request = pb::GetSearchSuggestionsRequest { prefix: "Wonder".into(), ..Default::default() };
        search.get_search_suggestions(request).await.unwrap().suggestions
    };
    let suggestions = suggest().await;
    assert!(
        suggestions.iter().any(|s| s.kind == pb::SuggestionKind::User as i32 && s.id == id && s.text == "Wonderland Explorer"),
        "{suggestions:?}"
    );
    let teapots = || async {
        let request = pb::FullTextSearchRequest { query: "teapots".into(), ..Default::default() };
        search.full_text_search(request).await.unwrap().hits
    };
    let mixed = teapots().await;
    assert_eq!(mixed.len(), 1);
    assert_eq!(mixed[0].kind, pb::DocumentKind::User as i32);
    assert!(mixed[0].snippet.contains("teapots"), "{:?}", mixed[0]);

    // Made private, the profile leaves the index (its answers are the same for everyone): not
    // by its bio, name or username, nor in suggestions.
    let private = as_alice.update_user_profile(edit(user_pb::ProfileVisibility::Private, edited.version)).await.unwrap().profile.unwrap();
    until("the private profile leaves the index", || async { users_found(&search, "teapots").await.is_empty() }).await;
    assert!(teapots().await.is_empty());
    assert!(users_found(&search, "wonderland explorer").await.is_empty());
    assert!(by_username().await.is_empty());
    assert!(!suggest().await.iter().any(|s| s.id == id), "no suggestion names it");
    let mut db = system.connect("search").await;
    let (title, body): (String, String) = sqlx::query_as("SELECT title, body FROM search_documents WHERE source_id = $1")
        .bind(Uuid::parse_str(&id).unwrap())
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!((title.as_str(), body.as_str()), ("", ""), "the tombstone keeps no text of the profile");
    // Public again: found again, by its username too.
    as_alice.update_user_profile(edit(user_pb::ProfileVisibility::Public, private.version)).await.unwrap();
    until("the public profile is indexed again", || async { users_found(&search, "teapots").await.iter().any(|u| u.user_id == id) }).await;
    assert_eq!(by_username().await.iter().map(|u| u.username.as_str()).collect::<Vec<_>>(), ["alice_w"]);
    until("user's outbox is drained", || async { outbox_rows(&system, "user").await == 0 }).await;
    system.stop().await;
}

#[tokio::test]
async fn changes_apply_by_version_so_late_and_repeated_ones_change_nothing() {
    let (system, search, operator) = search_only().await;
    let (post, author) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());

    assert_eq!(index(&operator, vec![post_doc(&post, &author, "newer text #kept", 2)]).await.applied, 1);
    let late = index(&operator, vec![post_doc(&post, &author, "older text #lost", 1)]).await;
    assert_eq!((late.applied, late.skipped), (0, 1), "an older upsert after a newer one is skipped");
    let again = index(&operator, vec![post_doc(&post, &author, "newer text #kept", 2)]).await;
    assert_eq!((again.applied, again.skipped), (0, 1), "a repeated upsert is skipped");
    assert_eq!(found(&search, "newer").await, vec![post.clone()]);
    assert!(found(&search, "older").await.is_empty());
    assert_eq!((tag_count(&search, "kept").await, tag_count(&search, "lost").await), (1, 0));

    // A removal at the same version wins (the owner's delete need not bump it); a late upsert of
    // that version does not resurrect the post, a newer one does.
    assert_eq!(remove(&operator, vec![removal(&post, 2)]).await.removed, 1);
    assert_eq!(remove(&operator, vec![removal(&post, 2)]).await.skipped, 1, "a repeated removal is skipped");
    assert_eq!(index(&operator, vec![post_doc(&post, &author, "newer text #kept", 2)]).await.skipped, 1);
    assert!(found(&search, "newer").await.is_empty());
    assert_eq!(tag_count(&search, "kept").await, 0);
    assert_eq!(remove(&operator, vec![removal(&post, 1)]).await.skipped, 1, "an older removal is skipped");
    assert_eq!(index(&operator, vec![post_doc(&post, &author, "public again #kept", 3)]).await.applied, 1);
    assert_eq!(found(&search, "public").await, vec![post.clone()]);
    assert_eq!(tag_count(&search, "kept").await, 1);

    // A removal that overtakes the first upsert leaves a tombstone the upsert cannot pass.
    let early = Uuid::new_v4().to_string();
    assert_eq!(remove(&operator, vec![removal(&early, 4)]).await.removed, 1);
    assert_eq!(index(&operator, vec![post_doc(&early, &author, "overtaken #gone", 4)]).await.skipped, 1);
    assert!(found(&search, "overtaken").await.is_empty());
    assert_eq!(tag_count(&search, "gone").await, 0);
    system.stop().await;
}

#[tokio::test]
async fn concurrent_posts_keep_hashtag_counts_exact() {
    let (system, search, operator) = search_only().await;
    let author = Uuid::new_v4().to_string();
    // Few enough that the concurrent calls fit the service's connection pool (10).
    let posts: Vec<String> = (0..8).map(|_| Uuid::new_v4().to_string()).collect();
    // Each post carries both tags, in alternating order; each is pushed twice at once.
    let writes = posts.iter().enumerate().flat_map(|(i, id)| {
        let body = if i % 2 == 0 { "#alpha then #beta" } else { "#beta then #alpha" };
        let doc = post_doc(id, &author, body, 1);
        [index(&operator, vec![doc.clone()]), index(&operator, vec![doc])]
    });
    let results = futures_util::future::join_all(writes).await;
    assert_eq!(results.iter().map(|r| r.applied).sum::<i32>(), 8, "each post applied once");
    assert_eq!((tag_count(&search, "alpha").await, tag_count(&search, "beta").await), (8, 8));

    // Half lose #alpha (an edit), a quarter are removed, concurrently.
    let edits = posts[..4].iter().map(|id| index(&operator, vec![post_doc(id, &author, "only #beta now", 2)]));
    let removals = posts[4..6].iter().map(|id| remove(&operator, vec![removal(id, 2)]));
    let (edited, removed) = tokio::join!(futures_util::future::join_all(edits), futures_util::future::join_all(removals));
    assert!(edited.iter().all(|r| r.applied == 1) && removed.iter().all(|r| r.removed == 1));
    assert_eq!(tag_count(&search, "alpha").await, 2);
    assert_eq!(tag_count(&search, "beta").await, 6);
    assert_eq!(tagged(&search, "alpha").await.len(), 2);
    system.stop().await;
}

fn user_doc(id: &str, name: &str, version: i64) -> pb::IndexedDocument {
    pb::IndexedDocument {
        kind: pb::DocumentKind::User as i32,
        id: id.into(),
        title: name.into(),
        username: name.into(),
        created_at: Some(timestamp(Utc::now())),
        version,
        ..Default::default()
    }
}

#[tokio::test]
async fn only_holders_of_search_index_repair_the_index_and_of_either_kind() {
    let (system, search, operator) = search_only().await;
    let (post, profile, author) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    assert_eq!(index(&operator, vec![post_doc(&post, &author, "repaired post", 1)]).await.applied, 1);
    assert_eq!(index(&operator, vec![user_doc(&profile, "repairedprofile", 1)]).await.applied, 1);

    // Nobody else: not the owners' services (their changes travel as events), another service,
    // an end user without the permission, the edge without a token.
    let refused = |result: Result<(), tonic::Status>, who: &str| {
        let status = result.expect_err(who);
        assert!(matches!(status.code(), Code::PermissionDenied | Code::Unauthenticated), "{who}: {status:?}");
    };
    let ada = system.sign_up("ada").await;
    let push = || pb::IndexDocumentsRequest { documents: vec![post_doc(&post, &author, "hijacked", 6)] };
    let callers = [
        ("content", system.service_client("content", SearchClient::from_peers)),
        ("user", system.service_client("user", SearchClient::from_peers)),
        ("media", system.service_client("media", SearchClient::from_peers)),
        ("ada", search.with_token(&ada.token)),
        ("the edge", search.clone()),
    ];
    for (who, client) in callers {
        refused(client.index_documents(push()).await.map(drop), who);
        refused(client.remove_documents(pb::RemoveDocumentsRequest { documents: vec![removal(&post, 6)] }).await.map(drop), who);
    }
    assert_eq!(found(&search, "repaired").await, vec![post.clone()], "the post is as the operator wrote it");
    assert!(found(&search, "hijacked").await.is_empty());
    assert_eq!(users_found(&search, "repairedprofile").await.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(), [profile.as_str()]);
    // The operator's removal applies, of either kind.
    let remove_profile =
        pb::RemoveDocumentsRequest { documents: vec![pb::RemovedDocument { kind: pb::DocumentKind::User as i32, id: profile.clone(), version: 5 }] };
    assert_eq!(operator.remove_documents(remove_profile).await.unwrap().removed, 1);
    assert!(users_found(&search, "repairedprofile").await.is_empty());
    system.stop().await;
}

#[tokio::test]
async fn a_version_far_ahead_is_refused_so_no_push_freezes_a_post() {
    let system = content_and_search().await;
    let (posts, search, as_operator) = (system.client(ContentClient::from_peers), uncached(&system), operator(&system).await);
    let author = system.sign_up("steady_author").await;
    let post = create_post(&posts, &author, "original words").await;
    until("the post is indexed", || async { found(&search, "original").await == vec![post.id.clone()] }).await;

    // Versions are times in microseconds: one more than five minutes ahead of search's clock is
    // refused, whatever it carries (before, i64::MAX rewrote a post for good).
    let forged = |version: i64| post_doc(&post.id, &author.id, "frozen forever", version);
    for version in [i64::MAX, (Utc::now() + TimeDelta::hours(1)).timestamp_micros()] {
        let status = as_operator.index_documents(pb::IndexDocumentsRequest { documents: vec![forged(version)] }).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("documents[0].version"), "{status:?}");
        let status = as_operator.remove_documents(pb::RemoveDocumentsRequest { documents: vec![removal(&post.id, version)] }).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    assert_eq!(found(&search, "original").await, vec![post.id.clone()]);
    assert!(found(&search, "frozen").await.is_empty());

    // A repair at the operator's own time applies, and the owner's next change, later, replaces it.
    let now = Utc::now().timestamp_micros();
    assert_eq!(index(&as_operator, vec![post_doc(&post.id, &author.id, "pushed words", now)]).await.applied, 1);
    assert_eq!(found(&search, "pushed").await, vec![post.id.clone()]);
    let edit = content_pb::UpdatePostRequest {
        post_id: post.id.clone(),
        requester_id: author.id.clone(),
        body: "edited words".into(),
        version: post.version,
        ..Default::default()
    };
    posts.with_token(&author.token).update_post(edit).await.unwrap();
    until("the edit replaces the pushed text", || async { found(&search, "edited").await == vec![post.id.clone()] }).await;
    assert!(found(&search, "pushed").await.is_empty());
    until("content's outbox is drained", || async { outbox_rows(&system, "content").await == 0 }).await;
    system.stop().await;
}

#[tokio::test]
async fn searches_page_with_tokens_and_filter() {
    let (system, search, operator) = search_only().await;
    let (alice, bob) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let docs: Vec<pb::IndexedDocument> = (0..25)
        .map(|i| {
            let author = if i < 5 { &alice } else { &bob };
            let tags = if i % 5 == 0 { "#paged #rare" } else { "#paged" };
            let mut doc = post_doc(&Uuid::new_v4().to_string(), author, &format!("pagination example number {i} {tags}"), 1);
            doc.popularity = f64::from(i);
            doc
        })
        .collect();
    let most_popular: Vec<String> = docs.iter().rev().take(3).map(|d| d.id.clone()).collect();
    index(&operator, docs).await;

    // SearchPosts: 10, 10, 5, every post once, by popularity when asked.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = Vec::new();
    loop {
        let request =
            pb::SearchPostsRequest { query: "pagination".into(), page_size: 10, page_token: token.clone(), sort: pb::SearchSort::Popular as i32 };
        let page = search.search_posts(request).await.unwrap();
        pages.push(page.posts.len());
        seen.extend(page.posts.iter().map(|p| p.post_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, vec![10, 10, 5]);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
    let first = search
        .search_posts(pb::SearchPostsRequest { query: "pagination".into(), page_size: 3, sort: pb::SearchSort::Popular as i32, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(first.posts.iter().map(|p| p.post_id.clone()).collect::<Vec<_>>(), most_popular, "most engagement first");
    // A token of another query is refused, naming the field.
    let request = pb::SearchPostsRequest { query: "example".into(), page_token: first.next_page_token.clone(), ..Default::default() };
    let error = search.search_posts(request).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().contains("page_token"), "{}", error.message());

    // GetPostsByHashtag: keyset pages, newest first.
    let mut token = String::new();
    let mut total = 0;
    let mut pages = 0;
    loop {
        let request = pb::GetPostsByHashtagRequest { tag: "paged".into(), page_size: 10, page_token: token.clone() };
        let page = search.get_posts_by_hashtag(request).await.unwrap();
        total += page.posts.len();
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!((total, pages), (25, 3));

    // FullTextSearch pages too, restricted to kinds.
    let request =
        pb::FullTextSearchRequest { query: "pagination".into(), kinds: vec![pb::DocumentKind::Post as i32], page_size: 20, ..Default::default() };
    let page = search.full_text_search(request.clone()).await.unwrap();
    assert_eq!(page.hits.len(), 20);
    assert!(page.hits.iter().all(|h| h.snippet.contains("pagination") && h.snippet.chars().count() <= 200));
    let rest = search.full_text_search(pb::FullTextSearchRequest { page_token: page.next_page_token, ..request }).await.unwrap();
    assert_eq!(rest.hits.len(), 5);
    assert!(rest.next_page_token.is_empty());
    let users_only = pb::FullTextSearchRequest { query: "pagination".into(), kinds: vec![pb::DocumentKind::User as i32], ..Default::default() };
    assert!(search.full_text_search(users_only).await.unwrap().hits.is_empty());

    // AdvancedSearch: author and hashtag filters, without a query (newest first).
    let request = pb::AdvancedSearchRequest { author_ids: vec![alice.clone()], page_size: 100, ..Default::default() };
    assert_eq!(search.advanced_search(request).await.unwrap().hits.len(), 5);
    let request = pb::AdvancedSearchRequest { hashtags: vec!["#Rare".into(), "paged".into()], page_size: 100, ..Default::default() };
    assert_eq!(search.advanced_search(request).await.unwrap().hits.len(), 5, "posts carrying all the hashtags");
    let request = pb::AdvancedSearchRequest {
        query: "pagination".into(),
        author_ids: vec![bob.clone()],
        hashtags: vec!["rare".into()],
        page_size: 2,
        ..Default::default()
    };
    let page = search.advanced_search(request.clone()).await.unwrap();
    assert_eq!(page.hits.len(), 2);
    let rest = search.advanced_search(pb::AdvancedSearchRequest { page_token: page.next_page_token, ..request }).await.unwrap();
    assert_eq!(rest.hits.len(), 2, "bob's posts 5, 10, 15, 20 carry #rare");
    assert!(rest.next_page_token.is_empty());
    let future = timestamp(Utc::now() + TimeDelta::hours(1));
    let request = pb::AdvancedSearchRequest { query: "pagination".into(), created_after: Some(future), ..Default::default() };
    assert!(search.advanced_search(request).await.unwrap().hits.is_empty());

    // SearchHashtags: prefix, most used first.
    let request = pb::SearchHashtagsRequest { query: "#PA".into(), ..Default::default() };
    let hashtags = search.search_hashtags(request).await.unwrap().hashtags;
    assert_eq!(hashtags.iter().map(|h| (h.tag.as_str(), h.post_count)).collect::<Vec<_>>(), vec![("paged", 25)]);
    let request = pb::SearchHashtagsRequest { query: "r".into(), page_size: 1, ..Default::default() };
    let page = search.search_hashtags(request).await.unwrap();
    assert_eq!((page.hashtags.len(), page.next_page_token.is_empty()), (1, true));
    system.stop().await;
}

/// Logs `query` as `user` ran it, with `results` results.
async fn record(search: &SearchClient, user: &TestUser, query: &str, results: i32) -> pb::RecordSearchQueryResponse {
    let request = pb::RecordSearchQueryRequest {
        request_id: Uuid::new_v4().to_string(),
        user_id: String::new(), // the caller
        query: query.into(),
        scope: pb::SearchScope::Posts as i32,
        result_count: results,
    };
    search.with_token(&user.token).record_search_query(request).await.unwrap()
}

/// The query suggestions completing `prefix`, for `user` (`None`: nobody signed in).
async fn suggested_queries(search: &SearchClient, user: Option<&TestUser>, prefix: &str) -> Vec<String> {
    let request = pb::GetSearchSuggestionsRequest { prefix: prefix.into(), user_id: String::new(), max_results: 10 };
    let caller = user.map_or_else(|| search.clone(), |user| search.with_token(&user.token));
    let suggestions = caller.get_search_suggestions(request).await.unwrap().suggestions;
    suggestions.into_iter().filter(|s| s.kind == pb::SuggestionKind::Query as i32).map(|s| s.text).collect()
}

#[tokio::test]
async fn a_logged_query_shows_to_others_only_once_five_users_ran_it() {
    let (system, search, _) = search_only().await;
    let mut users = Vec::new();
    for n in 0..6 {
        users.push(system.sign_up(&format!("searcher{n}")).await);
    }
    // Five users ran "rust async" (the first three times), four "rust macros", one "rust
    // secret plans"; a query without results is never suggested.
    for _ in 0..3 {
        record(&search, &users[0], "Rust  Async", 4).await;
    }
    for user in &users[1..5] {
        record(&search, user, "rust async", 4).await;
    }
    for user in &users[..4] {
        record(&search, user, "rust macros", 2).await;
    }
    record(&search, &users[5], "rust secret plans", 3).await;
    record(&search, &users[0], "rust zero", 0).await;

    // Trending: distinct users, only queries at least five ran.
    let trending =
        search.get_trending_searches(pb::GetTrendingSearchesRequest { window: pb::TrendingWindow::Hour as i32, max_results: 10 }).await.unwrap();
    let listed: Vec<(&str, i64)> = trending.searches.iter().map(|t| (t.query.as_str(), t.search_count)).collect();
    assert_eq!(listed, [("rust async", 5)], "one account is one vote; rarer queries never show");
    assert_eq!(trending.searches[0].growth_ratio, 0.0, "new in this window");

    // Suggestions: the caller's own queries and those five users ran, nobody else's.
    assert_eq!(suggested_queries(&search, None, "RUST").await, ["rust async"]);
    assert_eq!(suggested_queries(&search, Some(&users[4]), "rust").await, ["rust async"], "macros: four users, not this one");
    assert_eq!(suggested_queries(&search, Some(&users[5]), "rust").await, ["rust async", "rust secret plans"]);
    assert_eq!(suggested_queries(&search, Some(&users[0]), "rust").await, ["rust async", "rust macros"], "own queries weigh more");
    assert!(suggested_queries(&search, Some(&users[0]), "rust z").await.is_empty(), "no results, no suggestion");
    let empty = search.get_search_suggestions(pb::GetSearchSuggestionsRequest { prefix: "  ".into(), ..Default::default() }).await.unwrap();
    assert!(empty.suggestions.is_empty());
    // Nobody asks for someone else's: the user id is the caller's.
    let theirs = pb::GetSearchSuggestionsRequest { prefix: "rust".into(), user_id: users[5].id.clone(), max_results: 10 };
    assert_eq!(search.with_token(&users[0].token).get_search_suggestions(theirs.clone()).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(search.get_search_suggestions(theirs).await.unwrap_err().code(), Code::Unauthenticated);

    // Logging is for signed-in users, each for themself; idempotent by request id.
    let once = pb::RecordSearchQueryRequest { request_id: Uuid::new_v4().to_string(), query: "once".into(), ..Default::default() };
    let as_first = search.with_token(&users[0].token);
    let first = as_first.record_search_query(once.clone()).await.unwrap();
    let again = as_first.record_search_query(once.clone()).await.unwrap();
    assert!(!first.already_recorded && again.already_recorded);
    assert_eq!(first.query_id, again.query_id);
    assert_eq!(search.record_search_query(once.clone()).await.unwrap_err().code(), Code::Unauthenticated);
    let for_another = pb::RecordSearchQueryRequest { request_id: Uuid::new_v4().to_string(), user_id: users[5].id.clone(), ..once };
    assert_eq!(as_first.record_search_query(for_another).await.unwrap_err().code(), Code::PermissionDenied);
    let mut db = system.connect("search").await;
    let anonymous: i64 = sqlx::query_scalar("SELECT count(*) FROM search_queries WHERE user_id IS NULL").fetch_one(&mut db).await.unwrap();
    assert_eq!(anonymous, 0, "every logged query has its user");
    system.stop().await;
}

#[tokio::test]
async fn analytics_need_the_permission() {
    let (system, search, _) = search_only().await;
    let (ada, bob) = (system.sign_up("ada").await, system.sign_up("bob").await);
    record(&search, &ada, "Rust  Async", 4).await;
    record(&search, &ada, "rust async", 4).await;
    record(&search, &bob, "rust async", 1).await;
    record(&search, &bob, "zzz nothing", 0).await;
    let now = Utc::now();
    let range = pb::GetSearchAnalyticsRequest {
        start_time: Some(timestamp(now - TimeDelta::hours(1))),
        end_time: Some(timestamp(now + TimeDelta::hours(1))),
    };

    // The log's top queries as they are: for holders of `search.analytics` only.
    assert_eq!(search.get_search_analytics(range).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(search.with_token(&ada.token).get_search_analytics(range).await.unwrap_err().code(), Code::PermissionDenied);
    let mut auth_db = system.connect("auth").await;
    sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1::uuid, 'search.analytics')")
        .bind(&bob.id)
        .execute(&mut auth_db)
        .await
        .unwrap();
    let analytics = search.with_token(&bob.token).get_search_analytics(range).await.unwrap();
    assert_eq!((analytics.total_queries, analytics.unique_users), (4, 2));
    assert!((analytics.zero_result_rate - 0.25).abs() < 1e-9, "{}", analytics.zero_result_rate);
    assert_eq!((analytics.top_queries[0].query.as_str(), analytics.top_queries[0].count), ("rust async", 3));
    assert_eq!(analytics.top_zero_result_queries.iter().map(|q| q.query.as_str()).collect::<Vec<_>>(), ["zzz nothing"]);
    // Still only bob's: ada has no permission, and the service itself is not a user.
    assert_eq!(search.with_token(&ada.token).get_search_analytics(range).await.unwrap_err().code(), Code::PermissionDenied);
    let as_content = system.service_client("content", SearchClient::from_peers);
    assert_eq!(as_content.get_search_analytics(range).await.unwrap_err().code(), Code::PermissionDenied);
    system.stop().await;
}

#[tokio::test]
async fn every_rpc_refuses_bad_input_with_the_field_named() {
    let (system, search, operator) = search_only().await;
    let long = "x".repeat(257);
    let expect = |result: Result<(), tonic::Status>, field: &str| {
        let error = result.expect_err(field);
        assert_eq!(error.code(), Code::InvalidArgument, "{field}: {error:?}");
        assert!(error.message().contains(field), "{field}: {}", error.message());
    };
    let s = &search;
    // Logging needs a signed-in user, analytics and indexing their permissions.
    let ada = system.sign_up("ada").await;
    let as_ada = search.with_token(&ada.token);
    let mut auth_db = system.connect("auth").await;
    sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1::uuid, 'search.analytics')")
        .bind(&ada.id)
        .execute(&mut auth_db)
        .await
        .unwrap();
    expect(s.full_text_search(pb::FullTextSearchRequest { query: " ".into(), ..Default::default() }).await.map(drop), "query");
    expect(s.full_text_search(pb::FullTextSearchRequest { query: long.clone(), ..Default::default() }).await.map(drop), "query");
    expect(s.full_text_search(pb::FullTextSearchRequest { query: "a".into(), kinds: vec![0], ..Default::default() }).await.map(drop), "kinds");
    expect(
        s.full_text_search(pb::FullTextSearchRequest { query: "a".into(), page_token: "garbage".into(), ..Default::default() }).await.map(drop),
        "page_token",
    );
    expect(s.search_posts(pb::SearchPostsRequest { query: String::new(), ..Default::default() }).await.map(drop), "query");
    expect(s.search_posts(pb::SearchPostsRequest { query: "a".into(), page_size: -1, ..Default::default() }).await.map(drop), "page_size");
    expect(s.search_posts(pb::SearchPostsRequest { query: "a".into(), sort: 42, ..Default::default() }).await.map(drop), "sort");
    expect(s.search_users(pb::SearchUsersRequest { query: long.clone(), ..Default::default() }).await.map(drop), "query");
    expect(s.search_hashtags(pb::SearchHashtagsRequest { query: "#".into(), ..Default::default() }).await.map(drop), "query");
    expect(s.get_posts_by_hashtag(pb::GetPostsByHashtagRequest { tag: String::new(), ..Default::default() }).await.map(drop), "tag");
    expect(
        s.get_posts_by_hashtag(pb::GetPostsByHashtagRequest { tag: "a".into(), page_token: "x".into(), ..Default::default() }).await.map(drop),
        "page_token",
    );
    expect(s.get_search_suggestions(pb::GetSearchSuggestionsRequest { prefix: "x".repeat(101), ..Default::default() }).await.map(drop), "prefix");
    expect(s.advanced_search(pb::AdvancedSearchRequest::default()).await.map(drop), "query");
    let authors = (0..51).map(|_| Uuid::new_v4().to_string()).collect();
    expect(s.advanced_search(pb::AdvancedSearchRequest { author_ids: authors, ..Default::default() }).await.map(drop), "author_ids");
    let tags = (0..11).map(|i| format!("t{i}")).collect();
    expect(s.advanced_search(pb::AdvancedSearchRequest { hashtags: tags, ..Default::default() }).await.map(drop), "hashtags");
    let now = timestamp(Utc::now());
    let inverted = pb::AdvancedSearchRequest { created_after: Some(now), created_before: Some(now), ..Default::default() };
    expect(s.advanced_search(inverted).await.map(drop), "created_after");
    expect(
        as_ada.record_search_query(pb::RecordSearchQueryRequest { request_id: "1".into(), query: "a".into(), ..Default::default() }).await.map(drop),
        "request_id",
    );
    let no_query = pb::RecordSearchQueryRequest { request_id: Uuid::new_v4().to_string(), ..Default::default() };
    expect(as_ada.record_search_query(no_query).await.map(drop), "query");
    expect(s.get_trending_searches(pb::GetTrendingSearchesRequest::default()).await.map(drop), "window");
    expect(as_ada.get_search_analytics(pb::GetSearchAnalyticsRequest::default()).await.map(drop), "start_time");
    let reversed = pb::GetSearchAnalyticsRequest { start_time: Some(now), end_time: Some(now) };
    expect(as_ada.get_search_analytics(reversed).await.map(drop), "start_time");
    let far = timestamp(Utc::now() + TimeDelta::days(91));
    expect(as_ada.get_search_analytics(pb::GetSearchAnalyticsRequest { start_time: Some(now), end_time: Some(far) }).await.map(drop), "end_time");
    let s = &operator;
    expect(s.index_documents(pb::IndexDocumentsRequest::default()).await.map(drop), "documents");
    let mut hashtag = post_doc(&Uuid::new_v4().to_string(), &Uuid::new_v4().to_string(), "x", 1);
    hashtag.kind = pb::DocumentKind::Hashtag as i32;
    expect(s.index_documents(pb::IndexDocumentsRequest { documents: vec![hashtag] }).await.map(drop), "documents[0].kind");
    let negative = post_doc(&Uuid::new_v4().to_string(), &Uuid::new_v4().to_string(), "x", -1);
    expect(s.index_documents(pb::IndexDocumentsRequest { documents: vec![negative] }).await.map(drop), "documents[0].version");
    let mut undated = post_doc(&Uuid::new_v4().to_string(), &Uuid::new_v4().to_string(), "x", 1);
    undated.created_at = None;
    expect(s.index_documents(pb::IndexDocumentsRequest { documents: vec![undated] }).await.map(drop), "documents[0].created_at");
    let bad = pb::RemovedDocument { kind: pb::DocumentKind::Post as i32, id: "x".into(), version: 0 };
    expect(s.remove_documents(pb::RemoveDocumentsRequest { documents: vec![bad] }).await.map(drop), "documents[0].id");
    let many = (0..101).map(|_| removal(&Uuid::new_v4().to_string(), 0)).collect();
    expect(s.remove_documents(pb::RemoveDocumentsRequest { documents: many }).await.map(drop), "documents");
    system.stop().await;
}
