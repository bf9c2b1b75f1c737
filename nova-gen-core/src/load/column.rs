//! The one-line column syntax of ownership.toml:
//! `"<type>[[]][?] [pk] [unique] [index] [version] [counter] [touch] [immutable] [identity] [default <value>]
//! [generated (<expr>)] [-> <reference> [cascade | set null | restrict]] [-- <doc>]"`, where `<type>` may be
//! `enum(a, b)`, `enum(a = 1, b = 2)`, `varchar(n)` or `numeric(p, s)`.
//!
//! Short enough to scan a table at a glance, and parsed token by token so that each mistake
//! is reported at the exact word. Parenthesised groups and 'quoted literals' are one token.

use std::iter::Peekable;

use crate::ir::{ColumnType, DefaultValue, OnDelete, ScalarType};
use crate::load::scan::{self, Inside};
use crate::load::toml_read::{Reader, closest};
use crate::raw::{ColumnDecl, RawEnumValue, RawReference};
use crate::source::{Located, Span};

const MODIFIERS: [&str; 15] = [
    "pk",
    "unique",
    "index",
    "version",
    "counter",
    "touch",
    "immutable",
    "identity",
    "default",
    "generated",
    "->",
    "cascade",
    "set",
    "restrict",
    "--",
];
const AFTER_TYPE: &str = "after the type come: pk, unique, index, version, counter, touch, immutable, identity, default <value>, generated (<expr>), -> <reference> [cascade | set null | restrict], -- <doc>";

/// Parses one column line; `text` is the string's value and `span` the string in the file,
/// quotes included. Returns `None` (with diagnostics recorded) when the line is unusable.
///
/// Three steps: split off the `-- doc`, read the type (the first token), then the modifiers.
pub fn parse_column(reader: &mut Reader<'_>, text: &str, span: Span) -> Option<ColumnDecl> {
    let inside = Inside::new(&reader.file.text, text, &span);
    let (code, doc) = split_doc(text);
    let tokens = tokenize(code);
    let Some((first, modifiers)) = tokens.split_first() else {
        reader.error(
            "spec::empty-column",
            span.clone(),
            "empty",
            "a column needs at least a type",
            "write a type such as \"uuid\", \"text\" or \"timestamptz?\"",
        );
        return None;
    };
    let (ty, nullable, enumeration) = parse_type(reader, first.text, first.start, &inside)?;
    let mut decl = ColumnDecl {
        span: span.clone(),
        ty: Located::new(ty, inside.at(first.start, first.end)),
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
        identity: None,
        generated: None,
        doc: doc.map(|(start, d)| Located::new(d.to_string(), inside.at(start, text.len()))),
        enumeration,
    };
    read_modifiers(reader, modifiers, &mut decl, &inside).then_some(decl)
}

/// A modifier that could not be read, its error recorded. `Skip` reads on, so that one run
/// reports every independent mistake of the line; `Stop` ends the line, because what follows
/// (after a misread word, or a broken `set null`) would only produce echoes of this error.
enum Miss {
    Skip,
    Stop,
}

/// The tokens after the type; a modifier with an argument (`default 0`) takes the next ones.
type Rest<'a, 't> = Peekable<std::slice::Iter<'a, Token<'t>>>;

/// Reads every modifier into `decl`; false when any of them was wrong (the line is then unusable,
/// but its later mistakes are still reported, unless one of them is a [`Miss::Stop`]).
fn read_modifiers(reader: &mut Reader<'_>, modifiers: &[Token<'_>], decl: &mut ColumnDecl, inside: &Inside) -> bool {
    let mut rest = modifiers.iter().peekable();
    let mut ok = true;
    while let Some(token) = rest.next() {
        match read_modifier(reader, token, &mut rest, decl, inside) {
            Ok(()) => {}
            Err(Miss::Skip) => ok = false,
            Err(Miss::Stop) => return false,
        }
    }
    ok
}

