//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use bytes::Bytes;
use nova_runtime::client::cache::Entry;
#[test]
fn round_trips_and_rejects_foreign_bytes() {
    let entry = Entry { payload: Bytes::from_static(b"\x0a\x03abc"), fresh_until_ms: 10, stale_until_ms: 20, generations: vec![0, 7] };
    assert_eq!(Entry::decode(&entry.encode()), Some(entry.clone()));
    assert_eq!(Entry::decode(b"not an entry at all, no"), None);
    assert_eq!(Entry::decode(&entry.encode()[..20]), None);
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
