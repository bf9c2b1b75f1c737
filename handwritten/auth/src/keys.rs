//! JWT signing keys (Ed25519) kept in `jwt_signing_keys`, cached in memory per process.
//!
//! The active key signs; every key verifies until its retirement plus a grace period. Private
//! keys are stored sealed under the key-encryption key ([`crate::kek`]); a row written before
//! that (plaintext PKCS#8) is sealed when this process first loads it. A key whose private
//! half does not open (the KEK changed, or the row was tampered with) can never sign again,
//! but its public half still verifies: when no active key opens, the next signature rotates
//! to a new key, so signing never stops and the tokens already out keep verifying.
//!
//! The cache is re-read after `key_cache_ttl` and at once on an unknown `kid`, so a rotation by
//! another replica is seen. Creating and rotating keys take an advisory lock, so replicas
//! starting together create one key, not several; each rotation deletes the keys that no longer
//! verify, so the table stays small however often it runs.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::chrono::{DateTime, TimeDelta, Utc};
use ::nova_runtime::codegen::sqlx::{PgConnection, PgPool};
use ::nova_runtime::codegen::tokio::sync::{Mutex, RwLock};
use ::nova_runtime::codegen::uuid::Uuid;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use nova_auth::repo::jwt_signing_keys;

use crate::kek::KeyEncryptionKey;
use crate::sql;

/// The only algorithm this service signs with.
pub const ALGORITHM: &str = "EdDSA";

/// PKCS#8 v1 (RFC 8410) of an Ed25519 private key is this prefix followed by the 32-byte seed;
/// it is what `jsonwebtoken` expects of an EdDSA `EncodingKey`, and how a row written before
/// keys were sealed is recognised.
const PKCS8_ED25519_PREFIX: [u8; 16] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
const PKCS8_ED25519_LEN: usize = PKCS8_ED25519_PREFIX.len() + 32;

/// Retired keys kept even within their grace period: a rotation deletes older ones, so a loop
/// of rotations cannot grow the table (nor every verifier's key set) without bound. Tokens
/// signed by a key deleted this way stop verifying early, which is what rotating that often
/// (an emergency) wants anyway. Generous enough for replicas that disagree on the KEK (each
/// rotates once per `key_cache_ttl`: two replicas, 15 minutes of grace, about 30 keys).
pub const MAX_RETIRED_KEYS: i64 = 32;

/// Keys read per page when loading the table.
const PAGE: i64 = 100;

struct Key {
    /// `None` when the private key does not open with this process's KEK: verify only.
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    retired_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Snapshot {
    loaded_at: Option<Instant>,
    keys: HashMap<String, Arc<Key>>,
    /// The newest active key that can sign.
    active: Option<String>,
}

impl Snapshot {
    fn signer(&self) -> Option<(String, EncodingKey)> {
        let kid = self.active.as_ref()?;
        let encoding = self.keys.get(kid)?.encoding.clone()?;
        Some((kid.clone(), encoding))
    }
}

/// The process's view of the signing keys. Cheap to share behind an `Arc`.
pub struct KeyStore {
    db: PgPool,
    kek: KeyEncryptionKey,
    grace: TimeDelta,
    cache_ttl: Duration,
    snapshot: RwLock<Arc<Snapshot>>,
    /// One reload at a time: callers that waited use the snapshot the reload they waited for
    /// produced, so a burst of tokens with unknown kids costs one query at a time, not one each.
    reloading: Mutex<()>,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore").field("kek", &self.kek).field("grace", &self.grace).field("cache_ttl", &self.cache_ttl).finish_non_exhaustive()
    }
}

/// What a stored private key yields under this process's KEK.
#[derive(Debug, PartialEq, Eq)]
enum Private {
    /// Plaintext PKCS#8 from before keys were sealed: usable, to be sealed now.
    Legacy(Vec<u8>),
    /// Sealed, and opened: the PKCS#8 document.
    Opened(Vec<u8>),
    /// Sealed under another KEK, altered, or not the private half of the row's public key.
    Unusable,
}

/// Whether `der` is an Ed25519 PKCS#8 document whose public half is `public_key`.
fn matches_public(der: &[u8], public_key: &[u8]) -> bool {
    let Some(seed) = der.strip_prefix(&PKCS8_ED25519_PREFIX[..]).and_then(|seed| <[u8; 32]>::try_from(seed).ok()) else {
        return false;
    };
    SigningKey::from_bytes(&seed).verifying_key().to_bytes().as_slice() == public_key
}

fn open_private(kek: &KeyEncryptionKey, kid: &str, stored: &[u8], public_key: &[u8]) -> Private {
    if stored.len() == PKCS8_ED25519_LEN && stored.starts_with(&PKCS8_ED25519_PREFIX) {
        return if matches_public(stored, public_key) { Private::Legacy(stored.to_vec()) } else { Private::Unusable };
    }
    match kek.open(kid, stored) {
        Some(der) if matches_public(&der, public_key) => Private::Opened(der),
        _ => Private::Unusable,
    }
}

