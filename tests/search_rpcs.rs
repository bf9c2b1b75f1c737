//! The search service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`), and the push from its owners: posts created,
//! edited and deleted in content, and profiles created and edited in user, reach search's
//! index through their transactional outboxes.
//!
//! Searches are read through a client without a response cache (`uncached`): callers cache
//! search answers for their TTL, and these tests watch the index change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::AuthClient;
use nova_auth::pb as auth_pb;
use nova_content::ContentClient;
use nova_content::pb as content_pb;
use nova_runtime::client::{ClientOptions, Peers};
use nova_runtime::codegen::sqlx;
use nova_runtime::convert::timestamp;
use nova_search::SearchClient;
use nova_search::pb;
use nova_tests::TestSystem;
use nova_tests::cache_probe::until;
use nova_tests::proxy::{Mode, Proxy};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;
use uuid::Uuid;

/// A search client that caches nothing, so each call reads the index as it is.
fn uncached(system: &TestSystem) -> SearchClient {
    let peers = Peers::new(ClientOptions { cache: None, ..Default::default() }).with_endpoint("search", system.member("search").service.uri());
    SearchClient::from_peers(&peers).unwrap()
}

async fn register(auth: &AuthClient, name: &str) -> String {
    let request = auth_pb::RegisterRequest { email: format!("{name}@example.com"), username: name.into(), password: "correct horse battery".into() };
    auth.register(request).await.unwrap().user.unwrap().id
}

