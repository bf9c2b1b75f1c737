//! The user service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_runtime::client::{Level, Lookup};
use nova_runtime::codegen::prost::Message;
use nova_runtime::codegen::sqlx;
use nova_runtime::rpc::RpcDescriptor;
use nova_tests::cache_probe::until;
use nova_tests::eventually::until_answered;
use nova_tests::{TestSystem, TestUser};
use nova_user::UserClient;
use nova_user::pb;
use tonic::{Code, Status};

/// user started after its callees (auth, search), each with its own database, with an
/// anonymous caller (the edge without a token); `as_` gives it a user's token.
struct Fixture {
    system: TestSystem,
    users: UserClient,
}

async fn fixture() -> Fixture {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_user::SERVICE).await;
    let users = system.client(UserClient::from_peers);
    Fixture { system, users }
}

impl Fixture {
    /// Registers `username` with auth and signs in.
    async fn sign_up(&self, username: &str) -> TestUser {
        self.system.sign_up(username).await
    }

    /// The edge carrying `user`'s token (sharing the anonymous caller's cache).
    fn as_(&self, user: &TestUser) -> UserClient {
        self.users.with_token(&user.token)
    }

    /// A nova service calling user as itself (CheckUserRelationship is for services only).
    fn service(&self) -> UserClient {
        self.system.service_client("feed", UserClient::from_peers)
    }

    /// Deletes a user in auth's own database (no RPC for it yet), before anyone looked it up.
    /// Their token still verifies (nothing revoked it): user learns of the deletion from auth.
    async fn delete_in_auth(&self, id: &str) {
        let mut auth_db = self.system.connect("auth").await;
        sqlx::query("UPDATE users SET deleted_at = now(), status = 3 WHERE id = $1::uuid").bind(id).execute(&mut auth_db).await.unwrap();
    }

    /// The profile as an anonymous caller sees it.
    async fn profile(&self, id: &str) -> pb::UserProfile {
        self.users.get_user_profile(pb::GetUserProfileRequest { user_id: id.to_string() }).await.unwrap().profile.unwrap()
    }

    async fn follow(&self, follower: &TestUser, followee: &str) -> Result<pb::FollowResponse, Status> {
        self.as_(follower).follow(pb::FollowRequest { follower_id: follower.id.clone(), followee_id: followee.to_string() }).await
    }

    async fn unfollow(&self, follower: &TestUser, followee: &str) -> Result<pb::UnfollowResponse, Status> {
        self.as_(follower).unfollow(pb::UnfollowRequest { follower_id: follower.id.clone(), followee_id: followee.to_string() }).await
    }

    async fn block(&self, blocker: &TestUser, blocked: &str) -> Result<pb::BlockResponse, Status> {
        self.as_(blocker).block(pb::BlockRequest { blocker_id: blocker.id.clone(), blocked_id: blocked.to_string() }).await
    }

    async fn unblock(&self, blocker: &TestUser, blocked: &str) -> Result<pb::UnblockResponse, Status> {
        self.as_(blocker).unblock(pb::UnblockRequest { blocker_id: blocker.id.clone(), blocked_id: blocked.to_string() }).await
    }

    /// A caller with an empty L1 (it still shares L2): what it reads right after a write is
    /// what the service holds, since a write invalidates L2 before it answers. A caller that
    /// cached the old answer in L1 learns of the write through pub/sub, a moment later.
    fn fresh(&self) -> UserClient {
        self.system.client(UserClient::from_peers)
    }

