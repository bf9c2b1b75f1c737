//! What verifying an access token costs a service, per call, without the network: the
//! runtime's `Verifier` with an issuer in memory, for a token seen for the first time (base64,
//! JSON and an Ed25519 signature check) and for one seen before (a SHA-256 of the token and a
//! lookup; expiry and revocations are still checked every call).
//!
//!     cargo bench -p nova-tests --bench token_verification
//!
//! Prints µs per verification; BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nova_runtime::identity::{KeySource, SourceFuture, VerificationKey, VerificationState, Verifier, VerifierSettings};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};

struct Issuer {
    public_key: Vec<u8>,
}

impl KeySource for Issuer {
    fn fetch(&self, after: i64) -> SourceFuture<'_> {
        let key = VerificationKey { kid: "k1".into(), public_key: self.public_key.clone(), not_after: None };
        Box::pin(
            async move { Ok(VerificationState { issuer: "nova-auth".into(), keys: vec![key], revocations: vec![], cursor: after, more: false }) },
        )
    }
}

fn token(pair: &Ed25519KeyPair, n: usize) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#);
    let claims = serde_json::json!({ "iss": "nova-auth", "sub": uuid::Uuid::new_v4().to_string(), "sid": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 900, "jti": n.to_string() });
    let input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref()))
}

#[tokio::main]
async fn main() {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let verifier = Verifier::new(Arc::new(Issuer { public_key: pair.public_key().as_ref().to_vec() }), VerifierSettings::default());
    verifier.refresh().await.unwrap();
    let rounds = 5;
    let count = 20_000;
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let tokens: Vec<String> = (0..count).map(|n| token(&pair, n)).collect();
        let started = Instant::now();
        for token in &tokens {
            std::hint::black_box(verifier.verify(token).await.unwrap());
        }
        cold.push(started.elapsed().as_secs_f64() * 1e6 / count as f64);
        let one = &tokens[0];
        let started = Instant::now();
        for _ in 0..count {
            std::hint::black_box(verifier.verify(one).await.unwrap());
        }
        warm.push(started.elapsed().as_secs_f64() * 1e6 / count as f64);
    }
    cold.sort_by(f64::total_cmp);
    warm.sort_by(f64::total_cmp);
    println!("| token verification (in process, {rounds} rounds of {count}) | median µs per call | best µs |");
    println!("|---|---:|---:|");
    println!("| a token seen for the first time (signature checked) | {:.2} | {:.2} |", cold[rounds / 2], cold[0]);
    println!("| a token seen before (expiry and revocations checked) | {:.2} | {:.2} |", warm[rounds / 2], warm[0]);
}
