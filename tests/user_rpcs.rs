//! The user service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_auth::AuthClient;
use nova_auth::pb as auth_pb;
use nova_runtime::client::{Level, Lookup};
use nova_runtime::codegen::prost::Message;
use nova_runtime::codegen::sqlx;
use nova_runtime::rpc::RpcDescriptor;
use nova_tests::TestSystem;
use nova_tests::cache_probe::until;
use nova_user::UserClient;
use nova_user::pb;
use tonic::{Code, Status};

/// user started after its callees (auth), each with its own database, with a caller of each.
struct Fixture {
    system: TestSystem,
    auth: AuthClient,
    users: UserClient,
}

async fn fixture() -> Fixture {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_user::SERVICE).await;
    let auth = system.client(AuthClient::from_peers);
    let users = system.client(UserClient::from_peers);
    Fixture { system, auth, users }
}

impl Fixture {
    /// Registers `username` with auth; its id.
    async fn register(&self, username: &str) -> String {
        let request = auth_pb::RegisterRequest {
            email: format!("{username}@example.com"),
            username: username.to_string(),
            password: "correct horse battery".to_string(),
        };
        self.auth.register(request).await.unwrap().user.unwrap().id
    }

    /// Deletes a user in auth's own database (no RPC for it yet), before anyone looked it up.
    async fn delete_in_auth(&self, id: &str) {
        let mut auth_db = self.system.connect("auth").await;
        sqlx::query("UPDATE users SET deleted_at = now(), status = 3 WHERE id = $1::uuid").bind(id).execute(&mut auth_db).await.unwrap();
    }

    async fn profile(&self, id: &str) -> pb::UserProfile {
        self.users.get_user_profile(pb::GetUserProfileRequest { user_id: id.to_string() }).await.unwrap().profile.unwrap()
    }

    async fn follow(&self, follower: &str, followee: &str) -> Result<pb::FollowResponse, Status> {
        self.users.follow(pb::FollowRequest { follower_id: follower.to_string(), followee_id: followee.to_string() }).await
    }

    async fn unfollow(&self, follower: &str, followee: &str) -> Result<pb::UnfollowResponse, Status> {
        self.users.unfollow(pb::UnfollowRequest { follower_id: follower.to_string(), followee_id: followee.to_string() }).await
    }

    async fn block(&self, blocker: &str, blocked: &str) -> Result<pb::BlockResponse, Status> {
        self.users.block(pb::BlockRequest { blocker_id: blocker.to_string(), blocked_id: blocked.to_string() }).await
    }

    async fn unblock(&self, blocker: &str, blocked: &str) -> Result<pb::UnblockResponse, Status> {
        self.users.unblock(pb::UnblockRequest { blocker_id: blocker.to_string(), blocked_id: blocked.to_string() }).await
    }

    /// A caller with an empty L1 (it still shares L2): what it reads right after a write is
    /// what the service holds, since a write invalidates L2 before it answers. A caller that
    /// cached the old answer in L1 learns of the write through pub/sub, a moment later.
    fn fresh(&self) -> UserClient {
        self.system.client(UserClient::from_peers)
    }

    async fn relationship(&self, user: &str, other: &str) -> pb::CheckUserRelationshipResponse {
        let request = pb::CheckUserRelationshipRequest { user_id: user.to_string(), other_user_id: other.to_string() };
        self.fresh().check_user_relationship(request).await.unwrap()
    }

    /// (follower_count, following_count) as the service answers them now.
    async fn counts(&self, id: &str) -> (i64, i64) {
        let request = pb::GetUserProfileRequest { user_id: id.to_string() };
        let profile = self.fresh().get_user_profile(request).await.unwrap().profile.unwrap();
        (profile.follower_count, profile.following_count)
    }

    /// A number read from the user service's database.
    async fn stored(&self, sql: &str) -> i64 {
        let mut db = self.system.connect("user").await;
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(&mut db).await.unwrap()
    }
}

/// The call failed with `code`, and its message names `field`.
#[track_caller]
fn assert_error<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, field: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(field), "the message should name {field}: {status:?}");
}

/// Waits until the answer `client` cached for `request` (naming `entities`) is in Redis: from
/// then on, a caller without it in L1 would be served this answer unless a write invalidated it.
async fn until_in_l2<R: Message>(client: &UserClient, rpc: &RpcDescriptor, request: &R, entities: &[String]) {
    let cache = client.core().cache().unwrap();
    let key = client.core().cache_key(rpc, request, entities).unwrap();
    until(&format!("the cached answer of {} reached Redis", rpc.method), || async {
        matches!(cache.lookup_l2(&key).await.0, Lookup::Fresh(_, Level::L2))
    })
    .await;
}

