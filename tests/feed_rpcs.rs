//! The feed service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`): auth, user, media, content and feed started callees
//! first, feed calling user and content only through their generated clients and caches.
//!
//! Feed reads are made through `Feed::fresh`, a feed client without a cache: it sees what
//! feed computes now, which is what these tests are about (feed's own clients of user and
//! content keep their caches). `invalidate_feed_cache_reaches_cached_callers` covers callers
//! that cache feed's answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_auth::AuthClient;
use nova_auth::pb as auth_pb;
use nova_content::ContentClient;
use nova_content::pb as content_pb;
use nova_feed::FeedClient;
use nova_feed::pb;
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed_service::decay;
use nova_runtime::client::{ClientOptions, Peers};
use nova_runtime::codegen::sqlx;
use nova_tests::TestSystem;
use nova_tests::cache_probe::until;
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;
use uuid::Uuid;

struct Feed {
    system: TestSystem,
    auth: AuthClient,
    users: UserClient,
    content: ContentClient,
    /// A caller that caches feed's answers, as the spec says.
    feed: FeedClient,
}

impl Feed {
    async fn start() -> Self {
        let mut system = TestSystem::new();
        system.start_with_callees(nova_feed::SERVICE).await;
        let auth = system.client(AuthClient::from_peers);
        let users = system.client(UserClient::from_peers);
        let content = system.client(ContentClient::from_peers);
        let feed = system.client(FeedClient::from_peers);
        Feed { system, auth, users, content, feed }
    }

    async fn stop(self) {
        self.system.stop().await;
    }

    /// A feed client without a cache: every call is computed by feed.
    fn fresh(&self) -> FeedClient {
        let peers = Peers::new(ClientOptions { cache: None, ..Default::default() }).with_endpoint(nova_feed::SERVICE, self.system.member(nova_feed::SERVICE).service.uri());
        FeedClient::from_peers(&peers).unwrap()
    }

    /// A registered (active) user's id.
    async fn user(&self, name: &str) -> String {
        let request =
            auth_pb::RegisterRequest { email: format!("{name}@example.com"), username: name.into(), password: "correct horse battery".into() };
        self.auth.register(request).await.unwrap().user.unwrap().id
    }

    async fn follow(&self, follower: &str, followee: &str) {
        self.users.follow(user_pb::FollowRequest { follower_id: follower.into(), followee_id: followee.into() }).await.unwrap();
    }

    async fn post(&self, author: &str, body: &str) -> String {
        self.post_with(author, body, content_pb::PostVisibility::Public).await
    }

    async fn post_with(&self, author: &str, body: &str, visibility: content_pb::PostVisibility) -> String {
        let request = content_pb::CreatePostRequest { author_id: author.into(), body: body.into(), media_ids: vec![], visibility: visibility as i32 };
        self.content.create_post(request).await.unwrap().post.unwrap().id
    }

    async fn engage(&self, request_id: &str, user: &str, post: &str, author: &str, kind: pb::EngagementType, category: &str) -> bool {
        self.feed.update_engagement_score(engagement(request_id, user, post, author, kind, category)).await.unwrap().already_recorded
    }

    /// Every page of `viewer`'s following feed (fresh), `size` at a time: post ids in order.
    async fn following_ids(&self, viewer: &str, size: i32) -> Vec<String> {
        let fresh = self.fresh();
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::GetFollowingFeedRequest { user_id: viewer.into(), page_size: size, page_token };
            let page = fresh.get_following_feed(request).await.unwrap();
            assert!(size == 0 || page.items.len() <= size as usize);
            for item in page.items {
                assert_eq!(item.reason, pb::FeedReason::Following as i32);
                ids.push(item.post_id);
            }
            if page.next_page_token.is_empty() {
                return ids;
            }
            assert!(ids.len() < 100, "paging repeats items: {ids:?}");
            page_token = page.next_page_token;
        }
    }

    async fn trending(&self, window: pb::TrendingWindow) -> Vec<pb::FeedItem> {
        let request = pb::GetTrendingFeedRequest { window: window as i32, page_size: 0, page_token: String::new() };
        self.fresh().get_trending_feed(request).await.unwrap().items
    }

    async fn preferences(
        &self,
        user: &str,
        kind: pb::FeedKind,
        categories: &[&str],
        muted: &[&str],
        version: i64,
    ) -> Result<pb::FeedMetadata, tonic::Status> {
        let request = pb::UpdateFeedPreferencesRequest {
            user_id: user.into(),
            default_feed_kind: kind as i32,
            preferred_categories: categories.iter().map(|c| c.to_string()).collect(),
            muted_author_ids: muted.iter().map(|m| m.to_string()).collect(),
            version,
        };
        self.feed.update_feed_preferences(request).await.map(|r| r.metadata.unwrap())
    }
}