async fn create_post(content: &ContentClient, author: &str, body: &str) -> content_pb::Post {
    let request = content_pb::CreatePostRequest {
        author_id: author.into(),
        body: body.into(),
        media_ids: vec![],
        visibility: content_pb::PostVisibility::Public as i32,
    };
    content.create_post(request).await.unwrap().post.unwrap()
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

async fn outbox_rows(system: &TestSystem, service: &str, statement: &'static str) -> i64 {
    let mut db = system.connect(service).await;
    sqlx::query_scalar(statement).fetch_one(&mut db).await.unwrap()
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
        created_at: Some(timestamp(nova_runtime::codegen::chrono::Utc::now())),
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

/// Search alone, and an uncached client of it.
async fn search_only() -> (TestSystem, SearchClient) {
    let mut system = TestSystem::new();
    system.start_with_callees("search").await;
    let search = uncached(&system);
    (system, search)
}

#[tokio::test]
async fn a_post_written_in_content_is_found_by_word_and_hashtag_until_it_is_deleted() {
    let mut system = TestSystem::new();
    system.start_with_callees("content").await;
    let (auth, content, search) = (system.client(AuthClient::from_peers), system.client(ContentClient::from_peers), uncached(&system));
    let author = register(&auth, "sunny_author").await;

    let post = create_post(&content, &author, "A sunny afternoon on the #Beach with #friends").await;
    until("the new post is indexed", || async { found(&search, "sunny").await == vec![post.id.clone()] }).await;
    assert_eq!(tagged(&search, "#beach").await, vec![post.id.clone()], "found by its hashtag, any case, with or without '#'");
    assert_eq!(tagged(&search, "FRIENDS").await, vec![post.id.clone()]);
    assert_eq!(tag_count(&search, "beach").await, 1);
    let hit = search.search_posts(pb::SearchPostsRequest { query: "sunny".into(), ..Default::default() }).await.unwrap().posts.remove(0);
    assert_eq!(hit.author_id, author);
    assert!(hit.score > 0.0);

    let request = content_pb::UpdatePostRequest {
        post_id: post.id.clone(),
        requester_id: author.clone(),
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

    content.delete_post(content_pb::DeletePostRequest { post_id: post.id.clone(), requester_id: author.clone() }).await.unwrap();
    until("the deletion is indexed", || async { found(&search, "rainy").await.is_empty() }).await;
    assert!(tagged(&search, "books").await.is_empty());
    assert_eq!(tag_count(&search, "books").await, 0);
    let all = pb::FullTextSearchRequest { query: "rainy".into(), ..Default::default() };
    assert!(search.full_text_search(all).await.unwrap().hits.is_empty());
    until("content's outbox is drained", || async {
        outbox_rows(&system, "content", "SELECT count(*) FROM post_search_outbox").await == 0
    })
    .await;
    system.stop().await;
}

#[tokio::test]
async fn a_post_written_while_search_is_down_is_pushed_by_the_reconcile() {
    let mut system = TestSystem::new();
    system.start_with_callees("search").await;
    let proxy = Proxy::start(system.member("search").service.addr).await;
    proxy.set(Mode::Reset);
    system.start_with_callees("user").await;
    system.start_with_callees("media").await;
    let endpoint = proxy.uri();
    let settings = nova_content_service::ContentSettings { search_reconcile: Duration::from_millis(50) };
    system
        .start(&nova_content::server::DESCRIPTION, move |mut config, listeners, shutdown| {
            config.peers.set_endpoint("search", endpoint);
            nova_content_service::start_with(config, settings, listeners, shutdown)
        })
        .await;
    let (auth, content, search) = (system.client(AuthClient::from_peers), system.client(ContentClient::from_peers), uncached(&system));
    let author = register(&auth, "offline_author").await;

    let post = create_post(&content, &author, "written during an #outage").await;
    // The write succeeded although search is unreachable: its change waits in the outbox.
    assert_eq!(outbox_rows(&system, "content", "SELECT count(*) FROM post_search_outbox").await, 1);
    assert!(found(&search, "outage").await.is_empty());

    proxy.set(Mode::Forward);
    until("the reconcile pushes the post", || async { found(&search, "outage").await == vec![post.id.clone()] }).await;
    assert_eq!(tag_count(&search, "outage").await, 1);
    until("the outbox is drained", || async { outbox_rows(&system, "content", "SELECT count(*) FROM post_search_outbox").await == 0 }).await;
    system.stop().await;
}

#[tokio::test]
async fn a_profile_created_while_search_is_down_is_pushed_by_the_reconcile() {
    let mut system = TestSystem::new();
    system.start_with_callees("search").await;
    let proxy = Proxy::start(system.member("search").service.addr).await;
    proxy.set(Mode::Reset);
    system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
    let endpoint = proxy.uri();
    let settings = nova_user_service::UserServiceSettings { search_reconcile: Duration::from_millis(50) };
    system
        .start(&nova_user::server::DESCRIPTION, move |mut config, listeners, shutdown| {
            config.peers.set_endpoint("search", endpoint);
            nova_user_service::start_with(config, settings, listeners, shutdown)
        })
        .await;
    let (auth, users, search) = (system.client(AuthClient::from_peers), system.client(UserClient::from_peers), uncached(&system));
    let id = register(&auth, "offline_bob").await;
    users.get_user_profile(user_pb::GetUserProfileRequest { user_id: id.clone() }).await.unwrap();
    // The profile exists although search is unreachable: its change waits in the outbox.
    assert_eq!(outbox_rows(&system, "user", "SELECT count(*) FROM profile_search_outbox").await, 1);
    assert!(users_found(&search, "offline_bob").await.is_empty());

    proxy.set(Mode::Forward);
    until("the reconcile pushes the profile", || async { users_found(&search, "offline_bob").await.iter().any(|u| u.user_id == id) }).await;
    until("the outbox is drained", || async { outbox_rows(&system, "user", "SELECT count(*) FROM profile_search_outbox").await == 0 }).await;
    system.stop().await;
}

#[tokio::test]
async fn content_without_search_still_writes_and_keeps_the_change() {
    let mut system = TestSystem::new();
    // Each started alone (user calls search too): search is never started, so it refuses
    // every connection.
    system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
    system.start(&nova_media::server::DESCRIPTION, nova_media_service::start).await;
    system.start(&nova_user::server::DESCRIPTION, nova_user_service::start).await;
    system.start(&nova_content::server::DESCRIPTION, nova_content_service::start).await;
    let (auth, content) = (system.client(AuthClient::from_peers), system.client(ContentClient::from_peers));
    let author = register(&auth, "lonely_author").await;
    let post = create_post(&content, &author, "nobody indexes this").await;
    let request = content_pb::DeletePostRequest { post_id: post.id.clone(), requester_id: author };
    content.delete_post(request).await.unwrap();
    assert_eq!(outbox_rows(&system, "content", "SELECT count(*) FROM post_search_outbox").await, 2, "create and delete both wait for search");
    system.stop().await;
}

#[tokio::test]
async fn profiles_are_found_by_name_bio_and_username() {
    let mut system = TestSystem::new();
    system.start_with_callees("user").await;
    let (auth, users, search) = (system.client(AuthClient::from_peers), system.client(UserClient::from_peers), uncached(&system));
    let id = register(&auth, "alice_w").await;
    // The first read materialises the profile, which is pushed with the username.
    let profile = users.get_user_profile(user_pb::GetUserProfileRequest { user_id: id.clone() }).await.unwrap().profile.unwrap();
    let by_username = || async {
        let request = pb::SearchUsersRequest { query: "ALICE_W".into(), ..Default::default() };
        search.search_users(request).await.unwrap().users
    };
    until("the new profile is indexed", || async { by_username().await.iter().any(|u| u.user_id == id) }).await;
    assert_eq!(by_username().await[0].username, "alice_w");

    let request = user_pb::UpdateUserProfileRequest {
        user_id: id.clone(),
        display_name: "Wonderland Explorer".into(),
        bio: "collects teapots".into(),
        version: profile.version,
        ..Default::default()
    };
    users.update_user_profile(request).await.unwrap();
    until("the edit is indexed", || async { users_found(&search, "teapots").await.iter().any(|u| u.user_id == id) }).await;
    let hits = users_found(&search, "wonderland explorer").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].username, "alice_w", "an edit without a username keeps the indexed one");
    let request = pb::GetSearchSuggestionsRequest { prefix: "Wonder".into(), ..Default::default() };
    let suggestions = search.get_search_suggestions(request).await.unwrap().suggestions;
    assert!(
        suggestions.iter().any(|s| s.kind == pb::SuggestionKind::User as i32 && s.id == id && s.text == "Wonderland Explorer"),
        "{suggestions:?}"
    );
    let mixed = search.full_text_search(pb::FullTextSearchRequest { query: "teapots".into(), ..Default::default() }).await.unwrap();
    assert_eq!(mixed.hits.len(), 1);
    assert_eq!(mixed.hits[0].kind, pb::DocumentKind::User as i32);
    assert!(mixed.hits[0].snippet.contains("teapots"), "{:?}", mixed.hits[0]);
    until("user's outbox is drained", || async { outbox_rows(&system, "user", "SELECT count(*) FROM profile_search_outbox").await == 0 }).await;
    system.stop().await;
}

#[tokio::test]
async fn changes_apply_by_version_so_late_and_repeated_ones_change_nothing() {
    let (system, search) = search_only().await;
    let (post, author) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());

    assert_eq!(index(&search, vec![post_doc(&post, &author, "newer text #kept", 2)]).await.applied, 1);
    let late = index(&search, vec![post_doc(&post, &author, "older text #lost", 1)]).await;
    assert_eq!((late.applied, late.skipped), (0, 1), "an older upsert after a newer one is skipped");
    let again = index(&search, vec![post_doc(&post, &author, "newer text #kept", 2)]).await;
    assert_eq!((again.applied, again.skipped), (0, 1), "a repeated upsert is skipped");
    assert_eq!(found(&search, "newer").await, vec![post.clone()]);
    assert!(found(&search, "older").await.is_empty());
    assert_eq!((tag_count(&search, "kept").await, tag_count(&search, "lost").await), (1, 0));

    // A removal at the same version wins (the owner's delete need not bump it); a late upsert of
    // that version does not resurrect the post, a newer one does.
    assert_eq!(remove(&search, vec![removal(&post, 2)]).await.removed, 1);
    assert_eq!(remove(&search, vec![removal(&post, 2)]).await.skipped, 1, "a repeated removal is skipped");
    assert_eq!(index(&search, vec![post_doc(&post, &author, "newer text #kept", 2)]).await.skipped, 1);
    assert!(found(&search, "newer").await.is_empty());
    assert_eq!(tag_count(&search, "kept").await, 0);
    assert_eq!(remove(&search, vec![removal(&post, 1)]).await.skipped, 1, "an older removal is skipped");
    assert_eq!(index(&search, vec![post_doc(&post, &author, "public again #kept", 3)]).await.applied, 1);
    assert_eq!(found(&search, "public").await, vec![post.clone()]);
    assert_eq!(tag_count(&search, "kept").await, 1);

    // A removal that overtakes the first upsert leaves a tombstone the upsert cannot pass.
    let early = Uuid::new_v4().to_string();
    assert_eq!(remove(&search, vec![removal(&early, 4)]).await.removed, 1);
    assert_eq!(index(&search, vec![post_doc(&early, &author, "overtaken #gone", 4)]).await.skipped, 1);
    assert!(found(&search, "overtaken").await.is_empty());
    assert_eq!(tag_count(&search, "gone").await, 0);
    system.stop().await;
}