fn unknown_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn profiles_are_materialised_from_auth_on_first_read() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    assert_eq!(f.stored("SELECT count(*) FROM profiles").await, 0, "registering writes nothing here");

    let profile = f.profile(&ada).await;
    assert_eq!((profile.user_id.as_str(), profile.display_name.as_str()), (ada.as_str(), "ada"));
    assert_eq!((profile.follower_count, profile.following_count, profile.version), (0, 0, 0));
    assert_eq!(profile.visibility, pb::ProfileVisibility::Public as i32);
    assert!(profile.created_at.is_some());
    assert_eq!(f.profile(&ada).await, profile);
    let other_caller = f.system.client(UserClient::from_peers);
    let again = other_caller.get_user_profile(pb::GetUserProfileRequest { user_id: ada.clone() }).await.unwrap().profile.unwrap();
    assert_eq!(again, profile);
    assert_eq!(f.stored("SELECT count(*) FROM profiles").await, 1, "materialised once");

    let unknown = f.users.get_user_profile(pb::GetUserProfileRequest { user_id: unknown_id() }).await;
    assert_error(unknown, Code::NotFound, "user_id");
    let gone = f.register("gone").await;
    f.delete_in_auth(&gone).await;
    assert_error(f.users.get_user_profile(pb::GetUserProfileRequest { user_id: gone }).await, Code::NotFound, "user_id");
    assert_error(f.users.get_user_profile(pb::GetUserProfileRequest { user_id: "nope".into() }).await, Code::InvalidArgument, "user_id");
    assert_eq!(f.stored("SELECT count(*) FROM profiles").await, 1, "no profile for unknown or deleted users");
    f.system.stop().await;
}

#[tokio::test]
async fn profiles_by_ids_answer_in_request_order_with_the_missing_ids() {
    let f = fixture().await;
    let (ada, bob) = (f.register("ada").await, f.register("bob").await);
    f.profile(&bob).await; // one stored already, one to materialise
    let gone = f.register("gone").await;
    f.delete_in_auth(&gone).await;
    let unknown = unknown_id();

    let request = pb::GetUserProfilesByIdsRequest { user_ids: vec![bob.clone(), unknown.clone(), ada.clone(), bob.clone(), gone.clone()] };
    let response = f.users.get_user_profiles_by_ids(request).await.unwrap();
    let ids: Vec<&str> = response.profiles.iter().map(|p| p.user_id.as_str()).collect();
    assert_eq!(ids, [bob.as_str(), ada.as_str()]);
    assert_eq!(response.profiles[1].display_name, "ada");
    assert_eq!(response.missing_user_ids, [unknown, gone]);
    assert_eq!(f.stored("SELECT count(*) FROM profiles").await, 2);

    let empty = f.users.get_user_profiles_by_ids(pb::GetUserProfilesByIdsRequest { user_ids: vec![] }).await.unwrap();
    assert_eq!(empty, pb::GetUserProfilesByIdsResponse::default());
    let too_many = pb::GetUserProfilesByIdsRequest { user_ids: (0..101).map(|_| unknown_id()).collect() };
    assert_error(f.users.get_user_profiles_by_ids(too_many).await, Code::InvalidArgument, "user_ids");
    let malformed = pb::GetUserProfilesByIdsRequest { user_ids: vec![ada, "x".into()] };
    assert_error(f.users.get_user_profiles_by_ids(malformed).await, Code::InvalidArgument, "user_ids");
    f.system.stop().await;
}

fn edit(user_id: &str, version: i64) -> pb::UpdateUserProfileRequest {
    pb::UpdateUserProfileRequest {
        user_id: user_id.to_string(),
        display_name: "Ada Lovelace".into(),
        bio: "Analyst".into(),
        avatar_media_id: String::new(),
        location: "London".into(),
        website_url: "https://example.com/ada".into(),
        visibility: pb::ProfileVisibility::Private as i32,
        version,
    }
}