fn read_modifier(reader: &mut Reader<'_>, token: &Token<'_>, rest: &mut Rest<'_, '_>, decl: &mut ColumnDecl, inside: &Inside) -> Result<(), Miss> {
    let token_span = inside.at(token.start, token.end);
    if let Some(slot) = flag_slot(decl, token.text) {
        let repeated = slot.is_some();
        *slot = Some(token_span.clone());
        if repeated {
            reader.error(
                "spec::repeated-modifier",
                token_span,
                "given again here",
                format!("`{}` is given twice", token.text),
                "remove the repeated word",
            );
            return Err(Miss::Skip);
        }
        return Ok(());
    }
    match token.text {
        "default" => decl.default = Some(read_default(reader, token_span, rest, inside)?),
        "generated" => decl.generated = Some(read_generated(reader, token_span, rest, inside)?),
        "cascade" | "set" | "restrict" => {
            reader.error(
                "spec::misplaced-on-delete",
                token_span,
                "not after a reference",
                format!("`{}` must directly follow a reference", token.text),
                "write `-> table.column cascade`, `-> table.column set null` or `-> table.column restrict`",
            );
            return Err(Miss::Skip);
        }
        word if word.starts_with("->") => decl.reference = Some(read_reference(reader, token, rest, inside)?),
        other => {
            let help = match closest(other, &MODIFIERS) {
                Some(best) => format!("did you mean `{best}`? {}{}", AFTER_TYPE[..1].to_uppercase(), &AFTER_TYPE[1..]),
                None => AFTER_TYPE.to_string(),
            };
            reader.error("spec::unknown-modifier", token_span, "not understood", format!("unknown word `{other}` in column declaration"), help);
            return Err(Miss::Stop);
        }
    }
    Ok(())
}

/// The field of a modifier that is a bare word (`pk`, `unique`, ...), holding where it was given.
fn flag_slot<'d>(decl: &'d mut ColumnDecl, word: &str) -> Option<&'d mut Option<Span>> {
    match word {
        "pk" => Some(&mut decl.primary_key),
        "unique" => Some(&mut decl.unique),
        "index" => Some(&mut decl.index),
        "version" => Some(&mut decl.version),
        "identity" => Some(&mut decl.identity),
        "counter" => Some(&mut decl.counter),
        "touch" => Some(&mut decl.touch),
        "immutable" => Some(&mut decl.immutable),
        _ => None,
    }
}

/// `default <value>`; `token_span` is the word `default`.
fn read_default(reader: &mut Reader<'_>, token_span: Span, rest: &mut Rest<'_, '_>, inside: &Inside) -> Result<Located<DefaultValue>, Miss> {
    let Some(value) = rest.next() else {
        reader.error("spec::bad-default", token_span, "no value follows", "`default` needs a value", "write e.g. `default now()` or `default 0`");
        return Err(Miss::Skip);
    };
    let value_span = inside.at(value.start, value.end);
    match parse_default(value.text) {
        Some(v) => Ok(Located::new(v, value_span)),
        None => {
            reader.error(
                "spec::bad-default",
                value_span,
                "not an allowed default",
                format!("`{}` is not an allowed default", value.text),
                "use now(), gen_random_uuid(), a number, true, false, a 'quoted' literal, an enum value or an (expression) in parentheses",
            );
            Err(Miss::Skip)
        }
    }
}

/// `generated (<expr>)`; `token_span` is the word `generated`.
fn read_generated(reader: &mut Reader<'_>, token_span: Span, rest: &mut Rest<'_, '_>, inside: &Inside) -> Result<Located<String>, Miss> {
    match rest.next().and_then(|t| parenthesised(t.text).map(|inner| (t, inner))) {
        Some((value, inner)) if !inner.trim().is_empty() => Ok(Located::new(inner.trim().to_string(), inside.at(value.start, value.end))),
        _ => {
            reader.error(
                "spec::bad-generated",
                token_span,
                "no (expression) follows",
                "`generated` needs an expression in parentheses",
                "write e.g. `tsvector generated (to_tsvector('simple', title))`",
            );
            Err(Miss::Skip)
        }
    }
}

/// `-> <target> [cascade | set null | restrict]`, where the target may be glued to the arrow
/// (`->posts.id`); `token` is the arrow's token.
fn read_reference(reader: &mut Reader<'_>, token: &Token<'_>, rest: &mut Rest<'_, '_>, inside: &Inside) -> Result<RawReference, Miss> {
    let target = if token.text == "->" { rest.next().map(|t| (t.text, t.start)) } else { Some((&token.text[2..], token.start + 2)) };
    let Some((target, target_start)) = target else {
        reader.error(
            "spec::bad-reference",
            inside.at(token.start, token.end),
            "nothing follows",
            "`->` needs a target",
            "write `-> table.column` or `-> service.table.column`",
        );
        return Err(Miss::Skip);
    };
    let mut reference = parse_reference(reader, target, target_start, inside).ok_or(Miss::Skip)?;
    let mut end = target_start + target.len();
    if let Some((action, action_end)) = read_on_delete(reader, rest, inside)? {
        reference.on_delete = Some(action);
        end = action_end;
    }
    reference.span = inside.at(token.start, end);
    Ok(reference)
}