fn engagement(request_id: &str, user: &str, post: &str, author: &str, kind: pb::EngagementType, category: &str) -> pb::UpdateEngagementScoreRequest {
    pb::UpdateEngagementScoreRequest {
        request_id: request_id.into(),
        user_id: user.into(),
        post_id: post.into(),
        author_id: author.into(),
        engagement_type: kind as i32,
        category: category.into(),
    }
}

/// The status of a call that must fail with `code`, its message naming `field`.
fn assert_error<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, field: &str) {
    let status = result.unwrap_err();
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(field), "{field} not named in {:?}", status.message());
}

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

fn ids(items: &[pb::FeedItem]) -> Vec<&str> {
    items.iter().map(|i| i.post_id.as_str()).collect()
}

// ----- following feed -----

#[tokio::test]
async fn following_feed_is_followed_posts_newest_first_paged_without_muted_authors() {
    let t = Feed::start().await;
    let (ada, bob, cat, dan) = (t.user("ada").await, t.user("bob").await, t.user("cat").await, t.user("dan").await);
    t.follow(&ada, &bob).await;
    t.follow(&ada, &cat).await;
    let b1 = t.post(&bob, "b1").await;
    let c1 = t.post(&cat, "c1").await;
    let _d1 = t.post(&dan, "not followed").await;
    let _own = t.post(&ada, "ada's own").await;
    let b2 = t.post_with(&bob, "b2 for followers", content_pb::PostVisibility::Followers).await;
    let _private = t.post_with(&bob, "private", content_pb::PostVisibility::Private).await;
    let c2 = t.post(&cat, "c2").await;

    // Newest first, pages of 2, the same list whatever the page size.
    let expected = vec![c2.clone(), b2.clone(), c1.clone(), b1.clone()];
    assert_eq!(t.following_ids(&ada, 2).await, expected);
    assert_eq!(t.following_ids(&ada, 0).await, expected);
    // Scores are creation times: non-increasing down the page.
    let page =
        t.fresh().get_following_feed(pb::GetFollowingFeedRequest { user_id: ada.clone(), page_size: 10, page_token: String::new() }).await.unwrap();
    assert!(page.items.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(page.items[0].author_id, cat);
    // Nobody followed: an empty feed.
    assert!(t.following_ids(&dan, 10).await.is_empty());

    // Codes: malformed id, unknown user, negative size, a token of another user's feed.
    let fresh = t.fresh();
    let read =
        |user: &str, page_size: i32, page_token: &str| pb::GetFollowingFeedRequest { user_id: user.into(), page_size, page_token: page_token.into() };
    assert_error(fresh.get_following_feed(read("nope", 0, "")).await, Code::InvalidArgument, "user_id");
    assert_error(fresh.get_following_feed(read(&new_id(), 0, "")).await, Code::NotFound, "user_id");
    assert_error(fresh.get_following_feed(read(&ada, -1, "")).await, Code::InvalidArgument, "page_size");
    let first = fresh.get_following_feed(read(&ada, 1, "")).await.unwrap();
    assert!(!first.next_page_token.is_empty());
    assert_error(fresh.get_following_feed(read(&bob, 1, &first.next_page_token)).await, Code::InvalidArgument, "page_token");
    assert_error(fresh.get_following_feed(read(&ada, 1, "garbage")).await, Code::InvalidArgument, "page_token");

    // Muting cat takes effect on the next read (preferences are feed's own).
    let metadata = t.preferences(&ada, pb::FeedKind::Following, &[], &[&cat], 0).await.unwrap();
    assert_eq!((metadata.version, metadata.muted_author_ids.clone()), (1, vec![cat.clone()]));
    assert_eq!(t.following_ids(&ada, 2).await, vec![b2.clone(), b1.clone()]);
    // GetUserFeed serves the mode the preferences choose.
    let user_feed = fresh.get_user_feed(pb::GetUserFeedRequest { user_id: ada.clone(), page_size: 0, page_token: String::new() }).await.unwrap();
    assert_eq!(user_feed.feed_kind, pb::FeedKind::Following as i32);
    assert_eq!(ids(&user_feed.items), [b2.as_str(), b1.as_str()]);
    t.stop().await;
}

#[tokio::test]
async fn unfollow_block_and_delete_take_posts_out_of_the_following_feed() {
    let t = Feed::start().await;
    let (ada, bob, cat, dan) = (t.user("ada").await, t.user("bob").await, t.user("cat").await, t.user("dan").await);
    for followee in [&bob, &cat, &dan] {
        t.follow(&ada, followee).await;
    }
    let b1 = t.post(&bob, "b1").await;
    let c1 = t.post(&cat, "c1").await;
    let d1 = t.post(&dan, "d1").await;
    let d2 = t.post(&dan, "d2").await;
    // Feed caches user's follow list and content's posts from here on.
    assert_eq!(t.following_ids(&ada, 10).await, vec![d2.clone(), d1.clone(), c1.clone(), b1.clone()]);

    // user invalidates ada's GetUserFollowing after the unfollow commits; feed's cached copy
    // (30 s) goes with it as soon as feed hears of it.
    t.users.unfollow(user_pb::UnfollowRequest { follower_id: ada.clone(), followee_id: bob.clone() }).await.unwrap();
    until("bob's post leaves ada's feed", || async { !t.following_ids(&ada, 10).await.contains(&b1) }).await;

    // A block by either side removes the follow both ways in user.
    t.users.block(user_pb::BlockRequest { blocker_id: cat.clone(), blocked_id: ada.clone() }).await.unwrap();
    until("cat's post leaves ada's feed", || async { !t.following_ids(&ada, 10).await.contains(&c1) }).await;

    // A deleted post: GetFeedPosts (cached 15 s in feed) still lists it until its TTL, but
    // every page is checked with GetPostsByIds, which content invalidates by post id.
    t.content.delete_post(content_pb::DeletePostRequest { post_id: d1.clone(), requester_id: dan.clone() }).await.unwrap();
    until("the deleted post leaves ada's feed", || async { t.following_ids(&ada, 10).await == vec![d2.clone()] }).await;
    t.stop().await;
}

// ----- cache invalidation, metadata and preferences -----

#[tokio::test]
async fn invalidate_feed_cache_reaches_cached_callers_and_is_recorded() {
    let t = Feed::start().await;
    let (ada, bob) = (t.user("ada").await, t.user("bob").await);
    t.follow(&ada, &bob).await;
    let b1 = t.post(&bob, "b1").await;
    let read = || pb::GetFollowingFeedRequest { user_id: ada.clone(), page_size: 10, page_token: String::new() };
    // The caching caller (L1 and L2) holds the page with bob's post for 30 s.
    assert_eq!(ids(&t.feed.get_following_feed(read()).await.unwrap().items), [b1.as_str()]);
    let before = t.feed.get_feed_metadata(pb::GetFeedMetadataRequest { user_id: ada.clone() }).await.unwrap().metadata.unwrap();
    assert!(before.cache_invalidated_at.is_none());
    assert!(before.last_generated_at.is_some(), "the feed was built once");
    assert_eq!((before.ranking_version.as_str(), before.default_feed_kind), ("v1", pb::FeedKind::Personalized as i32));

    t.users.unfollow(user_pb::UnfollowRequest { follower_id: ada.clone(), followee_id: bob.clone() }).await.unwrap();
    until("feed itself no longer lists bob", || async { t.following_ids(&ada, 10).await.is_empty() }).await;

    let answer = t.feed.invalidate_feed_cache(pb::InvalidateFeedCacheRequest { user_ids: vec![ada.clone(), ada.clone()] }).await.unwrap();
    assert!(answer.invalidated_at.is_some());
    // A caller without L1 would find the old page in L2: only the invalidation makes this pass.
    let other = t.system.client(FeedClient::from_peers);
    assert!(other.get_following_feed(read()).await.unwrap().items.is_empty());
    // The first caller hears of it through pub/sub.
    until("the caching caller drops the old page", || async { t.feed.get_following_feed(read()).await.unwrap().items.is_empty() }).await;
    let after = other.get_feed_metadata(pb::GetFeedMetadataRequest { user_id: ada.clone() }).await.unwrap().metadata.unwrap();
    assert_eq!(after.cache_invalidated_at, answer.invalidated_at);
    // Retrying moves the time, nothing else.
    t.feed.invalidate_feed_cache(pb::InvalidateFeedCacheRequest { user_ids: vec![ada.clone()] }).await.unwrap();

    let invalidate = |user_ids: Vec<String>| t.feed.invalidate_feed_cache(pb::InvalidateFeedCacheRequest { user_ids });
    assert_error(invalidate(vec![]).await, Code::InvalidArgument, "user_ids");
    assert_error(invalidate(vec!["x".into()]).await, Code::InvalidArgument, "user_ids");
    assert_error(invalidate((0..1001).map(|_| new_id()).collect()).await, Code::InvalidArgument, "user_ids");
    t.stop().await;
}

#[tokio::test]
async fn preferences_are_versioned_validated_and_reach_cached_metadata() {
    let t = Feed::start().await;
    let (ada, bob) = (t.user("ada").await, t.user("bob").await);
    let metadata = |user: &str| t.feed.get_feed_metadata(pb::GetFeedMetadataRequest { user_id: user.into() });
    // Defaults for a user who never had a feed (even one feed never heard of).
    let defaults = metadata(&ada).await.unwrap().metadata.unwrap();
    assert_eq!((defaults.version, defaults.default_feed_kind), (0, pb::FeedKind::Personalized as i32));
    assert!(metadata(&new_id()).await.unwrap().metadata.unwrap().muted_author_ids.is_empty());
    assert_error(metadata("nope").await, Code::InvalidArgument, "user_id");

    let stored = t.preferences(&ada, pb::FeedKind::Following, &["Music", "music", " art "], &[&bob, &bob], 0).await.unwrap();
    assert_eq!(stored.preferred_categories, ["music", "art"]);
    assert_eq!((stored.muted_author_ids.len(), stored.version), (1, 1));
    // The caching caller's metadata was invalidated by the write (it cached the defaults).
    until("the cached metadata shows the edit", || async { metadata(&ada).await.unwrap().metadata.unwrap().version == 1 }).await;
    // A stale version loses; the current one wins.
    assert_error(t.preferences(&ada, pb::FeedKind::Personalized, &[], &[], 0).await, Code::Aborted, "version");
    assert_eq!(t.preferences(&ada, pb::FeedKind::Personalized, &[], &[], 1).await.unwrap().version, 2);

    assert_error(t.preferences(&ada, pb::FeedKind::Unspecified, &[], &[], 2).await, Code::InvalidArgument, "default_feed_kind");
    assert_error(t.preferences(&ada, pb::FeedKind::Following, &[""], &[], 2).await, Code::InvalidArgument, "preferred_categories");
    assert_error(t.preferences(&ada, pb::FeedKind::Following, &[], &["x"], 2).await, Code::InvalidArgument, "muted_author_ids");
    assert_error(t.preferences("x", pb::FeedKind::Following, &[], &[], 0).await, Code::InvalidArgument, "user_id");
    assert_error(t.preferences(&new_id(), pb::FeedKind::Following, &[], &[], 0).await, Code::NotFound, "user_id");
    t.stop().await;
}

// ----- engagement, trending and popular -----

#[tokio::test]
async fn engagement_is_idempotent_and_trending_ranks_by_decayed_score_per_window() {
    let t = Feed::start().await;
    let (ada, bob) = (t.user("ada").await, t.user("bob").await);
    let liked = t.post(&bob, "liked now").await; // weight 2, now
    let viewed = t.post(&bob, "viewed thrice").await; // weight 3, now
    let old = t.post(&bob, "shared 20 hours ago").await; // weight 5, moved 20 h back below
    let request = new_id();
    assert!(!t.engage(&request, &ada, &liked, &bob, pb::EngagementType::Like, "").await);
    // The retry is acknowledged and counts nothing.
    assert!(t.engage(&request, &ada, &liked, &bob, pb::EngagementType::Like, "").await);
    for _ in 0..3 {
        t.engage(&new_id(), &ada, &viewed, &bob, pb::EngagementType::View, "Music").await;
    }
    t.engage(&new_id(), &ada, &old, &bob, pb::EngagementType::Share, "art").await;
    let mut db = t.system.connect("feed").await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM engagement_events WHERE request_id = $1")
        .bind(Uuid::parse_str(&request).unwrap())
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(events, 1);

    // Now: share (5) > three views (3) > like (2), in every window.
    for window in [pb::TrendingWindow::Hour, pb::TrendingWindow::Day, pb::TrendingWindow::Week] {
        let items = t.trending(window).await;
        assert_eq!(ids(&items), [old.as_str(), viewed.as_str(), liked.as_str()], "{window:?}");
        assert_eq!(items[1].engagement_count, 3);
        assert!(items.iter().all(|i| i.reason == pb::FeedReason::Trending as i32 && i.author_id == bob));
    }

    // The share happened 20 hours ago: as feed would have stored it then (the log-score is
    // (t - epoch) / tau, so 20 hours earlier is 72 000 s / tau lower per window).
    let taus: Vec<f64> = [TimeWindow::Hour, TimeWindow::Day, TimeWindow::Week].into_iter().map(decay::tau_seconds).collect();
    sqlx::query(
        "UPDATE trending_scores SET score = score - 72000.0 / CASE time_window WHEN 1 THEN $2 WHEN 2 THEN $3 ELSE $4 END, \
         updated_at = updated_at - interval '20 hours' WHERE post_id = $1",
    )
    .bind(Uuid::parse_str(&old).unwrap())
    .bind(taus[0])
    .bind(taus[1])
    .bind(taus[2])
    .execute(&mut db)
    .await
    .unwrap();
    // Hour: engaged over an hour ago, gone. Day (half-life 6 h): 5 * 2^(-20/6) = 0.5, last.
    // Week (half-life 2 days): 5 * 2^(-20/48) = 3.7, still first.
    assert_eq!(ids(&t.trending(pb::TrendingWindow::Hour).await), [viewed.as_str(), liked.as_str()]);
    let day = t.trending(pb::TrendingWindow::Day).await;
    assert_eq!(ids(&day), [viewed.as_str(), liked.as_str(), old.as_str()]);
    assert!((day[2].score - 5.0 * 2f64.powf(-20.0 / 6.0)).abs() < 0.01, "{}", day[2].score);
    assert_eq!(ids(&t.trending(pb::TrendingWindow::Week).await), [old.as_str(), viewed.as_str(), liked.as_str()]);

    // Paging: one at a time, the same order, a token bound to its window.
    let fresh = t.fresh();
    let mut paged = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::GetTrendingFeedRequest { window: pb::TrendingWindow::Week as i32, page_size: 1, page_token };
        let page = fresh.get_trending_feed(request).await.unwrap();
        paged.extend(page.items.into_iter().map(|i| i.post_id));
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(paged.len() < 10, "paging repeats items: {paged:?}");
        page_token = page.next_page_token;
    }
    assert_eq!(paged, [old.clone(), viewed.clone(), liked.clone()]);
    let first = fresh
        .get_trending_feed(pb::GetTrendingFeedRequest { window: pb::TrendingWindow::Week as i32, page_size: 1, page_token: String::new() })
        .await
        .unwrap();
    let other_window = pb::GetTrendingFeedRequest { window: pb::TrendingWindow::Day as i32, page_size: 1, page_token: first.next_page_token };
    assert_error(fresh.get_trending_feed(other_window).await, Code::InvalidArgument, "page_token");

    // By category (stored lower-cased), and popular by count.
    let by_category = |category: &str| pb::GetTrendingByCategoryRequest {
        category: category.into(),
        window: pb::TrendingWindow::Day as i32,
        page_size: 0,
        page_token: String::new(),
    };
    assert_eq!(ids(&fresh.get_trending_by_category(by_category(" MUSIC")).await.unwrap().items), [viewed.as_str()]);
    assert!(fresh.get_trending_by_category(by_category("unknown")).await.unwrap().items.is_empty());
    assert_error(fresh.get_trending_by_category(by_category("")).await, Code::InvalidArgument, "category");
    let popular = fresh
        .get_popular_posts(pb::GetPopularPostsRequest { window: pb::TrendingWindow::Week as i32, page_size: 0, page_token: String::new() })
        .await
        .unwrap();
    // Three views first; the two posts with one engagement each tie, ordered by post id.
    let mut tied = [old.clone(), liked.clone()];
    tied.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids(&popular.items), [viewed.as_str(), tied[0].as_str(), tied[1].as_str()]);
    assert_eq!(popular.items[0].reason, pb::FeedReason::Popular as i32);
    assert_eq!(popular.items.iter().map(|i| i.engagement_count).collect::<Vec<_>>(), [3, 1, 1]);

    // A deleted post leaves trending (content invalidates GetPostsByIds by post id).
    t.content.delete_post(content_pb::DeletePostRequest { post_id: viewed.clone(), requester_id: bob.clone() }).await.unwrap();
    until("the deleted post leaves trending", || async { !ids(&t.trending(pb::TrendingWindow::Week).await).contains(&viewed.as_str()) }).await;

    // Codes.
    let unspecified = pb::GetTrendingFeedRequest { window: 0, page_size: 0, page_token: String::new() };
    assert_error(fresh.get_trending_feed(unspecified).await, Code::InvalidArgument, "window");
    assert_error(
        fresh.get_popular_posts(pb::GetPopularPostsRequest { window: 9, page_size: 0, page_token: String::new() }).await,
        Code::InvalidArgument,
        "window",
    );
    let update = |r: pb::UpdateEngagementScoreRequest| t.feed.update_engagement_score(r);
    assert_error(update(engagement("x", &ada, &liked, &bob, pb::EngagementType::Like, "")).await, Code::InvalidArgument, "request_id");
    assert_error(update(engagement(&new_id(), &ada, "x", &bob, pb::EngagementType::Like, "")).await, Code::InvalidArgument, "post_id");
    assert_error(update(engagement(&new_id(), &ada, &liked, "", pb::EngagementType::Like, "")).await, Code::InvalidArgument, "author_id");
    assert_error(
        update(engagement(&new_id(), &ada, &liked, &bob, pb::EngagementType::Unspecified, "")).await,
        Code::InvalidArgument,
        "engagement_type",
    );
    t.stop().await;
}

