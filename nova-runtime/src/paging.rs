//! List RPCs page with opaque tokens and a bounded page size (AIP-158).
//!
//! A page token is the keyset position after the last item returned (e.g. its creation time
//! and id), encoded so callers cannot read or build it: base64url of a small JSON document
//! that also names the list it belongs to, so a token from one list (or one filter) is refused
//! by another instead of silently paging the wrong rows. Keyset positions rather than offsets
//! keep pages stable while rows are inserted and cost one index range scan whatever the page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::LogicError;

/// The longest token accepted: a position is a few ids and times, never kilobytes.
const MAX_TOKEN_BYTES: usize = 1024;

/// The page size to use for `requested` (the request's `page_size`): `default` when 0, at
/// most `max` (larger values are lowered, as AIP-158 asks).
///
/// # Errors
///
/// [`LogicError::InvalidArgument`] naming `page_size` when `requested` is negative.
pub fn page_size(requested: i32, default: u32, max: u32) -> Result<usize, LogicError> {
    match requested {
        n if n < 0 => Err(LogicError::invalid_argument(format!("page_size must not be negative, got {n}"))),
        0 => Ok(default.min(max) as usize),
        n => Ok((n.unsigned_abs()).min(max) as usize),
    }
}

#[derive(Serialize)]
struct TokenOut<'a, P> {
    list: &'a str,
    after: &'a P,
}

#[derive(serde::Deserialize)]
struct TokenIn<P> {
    list: String,
    after: P,
}

/// The token for the page after `position` in the list named `list` (an RPC name plus
/// whatever filter must not change between pages, e.g. `GetUserFollowers/<user id>`).
pub fn encode_token<P: Serialize>(list: &str, position: &P) -> String {
    match serde_json::to_vec(&TokenOut { list, after: position }) {
        Ok(json) => URL_SAFE_NO_PAD.encode(json),
        // Serialising plain ids and times cannot fail; an empty token ends the listing rather
        // than failing the call.
        Err(_) => String::new(),
    }
}

/// The position a request's `page_token` continues from: `None` for the first page (empty
/// token).
///
/// # Errors
///
/// [`LogicError::InvalidArgument`] naming `page_token` when it is not a token of this list
/// (another list's, tampered with, too long, or not a token at all).
pub fn decode_token<P: DeserializeOwned>(list: &str, token: &str) -> Result<Option<P>, LogicError> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || LogicError::invalid_argument("page_token is not a token this list returned; start again with an empty page_token");
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid());
    }
    let json = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let parsed: TokenIn<P> = serde_json::from_slice(&json).map_err(|_| invalid())?;
    if parsed.list != list {
        return Err(invalid());
    }
    Ok(Some(parsed.after))
}

/// One page out of `rows` fetched with `LIMIT size + 1`: the first `size` rows, and the next
/// page token (from the last row kept) when the extra row shows there is more.
pub fn split_page<T, P: Serialize>(mut rows: Vec<T>, size: usize, list: &str, position: impl Fn(&T) -> P) -> (Vec<T>, String) {
    if rows.len() <= size {
        return (rows, String::new());
    }
    rows.truncate(size);
    let token = rows.last().map(|last| encode_token(list, &position(last))).unwrap_or_default();
    (rows, token)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tonic::Code;

    #[test]
    fn page_sizes_default_clamp_and_refuse_negatives() {
        assert_eq!(page_size(0, 20, 100).unwrap(), 20);
        assert_eq!(page_size(7, 20, 100).unwrap(), 7);
        assert_eq!(page_size(5000, 20, 100).unwrap(), 100);
        let error = page_size(-1, 20, 100).unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.to_string().contains("page_size"));
    }

    #[test]
    fn tokens_round_trip_and_belong_to_one_list() {
        let token = encode_token("ListUsers", &("2026-01-01T00:00:00Z", 42));
        assert!(!token.contains('{'), "opaque: {token}");
        let back: Option<(String, i32)> = decode_token("ListUsers", &token).unwrap();
        assert_eq!(back, Some(("2026-01-01T00:00:00Z".to_string(), 42)));
        assert_eq!(decode_token::<(String, i32)>("ListUsers", "").unwrap(), None);
        for bad in [encode_token("GetUserFollowers/x", &("a", 1)), "%%%".to_string(), "eyJ9".to_string(), "A".repeat(2000)] {
            let error = decode_token::<(String, i32)>("ListUsers", &bad).unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(error.to_string().contains("page_token"));
        }
    }

    #[test]
    fn pages_end_without_a_token_and_continue_with_one() {
        let (rows, token) = split_page(vec![1, 2, 3], 3, "L", |n| *n);
        assert_eq!((rows.len(), token.as_str()), (3, ""));
        let (rows, token) = split_page(vec![1, 2, 3, 4], 3, "L", |n| *n);
        assert_eq!(rows, [1, 2, 3]);
        assert_eq!(decode_token::<i32>("L", &token).unwrap(), Some(3));
    }
}
