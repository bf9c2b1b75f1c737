//! Signing keys: sealed at rest, rotated, pruned, shared by replicas.

use super::*;

#[tokio::test]
async fn a_rotated_out_key_verifies_within_its_grace_and_not_after() {
    // Keys re-read on every use, so the retirement moved by SQL below is seen at once.
    let settings = AuthSettings { key_cache_ttl: Duration::ZERO, ..AuthSettings::default() };
    let (system, client) = start(settings).await;
    let jon = operator(&system, "jon").await;
    let old_token = jon.token.clone();

    let rotated = client.with_token(&old_token).rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap();
    assert!(!rotated.kid.is_empty() && !rotated.retired_kid.is_empty());
    assert_ne!(rotated.kid, rotated.retired_kid);
    let mut db = system.connect("auth").await;
    let (active, retired): (bool, bool) = sqlx::query_as("SELECT active, retired_at IS NOT NULL FROM jwt_signing_keys WHERE kid = $1")
        .bind(&rotated.retired_kid)
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!((active, retired), (false, true));

    // Within the grace period the old key still verifies; new tokens use the new key.
    let fresh = || direct(&system);
    verify(&fresh(), &old_token).await.unwrap();
    let new_token = login(&client, "jon").await.tokens.unwrap().access_token;
    assert_ne!(new_token.split('.').next(), old_token.split('.').next(), "another kid in the header");

    sqlx::query("UPDATE jwt_signing_keys SET retired_at = now() - interval '1 hour' WHERE kid = $1")
        .bind(&rotated.retired_kid)
        .execute(&mut db)
        .await
        .unwrap();
    let after = assert_code(verify(&fresh(), &old_token).await, Code::Unauthenticated);
    assert!(after.message().contains("retired"), "{}", after.message());
    verify(&fresh(), &new_token).await.unwrap();

    // Rotating again (with a token of the new key: the old one is refused now) retires the
    // second key: one active key at a time.
    let again = client.with_token(&new_token).rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap();
    assert_eq!(again.retired_kid, rotated.kid);
    let active: i64 = sqlx::query_scalar("SELECT count(*) FROM jwt_signing_keys WHERE active").fetch_one(&mut db).await.unwrap();
    assert_eq!(active, 1);
    system.stop().await;
}

#[tokio::test]
async fn concurrent_first_sign_ins_create_one_signing_key() {
    let (system, client) = start(AuthSettings::default()).await;
    for name in ["qia", "qib", "qic", "qid"] {
        register(&client, name).await;
    }
    let (a, b, c, d) = tokio::join!(login(&client, "qia"), login(&client, "qib"), login(&client, "qic"), login(&client, "qid"));
    for response in [a, b, c, d] {
        verify(&direct(&system), &response.tokens.unwrap().access_token).await.unwrap();
    }
    let mut db = system.connect("auth").await;
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM jwt_signing_keys").fetch_one(&mut db).await.unwrap();
    assert_eq!(keys, 1);
    system.stop().await;
}

#[tokio::test]
async fn a_replica_verifies_tokens_signed_with_a_key_another_replica_created() {
    // Two replicas of auth on one database, each with its own in-memory keys, sharing the
    // key-encryption key (one data directory).
    let database = nova_tests::TestDatabase::new("auth");
    let files = TestDirectory::new("auth");
    let mut replicas = Vec::new();
    // rae operates by email (NOVA_AUTH_ADMIN_EMAILS), the same on every replica.
    let settings = || AuthSettings { admin_emails: vec!["rae@example.com".into()], ..AuthSettings::default() };
    for _ in 0..2 {
        replicas.push(start_replica(&database, &files, settings()).await);
    }
    let a = AuthClient::connect_lazy(&replicas[0].uri()).unwrap();
    let b = AuthClient::connect_lazy(&replicas[1].uri()).unwrap();
    register(&a, "rae").await;
    let first = login(&a, "rae").await.tokens.unwrap().access_token;
    verify(&b, &first).await.unwrap();

    // B rotates (checking the token A signed); A has never seen the new kid and reloads its
    // keys on meeting it.
    let rotated = b.with_token(&first).rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap();
    let second = login(&b, "rae").await.tokens.unwrap().access_token;
    verify(&a, &second).await.unwrap();
    verify(&a, &first).await.unwrap();
    assert!(!rotated.retired_kid.is_empty());
    for replica in replicas {
        replica.stop().await.unwrap();
    }
}