#[tokio::test]
async fn update_profile_validates_fields_and_refuses_a_stale_version() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let before = f.profile(&ada).await;

    let updated = f.users.update_user_profile(edit(&ada, before.version)).await.unwrap().profile.unwrap();
    assert_eq!((updated.display_name.as_str(), updated.bio.as_str(), updated.location.as_str()), ("Ada Lovelace", "Analyst", "London"));
    assert_eq!(updated.website_url, "https://example.com/ada");
    assert_eq!(updated.visibility, pb::ProfileVisibility::Private as i32);
    assert_eq!(updated.version, before.version + 1);
    assert_eq!(f.stored("SELECT version FROM profiles").await, 1);

    let stale = f.users.update_user_profile(pb::UpdateUserProfileRequest { bio: "lost".into(), ..edit(&ada, before.version) }).await;
    assert_eq!(stale.unwrap_err().code(), Code::Aborted);
    assert_eq!(f.profile(&ada).await.bio, "Analyst", "the stale edit wrote nothing");

    let avatar = uuid::Uuid::new_v4().to_string();
    let keep_visibility = pb::UpdateUserProfileRequest {
        avatar_media_id: avatar.clone(),
        visibility: pb::ProfileVisibility::Unspecified as i32,
        ..edit(&ada, updated.version)
    };
    let with_avatar = f.users.update_user_profile(keep_visibility).await.unwrap().profile.unwrap();
    assert_eq!(with_avatar.avatar_media_id, avatar);
    assert_eq!(with_avatar.visibility, pb::ProfileVisibility::Private as i32, "UNSPECIFIED keeps the visibility");

    let v = with_avatar.version;
    let invalid = [
        (pb::UpdateUserProfileRequest { display_name: " ".into(), ..edit(&ada, v) }, "display_name"),
        (pb::UpdateUserProfileRequest { display_name: "x".repeat(65), ..edit(&ada, v) }, "display_name"),
        (pb::UpdateUserProfileRequest { bio: "x".repeat(501), ..edit(&ada, v) }, "bio"),
        (pb::UpdateUserProfileRequest { location: "x".repeat(101), ..edit(&ada, v) }, "location"),
        (pb::UpdateUserProfileRequest { website_url: "example.com".into(), ..edit(&ada, v) }, "website_url"),
        (pb::UpdateUserProfileRequest { avatar_media_id: "not-a-uuid".into(), ..edit(&ada, v) }, "avatar_media_id"),
        (pb::UpdateUserProfileRequest { visibility: 42, ..edit(&ada, v) }, "visibility"),
        (pb::UpdateUserProfileRequest { version: -1, ..edit(&ada, v) }, "version"),
        (edit("nope", v), "user_id"),
    ];
    for (request, field) in invalid {
        assert_error(f.users.update_user_profile(request).await, Code::InvalidArgument, field);
    }
    // Multi-byte characters count as one each.
    let wide = pb::UpdateUserProfileRequest { display_name: "é".repeat(64), ..edit(&ada, v) };
    assert_eq!(f.users.update_user_profile(wide).await.unwrap().profile.unwrap().display_name.chars().count(), 64);
    assert_error(f.users.update_user_profile(edit(&unknown_id(), 0)).await, Code::NotFound, "user_id");
    f.system.stop().await;
}

#[tokio::test]
async fn a_profile_edit_is_seen_by_the_caller_that_cached_it_and_by_another() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let request = pb::GetUserProfileRequest { user_id: ada.clone() };
    let batch = pb::GetUserProfilesByIdsRequest { user_ids: vec![ada.clone()] };
    let cached = f.profile(&ada).await; // client A caches both answers (L1, then L2)
    assert_eq!(f.users.get_user_profiles_by_ids(batch.clone()).await.unwrap().profiles[0], cached);
    until_in_l2(&f.users, &nova_user::rpc::GET_USER_PROFILE, &request, std::slice::from_ref(&ada)).await;
    until_in_l2(&f.users, &nova_user::rpc::GET_USER_PROFILES_BY_IDS, &batch, std::slice::from_ref(&ada)).await;

    f.users.update_user_profile(edit(&ada, cached.version)).await.unwrap();

    // Client B has nothing in L1: without the invalidation it would get the old answer from L2.
    let b = f.fresh();
    assert_eq!(b.get_user_profile(request.clone()).await.unwrap().profile.unwrap().display_name, "Ada Lovelace", "client B");
    assert_eq!(b.get_user_profiles_by_ids(batch.clone()).await.unwrap().profiles[0].display_name, "Ada Lovelace", "client B, batch");
    // Client A hears of it through pub/sub; the old answer is cached for 5 minutes, far longer
    // than `until` waits, so only the invalidation can make this pass.
    until("client A sees the edit", || async { f.profile(&ada).await.display_name == "Ada Lovelace" }).await;
    let batch_a = || async { f.users.get_user_profiles_by_ids(batch.clone()).await.unwrap().profiles[0].display_name == "Ada Lovelace" };
    until("client A sees the edit in the batch", batch_a).await;
    f.system.stop().await;
}

fn settings(user_id: &str) -> pb::UserSettings {
    pb::UserSettings {
        user_id: user_id.to_string(),
        email_notifications: false,
        push_notifications: true,
        direct_message_policy: pb::DirectMessagePolicy::Following as i32,
        show_online_status: false,
        language: "zh-Hans".into(),
        time_zone: "Asia/Shanghai".into(),
        updated_at: None,
    }
}