#[tokio::test]
async fn concurrent_posts_keep_hashtag_counts_exact() {
    let (system, search) = search_only().await;
    let author = Uuid::new_v4().to_string();
    // Few enough that the concurrent calls fit the service's connection pool (10).
    let posts: Vec<String> = (0..8).map(|_| Uuid::new_v4().to_string()).collect();
    // Each post carries both tags, in alternating order; each is pushed twice at once.
    let writes = posts.iter().enumerate().flat_map(|(i, id)| {
        let body = if i % 2 == 0 { "#alpha then #beta" } else { "#beta then #alpha" };
        let doc = post_doc(id, &author, body, 1);
        [index(&search, vec![doc.clone()]), index(&search, vec![doc])]
    });
    let results = futures_util::future::join_all(writes).await;
    assert_eq!(results.iter().map(|r| r.applied).sum::<i32>(), 8, "each post applied once");
    assert_eq!((tag_count(&search, "alpha").await, tag_count(&search, "beta").await), (8, 8));

    // Half lose #alpha (an edit), a quarter are removed, concurrently.
    let edits = posts[..4].iter().map(|id| index(&search, vec![post_doc(id, &author, "only #beta now", 2)]));
    let removals = posts[4..6].iter().map(|id| remove(&search, vec![removal(id, 2)]));
    let (edited, removed) = tokio::join!(futures_util::future::join_all(edits), futures_util::future::join_all(removals));
    assert!(edited.iter().all(|r| r.applied == 1) && removed.iter().all(|r| r.removed == 1));
    assert_eq!(tag_count(&search, "alpha").await, 2);
    assert_eq!(tag_count(&search, "beta").await, 6);
    assert_eq!(tagged(&search, "alpha").await.len(), 2);
    system.stop().await;
}

