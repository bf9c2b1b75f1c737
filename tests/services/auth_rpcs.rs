//! The auth service's RPCs over real gRPC and mutual TLS, each test with its own databases and
//! Redis key prefix (see `nova_tests::TestSystem`). Calls are made as the caller each RPC's
//! access policy admits: the edge anonymous (`client`), the edge carrying a user's token
//! (`client.with_token`), an operator holding `auth.admin`, or a nova service as itself
//! (`service`); `access.rs` checks that every other caller is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::{AuthClient, pb};
use nova_auth_service::AuthSettings;
use nova_runtime::codegen::chrono::TimeDelta;
use nova_runtime::codegen::sqlx;
use nova_tests::system::TestDirectory;
use nova_tests::{RunningService, TestDatabase, TestSystem, TestUser};
use tonic::Code;
use uuid::Uuid;

mod access;
mod keys;
mod revocations;
mod throttle;

const PASSWORD: &str = nova_tests::system::PASSWORD;

/// A system running auth with `settings`, and a client of it.
async fn start(settings: AuthSettings) -> (TestSystem, AuthClient) {
    let mut system = TestSystem::new();
    system
        .start(&nova_auth::server::DESCRIPTION, move |config, listeners, shutdown| {
            nova_auth_service::start_with(config, settings, listeners, shutdown)
        })
        .await;
    let client = system.client(AuthClient::from_peers);
    (system, client)
}

/// Auth on `database`, with `files` as its data directory (where its key-encryption key lives),
/// serving; replicas started with the same arguments share both.
async fn start_replica(database: &TestDatabase, files: &TestDirectory, settings: AuthSettings) -> RunningService {
    let mut config = nova_runtime::server::ServiceConfig::loopback(database.config());
    config.data_dir = files.path.clone();
    let service = RunningService::start(move |listeners, shutdown| nova_auth_service::start_with(config, settings, listeners, shutdown)).await;
    nova_tests::wait_until_serving(service.addr, nova_auth::PROTO_SERVICE, nova_tests::SAFETY_TIMEOUT).await;
    service
}

/// The edge with nothing cached and no shared cache: it sees what the service answers now.
/// (Cached `VerifyToken` answers of other clients outlive a revocation by up to the TTL.)
fn direct(system: &TestSystem) -> AuthClient {
    system.uncached_client(AuthClient::from_peers)
}

/// A nova service calling auth as itself (user calls auth): what the service-only RPCs admit.
fn service(system: &TestSystem) -> AuthClient {
    system.service_client("user", AuthClient::from_peers)
}

/// Gives `user_id` a permission the way an operator with database access does (the first
/// `auth.admin` of a deployment without `NOVA_AUTH_ADMIN_EMAILS`).
async fn grant_in_database(system: &TestSystem, user_id: &str, permission: &str) {
    let mut db = system.connect("auth").await;
    sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1::uuid, $2)")
        .bind(user_id)
        .bind(permission)
        .execute(&mut db)
        .await
        .unwrap();
}

/// A user holding `auth.admin`, signed in: who may call the operator RPCs.
async fn operator(system: &TestSystem, name: &str) -> TestUser {
    let operator = system.sign_up(name).await;
    grant_in_database(system, &operator.id, "auth.admin").await;
    operator
}

async fn register(client: &AuthClient, name: &str) -> pb::User {
    let request = pb::RegisterRequest { email: format!("{name}@example.com"), username: name.into(), password: PASSWORD.into() };
    client.register(request).await.unwrap().user.unwrap()
}

fn credentials(name: &str, password: &str) -> pb::LoginRequest {
    pb::LoginRequest { email: format!("{name}@example.com"), password: password.into(), device: "test device".into() }
}

async fn login(client: &AuthClient, name: &str) -> pb::LoginResponse {
    client.login(credentials(name, PASSWORD)).await.unwrap()
}

async fn verify(client: &AuthClient, token: &str) -> Result<pb::VerifyTokenResponse, tonic::Status> {
    client.verify_token(pb::VerifyTokenRequest { access_token: token.into() }).await
}

async fn refresh(client: &AuthClient, token: &str) -> Result<pb::TokenPair, tonic::Status> {
    client.refresh(pb::RefreshRequest { refresh_token: token.into() }).await.map(|r| r.tokens.unwrap())
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code) -> tonic::Status {
    let status = result.unwrap_err();
    assert_eq!(status.code(), code, "{status:?}");
    status
}