#[tokio::test]
async fn settings_have_defaults_and_are_replaced_idempotently() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    let get = |id: &str| f.users.get_user_settings(pb::GetUserSettingsRequest { user_id: id.to_string() });

    let defaults = get(&ada).await.unwrap().settings.unwrap();
    assert_eq!((defaults.email_notifications, defaults.push_notifications, defaults.show_online_status), (true, true, true));
    assert_eq!(defaults.direct_message_policy, pb::DirectMessagePolicy::Everyone as i32);
    assert_eq!((defaults.language.as_str(), defaults.time_zone.as_str(), defaults.updated_at), ("en", "UTC", None));
    assert_eq!(f.stored("SELECT count(*) FROM user_settings").await, 0, "reading the defaults stores nothing");

    let read = pb::GetUserSettingsRequest { user_id: ada.clone() };
    until_in_l2(&f.users, &nova_user::rpc::GET_USER_SETTINGS, &read, std::slice::from_ref(&ada)).await; // A cached the defaults

    let update = pb::UpdateUserSettingsRequest { settings: Some(settings(&ada)) };
    let first = f.users.update_user_settings(update.clone()).await.unwrap().settings.unwrap();
    let retry = f.users.update_user_settings(update).await.unwrap().settings.unwrap();
    let strip = |s: pb::UserSettings| pb::UserSettings { updated_at: None, ..s };
    assert_eq!(strip(first.clone()), settings(&ada));
    assert_eq!(strip(retry), settings(&ada), "a retry writes the same state");
    assert_eq!(f.stored("SELECT count(*) FROM user_settings").await, 1);
    assert_eq!(f.stored("SELECT direct_message_policy::bigint FROM user_settings").await, 2);

    let through_b = f.fresh().get_user_settings(read.clone()).await.unwrap().settings.unwrap();
    assert_eq!(strip(through_b), settings(&ada), "client B (the defaults are in L2)");
    until("client A sees the new settings", || async { strip(get(&ada).await.unwrap().settings.unwrap()) == settings(&ada) }).await;

    let with = |s: pb::UserSettings| pb::UpdateUserSettingsRequest { settings: Some(s) };
    let invalid = [
        (pb::UpdateUserSettingsRequest { settings: None }, "settings"),
        (with(pb::UserSettings { user_id: "x".into(), ..settings(&ada) }), "settings.user_id"),
        (with(pb::UserSettings { direct_message_policy: 0, ..settings(&ada) }), "settings.direct_message_policy"),
        (with(pb::UserSettings { direct_message_policy: 9, ..settings(&ada) }), "settings.direct_message_policy"),
        (with(pb::UserSettings { language: "english please".into(), ..settings(&ada) }), "settings.language"),
        (with(pb::UserSettings { time_zone: "Mars Base".into(), ..settings(&ada) }), "settings.time_zone"),
    ];
    for (request, field) in invalid {
        assert_error(f.users.update_user_settings(request).await, Code::InvalidArgument, field);
    }
    let stranger = unknown_id();
    assert_error(get(&stranger).await, Code::NotFound, "user_id");
    assert_error(get("nope").await, Code::InvalidArgument, "user_id");
    assert_error(f.users.update_user_settings(with(settings(&stranger))).await, Code::NotFound, "settings.user_id");
    f.system.stop().await;
}

#[tokio::test]
async fn follow_and_unfollow_are_idempotent_and_count_exactly() {
    let f = fixture().await;
    let (ada, bob) = (f.register("ada").await, f.register("bob").await);

    let first = f.follow(&ada, &bob).await.unwrap().follow.unwrap();
    let retry = f.follow(&ada, &bob).await.unwrap().follow.unwrap();
    assert_eq!((first.follower_id.as_str(), first.followee_id.as_str()), (ada.as_str(), bob.as_str()));
    assert_eq!(retry, first, "the retry answers the stored follow, created at the first call");
    assert_eq!(f.counts(&ada).await, (0, 1));
    assert_eq!(f.counts(&bob).await, (1, 0));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 1);
    assert_eq!(f.stored("SELECT sum(follower_count + following_count)::bigint FROM profiles").await, 2);

    f.unfollow(&ada, &bob).await.unwrap();
    f.unfollow(&ada, &bob).await.unwrap();
    assert_eq!(f.counts(&ada).await, (0, 0));
    assert_eq!(f.counts(&bob).await, (0, 0));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 0);
    f.unfollow(&ada, &unknown_id()).await.unwrap(); // nothing to remove

    assert_error(f.follow(&ada, &ada).await, Code::InvalidArgument, "followee_id");
    assert_error(f.follow("x", &bob).await, Code::InvalidArgument, "follower_id");
    assert_error(f.follow(&ada, "").await, Code::InvalidArgument, "followee_id");
    assert_error(f.unfollow(&ada, &ada).await, Code::InvalidArgument, "followee_id");
    assert_error(f.unfollow(&ada, "x").await, Code::InvalidArgument, "followee_id");
    f.system.stop().await;
}