#[tokio::test]
async fn searches_page_with_tokens_and_filter() {
    let (system, search) = search_only().await;
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
    index(&search, docs).await;

    // SearchPosts: 10, 10, 5, every post once, by popularity when asked.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = Vec::new();
    loop {
        let request = pb::SearchPostsRequest { query: "pagination".into(), page_size: 10, page_token: token.clone(), sort: pb::SearchSort::Popular as i32 };
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
    let first = search.search_posts(pb::SearchPostsRequest { query: "pagination".into(), page_size: 3, sort: pb::SearchSort::Popular as i32, ..Default::default() }).await.unwrap();
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
    let request = pb::FullTextSearchRequest { query: "pagination".into(), kinds: vec![pb::DocumentKind::Post as i32], page_size: 20, ..Default::default() };
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
    let future = timestamp(nova_runtime::codegen::chrono::Utc::now() + nova_runtime::codegen::chrono::TimeDelta::hours(1));
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

#[tokio::test]
async fn queries_are_logged_once_and_feed_trending_analytics_and_suggestions() {
    let (system, search) = search_only().await;
    let user = Uuid::new_v4().to_string();
    let record = |query: &'static str, results: i32, user: String| {
        let search = search.clone();
        async move {
            let request = pb::RecordSearchQueryRequest {
                request_id: Uuid::new_v4().to_string(),
                user_id: user,
                query: query.into(),
                scope: pb::SearchScope::Posts as i32,
                result_count: results,
            };
            search.record_search_query(request).await.unwrap()
        }
    };
    for _ in 0..3 {
        record("Rust  Async", 4, user.clone()).await;
    }
    record("rust macros", 2, String::new()).await;
    record("zzz nothing", 0, user.clone()).await;

    // Idempotent by request id.
    let request = pb::RecordSearchQueryRequest { request_id: Uuid::new_v4().to_string(), query: "once".into(), ..Default::default() };
    let first = search.record_search_query(request.clone()).await.unwrap();
    let again = search.record_search_query(request).await.unwrap();
    assert!(!first.already_recorded && again.already_recorded);
    assert_eq!(first.query_id, again.query_id);

    let trending = search.get_trending_searches(pb::GetTrendingSearchesRequest { window: pb::TrendingWindow::Hour as i32, max_results: 2 }).await.unwrap();
    assert_eq!(trending.searches.len(), 2);
    assert_eq!((trending.searches[0].query.as_str(), trending.searches[0].search_count), ("rust async", 3));
    assert_eq!(trending.searches[0].growth_ratio, 0.0, "new in this window");

    let now = nova_runtime::codegen::chrono::Utc::now();
    let range = pb::GetSearchAnalyticsRequest {
        start_time: Some(timestamp(now - nova_runtime::codegen::chrono::TimeDelta::hours(1))),
        end_time: Some(timestamp(now + nova_runtime::codegen::chrono::TimeDelta::hours(1))),
    };
    let analytics = search.get_search_analytics(range).await.unwrap();
    assert_eq!((analytics.total_queries, analytics.unique_users), (6, 1));
    assert!((analytics.zero_result_rate - 2.0 / 6.0).abs() < 1e-9, "zzz nothing and `once` (logged once) had no results");
    assert_eq!((analytics.top_queries[0].query.as_str(), analytics.top_queries[0].count), ("rust async", 3));
    assert!(analytics.top_zero_result_queries.iter().any(|q| q.query == "zzz nothing"));

    let request = pb::GetSearchSuggestionsRequest { prefix: "RUST".into(), user_id: user, max_results: 5 };
    let suggestions = search.get_search_suggestions(request).await.unwrap().suggestions;
    let queries: Vec<&str> = suggestions.iter().filter(|s| s.kind == pb::SuggestionKind::Query as i32).map(|s| s.text.as_str()).collect();
    assert_eq!(queries, vec!["rust async", "rust macros"], "only queries with results, most searched first");
    let empty = search.get_search_suggestions(pb::GetSearchSuggestionsRequest { prefix: "  ".into(), ..Default::default() }).await.unwrap();
    assert!(empty.suggestions.is_empty());
    system.stop().await;
}

#[tokio::test]
async fn every_rpc_refuses_bad_input_with_the_field_named() {
    let (system, search) = search_only().await;
    let long = "x".repeat(257);
    let expect = |result: Result<(), tonic::Status>, field: &str| {
        let error = result.expect_err(field);
        assert_eq!(error.code(), Code::InvalidArgument, "{field}: {error:?}");
        assert!(error.message().contains(field), "{field}: {}", error.message());
    };
    let s = &search;
    expect(s.full_text_search(pb::FullTextSearchRequest { query: " ".into(), ..Default::default() }).await.map(drop), "query");
    expect(s.full_text_search(pb::FullTextSearchRequest { query: long.clone(), ..Default::default() }).await.map(drop), "query");
    expect(s.full_text_search(pb::FullTextSearchRequest { query: "a".into(), kinds: vec![0], ..Default::default() }).await.map(drop), "kinds");
    expect(s.full_text_search(pb::FullTextSearchRequest { query: "a".into(), page_token: "garbage".into(), ..Default::default() }).await.map(drop), "page_token");
    expect(s.search_posts(pb::SearchPostsRequest { query: String::new(), ..Default::default() }).await.map(drop), "query");
    expect(s.search_posts(pb::SearchPostsRequest { query: "a".into(), page_size: -1, ..Default::default() }).await.map(drop), "page_size");
    expect(s.search_posts(pb::SearchPostsRequest { query: "a".into(), sort: 42, ..Default::default() }).await.map(drop), "sort");
    expect(s.search_users(pb::SearchUsersRequest { query: long.clone(), ..Default::default() }).await.map(drop), "query");
    expect(s.search_hashtags(pb::SearchHashtagsRequest { query: "#".into(), ..Default::default() }).await.map(drop), "query");
    expect(s.get_posts_by_hashtag(pb::GetPostsByHashtagRequest { tag: String::new(), ..Default::default() }).await.map(drop), "tag");
    expect(s.get_posts_by_hashtag(pb::GetPostsByHashtagRequest { tag: "a".into(), page_token: "x".into(), ..Default::default() }).await.map(drop), "page_token");
    expect(s.get_search_suggestions(pb::GetSearchSuggestionsRequest { prefix: "a".into(), user_id: "nope".into(), ..Default::default() }).await.map(drop), "user_id");
    expect(s.advanced_search(pb::AdvancedSearchRequest::default()).await.map(drop), "query");
    let authors = (0..51).map(|_| Uuid::new_v4().to_string()).collect();
    expect(s.advanced_search(pb::AdvancedSearchRequest { author_ids: authors, ..Default::default() }).await.map(drop), "author_ids");
    let tags = (0..11).map(|i| format!("t{i}")).collect();
    expect(s.advanced_search(pb::AdvancedSearchRequest { hashtags: tags, ..Default::default() }).await.map(drop), "hashtags");
    let now = timestamp(nova_runtime::codegen::chrono::Utc::now());
    let inverted = pb::AdvancedSearchRequest { created_after: Some(now), created_before: Some(now), ..Default::default() };
    expect(s.advanced_search(inverted).await.map(drop), "created_after");
    expect(s.record_search_query(pb::RecordSearchQueryRequest { request_id: "1".into(), query: "a".into(), ..Default::default() }).await.map(drop), "request_id");
    let no_query = pb::RecordSearchQueryRequest { request_id: Uuid::new_v4().to_string(), ..Default::default() };
    expect(s.record_search_query(no_query).await.map(drop), "query");
    expect(s.get_trending_searches(pb::GetTrendingSearchesRequest::default()).await.map(drop), "window");
    expect(s.get_search_analytics(pb::GetSearchAnalyticsRequest::default()).await.map(drop), "start_time");
    let reversed = pb::GetSearchAnalyticsRequest { start_time: Some(now), end_time: Some(now) };
    expect(s.get_search_analytics(reversed).await.map(drop), "start_time");
    let far = timestamp(nova_runtime::codegen::chrono::Utc::now() + nova_runtime::codegen::chrono::TimeDelta::days(91));
    expect(s.get_search_analytics(pb::GetSearchAnalyticsRequest { start_time: Some(now), end_time: Some(far) }).await.map(drop), "end_time");
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

#[tokio::test]
async fn handwritten_statements_prepare_against_the_migrated_schema() {
    nova_tests::statements::assert_handwritten_prepare("search", nova_search::db::MIGRATIONS, nova_search_service::STATEMENTS).await;
}
