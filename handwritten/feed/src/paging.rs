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
    let token = page.last().map(|last| encode_token(list, &position(last))).unwrap_or_default();
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