#[tokio::test]
async fn following_an_unknown_user_is_not_found_even_with_a_warm_auth_cache() {
    let f = fixture().await;
    let (ada, bob) = (f.register("ada").await, f.register("bob").await);
    let ghost = unknown_id();
    assert_error(f.follow(&ada, &ghost).await, Code::NotFound, "followee_id");
    assert_error(f.follow(&ada, &ghost).await, Code::NotFound, "followee_id");
    f.follow(&ada, &bob).await.unwrap(); // warms the user service's auth cache for ada and bob
    assert_error(f.follow(&ada, &ghost).await, Code::NotFound, "followee_id");
    assert_error(f.follow(&ghost, &bob).await, Code::NotFound, "follower_id");
    let gone = f.register("gone").await;
    f.delete_in_auth(&gone).await;
    assert_error(f.follow(&ada, &gone).await, Code::NotFound, "followee_id");
    assert_error(f.follow(&ada, &gone).await, Code::NotFound, "followee_id");
    assert_error(f.block(&ada, &ghost).await, Code::NotFound, "blocked_id");
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 1);
    assert_eq!(f.counts(&ada).await, (0, 1));
    f.system.stop().await;
}

#[tokio::test]
async fn a_block_removes_follows_both_ways_and_forbids_new_ones() {
    let f = fixture().await;
    let (ada, bob, cyd) = (f.register("ada").await, f.register("bob").await, f.register("cyd").await);
    f.follow(&ada, &bob).await.unwrap();
    f.follow(&bob, &ada).await.unwrap();
    f.follow(&cyd, &ada).await.unwrap();
    f.follow(&bob, &cyd).await.unwrap();
    assert_eq!(f.counts(&ada).await, (2, 1));
    assert_eq!(f.counts(&bob).await, (1, 2));

    let blocked_at = f.block(&ada, &bob).await.unwrap().blocked_at.unwrap();
    assert_eq!(f.block(&ada, &bob).await.unwrap().blocked_at.unwrap(), blocked_at, "a retry changes nothing");
    assert_eq!(f.counts(&ada).await, (1, 0), "cyd still follows ada");
    assert_eq!(f.counts(&bob).await, (0, 1), "bob still follows cyd");
    assert_eq!(f.counts(&cyd).await, (1, 1));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 2);
    assert_eq!(f.stored("SELECT count(*) FROM blocks").await, 1);

    let seen_by_ada = f.relationship(&ada, &bob).await;
    assert_eq!(seen_by_ada, pb::CheckUserRelationshipResponse { following: false, followed_by: false, blocking: true, blocked_by: false });
    let seen_by_bob = f.relationship(&bob, &ada).await;
    assert_eq!(seen_by_bob, pb::CheckUserRelationshipResponse { following: false, followed_by: false, blocking: false, blocked_by: true });

    assert_error(f.follow(&bob, &ada).await, Code::FailedPrecondition, "blocks");
    assert_error(f.follow(&ada, &bob).await, Code::FailedPrecondition, "blocks");
    assert_error(f.block(&ada, &ada).await, Code::InvalidArgument, "blocked_id");
    assert_error(f.block("x", &bob).await, Code::InvalidArgument, "blocker_id");
    assert_error(f.unblock(&ada, &ada).await, Code::InvalidArgument, "blocked_id");
    assert_error(f.unblock(&ada, "x").await, Code::InvalidArgument, "blocked_id");

    f.unblock(&ada, &bob).await.unwrap();
    f.unblock(&ada, &bob).await.unwrap();
    assert_eq!(f.stored("SELECT count(*) FROM blocks").await, 0);
    assert_eq!(f.relationship(&ada, &bob).await, pb::CheckUserRelationshipResponse::default(), "follows are not restored");
    f.follow(&bob, &ada).await.unwrap();
    assert_eq!(f.counts(&ada).await, (2, 0));
    f.system.stop().await;
}

/// Follow, retried as a client would for an idempotent call when the server was too busy to
/// answer in time (32 writers queue on one profile's row lock and on a pool of 10 connections).
async fn follow_until_done(users: UserClient, follower: String, followee: String) {
    for _ in 0..50 {
        let request = pb::FollowRequest { follower_id: follower.clone(), followee_id: followee.clone() };
        match users.follow(request).await {
            Ok(_) => return,
            Err(status) if matches!(status.code(), Code::DeadlineExceeded | Code::Unavailable | Code::Aborted) => continue,
            Err(status) => panic!("follow failed: {status:?}"),
        }
    }
    panic!("follow never succeeded");
}