/// A new key pair: the row to store, its private key sealed under `kek` for its `kid`.
fn generate(kek: &KeyEncryptionKey) -> Result<jwt_signing_keys::New, LogicError> {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let signing = SigningKey::from_bytes(&seed);
    let mut der = PKCS8_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let kid = Uuid::new_v4().simple().to_string();
    let private_key =
        kek.seal(&kid, &der).map_err(|_| LogicError::internal("sealing a new signing key", std::io::Error::other("AES-GCM seal failed")))?;
    Ok(jwt_signing_keys::New {
        kid,
        algorithm: Some(ALGORITHM.to_string()),
        public_key: signing.verifying_key().to_bytes().to_vec(),
        private_key,
        active: Some(true),
        created_at: None,
        retired_at: None,
    })
}

impl KeyStore {
    pub fn new(db: PgPool, kek: KeyEncryptionKey, grace: TimeDelta, cache_ttl: Duration) -> Self {
        KeyStore { db, kek, grace, cache_ttl, snapshot: RwLock::new(Arc::new(Snapshot::default())), reloading: Mutex::new(()) }
    }

    /// The snapshot, re-read when older than the cache TTL.
    async fn current(&self) -> Result<Arc<Snapshot>, LogicError> {
        let snapshot = self.snapshot.read().await.clone();
        match snapshot.loaded_at {
            Some(at) if at.elapsed() < self.cache_ttl => Ok(snapshot),
            // Callers that queued behind one reload all take its result.
            _ => self.reload_since(Instant::now().checked_sub(self.cache_ttl).unwrap_or_else(Instant::now)).await,
        }
    }

    /// A snapshot read from the table at or after `since`: the current one if a reload
    /// finished since then (while this caller waited for it), otherwise a new one.
    async fn reload_since(&self, since: Instant) -> Result<Arc<Snapshot>, LogicError> {
        let _one_at_a_time = self.reloading.lock().await;
        let snapshot = self.snapshot.read().await.clone();
        if snapshot.loaded_at.is_some_and(|at| at >= since) {
            return Ok(snapshot);
        }
        self.reload().await
    }

    /// Reads every key from the table and replaces the snapshot, sealing plaintext rows on the
    /// way. Only `reload_since` calls it.
    async fn reload(&self) -> Result<Arc<Snapshot>, LogicError> {
        // Stamped before reading: a snapshot loaded at or after an instant holds every key
        // committed before it.
        let started = Instant::now();
        let mut rows: Vec<jwt_signing_keys::Row> = Vec::new();
        loop {
            let after: Option<jwt_signing_keys::KeyCursor> = rows.last().map(Into::into);
            let page = jwt_signing_keys::list(&self.db, after.as_ref(), PAGE).await?;
            let done = page.len() < PAGE as usize;
            rows.extend(page);
            if done {
                break;
            }
        }
        let mut snapshot = Snapshot { loaded_at: Some(started), ..Snapshot::default() };
        let mut newest_signer: Option<DateTime<Utc>> = None;
        for row in rows.into_iter().filter(|row| row.algorithm == ALGORITHM) {
            let der = match open_private(&self.kek, &row.kid, &row.private_key, &row.public_key) {
                Private::Legacy(der) => {
                    self.seal_legacy(&row, &der).await;
                    Some(der)
                }
                Private::Opened(der) => Some(der),
                Private::Unusable => None,
            };
            let encoding = der.map(|der| EncodingKey::from_ed_der(&der));
            if row.active && encoding.is_some() && newest_signer.is_none_or(|at| row.created_at > at) {
                newest_signer = Some(row.created_at);
                snapshot.active = Some(row.kid.clone());
            }
            let key = Key {
                encoding,
                decoding: DecodingKey::from_ed_der(&row.public_key),
                retired_at: if row.active { None } else { Some(row.retired_at.unwrap_or(row.created_at)) },
            };
            snapshot.keys.insert(row.kid, Arc::new(key));
        }
        let snapshot = Arc::new(snapshot);
        *self.snapshot.write().await = snapshot.clone();
        Ok(snapshot)
    }

    /// Replaces a plaintext private key by its sealed form, unless another replica did first.
    /// A failure is logged and retried by the next reload: the key keeps working meanwhile.
    async fn seal_legacy(&self, row: &jwt_signing_keys::Row, der: &[u8]) {
        let sealed = match self.kek.seal(&row.kid, der) {
            Ok(sealed) => sealed,
            Err(_) => {
                ::tracing::warn!(kid = %row.kid, "could not seal a plaintext signing key; will retry");
                return;
            }
        };
        match sql::reseal_key(&self.db, &row.kid, &row.private_key, &sealed).await {
            Ok(true) => ::tracing::info!(kid = %row.kid, "sealed a signing key stored in plaintext"),
            Ok(false) => {}
            Err(error) => ::tracing::warn!(kid = %row.kid, %error, "could not seal a plaintext signing key; will retry"),
        }
    }

    /// The active key and its `kid`. With no active key that this process can open (an empty
    /// table, or a changed KEK), one is created first.
    pub async fn signing_key(&self) -> Result<(String, EncodingKey), LogicError> {
        if let Some(found) = self.current().await?.signer() {
            return Ok(found);
        }
        self.ensure_signer().await?;
        match self.reload_since(Instant::now()).await?.signer() {
            Some(found) => Ok(found),
            None => Err(LogicError::internal("no usable signing key after creating one", std::io::Error::other("jwt_signing_keys"))),
        }
    }

