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
    /// The key id tokens name in their header.
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

/// One revocation recorded by the issuer: which tokens, from when, and until when it matters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The session or user whose tokens it covers.
    pub subject: RevokedSubject,
    /// When it was recorded: for [`RevokedSubject::User`], tokens issued at or before this
    /// are refused (tokens issued later, e.g. after a new login, still verify).
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

/// The answer of [`KeySource::fetch`]: boxed so that the trait stays object-safe.
pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = Result<VerificationState, tonic::Status>> + Send + 'a>>;

/// Where a [`super::Verifier`] gets keys and revocations.
pub trait KeySource: Send + Sync + 'static {
    /// Keys, and revocations recorded after `revocations_after` (0: every one still in force).
    ///
    /// An `Err` (the issuer unreachable) leaves the verifier's state as it was; it keeps
    /// verifying by signature until its `max_staleness` runs out.
    fn fetch(&self, revocations_after: i64) -> SourceFuture<'_>;
}