#[tokio::test]
async fn thirty_two_concurrent_follows_give_thirty_two_followers() {
    let f = fixture().await;
    let star = f.register("star").await;
    let mut fans = Vec::new();
    for n in 0..32 {
        fans.push(f.register(&format!("fan{n:02}")).await);
    }
    let mut everyone = fans.clone();
    everyone.push(star.clone());
    f.users.get_user_profiles_by_ids(pb::GetUserProfilesByIdsRequest { user_ids: everyone }).await.unwrap(); // materialised

    let calls: Vec<_> = fans.iter().map(|fan| tokio::spawn(follow_until_done(f.users.clone(), fan.clone(), star.clone()))).collect();
    for call in calls {
        call.await.unwrap();
    }
    assert_eq!(f.counts(&star).await, (32, 0));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 32);
    assert_eq!(f.stored(&format!("SELECT count(*) FROM profiles WHERE user_id <> '{star}' AND following_count = 1")).await, 32);

    // Every fan again, all at once: idempotent, nothing changes.
    let calls: Vec<_> = fans.iter().map(|fan| tokio::spawn(follow_until_done(f.users.clone(), fan.clone(), star.clone()))).collect();
    for call in calls {
        call.await.unwrap();
    }
    assert_eq!(f.counts(&star).await, (32, 0));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 32);
    assert_eq!(f.stored("SELECT sum(following_count)::bigint FROM profiles").await, 32);
    assert_eq!(f.stored(COUNTS_MATCH_ROWS).await, 0);
    f.system.stop().await;
}

/// Every profile's counters equal the follows stored.
const COUNTS_MATCH_ROWS: &str = "SELECT count(*) FROM profiles p WHERE \
     p.follower_count <> (SELECT count(*) FROM follows f WHERE f.followee_id = p.user_id) \
     OR p.following_count <> (SELECT count(*) FROM follows f WHERE f.follower_id = p.user_id)";

#[tokio::test]
async fn follows_racing_a_block_never_survive_it() {
    let f = fixture().await;
    let (ada, bob) = (f.register("ada").await, f.register("bob").await);
    for _ in 0..10 {
        f.unblock(&ada, &bob).await.unwrap();
        let follow_ab = tokio::spawn({
            let (users, ada, bob) = (f.users.clone(), ada.clone(), bob.clone());
            async move { users.follow(pb::FollowRequest { follower_id: ada, followee_id: bob }).await }
        });
        let follow_ba = tokio::spawn({
            let (users, ada, bob) = (f.users.clone(), ada.clone(), bob.clone());
            async move { users.follow(pb::FollowRequest { follower_id: bob, followee_id: ada }).await }
        });
        let block = tokio::spawn({
            let (users, ada, bob) = (f.users.clone(), ada.clone(), bob.clone());
            async move { users.block(pb::BlockRequest { blocker_id: ada, blocked_id: bob }).await }
        });
        for follow in [follow_ab.await.unwrap(), follow_ba.await.unwrap()] {
            // Before the block it succeeds (and the block removes it), after it is refused.
            if let Err(status) = follow {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            }
        }
        block.await.unwrap().unwrap();
        assert_eq!(f.stored("SELECT count(*) FROM follows").await, 0, "no follow survives the block");
        assert_eq!(f.stored(COUNTS_MATCH_ROWS).await, 0, "counters match the follows");
    }
    assert_eq!(f.counts(&ada).await, (0, 0));
    assert_eq!(f.counts(&bob).await, (0, 0));
    f.system.stop().await;
}

#[tokio::test]
async fn followers_and_following_are_paged_most_recent_first() {
    let f = fixture().await;
    let star = f.register("star").await;
    let mut fans = Vec::new();
    for n in 0..5 {
        let fan = f.register(&format!("fan{n}")).await;
        f.follow(&fan, &star).await.unwrap();
        fans.push(fan);
    }
    let page = |size: i32, token: String| {
        f.users.get_user_followers(pb::GetUserFollowersRequest { user_id: star.clone(), page_size: size, page_token: token })
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let response = page(2, token).await.unwrap();
        pages += 1;
        assert!(response.followers.len() <= 2);
        seen.extend(response.followers.iter().map(|e| e.follower_id.clone()));
        assert!(response.followers.iter().all(|e| e.followee_id == star));
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
    }
    assert_eq!(pages, 3);
    let mut expected = fans.clone();
    expected.reverse();
    assert_eq!(seen, expected, "most recent first, each once");
    let everything = page(0, String::new()).await.unwrap();
    assert_eq!((everything.followers.len(), everything.next_page_token.as_str()), (5, ""));

    f.follow(&star, &fans[0]).await.unwrap();
    f.follow(&star, &fans[1]).await.unwrap();
    let following =
        f.users.get_user_following(pb::GetUserFollowingRequest { user_id: star.clone(), page_size: 1, page_token: String::new() }).await.unwrap();
    assert_eq!(following.following.len(), 1);
    assert_eq!(following.following[0].followee_id, fans[1]);
    let rest = f
        .users
        .get_user_following(pb::GetUserFollowingRequest { user_id: star.clone(), page_size: 1, page_token: following.next_page_token.clone() })
        .await
        .unwrap();
    assert_eq!(rest.following.iter().map(|e| e.followee_id.as_str()).collect::<Vec<_>>(), [fans[0].as_str()]);
    assert!(rest.next_page_token.is_empty());

    // A token belongs to one list; tampered tokens and negative sizes are refused.
    let first = page(2, String::new()).await.unwrap();
    let foreign = f
        .users
        .get_user_followers(pb::GetUserFollowersRequest { user_id: fans[0].clone(), page_size: 2, page_token: first.next_page_token.clone() })
        .await;
    assert_error(foreign, Code::InvalidArgument, "page_token");
    let following_with_followers_token =
        f.users.get_user_following(pb::GetUserFollowingRequest { user_id: star.clone(), page_size: 2, page_token: first.next_page_token }).await;
    assert_error(following_with_followers_token, Code::InvalidArgument, "page_token");
    assert_error(page(2, "garbage".into()).await, Code::InvalidArgument, "page_token");
    assert_error(page(-1, String::new()).await, Code::InvalidArgument, "page_size");
    let nobody = pb::GetUserFollowersRequest { user_id: unknown_id(), page_size: 0, page_token: String::new() };
    assert_error(f.users.get_user_followers(nobody).await, Code::NotFound, "user_id");
    let nobody = pb::GetUserFollowingRequest { user_id: "x".into(), page_size: 0, page_token: String::new() };
    assert_error(f.users.get_user_following(nobody).await, Code::InvalidArgument, "user_id");
    f.system.stop().await;
}

