//! Who may call what, established before any handwritten line runs:
//!
//! - the **peer**: what the connection's client certificate proves (a nova service, or a
//!   client such as the edge), see [`crate::tls`];
//! - the **user**: the access token in `authorization: Bearer`, verified by the service itself
//!   (signature, `kid`, expiry, issuer, revocations) against the issuer's public keys, which
//!   a background task keeps fresh ([`Verifier`]); no call to the issuer on the hot path;
//! - the **principal** ([`Principal`]) combining both, handed to the logic in its
//!   `CallContext`;
//! - the **policy** of each RPC ([`AccessPolicy`], from the spec), checked against it, with the
//!   request's acting fields (`author_id`, ...) bound to the principal's user.

mod policy;
mod principal;
mod remote;
mod source;
mod token;
mod verifier;

pub use policy::{Access, AccessPolicy};
pub(crate) use principal::Caller;
pub use principal::{Peer, Principal, UserPrincipal};
pub use remote::{Issuer, RemoteIssuer};
pub use source::{KeySource, Revocation, RevokedSubject, SourceFuture, VerificationKey, VerificationState};
pub use token::{Claims, Refusal, unverified_subject};
pub use verifier::{Verifier, VerifierSettings, VerifyError};

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The answer of [`Permissions::has`]: boxed so that the trait stays object-safe.
pub type PermissionFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, tonic::Status>> + Send + 'a>>;

/// Whether an end user holds a permission (e.g. `auth.admin`): the issuer's `CheckPermission`
/// for every service but the issuer, which reads its own table.
///
/// The generated server asks it for RPCs whose policy is [`Access::Permission`], after the
/// caller's token verified; [`RemoteIssuer`] implements it over gRPC.
pub trait Permissions: Send + Sync + 'static {
    /// Whether `user` holds `permission` now.
    ///
    /// An `Err` (the issuer unreachable or failing) fails the call `UNAVAILABLE` rather than
    /// deciding either way: permissions fail closed.
    fn has(&self, user: uuid::Uuid, permission: &'static str) -> PermissionFuture<'_>;
}

/// What a server verifies its callers with: the token verifier and the permission check, shared
/// by every call (see [`crate::server::ServeOptions`]).
#[derive(Clone)]
pub struct Identity {
    /// Verifies the bearer tokens of end users (keys and revocations from the issuer).
    pub verifier: Arc<Verifier>,
    /// Answers [`Access::Permission`] checks.
    pub permissions: Arc<dyn Permissions>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}