/// The optional action after a reference's target, with the offset where it ends.
fn read_on_delete(reader: &mut Reader<'_>, rest: &mut Rest<'_, '_>, inside: &Inside) -> Result<Option<(Located<OnDelete>, usize)>, Miss> {
    if let Some(action) = rest.next_if(|t| matches!(t.text, "cascade" | "restrict")) {
        let value = if action.text == "cascade" { OnDelete::Cascade } else { OnDelete::Restrict };
        return Ok(Some((Located::new(value, inside.at(action.start, action.end)), action.end)));
    }
    let Some(set) = rest.next_if(|t| t.text == "set") else { return Ok(None) };
    match rest.next_if(|t| t.text == "null") {
        Some(null) => Ok(Some((Located::new(OnDelete::SetNull, inside.at(set.start, null.end)), null.end))),
        None => {
            reader.error(
                "spec::bad-reference",
                inside.at(set.start, set.end),
                "`null` must follow",
                "`set` after a reference must be `set null`",
                "write `-> table.column set null` to clear the reference when the row it points to is deleted",
            );
            Err(Miss::Stop)
        }
    }
}

/// `code -- doc`: the doc starts at the first `--` outside quotes and parentheses. Returns
/// the code and, when there is one, the doc's start offset and trimmed text.
fn split_doc(text: &str) -> (&str, Option<(usize, &str)>) {
    match scan::find_top_level(text, "--") {
        Some(i) => {
            let doc = text[i + 2..].trim();
            (&text[..i], (!doc.is_empty()).then_some((i, doc)))
        }
        None => (text, None),
    }
}

/// The inside of `(...)`, when the token is one parenthesised group.
fn parenthesised(token: &str) -> Option<&str> {
    token.strip_prefix('(')?.strip_suffix(')')
}

struct Token<'t> {
    text: &'t str,
    start: usize,
    end: usize,
}

/// Splits on whitespace, keeping a 'single-quoted literal' (which may hold spaces) and a
/// parenthesised group such as `enum(a, b)` or `(now() + interval '1 day')` whole.
fn tokenize(text: &str) -> Vec<Token<'_>> {
    let pieces = scan::split_top_level(text, |b| b.is_ascii_whitespace());
    pieces.into_iter().filter(|(_, piece)| !piece.is_empty()).map(|(start, text)| Token { text, start, end: start + text.len() }).collect()
}

type ParsedType = (ColumnType, bool, Option<Located<Vec<RawEnumValue>>>);

