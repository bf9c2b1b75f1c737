//! Sign-in throttling: per (email, source) and per source, the same for unknown and existing
//! emails, never locking an account nor its sessions.
//!
//! The source is the caller's real address: the test clients connect from 127.0.0.1, the edge
//! forwards other end users' addresses in `x-forwarded-for` ([`Forwarding`]), and a service
//! reporting a failure with RecordFailedLogin names the source itself.

use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::identity::Peer;

use super::*;

/// The edge forwarding calls of an end user at `address` (`x-forwarded-for`, which servers
/// believe from client peers only): the generated clients send no such header, so this is a raw
/// tonic client over the edge's certificate.
struct Forwarding {
    client: AuthServiceClient<tonic::transport::Channel>,
    address: &'static str,
}

impl Forwarding {
    fn new(system: &TestSystem, address: &'static str) -> Self {
        let material = nova_tests::pki::material(&Peer::Client("edge".into()));
        let channel = nova_runtime::client::tls_channel(&system.member("auth").service.uri(), &material, "auth").unwrap();
        Forwarding { client: AuthServiceClient::new(channel), address }
    }

    async fn login(&self, name: &str, password: &str) -> Result<pb::LoginResponse, tonic::Status> {
        let mut request = tonic::Request::new(credentials(name, password));
        request.metadata_mut().insert("x-forwarded-for", self.address.parse().unwrap());
        self.client.clone().login(request).await.map(tonic::Response::into_inner)
    }
}

/// The answer to a throttled sign-in, with its time pinned: every refusal stored now ends at
/// the same moment, so messages about different emails can be compared whole.
async fn pin_refusals(db: &mut sqlx::PgConnection) {
    sqlx::query("UPDATE login_throttles SET locked_until = '2100-01-01T00:00:00Z' WHERE locked_until IS NOT NULL").execute(db).await.unwrap();
}

async fn account_lock_columns(db: &mut sqlx::PgConnection, name: &str) -> (i32, bool) {
    sqlx::query_as("SELECT failed_login_attempts, locked_until IS NOT NULL FROM users WHERE username = $1").bind(name).fetch_one(db).await.unwrap()
}