/// Base64url without padding (RFC 4648 §5), for crafting token headers.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// `token` with one character of segment `segment` (0 header, 1 payload, 2 signature) changed.
fn tamper(token: &str, segment: usize) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let part = &mut parts[segment];
    let at = part.len() / 2;
    let old = part.as_bytes()[at];
    let new = if old == b'A' { 'B' } else { 'A' };
    part.replace_range(at..=at, &new.to_string());
    parts.join(".")
}

#[tokio::test]
async fn login_opens_a_session_and_stores_only_hashes() {
    let (system, client) = start(AuthSettings::default()).await;
    let ada = register(&client, "ada").await;

    let response = login(&client, "ada").await;
    let user = response.user.unwrap();
    assert_eq!(user.id, ada.id);
    assert!(user.last_login_at.is_some());
    let tokens = response.tokens.unwrap();
    assert_eq!(tokens.access_token.split('.').count(), 3, "a JWT");
    assert!(tokens.access_token_expires_at.is_some() && tokens.refresh_token_expires_at.is_some());

    let verified = verify(&client, &tokens.access_token).await.unwrap();
    assert!(verified.valid);
    assert_eq!(verified.user_id, ada.id);
    assert_eq!(verified.expires_at, tokens.access_token_expires_at);

    let mut db = system.connect("auth").await;
    let (device, revoked): (String, Option<nova_runtime::codegen::chrono::DateTime<nova_runtime::codegen::chrono::Utc>>) =
        sqlx::query_as("SELECT device, revoked_at FROM sessions WHERE id = $1")
            .bind(Uuid::parse_str(&verified.session_id).unwrap())
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!((device.as_str(), revoked), ("test device", None));
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens").fetch_all(&mut db).await.unwrap();
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0].len(), 64, "a SHA-256 in hex");
    assert_ne!(hashes[0], tokens.refresh_token, "the token itself is never stored");
    let logins: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'login'").fetch_one(&mut db).await.unwrap();
    assert_eq!(logins, 1);
    let (algorithm, active): (String, bool) = sqlx::query_as("SELECT algorithm, active FROM jwt_signing_keys").fetch_one(&mut db).await.unwrap();
    assert_eq!((algorithm.as_str(), active), ("EdDSA", true), "the first login created one active key");
    system.stop().await;
}

#[tokio::test]
async fn login_errors_do_not_tell_unknown_emails_from_wrong_passwords() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "bea").await;

    let wrong = assert_code(client.login(credentials("bea", "not the password")).await, Code::Unauthenticated);
    let unknown = assert_code(client.login(credentials("nobody", PASSWORD)).await, Code::Unauthenticated);
    assert_eq!(wrong.message(), unknown.message());
    let empty = assert_code(
        client.login(pb::LoginRequest { email: String::new(), password: PASSWORD.into(), device: String::new() }).await,
        Code::InvalidArgument,
    );
    assert!(empty.message().contains("email"), "{}", empty.message());
    let no_password = assert_code(client.login(credentials("bea", "")).await, Code::InvalidArgument);
    assert!(no_password.message().contains("password"), "{}", no_password.message());
    let long_device = pb::LoginRequest { device: "x".repeat(201), ..credentials("bea", PASSWORD) };
    let device = assert_code(client.login(long_device).await, Code::InvalidArgument);
    assert!(device.message().contains("device"), "{}", device.message());
    system.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_its_family() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "eve").await;
    let first = login(&client, "eve").await.tokens.unwrap();

    let second = refresh(&client, &first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    let verified = verify(&direct(&system), &second.access_token).await.unwrap();

    // The first token was rotated out: presenting it again is reuse.
    let reuse = assert_code(refresh(&client, &first.refresh_token).await, Code::Unauthenticated);
    assert!(reuse.message().contains("revoked"), "{}", reuse.message());
    // ... which revoked the whole family: the newer token no longer works either,
    assert_code(refresh(&client, &second.refresh_token).await, Code::Unauthenticated);
    // nor does the session's access token.
    assert_code(verify(&direct(&system), &second.access_token).await, Code::Unauthenticated);

    let mut db = system.connect("auth").await;
    let session = Uuid::parse_str(&verified.session_id).unwrap();
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE session_id = $1 AND revoked_at IS NULL")
        .bind(session)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(live, 0);
    let revoked: bool =
        sqlx::query_scalar("SELECT revoked_at IS NOT NULL FROM sessions WHERE id = $1").bind(session).fetch_one(&mut db).await.unwrap();
    assert!(revoked);
    system.stop().await;
}

