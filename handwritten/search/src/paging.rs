//! Pages of ranked lists. A relevance or popularity order is computed per query, from scores
//! that change as documents are indexed, so it has no stable keyset position to continue
//! from: those lists page by an offset carried in the opaque token (bound to the list and its
//! query like every token), and stop at [`MAX_RESULTS`]. Lists with a stable order
//! (GetPostsByHashtag: newest first) use keyset tokens instead.

use ::nova_runtime::paging::{decode_token, encode_token};
use nova_search::LogicError;

/// How deep a ranked list goes: nobody pages past the first thousand matches, and a bound keeps
/// each page's cost bounded.
pub const MAX_RESULTS: usize = 1000;

/// Where the page starts: 0 for an empty token.
pub fn offset(list: &str, token: &str) -> Result<usize, LogicError> {
    let offset = decode_token::<usize>(list, token)?.unwrap_or(0);
    if offset >= MAX_RESULTS {
        return Err(LogicError::invalid_argument("page_token is not a token this list returned; start again with an empty page_token"));
    }
    Ok(offset)
}

/// Rows to fetch for a page of `size` from `offset`: one more tells whether a next page exists.
pub fn limit(size: usize) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX - 1) + 1
}

/// The page among `rows` (fetched with [`limit`]) and its next token.
pub fn split<T>(mut rows: Vec<T>, list: &str, offset: usize, size: usize) -> (Vec<T>, String) {
    let more = rows.len() > size;
    rows.truncate(size);
    let next = offset + size;
    let token = if more && next < MAX_RESULTS { encode_token(list, &next) } else { String::new() };
    (rows, token)
}

/// `offset` as a bind parameter.
pub fn sql_offset(offset: usize) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// The name a token binds a page to: the RPC and a fingerprint (FNV-1a, stable across builds
/// and replicas) of its query and filters, so a token stays short whatever the query holds
/// and a token of another query is refused.
pub fn list(rpc: &str, key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{rpc}/{hash:016x}")
}
