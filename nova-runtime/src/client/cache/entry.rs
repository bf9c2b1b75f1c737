//! A cached response and its byte form in Redis.
//!
//! Times are Unix milliseconds because L2 entries are shared by processes; generations are
//! those of the entry's tags in Redis (see `l2.rs`) when its load started.
//!
//! Redis is not trusted with the answers: anyone who reaches it could write an entry (say, a
//! CheckPermission answer saying yes). Every entry is sealed with an HMAC-SHA256 over its Redis
//! key and its bytes, under a key only the deployment's services hold (`NOVA_CACHE_KEY`); an
//! entry whose seal does not check is a miss (and counted). What someone with write access to
//! Redis can still do is delete entries or bump generations (more misses), or put back an entry
//! this caller itself stored earlier under the same key (within its stale window).

use std::fmt;

use base64::Engine as _;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use ring::hmac;

/// Version 3: sealed (see above). Entries of earlier versions read as misses.
const MAGIC: &[u8; 4] = b"NVC3";
/// The seal's length (HMAC-SHA256), at the end of the entry.
const SEAL: usize = 32;

/// The key entries are sealed with.
#[derive(Clone)]
pub struct MacKey(hmac::Key);

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(..)")
    }
}

impl MacKey {
    /// At least 32 bytes of secret.
    ///
    /// # Errors
    ///
    /// Why the secret is refused (shorter than 32 bytes), as text for a configuration error.
    pub fn from_bytes(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err(format!("needs at least 32 bytes of secret, got {}", secret.len()));
        }
        Ok(MacKey(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// Base64 (standard or URL-safe, padded or not) of at least 32 bytes.
    ///
    /// # Errors
    ///
    /// Why the text is refused (not base64, or too short a secret).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let bytes = engines.iter().find_map(|engine| engine.decode(text).ok()).ok_or("is not base64")?;
        Self::from_bytes(&bytes)
    }

    /// A key of this process only: entries it stores are readable by nobody else (other
    /// replicas miss them), which is correct, merely less shared.
    pub fn random() -> Self {
        match hmac::Key::generate(hmac::HMAC_SHA256, &ring::rand::SystemRandom::new()) {
            Ok(key) => MacKey(key),
            // The system's randomness failing is not a reason to stop serving: a key nobody can
            // guess from outside the process still seals (fastrand is seeded per process).
            Err(_) => MacKey(hmac::Key::new(hmac::HMAC_SHA256, &std::array::from_fn::<u8, 32, _>(|_| fastrand::u8(..)))),
        }
    }

    fn seal(&self, name: &str, body: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(&u32::try_from(name.len()).unwrap_or(u32::MAX).to_be_bytes());
        context.update(name.as_bytes());
        context.update(body);
        context.sign()
    }
}

/// One cached response as stored in Redis (L2): the response, its lifetimes and the
/// generations of its tags when its load started. [`Entry::encode`] and [`Entry::decode`] give
/// its sealed byte form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The encoded response message.
    pub payload: Bytes,
    /// Served as fresh until this time (Unix ms): the policy's TTL after the load.
    pub fresh_until_ms: u64,
    /// Kept, and served only if the owner fails, until this time (Unix ms): the end of the
    /// stale-if-error window.
    pub stale_until_ms: u64,
    /// One generation per tag of the key, in the key's tag order.
    pub generations: Vec<u64>,
}

impl Entry {
    /// Whether it is within its TTL at `now_ms` (Unix ms).
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.fresh_until_ms
    }

    /// Whether it is within its stale-if-error window at `now_ms` (Unix ms).
    pub fn is_usable_stale(&self, now_ms: u64) -> bool {
        now_ms < self.stale_until_ms
    }

    /// Whether no tag was invalidated since the entry's load started, given the generations
    /// Redis holds now. Generations only grow while an entry stored under them lives (a
    /// generation key outlives every entry that names it), so any difference, either way, means
    /// the entry is not current.
    pub fn is_current(&self, current: &[u64]) -> bool {
        self.generations == current
    }

    /// The bytes stored in Redis under `name`, sealed with `key`.
    pub fn encode(&self, key: &MacKey, name: &str) -> Bytes {
        let mut out = BytesMut::with_capacity(4 + 16 + 2 + 8 * self.generations.len() + self.payload.len() + SEAL);
        out.put_slice(MAGIC);
        out.put_u64(self.fresh_until_ms);
        out.put_u64(self.stale_until_ms);
        out.put_u16(u16::try_from(self.generations.len()).unwrap_or(u16::MAX));
        for generation in self.generations.iter().take(usize::from(u16::MAX)) {
            out.put_u64(*generation);
        }
        out.put_slice(&self.payload);
        let seal = key.seal(name, &out);
        out.put_slice(seal.as_ref());
        out.freeze()
    }

    /// The entry stored under `name`; `None` for bytes that are not an entry of this format
    /// (another version wrote them) or whose seal does not check under `key` (someone else
    /// wrote them, or moved them from another key): treated as a miss, never misread.
    pub fn decode(bytes: &[u8], key: &MacKey, name: &str) -> Option<Entry> {
        Self::open(bytes, key, name).ok()
    }

    /// Like [`Entry::decode`], telling a forged entry ([`Unsealed::Forged`]) from one of
    /// another format.
    ///
    /// # Errors
    ///
    /// [`Unsealed::Foreign`] for bytes of another format, [`Unsealed::Forged`] for bytes whose
    /// seal does not check under `key` for `name`.
    pub fn open(bytes: &[u8], key: &MacKey, name: &str) -> Result<Entry, Unsealed> {
        if bytes.len() < 22 + SEAL || &bytes[..4] != MAGIC {
            return Err(Unsealed::Foreign);
        }
        let (body, seal) = bytes.split_at(bytes.len() - SEAL);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(key.seal(name, body).as_ref(), seal)) {
            return Err(Unsealed::Forged);
        }
        Self::parse(body).ok_or(Unsealed::Foreign)
    }

    fn parse(body: &[u8]) -> Option<Entry> {
        let mut buf = body;
        buf.advance(4);
        let fresh_until_ms = buf.get_u64();
        let stale_until_ms = buf.get_u64();
        let count = usize::from(buf.get_u16());
        if buf.len() < count * 8 {
            return None;
        }
        let generations = (0..count).map(|_| buf.get_u64()).collect();
        Some(Entry { payload: Bytes::copy_from_slice(buf), fresh_until_ms, stale_until_ms, generations })
    }
}

/// Why stored bytes are not an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsealed {
    /// Not this format (another version, or garbage).
    Foreign,
    /// This format, but the seal does not check: not written by a holder of the key for this
    /// Redis key.
    Forged,
}