/// UpdateEngagementScore, retried as a client would for an idempotent call when the server was
/// too busy to answer in time (the request id makes the retry safe).
async fn engage_until_done(feed: FeedClient, request: pb::UpdateEngagementScoreRequest) {
    let mut last = None;
    for _ in 0..50 {
        match feed.update_engagement_score(request.clone()).await {
            Ok(_) => return,
            Err(status) if matches!(status.code(), Code::DeadlineExceeded | Code::Unavailable | Code::Aborted) => last = Some(status),
            Err(status) => panic!("engagement failed: {status:?}"),
        }
    }
    panic!("engagement never recorded: {last:?}");
}

#[tokio::test]
async fn concurrent_engagements_are_each_counted_exactly_once() {
    let t = Feed::start().await;
    let (ada, bob) = (t.user("ada").await, t.user("bob").await);
    let post = t.post(&bob, "hot").await;
    let repeated = new_id();
    let mut calls = Vec::new();
    for n in 0..40 {
        // 32 distinct engagements and 8 copies of one more, all at once.
        let request_id = if n < 32 { new_id() } else { repeated.clone() };
        let request = engagement(&request_id, &ada, &post, &bob, pb::EngagementType::View, "");
        // Each writer its own client (its own circuit breaker): one caller's deadlines under
        // this contention must not fail the others fast.
        calls.push(tokio::spawn(engage_until_done(t.system.client(FeedClient::from_peers), request)));
    }
    for call in calls {
        call.await.unwrap();
    }
    let mut db = t.system.connect("feed").await;
    let post_id = Uuid::parse_str(&post).unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM engagement_events WHERE post_id = $1").bind(post_id).fetch_one(&mut db).await.unwrap();
    assert_eq!(events, 33);
    let counts: Vec<i64> = sqlx::query_scalar("SELECT engagement_count FROM trending_scores WHERE post_id = $1 ORDER BY time_window")
        .bind(post_id)
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(counts, [33, 33, 33]);
    // 33 views within moments of each other: a decayed score of about 33 now in the week window.
    let week = t.trending(pb::TrendingWindow::Week).await;
    assert_eq!(week[0].engagement_count, 33);
    assert!(week[0].score > 32.0 && week[0].score <= 33.0 + 1e-9, "{}", week[0].score);
    t.stop().await;
}

