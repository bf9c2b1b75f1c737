//! Stream keys: the secret an encoder publishes with.
//!
//! A key is 32 bytes from the operating system's generator (`OsRng`), shown once as base64url
//! with a `nsk_` prefix, and stored only as its SHA-256. A password hash (Argon2) exists to
//! make guessing a *low-entropy* secret expensive; a 256-bit random key cannot be guessed, so a
//! fast hash loses nothing and lets StartStream find the key by an indexed equality on the
//! hash. Whoever reads the table learns hashes, from which no key can be recovered.
//!
//! Rotation (RotateStreamKey, or UpdateLiveStream with `rotate_stream_key`) revokes the active
//! key and stores the new one in one transaction, under the stream's row lock; a partial
//! unique index (`stream_keys_stream_id_partial_key`) keeps at most one unrevoked key per
//! stream whatever happens. StartStream finds the stream by the key's hash, locks the stream
//! row (as a rotation does, before touching keys: one lock order, no deadlock), and checks the
//! key again under that lock: a rotation either committed before (the key is revoked: refused)
//! or waits until the start has committed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nova_runtime::codegen::sqlx::PgConnection;
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::convert::timestamp;
use nova_runtime::identity::Principal;
use nova_streaming::repo::{stream_keys, streams};
use nova_streaming::{LogicError, pb};
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::{StreamingLogic, convert, sql};

/// What precedes every key, so that a leaked one is recognisable (secret scanners).
const PREFIX: &str = "nsk_";
/// Longest `stream_key` read from a request: a real key is 47 characters.
const MAX_KEY_CHARS: usize = 200;

/// A new key: what the encoder is given, and what is stored.
pub fn new_key() -> Result<(String, String), LogicError> {
    let mut bytes = [0u8; 32];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| LogicError::internal("reading the operating system's random generator", e.to_string()))?;
    let key = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&key);
    Ok((key, hash))
}

/// The stored form of a key: lower-case hex SHA-256 of the key as given.
pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `presented` hashes to `stored`, in time independent of where they differ. The row
/// was found by an index lookup on the hash, which can only leak how a *hash* compares, and no
/// key can be steered towards a wanted hash; this comparison is the check itself, so that the
/// decision never rests on a variable-time comparison of secret material.
pub fn matches(presented: &str, stored: &str) -> bool {
    hash(presented).as_bytes().ct_eq(stored.as_bytes()).into()
}

/// The key a StartStream request presents: non-empty and of bounded size (its shape is not
/// checked further: an unknown key of any shape is PERMISSION_DENIED, which says nothing).
pub fn presented(key: &str) -> Result<&str, LogicError> {
    if key.is_empty() {
        return Err(LogicError::invalid_argument("stream_key must not be empty"));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(LogicError::PermissionDenied("stream_key: unknown or revoked key".to_string()));
    }
    Ok(key)
}

impl StreamingLogic {
    /// Issues a key for a stream, revoking the one in force; in the caller's transaction,
    /// which must hold the stream's row lock.
    pub(crate) async fn issue_key(&self, tx: &mut PgConnection, stream_id: Uuid) -> Result<pb::StreamKey, LogicError> {
        let (key, key_hash) = new_key()?;
        sql::revoke_keys(&mut *tx, stream_id).await?;
        let row = stream_keys::insert(&mut *tx, &stream_keys::New { id: None, stream_id, key_hash, created_at: None, revoked_at: None }).await?;
        Ok(pb::StreamKey { stream_key: key, ingest_url: self.settings.ingest_url.clone(), created_at: Some(timestamp(row.created_at)) })
    }

    pub(crate) async fn rotate_stream_key(
        &self,
        principal: &Principal,
        request: pb::RotateStreamKeyRequest,
    ) -> Result<pb::RotateStreamKeyResponse, LogicError> {
        let stream_id = convert::stream_id(&request.stream_id)?;
        // The creator never changes: checked before the row is locked (no call under a lock).
        self.creators_stream(principal, stream_id, "rotate its key").await?;
        let mut tx = self.db.begin().await?;
        let stream = streams::get_for_update(&mut tx, stream_id).await?.ok_or_else(|| convert::no_stream(stream_id))?;
        if convert::is_over(stream.status) {
            return Err(convert::over(&stream));
        }
        let stream_key = self.issue_key(&mut tx, stream_id).await?;
        tx.commit().await?;
        Ok(pb::RotateStreamKeyResponse { stream_key: Some(stream_key) })
    }

    /// The stream a presented key opens, locked until `tx` ends; PERMISSION_DENIED for an
    /// unknown or revoked key (see the module doc).
    pub(crate) async fn lock_stream_of_key(&self, tx: &mut PgConnection, key: &str) -> Result<streams::Row, LogicError> {
        let denied = || LogicError::PermissionDenied("stream_key: unknown or revoked key".to_string());
        let key_hash = hash(key);
        let found = stream_keys::find_by_key_hash(&mut *tx, &key_hash).await?.ok_or_else(denied)?;
        let stream = streams::get_for_update(&mut *tx, found.stream_id).await?.ok_or_else(denied)?;
        // Again under the stream's lock, which every rotation holds while it revokes.
        let current = stream_keys::find_by_key_hash(&mut *tx, &key_hash).await?.ok_or_else(denied)?;
        if current.revoked_at.is_some() || !matches(key, &current.key_hash) {
            return Err(denied());
        }
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::{hash, matches, new_key};

    #[test]
    fn keys_are_random_prefixed_and_match_only_their_hash() {
        let (a, a_hash) = new_key().unwrap_or_default();
        let (b, _) = new_key().unwrap_or_default();
        assert_ne!(a, b);
        assert!(a.starts_with("nsk_") && a.len() == 4 + 43, "{a}");
        assert_eq!(a_hash, hash(&a));
        assert!(matches(&a, &a_hash));
        assert!(!matches(&b, &a_hash));
    }
}