    async fn relationship(&self, user: &str, other: &str) -> pb::CheckUserRelationshipResponse {
        let request = pb::CheckUserRelationshipRequest { user_id: user.to_string(), other_user_id: other.to_string() };
        self.service().check_user_relationship(request).await.unwrap()
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

/// Waits until `client`'s per-id entry for `id` of the batch read `rpc` is in Redis.
async fn until_item_in_l2(client: &UserClient, rpc: &RpcDescriptor, id: &str) {
    let cache = client.core().cache().unwrap();
    let key = client.core().item_key(rpc, id).unwrap();
    until(&format!("the cached item of {} reached Redis", rpc.method), || async {
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
    let ada = f.sign_up("ada").await.id;
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
    let gone = f.sign_up("gone").await.id;
    f.delete_in_auth(&gone).await;
    assert_error(f.users.get_user_profile(pb::GetUserProfileRequest { user_id: gone }).await, Code::NotFound, "user_id");
    assert_error(f.users.get_user_profile(pb::GetUserProfileRequest { user_id: "nope".into() }).await, Code::InvalidArgument, "user_id");
    assert_eq!(f.stored("SELECT count(*) FROM profiles").await, 1, "no profile for unknown or deleted users");
    f.system.stop().await;
}

#[tokio::test]
async fn profiles_by_ids_answer_in_request_order_with_the_missing_ids() {
    let f = fixture().await;
    let (ada, bob) = (f.sign_up("ada").await.id, f.sign_up("bob").await.id);
    f.profile(&bob).await; // one stored already, one to materialise
    let gone = f.sign_up("gone").await.id;
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
        visibility: pb::ProfileVisibility::Public as i32,
        version,
    }
}

#[tokio::test]
async fn update_profile_validates_fields_and_refuses_a_stale_version() {
    let f = fixture().await;
    let ada_user = f.sign_up("ada").await;
    let (ada, as_ada) = (ada_user.id.clone(), f.as_(&ada_user));
    let before = f.profile(&ada).await;

    let private = pb::UpdateUserProfileRequest { visibility: pb::ProfileVisibility::Private as i32, ..edit(&ada, before.version) };
    let updated = as_ada.update_user_profile(private).await.unwrap().profile.unwrap();
    assert_eq!((updated.display_name.as_str(), updated.bio.as_str(), updated.location.as_str()), ("Ada Lovelace", "Analyst", "London"));
    assert_eq!(updated.website_url, "https://example.com/ada");
    assert_eq!(updated.visibility, pb::ProfileVisibility::Private as i32);
    assert_eq!(updated.version, before.version + 1);
    assert_eq!(f.stored("SELECT version FROM profiles").await, 1);

    let stale = as_ada.update_user_profile(pb::UpdateUserProfileRequest { bio: "lost".into(), ..edit(&ada, before.version) }).await;
    assert_eq!(stale.unwrap_err().code(), Code::Aborted);
    let mine = as_ada.get_user_profile(pb::GetUserProfileRequest { user_id: ada.clone() }).await.unwrap().profile.unwrap();
    assert_eq!(mine.bio, "Analyst", "the stale edit wrote nothing");

    let avatar = uuid::Uuid::new_v4().to_string();
    let keep_visibility = pb::UpdateUserProfileRequest {
        avatar_media_id: avatar.clone(),
        visibility: pb::ProfileVisibility::Unspecified as i32,
        ..edit(&ada, updated.version)
    };
    let with_avatar = as_ada.update_user_profile(keep_visibility).await.unwrap().profile.unwrap();
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
    ];
    for (request, field) in invalid {
        assert_error(as_ada.update_user_profile(request).await, Code::InvalidArgument, field);
    }
    // Multi-byte characters count as one each.
    let wide = pb::UpdateUserProfileRequest { display_name: "é".repeat(64), ..edit(&ada, v) };
    assert_eq!(as_ada.update_user_profile(wide).await.unwrap().profile.unwrap().display_name.chars().count(), 64);

    // Only the user edits their profile: another user's token, a malformed or foreign id, or no
    // token at all are refused before anything is read.
    let bob = f.sign_up("bob").await;
    let v = v + 1;
    assert_error(f.as_(&bob).update_user_profile(edit(&ada, v)).await, Code::PermissionDenied, "user_id");
    assert_error(as_ada.update_user_profile(edit(&unknown_id(), 0)).await, Code::PermissionDenied, "user_id");
    assert_error(as_ada.update_user_profile(edit("nope", v)).await, Code::PermissionDenied, "user_id");
    assert_eq!(f.users.update_user_profile(edit(&ada, v)).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(f.stored(&format!("SELECT version FROM profiles WHERE user_id = '{ada}'")).await, v, "no refused edit wrote");
    f.system.stop().await;
}

#[tokio::test]
async fn a_profile_edit_is_seen_by_the_caller_that_cached_it_and_by_another() {
    let f = fixture().await;
    let ada_user = f.sign_up("ada").await;
    let ada = ada_user.id.clone();
    let request = pb::GetUserProfileRequest { user_id: ada.clone() };
    let batch = pb::GetUserProfilesByIdsRequest { user_ids: vec![ada.clone()] };
    let cached = f.profile(&ada).await; // client A caches both answers (L1, then L2)
    assert_eq!(f.users.get_user_profiles_by_ids(batch.clone()).await.unwrap().profiles[0], cached);
    // GetUserProfile and GetUserProfilesByIds share one entry per user (the spec's `per_id`).
    until_item_in_l2(&f.users, &nova_user::rpc::GET_USER_PROFILES_BY_IDS, &ada).await;

    f.as_(&ada_user).update_user_profile(edit(&ada, cached.version)).await.unwrap();

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
    let ada_user = f.sign_up("ada").await;
    let (ada, as_ada) = (ada_user.id.clone(), f.as_(&ada_user));
    let get = |id: &str| as_ada.get_user_settings(pb::GetUserSettingsRequest { user_id: id.to_string() });

    let defaults = get(&ada).await.unwrap().settings.unwrap();
    assert_eq!((defaults.email_notifications, defaults.push_notifications, defaults.show_online_status), (true, true, true));
    assert_eq!(defaults.direct_message_policy, pb::DirectMessagePolicy::Everyone as i32);
    assert_eq!((defaults.language.as_str(), defaults.time_zone.as_str(), defaults.updated_at), ("en", "UTC", None));
    assert_eq!(f.stored("SELECT count(*) FROM user_settings").await, 0, "reading the defaults stores nothing");

    let read = pb::GetUserSettingsRequest { user_id: ada.clone() };
    until_in_l2(&as_ada, &nova_user::rpc::GET_USER_SETTINGS, &read, std::slice::from_ref(&ada)).await; // A cached the defaults

    let update = pb::UpdateUserSettingsRequest { settings: Some(settings(&ada)) };
    let first = as_ada.update_user_settings(update.clone()).await.unwrap().settings.unwrap();
    let retry = as_ada.update_user_settings(update).await.unwrap().settings.unwrap();
    let strip = |s: pb::UserSettings| pb::UserSettings { updated_at: None, ..s };
    assert_eq!(strip(first.clone()), settings(&ada));
    assert_eq!(strip(retry), settings(&ada), "a retry writes the same state");
    assert_eq!(f.stored("SELECT count(*) FROM user_settings").await, 1);
    assert_eq!(f.stored("SELECT direct_message_policy::bigint FROM user_settings").await, 2);

    let through_b = f.fresh().with_token(&ada_user.token).get_user_settings(read.clone()).await.unwrap().settings.unwrap();
    assert_eq!(strip(through_b), settings(&ada), "client B (the defaults are in L2)");
    until("client A sees the new settings", || async { strip(get(&ada).await.unwrap().settings.unwrap()) == settings(&ada) }).await;
    // An empty id is the caller's own.
    let own = as_ada.get_user_settings(pb::GetUserSettingsRequest { user_id: String::new() }).await.unwrap().settings.unwrap();
    assert_eq!(strip(own), settings(&ada));

    let with = |s: pb::UserSettings| pb::UpdateUserSettingsRequest { settings: Some(s) };
    let invalid = [
        (pb::UpdateUserSettingsRequest { settings: None }, "settings"),
        (with(pb::UserSettings { direct_message_policy: 0, ..settings(&ada) }), "settings.direct_message_policy"),
        (with(pb::UserSettings { direct_message_policy: 9, ..settings(&ada) }), "settings.direct_message_policy"),
        (with(pb::UserSettings { language: "english please".into(), ..settings(&ada) }), "settings.language"),
        (with(pb::UserSettings { time_zone: "Mars Base".into(), ..settings(&ada) }), "settings.time_zone"),
    ];
    for (request, field) in invalid {
        assert_error(as_ada.update_user_settings(request).await, Code::InvalidArgument, field);
    }

    // Settings are the user's own: another user reads and writes none of them, nobody without
    // a token does; messaging (which applies a recipient's direct-message policy) reads anyone's.
    let bob = f.sign_up("bob").await;
    let as_bob = f.as_(&bob);
    assert_error(as_bob.get_user_settings(read.clone()).await, Code::PermissionDenied, "user_id");
    assert_error(as_bob.update_user_settings(with(settings(&ada))).await, Code::PermissionDenied, "settings.user_id");
    let mut bobs = settings(&bob.id);
    bobs.user_id = "x".into();
    assert_error(as_bob.update_user_settings(with(bobs)).await, Code::PermissionDenied, "settings.user_id");
    assert_eq!(f.users.get_user_settings(read.clone()).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(f.users.update_user_settings(with(settings(&ada))).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(f.service().get_user_settings(read.clone()).await.unwrap_err().code(), Code::PermissionDenied, "feed is not messaging");
    let messaging = f.system.service_client("messaging", UserClient::from_peers);
    let seen_by_messaging = messaging.get_user_settings(read.clone()).await.unwrap().settings.unwrap();
    assert_eq!(strip(seen_by_messaging), settings(&ada));
    let by_messaging = |id: &str| messaging.get_user_settings(pb::GetUserSettingsRequest { user_id: id.to_string() });
    assert_error(by_messaging(&unknown_id()).await, Code::NotFound, "user_id");
    assert_error(by_messaging("nope").await, Code::InvalidArgument, "user_id");
    assert_eq!(f.stored("SELECT count(*) FROM user_settings").await, 1, "no refused call wrote");
    f.system.stop().await;
}

#[tokio::test]
async fn follow_and_unfollow_are_idempotent_and_count_exactly() {
    let f = fixture().await;
    let (ada_user, bob_user) = (f.sign_up("ada").await, f.sign_up("bob").await);
    let (ada, bob) = (ada_user.id.clone(), bob_user.id.clone());

    let first = f.follow(&ada_user, &bob).await.unwrap().follow.unwrap();
    let retry = f.follow(&ada_user, &bob).await.unwrap().follow.unwrap();
    assert_eq!((first.follower_id.as_str(), first.followee_id.as_str()), (ada.as_str(), bob.as_str()));
    assert_eq!(retry, first, "the retry answers the stored follow, created at the first call");
    assert_eq!(f.counts(&ada).await, (0, 1));
    assert_eq!(f.counts(&bob).await, (1, 0));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 1);
    assert_eq!(f.stored("SELECT sum(follower_count + following_count)::bigint FROM profiles").await, 2);

    f.unfollow(&ada_user, &bob).await.unwrap();
    f.unfollow(&ada_user, &bob).await.unwrap();
    assert_eq!(f.counts(&ada).await, (0, 0));
    assert_eq!(f.counts(&bob).await, (0, 0));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 0);
    f.unfollow(&ada_user, &unknown_id()).await.unwrap(); // nothing to remove

    assert_error(f.follow(&ada_user, &ada).await, Code::InvalidArgument, "followee_id");
    assert_error(f.follow(&ada_user, "").await, Code::InvalidArgument, "followee_id");
    assert_error(f.unfollow(&ada_user, &ada).await, Code::InvalidArgument, "followee_id");
    assert_error(f.unfollow(&ada_user, "x").await, Code::InvalidArgument, "followee_id");
    // A follow acts for the token's user only: bob's token cannot make ada follow (nor
    // unfollow), a malformed follower id is not ada's, and without a token nothing acts.
    let as_ada = f.as_(&ada_user);
    let as_bob = f.as_(&bob_user);
    assert_error(
        as_bob.follow(pb::FollowRequest { follower_id: ada.clone(), followee_id: bob.clone() }).await,
        Code::PermissionDenied,
        "follower_id",
    );
    assert_error(as_ada.follow(pb::FollowRequest { follower_id: "x".into(), followee_id: bob.clone() }).await, Code::PermissionDenied, "follower_id");
    let anonymous = f.users.follow(pb::FollowRequest { follower_id: ada.clone(), followee_id: bob.clone() }).await;
    assert_eq!(anonymous.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 0, "no refused follow wrote");
    f.follow(&bob_user, &ada).await.unwrap();
    let unfollow = pb::UnfollowRequest { follower_id: bob.clone(), followee_id: ada.clone() };
    assert_error(as_ada.unfollow(unfollow.clone()).await, Code::PermissionDenied, "follower_id");
    assert_eq!(f.users.unfollow(unfollow).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(f.counts(&ada).await, (1, 0), "bob still follows ada");
    // An empty follower is the caller.
    as_ada.follow(pb::FollowRequest { follower_id: String::new(), followee_id: bob.clone() }).await.unwrap();
    assert_eq!(f.counts(&ada).await, (1, 1));
    f.system.stop().await;
}

#[tokio::test]
async fn following_an_unknown_user_is_not_found_even_with_a_warm_auth_cache() {
    let f = fixture().await;
    let (ada_user, bob_user) = (f.sign_up("ada").await, f.sign_up("bob").await);
    let (ada, bob) = (ada_user.id.clone(), bob_user.id.clone());
    let ghost = unknown_id();
    assert_error(f.follow(&ada_user, &ghost).await, Code::NotFound, "followee_id");
    assert_error(f.follow(&ada_user, &ghost).await, Code::NotFound, "followee_id");
    f.follow(&ada_user, &bob).await.unwrap(); // warms the user service's auth cache for ada and bob
    assert_error(f.follow(&ada_user, &ghost).await, Code::NotFound, "followee_id");
    let gone = f.sign_up("gone").await;
    f.delete_in_auth(&gone.id).await;
    assert_error(f.follow(&ada_user, &gone.id).await, Code::NotFound, "followee_id");
    assert_error(f.follow(&ada_user, &gone.id).await, Code::NotFound, "followee_id");
    assert_error(f.block(&ada_user, &ghost).await, Code::NotFound, "blocked_id");
    // A deleted account acts for nobody: user learns of the deletion from auth (NOT_FOUND
    // naming the follower), unless auth revoked its tokens first (UNAUTHENTICATED).
    let by_gone = f.follow(&gone, &bob).await.unwrap_err();
    assert!(
        (by_gone.code() == Code::NotFound && by_gone.message().contains("follower_id")) || by_gone.code() == Code::Unauthenticated,
        "{by_gone:?}"
    );
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 1);
    assert_eq!(f.counts(&ada).await, (0, 1));
    f.system.stop().await;
}

#[tokio::test]
async fn a_block_removes_follows_both_ways_and_forbids_new_ones() {
    let f = fixture().await;
    let (ada_user, bob_user, cyd_user) = (f.sign_up("ada").await, f.sign_up("bob").await, f.sign_up("cyd").await);
    let (ada, bob, cyd) = (ada_user.id.clone(), bob_user.id.clone(), cyd_user.id.clone());
    f.follow(&ada_user, &bob).await.unwrap();
    f.follow(&bob_user, &ada).await.unwrap();
    f.follow(&cyd_user, &ada).await.unwrap();
    f.follow(&bob_user, &cyd).await.unwrap();
    assert_eq!(f.counts(&ada).await, (2, 1));
    assert_eq!(f.counts(&bob).await, (1, 2));

    let blocked_at = f.block(&ada_user, &bob).await.unwrap().blocked_at.unwrap();
    assert_eq!(f.block(&ada_user, &bob).await.unwrap().blocked_at.unwrap(), blocked_at, "a retry changes nothing");
    assert_eq!(f.counts(&ada).await, (1, 0), "cyd still follows ada");
    assert_eq!(f.counts(&bob).await, (0, 1), "bob still follows cyd");
    assert_eq!(f.counts(&cyd).await, (1, 1));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 2);
    assert_eq!(f.stored("SELECT count(*) FROM blocks").await, 1);

    let seen_by_ada = f.relationship(&ada, &bob).await;
    assert_eq!(seen_by_ada, pb::CheckUserRelationshipResponse { following: false, followed_by: false, blocking: true, blocked_by: false });
    let seen_by_bob = f.relationship(&bob, &ada).await;
    assert_eq!(seen_by_bob, pb::CheckUserRelationshipResponse { following: false, followed_by: false, blocking: false, blocked_by: true });

    assert_error(f.follow(&bob_user, &ada).await, Code::FailedPrecondition, "blocks");
    assert_error(f.follow(&ada_user, &bob).await, Code::FailedPrecondition, "blocks");
    assert_error(f.block(&ada_user, &ada).await, Code::InvalidArgument, "blocked_id");
    assert_error(f.unblock(&ada_user, &ada).await, Code::InvalidArgument, "blocked_id");
    assert_error(f.unblock(&ada_user, "x").await, Code::InvalidArgument, "blocked_id");
    // Blocks act for the token's user only: bob cannot lift ada's block, nor block for cyd.
    let lift = pb::UnblockRequest { blocker_id: ada.clone(), blocked_id: bob.clone() };
    assert_error(f.as_(&bob_user).unblock(lift.clone()).await, Code::PermissionDenied, "blocker_id");
    assert_eq!(f.users.unblock(lift).await.unwrap_err().code(), Code::Unauthenticated);
    let for_cyd = pb::BlockRequest { blocker_id: cyd.clone(), blocked_id: ada.clone() };
    assert_error(f.as_(&bob_user).block(for_cyd.clone()).await, Code::PermissionDenied, "blocker_id");
    assert_eq!(f.users.block(for_cyd).await.unwrap_err().code(), Code::Unauthenticated);
    let malformed = pb::BlockRequest { blocker_id: "x".into(), blocked_id: bob.clone() };
    assert_error(f.as_(&ada_user).block(malformed).await, Code::PermissionDenied, "blocker_id");
    assert_eq!(f.stored("SELECT count(*) FROM blocks").await, 1, "no refused call changed a block");

    f.unblock(&ada_user, &bob).await.unwrap();
    f.unblock(&ada_user, &bob).await.unwrap();
    assert_eq!(f.stored("SELECT count(*) FROM blocks").await, 0);
    assert_eq!(f.relationship(&ada, &bob).await, pb::CheckUserRelationshipResponse::default(), "follows are not restored");
    f.follow(&bob_user, &ada).await.unwrap();
    assert_eq!(f.counts(&ada).await, (2, 0));
    f.system.stop().await;
}

/// Follow, retried as a client would for an idempotent call when the server was too busy to
/// answer in time (32 writers queue on one profile's row lock and on a pool of 10 connections).
async fn follow_until_done(users: UserClient, follower: String, followee: String) {
    until_answered("Follow", || users.follow(pb::FollowRequest { follower_id: follower.clone(), followee_id: followee.clone() })).await;
}

#[tokio::test]
async fn thirty_two_concurrent_follows_give_thirty_two_followers() {
    let f = fixture().await;
    let star = f.sign_up("star").await.id;
    let mut fans = Vec::new();
    for n in 0..32 {
        fans.push(f.sign_up(&format!("fan{n:02}")).await);
    }
    let mut everyone: Vec<String> = fans.iter().map(|fan| fan.id.clone()).collect();
    everyone.push(star.clone());
    f.users.get_user_profiles_by_ids(pb::GetUserProfilesByIdsRequest { user_ids: everyone }).await.unwrap(); // materialised

    let calls: Vec<_> = fans.iter().map(|fan| tokio::spawn(follow_until_done(f.as_(fan), fan.id.clone(), star.clone()))).collect();
    for call in calls {
        call.await.unwrap();
    }
    assert_eq!(f.counts(&star).await, (32, 0));
    assert_eq!(f.stored("SELECT count(*) FROM follows").await, 32);
    assert_eq!(f.stored(&format!("SELECT count(*) FROM profiles WHERE user_id <> '{star}' AND following_count = 1")).await, 32);

    // Every fan again, all at once: idempotent, nothing changes.
    let calls: Vec<_> = fans.iter().map(|fan| tokio::spawn(follow_until_done(f.as_(fan), fan.id.clone(), star.clone()))).collect();
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
    let (ada_user, bob_user) = (f.sign_up("ada").await, f.sign_up("bob").await);
    let (ada, bob) = (ada_user.id.clone(), bob_user.id.clone());
    for _ in 0..10 {
        f.unblock(&ada_user, &bob).await.unwrap();
        let follow_ab = tokio::spawn({
            let (users, ada, bob) = (f.as_(&ada_user), ada.clone(), bob.clone());
            async move { users.follow(pb::FollowRequest { follower_id: ada, followee_id: bob }).await }
        });
        let follow_ba = tokio::spawn({
            let (users, ada, bob) = (f.as_(&bob_user), ada.clone(), bob.clone());
            async move { users.follow(pb::FollowRequest { follower_id: bob, followee_id: ada }).await }
        });
        let block = tokio::spawn({
            let (users, ada, bob) = (f.as_(&ada_user), ada.clone(), bob.clone());
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
    let star_user = f.sign_up("star").await;
    let star = star_user.id.clone();
    let mut fans = Vec::new();
    for n in 0..5 {
        let fan = f.sign_up(&format!("fan{n}")).await;
        f.follow(&fan, &star).await.unwrap();
        fans.push(fan.id);
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

    f.follow(&star_user, &fans[0]).await.unwrap();
    f.follow(&star_user, &fans[1]).await.unwrap();
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
    let (ada_user, bob_user) = (f.sign_up("ada").await, f.sign_up("bob").await);
    let (ada, bob) = (ada_user.id.clone(), bob_user.id.clone());
    // Relationships are asked by services: client A of them is feed, B and C other replicas.
    let service = f.service();
    let followers = pb::GetUserFollowersRequest { user_id: bob.clone(), page_size: 0, page_token: String::new() };
    let following = pb::GetUserFollowingRequest { user_id: ada.clone(), page_size: 0, page_token: String::new() };
    let from_ada = pb::CheckUserRelationshipRequest { user_id: ada.clone(), other_user_id: bob.clone() };
    let from_bob = pb::CheckUserRelationshipRequest { user_id: bob.clone(), other_user_id: ada.clone() };
    // Client A caches the empty answers, and they reach L2.
    assert!(f.users.get_user_followers(followers.clone()).await.unwrap().followers.is_empty());
    assert!(f.users.get_user_following(following.clone()).await.unwrap().following.is_empty());
    assert_eq!(service.check_user_relationship(from_ada.clone()).await.unwrap(), pb::CheckUserRelationshipResponse::default());
    assert_eq!(service.check_user_relationship(from_bob.clone()).await.unwrap(), pb::CheckUserRelationshipResponse::default());
    until_in_l2(&f.users, &nova_user::rpc::GET_USER_FOLLOWERS, &followers, std::slice::from_ref(&bob)).await;
    until_in_l2(&f.users, &nova_user::rpc::GET_USER_FOLLOWING, &following, std::slice::from_ref(&ada)).await;
    until_in_l2(&service, &nova_user::rpc::CHECK_USER_RELATIONSHIP, &from_ada, std::slice::from_ref(&ada)).await;
    until_in_l2(&service, &nova_user::rpc::CHECK_USER_RELATIONSHIP, &from_bob, std::slice::from_ref(&bob)).await;

    f.follow(&ada_user, &bob).await.unwrap();

    // Client B has an empty L1: the old answers in L2 must have been invalidated.
    let b = f.fresh();
    let b_service = f.service();
    let listed = b.get_user_followers(followers.clone()).await.unwrap().followers;
    assert_eq!(listed.iter().map(|e| e.follower_id.as_str()).collect::<Vec<_>>(), [ada.as_str()], "client B");
    assert_eq!(b.get_user_following(following.clone()).await.unwrap().following.len(), 1, "client B");
    let seen = b_service.check_user_relationship(from_ada.clone()).await.unwrap();
    assert!(seen.following && !seen.followed_by, "client B: {seen:?}");
    assert!(b_service.check_user_relationship(from_bob.clone()).await.unwrap().followed_by, "client B");
    // Client A drops its L1 copies when the invalidation reaches it through pub/sub.
    until("client A sees the follower", || async { f.users.get_user_followers(followers.clone()).await.unwrap().followers.len() == 1 }).await;
    until("client A sees the following", || async { f.users.get_user_following(following.clone()).await.unwrap().following.len() == 1 }).await;
    until("client A sees the relationship", || async { service.check_user_relationship(from_ada.clone()).await.unwrap().following }).await;
    until("client A sees it from bob", || async { service.check_user_relationship(from_bob.clone()).await.unwrap().followed_by }).await;

    for (request, entity) in [(&from_ada, &ada), (&from_bob, &bob)] {
        until_in_l2(&service, &nova_user::rpc::CHECK_USER_RELATIONSHIP, request, std::slice::from_ref(entity)).await;
    }
    f.block(&bob_user, &ada).await.unwrap();
    let c = f.fresh();
    let c_service = f.service();
    assert!(c.get_user_followers(followers.clone()).await.unwrap().followers.is_empty(), "client C");
    assert!(c_service.check_user_relationship(from_bob.clone()).await.unwrap().blocking, "client C");
    assert!(c_service.check_user_relationship(from_ada.clone()).await.unwrap().blocked_by, "client C");
    until("client A sees the block", || async { service.check_user_relationship(from_bob.clone()).await.unwrap().blocking }).await;
    f.system.stop().await;
}

#[tokio::test]
async fn relationships_of_unknown_users_and_of_oneself_are_empty() {
    let f = fixture().await;
    let ada_user = f.sign_up("ada").await;
    let ada = ada_user.id.clone();
    assert_eq!(f.relationship(&ada, &unknown_id()).await, pb::CheckUserRelationshipResponse::default());
    assert_eq!(f.relationship(&ada, &ada).await, pb::CheckUserRelationshipResponse::default());
    let malformed = pb::CheckUserRelationshipRequest { user_id: ada.clone(), other_user_id: "x".into() };
    assert_error(f.service().check_user_relationship(malformed).await, Code::InvalidArgument, "other_user_id");
    let malformed = pb::CheckUserRelationshipRequest { user_id: String::new(), other_user_id: ada.clone() };
    assert_error(f.service().check_user_relationship(malformed).await, Code::InvalidArgument, "user_id");
    // Who follows or blocks whom is for services only (their answer is shared by them all):
    // end users, with a token or without, are refused before the handler.
    let bob = f.sign_up("bob").await;
    let asked = pb::CheckUserRelationshipRequest { user_id: ada.clone(), other_user_id: bob.id.clone() };
    assert_eq!(f.users.check_user_relationship(asked.clone()).await.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(f.as_(&ada_user).check_user_relationship(asked.clone()).await.unwrap_err().code(), Code::PermissionDenied);
    for service in ["content", "messaging", "streaming"] {
        let answer = f.system.service_client(service, UserClient::from_peers).check_user_relationship(asked.clone()).await;
        assert_eq!(answer.unwrap(), pb::CheckUserRelationshipResponse::default(), "{service}");
    }
    f.system.stop().await;
}

fn search(query: &str, searcher: &str, page_size: i32, page_token: String) -> pb::SearchUsersRequest {
    pb::SearchUsersRequest { query: query.to_string(), searcher_id: searcher.to_string(), page_size, page_token }
}

#[tokio::test]
async fn search_finds_display_name_prefixes_ignoring_case() {
    let f = fixture().await;
    let mut users = Vec::new();
    for name in ["alice", "alicia", "albert", "bob", "al_x"] {
        users.push(f.sign_up(name).await);
    }
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let (alice, alicia, albert, bob, al_x) = (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
    let as_bob = f.as_(&users[3]);
    f.users.get_user_profiles_by_ids(pb::GetUserProfilesByIdsRequest { user_ids: ids.clone() }).await.unwrap();
    let renamed = pb::UpdateUserProfileRequest { display_name: "ALIce Smith".into(), ..edit(alice, 0) };
    f.as_(&users[0]).update_user_profile(renamed).await.unwrap();

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
        let page = as_bob.search_users(search("al", bob, 1, token)).await.unwrap();
        assert!(page.profiles.len() <= 1);
        seen.extend(page.profiles.iter().map(|p| p.user_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, [al_x, albert, alice, alicia].map(String::clone));

    // Users who block the searcher are left out for that searcher only (an empty searcher is
    // the caller).
    f.block(&users[1], bob).await.unwrap();
    let for_bob = as_bob.search_users(search("ali", bob, 0, String::new())).await.unwrap();
    assert_eq!(names(&for_bob), ["ALIce Smith"]);
    assert_eq!(names(&as_bob.search_users(search("ali", "", 0, String::new())).await.unwrap()), ["ALIce Smith"]);
    let for_anyone = f.users.search_users(search("ali", "", 0, String::new())).await.unwrap();
    assert_eq!(names(&for_anyone).len(), 2);

    // Case is folded beyond ASCII, the same way by the service and by PostgreSQL.
    let elodie = pb::UpdateUserProfileRequest { display_name: "Élodie".into(), ..edit(bob, 0) };
    as_bob.update_user_profile(elodie).await.unwrap();
    assert_eq!(names(&f.users.search_users(search("éLO", "", 0, String::new())).await.unwrap()), ["Élodie"]);

    let first = f.users.search_users(search("al", "", 1, String::new())).await.unwrap();
    assert_error(f.users.search_users(search("ali", "", 1, first.next_page_token)).await, Code::InvalidArgument, "page_token");
    // A page token is the searcher's: another searcher's token does not continue it.
    let bobs_first = as_bob.search_users(search("al", "", 1, String::new())).await.unwrap();
    assert_error(f.users.search_users(search("al", "", 1, bobs_first.next_page_token)).await, Code::InvalidArgument, "page_token");
    assert_error(f.users.search_users(search("", "", 0, String::new())).await, Code::InvalidArgument, "query");
    assert_error(f.users.search_users(search(&"a".repeat(65), "", 0, String::new())).await, Code::InvalidArgument, "query");
    assert_error(f.users.search_users(search("al", "", -5, String::new())).await, Code::InvalidArgument, "page_size");
    // The searcher is the caller: nobody searches as someone else (whose blocks would show).
    assert_error(as_bob.search_users(search("al", alicia, 0, String::new())).await, Code::PermissionDenied, "searcher_id");
    assert_error(as_bob.search_users(search("al", "x", 0, String::new())).await, Code::PermissionDenied, "searcher_id");
    assert_eq!(f.users.search_users(search("al", bob, 0, String::new())).await.unwrap_err().code(), Code::Unauthenticated);
    f.system.stop().await;
}

/// What a private profile shows: bio, location and website only to the user and their followers.
fn details(profile: &pb::UserProfile) -> (&str, &str, &str) {
    (profile.bio.as_str(), profile.location.as_str(), profile.website_url.as_str())
}

#[tokio::test]
async fn a_private_profile_shows_its_outline_to_whoever_does_not_follow_it() {
    let f = fixture().await;
    let (ada, bob, cyd) = (f.sign_up("ada").await, f.sign_up("bob").await, f.sign_up("cyd").await);
    f.follow(&bob, &ada.id).await.unwrap();
    f.follow(&ada, &cyd.id).await.unwrap();
    let version = f.profile(&ada.id).await.version;
    let private = pb::UpdateUserProfileRequest { visibility: pb::ProfileVisibility::Private as i32, ..edit(&ada.id, version) };
    let stored = f.as_(&ada).update_user_profile(private).await.unwrap().profile.unwrap();
    let full = ("Analyst", "London", "https://example.com/ada");
    assert_eq!(details(&stored), full);

    let profile_for = |client: UserClient| {
        let id = ada.id.clone();
        async move { client.get_user_profile(pb::GetUserProfileRequest { user_id: id }).await.unwrap().profile.unwrap() }
    };
    // The user, a follower and a service as itself see it all; another user and an anonymous
    // caller see the outline: who it is (to name posts' authors), not the details.
    assert_eq!(profile_for(f.as_(&ada)).await, stored);
    assert_eq!(profile_for(f.as_(&bob)).await, stored);
    assert_eq!(profile_for(f.service()).await, stored);
    for (who, client) in [("cyd", f.as_(&cyd)), ("anonymous", f.fresh())] {
        let outline = profile_for(client).await;
        assert_eq!(details(&outline), ("", "", ""), "{who}");
        assert_eq!((outline.display_name.as_str(), outline.visibility), ("Ada Lovelace", pb::ProfileVisibility::Private as i32), "{who}");
        assert_eq!((outline.follower_count, outline.following_count, outline.version), (1, 1, stored.version), "{who}");
    }
    // The batch, profile by profile: cyd sees ada's outline and bob's public profile in full.
    let batch = pb::GetUserProfilesByIdsRequest { user_ids: vec![ada.id.clone(), bob.id.clone(), cyd.id.clone()] };
    let seen_by_cyd = f.as_(&cyd).get_user_profiles_by_ids(batch.clone()).await.unwrap().profiles;
    assert_eq!(details(&seen_by_cyd[0]), ("", "", ""));
    assert_eq!(seen_by_cyd.len(), 3);
    assert_eq!(f.as_(&bob).get_user_profiles_by_ids(batch.clone()).await.unwrap().profiles[0], stored);

    // Its lists: the user and followers only.
    let followers = || pb::GetUserFollowersRequest { user_id: ada.id.clone(), page_size: 0, page_token: String::new() };
    let following = || pb::GetUserFollowingRequest { user_id: ada.id.clone(), page_size: 0, page_token: String::new() };
    for client in [f.as_(&ada), f.as_(&bob), f.service()] {
        assert_eq!(client.get_user_followers(followers()).await.unwrap().followers[0].follower_id, bob.id);
        assert_eq!(client.get_user_following(following()).await.unwrap().following[0].followee_id, cyd.id);
    }
    for client in [f.as_(&cyd), f.fresh()] {
        assert_error(client.get_user_followers(followers()).await, Code::PermissionDenied, "user_id");
        assert_error(client.get_user_following(following()).await, Code::PermissionDenied, "user_id");
    }
    // A public user's lists still name the private user who follows them.
    let cyds_followers = pb::GetUserFollowersRequest { user_id: cyd.id.clone(), page_size: 0, page_token: String::new() };
    assert_eq!(f.users.get_user_followers(cyds_followers).await.unwrap().followers[0].follower_id, ada.id);

    // Searches find it for the user and followers only.
    let finds = |client: UserClient| async move {
        let hits = client.search_users(search("ada lo", "", 0, String::new())).await.unwrap();
        hits.profiles.iter().map(|p| p.user_id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(finds(f.as_(&ada)).await, std::slice::from_ref(&ada.id));
    assert_eq!(finds(f.as_(&bob)).await, std::slice::from_ref(&ada.id));
    assert_eq!(finds(f.service()).await, std::slice::from_ref(&ada.id));
    assert!(finds(f.as_(&cyd)).await.is_empty());
    assert!(finds(f.fresh()).await.is_empty());

    // cyd's caller cached the outline: following ada changes what cyd sees at once (the follow
    // invalidates ada's cached answers), unfollowing changes it back.
    let as_cyd = f.as_(&cyd);
    assert_eq!(details(&profile_for(as_cyd.clone()).await), ("", "", ""));
    f.follow(&cyd, &ada.id).await.unwrap();
    assert_eq!(profile_for(f.fresh().with_token(&cyd.token)).await, pb::UserProfile { follower_count: 2, ..stored.clone() });
    until("cyd's caller sees the details", || async { details(&profile_for(as_cyd.clone()).await) == full }).await;
    assert_eq!(finds(as_cyd.clone()).await, std::slice::from_ref(&ada.id));
    f.unfollow(&cyd, &ada.id).await.unwrap();
    until("cyd's caller sees the outline again", || async { details(&profile_for(as_cyd.clone()).await) == ("", "", "") }).await;
    // A block removes the follow: bob sees the outline from then on.
    f.block(&ada, &bob.id).await.unwrap();
    assert_eq!(details(&profile_for(f.fresh().with_token(&bob.token)).await), ("", "", ""));
    // Public again: everyone sees it all.
    let public = pb::UpdateUserProfileRequest { visibility: pb::ProfileVisibility::Public as i32, ..edit(&ada.id, stored.version) };
    f.as_(&ada).update_user_profile(public).await.unwrap();
    assert_eq!(details(&profile_for(f.fresh()).await), full);
    assert_eq!(finds(f.fresh()).await, std::slice::from_ref(&ada.id));
    f.system.stop().await;
}