// ----- personalized feed and suggestions -----

#[tokio::test]
async fn personalized_feed_mixes_followed_and_trending_posts_with_reasons() {
    let t = Feed::start().await;
    let (ada, bob, dan, eve, new) = (t.user("ada").await, t.user("bob").await, t.user("dan").await, t.user("eve").await, t.user("new").await);
    t.follow(&ada, &bob).await;
    let followed = t.post(&bob, "followed").await;
    let music = t.post(&dan, "music").await;
    let art = t.post(&eve, "art").await;
    for post in [(&music, &dan, "music"), (&art, &eve, "art")] {
        t.engage(&new_id(), &new, post.0, post.1, pb::EngagementType::Share, post.2).await;
    }
    t.preferences(&ada, pb::FeedKind::Personalized, &["music"], &[], 0).await.unwrap();
    let read = |user: &str, page_size: i32, page_token: String| pb::GetPersonalizedFeedRequest { user_id: user.into(), page_size, page_token };
    let fresh = t.fresh();
    let items = fresh.get_personalized_feed(read(&ada, 0, String::new())).await.unwrap().items;
    let reason = |post: &str| items.iter().find(|i| i.post_id == post).map(|i| i.reason);
    assert_eq!(reason(&followed), Some(pb::FeedReason::Following as i32));
    assert_eq!(reason(&music), Some(pb::FeedReason::Interest as i32));
    assert_eq!(reason(&art), Some(pb::FeedReason::Trending as i32));
    // Best first: the preferred category doubles the share (10), above the plain share (5)
    // and the followed post (2 at its creation).
    assert_eq!(ids(&items), [music.as_str(), art.as_str(), followed.as_str()]);
    assert!(items.windows(2).all(|w| w[0].score >= w[1].score));
    // Pages of one give the same list.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = fresh.get_personalized_feed(read(&ada, 1, token)).await.unwrap();
        paged.extend(page.items.into_iter().map(|i| i.post_id));
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(paged.len() < 10, "paging repeats items: {paged:?}");
        token = page.next_page_token;
    }
    assert_eq!(paged, [music.clone(), art.clone(), followed.clone()]);

    // Muting an author removes their trending post too.
    t.preferences(&ada, pb::FeedKind::Personalized, &["music"], &[&dan], 1).await.unwrap();
    assert_eq!(ids(&fresh.get_personalized_feed(read(&ada, 0, String::new())).await.unwrap().items), [art.as_str(), followed.as_str()]);
    // A user with no follows and no preferences gets the trending feed; GetUserFeed serves it.
    let user_feed = fresh.get_user_feed(pb::GetUserFeedRequest { user_id: new.clone(), page_size: 0, page_token: String::new() }).await.unwrap();
    assert_eq!(user_feed.feed_kind, pb::FeedKind::Personalized as i32);
    assert_eq!(ids(&user_feed.items), [art.as_str(), music.as_str()]);

    assert_error(fresh.get_personalized_feed(read("x", 0, String::new())).await, Code::InvalidArgument, "user_id");
    assert_error(fresh.get_personalized_feed(read(&new_id(), 0, String::new())).await, Code::NotFound, "user_id");
    assert_error(fresh.get_personalized_feed(read(&ada, 0, "x".into())).await, Code::InvalidArgument, "page_token");
    assert_error(
        fresh.get_user_feed(pb::GetUserFeedRequest { user_id: "x".into(), page_size: 0, page_token: String::new() }).await,
        Code::InvalidArgument,
        "user_id",
    );
    t.stop().await;
}

