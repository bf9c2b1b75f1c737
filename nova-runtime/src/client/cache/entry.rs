//! A cached response and its byte form in Redis.
//!
//! Times are Unix milliseconds because L2 entries are shared by processes; generations are
//! those of the entry's tags in Redis (see `l2.rs`) when its load started.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Version 2: generations are compared for equality, and generation keys expire (`l2.rs`).
/// Entries of version 1 were written without those guarantees and read as misses.
const MAGIC: &[u8; 4] = b"NVC2";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The encoded response message.
    pub payload: Bytes,
    pub fresh_until_ms: u64,
    pub stale_until_ms: u64,
    /// One generation per tag of the key, in the key's tag order.
    pub generations: Vec<u64>,
}

impl Entry {
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.fresh_until_ms
    }

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

    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(4 + 16 + 2 + 8 * self.generations.len() + self.payload.len());
        out.put_slice(MAGIC);
        out.put_u64(self.fresh_until_ms);
        out.put_u64(self.stale_until_ms);
        out.put_u16(u16::try_from(self.generations.len()).unwrap_or(u16::MAX));
        for generation in self.generations.iter().take(usize::from(u16::MAX)) {
            out.put_u64(*generation);
        }
        out.put_slice(&self.payload);
        out.freeze()
    }

    /// `None` for bytes that are not an entry of this format (another version wrote them):
    /// treated as a miss, never misread.
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        let mut buf = bytes;
        if buf.len() < 22 || &buf[..4] != MAGIC {
            return None;
        }
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
