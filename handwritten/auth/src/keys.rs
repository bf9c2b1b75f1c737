//! JWT signing keys (Ed25519) kept in `jwt_signing_keys`, cached in memory per process.
//!
//! The active key signs; every key verifies until its retirement plus a grace period. The
//! cache is re-read after `key_cache_ttl` and at once on an unknown `kid`, so a rotation by
//! another replica is seen. The first signature on an empty table creates a key under an
//! advisory lock, so replicas starting together create one, not several.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::chrono::{DateTime, TimeDelta, Utc};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::codegen::tokio::sync::{Mutex, RwLock};
use ::nova_runtime::codegen::uuid::Uuid;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use nova_auth::repo::jwt_signing_keys;

use crate::sql;

/// The only algorithm this service signs with.
pub const ALGORITHM: &str = "EdDSA";

/// PKCS#8 v1 (RFC 8410) of an Ed25519 private key is this prefix followed by the 32-byte seed;
/// it is what `jsonwebtoken` expects of an EdDSA `EncodingKey`.
const PKCS8_ED25519_PREFIX: [u8; 16] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// Keys read per page when loading the table.
const PAGE: i64 = 100;

struct Key {
    encoding: EncodingKey,
    decoding: DecodingKey,
    retired_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Snapshot {
    loaded_at: Option<Instant>,
    keys: HashMap<String, Arc<Key>>,
    active: Option<String>,
}

/// The process's view of the signing keys. Cheap to share behind an `Arc`.
pub struct KeyStore {
    db: PgPool,
    grace: TimeDelta,
    cache_ttl: Duration,
    snapshot: RwLock<Arc<Snapshot>>,
    /// One reload at a time: callers that waited use the snapshot the reload they waited for
    /// produced, so a burst of tokens with unknown kids costs one query at a time, not one each.
    reloading: Mutex<()>,
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore").field("grace", &self.grace).field("cache_ttl", &self.cache_ttl).finish_non_exhaustive()
    }
}

/// A new key pair: the stored row (private key as PKCS#8 DER, public key raw).
fn generate() -> jwt_signing_keys::New {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let signing = SigningKey::from_bytes(&seed);
    let mut private_key = PKCS8_ED25519_PREFIX.to_vec();
    private_key.extend_from_slice(&seed);
    jwt_signing_keys::New {
        kid: Uuid::new_v4().simple().to_string(),
        algorithm: Some(ALGORITHM.to_string()),
        public_key: signing.verifying_key().to_bytes().to_vec(),
        private_key,
        active: Some(true),
        created_at: None,
        retired_at: None,
    }
}

impl KeyStore {
    pub fn new(db: PgPool, grace: TimeDelta, cache_ttl: Duration) -> Self {
        KeyStore { db, grace, cache_ttl, snapshot: RwLock::new(Arc::new(Snapshot::default())), reloading: Mutex::new(()) }
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

    /// Reads every key from the table and replaces the snapshot. Only `reload_since` calls it.
    async fn reload(&self) -> Result<Arc<Snapshot>, LogicError> {
        // Stamped before reading: a snapshot loaded at or after an instant holds every key
        // committed before it.
        let started = Instant::now();
        let mut rows: Vec<jwt_signing_keys::Row> = Vec::new();
        loop {
            let page = jwt_signing_keys::list(&self.db, rows.last(), PAGE).await?;
            let done = page.len() < PAGE as usize;
            rows.extend(page);
            if done {
                break;
            }
        }
        let mut snapshot = Snapshot { loaded_at: Some(started), ..Snapshot::default() };
        let mut newest_active: Option<DateTime<Utc>> = None;
        for row in rows.into_iter().filter(|row| row.algorithm == ALGORITHM) {
            if row.active && newest_active.is_none_or(|at| row.created_at > at) {
                newest_active = Some(row.created_at);
                snapshot.active = Some(row.kid.clone());
            }
            let key = Key {
                encoding: EncodingKey::from_ed_der(&row.private_key),
                decoding: DecodingKey::from_ed_der(&row.public_key),
                retired_at: if row.active { None } else { Some(row.retired_at.unwrap_or(row.created_at)) },
            };
            snapshot.keys.insert(row.kid, Arc::new(key));
        }
        let snapshot = Arc::new(snapshot);
        *self.snapshot.write().await = snapshot.clone();
        Ok(snapshot)
    }

    /// The active key and its `kid`, creating the first key if the table has none.
    pub async fn signing_key(&self) -> Result<(String, EncodingKey), LogicError> {
        let mut snapshot = self.current().await?;
        if snapshot.active.is_none() {
            self.create_if_none().await?;
            snapshot = self.reload_since(Instant::now()).await?;
        }
        match snapshot.active.as_ref().and_then(|kid| snapshot.keys.get(kid).map(|key| (kid.clone(), key.encoding.clone()))) {
            Some(found) => Ok(found),
            None => Err(LogicError::internal("no active signing key after creating one", std::io::Error::other("jwt_signing_keys"))),
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

    /// Creates an active key unless one exists (serialised across replicas).
    async fn create_if_none(&self) -> Result<(), LogicError> {
        let mut tx = self.db.begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
        sql::lock_keys(&mut *tx).await?;
        if sql::active_kid(&mut *tx).await?.is_none() {
            jwt_signing_keys::insert(&mut *tx, &generate()).await?;
        }
        tx.commit().await.map_err(|e| LogicError::internal("committing the first signing key", e))?;
        Ok(())
    }

    /// Retires the active key(s) and creates a new active one: `(new kid, retired kid)`.
    pub async fn rotate(&self) -> Result<(String, Option<String>), LogicError> {
        let mut tx = self.db.begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
        sql::lock_keys(&mut *tx).await?;
        let retired = sql::retire_active_keys(&mut *tx).await?;
        let new = jwt_signing_keys::insert(&mut *tx, &generate()).await?;
        tx.commit().await.map_err(|e| LogicError::internal("committing the key rotation", e))?;
        self.reload_since(Instant::now()).await?;
        Ok((new.kid, retired.into_iter().next()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::DecodePrivateKey;

    #[test]
    fn generated_keys_are_pkcs8_and_match_their_public_half() {
        let new = generate();
        let decoded = SigningKey::from_pkcs8_der(&new.private_key).unwrap();
        assert_eq!(decoded.verifying_key().to_bytes().to_vec(), new.public_key);
        assert_eq!(new.kid.len(), 32);
    }
}
