//! Typed, located reads from a parsed TOML document. Every read that finds the wrong shape
//! records a diagnostic and carries on, so one run reports every problem in the file.

use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Diagnostic;
use crate::load::values::{parse_duration, parse_percent};
use crate::source::{Located, SourceFile, Span};

/// The file being read and the problems found so far.
pub struct Reader<'a> {
    pub file: &'a SourceFile,
    pub diagnostics: Vec<Diagnostic>,
}

pub type Entry<'t, 'i> = (&'t Spanned<std::borrow::Cow<'i, str>>, &'t Spanned<DeValue<'i>>);

impl<'a> Reader<'a> {
    pub fn new(file: &'a SourceFile) -> Self {
        Reader { file, diagnostics: Vec::new() }
    }

    pub fn error(&mut self, code: &'static str, span: Span, label: impl Into<String>, message: impl Into<String>, help: impl Into<String>) {
        let diagnostic = Diagnostic::new(code, message).in_file(self.file).label(span, label).help(help);
        self.diagnostics.push(diagnostic);
    }

    /// Reports every key of `table` not in `allowed`, suggesting the closest allowed one.
    pub fn reject_unknown_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], context: &str) {
        for key in table.keys() {
            if allowed.contains(&key.get_ref().as_ref()) {
                continue;
            }
            let name = key.get_ref().to_string();
            let help = match closest(&name, allowed) {
                Some(best) => format!("did you mean `{best}`? The keys allowed here are: {}", allowed.join(", ")),
                None => format!("the keys allowed here are: {}", allowed.join(", ")),
            };
            self.error("spec::unknown-key", key.span(), "unknown key", format!("unknown key `{name}` in {context}"), help);
        }
    }

    pub fn string(&mut self, table: &DeTable<'_>, key: &str) -> Option<Located<String>> {
        let value = entry(table, key)?.1;
        self.as_string(value, key)
    }

    pub fn as_string(&mut self, value: &Spanned<DeValue<'_>>, what: &str) -> Option<Located<String>> {
        match value.get_ref() {
            DeValue::String(s) => Some(Located::new(s.to_string(), value.span())),
            other => {
                self.wrong_type(value.span(), what, "a string", other.type_str());
                None
            }
        }
    }

    pub fn boolean(&mut self, table: &DeTable<'_>, key: &str) -> Option<Located<bool>> {
        let value = entry(table, key)?.1;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(Located::new(*b, value.span())),
            other => {
                self.wrong_type(value.span(), key, "true or false", other.type_str());
                None
            }
        }
    }

    pub fn integer(&mut self, table: &DeTable<'_>, key: &str) -> Option<Located<i64>> {
        let value = entry(table, key)?.1;
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                Ok(n) => Some(Located::new(n, value.span())),
                Err(_) => {
                    self.error("spec::bad-value", value.span(), "out of range", format!("`{key}` is not a 64-bit integer"), "use a smaller number");
                    None
                }
            },
            other => {
                self.wrong_type(value.span(), key, "an integer", other.type_str());
                None
            }
        }
    }

    pub fn float(&mut self, table: &DeTable<'_>, key: &str) -> Option<Located<f64>> {
        let value = entry(table, key)?.1;
        let parsed = match value.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f64>().ok(),
            DeValue::Integer(i) => i.as_str().replace('_', "").parse::<f64>().ok(),
            other => {
                self.wrong_type(value.span(), key, "a number", other.type_str());
                return None;
            }
        };
        match parsed {
            Some(f) if f.is_finite() => Some(Located::new(f, value.span())),
            _ => {
                self.error(
                    "spec::bad-value",
                    value.span(),
                    "not a finite number",
                    format!("`{key}` must be a finite number"),
                    "write a number such as 2.0",
                );
                None
            }
        }
    }

    pub fn duration(&mut self, table: &DeTable<'_>, key: &str) -> Option<Located<Duration>> {
        let text = self.string(table, key)?;
        match parse_duration(&text.value) {
            Ok(d) => Some(Located::new(d, text.span)),
            Err(why) => {
                self.error(
                    "spec::malformed-duration",
                    text.span,
                    why,
                    format!("malformed duration `{}` for `{key}`", text.value),
                    "write a whole number followed by a unit: ms, s, m or h, e.g. \"250ms\", \"2s\" or \"5m\"",
                );
                None
            }
        }
    }

    pub fn percent(&mut self, table: &DeTable<'_>, key: &str) -> Option<Located<f64>> {
        let text = self.string(table, key)?;
        match parse_percent(&text.value) {
            Ok(p) => Some(Located::new(p, text.span)),
            Err(why) => {
                self.error(
                    "spec::malformed-rate",
                    text.span,
                    why,
                    format!("malformed rate `{}` for `{key}`", text.value),
                    "write a percentage above 0 and at most 100, e.g. \"1%\" or \"0.1%\"",
                );
                None
            }
        }
    }

    /// A sub-table; anything else under `key` is reported.
    pub fn table<'t, 'i>(&mut self, table: &'t DeTable<'i>, key: &str) -> Option<(&'t DeTable<'i>, Span)> {
        let value = entry(table, key)?.1;
        self.as_table(value, key)
    }

    pub fn as_table<'t, 'i>(&mut self, value: &'t Spanned<DeValue<'i>>, what: &str) -> Option<(&'t DeTable<'i>, Span)> {
        match value.get_ref() {
            DeValue::Table(t) => Some((t, value.span())),
            other => {
                self.wrong_type(value.span(), what, "a table", other.type_str());
                None
            }
        }
    }

    /// An array of strings.
    pub fn strings(&mut self, table: &DeTable<'_>, key: &str) -> Vec<Located<String>> {
        let Some((_, value)) = entry(table, key) else { return Vec::new() };
        match value.get_ref() {
            DeValue::Array(items) => items.iter().filter_map(|item| self.as_string(item, key)).collect(),
            other => {
                self.wrong_type(value.span(), key, "an array of strings", other.type_str());
                Vec::new()
            }
        }
    }

    fn wrong_type(&mut self, span: Span, what: &str, expected: &str, found: &str) {
        self.error(
            "spec::wrong-type",
            span,
            format!("this is {}", article(found)),
            format!("`{what}` must be {expected}, not {}", article(found)),
            format!("write {expected} here"),
        );
    }
}

pub fn entry<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<Entry<'t, 'i>> {
    table.get_key_value(key)
}

fn article(type_name: &str) -> String {
    let vowel = type_name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {type_name}", if vowel { "an" } else { "a" })
}

/// The allowed name closest to a misspelt one, when it is close enough to be a likely typo.
pub fn closest<'n>(name: &str, candidates: &[&'n str]) -> Option<&'n str> {
    candidates.iter().map(|c| (edit_distance(name, c), *c)).filter(|(d, c)| *d <= (c.len() / 3).max(1)).min().map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_only_near_misses() {
        assert_eq!(closest("dedline", &["deadline", "retry"]), Some("deadline"));
        assert_eq!(closest("colums", &["columns", "doc"]), Some("columns"));
        assert_eq!(closest("banana", &["deadline", "retry"]), None);
    }
}
