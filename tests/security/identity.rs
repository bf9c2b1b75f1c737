//! Who may call what, end to end: real services on mutual TLS with the test CA, real tokens
//! from auth, the access policies of specs/ownership.toml enforced by the generated servers.
//! Each test checks refusals as well as the calls that succeed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_auth::AuthClient;
use nova_auth::pb as auth_pb;
use nova_runtime::identity::Peer;
use nova_runtime::tls::Transport;
use nova_tests::{TestSystem, pki};
use nova_user::UserClient;
use nova_user::pb;
use tonic::Code;

async fn user_system() -> TestSystem {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_user::SERVICE).await;
    system
}

fn code<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn only_clients_with_a_certificate_of_the_deployment_connect() {
    let system = user_system().await;
    let request = || pb::GetUserProfileRequest { user_id: uuid::Uuid::new_v4().to_string() };
    // The edge's certificate: the call reaches the service (which finds no such user).
    let edge = system.client(UserClient::from_peers);
    assert_eq!(code(edge.get_user_profile(request()).await), Code::NotFound);
    // No certificate at all (plaintext), or a certificate of another CA claiming to be a
    // service: the TLS handshake fails, nothing reaches a handler.
    for transport in [Transport::Plaintext { announce: Some("content".to_string()) }, pki::stranger(&Peer::Service("content".to_string()))] {
        let refused = system.client_with(transport, UserClient::from_peers).get_user_profile(request()).await;
        assert_eq!(code(refused), Code::Unavailable);
    }
    system.stop().await;
}

#[tokio::test]
async fn user_calls_need_a_valid_token_and_act_only_for_its_user() {
    let system = user_system().await;
    let ada = system.sign_up("ada").await;
    let bob = system.sign_up("bob").await;
    let users = system.client(UserClient::from_peers);
    let follow = |follower: &str, followee: &str| pb::FollowRequest { follower_id: follower.to_string(), followee_id: followee.to_string() };

    // No token: UNAUTHENTICATED, before the handler.
    assert_eq!(code(users.follow(follow(&ada.id, &bob.id)).await), Code::Unauthenticated);
    // A tampered token, a token with another key, garbage: UNAUTHENTICATED.
    let mut tampered = ada.token.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    for token in [String::from_utf8(tampered).unwrap(), "not.a.token".to_string(), format!("{}x", ada.token)] {
        assert_eq!(code(users.with_token(&token).follow(follow(&ada.id, &bob.id)).await), Code::Unauthenticated, "{token}");
    }
    // Bob's token cannot make ada follow anyone.
    let as_bob = users.with_token(&bob.token);
    let refused = as_bob.follow(follow(&ada.id, &bob.id)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(refused.message().contains("follower_id"), "{refused:?}");
    // Ada's token: her own id, or an empty field (the server fills in the caller).
    let as_ada = users.with_token(&ada.token);
    as_ada.follow(follow(&ada.id, &bob.id)).await.unwrap();
    as_ada.unfollow(pb::UnfollowRequest { follower_id: String::new(), followee_id: bob.id.clone() }).await.unwrap();
    as_ada.follow(follow("", &bob.id)).await.unwrap();
    let followers =
        users.get_user_followers(pb::GetUserFollowersRequest { user_id: bob.id.clone(), page_size: 10, page_token: String::new() }).await.unwrap();
    assert_eq!(followers.followers.iter().map(|f| f.follower_id.as_str()).collect::<Vec<_>>(), vec![ada.id.as_str()]);
    // A public read needs no token.
    assert_eq!(code(users.get_user_profile(pb::GetUserProfileRequest { user_id: ada.id.clone() }).await), Code::Ok);
    system.stop().await;
}

#[tokio::test]
async fn service_only_rpcs_refuse_end_users_and_undeclared_services() {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_user::SERVICE).await;
    let (ada, bob) = (system.sign_up("ada").await, system.sign_up("bob").await);
    let check = || pb::CheckUserRelationshipRequest { user_id: ada.id.clone(), other_user_id: bob.id.clone() };
    // The edge, anonymous or with a user's token: PERMISSION_DENIED (only the services that
    // declare they call user may ask).
    let users = system.client(UserClient::from_peers);
    assert_eq!(code(users.check_user_relationship(check()).await), Code::PermissionDenied);
    assert_eq!(code(users.with_token(&ada.token).check_user_relationship(check()).await), Code::PermissionDenied);
    // media has a certificate of the deployment, but does not call user.
    assert_eq!(code(system.service_client("media", UserClient::from_peers).check_user_relationship(check()).await), Code::PermissionDenied);
    // content does: the call is answered.
    let as_content = system.service_client("content", UserClient::from_peers).check_user_relationship(check()).await;
    assert_eq!(code(as_content), Code::Ok);
    system.stop().await;
}

