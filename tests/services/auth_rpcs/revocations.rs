//! Revocations every service can apply (GetTokenVerification), written with the change that
//! revokes; ChangePassword; VerifyToken making the same checks.

use nova_auth_service::LocalKeySource;
use nova_runtime::codegen::chrono::{DateTime, Utc};
use nova_runtime::identity::{KeySource, RevokedSubject};

use super::*;

/// GetTokenVerification as a nova service polls it (it admits services only).
async fn verification(system: &TestSystem, after: i64) -> pb::GetTokenVerificationResponse {
    service(system).get_token_verification(pb::GetTokenVerificationRequest { revocations_after: after }).await.unwrap()
}

async fn session_of(system: &TestSystem, token: &str) -> String {
    verify(&direct(system), token).await.unwrap().session_id
}

fn seconds(timestamp: &Option<nova_runtime::codegen::prost_types::Timestamp>) -> i64 {
    timestamp.as_ref().unwrap().seconds
}

fn change(user: &pb::User, current: &str, new: &str) -> pb::ChangePasswordRequest {
    pb::ChangePasswordRequest { user_id: user.id.clone(), current_password: current.into(), new_password: new.into() }
}

#[tokio::test]
async fn logout_records_one_revocation_that_verifiers_read_after_their_cursor() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "ann").await;
    let tokens = login(&client, "ann").await.tokens.unwrap();
    let session_id = session_of(&system, &tokens.access_token).await;

    let before = verification(&system, 0).await;
    assert_eq!(before.issuer, "nova-auth");
    assert_eq!((before.revocations.len(), before.cursor, before.more), (0, 0, false));
    assert_eq!(before.keys.len(), 1);
    let key = &before.keys[0];
    assert_eq!((key.algorithm.as_str(), key.public_key.len(), key.not_after), ("EdDSA", 32, None));

    // From another session of ann's (this one's token stops verifying once it is revoked).
    let other = login(&client, "ann").await.tokens.unwrap();
    let as_ann = client.with_token(&other.access_token);
    as_ann.logout(pb::LogoutRequest { session_id: session_id.clone() }).await.unwrap();
    as_ann.logout(pb::LogoutRequest { session_id: session_id.clone() }).await.unwrap();
    let after = verification(&system, 0).await;
    assert_eq!(after.revocations.len(), 1, "the repeated logout recorded nothing more");
    let revocation = &after.revocations[0];
    assert_eq!((revocation.session_id.as_str(), revocation.user_id.as_str()), (session_id.as_str(), ""));
    // Kept one access-token lifetime (15 min) plus the clock margin (1 min) after revocation.
    assert_eq!(seconds(&revocation.expires_at) - seconds(&revocation.revoked_at), 960);
    assert!(after.cursor > 0);
    let nothing_new = verification(&system, after.cursor).await;
    assert_eq!((nothing_new.revocations.len(), nothing_new.cursor, nothing_new.more), (0, after.cursor, false));

    let revoked = assert_code(verify(&direct(&system), &tokens.access_token).await, Code::Unauthenticated);
    assert!(revoked.message().contains("revoked session"), "{}", revoked.message());
    let negative =
        assert_code(service(&system).get_token_verification(pb::GetTokenVerificationRequest { revocations_after: -1 }).await, Code::InvalidArgument);
    assert!(negative.message().contains("revocations_after"), "{}", negative.message());
    system.stop().await;
}

#[tokio::test]
async fn a_reused_refresh_token_and_a_deleted_account_are_revoked_for_every_verifier() {
    let (system, client) = start(AuthSettings::default()).await;
    let bob = register(&client, "bob").await;
    let first = login(&client, "bob").await.tokens.unwrap();
    let session_id = session_of(&system, &first.access_token).await;
    refresh(&client, &first.refresh_token).await.unwrap();
    assert_code(refresh(&client, &first.refresh_token).await, Code::Unauthenticated);
    assert_code(refresh(&client, &first.refresh_token).await, Code::Unauthenticated);
    let reuse = verification(&system, 0).await;
    let sessions: Vec<&str> = reuse.revocations.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(sessions, [session_id.as_str()], "one revocation, however often the token is replayed");

    let other = login(&client, "bob").await.tokens.unwrap();
    client.with_token(&other.access_token).delete_user(pb::DeleteUserRequest { user_id: bob.id.clone() }).await.unwrap();
    let deletion = verification(&system, reuse.cursor).await;
    assert_eq!(deletion.revocations.len(), 1);
    assert_eq!((deletion.revocations[0].session_id.as_str(), deletion.revocations[0].user_id.as_str()), ("", bob.id.as_str()));
    let deleted = assert_code(verify(&direct(&system), &other.access_token).await, Code::Unauthenticated);
    assert!(deleted.message().contains("account"), "{}", deleted.message());
    system.stop().await;
}