#[tokio::test]
async fn refresh_refuses_malformed_unknown_and_expired_tokens() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "fay").await;
    let tokens = login(&client, "fay").await.tokens.unwrap();

    let empty = assert_code(refresh(&client, "").await, Code::InvalidArgument);
    assert!(empty.message().contains("refresh_token"));
    assert_code(refresh(&client, "not a token").await, Code::InvalidArgument);
    assert_code(refresh(&client, &b64url(&[7u8; 32])).await, Code::Unauthenticated);

    let mut db = system.connect("auth").await;
    sqlx::query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'").execute(&mut db).await.unwrap();
    let expired = assert_code(refresh(&client, &tokens.refresh_token).await, Code::Unauthenticated);
    assert!(expired.message().contains("expired"), "{}", expired.message());
    system.stop().await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_cannot_both_win() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "gus").await;
    let tokens = login(&client, "gus").await.tokens.unwrap();
    let (a, b) = tokio::join!(refresh(&client, &tokens.refresh_token), refresh(&client, &tokens.refresh_token));
    let winners = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    // The loser waits for the winner's row lock, then finds the token rotated: reuse, which
    // revokes the family, the winner's new token included.
    assert_eq!(winners, 1, "{a:?} {b:?}");
    let mut db = system.connect("auth").await;
    let live: i64 = sqlx::query_scalar("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL").fetch_one(&mut db).await.unwrap();
    assert_eq!(live, 0);
    system.stop().await;
}

