//! Access tokens as the issuer (auth) signs them: compact JWS (`header.claims.signature`,
//! base64url without padding), EdDSA (Ed25519) only, naming their key in `kid`. Parsed and
//! checked here without any JWT library: the few rules are explicit, and the signature check is
//! ring's Ed25519.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ED25519, UnparsedPublicKey};
use serde::Deserialize;
use uuid::Uuid;

/// Longest token accepted: a real one is about 400 bytes; this bounds the work a garbage
/// header can cause.
pub(crate) const MAX_TOKEN_BYTES: usize = 4096;

/// Why a token was refused (`UNAUTHENTICATED`; the text is what the caller reads).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a compact JWS, not base64url or JSON, too long, no `kid`, or claims of the wrong
    /// shape.
    #[error("the access token is malformed")]
    Malformed,
    /// The header names an algorithm other than `EdDSA` (`none` and HMAC included).
    #[error("the access token uses an algorithm other than EdDSA")]
    Algorithm,
    /// The `kid` names no key the issuer published, even after a poll.
    #[error("the access token is signed by an unknown key")]
    UnknownKey,
    /// The key was retired and its grace period is over.
    #[error("the access token is signed by a retired key")]
    RetiredKey,
    /// The signature does not match the header and claims.
    #[error("the access token's signature is invalid")]
    Signature,
    /// `iss` is not the issuer the verifier trusts.
    #[error("the access token was issued by someone else")]
    Issuer,
    /// `exp` has passed.
    #[error("the access token has expired")]
    Expired,
    /// The session or user was revoked after the token was issued.
    #[error("the access token has been revoked (signed out, password changed or account deleted)")]
    Revoked,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    sid: String,
    iat: i64,
    exp: i64,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`: who signed it.
    pub issuer: String,
    /// `sub`: the end user.
    pub user: Uuid,
    /// `sid`: the login session it belongs to.
    pub session: Uuid,
    /// `iat`, seconds since the epoch.
    pub issued_at: i64,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
}

/// A token split and decoded, its signature not yet checked.
pub(crate) struct Unverified<'a> {
    pub(crate) kid: String,
    signing_input: &'a str,
    signature: Vec<u8>,
    claims: &'a str,
}

/// The subject (`sub`) `token` claims, **without checking its signature**: never a decision's
/// input, only a label (e.g. which user a cached answer is for, so that it can be dropped
/// when that user changes). `None` for anything that is not a well-formed token.
pub fn unverified_subject(token: &str) -> Option<Uuid> {
    if token.len() > MAX_TOKEN_BYTES {
        return None;
    }
    let claims = token.split('.').nth(1)?;
    let raw: RawClaims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    Uuid::parse_str(&raw.sub).ok()
}

/// Splits and decodes `token`'s header; refuses anything but a well-formed EdDSA token naming
/// its key.
pub(crate) fn parse(token: &str) -> Result<Unverified<'_>, Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Refusal::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Refusal::Malformed);
    };
    let header: Header = URL_SAFE_NO_PAD.decode(header).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or(Refusal::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(Refusal::Algorithm);
    }
    let kid = header.kid.filter(|kid| !kid.is_empty() && kid.len() <= 128).ok_or(Refusal::Malformed)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| Refusal::Malformed)?;
    let (signing_input, _) = token.rsplit_once('.').ok_or(Refusal::Malformed)?;
    Ok(Unverified { kid, signing_input, signature, claims })
}

impl Unverified<'_> {
    /// Checks the signature with the raw Ed25519 `public_key`, then decodes the claims (expiry,
    /// issuer and revocation are the verifier's to check).
    pub(crate) fn verify(&self, public_key: &[u8]) -> Result<Claims, Refusal> {
        UnparsedPublicKey::new(&ED25519, public_key).verify(self.signing_input.as_bytes(), &self.signature).map_err(|_| Refusal::Signature)?;
        let raw: RawClaims =
            URL_SAFE_NO_PAD.decode(self.claims).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or(Refusal::Malformed)?;
        let user = Uuid::parse_str(&raw.sub).map_err(|_| Refusal::Malformed)?;
        let session = Uuid::parse_str(&raw.sid).map_err(|_| Refusal::Malformed)?;
        Ok(Claims { issuer: raw.iss, user, session, issued_at: raw.iat, expires_at: raw.exp })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{Ed25519KeyPair, KeyPair as _};

    use super::*;

    /// A key pair and a function signing claims with it, as auth does.
    pub(crate) struct TestSigner {
        pair: Ed25519KeyPair,
        pub kid: String,
    }

    impl TestSigner {
        pub(crate) fn new(kid: &str) -> Self {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
            TestSigner { pair: Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap(), kid: kid.to_string() }
        }

        pub(crate) fn public_key(&self) -> Vec<u8> {
            self.pair.public_key().as_ref().to_vec()
        }

        pub(crate) fn sign(&self, claims: serde_json::Value) -> String {
            let header = URL_SAFE_NO_PAD.encode(serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": self.kid }).to_string());
            let body = URL_SAFE_NO_PAD.encode(claims.to_string());
            let input = format!("{header}.{body}");
            let signature = URL_SAFE_NO_PAD.encode(self.pair.sign(input.as_bytes()).as_ref());
            format!("{input}.{signature}")
        }

        pub(crate) fn token(&self, user: Uuid, session: Uuid, iat: i64, exp: i64) -> String {
            self.sign(
                serde_json::json!({ "iss": "nova-auth", "sub": user.to_string(), "sid": session.to_string(), "iat": iat, "exp": exp, "jti": "x" }),
            )
        }
    }

    #[test]
    fn a_signed_token_verifies_and_any_change_is_refused() {
        let signer = TestSigner::new("k1");
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = signer.token(user, session, 10, 20);
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.kid, "k1");
        let claims = parsed.verify(&signer.public_key()).unwrap();
        assert_eq!((claims.user, claims.session, claims.issued_at, claims.expires_at), (user, session, 10, 20));
        assert_eq!(claims.issuer, "nova-auth");

        // Another key, a changed claim, a changed signature: all refused.
        assert_eq!(parse(&token).unwrap().verify(&TestSigner::new("k2").public_key()), Err(Refusal::Signature));
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::json!({ "iss": "nova-auth", "sub": Uuid::new_v4().to_string(), "sid": session.to_string(), "iat": 10, "exp": 20 })
                .to_string(),
        );
        parts[1] = forged;
        assert_eq!(parse(&parts.join(".")).unwrap().verify(&signer.public_key()), Err(Refusal::Signature));
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(matches!(parse(&flipped).map(|p| p.verify(&signer.public_key())), Ok(Err(_)) | Err(_)));
    }

    #[test]
    fn the_unverified_subject_is_read_from_well_formed_tokens_only() {
        let user = Uuid::new_v4();
        let token = TestSigner::new("k1").token(user, Uuid::new_v4(), 10, 20);
        assert_eq!(unverified_subject(&token), Some(user));
        for not_a_token in [user.to_string(), String::new(), "a.b.c".into(), format!("x.{}.y", URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#))] {
            assert_eq!(unverified_subject(&not_a_token), None, "{not_a_token}");
        }
    }

    #[test]
    fn only_eddsa_with_a_kid_is_accepted() {
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert_eq!(parse(&none).err(), Some(Refusal::Algorithm));
        let hs = format!("{}.{}.AAAA", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":"k1"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert_eq!(parse(&hs).err(), Some(Refusal::Algorithm));
        let no_kid = format!("{}.{}.AAAA", URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert_eq!(parse(&no_kid).err(), Some(Refusal::Malformed));
        for garbage in ["", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(MAX_TOKEN_BYTES + 1)] {
            assert!(parse(garbage).is_err(), "{garbage:?}");
        }
    }
}
