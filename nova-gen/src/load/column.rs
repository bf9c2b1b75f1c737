//! The one-line column syntax of ownership.toml:
//! `"<type>[[]][?] [pk] [unique] [index] [version] [counter] [touch] [immutable] [default <value>] [-> <reference> [cascade]]"`.
//!
//! Short enough to scan a table at a glance, and parsed token by token so that each mistake
//! is reported at the exact word.

use crate::ir::{ColumnType, DefaultValue, ScalarType};
use crate::load::toml_read::{Reader, closest};
use crate::raw::{ColumnDecl, RawReference};
use crate::source::{Located, Span};

const MODIFIERS: [&str; 10] = ["pk", "unique", "index", "version", "counter", "touch", "immutable", "default", "->", "cascade"];

/// Parses one column line; `text` is the string's value and `span` the string in the file,
/// quotes included. Returns `None` (with diagnostics recorded) when the line is unusable.
pub fn parse_column(reader: &mut Reader<'_>, text: &str, span: Span) -> Option<ColumnDecl> {
    let base = content_offset(reader, text, &span);
    let at = |start: usize, end: usize| -> Span {
        match base {
            Some(b) => b + start..b + end,
            None => span.clone(),
        }
    };
    let tokens = tokenize(text);
    let Some(first) = tokens.first() else {
        reader.error(
            "spec::empty-column",
            span.clone(),
            "empty",
            "a column needs at least a type",
            "write a type such as \"uuid\", \"text\" or \"timestamptz?\"",
        );
        return None;
    };
    let (ty, nullable) = parse_type(reader, first.text, at(first.start, first.end))?;
    let mut decl = ColumnDecl {
        span: span.clone(),
        ty: Located::new(ty, at(first.start, first.end)),
        nullable,
        primary_key: None,
        unique: None,
        index: None,
        version: None,
        counter: None,
        touch: None,
        immutable: None,
        default: None,
        reference: None,
    };
    let mut rest = tokens[1..].iter().peekable();
    let mut ok = true;
    while let Some(token) = rest.next() {
        let token_span = at(token.start, token.end);
        let flag = match token.text {
            "pk" => Some(&mut decl.primary_key),
            "unique" => Some(&mut decl.unique),
            "index" => Some(&mut decl.index),
            "version" => Some(&mut decl.version),
            "counter" => Some(&mut decl.counter),
            "touch" => Some(&mut decl.touch),
            "immutable" => Some(&mut decl.immutable),
            _ => None,
        };
        if let Some(slot) = flag {
            if slot.is_some() {
                reader.error(
                    "spec::repeated-modifier",
                    token_span,
                    "given again here",
                    format!("`{}` is given twice", token.text),
                    "remove the repeated word",
                );
                ok = false;
            }
            *slot = Some(at(token.start, token.end));
            continue;
        }
        match token.text {
            "default" => match rest.next() {
                Some(value) => {
                    let value_span = at(value.start, value.end);
                    match parse_default(value.text) {
                        Some(v) => decl.default = Some(Located::new(v, value_span)),
                        None => {
                            reader.error(
                                "spec::bad-default",
                                value_span,
                                "not an allowed default",
                                format!("`{}` is not an allowed default", value.text),
                                "use now(), gen_random_uuid(), a number, true, false or a 'quoted' literal",
                            );
                            ok = false;
                        }
                    }
                }
                None => {
                    reader.error(
                        "spec::bad-default",
                        token_span,
                        "no value follows",
                        "`default` needs a value",
                        "write e.g. `default now()` or `default 0`",
                    );
                    ok = false;
                }
            },
            "cascade" => {
                reader.error(
                    "spec::misplaced-cascade",
                    token_span,
                    "not after a reference",
                    "`cascade` must directly follow a reference",
                    "write `-> table.column cascade`",
                );
                ok = false;
            }
            word if word.starts_with("->") => {
                let target = if word == "->" { rest.next().map(|t| (t.text, t.start)) } else { Some((&word[2..], token.start + 2)) };
                let Some((target, target_start)) = target else {
                    reader.error(
                        "spec::bad-reference",
                        token_span,
                        "nothing follows",
                        "`->` needs a target",
                        "write `-> table.column` or `-> service.table.column`",
                    );
                    ok = false;
                    continue;
                };
                let Some(mut reference) = parse_reference(reader, target, target_start, &at) else {
                    ok = false;
                    continue;
                };
                let mut end = target_start + target.len();
                if let Some(cascade) = rest.next_if(|t| t.text == "cascade") {
                    reference.cascade = Some(at(cascade.start, cascade.end));
                    end = cascade.end;
                }
                reference.span = at(token.start, end);
                decl.reference = Some(reference);
            }
            other => {
                let help = match closest(other, &MODIFIERS) {
                    Some(best) => format!("did you mean `{best}`? After the type come: pk, unique, index, version, counter, touch, immutable, default <value>, -> <reference>"),
                    None => "after the type come: pk, unique, index, version, counter, touch, immutable, default <value>, -> <reference>".to_string(),
                };
                reader.error("spec::unknown-modifier", token_span, "not understood", format!("unknown word `{other}` in column declaration"), help);
                // What follows a misread word would only produce echoes of this error.
                return None;
            }
        }
    }
    ok.then_some(decl)
}