#[tokio::test]
async fn expired_tampered_and_unknown_key_tokens_are_unauthenticated() {
    // Access tokens issued already expired: no clock to wait for.
    let expired_settings = AuthSettings { access_token_ttl: TimeDelta::seconds(-120), ..AuthSettings::default() };
    let (system, client) = start(expired_settings).await;
    register(&client, "hal").await;
    let stale = login(&client, "hal").await.tokens.unwrap();
    let expired = assert_code(verify(&client, &stale.access_token).await, Code::Unauthenticated);
    assert!(expired.message().contains("expired"), "{}", expired.message());
    system.stop().await;

    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "ivy").await;
    let token = login(&client, "ivy").await.tokens.unwrap().access_token;
    verify(&client, &token).await.unwrap();
    for segment in [1, 2] {
        assert_code(verify(&client, &tamper(&token, segment)).await, Code::Unauthenticated);
    }
    let (_, rest) = token.split_once('.').unwrap();
    let unknown_kid = format!("{}.{rest}", b64url(br#"{"typ":"JWT","alg":"EdDSA","kid":"no-such-key"}"#));
    let unknown = assert_code(verify(&client, &unknown_kid).await, Code::Unauthenticated);
    assert!(unknown.message().contains("unknown key"), "{}", unknown.message());
    let no_kid = format!("{}.{rest}", b64url(br#"{"typ":"JWT","alg":"EdDSA"}"#));
    assert_code(verify(&client, &no_kid).await, Code::Unauthenticated);
    let hmac = format!("{}.{rest}", b64url(br#"{"typ":"JWT","alg":"HS256","kid":"x"}"#));
    assert_code(verify(&client, &hmac).await, Code::Unauthenticated);
    assert_code(verify(&client, "garbage").await, Code::Unauthenticated);
    let empty = assert_code(verify(&client, "").await, Code::InvalidArgument);
    assert!(empty.message().contains("access_token"));
    system.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_session_and_is_idempotent() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "kim").await;
    let first = login(&client, "kim").await.tokens.unwrap();
    let second = login(&client, "kim").await.tokens.unwrap();
    let first_session = direct(&system).verify_token(pb::VerifyTokenRequest { access_token: first.access_token.clone() }).await.unwrap().session_id;
    let as_second = client.with_token(&second.access_token);

    // From the second session, the first one, twice: the retry changes nothing.
    as_second.logout(pb::LogoutRequest { session_id: first_session.clone() }).await.unwrap();
    as_second.logout(pb::LogoutRequest { session_id: first_session.clone() }).await.unwrap();
    let revoked = assert_code(verify(&direct(&system), &first.access_token).await, Code::Unauthenticated);
    assert!(revoked.message().contains("revoked"), "{}", revoked.message());
    assert_code(refresh(&client, &first.refresh_token).await, Code::Unauthenticated);
    verify(&direct(&system), &second.access_token).await.unwrap();

    let mut db = system.connect("auth").await;
    let logouts: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'logout'").fetch_one(&mut db).await.unwrap();
    assert_eq!(logouts, 1, "the retry changed nothing");

    assert_code(as_second.logout(pb::LogoutRequest { session_id: Uuid::new_v4().to_string() }).await, Code::NotFound);
    let malformed = assert_code(as_second.logout(pb::LogoutRequest { session_id: "x".into() }).await, Code::InvalidArgument);
    assert!(malformed.message().contains("session_id"));

    // An empty session_id is the caller's own session.
    as_second.logout(pb::LogoutRequest { session_id: String::new() }).await.unwrap();
    assert_code(verify(&direct(&system), &second.access_token).await, Code::Unauthenticated);
    assert_code(refresh(&client, &second.refresh_token).await, Code::Unauthenticated);
    let logouts: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'logout'").fetch_one(&mut db).await.unwrap();
    assert_eq!(logouts, 2);
    system.stop().await;
}

#[tokio::test]
async fn logout_ends_only_the_callers_own_sessions_and_hides_the_others() {
    let (system, client) = start(AuthSettings::default()).await;
    let kim = system.sign_up("kim").await;
    let lee = system.sign_up("lee").await;

    // Lee cannot sign kim out: kim's session is answered like one that does not exist.
    let unknown = Uuid::new_v4().to_string();
    let as_lee = client.with_token(&lee.token);
    let other = assert_code(as_lee.logout(pb::LogoutRequest { session_id: kim.session_id.clone() }).await, Code::NotFound);
    let missing = assert_code(as_lee.logout(pb::LogoutRequest { session_id: unknown.clone() }).await, Code::NotFound);
    assert_eq!(
        other.message().replace(&kim.session_id, "<id>"),
        missing.message().replace(&unknown, "<id>"),
        "nothing tells kim's session from none"
    );
    verify(&direct(&system), &kim.token).await.unwrap();
    refresh(&client, &kim.refresh_token).await.unwrap();
    // Nor can an anonymous caller, nor a service as itself (it has no session).
    assert_code(client.logout(pb::LogoutRequest { session_id: kim.session_id.clone() }).await, Code::Unauthenticated);
    assert_code(service(&system).logout(pb::LogoutRequest { session_id: kim.session_id.clone() }).await, Code::PermissionDenied);
    verify(&direct(&system), &kim.token).await.unwrap();
    let mut db = system.connect("auth").await;
    let revoked: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL").fetch_one(&mut db).await.unwrap();
    assert_eq!(revoked, 0, "no session was revoked by a refused call");

    // Lee signs out lee's own session; kim's stays.
    client.with_token(&lee.token).logout(pb::LogoutRequest { session_id: lee.session_id.clone() }).await.unwrap();
    assert_code(verify(&direct(&system), &lee.token).await, Code::Unauthenticated);
    verify(&direct(&system), &kim.token).await.unwrap();
    system.stop().await;
}

#[tokio::test]
async fn delete_user_is_seen_by_every_client_and_ends_its_sessions() {
    let (system, client) = start(AuthSettings::default()).await;
    let lou = register(&client, "lou").await;
    let tokens = login(&client, "lou").await.tokens.unwrap();
    let get = pb::GetUserRequest { user_id: lou.id.clone() };
    let exists = pb::CheckUserExistsRequest { user_id: lou.id.clone() };
    // Warm client A's caches.
    client.get_user(get.clone()).await.unwrap();
    assert!(client.check_user_exists(exists.clone()).await.unwrap().exists);

    // Two deletions at once with lou's token (a retry racing the first call): both are
    // answered as done (or the second finds the token already revoked), recorded once.
    let as_lou = client.with_token(&tokens.access_token);
    let (a, b) = tokio::join!(
        as_lou.delete_user(pb::DeleteUserRequest { user_id: lou.id.clone() }),
        as_lou.delete_user(pb::DeleteUserRequest { user_id: String::new() })
    );
    let codes = [&a, &b].map(|r| r.as_ref().map_or_else(tonic::Status::code, |_| Code::Ok));
    assert!(codes.contains(&Code::Ok) && codes.iter().all(|c| matches!(c, Code::Ok | Code::Unauthenticated)), "{a:?} {b:?}");

    let other = system.client(AuthClient::from_peers);
    assert_code(client.get_user(get.clone()).await, Code::NotFound);
    assert_code(other.get_user(get).await, Code::NotFound);
    assert!(!client.check_user_exists(exists.clone()).await.unwrap().exists);
    assert!(!other.check_user_exists(exists).await.unwrap().exists);
    assert_code(client.login(credentials("lou", PASSWORD)).await, Code::Unauthenticated);
    assert_code(refresh(&client, &tokens.refresh_token).await, Code::Unauthenticated);
    assert_code(verify(&other, &tokens.access_token).await, Code::Unauthenticated);
    // Every token of the account is revoked, so it cannot call again.
    nova_tests::eventually::eventually("the deleted account's token is refused", || async {
        as_lou.delete_user(pb::DeleteUserRequest { user_id: String::new() }).await.err().map(|s| s.code()) == Some(Code::Unauthenticated)
    })
    .await;

    let mut db = system.connect("auth").await;
    let (deleted, status): (bool, i16) = sqlx::query_as("SELECT deleted_at IS NOT NULL, status FROM users WHERE id = $1")
        .bind(Uuid::parse_str(&lou.id).unwrap())
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!((deleted, status), (true, 3));
    let live_sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE revoked_at IS NULL").fetch_one(&mut db).await.unwrap();
    assert_eq!(live_sessions, 0);
    let deletions: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'delete_account'").fetch_one(&mut db).await.unwrap();
    assert_eq!(deletions, 1, "the concurrent retry changed nothing");

    // The email is free again for a new account, which deletes only itself.
    let again = system.sign_up("lou").await;
    let mia = system.sign_up("mia").await;
    let as_again = client.with_token(&again.token);
    for someone_else in [mia.id.clone(), Uuid::new_v4().to_string(), "x".into()] {
        let refused = assert_code(as_again.delete_user(pb::DeleteUserRequest { user_id: someone_else }).await, Code::PermissionDenied);
        assert!(refused.message().contains("user_id"), "{}", refused.message());
    }
    assert_code(client.delete_user(pb::DeleteUserRequest { user_id: mia.id.clone() }).await, Code::Unauthenticated);
    assert!(client.check_user_exists(pb::CheckUserExistsRequest { user_id: mia.id.clone() }).await.unwrap().exists);
    system.stop().await;
}

#[tokio::test]
async fn check_user_exists_answers_for_live_unknown_and_malformed_ids() {
    let (system, client) = start(AuthSettings::default()).await;
    let max = register(&client, "max").await;
    assert!(client.check_user_exists(pb::CheckUserExistsRequest { user_id: max.id }).await.unwrap().exists);
    assert!(!client.check_user_exists(pb::CheckUserExistsRequest { user_id: Uuid::new_v4().to_string() }).await.unwrap().exists);
    let malformed = assert_code(client.check_user_exists(pb::CheckUserExistsRequest { user_id: "nope".into() }).await, Code::InvalidArgument);
    assert!(malformed.message().contains("user_id"));
    system.stop().await;
}

#[tokio::test]
async fn list_users_pages_in_creation_order_with_opaque_tokens() {
    let (system, client) = start(AuthSettings::default()).await;
    let root = operator(&system, "root").await;
    let mut names = vec![root.name.clone()];
    for name in ["nia", "noa", "ned", "nat"] {
        names.push(register(&client, name).await.username);
    }
    let gone = system.sign_up("nox").await;
    client.with_token(&gone.token).delete_user(pb::DeleteUserRequest { user_id: gone.id }).await.unwrap();

    let as_root = client.with_token(&root.token);
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = as_root.list_users(pb::ListUsersRequest { page_size: 2, page_token: token.clone() }).await.unwrap();
        assert!(page.users.len() <= 2);
        seen.extend(page.users.into_iter().map(|u| (u.username, u.email)));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(), names, "creation order, deleted users left out");
    // The operator is not a nova service: only their own email is shown to them.
    let emails: Vec<&str> = seen.iter().map(|(_, email)| email.as_str()).collect();
    assert_eq!(emails, ["root@example.com", "", "", "", ""]);
    assert_eq!(pages, 3);
    let all = as_root.list_users(pb::ListUsersRequest { page_size: 0, page_token: String::new() }).await.unwrap();
    assert_eq!((all.users.len(), all.next_page_token.as_str()), (5, ""));

    let negative = assert_code(as_root.list_users(pb::ListUsersRequest { page_size: -1, page_token: String::new() }).await, Code::InvalidArgument);
    assert!(negative.message().contains("page_size"));
    let forged = assert_code(as_root.list_users(pb::ListUsersRequest { page_size: 2, page_token: "forged".into() }).await, Code::InvalidArgument);
    assert!(forged.message().contains("page_token"));
    system.stop().await;
}

#[tokio::test]
async fn permissions_grant_check_list_and_revoke_idempotently() {
    let (system, client) = start(AuthSettings::default()).await;
    let root = operator(&system, "root").await;
    let ozz = system.sign_up("ozz").await;
    let as_root = client.with_token(&root.token);
    let as_ozz = client.with_token(&ozz.token);
    let (services, other) = (service(&system), system.service_client("content", AuthClient::from_peers));
    let check = pb::CheckPermissionRequest { user_id: ozz.id.clone(), permission: "content.moderate".into() };
    let list = pb::GetUserPermissionsRequest { user_id: ozz.id.clone() };
    // Cached through these clients before the grant: the grant must show through them.
    assert!(!services.check_permission(check.clone()).await.unwrap().allowed);
    assert!(as_ozz.get_user_permissions(list.clone()).await.unwrap().permissions.is_empty());

    for permission in ["content.moderate", "content.moderate", "media.delete_any"] {
        as_root.grant_permission(pb::GrantPermissionRequest { user_id: ozz.id.clone(), permission: permission.into() }).await.unwrap();
    }
    assert!(services.check_permission(check.clone()).await.unwrap().allowed);
    assert!(other.check_permission(check.clone()).await.unwrap().allowed);
    assert_eq!(as_ozz.get_user_permissions(list.clone()).await.unwrap().permissions, ["content.moderate", "media.delete_any"]);
    // An empty user_id is the caller's own.
    assert_eq!(
        as_ozz.get_user_permissions(pb::GetUserPermissionsRequest::default()).await.unwrap().permissions,
        ["content.moderate", "media.delete_any"]
    );
    let mut db = system.connect("auth").await;
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM user_permissions WHERE user_id = $1::uuid").bind(&ozz.id).fetch_one(&mut db).await.unwrap();
    assert_eq!(rows, 2, "the repeated grant changed nothing");

    for _ in 0..2 {
        as_root.revoke_permission(pb::RevokePermissionRequest { user_id: ozz.id.clone(), permission: "content.moderate".into() }).await.unwrap();
    }
    assert!(!services.check_permission(check.clone()).await.unwrap().allowed);
    assert!(!other.check_permission(check).await.unwrap().allowed);
    let other_edge = system.client(AuthClient::from_peers).with_token(&ozz.token);
    assert_eq!(other_edge.get_user_permissions(list).await.unwrap().permissions, ["media.delete_any"]);

    let unknown = Uuid::new_v4().to_string();
    assert_code(
        services.check_permission(pb::CheckPermissionRequest { user_id: unknown.clone(), permission: "content.moderate".into() }).await,
        Code::NotFound,
    );
    assert_code(
        as_root.grant_permission(pb::GrantPermissionRequest { user_id: unknown.clone(), permission: "content.moderate".into() }).await,
        Code::NotFound,
    );
    assert_code(
        as_root.revoke_permission(pb::RevokePermissionRequest { user_id: unknown.clone(), permission: "content.moderate".into() }).await,
        Code::NotFound,
    );
    // Another user's permissions, or a malformed id, are not ozz's to list.
    for user_id in [root.id.clone(), unknown, "x".into()] {
        let refused = assert_code(as_ozz.get_user_permissions(pb::GetUserPermissionsRequest { user_id }).await, Code::PermissionDenied);
        assert!(refused.message().contains("user_id"), "{}", refused.message());
    }
    let bad = assert_code(
        as_root.grant_permission(pb::GrantPermissionRequest { user_id: ozz.id.clone(), permission: "Moderate!".into() }).await,
        Code::InvalidArgument,
    );
    assert!(bad.message().contains("permission"));
    assert_code(
        services.check_permission(pb::CheckPermissionRequest { user_id: ozz.id.clone(), permission: String::new() }).await,
        Code::InvalidArgument,
    );
    assert_code(as_root.revoke_permission(pb::RevokePermissionRequest { user_id: ozz.id, permission: "x".into() }).await, Code::InvalidArgument);
    let malformed = assert_code(
        services.check_permission(pb::CheckPermissionRequest { user_id: "x".into(), permission: "content.moderate".into() }).await,
        Code::InvalidArgument,
    );
    assert!(malformed.message().contains("user_id"), "{}", malformed.message());
    system.stop().await;
}