#[tokio::test]
async fn suggestions_are_friends_of_friends_then_popular_authors_never_followed_or_blocked() {
    let t = Feed::start().await;
    let (ada, bob, cat, dan, eve, fay, gus) = (
        t.user("ada").await,
        t.user("bob").await,
        t.user("cat").await,
        t.user("dan").await,
        t.user("eve").await,
        t.user("fay").await,
        t.user("gus").await,
    );
    t.follow(&ada, &bob).await;
    t.follow(&ada, &cat).await;
    t.follow(&bob, &dan).await;
    t.follow(&cat, &dan).await;
    t.follow(&bob, &eve).await;
    t.follow(&bob, &ada).await; // ada herself is never suggested
    t.follow(&cat, &gus).await;
    // fay writes a popular post; so does bob, whom ada follows already.
    let popular = t.post(&fay, "popular").await;
    t.engage(&new_id(), &eve, &popular, &fay, pb::EngagementType::Like, "").await;
    let followed = t.post(&bob, "bob's").await;
    t.engage(&new_id(), &eve, &followed, &bob, pb::EngagementType::Like, "").await;
    // gus blocks ada: never suggested, though cat follows him (the block removed nothing of cat's).
    t.users.block(user_pb::BlockRequest { blocker_id: gus.clone(), blocked_id: ada.clone() }).await.unwrap();

    let read = |user: &str, page_size: i32, page_token: String| pb::GetSuggestedUsersRequest { user_id: user.into(), page_size, page_token };
    let fresh = t.fresh();
    let users = fresh.get_suggested_users(read(&ada, 0, String::new())).await.unwrap().users;
    let got: Vec<(&str, i32, i32)> = users.iter().map(|u| (u.user_id.as_str(), u.reason, u.mutual_follow_count)).collect();
    let mutual = pb::SuggestionReason::MutualFollows as i32;
    assert_eq!(got, [(dan.as_str(), mutual, 2), (eve.as_str(), mutual, 1), (fay.as_str(), pb::SuggestionReason::Popular as i32, 0)]);
    // Pages of one give the same list.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = fresh.get_suggested_users(read(&ada, 1, token)).await.unwrap();
        paged.extend(page.users.into_iter().map(|u| u.user_id));
        if page.next_page_token.is_empty() {
            break;
        }
        assert!(paged.len() < 10, "paging repeats items: {paged:?}");
        token = page.next_page_token;
    }
    assert_eq!(paged, [dan.clone(), eve.clone(), fay.clone()]);

    assert_error(fresh.get_suggested_users(read("x", 0, String::new())).await, Code::InvalidArgument, "user_id");
    assert_error(fresh.get_suggested_users(read(&new_id(), 0, String::new())).await, Code::NotFound, "user_id");
    assert_error(fresh.get_suggested_users(read(&ada, -3, String::new())).await, Code::InvalidArgument, "page_size");
    t.stop().await;
}

#[tokio::test]
async fn handwritten_statements_prepare() {
    nova_tests::statements::assert_handwritten_prepare("feed", nova_feed::db::MIGRATIONS, nova_feed_service::STATEMENTS).await;
}