#[tokio::test]
async fn wrong_passwords_throttle_the_email_and_source_alike_for_unknown_and_existing_emails() {
    let settings = AuthSettings { max_failed_logins: 3, ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    let cal = register(&client, "cal").await;
    // Cached through this client before the failures: nothing about the account may change.
    client.get_user(pb::GetUserRequest { user_id: cal.id.clone() }).await.unwrap();

    for _ in 0..3 {
        let existing = assert_code(client.login(credentials("cal", "wrong password")).await, Code::Unauthenticated);
        let unknown = assert_code(client.login(credentials("nobody", "wrong password")).await, Code::Unauthenticated);
        assert_eq!(existing.message(), unknown.message());
    }
    // Now refused before any password check, even the right one, identically for both.
    let existing = assert_code(client.login(credentials("cal", PASSWORD)).await, Code::ResourceExhausted);
    let unknown = assert_code(client.login(credentials("nobody", PASSWORD)).await, Code::ResourceExhausted);
    assert!(existing.message().starts_with("too many failed sign-ins for this email from this address; retry after "), "{}", existing.message());
    let mut db = system.connect("auth").await;
    pin_refusals(&mut db).await;
    let existing = assert_code(client.login(credentials("cal", PASSWORD)).await, Code::ResourceExhausted);
    let unknown_again = assert_code(client.login(credentials("nobody", PASSWORD)).await, Code::ResourceExhausted);
    assert_eq!(existing.message(), unknown_again.message(), "nothing tells an account from no account");
    assert_eq!(existing.message(), "too many failed sign-ins for this email from this address; retry after 2100-01-01T00:00:00Z");
    assert!(unknown.message().starts_with("too many failed sign-ins for this email"), "{}", unknown.message());
    let checks: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'login_failed'").fetch_one(&mut db).await.unwrap();
    assert_eq!(checks, 6, "refused attempts were not counted (nor checked)");

    // The account is not locked: its status, its columns and other emails are untouched.
    let other = system.client(AuthClient::from_peers);
    assert_eq!(other.get_user(pb::GetUserRequest { user_id: cal.id.clone() }).await.unwrap().user.unwrap().status, pb::AccountStatus::Active as i32);
    assert_eq!(account_lock_columns(&mut db, "cal").await, (0, false));
    register(&client, "dan").await;
    login(&client, "dan").await;

    // The refusal runs out (moved into the past, no sleeping): the right password works.
    sqlx::query("UPDATE login_throttles SET window_started_at = now() - interval '1 hour', locked_until = now() - interval '1 second'")
        .execute(&mut db)
        .await
        .unwrap();
    login(&client, "cal").await;
    system.stop().await;
}

#[tokio::test]
async fn a_success_clears_its_pair_and_another_source_is_never_throttled() {
    let settings = AuthSettings { max_failed_logins: 3, ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    let eli = register(&client, "eli").await;

    // Two failures, a success, two failures: never three in a row, never refused.
    for _ in 0..2 {
        assert_code(client.login(credentials("eli", "wrong password")).await, Code::Unauthenticated);
    }
    login(&client, "eli").await;
    for _ in 0..2 {
        assert_code(client.login(credentials("eli", "wrong password")).await, Code::Unauthenticated);
    }
    login(&client, "eli").await;

    // An attacker elsewhere, signing in through the edge, exhausts eli's email from their
    // address: even the right password is refused there ...
    let attacker = Forwarding::new(&system, "198.51.100.7");
    for _ in 0..3 {
        assert_code(attacker.login("eli", "wrong password").await, Code::Unauthenticated);
    }
    assert_code(attacker.login("eli", PASSWORD).await, Code::ResourceExhausted);
    // ... which refuses only that (email, source) pair: eli, from her own address or another
    // one the edge forwards, signs in.
    let tokens = login(&client, "eli").await.tokens.unwrap();
    verify(&direct(&system), &tokens.access_token).await.unwrap();
    let travelling = Forwarding::new(&system, "203.0.113.9").login("eli", PASSWORD).await.unwrap();
    verify(&direct(&system), &travelling.tokens.unwrap().access_token).await.unwrap();
    // A service reporting failures from a third address counts them there.
    let reported = |source: &str| pb::RecordFailedLoginRequest { user_id: eli.id.clone(), source_address: source.into() };
    for expected in 1..=3 {
        let recorded = service(&system).record_failed_login(reported("2001:db8:1:2::7")).await.unwrap();
        assert_eq!((recorded.failed_attempts, recorded.locked), (expected, expected == 3));
    }
    assert_code(Forwarding::new(&system, "2001:db8:1:2:ffff::1").login("eli", PASSWORD).await, Code::ResourceExhausted);
    login(&client, "eli").await;

    let mut db = system.connect("auth").await;
    let sources: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT source, email, failures FROM login_throttles ORDER BY source, email").fetch_all(&mut db).await.unwrap();
    assert_eq!(
        sources,
        [
            ("127.0.0.1".to_string(), String::new(), 4),
            ("198.51.100.7".to_string(), String::new(), 3),
            ("198.51.100.7".to_string(), "eli@example.com".to_string(), 3),
            ("2001:db8:1:2::/64".to_string(), String::new(), 3),
            ("2001:db8:1:2::/64".to_string(), "eli@example.com".to_string(), 3),
        ],
        "the pair from 127.0.0.1 was cleared by the success; the source counts stay; an IPv6 client counts by its /64"
    );
    system.stop().await;
}

#[tokio::test]
async fn a_source_with_too_many_failures_is_throttled_for_every_email() {
    let settings = AuthSettings { max_failed_logins: 5, max_failures_per_source: 4, ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    register(&client, "fox").await;
    for name in ["a1", "a2", "a3", "a4"] {
        assert_code(client.login(credentials(name, "sprayed password")).await, Code::Unauthenticated);
    }
    let sprayed = assert_code(client.login(credentials("fox", PASSWORD)).await, Code::ResourceExhausted);
    assert!(sprayed.message().starts_with("too many failed sign-ins from this address; retry after "), "{}", sprayed.message());
    let fresh = assert_code(client.login(credentials("never-seen", PASSWORD)).await, Code::ResourceExhausted);
    assert_eq!(fresh.code(), sprayed.code());

    // Another source is not throttled by this one's spray: fox signs in through the edge from
    // elsewhere, and a failure a service reports from a third address is that address's first.
    Forwarding::new(&system, "198.51.100.20").login("fox", PASSWORD).await.unwrap();
    let fox = service(&system).get_user_by_email(pb::GetUserByEmailRequest { email: "fox@example.com".into() }).await.unwrap().user.unwrap();
    let elsewhere =
        service(&system).record_failed_login(pb::RecordFailedLoginRequest { user_id: fox.id, source_address: "2001:db8::1".into() }).await.unwrap();
    assert_eq!((elsewhere.failed_attempts, elsewhere.locked), (1, false));
    system.stop().await;
}

#[tokio::test]
async fn throttled_sign_ins_never_touch_existing_sessions() {
    let settings = AuthSettings { max_failed_logins: 1, ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    let pat = register(&client, "pat").await;
    let tokens = login(&client, "pat").await.tokens.unwrap();
    assert_code(client.login(credentials("pat", "wrong password")).await, Code::Unauthenticated);
    // A service reports a failure from the address the edge's calls come from here.
    let reported = pb::RecordFailedLoginRequest { user_id: pat.id, source_address: "127.0.0.1".into() };
    let recorded = service(&system).record_failed_login(reported).await.unwrap();
    assert_eq!((recorded.failed_attempts, recorded.locked), (2, true), "the same (email, source) pair as Login's failure");
    assert!(recorded.locked_until.is_some());
    assert_code(client.login(credentials("pat", PASSWORD)).await, Code::ResourceExhausted);

    verify(&direct(&system), &tokens.access_token).await.unwrap();
    let renewed = refresh(&client, &tokens.refresh_token).await.unwrap();
    verify(&direct(&system), &renewed.access_token).await.unwrap();
    system.stop().await;
}

#[tokio::test]
async fn record_failed_login_validates_its_fields() {
    let (system, client) = start(AuthSettings::default()).await;
    let dee = register(&client, "dee").await;
    let services = service(&system);
    let unknown = pb::RecordFailedLoginRequest { user_id: Uuid::new_v4().to_string(), source_address: String::new() };
    assert_code(services.record_failed_login(unknown).await, Code::NotFound);
    let malformed = pb::RecordFailedLoginRequest { user_id: "nope".into(), source_address: String::new() };
    assert!(assert_code(services.record_failed_login(malformed).await, Code::InvalidArgument).message().contains("user_id"));
    let bad_source = pb::RecordFailedLoginRequest { user_id: dee.id.clone(), source_address: "not an address".into() };
    assert!(assert_code(services.record_failed_login(bad_source).await, Code::InvalidArgument).message().contains("source_address"));
    // No source named: the call's own address (the service's: it forwards no end user's).
    let own = pb::RecordFailedLoginRequest { user_id: dee.id, source_address: String::new() };
    assert_eq!(services.record_failed_login(own).await.unwrap().failed_attempts, 1);
    let mut db = system.connect("auth").await;
    let counted: Vec<(String, String)> = sqlx::query_as("SELECT source, email FROM login_throttles ORDER BY email").fetch_all(&mut db).await.unwrap();
    assert_eq!(counted, [("127.0.0.1".to_string(), String::new()), ("127.0.0.1".to_string(), "dee@example.com".to_string())]);
    let long_email = pb::LoginRequest { email: format!("{}@example.com", "x".repeat(250)), ..credentials("dee", PASSWORD) };
    assert!(assert_code(client.login(long_email).await, Code::InvalidArgument).message().contains("email"));
    system.stop().await;
}

#[tokio::test]
async fn ended_counts_are_pruned_in_the_background() {
    let settings = AuthSettings { prune_interval: Duration::from_millis(10), ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    for name in ["old", "new"] {
        assert_code(client.login(credentials(name, "wrong password")).await, Code::Unauthenticated);
    }
    let mut db = system.connect("auth").await;
    sqlx::query("UPDATE login_throttles SET window_started_at = now() - interval '1 day' WHERE email <> 'new@example.com'")
        .execute(&mut db)
        .await
        .unwrap();
    let remaining = || async {
        let mut db = system.connect("auth").await;
        sqlx::query_scalar::<_, String>("SELECT email FROM login_throttles ORDER BY email").fetch_all(&mut db).await.unwrap()
    };
    // One pruning run deletes both ended rows at once, and keeps the count still in its window.
    nova_tests::eventually::eventually("ended sign-in counts are deleted", || async { remaining().await == ["new@example.com"] }).await;
    system.stop().await;
}
