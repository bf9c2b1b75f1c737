//! Signed, expiring CDN addresses, and the check a CDN (or a small verifier in front of the
//! object store) makes before it serves one.
//!
//! # The scheme
//!
//! GetMediaCdnUrl answers `<base><object key>?expires=<E>&signature=<S>`, where
//!
//! - `<base>` is `NOVA_MEDIA_CDN_BASE_URL` (e.g. `https://cdn.example.com/media/`) and the
//!   **path** is the address's path exactly as the CDN receives it: the base's path followed by
//!   the object key (`/media/media/<owner id>/<media id>.thumbnail`). Object keys hold only
//!   `[0-9a-z./_-]`, so the path needs no percent-encoding;
//! - `E` is when the address expires, in whole seconds since the Unix epoch (decimal): at least
//!   `NOVA_MEDIA_URL_TTL_SECONDS` after it was issued, rounded up to a multiple of
//!   [`EXPIRY_STEP_SECONDS`], so that an object's address is the same for a few minutes and
//!   caches (the CDN's, browsers') can keep it;
//! - `S` is the base64url encoding without padding (RFC 4648 §5) of
//!   `HMAC-SHA256(key, path || "\n" || E)`, with the key of `NOVA_MEDIA_URL_SIGNING_KEY`
//!   (at least 32 bytes, shared by every media replica and the verifier).
//!
//! A verifier recomputes the HMAC over the request's path and `expires`, compares it with
//! `signature` in constant time, refuses when now is at or past `E`, and serves **nothing**
//! without a valid signature: the original upload, whose key is never signed, stays out of
//! reach, as does any other object of the bucket. [`verify_request`] is that check.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

/// Expiries are multiples of this (5 minutes): an address stays the same within such a window.
pub const EXPIRY_STEP_SECONDS: i64 = 300;

/// The HMAC key addresses are signed with. Its `Debug` shows nothing of the key.
#[derive(Clone)]
pub struct UrlSigningKey(hmac::Key);

impl std::fmt::Debug for UrlSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigningKey(..)")
    }
}

impl UrlSigningKey {
    /// The fewest bytes a key may have (the HMAC-SHA256 output size).
    pub const MIN_BYTES: usize = 32;

    /// A key from its bytes; refused when shorter than [`UrlSigningKey::MIN_BYTES`].
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!("must be at least {} bytes, got {}", Self::MIN_BYTES, bytes.len()));
        }
        Ok(UrlSigningKey(hmac::Key::new(hmac::HMAC_SHA256, bytes)))
    }

    fn tag(&self, path: &str, expires: i64) -> hmac::Tag {
        hmac::sign(&self.0, message(path, expires).as_bytes())
    }
}

/// What is signed: the path, a newline, the expiry in decimal.
fn message(path: &str, expires: i64) -> String {
    format!("{path}\n{expires}")
}

/// When an address issued at `now` (Unix seconds) for `ttl_seconds` expires: `now + ttl`
/// rounded up to a multiple of [`EXPIRY_STEP_SECONDS`].
pub fn expiry(now: i64, ttl_seconds: u64) -> i64 {
    let at = now.saturating_add(i64::try_from(ttl_seconds).unwrap_or(i64::MAX));
    let rest = at.rem_euclid(EXPIRY_STEP_SECONDS);
    if rest == 0 { at } else { at.saturating_add(EXPIRY_STEP_SECONDS - rest) }
}

/// The path part of a CDN base address (`/` when it has none); refuses what is not an
/// `http://` or `https://` address with a host, or holds a query or a fragment.
pub fn base_path(base: &str) -> Result<&str, String> {
    let rest =
        base.strip_prefix("https://").or_else(|| base.strip_prefix("http://")).ok_or_else(|| "must start with https:// or http://".to_string())?;
    if rest.contains(['?', '#']) {
        return Err("must not hold a query or a fragment (the signature parameters follow the object key)".to_string());
    }
    let (host, path) = rest.find('/').map_or((rest, "/"), |at| (&rest[..at], &rest[at..]));
    if host.is_empty() {
        return Err("names no host".to_string());
    }
    Ok(path)
}

/// The signed address of `object_key` under `base`, valid until `expires` (Unix seconds).
pub fn signed_url(base: &str, key: &UrlSigningKey, object_key: &str, expires: i64) -> Result<String, String> {
    let path = format!("{}/{object_key}", base_path(base)?.trim_end_matches('/'));
    let signature = URL_SAFE_NO_PAD.encode(key.tag(&path, expires).as_ref());
    Ok(format!("{}/{object_key}?expires={expires}&signature={signature}", base.trim_end_matches('/')))
}

/// Why a verifier refuses a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `expires` or `signature` is missing or malformed.
    Malformed(&'static str),
    /// The signature does not match the path and expiry (altered, or another key).
    BadSignature,
    /// Valid, but `now` is at or past the expiry.
    Expired,
}