/// Where the string's characters start in the file, when the file text is the value verbatim
/// (no escapes); otherwise labels fall back to the whole string.
fn content_offset(reader: &Reader<'_>, text: &str, span: &Span) -> Option<usize> {
    let raw = reader.file.text.get(span.clone())?;
    let inner = raw.get(1..raw.len().checked_sub(1)?)?;
    (inner == text).then_some(span.start + 1)
}

struct Token<'t> {
    text: &'t str,
    start: usize,
    end: usize,
}

/// Splits on whitespace, keeping a 'single-quoted literal' (which may hold spaces) whole.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if bytes[i] == b'\'' {
            i += 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        tokens.push(Token { text: &text[start..i], start, end: i });
    }
    tokens
}

fn parse_type(reader: &mut Reader<'_>, word: &str, span: Span) -> Option<(ColumnType, bool)> {
    let (word, nullable) = match word.strip_suffix('?') {
        Some(w) => (w, true),
        None => (word, false),
    };
    let (name, array) = match word.strip_suffix("[]") {
        Some(w) => (w, true),
        None => (word, false),
    };
    let names: Vec<&str> = ScalarType::ALL.iter().map(|(n, _)| *n).collect();
    let Some(scalar) = ScalarType::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t) else {
        let help = match closest(name, &names) {
            Some(best) => format!("did you mean `{best}`? Types: {}; add [] for an array, ? for nullable", names.join(" ")),
            None => format!("types: {}; add [] for an array, ? for nullable", names.join(" ")),
        };
        reader.error("spec::unknown-type", span, "unknown type", format!("unknown column type `{name}`"), help);
        return None;
    };
    if array && !scalar.allows_array() {
        reader.error(
            "spec::unknown-type",
            span,
            "no arrays of this type",
            format!("arrays of `{name}` are not supported"),
            "arrays are supported for uuid, text and bigint",
        );
        return None;
    }
    Some((if array { ColumnType::Array(scalar) } else { ColumnType::Scalar(scalar) }, nullable))
}

fn parse_default(word: &str) -> Option<DefaultValue> {
    match word {
        "now()" => return Some(DefaultValue::Now),
        "gen_random_uuid()" => return Some(DefaultValue::RandomUuid),
        "true" => return Some(DefaultValue::Bool(true)),
        "false" => return Some(DefaultValue::Bool(false)),
        _ => {}
    }
    if let Some(inner) = word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) {
        if word.len() >= 2 && !inner.replace("''", "").contains('\'') {
            return Some(DefaultValue::Literal(inner.replace("''", "'")));
        }
        return None;
    }
    let digits = word.strip_prefix('-').unwrap_or(word);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    let is_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (is_digits(whole) && fraction.is_none_or(is_digits)).then(|| DefaultValue::Number(word.to_string()))
}

