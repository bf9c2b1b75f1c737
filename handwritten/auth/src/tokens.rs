//! Access tokens (EdDSA JWTs naming their key in `kid`) and refresh tokens (32 random bytes
//! given to the client, only their SHA-256 stored).

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::chrono::{DateTime, TimeDelta, Utc};
use ::nova_runtime::codegen::uuid::Uuid;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::KeyStore;

/// The `iss` of every access token, checked on verification.
pub const ISSUER: &str = "nova-auth";

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// A signed access token and when it expires.
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs an access token for `user_id` in `session_id`, valid for `ttl` from `now`.
pub async fn issue_access(keys: &KeyStore, user_id: Uuid, session_id: Uuid, now: DateTime<Utc>, ttl: TimeDelta) -> Result<AccessToken, LogicError> {
    let (kid, key) = keys.signing_key().await?;
    // Whole seconds, as the token's `exp` says.
    let expires_at = DateTime::<Utc>::from_timestamp((now + ttl).timestamp(), 0).unwrap_or(now + ttl);
    let claims = Claims {
        iss: ISSUER.to_string(),
        sub: user_id.to_string(),
        sid: session_id.to_string(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        jti: Uuid::new_v4().to_string(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid);
    let token = jsonwebtoken::encode(&header, &claims, &key).map_err(|e| LogicError::internal("signing an access token", e))?;
    Ok(AccessToken { token, expires_at })
}

/// The claims of a token whose signature (by the key its `kid` names), issuer and expiry
/// check out at `now`; UNAUTHENTICATED otherwise. Revocation is the caller's to check.
pub async fn verify_access(keys: &KeyStore, token: &str, now: DateTime<Utc>) -> Result<Claims, LogicError> {
    let refused = |why: &str| LogicError::Unauthenticated(format!("access token {why}"));
    let header = jsonwebtoken::decode_header(token).map_err(|_| refused("is malformed"))?;
    if header.alg != Algorithm::EdDSA {
        return Err(refused("uses an algorithm this service does not sign with"));
    }
    let kid = header.kid.ok_or_else(|| refused("names no key (kid)"))?;
    let key = keys.verifying_key(&kid, now).await?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = 0;
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => refused("has expired"),
        _ => refused("is invalid"),
    })?;
    // `decode` checks expiry against the system clock; `now` is the caller's notion of it.
    if data.claims.exp <= now.timestamp() {
        return Err(refused("has expired"));
    }
    Ok(data.claims)
}

/// A new refresh token: what the client gets (base64url of 32 random bytes) and its hash.
pub fn new_refresh() -> (String, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh(&token);
    (token, hash)
}

/// The stored form of a refresh token: lower-case hex SHA-256 of the token as given.
pub fn hash_refresh(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A presented refresh token, checked for shape: INVALID_ARGUMENT naming `refresh_token`.
pub fn parse_refresh(token: &str) -> Result<&str, LogicError> {
    let well_formed = URL_SAFE_NO_PAD.decode(token).is_ok_and(|bytes| bytes.len() == 32);
    if token.is_empty() || !well_formed {
        return Err(LogicError::invalid_argument("refresh_token must be a token Login or Refresh returned"));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_and_only_their_hash_is_kept() {
        let (token, hash) = new_refresh();
        let (other, _) = new_refresh();
        assert_ne!(token, other);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, hash_refresh(&token));
        assert!(parse_refresh(&token).is_ok());
        assert!(parse_refresh("").is_err());
        assert!(parse_refresh("abc").is_err());
    }
}