#[tokio::test]
async fn revocations_come_in_cursor_order_a_thousand_at_a_time_while_in_force() {
    let (system, _client) = start(AuthSettings::default()).await;
    let mut db = system.connect("auth").await;
    sqlx::query(
        "INSERT INTO token_revocations (session_id, expires_at) SELECT gen_random_uuid(), now() + interval '1 hour' FROM generate_series(1, 1500)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO token_revocations (user_id, expires_at) VALUES (gen_random_uuid(), now() - interval '1 second')")
        .execute(&mut db)
        .await
        .unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM token_revocations ORDER BY id").fetch_all(&mut db).await.unwrap();

    let first = verification(&system, 0).await;
    assert_eq!((first.revocations.len(), first.more, first.cursor), (1000, true, ids[999]));
    let second = verification(&system, first.cursor).await;
    assert_eq!((second.revocations.len(), second.more, second.cursor), (500, false, ids[1499]), "the expired one is left out");
    let all: Vec<String> = first.revocations.iter().chain(&second.revocations).map(|r| r.session_id.clone()).collect();
    let stored: Vec<String> = sqlx::query_scalar("SELECT session_id::text FROM token_revocations WHERE session_id IS NOT NULL ORDER BY id")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(all, stored, "every revocation once, in cursor order");
    system.stop().await;
}

#[tokio::test]
async fn the_keys_listed_are_those_that_still_verify() {
    let (system, client) = start(AuthSettings::default()).await;
    // The operator's sign-in created the first key.
    let root = operator(&system, "root").await;
    let as_root = client.with_token(&root.token);
    let first = as_root.rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap();
    let second = as_root.rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap();
    let answer = verification(&system, 0).await;
    let kids: Vec<(&str, bool)> = answer.keys.iter().map(|k| (k.kid.as_str(), k.not_after.is_some())).collect();
    assert_eq!(kids, [(first.retired_kid.as_str(), true), (first.kid.as_str(), true), (second.kid.as_str(), false)]);
    let mut db = system.connect("auth").await;
    let retired_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT retired_at FROM jwt_signing_keys WHERE kid = $1").bind(&first.kid).fetch_one(&mut db).await.unwrap();
    assert_eq!(seconds(&answer.keys[1].not_after), (retired_at + AuthSettings::default().key_grace).timestamp(), "retirement plus grace");

    sqlx::query("UPDATE jwt_signing_keys SET retired_at = now() - interval '1 hour' WHERE NOT active").execute(&mut db).await.unwrap();
    let answer = verification(&system, 0).await;
    assert_eq!(answer.keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), [second.kid.as_str()]);
    system.stop().await;
}

#[tokio::test]
async fn auths_own_key_source_reads_what_the_rpc_serves() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "cyd").await;
    let tokens = login(&client, "cyd").await.tokens.unwrap();
    let session_id = session_of(&system, &tokens.access_token).await;
    client.with_token(&tokens.access_token).logout(pb::LogoutRequest { session_id: session_id.clone() }).await.unwrap();

    let pool = sqlx::PgPool::connect(&system.member("auth").database.as_ref().unwrap().url).await.unwrap();
    let local = LocalKeySource::new(pool, AuthSettings::default().key_grace).fetch(0).await.unwrap();
    let remote = verification(&system, 0).await;
    assert_eq!(local.issuer, remote.issuer);
    assert_eq!((local.cursor, local.more), (remote.cursor, remote.more));
    let local_keys: Vec<(&str, &[u8])> = local.keys.iter().map(|k| (k.kid.as_str(), k.public_key.as_slice())).collect();
    let remote_keys: Vec<(&str, &[u8])> = remote.keys.iter().map(|k| (k.kid.as_str(), k.public_key.as_slice())).collect();
    assert_eq!(local_keys, remote_keys);
    assert_eq!(local.revocations.len(), 1);
    assert_eq!(local.revocations[0].subject, RevokedSubject::Session(Uuid::parse_str(&session_id).unwrap()));
    assert_eq!(remote.revocations[0].session_id, session_id);
    system.stop().await;
}