#[tokio::test]
async fn a_follow_is_seen_in_cached_lists_and_relationships_by_every_caller() {
    let f = fixture().await;
    let (ada, bob) = (f.register("ada").await, f.register("bob").await);
    let followers = pb::GetUserFollowersRequest { user_id: bob.clone(), page_size: 0, page_token: String::new() };
    let following = pb::GetUserFollowingRequest { user_id: ada.clone(), page_size: 0, page_token: String::new() };
    let from_ada = pb::CheckUserRelationshipRequest { user_id: ada.clone(), other_user_id: bob.clone() };
    let from_bob = pb::CheckUserRelationshipRequest { user_id: bob.clone(), other_user_id: ada.clone() };
    // Client A caches the empty answers, and they reach L2.
    assert!(f.users.get_user_followers(followers.clone()).await.unwrap().followers.is_empty());
    assert!(f.users.get_user_following(following.clone()).await.unwrap().following.is_empty());
    assert_eq!(f.users.check_user_relationship(from_ada.clone()).await.unwrap(), pb::CheckUserRelationshipResponse::default());
    assert_eq!(f.users.check_user_relationship(from_bob.clone()).await.unwrap(), pb::CheckUserRelationshipResponse::default());
    until_in_l2(&f.users, &nova_user::rpc::GET_USER_FOLLOWERS, &followers, std::slice::from_ref(&bob)).await;
    until_in_l2(&f.users, &nova_user::rpc::GET_USER_FOLLOWING, &following, std::slice::from_ref(&ada)).await;
    until_in_l2(&f.users, &nova_user::rpc::CHECK_USER_RELATIONSHIP, &from_ada, std::slice::from_ref(&ada)).await;
    until_in_l2(&f.users, &nova_user::rpc::CHECK_USER_RELATIONSHIP, &from_bob, std::slice::from_ref(&bob)).await;

    f.follow(&ada, &bob).await.unwrap();

    // Client B has an empty L1: the old answers in L2 must have been invalidated.
    let b = f.fresh();
    let listed = b.get_user_followers(followers.clone()).await.unwrap().followers;
    assert_eq!(listed.iter().map(|e| e.follower_id.as_str()).collect::<Vec<_>>(), [ada.as_str()], "client B");
    assert_eq!(b.get_user_following(following.clone()).await.unwrap().following.len(), 1, "client B");
    let seen = b.check_user_relationship(from_ada.clone()).await.unwrap();
    assert!(seen.following && !seen.followed_by, "client B: {seen:?}");
    assert!(b.check_user_relationship(from_bob.clone()).await.unwrap().followed_by, "client B");
    // Client A drops its L1 copies when the invalidation reaches it through pub/sub.
    until("client A sees the follower", || async { f.users.get_user_followers(followers.clone()).await.unwrap().followers.len() == 1 }).await;
    until("client A sees the following", || async { f.users.get_user_following(following.clone()).await.unwrap().following.len() == 1 }).await;
    until("client A sees the relationship", || async { f.users.check_user_relationship(from_ada.clone()).await.unwrap().following }).await;
    until("client A sees it from bob", || async { f.users.check_user_relationship(from_bob.clone()).await.unwrap().followed_by }).await;

    for (request, entity) in [(&from_ada, &ada), (&from_bob, &bob)] {
        until_in_l2(&f.users, &nova_user::rpc::CHECK_USER_RELATIONSHIP, request, std::slice::from_ref(entity)).await;
    }
    f.block(&bob, &ada).await.unwrap();
    let c = f.fresh();
    assert!(c.get_user_followers(followers.clone()).await.unwrap().followers.is_empty(), "client C");
    assert!(c.check_user_relationship(from_bob.clone()).await.unwrap().blocking, "client C");
    assert!(c.check_user_relationship(from_ada.clone()).await.unwrap().blocked_by, "client C");
    until("client A sees the block", || async { f.users.check_user_relationship(from_bob.clone()).await.unwrap().blocking }).await;
    f.system.stop().await;
}

