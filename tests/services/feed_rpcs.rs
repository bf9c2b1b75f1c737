//! The feed service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`): auth, user, media, content and feed started callees
//! first, feed calling user and content only through their generated clients and caches.
//!
//! Feed reads are made through `Feed::fresh`, a feed client without a cache: it sees what
//! feed computes now, which is what these tests are about (feed's own clients of user and
//! content keep their caches). `invalidate_feed_cache_reaches_cached_callers` covers callers
//! that cache feed's answers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_content::ContentClient;
use nova_content::pb as content_pb;
use nova_feed::FeedClient;
use nova_feed::pb;
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed_service::decay;
use nova_runtime::codegen::sqlx;
use nova_tests::cache_probe::until;
use nova_tests::eventually::until_answered;
use nova_tests::{TestSystem, TestUser};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;
use uuid::Uuid;

struct Feed {
    system: TestSystem,
    users: UserClient,
    content: ContentClient,
    /// A caller that caches feed's answers, as the spec says (the edge: `with_token` for a
    /// user's reads).
    feed: FeedClient,
}

impl Feed {
    async fn start() -> Self {
        let mut system = TestSystem::new();
        system.start_with_callees(nova_feed::SERVICE).await;
        let users = system.client(UserClient::from_peers);
        let content = system.client(ContentClient::from_peers);
        let feed = system.client(FeedClient::from_peers);
        Feed { system, users, content, feed }
    }

    async fn stop(self) {
        self.system.stop().await;
    }

    /// A feed client without a cache and without a token: every call is computed by feed.
    fn fresh(&self) -> FeedClient {
        self.system.uncached_client(FeedClient::from_peers)
    }

    /// A feed client without a cache carrying `user`'s token.
    fn fresh_as(&self, user: &TestUser) -> FeedClient {
        self.fresh().with_token(&user.token)
    }

    /// A registered (active) user, signed in.
    async fn user(&self, name: &str) -> TestUser {
        self.system.sign_up(name).await
    }

    async fn follow(&self, follower: &TestUser, followee: &TestUser) {
        let request = user_pb::FollowRequest { follower_id: follower.id.clone(), followee_id: followee.id.clone() };
        self.users.with_token(&follower.token).follow(request).await.unwrap();
    }

    async fn post(&self, author: &TestUser, body: &str) -> String {
        self.post_with(author, body, content_pb::PostVisibility::Public).await
    }

    async fn post_with(&self, author: &TestUser, body: &str, visibility: content_pb::PostVisibility) -> String {
        let request =
            content_pb::CreatePostRequest { author_id: author.id.clone(), body: body.into(), media_ids: vec![], visibility: visibility as i32 };
        self.content.with_token(&author.token).create_post(request).await.unwrap().post.unwrap().id
    }

    /// `user` engages with `post` by `author`: whether it counted (see `engage_answer`).
    async fn engage(&self, request_id: &str, user: &TestUser, post: &str, author: &TestUser, kind: pb::EngagementType, category: &str) -> bool {
        self.engage_answer(request_id, user, post, author, kind, category).await.counted
    }

    async fn engage_answer(
        &self,
        request_id: &str,
        user: &TestUser,
        post: &str,
        author: &TestUser,
        kind: pb::EngagementType,
        category: &str,
    ) -> pb::UpdateEngagementScoreResponse {
        let request = engagement(request_id, &user.id, post, &author.id, kind, category);
        self.feed.with_token(&user.token).update_engagement_score(request).await.unwrap()
    }