#[tokio::test]
async fn change_password_signs_out_every_other_session_everywhere() {
    let (system, client) = start(AuthSettings::default()).await;
    let dora = register(&client, "dora").await;
    let own = login(&client, "dora").await.tokens.unwrap();
    let others: Vec<pb::TokenPair> = [login(&client, "dora").await, login(&client, "dora").await].into_iter().map(|r| r.tokens.unwrap()).collect();
    let new_password = "a much better secret";

    // From the first session: it stays signed in, the two others are signed out.
    let as_dora = client.with_token(&own.access_token);
    let changed = as_dora.change_password(change(&dora, PASSWORD, new_password)).await.unwrap();
    assert_eq!(changed.sessions_signed_out, 2);
    for tokens in &others {
        let revoked = assert_code(verify(&direct(&system), &tokens.access_token).await, Code::Unauthenticated);
        assert!(revoked.message().contains("revoked session"), "{}", revoked.message());
        assert_code(refresh(&client, &tokens.refresh_token).await, Code::Unauthenticated);
    }
    verify(&direct(&system), &own.access_token).await.unwrap();
    let renewed = refresh(&client, &own.refresh_token).await.unwrap();
    verify(&direct(&system), &renewed.access_token).await.unwrap();
    let recorded = verification(&system, 0).await;
    let revoked: Vec<&str> = recorded.revocations.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(revoked.len(), 2, "one per other session, no user-wide revocation: {revoked:?}");
    assert!(!revoked.contains(&session_of(&system, &own.access_token).await.as_str()), "the caller's own session is kept");

    // The old password is gone; a token issued after the change verifies, even within the second.
    assert_code(client.login(credentials("dora", PASSWORD)).await, Code::Unauthenticated);
    let fresh = client.login(credentials("dora", new_password)).await.unwrap().tokens.unwrap();
    verify(&direct(&system), &fresh.access_token).await.unwrap();
    let mut db = system.connect("auth").await;
    let changes: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_logs WHERE event = 'password_changed'").fetch_one(&mut db).await.unwrap();
    assert_eq!(changes, 1);
    system.stop().await;
}

#[tokio::test]
async fn change_password_checks_the_current_password_like_a_sign_in() {
    let settings = AuthSettings { max_failed_logins: 2, ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    let eve = register(&client, "eve").await;
    let tokens = login(&client, "eve").await.tokens.unwrap();
    let as_eve = client.with_token(&tokens.access_token);

    let wrong = assert_code(as_eve.change_password(change(&eve, "not my password", "whatever else")).await, Code::PermissionDenied);
    assert_eq!(wrong.message(), "current_password is incorrect");
    let same = assert_code(as_eve.change_password(change(&eve, PASSWORD, PASSWORD)).await, Code::InvalidArgument);
    assert!(same.message().contains("new_password"), "{}", same.message());
    let short = assert_code(as_eve.change_password(change(&eve, PASSWORD, "short")).await, Code::InvalidArgument);
    assert!(short.message().contains("new_password"), "{}", short.message());
    let empty = assert_code(as_eve.change_password(change(&eve, "", "long enough now")).await, Code::InvalidArgument);
    assert!(empty.message().contains("current_password"), "{}", empty.message());
    // Only eve's own password: another id (existing or not, or malformed) is refused before
    // any check, and counts no failure.
    let ivo = register(&client, "ivo").await;
    for someone in [ivo.id.clone(), Uuid::new_v4().to_string(), "x".into()] {
        let other = pb::User { id: someone, ..eve.clone() };
        let refused = assert_code(as_eve.change_password(change(&other, PASSWORD, "long enough now")).await, Code::PermissionDenied);
        assert!(refused.message().contains("user_id"), "{}", refused.message());
    }
    assert_code(client.change_password(change(&eve, PASSWORD, "long enough now")).await, Code::Unauthenticated);
    login(&client, "ivo").await;

    // A second wrong current password reaches the limit for eve's email from this source:
    // ChangePassword and Login are refused alike, the stored password unchanged, the session fine.
    assert_code(as_eve.change_password(change(&eve, "still not it", "whatever else")).await, Code::PermissionDenied);
    assert_code(as_eve.change_password(change(&eve, PASSWORD, "whatever else")).await, Code::ResourceExhausted);
    assert_code(client.login(credentials("eve", PASSWORD)).await, Code::ResourceExhausted);
    verify(&direct(&system), &tokens.access_token).await.unwrap();
    let mut db = system.connect("auth").await;
    let revocations: i64 = sqlx::query_scalar("SELECT count(*) FROM token_revocations").fetch_one(&mut db).await.unwrap();
    assert_eq!(revocations, 0, "nothing was changed nor revoked");
    system.stop().await;
}

#[tokio::test]
async fn expired_revocations_are_pruned_in_the_background() {
    let settings = AuthSettings { prune_interval: Duration::from_millis(10), ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    register(&client, "fin").await;
    let mut kept = None;
    for _ in 0..2 {
        let tokens = login(&client, "fin").await.tokens.unwrap();
        let session_id = session_of(&system, &tokens.access_token).await;
        client.with_token(&tokens.access_token).logout(pb::LogoutRequest { session_id: String::new() }).await.unwrap();
        kept = Some(session_id);
    }
    let mut db = system.connect("auth").await;
    sqlx::query("UPDATE token_revocations SET expires_at = now() - interval '1 second' WHERE session_id <> $1::uuid")
        .bind(kept.as_deref().unwrap())
        .execute(&mut db)
        .await
        .unwrap();
    let remaining = || async {
        let mut db = system.connect("auth").await;
        sqlx::query_scalar::<_, String>("SELECT session_id::text FROM token_revocations").fetch_all(&mut db).await.unwrap()
    };
    nova_tests::eventually::eventually("expired revocations are deleted", || async { remaining().await == [kept.clone().unwrap()] }).await;
    system.stop().await;
}