#[tokio::test]
async fn operator_rpcs_need_the_permission() {
    let mut system = TestSystem::new();
    system.start_with_callees(nova_auth::SERVICE).await;
    let ada = system.sign_up("ada").await;
    let auth = system.client(AuthClient::from_peers);
    assert_eq!(code(auth.rotate_signing_key(auth_pb::RotateSigningKeyRequest {}).await), Code::Unauthenticated);
    assert_eq!(code(auth.with_token(&ada.token).rotate_signing_key(auth_pb::RotateSigningKeyRequest {}).await), Code::PermissionDenied);
    // Granted (by an operator with the database, as the first admin is), the same token may.
    let mut db = system.connect("auth").await;
    nova_runtime::codegen::sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1::uuid, 'auth.admin')")
        .bind(&ada.id)
        .execute(&mut db)
        .await
        .unwrap();
    auth.with_token(&ada.token).rotate_signing_key(auth_pb::RotateSigningKeyRequest {}).await.unwrap();
    system.stop().await;
}

/// An answer cached for one user is never served to another, even by one client instance (one
/// L1, one L2): a follower's view of a followers-only post stays the follower's.
#[tokio::test]
async fn an_answer_cached_for_one_user_is_never_served_to_another() {
    use nova_content::{ContentClient, pb as content};
    let mut system = TestSystem::new();
    system.start_with_callees(nova_content::SERVICE).await;
    let (ada, bob, eve) = (system.sign_up("ada").await, system.sign_up("bob").await, system.sign_up("eve").await);
    let users = system.client(UserClient::from_peers);
    users.with_token(&bob.token).follow(pb::FollowRequest { follower_id: bob.id.clone(), followee_id: ada.id.clone() }).await.unwrap();
    let posts = system.client(ContentClient::from_peers);
    let create = content::CreatePostRequest {
        author_id: ada.id.clone(),
        body: "for my followers".into(),
        media_ids: vec![],
        visibility: content::PostVisibility::Followers as i32,
    };
    let post = posts.with_token(&ada.token).create_post(create).await.unwrap().post.unwrap();
    let read = || content::GetPostRequest { post_id: post.id.clone(), viewer_id: String::new() };
    // Bob (a follower) reads it: now cached in this client, for bob.
    assert_eq!(posts.with_token(&bob.token).get_post(read()).await.unwrap().post.unwrap().id, post.id);
    assert_eq!(posts.with_token(&bob.token).get_post(read()).await.unwrap().post.unwrap().id, post.id, "again, from the cache");
    // Eve and the anonymous edge ask the same client the same request: not bob's answer.
    assert_eq!(code(posts.with_token(&eve.token).get_post(read()).await), Code::NotFound);
    assert_eq!(code(posts.get_post(read()).await), Code::NotFound);
    system.stop().await;
}

/// Redis is not trusted with answers: an entry written by someone without the deployment's
/// sealing key (say, a CheckPermission answer saying yes) is ignored and counted, while the same
/// entry sealed with the key would have been served.
#[tokio::test]
async fn a_cache_entry_planted_in_redis_is_rejected() {
    use nova_runtime::client::cache::{Entry, MacKey};
    use nova_runtime::codegen::prost::Message as _;
    let mut system = TestSystem::new();
    system.start_with_callees(nova_auth::SERVICE).await;
    let ada = system.sign_up("ada").await;
    let request = auth_pb::CheckPermissionRequest { user_id: ada.id.clone(), permission: "content.moderate".into() };
    let rpc = &nova_auth::rpc::CHECK_PERMISSION;
    // content asks: not allowed; the answer is stored in L2 (sealed).
    let first = system.service_client("content", AuthClient::from_peers);
    assert!(!first.check_permission(request.clone()).await.unwrap().allowed);
    let key = first.core().cache_key(rpc, &request, std::slice::from_ref(&ada.id)).unwrap();
    let mut redis = redis::Client::open(nova_tests::redis_prefix::redis_url()).unwrap().get_connection().unwrap();
    let stored: Vec<u8> = nova_tests::eventually::eventually_some("the answer reached Redis", || {
        let value: Option<Vec<u8>> = redis::cmd("GET").arg(key.redis_key()).query(&mut redis).unwrap();
        async move { value }
    })
    .await;
    let genuine = Entry::decode(&stored, &system.redis.mac_key, key.redis_key()).expect("sealed with the system's key");
    let yes = auth_pb::CheckPermissionResponse { allowed: true }.encode_to_vec();
    let forged = Entry { payload: yes.into(), ..genuine };
    let forged_bytes = |mac: &MacKey| forged.encode(mac, key.redis_key()).to_vec();
    let rejected_before = forged_count();
    // Planted without the key: a fresh caller (empty L1) ignores it and asks auth.
    let _: () = redis::cmd("SET").arg(key.redis_key()).arg(forged_bytes(&MacKey::random())).query(&mut redis).unwrap();
    let second = system.service_client("content", AuthClient::from_peers);
    assert!(!second.check_permission(request.clone()).await.unwrap().allowed, "a planted answer was served");
    assert!(forged_count() > rejected_before, "the planted entry is counted");
    // The control: the same entry sealed with the key is what a cache would serve.
    let _: () = redis::cmd("SET").arg(key.redis_key()).arg(forged_bytes(&system.redis.mac_key)).query(&mut redis).unwrap();
    let third = system.service_client("content", AuthClient::from_peers);
    assert!(
        third.check_permission(request).await.unwrap().allowed,
        "the control entry should be served: the test would not see a missing seal check"
    );
    system.stop().await;
}

fn forged_count() -> f64 {
    nova_tests::metrics::sum(&nova_runtime::metrics::render(), "grpc_client_cache_l2_forged_total", &[("target", "auth")])
}
