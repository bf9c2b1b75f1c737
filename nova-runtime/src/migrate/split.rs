//! Splitting a `-- no-transaction` migration into its statements.
//!
//! PostgreSQL runs a query string holding several statements as one implicit transaction, so
//! `CREATE INDEX CONCURRENTLY` (and `COMMIT` inside a `DO` block) fail when a whole file is
//! sent at once. A no-transaction file is therefore sent one statement at a time, each in its
//! own transaction. The splitter knows just enough lexical SQL to find the statement-ending
//! semicolons: quoted strings (`'…'`, `E'…'`), quoted identifiers, dollar-quoted bodies
//! (`$$…$$`, `$tag$…$tag$`), line comments and nested block comments.

/// The statements of `sql`, in order, trimmed; fragments holding only comments or whitespace
/// are dropped.
pub fn statements(sql: &str) -> Vec<&str> {
    let bytes = sql.as_bytes();
    let mut found = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        at = match bytes[at] {
            b';' => {
                push_statement(&mut found, &sql[start..at]);
                start = at + 1;
                at + 1
            }
            b'\'' => skip_quoted(bytes, at, b'\'', escapes_backslash(bytes, at)),
            b'"' => skip_quoted(bytes, at, b'"', false),
            b'-' if bytes.get(at + 1) == Some(&b'-') => skip_line(bytes, at),
            b'/' if bytes.get(at + 1) == Some(&b'*') => skip_block_comment(bytes, at),
            b'$' => match dollar_tag(sql, at) {
                Some(tag) => skip_dollar_quoted(sql, at, tag),
                None => at + 1,
            },
            _ => at + 1,
        };
    }
    push_statement(&mut found, &sql[start..]);
    found
}

fn push_statement<'a>(found: &mut Vec<&'a str>, fragment: &'a str) {
    let trimmed = fragment.trim();
    if !only_comments(trimmed) {
        found.push(trimmed);
    }
}

/// Whether a fragment holds nothing but comments and whitespace.
fn only_comments(fragment: &str) -> bool {
    let bytes = fragment.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        at = match bytes[at] {
            b'-' if bytes.get(at + 1) == Some(&b'-') => skip_line(bytes, at),
            b'/' if bytes.get(at + 1) == Some(&b'*') => skip_block_comment(bytes, at),
            byte if byte.is_ascii_whitespace() => at + 1,
            _ => return false,
        };
    }
    true
}

/// `E'…'` strings treat a backslash as an escape; standard strings do not.
fn escapes_backslash(bytes: &[u8], quote: usize) -> bool {
    quote > 0 && matches!(bytes[quote - 1], b'E' | b'e') && (quote < 2 || !(bytes[quote - 2].is_ascii_alphanumeric() || bytes[quote - 2] == b'_'))
}

/// The offset just past a quoted string or identifier starting at `open`; a doubled quote is
/// an escaped quote.
fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut at = open + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if backslash_escapes => at += 2,
            byte if byte == quote => {
                if bytes.get(at + 1) == Some(&quote) {
                    at += 2;
                } else {
                    return at + 1;
                }
            }
            _ => at += 1,
        }
    }
    bytes.len()
}

fn skip_line(bytes: &[u8], start: usize) -> usize {
    bytes[start..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| start + i + 1)
}

/// Block comments nest in PostgreSQL.
fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut at = start;
    while at + 1 < bytes.len() {
        match (bytes[at], bytes[at + 1]) {
            (b'/', b'*') => {
                depth += 1;
                at += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                at += 2;
                if depth == 0 {
                    return at;
                }
            }
            _ => at += 1,
        }
    }
    bytes.len()
}

/// The tag of a dollar quote opening at `start` (`$$` or `$name$`), including both dollars.
/// A `$` that opens none (a positional parameter such as `$1`) gives `None`.
fn dollar_tag(sql: &str, start: usize) -> Option<&str> {
    // Inside an identifier (`a$b`) a dollar is an ordinary character.
    if start > 0 && matches!(sql.as_bytes()[start - 1], b'_' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z') {
        return None;
    }
    let rest = &sql[start + 1..];
    let end = rest.find('$')?;
    let name = &rest[..end];
    let valid = name.chars().enumerate().all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    valid.then(|| &sql[start..start + end + 2])
}

fn skip_dollar_quoted(sql: &str, start: usize, tag: &str) -> usize {
    let body = start + tag.len();
    sql[body..].find(tag).map_or(sql.len(), |i| body + i + tag.len())
}