    /// Every page of `viewer`'s following feed (fresh), `size` at a time: post ids in order.
    async fn following_ids(&self, viewer: &TestUser, size: i32) -> Vec<String> {
        let fresh = self.fresh_as(viewer);
        let mut ids = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::GetFollowingFeedRequest { user_id: viewer.id.clone(), page_size: size, page_token };
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

    /// The trending feed as an anonymous caller reads it.
    async fn trending(&self, window: pb::TrendingWindow) -> Vec<pb::FeedItem> {
        self.trending_for(self.fresh(), window).await
    }

    async fn trending_for(&self, client: FeedClient, window: pb::TrendingWindow) -> Vec<pb::FeedItem> {
        let request = pb::GetTrendingFeedRequest { window: window as i32, page_size: 0, page_token: String::new() };
        client.get_trending_feed(request).await.unwrap().items
    }

    async fn preferences(
        &self,
        user: &TestUser,
        kind: pb::FeedKind,
        categories: &[&str],
        muted: &[&str],
        version: i64,
    ) -> Result<pb::FeedMetadata, tonic::Status> {
        let request = pb::UpdateFeedPreferencesRequest {
            user_id: user.id.clone(),
            default_feed_kind: kind as i32,
            preferred_categories: categories.iter().map(|c| c.to_string()).collect(),
            muted_author_ids: muted.iter().map(|m| m.to_string()).collect(),
            version,
        };
        self.feed.with_token(&user.token).update_feed_preferences(request).await.map(|r| r.metadata.unwrap())
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
#[track_caller]
fn assert_error<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, field: &str) {
    let status = result.unwrap_err();
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(field), "{field} not named in {:?}", status.message());
}

/// The call was refused with `code`, before the handler (whose messages name fields).
#[track_caller]
fn assert_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code) {
    assert_eq!(result.unwrap_err().code(), code);
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
    let fresh = t.fresh_as(&ada);
    let page =
        fresh.get_following_feed(pb::GetFollowingFeedRequest { user_id: ada.id.clone(), page_size: 10, page_token: String::new() }).await.unwrap();
    assert!(page.items.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(page.items[0].author_id, cat.id);
    // An empty user id is the caller's own feed.
    let own =
        fresh.get_following_feed(pb::GetFollowingFeedRequest { user_id: String::new(), page_size: 10, page_token: String::new() }).await.unwrap();
    assert_eq!(own.items, page.items);
    // Nobody followed: an empty feed.
    assert!(t.following_ids(&dan, 10).await.is_empty());

    // Codes: negative size, a token of another user's feed, a malformed token.
    let read =
        |user: &str, page_size: i32, page_token: &str| pb::GetFollowingFeedRequest { user_id: user.into(), page_size, page_token: page_token.into() };
    assert_error(fresh.get_following_feed(read(&ada.id, -1, "")).await, Code::InvalidArgument, "page_size");
    let first = fresh.get_following_feed(read(&ada.id, 1, "")).await.unwrap();
    assert!(!first.next_page_token.is_empty());
    assert_error(t.fresh_as(&bob).get_following_feed(read(&bob.id, 1, &first.next_page_token)).await, Code::InvalidArgument, "page_token");
    assert_error(fresh.get_following_feed(read(&ada.id, 1, "garbage")).await, Code::InvalidArgument, "page_token");
    // A feed is its user's: another user's token, a malformed id (not the caller's) or no token
    // at all read nothing of it.
    assert_error(t.fresh_as(&bob).get_following_feed(read(&ada.id, 0, "")).await, Code::PermissionDenied, "user_id");
    assert_error(fresh.get_following_feed(read("nope", 0, "")).await, Code::PermissionDenied, "user_id");
    assert_error(fresh.get_following_feed(read(&new_id(), 0, "")).await, Code::PermissionDenied, "user_id");
    assert_code(t.fresh().get_following_feed(read(&ada.id, 0, "")).await, Code::Unauthenticated);
    assert_code(t.fresh().get_following_feed(read("", 0, "")).await, Code::Unauthenticated);
    let user_feed = |user: &str| pb::GetUserFeedRequest { user_id: user.into(), page_size: 0, page_token: String::new() };
    assert_error(t.fresh_as(&bob).get_user_feed(user_feed(&ada.id)).await, Code::PermissionDenied, "user_id");
    let personalized = pb::GetPersonalizedFeedRequest { user_id: ada.id.clone(), page_size: 0, page_token: String::new() };
    assert_error(t.fresh_as(&bob).get_personalized_feed(personalized).await, Code::PermissionDenied, "user_id");

    // Muting cat takes effect on the next read (preferences are feed's own).
    let metadata = t.preferences(&ada, pb::FeedKind::Following, &[], &[&cat.id], 0).await.unwrap();
    assert_eq!((metadata.version, metadata.muted_author_ids.clone()), (1, vec![cat.id.clone()]));
    assert_eq!(t.following_ids(&ada, 2).await, vec![b2.clone(), b1.clone()]);
    // GetUserFeed serves the mode the preferences choose.
    let served = fresh.get_user_feed(user_feed(&ada.id)).await.unwrap();
    assert_eq!(served.feed_kind, pb::FeedKind::Following as i32);
    assert_eq!(ids(&served.items), [b2.as_str(), b1.as_str()]);
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
    let unfollow = user_pb::UnfollowRequest { follower_id: ada.id.clone(), followee_id: bob.id.clone() };
    t.users.with_token(&ada.token).unfollow(unfollow).await.unwrap();
    until("bob's post leaves ada's feed", || async { !t.following_ids(&ada, 10).await.contains(&b1) }).await;

    // A block by either side removes the follow both ways in user.
    let block = user_pb::BlockRequest { blocker_id: cat.id.clone(), blocked_id: ada.id.clone() };
    t.users.with_token(&cat.token).block(block).await.unwrap();
    until("cat's post leaves ada's feed", || async { !t.following_ids(&ada, 10).await.contains(&c1) }).await;

    // A deleted post: GetFeedPosts (cached 15 s in feed) still lists it until its TTL, but
    // every page is checked with GetPostsByIds, which content invalidates by post id.
    let delete = content_pb::DeletePostRequest { post_id: d1.clone(), requester_id: dan.id.clone() };
    t.content.with_token(&dan.token).delete_post(delete).await.unwrap();
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
    let as_ada = t.feed.with_token(&ada.token);
    let read = || pb::GetFollowingFeedRequest { user_id: ada.id.clone(), page_size: 10, page_token: String::new() };
    let metadata = || pb::GetFeedMetadataRequest { user_id: ada.id.clone() };
    // The caching caller (L1 and L2) holds the page with bob's post for 30 s.
    assert_eq!(ids(&as_ada.get_following_feed(read()).await.unwrap().items), [b1.as_str()]);
    let before = as_ada.get_feed_metadata(metadata()).await.unwrap().metadata.unwrap();
    assert!(before.cache_invalidated_at.is_none());
    assert!(before.last_generated_at.is_some(), "the feed was built once");
    assert_eq!((before.ranking_version.as_str(), before.default_feed_kind), ("v1", pb::FeedKind::Personalized as i32));

    let unfollow = user_pb::UnfollowRequest { follower_id: ada.id.clone(), followee_id: bob.id.clone() };
    t.users.with_token(&ada.token).unfollow(unfollow).await.unwrap();
    until("feed itself no longer lists bob", || async { t.following_ids(&ada, 10).await.is_empty() }).await;

    let answer = as_ada.invalidate_feed_cache(pb::InvalidateFeedCacheRequest { user_ids: vec![ada.id.clone(), ada.id.clone()] }).await.unwrap();
    assert!(answer.invalidated_at.is_some());
    // A caller without L1 would find the old page in L2: only the invalidation makes this pass.
    let other = t.system.client(FeedClient::from_peers).with_token(&ada.token);
    assert!(other.get_following_feed(read()).await.unwrap().items.is_empty());
    // The first caller hears of it through pub/sub.
    until("the caching caller drops the old page", || async { as_ada.get_following_feed(read()).await.unwrap().items.is_empty() }).await;
    let after = other.get_feed_metadata(metadata()).await.unwrap().metadata.unwrap();
    assert_eq!(after.cache_invalidated_at, answer.invalidated_at);
    // Retrying moves the time, nothing else.
    as_ada.invalidate_feed_cache(pb::InvalidateFeedCacheRequest { user_ids: vec![ada.id.clone()] }).await.unwrap();

    let invalidate = |user_ids: Vec<String>| as_ada.invalidate_feed_cache(pb::InvalidateFeedCacheRequest { user_ids });
    assert_error(invalidate(vec![]).await, Code::InvalidArgument, "user_ids");
    assert_error(invalidate(vec!["x".into()]).await, Code::InvalidArgument, "user_ids");
    assert_error(invalidate((0..1001).map(|_| new_id()).collect()).await, Code::InvalidArgument, "user_ids");
    // A user drops only their own feeds: not bob's, not even alongside their own; nobody
    // without a token drops any.
    let invalidated_at = |user: &TestUser| {
        let client = t.fresh_as(user);
        let id = user.id.clone();
        async move { client.get_feed_metadata(pb::GetFeedMetadataRequest { user_id: id }).await.unwrap().metadata.unwrap().cache_invalidated_at }
    };
    assert_error(invalidate(vec![bob.id.clone()]).await, Code::PermissionDenied, "user_ids");
    assert_error(invalidate(vec![ada.id.clone(), bob.id.clone()]).await, Code::PermissionDenied, "user_ids");
    let anonymous = t.feed.invalidate_feed_cache(pb::InvalidateFeedCacheRequest { user_ids: vec![bob.id.clone()] }).await;
    assert_code(anonymous, Code::Unauthenticated);
    assert_eq!(invalidated_at(&bob).await, None, "bob's feeds were never invalidated");
    // The metadata is the user's own too.
    assert_error(t.fresh_as(&bob).get_feed_metadata(metadata()).await, Code::PermissionDenied, "user_id");
    assert_code(t.fresh().get_feed_metadata(metadata()).await, Code::Unauthenticated);
    t.stop().await;
}

#[tokio::test]
async fn preferences_are_versioned_validated_and_reach_cached_metadata() {
    let t = Feed::start().await;
    let (ada, bob) = (t.user("ada").await, t.user("bob").await);
    let as_ada = t.feed.with_token(&ada.token);
    let metadata = |user: &str| as_ada.get_feed_metadata(pb::GetFeedMetadataRequest { user_id: user.into() });
    // Defaults for a user who never had a feed.
    let defaults = metadata(&ada.id).await.unwrap().metadata.unwrap();
    assert_eq!((defaults.version, defaults.default_feed_kind), (0, pb::FeedKind::Personalized as i32));
    assert!(defaults.muted_author_ids.is_empty());

    let stored = t.preferences(&ada, pb::FeedKind::Following, &["Music", "music", " art "], &[&bob.id, &bob.id], 0).await.unwrap();
    assert_eq!(stored.preferred_categories, ["music", "art"]);
    assert_eq!((stored.muted_author_ids.len(), stored.version), (1, 1));
    // The caching caller's metadata was invalidated by the write (it cached the defaults).
    until("the cached metadata shows the edit", || async { metadata(&ada.id).await.unwrap().metadata.unwrap().version == 1 }).await;
    // A stale version loses; the current one wins.
    assert_error(t.preferences(&ada, pb::FeedKind::Personalized, &[], &[], 0).await, Code::Aborted, "version");
    assert_eq!(t.preferences(&ada, pb::FeedKind::Personalized, &[], &[], 1).await.unwrap().version, 2);

    assert_error(t.preferences(&ada, pb::FeedKind::Unspecified, &[], &[], 2).await, Code::InvalidArgument, "default_feed_kind");
    assert_error(t.preferences(&ada, pb::FeedKind::Following, &[""], &[], 2).await, Code::InvalidArgument, "preferred_categories");
    assert_error(t.preferences(&ada, pb::FeedKind::Following, &[], &["x"], 2).await, Code::InvalidArgument, "muted_author_ids");
    // Preferences are the user's own: bob's token changes nothing of ada's, reads none of
    // them, and nobody without a token does either.
    let for_ada = pb::UpdateFeedPreferencesRequest {
        user_id: ada.id.clone(),
        default_feed_kind: pb::FeedKind::Following as i32,
        version: 2,
        ..Default::default()
    };
    let as_bob = t.feed.with_token(&bob.token);
    assert_error(as_bob.update_feed_preferences(for_ada.clone()).await, Code::PermissionDenied, "user_id");
    assert_code(t.feed.update_feed_preferences(for_ada).await, Code::Unauthenticated);
    assert_error(as_bob.get_feed_metadata(pb::GetFeedMetadataRequest { user_id: ada.id.clone() }).await, Code::PermissionDenied, "user_id");
    assert_error(metadata("nope").await, Code::PermissionDenied, "user_id");
    assert_eq!(metadata(&ada.id).await.unwrap().metadata.unwrap().version, 2, "no refused call wrote");
    t.stop().await;
}

// ----- engagement, trending and popular -----

#[tokio::test]
async fn engagement_is_idempotent_and_trending_ranks_by_decayed_score_per_window() {
    let t = Feed::start().await;
    let (ada, bob, cyd, dan) = (t.user("ada").await, t.user("bob").await, t.user("cyd").await, t.user("dan").await);
    let liked = t.post(&bob, "liked now").await; // weight 2, now
    let viewed = t.post(&bob, "viewed thrice").await; // weight 3, now
    let old = t.post(&bob, "shared 20 hours ago").await; // weight 5, moved 20 h back below
    let request = new_id();
    let first = t.engage_answer(&request, &ada, &liked, &bob, pb::EngagementType::Like, "").await;
    assert_eq!((first.already_recorded, first.counted), (false, true));
    // The retry is acknowledged and counts nothing.
    let retry = t.engage_answer(&request, &ada, &liked, &bob, pb::EngagementType::Like, "").await;
    assert_eq!((retry.already_recorded, retry.counted), (true, false));
    // Three users view it (each view counts: one per user).
    for viewer in [&ada, &cyd, &dan] {
        assert!(t.engage(&new_id(), viewer, &viewed, &bob, pb::EngagementType::View, "Music").await);
    }
    assert!(t.engage(&new_id(), &ada, &old, &bob, pb::EngagementType::Share, "art").await);
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
        assert!(items.iter().all(|i| i.reason == pb::FeedReason::Trending as i32 && i.author_id == bob.id));
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
    let delete = content_pb::DeletePostRequest { post_id: viewed.clone(), requester_id: bob.id.clone() };
    t.content.with_token(&bob.token).delete_post(delete).await.unwrap();
    until("the deleted post leaves trending", || async { !ids(&t.trending(pb::TrendingWindow::Week).await).contains(&viewed.as_str()) }).await;

    // Codes.
    let unspecified = pb::GetTrendingFeedRequest { window: 0, page_size: 0, page_token: String::new() };
    assert_error(fresh.get_trending_feed(unspecified).await, Code::InvalidArgument, "window");
    assert_error(
        fresh.get_popular_posts(pb::GetPopularPostsRequest { window: 9, page_size: 0, page_token: String::new() }).await,
        Code::InvalidArgument,
        "window",
    );
    let as_ada = t.feed.with_token(&ada.token);
    let update = |r: pb::UpdateEngagementScoreRequest| as_ada.update_engagement_score(r);
    assert_error(update(engagement("x", &ada.id, &liked, &bob.id, pb::EngagementType::Like, "")).await, Code::InvalidArgument, "request_id");
    assert_error(update(engagement(&new_id(), &ada.id, "x", &bob.id, pb::EngagementType::Like, "")).await, Code::InvalidArgument, "post_id");
    assert_error(update(engagement(&new_id(), &ada.id, &liked, "", pb::EngagementType::Like, "")).await, Code::InvalidArgument, "author_id");
    assert_error(
        update(engagement(&new_id(), &ada.id, &liked, &bob.id, pb::EngagementType::Unspecified, "")).await,
        Code::InvalidArgument,
        "engagement_type",
    );
    t.stop().await;
}

/// UpdateEngagementScore, retried as a client would for an idempotent call when the server was
/// too busy to answer in time (the request id makes the retry safe).
async fn engage_until_done(feed: FeedClient, request: pb::UpdateEngagementScoreRequest) {
    until_answered("UpdateEngagementScore", || feed.update_engagement_score(request.clone())).await;
}

#[tokio::test]
async fn concurrent_engagements_are_each_counted_exactly_once() {
    let t = Feed::start().await;
    let bob = t.user("bob").await;
    let mut fans = Vec::new();
    for n in 0..6 {
        fans.push(t.user(&format!("fan{n}")).await);
    }
    let post = t.post(&bob, "hot").await;
    let kinds =
        [pb::EngagementType::View, pb::EngagementType::Like, pb::EngagementType::Comment, pb::EngagementType::Share, pb::EngagementType::Bookmark];
    let mut calls = Vec::new();
    let mut requests = 0;
    for fan in &fans {
        // Each fan: every kind twice under new request ids, and one of them repeated, all at once.
        let repeated = new_id();
        for (n, kind) in kinds.iter().chain(kinds.iter()).enumerate() {
            let request_id = if n == 0 { repeated.clone() } else { new_id() };
            let request = engagement(&request_id, &fan.id, &post, &bob.id, *kind, "");
            // Each writer its own client (its own circuit breaker): one caller's deadlines under
            // this contention must not fail the others fast.
            let client = t.system.client(FeedClient::from_peers).with_token(&fan.token);
            calls.push(tokio::spawn(engage_until_done(client.clone(), request.clone())));
            if n == 0 {
                calls.push(tokio::spawn(engage_until_done(client, request)));
            }
            requests += 1;
        }
    }
    for call in calls {
        call.await.unwrap();
    }
    let mut db = t.system.connect("feed").await;
    let post_id = Uuid::parse_str(&post).unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM engagement_events WHERE post_id = $1").bind(post_id).fetch_one(&mut db).await.unwrap();
    assert_eq!(events, requests, "every request id logged once");
    let counts: Vec<i64> = sqlx::query_scalar("SELECT engagement_count FROM trending_scores WHERE post_id = $1 ORDER BY time_window")
        .bind(post_id)
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(counts, [30, 30, 30], "six users, five kinds each, each counted once");
    // Each user's five kinds weigh 1 + 2 + 3 + 4 + 5 = 15, within moments of each other: a
    // decayed score of about 6 * 15 = 90 now in the week window.
    let week = t.trending(pb::TrendingWindow::Week).await;
    assert_eq!(week[0].engagement_count, 30);
    assert!(week[0].score > 89.0 && week[0].score <= 90.0 + 1e-9, "{}", week[0].score);
    t.stop().await;
}

#[tokio::test]
async fn one_account_cannot_pump_a_post() {
    let t = Feed::start().await;
    let (ada, bob, cyd) = (t.user("ada").await, t.user("bob").await, t.user("cyd").await);
    let pumped = t.post(&bob, "pumped").await;
    let steady = t.post(&cyd, "steady").await;
    // cyd's post: two users like it (4). bob's: ada likes it, then again and again under new
    // request ids, and shares it twice.
    assert!(t.engage(&new_id(), &ada, &steady, &cyd, pb::EngagementType::Like, "").await);
    assert!(t.engage(&new_id(), &bob, &steady, &cyd, pb::EngagementType::Like, "").await);
    assert!(t.engage(&new_id(), &ada, &pumped, &bob, pb::EngagementType::Like, "").await);
    for _ in 0..20 {
        let again = t.engage_answer(&new_id(), &ada, &pumped, &bob, pb::EngagementType::Like, "").await;
        assert_eq!((again.already_recorded, again.counted), (false, false), "a like counts once per user and post");
    }
    assert!(t.engage(&new_id(), &ada, &pumped, &bob, pb::EngagementType::Share, "").await, "another kind counts");
    assert!(!t.engage(&new_id(), &ada, &pumped, &bob, pb::EngagementType::Share, "").await);
    let items = t.trending(pb::TrendingWindow::Hour).await;
    assert_eq!(ids(&items), [pumped.as_str(), steady.as_str()], "like + share (7) over two likes (4)");
    assert_eq!(items.iter().map(|i| i.engagement_count).collect::<Vec<_>>(), [2, 2]);

    // Views count once per user and post a day: a second view now counts nothing, one 24 hours
    // after the view that counted counts again.
    assert!(t.engage(&new_id(), &cyd, &pumped, &bob, pb::EngagementType::View, "").await);
    assert!(!t.engage(&new_id(), &cyd, &pumped, &bob, pb::EngagementType::View, "").await);
    let mut db = t.system.connect("feed").await;
    sqlx::query("UPDATE counted_engagements SET counted_at = counted_at - interval '24 hours' WHERE user_id = $1::uuid AND post_id = $2::uuid")
        .bind(&cyd.id)
        .bind(&pumped)
        .execute(&mut db)
        .await
        .unwrap();
    assert!(t.engage(&new_id(), &cyd, &pumped, &bob, pb::EngagementType::View, "").await, "a day later");
    assert!(!t.engage(&new_id(), &cyd, &pumped, &bob, pb::EngagementType::View, "").await);
    // (Only views count again: the like of long ago still counts nothing.)
    sqlx::query("UPDATE counted_engagements SET counted_at = counted_at - interval '48 hours' WHERE user_id = $1::uuid")
        .bind(&ada.id)
        .execute(&mut db)
        .await
        .unwrap();
    assert!(!t.engage(&new_id(), &ada, &pumped, &bob, pb::EngagementType::Like, "").await);
    let counts: Vec<i64> = sqlx::query_scalar("SELECT engagement_count FROM trending_scores WHERE post_id = $1::uuid ORDER BY time_window")
        .bind(&pumped)
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(counts, [4, 4, 4], "a like, a share and two views");
    let logged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM engagement_events WHERE post_id = $1::uuid").bind(&pumped).fetch_one(&mut db).await.unwrap();
    assert_eq!(logged, 28, "every engagement is logged, counted or not");

    // The engaging user is the caller, the post one content shows them, by its real author.
    let as_ada = t.feed.with_token(&ada.token);
    let for_cyd = engagement(&new_id(), &cyd.id, &steady, &cyd.id, pb::EngagementType::Share, "");
    assert_error(as_ada.update_engagement_score(for_cyd.clone()).await, Code::PermissionDenied, "user_id");
    assert_code(t.feed.update_engagement_score(for_cyd).await, Code::Unauthenticated);
    let unknown = engagement(&new_id(), &ada.id, &new_id(), &bob.id, pb::EngagementType::Share, "");
    assert_error(as_ada.update_engagement_score(unknown).await, Code::NotFound, "post_id");
    let misattributed = engagement(&new_id(), &ada.id, &steady, &bob.id, pb::EngagementType::Share, "");
    assert_error(as_ada.update_engagement_score(misattributed).await, Code::InvalidArgument, "author_id");
    let deleted = t.post(&bob, "gone soon").await;
    let delete = content_pb::DeletePostRequest { post_id: deleted.clone(), requester_id: bob.id.clone() };
    t.content.with_token(&bob.token).delete_post(delete).await.unwrap();
    let on_deleted = engagement(&new_id(), &ada.id, &deleted, &bob.id, pb::EngagementType::Like, "");
    assert_error(as_ada.update_engagement_score(on_deleted).await, Code::NotFound, "post_id");
    assert_eq!(ids(&t.trending(pb::TrendingWindow::Hour).await), [pumped.as_str(), steady.as_str()], "no refused call counted");
    t.stop().await;
}

#[tokio::test]
async fn trending_and_popular_list_only_public_posts_whoever_asks() {
    let t = Feed::start().await;
    let (ada, bob) = (t.user("ada").await, t.user("bob").await);
    t.follow(&bob, &ada).await;
    let public = t.post(&ada, "for everyone").await;
    let followers = t.post_with(&ada, "for followers", content_pb::PostVisibility::Followers).await;
    let private = t.post_with(&ada, "for ada", content_pb::PostVisibility::Private).await;
    // Engaged with by their author (who sees them all): the scores exist for all three.
    for post in [&public, &followers, &private] {
        assert!(t.engage(&new_id(), &ada, post, &ada, pb::EngagementType::Share, "").await);
    }
    let mut db = t.system.connect("feed").await;
    let scored: i64 = sqlx::query_scalar("SELECT count(DISTINCT post_id) FROM trending_scores").fetch_one(&mut db).await.unwrap();
    assert_eq!(scored, 3);
    // The lists are one answer for every caller: the author, a follower and an anonymous caller
    // all get the public post only (computed by feed as itself, never with a caller's token).
    for (who, client) in [("ada", t.fresh_as(&ada)), ("bob", t.fresh_as(&bob)), ("anonymous", t.fresh())] {
        for window in [pb::TrendingWindow::Hour, pb::TrendingWindow::Week] {
            assert_eq!(ids(&t.trending_for(client.clone(), window).await), [public.as_str()], "{who}, {window:?}");
        }
        let popular = pb::GetPopularPostsRequest { window: pb::TrendingWindow::Day as i32, page_size: 0, page_token: String::new() };
        assert_eq!(ids(&client.get_popular_posts(popular).await.unwrap().items), [public.as_str()], "{who}");
    }
    // Through a caching caller too: what one caller cached is what the others get.
    let cached = t.trending_for(t.feed.with_token(&ada.token), pb::TrendingWindow::Day).await;
    assert_eq!(ids(&cached), [public.as_str()]);
    assert_eq!(ids(&t.trending_for(t.feed.clone(), pb::TrendingWindow::Day).await), [public.as_str()]);
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
    let read =
        |user: &TestUser, page_size: i32, page_token: String| pb::GetPersonalizedFeedRequest { user_id: user.id.clone(), page_size, page_token };
    let fresh = t.fresh_as(&ada);
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
    t.preferences(&ada, pb::FeedKind::Personalized, &["music"], &[&dan.id], 1).await.unwrap();
    assert_eq!(ids(&fresh.get_personalized_feed(read(&ada, 0, String::new())).await.unwrap().items), [art.as_str(), followed.as_str()]);
    // A user with no follows and no preferences gets the trending feed; GetUserFeed serves it.
    let user_feed =
        t.fresh_as(&new).get_user_feed(pb::GetUserFeedRequest { user_id: new.id.clone(), page_size: 0, page_token: String::new() }).await.unwrap();
    assert_eq!(user_feed.feed_kind, pb::FeedKind::Personalized as i32);
    assert_eq!(ids(&user_feed.items), [art.as_str(), music.as_str()]);

    assert_error(fresh.get_personalized_feed(read(&ada, 0, "x".into())).await, Code::InvalidArgument, "page_token");
    assert_error(fresh.get_personalized_feed(read(&new, 0, String::new())).await, Code::PermissionDenied, "user_id");
    assert_code(t.fresh().get_personalized_feed(read(&ada, 0, String::new())).await, Code::Unauthenticated);
    assert_error(
        fresh.get_user_feed(pb::GetUserFeedRequest { user_id: "x".into(), page_size: 0, page_token: String::new() }).await,
        Code::PermissionDenied,
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
    t.users.with_token(&gus.token).block(user_pb::BlockRequest { blocker_id: gus.id.clone(), blocked_id: ada.id.clone() }).await.unwrap();

    let read = |user: &TestUser, page_size: i32, page_token: String| pb::GetSuggestedUsersRequest { user_id: user.id.clone(), page_size, page_token };
    let fresh = t.fresh_as(&ada);
    let users = fresh.get_suggested_users(read(&ada, 0, String::new())).await.unwrap().users;
    let got: Vec<(&str, i32, i32)> = users.iter().map(|u| (u.user_id.as_str(), u.reason, u.mutual_follow_count)).collect();
    let mutual = pb::SuggestionReason::MutualFollows as i32;
    assert_eq!(got, [(dan.id.as_str(), mutual, 2), (eve.id.as_str(), mutual, 1), (fay.id.as_str(), pb::SuggestionReason::Popular as i32, 0)]);
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
    assert_eq!(paged, [dan.id.clone(), eve.id.clone(), fay.id.clone()]);

    assert_error(fresh.get_suggested_users(read(&ada, -3, String::new())).await, Code::InvalidArgument, "page_size");
    // Suggestions are the user's own: they tell whom one follows.
    assert_error(fresh.get_suggested_users(read(&bob, 0, String::new())).await, Code::PermissionDenied, "user_id");
    assert_code(t.fresh().get_suggested_users(read(&ada, 0, String::new())).await, Code::Unauthenticated);
    t.stop().await;
}
