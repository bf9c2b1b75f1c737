//! Keyset pages over lists feed computes in memory (personalized feed, suggestions) and the
//! shared page-size rule. A page holds the candidates strictly after the token's position in
//! the list's order; the position of the last candidate of the page, before any later
//! filtering, is the next token, so a filter that drops items (a deleted post, a block)
//! shortens a page but never skips or repeats one.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::paging::encode_token;

/// Default and largest page of the post lists (documented in the proto).
pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 100;

/// A position in a list ordered by a score, best first, ties broken by id (descending).
pub type Position = (f64, Uuid);

/// A position as a token stores it: the score's bits, since a float printed in JSON and
/// parsed back may differ in its last bit, and a cursor one bit above its own item would
/// return that item again, forever.
pub type StoredPosition = (u64, Uuid);

/// The position a token continues from (see [`StoredPosition`]).
pub fn decode_position(list: &str, token: &str) -> Result<Option<Position>, nova_feed::LogicError> {
    let stored: Option<StoredPosition> = ::nova_runtime::paging::decode_token(list, token)?;
    Ok(stored.map(|(bits, id)| (f64::from_bits(bits), id)))
}

/// What a token stores of `position`.
pub fn stored((score, id): Position) -> StoredPosition {
    (score.to_bits(), id)
}

/// Rows to fetch for a page of `size`: one more tells whether a next page exists.
pub fn limit(size: usize) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX - 1) + 1
}

/// The page of `sorted` (best first by `position`) after `after`, at most `size` long, and
/// the token of the next page in `list` (empty at the end).
pub fn window<T>(sorted: Vec<T>, after: Option<Position>, size: usize, list: &str, position: impl Fn(&T) -> Position) -> (Vec<T>, String) {
    let mut page: Vec<T> = sorted.into_iter().filter(|item| after.is_none_or(|cursor| is_after(position(item), cursor))).take(size + 1).collect();
    if page.len() <= size {
        return (page, String::new());
    }
    page.truncate(size);
    let token = page.last().map(|last| encode_token(list, &stored(position(last)))).unwrap_or_default();
    (page, token)
}

/// Whether `item` comes after `cursor` in descending (score, id) order.
fn is_after(item: Position, cursor: Position) -> bool {
    item.0 < cursor.0 || (item.0 == cursor.0 && item.1 < cursor.1)
}

/// Sorts best first: score descending, then id descending (the order of `window`).
pub fn sort_best_first<T>(items: &mut [T], position: impl Fn(&T) -> Position) {
    items.sort_by(|a, b| {
        let (a, b) = (position(a), position(b));
        b.0.total_cmp(&a.0).then(b.1.cmp(&a.1))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_continue_after_their_last_item_whatever_the_float() {
        // Scores whose decimal forms do not round-trip through every JSON parser.
        let items: Vec<Position> = vec![(0.1 + 0.2, Uuid::from_u128(3)), (0.1 + 0.2, Uuid::from_u128(2)), ((0.1 + 0.2) / 3.0, Uuid::from_u128(1))];
        let mut sorted = items.clone();
        sort_best_first(&mut sorted, |p| *p);
        let (first, token) = window(sorted.clone(), None, 1, "L", |p| *p);
        assert_eq!(first, [(0.1 + 0.2, Uuid::from_u128(3))]);
        let after = decode_position("L", &token).ok().flatten();
        let (second, token) = window(sorted.clone(), after, 1, "L", |p| *p);
        assert_eq!(second, [(0.1 + 0.2, Uuid::from_u128(2))]);
        let after = decode_position("L", &token).ok().flatten();
        let (third, token) = window(sorted, after, 1, "L", |p| *p);
        assert_eq!((third, token.as_str()), (vec![((0.1 + 0.2) / 3.0, Uuid::from_u128(1))], ""));
    }
}