fn parse_reference(reader: &mut Reader<'_>, target: &str, start: usize, at: &dyn Fn(usize, usize) -> Span) -> Option<RawReference> {
    let mut segments = Vec::new();
    let mut offset = start;
    for part in target.split('.') {
        segments.push(Located::new(part.to_string(), at(offset, offset + part.len())));
        offset += part.len() + 1;
    }
    let span = at(start, start + target.len());
    let well_formed = (2..=3).contains(&segments.len()) && segments.iter().all(|s| is_identifier(&s.value));
    if !well_formed {
        reader.error(
            "spec::bad-reference",
            span,
            "not a reference",
            format!("`{target}` is not a column reference"),
            "write `table.column` for a table of this service or `service.table.column` for another service's",
        );
        return None;
    }
    Some(RawReference { span: at(start, start + target.len()), segments, cascade: None })
}

/// Lower-case SQL/Rust-friendly identifier: `[a-z][a-z0-9_]*`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn parse(line: &str) -> (Option<ColumnDecl>, Vec<String>) {
        let text = format!("c = \"{line}\"\n");
        let file = SourceFile::new("t.toml", text.clone());
        let mut reader = Reader::new(&file);
        let span = 4..4 + line.len() + 2;
        let decl = parse_column(&mut reader, line, span);
        let errors = reader.diagnostics.iter().map(|d| format!("{}@{}", d.code, file.location(d.labels[0].span.start))).collect();
        (decl, errors)
    }

    #[test]
    fn full_line() {
        let (decl, errors) = parse("uuid? unique default gen_random_uuid() -> auth.users.id");
        assert!(errors.is_empty(), "{errors:?}");
        let decl = decl.unwrap();
        assert_eq!(decl.ty.value, ColumnType::Scalar(ScalarType::Uuid));
        assert!(decl.nullable && decl.unique.is_some() && decl.primary_key.is_none());
        assert_eq!(decl.default.unwrap().value, DefaultValue::RandomUuid);
        let reference = decl.reference.unwrap();
        assert_eq!(reference.segments.iter().map(|s| s.value.as_str()).collect::<Vec<_>>(), ["auth", "users", "id"]);
    }

    #[test]
    fn cascade_and_arrays_and_literals() {
        let (decl, errors) = parse("text[] default '{}' ->posts.id cascade");
        assert!(errors.is_empty(), "{errors:?}");
        let decl = decl.unwrap();
        assert_eq!(decl.ty.value, ColumnType::Array(ScalarType::Text));
        assert_eq!(decl.default.unwrap().value, DefaultValue::Literal("{}".into()));
        assert!(decl.reference.unwrap().cascade.is_some());
        let (decl, _) = parse("text default 'it''s fine'");
        assert_eq!(decl.unwrap().default.unwrap().value, DefaultValue::Literal("it's fine".into()));
    }

    #[test]
    fn errors_point_at_the_word() {
        assert_eq!(parse("uuuid pk").1, ["spec::unknown-type@t.toml:1:6"]);
        assert_eq!(parse("uuid pk uniqe").1, ["spec::unknown-modifier@t.toml:1:14"]);
        assert_eq!(parse("bool default maybe").1, ["spec::bad-default@t.toml:1:19"]);
        assert_eq!(parse("uuid -> users").1, ["spec::bad-reference@t.toml:1:14"]);
        assert_eq!(parse("uuid pk pk").1, ["spec::repeated-modifier@t.toml:1:14"]);
        assert_eq!(parse("uuid cascade").1, ["spec::misplaced-cascade@t.toml:1:11"]);
    }
}