fn parse_type(reader: &mut Reader<'_>, word: &str, start: usize, inside: &Inside) -> Option<ParsedType> {
    let span = inside.at(start, start + word.len());
    let (word, nullable) = match word.strip_suffix('?') {
        Some(w) => (w, true),
        None => (word, false),
    };
    let (name, array) = match word.strip_suffix("[]") {
        Some(w) => (w, true),
        None => (word, false),
    };
    if let Some(inner) = name.strip_prefix("enum(").and_then(|r| r.strip_suffix(')')) {
        if array {
            reader.error(
                "spec::unknown-type",
                span,
                "no arrays of enums",
                "arrays of enums are not supported",
                "use a separate table with one row per value",
            );
            return None;
        }
        let values = parse_enum(reader, inner, start + 5, inside)?;
        let storage = if values.iter().any(|v| v.number.is_some()) { ScalarType::SmallInt } else { ScalarType::Text };
        return Some((ColumnType::Scalar(storage), nullable, Some(Located::new(values, span))));
    }
    if let Some(length) = name.strip_prefix("varchar(").and_then(|r| r.strip_suffix(')')) {
        let Some(n) = length.trim().parse::<u32>().ok().filter(|n| (1..=10_485_760).contains(n)) else {
            reader.error(
                "spec::unknown-type",
                span,
                "not a length",
                format!("`{name}` needs a length between 1 and 10485760"),
                "write e.g. varchar(32); use text for unbounded strings",
            );
            return None;
        };
        let scalar = ScalarType::Varchar(n);
        return Some((if array { ColumnType::Array(scalar) } else { ColumnType::Scalar(scalar) }, nullable, None));
    }
    if let Some(arguments) = name.strip_prefix("numeric(").and_then(|r| r.strip_suffix(')')) {
        let (precision, scale) = match arguments.split_once(',') {
            Some((p, s)) => (p.trim().parse::<u16>().ok(), s.trim().parse::<u16>().ok()),
            None => (arguments.trim().parse::<u16>().ok(), Some(0)),
        };
        let Some((p, s)) = precision.zip(scale).filter(|(p, s)| (1..=1000).contains(p) && s <= p) else {
            reader.error(
                "spec::unknown-type",
                span,
                "not a precision and scale",
                format!("`{name}` needs a precision from 1 to 1000 and a scale from 0 to the precision"),
                "write e.g. numeric(12, 2) for amounts with two decimals",
            );
            return None;
        };
        let scalar = ScalarType::Numeric(p, s);
        return Some((if array { ColumnType::Array(scalar) } else { ColumnType::Scalar(scalar) }, nullable, None));
    }
    let mut names: Vec<&str> = ScalarType::ALL.iter().map(|(n, _)| *n).collect();
    names.extend(["varchar(n)", "numeric(p, s)", "enum(a, b)"]);
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
            "arrays are supported for every type but jsonb (a JSON array is a jsonb value), tsvector and citext (use text[] and compare lower(...))",
        );
        return None;
    }
    Some((if array { ColumnType::Array(scalar) } else { ColumnType::Scalar(scalar) }, nullable, None))
}

/// `a, b` or `a = 1, b = 2`: names, all with a number or none.
fn parse_enum(reader: &mut Reader<'_>, inner: &str, start: usize, inside: &Inside) -> Option<Vec<RawEnumValue>> {
    let mut values: Vec<RawEnumValue> = Vec::new();
    let mut offset = start;
    let mut ok = true;
    for part in inner.split(',') {
        let leading = part.len() - part.trim_start().len();
        let item_span = inside.at(offset + leading, offset + leading + part.trim().len());
        offset += part.len() + 1;
        let (name, number) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (part.trim(), None),
        };
        let number = match number.map(|v| v.parse::<i16>()) {
            Some(Ok(n)) => Some(i64::from(n)),
            Some(Err(_)) => {
                reader.error(
                    "spec::bad-enum",
                    item_span,
                    "not a smallint",
                    format!("`{}` is not a number for `{name}`", part.trim()),
                    "enum numbers are smallints, e.g. enum(active = 1, locked = 2)",
                );
                ok = false;
                continue;
            }
            None => None,
        };
        if !is_identifier(name) {
            reader.error(
                "spec::bad-enum",
                item_span,
                "not a value name",
                format!("`{}` is not an enum value", part.trim()),
                "enum values are lower_snake_case names, e.g. enum(active, suspended, deleted)",
            );
            ok = false;
            continue;
        }
        if values.iter().any(|v| v.name.value == name) {
            reader.error("spec::bad-enum", item_span, "listed twice", format!("enum value `{name}` is listed twice"), "list each value once");
            ok = false;
            continue;
        }
        if number.is_some() && values.iter().any(|v| v.number == number) {
            reader.error(
                "spec::bad-enum",
                item_span,
                "number used twice",
                format!("enum number of `{name}` is used twice"),
                "give each value its own number",
            );
            ok = false;
            continue;
        }
        values.push(RawEnumValue { name: Located::new(name.to_string(), item_span), number });
    }
    if ok && values.is_empty() {
        reader.error(
            "spec::bad-enum",
            inside.at(start, start + inner.len()),
            "no values",
            "an enum needs values",
            "write e.g. enum(active, suspended, deleted)",
        );
        return None;
    }
    let numbered = values.iter().filter(|v| v.number.is_some()).count();
    if ok && numbered != 0 && numbered != values.len() {
        reader.error(
            "spec::bad-enum",
            inside.at(start, start + inner.len()),
            "some values numbered, some not",
            "either every enum value has a number or none has",
            "numbers store the enum as smallint (e.g. a legacy status column); names alone store it as text",
        );
        return None;
    }
    ok.then_some(values)
}