    /// The key that verifies tokens naming `kid` at `now`; UNAUTHENTICATED for an unknown key
    /// or one retired longer ago than the grace period.
    pub async fn verifying_key(&self, kid: &str, now: DateTime<Utc>) -> Result<DecodingKey, LogicError> {
        let asked = Instant::now();
        let mut snapshot = self.current().await?;
        if !snapshot.keys.contains_key(kid) {
            // Perhaps another replica created it since we last looked.
            snapshot = self.reload_since(asked).await?;
        }
        let Some(key) = snapshot.keys.get(kid) else {
            return Err(LogicError::Unauthenticated("access token is signed by an unknown key".into()));
        };
        if key.retired_at.is_some_and(|retired| retired + self.grace <= now) {
            return Err(LogicError::Unauthenticated("access token is signed by a retired key".into()));
        }
        Ok(key.decoding.clone())
    }

    /// Makes sure an active key this process can open exists (serialised across replicas):
    /// creates the first one, or rotates away from active keys sealed under another KEK.
    async fn ensure_signer(&self) -> Result<(), LogicError> {
        let mut tx = self.db.begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
        sql::lock_keys(&mut *tx).await?;
        let active = sql::active_keys(&mut *tx).await?;
        let usable = active.iter().any(|(kid, private_key, public_key)| open_private(&self.kek, kid, private_key, public_key) != Private::Unusable);
        if usable {
            // Another replica (with the same KEK) made one meanwhile.
            return Ok(());
        }
        if !active.is_empty() {
            ::tracing::error!(
                active = active.len(),
                kek = self.kek.origin(),
                "no active signing key opens with this key-encryption key (was it changed, or do replicas disagree?): \
                 rotating to a new key; tokens signed by the old ones verify until their grace period ends"
            );
        }
        self.replace_active(&mut tx).await?;
        tx.commit().await.map_err(|e| LogicError::internal("committing a new signing key", e))?;
        Ok(())
    }

    /// Retires the active key(s), inserts a new active one and deletes the keys that no longer
    /// verify, in the caller's transaction (holding the key lock): `(new kid, retired kid)`.
    async fn replace_active(&self, conn: &mut PgConnection) -> Result<(String, Option<String>), LogicError> {
        let retired = sql::retire_active_keys(&mut *conn).await?;
        let new = jwt_signing_keys::insert(&mut *conn, &generate(&self.kek)?).await?;
        let pruned = sql::prune_retired_keys(&mut *conn, Utc::now() - self.grace, MAX_RETIRED_KEYS).await?;
        if pruned > 0 {
            ::tracing::debug!(pruned, "deleted signing keys that no longer verify");
        }
        Ok((new.kid, retired.into_iter().next()))
    }

    /// RotateSigningKey: retires the active key(s) and creates a new active one, deleting keys
    /// retired longer ago than the grace period, in one transaction: `(new kid, retired kid)`.
    pub async fn rotate(&self) -> Result<(String, Option<String>), LogicError> {
        let mut tx = self.db.begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
        sql::lock_keys(&mut *tx).await?;
        let rotated = self.replace_active(&mut tx).await?;
        tx.commit().await.map_err(|e| LogicError::internal("committing the key rotation", e))?;
        self.reload_since(Instant::now()).await?;
        Ok(rotated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::DecodePrivateKey;

    fn kek(byte: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_bytes(&[byte; 32], "test".into()).unwrap()
    }

    #[test]
    fn generated_keys_are_sealed_pkcs8_matching_their_public_half() {
        let kek = kek(1);
        let new = generate(&kek).unwrap();
        assert_eq!(new.kid.len(), 32);
        assert!(!new.private_key.starts_with(&PKCS8_ED25519_PREFIX), "never stored in plaintext");
        let Private::Opened(der) = open_private(&kek, &new.kid, &new.private_key, &new.public_key) else { panic!("does not open") };
        let decoded = SigningKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(decoded.verifying_key().to_bytes().to_vec(), new.public_key);
    }

    #[test]
    fn plaintext_rows_are_recognised_and_foreign_or_mismatched_keys_are_unusable() {
        let new = generate(&kek(1)).unwrap();
        let Private::Opened(der) = open_private(&kek(1), &new.kid, &new.private_key, &new.public_key) else { panic!("does not open") };
        assert_eq!(open_private(&kek(2), &new.kid, &der, &new.public_key), Private::Legacy(der.clone()), "plaintext needs no KEK");
        assert_eq!(open_private(&kek(2), &new.kid, &new.private_key, &new.public_key), Private::Unusable, "another KEK");
        let other = generate(&kek(1)).unwrap();
        assert_eq!(open_private(&kek(1), &new.kid, &new.private_key, &other.public_key), Private::Unusable, "not this row's key");
        assert_eq!(open_private(&kek(1), &new.kid, &der, &other.public_key), Private::Unusable);
    }
}
