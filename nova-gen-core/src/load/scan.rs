//! The one scanner behind the string mini-languages of ownership.toml (column lines, column
//! lists, foreign keys): which bytes stand outside 'quoted literals' and (parenthesised groups),
//! and where inside a string value a byte sits in the file.
//!
//! Every splitter of those languages (the doc's `--`, the tokens of a column line, the commas of
//! a key list, ` where ` and ` using `) only ever looks at top-level bytes, so they all share
//! [`top_level`] instead of each keeping its own quote and depth counters.

use crate::source::Span;

/// The bytes of `text` outside 'single-quoted literals' and parentheses, with their offsets.
/// Quotes and parentheses themselves are never yielded. A parenthesis inside quotes does not
/// nest, a `)` too many is ignored, and an unclosed quote or parenthesis hides the rest.
pub fn top_level(text: &str) -> impl Iterator<Item = (usize, u8)> + '_ {
    let (mut depth, mut quoted) = (0usize, false);
    text.bytes().enumerate().filter(move |&(_, byte)| match byte {
        b'\'' => {
            quoted = !quoted;
            false
        }
        b'(' if !quoted => {
            depth += 1;
            false
        }
        b')' if !quoted => {
            depth = depth.saturating_sub(1);
            false
        }
        _ => !quoted && depth == 0,
    })
}

/// The offset of `word` starting at a top-level byte.
pub fn find_top_level(text: &str, word: &str) -> Option<usize> {
    top_level(text).map(|(i, _)| i).find(|&i| text.as_bytes()[i..].starts_with(word.as_bytes()))
}

/// Splits `text` at each top-level byte for which `at` holds, and returns each piece with its
/// offset in `text`; the separators belong to no piece. Always at least one (maybe empty) piece.
pub fn split_top_level(text: &str, at: impl Fn(u8) -> bool) -> Vec<(usize, &str)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, byte) in top_level(text) {
        if at(byte) {
            pieces.push((start, &text[start..i]));
            start = i + 1;
        }
    }
    pieces.push((start, &text[start..]));
    pieces
}

/// Maps offsets inside a TOML string's value to spans in the file. When the file holds the value
/// verbatim (no escapes), an offset lands on its character; otherwise every span falls back to
/// the whole string, quotes included, since the offsets no longer line up.
pub struct Inside {
    base: Option<usize>,
    whole: Span,
}

impl Inside {
    /// `value` is the string's value and `span` the string in `file_text`, quotes included.
    pub fn new(file_text: &str, value: &str, span: &Span) -> Self {
        let verbatim = file_text.get(span.start + 1..span.end.saturating_sub(1)) == Some(value);
        Inside { base: verbatim.then_some(span.start + 1), whole: span.clone() }
    }

    /// The file span of `value[start..end]`.
    pub fn at(&self, start: usize, end: usize) -> Span {
        match self.base {
            Some(base) => base + start..base + end,
            None => self.whole.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(text: &str) -> Vec<usize> {
        top_level(text).map(|(i, _)| i).collect()
    }

    #[test]
    fn quotes_and_parentheses_hide_their_content() {
        assert_eq!(offsets("a(b)c"), [0, 4]);
        assert_eq!(offsets("a'(b'c"), [0, 5]);
        assert_eq!(offsets("(a')')b"), [6]);
        assert_eq!(offsets("a)b"), [0, 2]);
        assert_eq!(offsets("a'b c"), [0]);
        assert_eq!(offsets("(a b"), Vec::<usize>::new());
    }

    #[test]
    fn words_are_found_only_at_top_level() {
        assert_eq!(find_top_level("a -- b", "--"), Some(2));
        assert_eq!(find_top_level("'a -- b' -- c", "--"), Some(9));
        assert_eq!(find_top_level("(x where y) where z", " where "), Some(11));
        assert_eq!(find_top_level("lower(é) where z", " where "), Some(9));
        assert_eq!(find_top_level("a b", " where "), None);
    }

    #[test]
    fn splits_keep_offsets() {
        assert_eq!(split_top_level("a, f(b, c), 'd,e'", |b| b == b','), [(0, "a"), (2, " f(b, c)"), (11, " 'd,e'")]);
        assert_eq!(split_top_level("", |b| b == b','), [(0, "")]);
        assert_eq!(split_top_level(" a  b", |b| b.is_ascii_whitespace()), [(0, ""), (1, "a"), (3, ""), (4, "b")]);
    }

    #[test]
    fn spans_inside_a_verbatim_string() {
        let file = "c = \"uuid pk\"";
        let inside = Inside::new(file, "uuid pk", &(4..13));
        assert_eq!(inside.at(5, 7), 10..12);
        let escaped = Inside::new("c = \"a\\tb\"", "a\tb", &(4..10));
        assert_eq!(escaped.at(0, 1), 4..10);
    }
}