#[tokio::test]
async fn relationships_of_unknown_users_and_of_oneself_are_empty() {
    let f = fixture().await;
    let ada = f.register("ada").await;
    assert_eq!(f.relationship(&ada, &unknown_id()).await, pb::CheckUserRelationshipResponse::default());
    assert_eq!(f.relationship(&ada, &ada).await, pb::CheckUserRelationshipResponse::default());
    let malformed = pb::CheckUserRelationshipRequest { user_id: ada.clone(), other_user_id: "x".into() };
    assert_error(f.users.check_user_relationship(malformed).await, Code::InvalidArgument, "other_user_id");
    let malformed = pb::CheckUserRelationshipRequest { user_id: String::new(), other_user_id: ada };
    assert_error(f.users.check_user_relationship(malformed).await, Code::InvalidArgument, "user_id");
    f.system.stop().await;
}

fn search(query: &str, searcher: &str, page_size: i32, page_token: String) -> pb::SearchUsersRequest {
    pb::SearchUsersRequest { query: query.to_string(), searcher_id: searcher.to_string(), page_size, page_token }
}

#[tokio::test]
async fn search_finds_display_name_prefixes_ignoring_case() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for name in ["alice", "alicia", "albert", "bob", "al_x"] {
        ids.push(f.register(name).await);
    }
    let (alice, alicia, albert, bob, al_x) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
    f.users.get_user_profiles_by_ids(pb::GetUserProfilesByIdsRequest { user_ids: ids.clone() }).await.unwrap();
    let renamed = pb::UpdateUserProfileRequest { display_name: "ALIce Smith".into(), ..edit(alice, 0) };
    f.users.update_user_profile(renamed).await.unwrap();

    let names = |r: &pb::SearchUsersResponse| r.profiles.iter().map(|p| p.display_name.clone()).collect::<Vec<_>>();
    let hits = f.users.search_users(search("ALI", "", 0, String::new())).await.unwrap();
    assert_eq!(names(&hits), ["ALIce Smith", "alicia"]);
    assert!(hits.next_page_token.is_empty());
    let wildcard = f.users.search_users(search("al_", "", 0, String::new())).await.unwrap();
    assert_eq!(names(&wildcard), ["al_x"], "_ matches itself only");
    assert!(f.users.search_users(search("%", "", 0, String::new())).await.unwrap().profiles.is_empty());

    // Paged one at a time: al_x, albert, ALIce Smith, alicia (lower-cased order).
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = f.users.search_users(search("al", bob, 1, token)).await.unwrap();
        assert!(page.profiles.len() <= 1);
        seen.extend(page.profiles.iter().map(|p| p.user_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, [al_x, albert, alice, alicia].map(String::clone));

    // Users who block the searcher are left out for that searcher only.
    f.block(alicia, bob).await.unwrap();
    let for_bob = f.users.search_users(search("ali", bob, 0, String::new())).await.unwrap();
    assert_eq!(names(&for_bob), ["ALIce Smith"]);
    let for_anyone = f.users.search_users(search("ali", "", 0, String::new())).await.unwrap();
    assert_eq!(names(&for_anyone).len(), 2);

    // Case is folded beyond ASCII, the same way by the service and by PostgreSQL.
    let elodie = pb::UpdateUserProfileRequest { display_name: "Élodie".into(), ..edit(bob, 0) };
    f.users.update_user_profile(elodie).await.unwrap();
    assert_eq!(names(&f.users.search_users(search("éLO", "", 0, String::new())).await.unwrap()), ["Élodie"]);

    let first = f.users.search_users(search("al", "", 1, String::new())).await.unwrap();
    assert_error(f.users.search_users(search("ali", "", 1, first.next_page_token)).await, Code::InvalidArgument, "page_token");
    assert_error(f.users.search_users(search("", "", 0, String::new())).await, Code::InvalidArgument, "query");
    assert_error(f.users.search_users(search(&"a".repeat(65), "", 0, String::new())).await, Code::InvalidArgument, "query");
    assert_error(f.users.search_users(search("al", "x", 0, String::new())).await, Code::InvalidArgument, "searcher_id");
    assert_error(f.users.search_users(search("al", "", -5, String::new())).await, Code::InvalidArgument, "page_size");
    f.system.stop().await;
}

#[tokio::test]
async fn handwritten_statements_prepare_against_the_migrated_schema() {
    nova_tests::statements::assert_handwritten_prepare("user", nova_user::db::MIGRATIONS, nova_user_service::STATEMENTS).await;
}
