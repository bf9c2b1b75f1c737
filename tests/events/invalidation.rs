//! Cached answers that a change elsewhere makes wrong are dropped in every caller: a block
//! (user's `profiles.relations_changed`, followed by content), a logout (auth itself, by the
//! token's subject) and an account deletion (auth's `users.deleted`, followed by user).
//!
//! Each test caches an answer through a real client (L1 and Redis), waits until it is in
//! Redis, makes the change, waits for the event to be applied (the consumer's inbox row, not
//! a delay), then finds the entry no longer served and the next call answering the new truth.

use nova_auth::AuthClient;
use nova_auth::pb as auth_pb;
use nova_content::ContentClient;
use nova_content::pb as content_pb;
use nova_runtime::client::{ClientCore, Level, Lookup};
use nova_runtime::codegen::prost::Message;
use nova_runtime::codegen::sqlx;
use nova_runtime::rpc::RpcDescriptor;
use nova_tests::TestSystem;
use nova_tests::eventually::eventually;
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;

/// Whether the answer `core` cached for `request` (naming `entities`) is served from Redis.
async fn fresh_in_l2<R: Message>(core: &ClientCore, rpc: &RpcDescriptor, request: &R, entities: &[String]) -> bool {
    let cache = core.cache().unwrap();
    let key = core.cache_key(rpc, request, entities).unwrap();
    matches!(cache.lookup_l2(&key).await.0, Lookup::Fresh(_, Level::L2))
}

/// Whether `core` would serve a cached answer for `request` at all (its L1, then Redis). An
/// invalidation reaches this process's L1 over Redis pub/sub, so after the change the tests
/// wait for this to turn false before calling again.
async fn served<R: Message>(core: &ClientCore, rpc: &RpcDescriptor, request: &R, entities: &[String]) -> bool {
    let cache = core.cache().unwrap();
    let key = core.cache_key(rpc, request, entities).unwrap();
    matches!(cache.lookup(&key).await, Lookup::Fresh(..))
}

/// Whether `core`'s per-id entry for `id` of the batch read `rpc` is served from Redis.
async fn item_fresh_in_l2(core: &ClientCore, rpc: &RpcDescriptor, id: &str) -> bool {
    let key = core.item_key(rpc, id).unwrap();
    matches!(core.cache().unwrap().lookup_l2(&key).await.0, Lookup::Fresh(_, Level::L2))
}

/// Whether `core` would serve its per-id entry for `id` of the batch read `rpc` (L1, then Redis).
async fn item_served(core: &ClientCore, rpc: &RpcDescriptor, id: &str) -> bool {
    let key = core.item_key(rpc, id).unwrap();
    matches!(core.cache().unwrap().lookup(&key).await, Lookup::Fresh(..))
}

/// Events `service` has applied (its inbox rows).
async fn applied(system: &TestSystem, service: &str) -> i64 {
    let mut db = system.connect(service).await;
    sqlx::query_scalar("SELECT count(*) FROM nova_event_inbox").fetch_one(&mut db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_drops_what_callers_cached_for_both_users() {
    let mut system = TestSystem::new().with_events();
    system.start_with_callees("content").await;
    let (ada, bob) = (system.sign_up("ada").await, system.sign_up("bob").await);
    let request = content_pb::CreatePostRequest {
        author_id: ada.id.clone(),
        body: "for everyone".into(),
        media_ids: vec![],
        visibility: content_pb::PostVisibility::Public as i32,
    };
    let post = system.client(ContentClient::from_peers).with_token(&ada.token).create_post(request).await.unwrap().post.unwrap();

    // bob reads the post through a caching client: the answer (for bob) is cached.
    let as_bob = system.client(ContentClient::from_peers).with_token(&bob.token);
    let read = content_pb::GetPostsByIdsRequest { post_ids: vec![post.id.clone()] };
    assert_eq!(as_bob.get_posts_by_ids(read.clone()).await.unwrap().posts.len(), 1);
    let rpc = &nova_content::rpc::GET_POSTS_BY_IDS;
    eventually("bob's answer reached Redis", || async { item_fresh_in_l2(as_bob.core(), rpc, &post.id).await }).await;

    // ada blocks bob; content applies user's event, then drops what was cached for either.
    let before = applied(&system, "content").await;
    let block = user_pb::BlockRequest { blocker_id: ada.id.clone(), blocked_id: bob.id.clone() };
    system.client(UserClient::from_peers).with_token(&ada.token).block(block).await.unwrap();
    eventually("content applied the relation change", || async { applied(&system, "content").await > before }).await;
    eventually("bob's cached answer is no longer served", || async { !item_served(as_bob.core(), rpc, &post.id).await }).await;
    let after = as_bob.get_posts_by_ids(read).await.unwrap();
    assert!(after.posts.is_empty(), "a blocked viewer no longer sees the post: {after:?}");
    assert_eq!(after.missing_post_ids, vec![post.id.clone()]);
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_drops_cached_verify_token_answers_in_every_caller() {
    let mut system = TestSystem::new();
    system.start_with_callees("auth").await;
    let ada = system.sign_up("ada").await;
    // A service verifying a token it was given, as itself: the answer is cached by token.
    let verifier = system.service_client("content", AuthClient::from_peers);
    let verify = auth_pb::VerifyTokenRequest { access_token: ada.token.clone() };
    assert!(verifier.verify_token(verify.clone()).await.unwrap().valid);
    let rpc = &nova_auth::rpc::VERIFY_TOKEN;
    let entities = std::slice::from_ref(&verify.access_token);
    eventually("the verification reached Redis", || async { fresh_in_l2(verifier.core(), rpc, &verify, entities).await }).await;

    let as_ada = system.client(AuthClient::from_peers).with_token(&ada.token);
    as_ada.logout(auth_pb::LogoutRequest::default()).await.unwrap();
    // Auth drops the answers itself once the logout committed: Redis holds the invalidation
    // when Logout returns, this process's L1 hears it over pub/sub.
    assert!(!fresh_in_l2(verifier.core(), rpc, &verify, entities).await, "the cached verification is dropped from Redis");
    eventually("the verifier's own copy is dropped", || async { !served(verifier.core(), rpc, &verify, entities).await }).await;
    let status = verifier.verify_token(verify).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_deletion_drops_what_callers_cached_about_the_user() {
    let mut system = TestSystem::new().with_events();
    system.start_with_callees("user").await;
    let ada = system.sign_up("ada").await;
    let profiles = system.client(UserClient::from_peers);
    let read = user_pb::GetUserProfileRequest { user_id: ada.id.clone() };
    profiles.get_user_profile(read.clone()).await.unwrap();
    // GetUserProfile shares GetUserProfilesByIds's per-id entries (the spec's `per_id`).
    let rpc = &nova_user::rpc::GET_USER_PROFILES_BY_IDS;
    eventually("the profile reached Redis", || async { item_fresh_in_l2(profiles.core(), rpc, &ada.id).await }).await;

    let before = applied(&system, "user").await;
    let delete = auth_pb::DeleteUserRequest { user_id: ada.id.clone() };
    system.client(AuthClient::from_peers).with_token(&ada.token).delete_user(delete).await.unwrap();
    eventually("user applied the deletion", || async { applied(&system, "user").await > before }).await;
    eventually("the cached profile is no longer served", || async { !item_served(profiles.core(), rpc, &ada.id).await }).await;
    let status = profiles.get_user_profile(read).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    system.stop().await;
}
