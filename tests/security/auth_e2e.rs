//! The auth service end to end: its real binary entry point (`start`) on a loopback port, its
//! own freshly created database on the real PostgreSQL, called through the generated client
//! over real gRPC (plaintext, as on a laptop: a caller is the service it announces, or an
//! anonymous client; mutual TLS is what `auth_rpcs` runs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::AuthClient;
use nova_auth::pb;
use nova_runtime::client::{ClientOptions, Peers};
use nova_runtime::codegen::sqlx;
use nova_runtime::server::ServiceConfig;
use nova_runtime::tls::Transport;
use nova_tests::system::TestDirectory;
use nova_tests::{RunningService, TestDatabase, wait_until_serving};
use tonic::Code;

/// Auth on `database` with `files` as its data directory (its key-encryption key lives there).
async fn start_auth(database: &TestDatabase, files: &TestDirectory) -> RunningService {
    let mut config = ServiceConfig::loopback(database.config());
    config.data_dir = files.path.clone();
    let service = RunningService::start(move |listeners, shutdown| nova_auth_service::start(config, listeners, shutdown)).await;
    wait_until_serving(service.addr, nova_auth::PROTO_SERVICE, Duration::from_secs(30)).await;
    service
}

/// A client announcing itself as the nova service `user` (believed in plaintext mode): what
/// the service-only RPCs admit.
fn as_service(service: &RunningService) -> AuthClient {
    let peers = Peers::new(ClientOptions::in_process())
        .with_transport(Transport::Plaintext { announce: Some("user".to_string()) })
        .with_endpoint(nova_auth::SERVICE, service.uri());
    AuthClient::from_peers(&peers).unwrap()
}

fn register(email: &str, username: &str) -> pb::RegisterRequest {
    pb::RegisterRequest { email: email.into(), username: username.into(), password: "correct horse battery".into() }
}

#[tokio::test]
async fn register_then_read_back_over_grpc() {
    let database = TestDatabase::new("auth");
    let files = TestDirectory::new("auth");
    let service = start_auth(&database, &files).await;
    let client = AuthClient::connect_lazy(&service.uri()).unwrap();

    let ada = client.register(register(" Ada@Example.com", "ada")).await.unwrap().user.unwrap();
    assert_eq!(ada.email, "ada@example.com");
    assert_eq!(ada.username, "ada");
    assert_eq!(ada.status, pb::AccountStatus::Active as i32);
    assert!(ada.created_at.is_some());
    let grace = client.register(register("grace@example.com", "grace")).await.unwrap().user.unwrap();

    // Emails go only to the user themself or a nova service: this call carries neither.
    let fetched = client.get_user(pb::GetUserRequest { user_id: ada.id.clone() }).await.unwrap().user.unwrap();
    assert_eq!(fetched, pb::User { email: String::new(), ..ada.clone() });

    let unknown = uuid::Uuid::new_v4().to_string();
    let batch = client
        .get_users_by_ids(pb::GetUsersByIdsRequest { user_ids: vec![grace.id.clone(), unknown.clone(), ada.id.clone(), grace.id.clone()] })
        .await
        .unwrap();
    let ids: Vec<&str> = batch.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [grace.id.as_str(), ada.id.as_str()], "answered once each, in the order asked");
    assert!(batch.users.iter().all(|u| u.email.is_empty()), "nor in batches");
    assert_eq!(batch.missing_user_ids, std::slice::from_ref(&unknown));

    // A nova service sees emails, and may look a user up by one; an anonymous client may not.
    let service_client = as_service(&service);
    let seen_by_service = service_client.get_user(pb::GetUserRequest { user_id: ada.id.clone() }).await.unwrap().user.unwrap();
    assert_eq!(seen_by_service, ada);
    let by_email = service_client.get_user_by_email(pb::GetUserByEmailRequest { email: "GRACE@example.com".into() }).await.unwrap().user.unwrap();
    assert_eq!(by_email, grace, "emails are matched case-insensitively");
    let nobody = service_client.get_user_by_email(pb::GetUserByEmailRequest { email: "nobody@example.com".into() }).await.unwrap_err();
    assert_eq!(nobody.code(), Code::NotFound);
    let anonymous = client.get_user_by_email(pb::GetUserByEmailRequest { email: "grace@example.com".into() }).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::PermissionDenied);

    let missing = client.get_user(pb::GetUserRequest { user_id: unknown }).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let malformed = client.get_user(pb::GetUserRequest { user_id: "not-a-uuid".into() }).await.unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert!(malformed.message().contains("user_id"), "{}", malformed.message());

    // What was stored: a salted Argon2id hash, never the password, and an audit entry, in the
    // service's own database.
    let mut db = database.connect().await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'ada@example.com'").fetch_one(&mut db).await.unwrap();
    assert!(hash.starts_with("$argon2id$") && !hash.contains("correct horse"));
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'register'").fetch_one(&mut db).await.unwrap();
    assert_eq!(events, 2);

    service.stop().await.unwrap();
}

#[tokio::test]
async fn registration_conflicts_and_bad_input_are_typed_errors() {
    let database = TestDatabase::new("auth");
    let files = TestDirectory::new("auth");
    let service = start_auth(&database, &files).await;
    let client = AuthClient::connect_lazy(&service.uri()).unwrap();

    client.register(register("lin@example.com", "lin")).await.unwrap();
    let same_email = client.register(register("LIN@example.com", "lin2")).await.unwrap_err();
    assert_eq!(same_email.code(), Code::AlreadyExists);
    assert_eq!(same_email.message(), "email is already registered");
    let same_username = client.register(register("other@example.com", "lin")).await.unwrap_err();
    assert_eq!(same_username.code(), Code::AlreadyExists);
    assert_eq!(same_username.message(), "username is taken");
    let bad = client.register(register("not an email", "someone")).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let too_many = client.get_users_by_ids(pb::GetUsersByIdsRequest { user_ids: vec![uuid::Uuid::new_v4().to_string(); 101] }).await.unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument);

    // Signing in through the real binary entry point: a wrong password is UNAUTHENTICATED,
    // the right one opens a session whose access token verifies.
    let wrong = client.login(pb::LoginRequest { email: "lin@example.com".into(), password: "x".into(), device: String::new() }).await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);
    let login = client
        .login(pb::LoginRequest { email: "lin@example.com".into(), password: "correct horse battery".into(), device: "e2e".into() })
        .await
        .unwrap();
    let tokens = login.tokens.unwrap();
    let verified = client.verify_token(pb::VerifyTokenRequest { access_token: tokens.access_token }).await.unwrap();
    assert_eq!(verified.user_id, login.user.unwrap().id);

    service.stop().await.unwrap();
}

#[tokio::test]
async fn restarting_on_an_existing_database_keeps_data_and_migrations() {
    let database = TestDatabase::new("auth");
    let files = TestDirectory::new("auth");
    let first = start_auth(&database, &files).await;
    let client = AuthClient::connect_lazy(&first.uri()).unwrap();
    let user = client.register(register("kay@example.com", "kay")).await.unwrap().user.unwrap();
    first.stop().await.unwrap();

    let second = start_auth(&database, &files).await;
    let client = AuthClient::connect_lazy(&second.uri()).unwrap();
    let again = client.get_user(pb::GetUserRequest { user_id: user.id.clone() }).await.unwrap().user.unwrap();
    assert_eq!(again, pb::User { email: String::new(), ..user.clone() }, "the email is the user's own to see");
    let mut db = database.connect().await;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(&mut db).await.unwrap();
    let embedded: Vec<i64> = nova_auth::db::MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(applied, embedded);
    second.stop().await.unwrap();
}
