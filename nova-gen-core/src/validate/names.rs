//! Naming rules shared by services, tables and columns: names become SQL identifiers, Rust
//! identifiers and crate names, so they must be safe in all three.

use crate::load::column::is_identifier;

/// Words PostgreSQL reserves (it rejects them as unquoted table or column names) and Rust
/// keywords that cannot be raw identifiers.
const RESERVED: [&str; 40] = [
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "default",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "limit",
    "not",
    "null",
    "order",
    "primary",
    "select",
    "table",
    "user",
    "where",
];

/// Why `name` cannot name a service (a crate and database suffix), if it cannot.
pub fn service_name_problem(name: &str) -> Option<&'static str> {
    if !is_identifier(name) {
        return Some("names are lower_snake_case: a lower-case letter, then letters, digits or _");
    }
    // generated/ops holds the ops artifacts and generated/services the registry of services.
    if matches!(name, "ops" | "services") {
        return Some("this name is taken by a generated directory (generated/ops, generated/services)");
    }
    // A caller's generated `Dependencies` has a field per callee next to these.
    if matches!(name, "db" | "invalidator" | "users") {
        return Some("this name is taken by a field of the generated `Dependencies` (db, invalidator, users)");
    }
    None
}

/// Why `name` cannot name a table or a column, if it cannot.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if !is_identifier(name) {
        return Some("names are lower_snake_case: a lower-case letter, then letters, digits or _");
    }
    if name.len() > 63 {
        return Some("PostgreSQL truncates identifiers longer than 63 bytes");
    }
    if RESERVED.contains(&name) || matches!(name, "self" | "super" | "crate" | "_") {
        return Some("this word is reserved in SQL or Rust");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{name_problem, service_name_problem};

    #[test]
    fn names() {
        assert_eq!(name_problem("created_at"), None);
        assert!(name_problem("CreatedAt").is_some());
        assert!(name_problem("order").is_some());
        assert!(name_problem("2fa").is_some());
        assert!(name_problem(&"a".repeat(64)).is_some());
        assert_eq!(service_name_problem("user"), None);
        assert!(name_problem("user").is_some());
        assert!(service_name_problem("services").is_some(), "generated/services is the registry");
    }
}
