//! Source files and byte spans: every spec value the generator reads keeps where it came
//! from, so any rule can point at the exact text that breaks it.

use std::ops::Range;
use std::sync::Arc;

/// A spec file as read from disk, named by its path relative to the repository root so that
/// messages and snapshots never contain machine-specific absolute paths.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: Arc<str>,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        SourceFile { name: name.into(), text: text.into() }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// `file:line:column` of a byte offset, the form editors and terminals make clickable.
    pub fn location(&self, offset: usize) -> String {
        let (line, column) = self.line_col(offset);
        format!("{}:{line}:{column}", self.name)
    }

    /// Byte offset of a 0-based line and column (in characters), as protobuf source info gives them.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut start = 0;
        for _ in 0..line {
            match self.text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return self.text.len(),
            }
        }
        let rest = &self.text[start..];
        start + rest.char_indices().nth(column).map_or(rest.len(), |(i, _)| i)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A byte range in one [`SourceFile`].
pub type Span = Range<usize>;

/// A value and the span of the text it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Located<T> {
    pub fn new(value: T, span: Span) -> Self {
        Located { value, span }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Located<U> {
        Located { value: f(self.value), span: self.span }
    }
}

impl<T> std::ops::Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_characters() {
        let file = SourceFile::new("a.toml", "ab\nçd = 1\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        // 'ç' is two bytes but one column.
        assert_eq!(file.line_col(5), (2, 2));
        assert_eq!(file.location(6), "a.toml:2:3");
    }

    #[test]
    fn offset_of_inverts_line_col() {
        let file = SourceFile::new("a.proto", "one\n  two\nthree");
        let offset = file.offset_of(1, 2);
        assert_eq!(&file.text[offset..offset + 3], "two");
        assert_eq!(file.line_col(offset), (2, 3));
        assert_eq!(file.offset_of(9, 0), file.text.len());
    }
}