fn parse_default(word: &str) -> Option<DefaultValue> {
    if let Some(expression) = parenthesised(word) {
        return (!expression.trim().is_empty()).then(|| DefaultValue::Expression(expression.trim().to_string()));
    }
    if is_identifier(word) && !matches!(word, "true" | "false") {
        return Some(DefaultValue::Variant(word.to_string()));
    }
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

fn parse_reference(reader: &mut Reader<'_>, target: &str, start: usize, inside: &Inside) -> Option<RawReference> {
    let mut segments = Vec::new();
    let mut offset = start;
    for part in target.split('.') {
        segments.push(Located::new(part.to_string(), inside.at(offset, offset + part.len())));
        offset += part.len() + 1;
    }
    let span = inside.at(start, start + target.len());
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
    Some(RawReference { span: inside.at(start, start + target.len()), segments, on_delete: None })
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
        assert_eq!(decl.reference.unwrap().on_delete.map(|a| a.value), Some(OnDelete::Cascade));
        let (decl, _) = parse("text default 'it''s fine'");
        assert_eq!(decl.unwrap().default.unwrap().value, DefaultValue::Literal("it's fine".into()));
    }

    #[test]
    fn errors_point_at_the_word() {
        assert_eq!(parse("uuuid pk").1, ["spec::unknown-type@t.toml:1:6"]);
        assert_eq!(parse("uuid pk uniqe").1, ["spec::unknown-modifier@t.toml:1:14"]);
        assert_eq!(parse("bool default 'maybe").1, ["spec::bad-default@t.toml:1:19"]);
        assert_eq!(parse("uuid -> users").1, ["spec::bad-reference@t.toml:1:14"]);
        assert_eq!(parse("uuid pk pk").1, ["spec::repeated-modifier@t.toml:1:14"]);
        assert_eq!(parse("uuid cascade").1, ["spec::misplaced-on-delete@t.toml:1:11"]);
        assert_eq!(parse("enum(a, a)").1, ["spec::bad-enum@t.toml:1:14"]);
        assert_eq!(parse("enum(a = 1, b)").1, ["spec::bad-enum@t.toml:1:11"]);
        assert_eq!(parse("varchar(x)").1, ["spec::unknown-type@t.toml:1:6"]);
        assert_eq!(parse("uuid -> t.c set nul").1, ["spec::bad-reference@t.toml:1:18"]);
        assert_eq!(parse("tsvector generated to_tsvector").1, ["spec::bad-generated@t.toml:1:15"]);
    }

    #[test]
    fn the_richer_language() {
        let (decl, errors) = parse("enum(active = 1, locked = 2)? default active -- what the account may do");
        assert!(errors.is_empty(), "{errors:?}");
        let decl = decl.unwrap();
        assert_eq!(decl.ty.value, ColumnType::Scalar(ScalarType::SmallInt));
        assert!(decl.nullable);
        let values = decl.enumeration.unwrap().value;
        assert_eq!(values.iter().map(|v| (v.name.value.as_str(), v.number)).collect::<Vec<_>>(), [("active", Some(1)), ("locked", Some(2))]);
        assert_eq!(decl.default.unwrap().value, DefaultValue::Variant("active".into()));
        assert_eq!(decl.doc.unwrap().value, "what the account may do");
        let (decl, errors) = parse("timestamptz default (now() + interval '24 hours') -> t.c set null");
        assert!(errors.is_empty(), "{errors:?}");
        let decl = decl.unwrap();
        assert_eq!(decl.default.unwrap().value, DefaultValue::Expression("now() + interval '24 hours'".into()));
        assert_eq!(decl.reference.unwrap().on_delete.map(|a| a.value), Some(OnDelete::SetNull));
        let (decl, _) = parse("tsvector generated (to_tsvector('simple', a || ' ' || b))");
        assert_eq!(decl.unwrap().generated.unwrap().value, "to_tsvector('simple', a || ' ' || b)");
        let (decl, _) = parse("varchar(32)[] -- a -- b");
        let decl = decl.unwrap();
        assert_eq!(decl.ty.value, ColumnType::Array(ScalarType::Varchar(32)));
        assert_eq!(decl.doc.unwrap().value, "a -- b");
        let (decl, _) = parse("bigint pk identity");
        assert!(decl.unwrap().identity.is_some());
    }
}