/// RFC 8032's first Ed25519 test vector: a key pair whose halves the test can write itself.
const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/// What PKCS#8 puts before an Ed25519 seed: how a private key stored in plaintext begins.
const PKCS8_ED25519_PREFIX: [u8; 16] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// The `kid` in a token's header.
fn kid_of(token: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let header = token.split('.').next().unwrap();
    let mut bits = 0u32;
    let mut count = 0;
    let mut json = Vec::new();
    for c in header.bytes() {
        bits = (bits << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            json.push((bits >> count) as u8);
        }
    }
    let json = String::from_utf8(json).unwrap();
    let (_, rest) = json.split_once(r#""kid":""#).unwrap_or_else(|| panic!("no kid in {json}"));
    rest.split('"').next().unwrap().to_string()
}

/// The stored signing keys: `(kid, private_key, active)`, oldest first.
async fn stored_keys(db: &mut sqlx::PgConnection) -> Vec<(String, Vec<u8>, bool)> {
    sqlx::query_as("SELECT kid, private_key, active FROM jwt_signing_keys ORDER BY created_at").fetch_all(db).await.unwrap()
}

fn assert_sealed(private_key: &[u8]) {
    assert!(!private_key.starts_with(&PKCS8_ED25519_PREFIX), "a plaintext PKCS#8 key is stored");
    assert!(!private_key.windows(32).any(|w| w == hex(RFC8032_SEED)), "the seed is stored");
    // Version byte 1, a 12-byte nonce, the 48-byte PKCS#8 document encrypted, a 16-byte tag.
    assert_eq!((private_key[0], private_key.len()), (1, 1 + 12 + 48 + 16));
}

#[tokio::test]
async fn signing_keys_are_sealed_at_rest_and_survive_restarts_and_a_changed_kek() {
    let database = nova_tests::TestDatabase::new("auth");
    let files = TestDirectory::new("auth");
    let first = start_replica(&database, &files, AuthSettings::default()).await;
    let client = AuthClient::connect_lazy(&first.uri()).unwrap();
    register(&client, "sal").await;
    let before = login(&client, "sal").await.tokens.unwrap().access_token;
    let mut db = database.connect().await;
    let keys = stored_keys(&mut db).await;
    assert_eq!(keys.len(), 1);
    assert_sealed(&keys[0].1);
    let kek = std::fs::read(files.path.join("jwt-kek")).unwrap();
    assert_eq!(kek.len(), 32, "the key-encryption key was created in the data directory");
    first.stop().await.unwrap();

    // Same database, same KEK: the sealed key opens again, verifies and keeps signing.
    let second = start_replica(&database, &files, AuthSettings::default()).await;
    let client = AuthClient::connect_lazy(&second.uri()).unwrap();
    verify(&client, &before).await.unwrap();
    let again = login(&client, "sal").await.tokens.unwrap().access_token;
    assert_eq!(kid_of(&again), kid_of(&before), "the same key signs after a restart");
    assert_eq!(stored_keys(&mut db).await.len(), 1);
    second.stop().await.unwrap();

    // Another KEK (another data directory): the old key cannot sign, so auth rotates to a
    // fresh one; the old key's public half still verifies the tokens it signed.
    let elsewhere = TestDirectory::new("auth");
    let third = start_replica(&database, &elsewhere, AuthSettings::default()).await;
    let client = AuthClient::connect_lazy(&third.uri()).unwrap();
    verify(&client, &before).await.unwrap();
    let fresh = login(&client, "sal").await.tokens.unwrap().access_token;
    assert_ne!(kid_of(&fresh), kid_of(&before), "signed with a fresh key");
    verify(&client, &fresh).await.unwrap();
    verify(&client, &before).await.unwrap();
    let keys = stored_keys(&mut db).await;
    assert_eq!(keys.iter().map(|(kid, _, active)| (kid.clone(), *active)).collect::<Vec<_>>(), [(kid_of(&before), false), (kid_of(&fresh), true)]);
    assert_sealed(&keys[1].1);
    third.stop().await.unwrap();
}

#[tokio::test]
async fn a_plaintext_key_from_before_sealing_is_sealed_when_loaded_and_keeps_signing() {
    let (system, client) = start(AuthSettings::default()).await;
    register(&client, "tam").await;
    let mut db = system.connect("auth").await;
    let mut plaintext = PKCS8_ED25519_PREFIX.to_vec();
    plaintext.extend(hex(RFC8032_SEED));
    sqlx::query("INSERT INTO jwt_signing_keys (kid, public_key, private_key) VALUES ('legacy', $1, $2)")
        .bind(hex(RFC8032_PUBLIC))
        .bind(&plaintext)
        .execute(&mut db)
        .await
        .unwrap();

    let token = login(&client, "tam").await.tokens.unwrap().access_token;
    assert_eq!(kid_of(&token), "legacy", "the old key still signs");
    verify(&client, &token).await.unwrap();
    let keys = stored_keys(&mut db).await;
    assert_eq!(keys.len(), 1, "no new key was needed");
    assert_sealed(&keys[0].1);
    system.stop().await;
}

#[tokio::test]
async fn rotating_in_a_loop_keeps_the_key_table_bounded() {
    let (system, client) = start(AuthSettings::default()).await;
    let mut root = operator(&system, "root").await;
    let mut db = system.connect("auth").await;
    // Faster than the grace period: retired keys still verify, but only the newest few stay.
    // The operator refreshes before each rotation, so their token is always signed by a key
    // that is kept (the one just retired).
    let mut last = String::new();
    for _ in 0..40 {
        let renewed = refresh(&client, &root.refresh_token).await.unwrap();
        (root.token, root.refresh_token) = (renewed.access_token, renewed.refresh_token);
        last = client.with_token(&root.token).rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap().kid;
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM jwt_signing_keys").fetch_one(&mut db).await.unwrap();
    assert_eq!(rows, 1 + nova_auth_service::MAX_RETIRED_KEYS, "the active key and the newest retired ones");

    // Retired longer ago than the grace period: the next rotation deletes them all.
    let renewed = refresh(&client, &root.refresh_token).await.unwrap();
    sqlx::query("UPDATE jwt_signing_keys SET retired_at = now() - interval '1 day' WHERE NOT active").execute(&mut db).await.unwrap();
    let rotated = client.with_token(&renewed.access_token).rotate_signing_key(pb::RotateSigningKeyRequest {}).await.unwrap();
    assert_eq!(rotated.retired_kid, last);
    let kids: Vec<String> = sqlx::query_scalar("SELECT kid FROM jwt_signing_keys ORDER BY active").fetch_all(&mut db).await.unwrap();
    assert_eq!(kids, [last, rotated.kid], "the key just retired (within its grace) and the new one");
    system.stop().await;
}
