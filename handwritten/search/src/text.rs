//! Query text: validation, the normalised form logged and shown by trending searches, the
//! prefix `tsquery` of suggestions, and hashtags found in post text.
//!
//! Text-search configuration: `simple` everywhere (the spec's `search_vector` and every
//! query). Posts and profiles are written in any language and carry no reliable language tag,
//! so words are lowercased but never stemmed nor dropped as stop words: a query matches the
//! words as written, in every language alike. Queries go through `websearch_to_tsquery`,
//! which accepts whatever a user types (quotes for phrases, `-word`, `or`) and never fails
//! on syntax.

use ::nova_runtime::convert::text;
use nova_search::LogicError;

/// Longest query, in characters (documented in the proto).
pub const MAX_QUERY: usize = 256;
/// Longest hashtag query or suggestion prefix, in characters.
pub const MAX_PREFIX: usize = 100;
/// Longest hashtag kept, in characters; longer `#runs` are not tags.
pub const MAX_TAG: usize = 100;
/// Most hashtags one post contributes (the first ones in its text).
pub const MAX_TAGS_PER_POST: usize = 30;

/// A required query of at most `max` characters, trimmed.
pub fn required<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, LogicError> {
    let value = optional(field, value, max)?;
    if value.is_empty() {
        return Err(LogicError::invalid_argument(format!("{field} must not be empty")));
    }
    Ok(value)
}

/// A query that may be empty, of at most `max` characters, trimmed.
pub fn optional<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, LogicError> {
    let value = text(field, value)?.trim();
    let chars = value.chars().count();
    if chars > max {
        return Err(LogicError::invalid_argument(format!("{field} holds {chars} characters; at most {max} are allowed")));
    }
    Ok(value)
}

/// Lowercase, whitespace collapsed to single spaces: the form queries are counted under.
pub fn normalize(query: &str) -> String {
    query.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// A hashtag as stored: lowercase, without leading '#'s.
pub fn tag(value: &str) -> String {
    value.trim().trim_start_matches('#').to_lowercase()
}

/// The `to_tsquery` text matching every word of `prefix`, the last one as a prefix
/// (`'ali' & 'smi':*`); `None` when the prefix holds no word. Words are runs of letters and
/// digits, quoted as lexemes, so no input can form tsquery syntax.
pub fn prefix_tsquery(prefix: &str) -> Option<String> {
    let words: Vec<String> =
        prefix.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| format!("'{}'", w.to_lowercase())).collect();
    let (last, rest) = words.split_last()?;
    let mut query: Vec<String> = rest.to_vec();
    query.push(format!("{last}:*"));
    Some(query.join(" & "))
}

/// The hashtags of a post's text: each `#` at the start of a word followed by letters, digits
/// or `_`, lowercased without the `#`, each once, in order of appearance, at most
/// [`MAX_TAGS_PER_POST`].
pub fn hashtags(body: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = body.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let at_word_start = previous.is_none_or(|p| !(p.is_alphanumeric() || p == '_'));
        previous = Some(c);
        if c != '#' || !at_word_start {
            continue;
        }
        let mut end = start + 1;
        while let Some(&(index, next)) = chars.peek() {
            if !(next.is_alphanumeric() || next == '_') {
                break;
            }
            end = index + next.len_utf8();
            previous = Some(next);
            chars.next();
        }
        let found = body[start + 1..end].to_lowercase();
        if !found.is_empty() && found.chars().count() <= MAX_TAG && !tags.contains(&found) {
            tags.push(found);
            if tags.len() == MAX_TAGS_PER_POST {
                break;
            }
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_words_after_a_hash_lowercased_once_each() {
        assert_eq!(hashtags("Hello #Rust and #rust, #Café_2024! a#b ##x #"), vec!["rust", "café_2024", "x"]);
        assert_eq!(hashtags("#a#b #c"), vec!["a", "c"]);
        assert!(hashtags("no tags here").is_empty());
        let many: String = (0..40).map(|i| format!("#t{i} ")).collect();
        assert_eq!(hashtags(&many).len(), MAX_TAGS_PER_POST);
    }

    #[test]
    fn prefixes_become_quoted_lexemes_with_the_last_as_prefix() {
        assert_eq!(prefix_tsquery("Ali Sm").as_deref(), Some("'ali' & 'sm':*"));
        assert_eq!(prefix_tsquery("o'brien&|!").as_deref(), Some("'o' & 'brien':*"));
        assert_eq!(prefix_tsquery(" !! "), None);
    }

    #[test]
    fn queries_normalise_case_and_spaces() {
        assert_eq!(normalize("  Rust   IS\tfun "), "rust is fun");
        assert_eq!(tag("##Rust "), "rust");
    }
}
