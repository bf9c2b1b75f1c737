//! What a service needs from the token issuer (auth) to verify access tokens by itself: the
//! public keys that sign them and the revocations recorded since it last asked. The issuer
//! answers it over gRPC (`GetTokenVerification`, see [`super::remote`]); the issuer itself
//! reads its own database (a [`KeySource`] of its own).

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use uuid::Uuid;

/// A public key that verifies access tokens naming it in their `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationKey {
    pub kid: String,
    /// The raw 32-byte Ed25519 public key (tokens are EdDSA JWTs).
    pub public_key: Vec<u8>,
    /// Tokens signed by this key are refused from this moment (a retired key's retirement plus
    /// the grace period); `None` while the key is in use.
    pub not_after: Option<SystemTime>,
}

/// Tokens that must no longer verify although their signature and expiry are fine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokedSubject {
    /// Every token of this session (Logout, a reused refresh token).
    Session(Uuid),
    /// Every token of this user issued before `revoked_at` (a password change, DeleteUser).
    User(Uuid),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub subject: RevokedSubject,
    pub revoked_at: SystemTime,
    /// No token this revocation covers can be valid after this (issue time plus token
    /// lifetime): verifiers forget it then.
    pub expires_at: SystemTime,
}

/// One answer of the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerificationState {
    /// The `iss` every token names.
    pub issuer: String,
    /// Every key that still verifies (all of them, every time).
    pub keys: Vec<VerificationKey>,
    /// Revocations recorded after the cursor the request gave, in order, still in force.
    pub revocations: Vec<Revocation>,
    /// Pass back next time to get only newer revocations.
    pub cursor: i64,
    /// More revocations wait after `cursor`: ask again at once.
    pub more: bool,
}

pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = Result<VerificationState, tonic::Status>> + Send + 'a>>;

/// Where a [`super::Verifier`] gets keys and revocations.
pub trait KeySource: Send + Sync + 'static {
    /// Keys, and revocations recorded after `revocations_after` (0: every one still in force).
    fn fetch(&self, revocations_after: i64) -> SourceFuture<'_>;
}