/// The verifier's check of one request, given as its path and query (`/media/x.full?expires=..&signature=..`,
/// what follows the host), at `now` (Unix seconds). Parameters other than `expires` and
/// `signature` are refused (they are not signed).
pub fn verify_request(key: &UrlSigningKey, path_and_query: &str, now: i64) -> Result<(), Refusal> {
    let (path, query) = path_and_query.split_once('?').ok_or(Refusal::Malformed("no query: expires and signature are required"))?;
    let (mut expires, mut signature) = (None, None);
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("expires", value)) if expires.is_none() => expires = Some(value),
            Some(("signature", value)) if signature.is_none() => signature = Some(value),
            _ => return Err(Refusal::Malformed("only expires and signature, once each, may follow the path")),
        }
    }
    let expires = expires.ok_or(Refusal::Malformed("expires is missing"))?;
    // Decimal digits only: `+5` or ` 5` would parse, and then sign another text than the one checked.
    if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::Malformed("expires must be decimal Unix seconds"));
    }
    let expires: i64 = expires.parse().map_err(|_| Refusal::Malformed("expires must be decimal Unix seconds"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature.ok_or(Refusal::Malformed("signature is missing"))?)
        .map_err(|_| Refusal::Malformed("signature must be base64url without padding"))?;
    hmac::verify(&key.0, message(path, expires).as_bytes(), &signature).map_err(|_| Refusal::BadSignature)?;
    if now >= expires {
        return Err(Refusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(byte: u8) -> UrlSigningKey {
        UrlSigningKey::new(&[byte; 32]).unwrap()
    }

    /// The path and query of an address, as the CDN receives them.
    fn request_of(url: &str) -> &str {
        let after_scheme = url.split_once("://").unwrap().1;
        &after_scheme[after_scheme.find('/').unwrap()..]
    }

    #[test]
    fn expiries_round_up_to_the_step() {
        assert_eq!(expiry(1_000_000_200, 3600), 1_000_003_800);
        assert_eq!(expiry(1_000_000_201, 3600), 1_000_004_100);
        assert_eq!(expiry(1_000_000_499, 3600), 1_000_004_100);
        assert_eq!(expiry(0, 0), 0);
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_path_newline_expiry() {
        // Computed independently, with Python's hmac: base64url(HMAC-SHA256(32 bytes of 7,
        // "/media/a/b.full\n1700000100")) without padding.
        let url = signed_url("https://cdn.test/media/", &key(7), "a/b.full", 1_700_000_100).unwrap();
        assert_eq!(url, "https://cdn.test/media/a/b.full?expires=1700000100&signature=cyWJGVexzQJCRhWQYyXKwPiEH40sxsl8-7-3niRFALw");
        // A base without a path signs the key's path from the root.
        let bare = signed_url("http://cdn.test", &key(7), "a/b.full", 1_700_000_100).unwrap();
        assert!(bare.starts_with("http://cdn.test/a/b.full?expires=1700000100&signature="), "{bare}");
        assert_eq!(verify_request(&key(7), request_of(&bare), 1_700_000_000), Ok(()));
    }

    #[test]
    fn the_verifier_refuses_altered_expired_and_foreign_addresses() {
        let url = signed_url("https://cdn.test/media", &key(1), "media/o/m.full", 2_000).unwrap();
        let request = request_of(&url);
        assert_eq!(verify_request(&key(1), request, 1_999), Ok(()));
        assert_eq!(verify_request(&key(1), request, 2_000), Err(Refusal::Expired));
        assert_eq!(verify_request(&key(2), request, 1_000), Err(Refusal::BadSignature));
        // Another object under the same signature (the original), or a later expiry.
        assert_eq!(verify_request(&key(1), &request.replace("m.full", "m"), 1_000), Err(Refusal::BadSignature));
        assert_eq!(verify_request(&key(1), &request.replace("expires=2000", "expires=9000"), 1_000), Err(Refusal::BadSignature));
        assert_eq!(
            verify_request(&key(1), &request.replace("expires=2000", "expires=+2000"), 1_000),
            Err(Refusal::Malformed("expires must be decimal Unix seconds"))
        );
        assert!(matches!(verify_request(&key(1), "/media/media/o/m.full", 1_000), Err(Refusal::Malformed(_))));
        assert!(matches!(verify_request(&key(1), &format!("{request}&download=1"), 1_000), Err(Refusal::Malformed(_))));
    }

    #[test]
    fn keys_and_bases_are_checked() {
        assert!(UrlSigningKey::new(&[0; 31]).is_err());
        assert_eq!(format!("{:?}", key(9)), "UrlSigningKey(..)");
        assert_eq!(base_path("https://cdn.test/media/"), Ok("/media/"));
        assert_eq!(base_path("https://cdn.test"), Ok("/"));
        assert!(base_path("cdn.test/media").is_err());
        assert!(base_path("https:///media").is_err());
        assert!(base_path("https://cdn.test/media?x=1").is_err());
    }
}
