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
mod source;

pub use policy::{Access, AccessPolicy};
pub use principal::{Caller, Peer, Principal, UserPrincipal};
pub use source::{KeySource, Revocation, RevokedSubject, SourceFuture, VerificationKey, VerificationState};
