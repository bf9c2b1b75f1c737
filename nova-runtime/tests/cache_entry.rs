//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use bytes::Bytes;
use nova_runtime::client::cache::{Entry, MacKey, Unsealed};

fn key() -> MacKey {
    MacKey::from_bytes(&[7u8; 32]).unwrap()
}

#[test]
fn round_trips_and_rejects_foreign_bytes() {
    let entry = Entry { payload: Bytes::from_static(b"\x0a\x03abc"), fresh_until_ms: 10, stale_until_ms: 20, generations: vec![0, 7] };
    let bytes = entry.encode(&key(), "nova:c:k");
    assert_eq!(Entry::decode(&bytes, &key(), "nova:c:k"), Some(entry.clone()));
    assert_eq!(Entry::decode(b"not an entry at all, no, not even close to one", &key(), "nova:c:k"), None);
    assert_eq!(Entry::decode(&bytes[..20], &key(), "nova:c:k"), None);
}

#[test]
fn entries_are_sealed_by_the_key_and_their_redis_key() {
    let entry = Entry { payload: Bytes::from_static(b"\x08\x01"), fresh_until_ms: u64::MAX, stale_until_ms: u64::MAX, generations: vec![0] };
    let bytes = entry.encode(&key(), "nova:c:a");
    // Written by someone without the key: refused, and told apart from another format.
    let other = MacKey::from_bytes(&[8u8; 32]).unwrap();
    assert_eq!(Entry::open(&entry.encode(&other, "nova:c:a"), &key(), "nova:c:a"), Err(Unsealed::Forged));
    // A genuine entry moved to another key: refused.
    assert_eq!(Entry::open(&bytes, &key(), "nova:c:b"), Err(Unsealed::Forged));
    // One payload byte changed (an answer edited in place): refused.
    let mut edited = bytes.to_vec();
    let at = edited.len() - 33;
    edited[at] ^= 1;
    assert_eq!(Entry::open(&edited, &key(), "nova:c:a"), Err(Unsealed::Forged));
    assert!(MacKey::from_bytes(&[1u8; 16]).is_err(), "a short secret is refused");
    assert!(MacKey::from_base64("c2VjcmV0").is_err());
    assert!(MacKey::from_base64(&"QUJD".repeat(11)).is_ok());
}

#[test]
fn currency_compares_generations() {
    let entry = Entry { payload: Bytes::new(), fresh_until_ms: 10, stale_until_ms: 20, generations: vec![1, 2] };
    assert!(entry.is_current(&[1, 2]));
    assert!(!entry.is_current(&[1, 3]), "invalidated after the load started");
    assert!(!entry.is_current(&[0, 2]), "a generation key that expired and started again: never trusted");
    assert!(!entry.is_current(&[1]), "another set of tags");
    assert!(entry.is_fresh(9) && !entry.is_fresh(10) && entry.is_usable_stale(19) && !entry.is_usable_stale(20));
}
