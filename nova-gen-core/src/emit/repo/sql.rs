//! The SQL text of generated repositories. Plain string building, kept apart from the Rust
//! emitter so the statements can be read and tested on their own.
//!
//! Every statement is fixed text (no SQL is assembled at run time), so each one is listed in
//! the repository's `STATEMENTS` and prepared against the migrated schema by a test.

use crate::ir::{Column, ColumnType, DefaultValue, ScalarType, Table};

/// `a, b, c`: every column, in declaration order (the order `Row::decode` reads).
pub fn column_list(table: &Table) -> String {
    table.columns.iter().filter(|c| c.is_read()).map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// ` WHERE <conditions>`, with the soft-delete condition when the table has one: reads and
/// writes see live rows only.
pub fn live(table: &Table, conditions: Vec<String>) -> String {
    let all: Vec<String> = conditions.into_iter().filter(|c| !c.is_empty()).chain(table.live_condition()).collect();
    if all.is_empty() { String::new() } else { format!(" WHERE {}", all.join(" AND ")) }
}

/// `$n`, cast to `citext` when compared with a citext column. sqlx declares a `&str`
/// parameter as `text`, and `citext = text` resolves to text equality (citext casts to text
/// implicitly): without the cast a lookup would compare case-sensitively.
pub fn param(table: &Table, column: &str, n: usize) -> String {
    let citext = table.columns.iter().any(|c| c.name == column && matches!(c.ty, ColumnType::Scalar(ScalarType::Citext)));
    if citext { format!("${n}::citext") } else { format!("${n}") }
}

/// `a = $1 AND b = $2`, numbering from `first`.
pub fn equalities(table: &Table, columns: &[&str], first: usize) -> String {
    columns.iter().enumerate().map(|(i, c)| format!("{c} = {}", param(table, c, first + i))).collect::<Vec<_>>().join(" AND ")
}

/// Columns an insert takes from the caller (version counters always start at their default).
pub fn insert_columns(table: &Table) -> Vec<&Column> {
    table.columns.iter().filter(|c| c.is_written() && table.version_column.as_deref() != Some(c.name.as_str())).collect()
}

/// `INSERT ... VALUES (COALESCE($1, default), $2, ...) RETURNING ...`: a missing value for a
/// column with a default takes the default. A quoted default is cast to the column's type, so
/// the statement means the same whether or not the parameter types are given with it. A
/// nullable column with a default can also be given NULL: it takes a flag parameter after the
/// values (`CASE WHEN $flag THEN default ELSE $n END`), in the order of [`defaulted_nullable`].
pub fn insert(table: &Table) -> String {
    let columns = insert_columns(table);
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let mut flag = columns.len();
    let values: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| match &c.default {
            Some(default) if c.nullable => {
                flag += 1;
                let value = match default {
                    DefaultValue::Literal(_) => format!("{}::{}", crate::emit::migration::default_sql(default), crate::lower::sql_type(c.ty)),
                    _ => crate::emit::migration::default_sql(default),
                };
                format!("CASE WHEN ${flag} THEN {value} ELSE ${} END", i + 1)
            }
            Some(default @ DefaultValue::Literal(_)) => {
                format!("COALESCE(${}, {}::{})", i + 1, crate::emit::migration::default_sql(default), crate::lower::sql_type(c.ty))
            }
            Some(default) => format!("COALESCE(${}, {})", i + 1, crate::emit::migration::default_sql(default)),
            None => format!("${}", i + 1),
        })
        .collect();
    format!("INSERT INTO {} ({}) VALUES ({}) RETURNING {}", table.name, names.join(", "), values.join(", "), column_list(table))
}

/// Inserted columns that are nullable and have a default: `New` holds `Option<Option<T>>`
/// for them (`None`: the default; `Some(None)`: NULL).
pub fn defaulted_nullable(table: &Table) -> Vec<&Column> {
    insert_columns(table).into_iter().filter(|c| c.nullable && c.default.is_some()).collect()
}

pub fn select_by(table: &Table, columns: &[&str]) -> String {
    format!("SELECT {} FROM {}{}", column_list(table), table.name, live(table, vec![equalities(table, columns, 1)]))
}

/// `$n`, or `$n::citext[]` for a citext column (see [`param`]).
fn array_param(table: &Table, column: &str, n: usize) -> String {
    let single = param(table, column, n);
    if single.ends_with("::citext") { format!("{single}[]") } else { single }
}

/// Rows whose single-column key is in `$1`, in key order.
pub fn select_many(table: &Table, key: &str) -> String {
    format!(
        "SELECT {} FROM {}{} ORDER BY {key}",
        column_list(table),
        table.name,
        live(table, vec![format!("{key} = ANY({})", array_param(table, key, 1))])
    )
}

/// Columns a `Patch` can change: everything but the key, the version, counters (changed by
/// `increment_<column>` only), the touch column (always `now()`) and immutable columns.
pub fn patch_columns(table: &Table) -> Vec<&Column> {
    let fixed = |name: &str| {
        table.is_primary_key(name)
            || table.version_column.as_deref() == Some(name)
            || table.touch_column.as_deref() == Some(name)
            || table.counters.iter().any(|c| c == name)
            || table.immutable.iter().any(|c| c == name)
    };
    table.columns.iter().filter(|c| c.is_written() && !fixed(&c.name)).collect()
}

/// Whether the table gets `update` functions: not append-only, and something to write.
pub fn has_update(table: &Table) -> bool {
    !table.append_only && (!patch_columns(table).is_empty() || table.version_column.is_some())
}

/// How many parameters the patch of `table` binds: one per non-null column (NULL = keep),
/// two per nullable one (a "given" flag and the value, which may itself be NULL).
pub fn patch_parameter_count(table: &Table) -> usize {
    patch_columns(table).iter().map(|c| if c.nullable { 2 } else { 1 }).sum()
}

/// The `SET` list of an update: key columns are `$1..$k`, the patch follows. A column the
/// patch leaves out keeps the value of the row as locked by this very statement, so two
/// writers that change different columns never undo each other.
fn set_list(table: &Table) -> String {
    let mut next = table.primary_key.len() + 1;
    let mut sets: Vec<String> = Vec::new();
    for column in patch_columns(table) {
        let c = &column.name;
        if column.nullable {
            sets.push(format!("{c} = CASE WHEN ${next} THEN ${} ELSE {c} END", next + 1));
            next += 2;
        } else {
            sets.push(format!("{c} = COALESCE(${next}, {c})"));
            next += 1;
        }
    }
    if let Some(touch) = &table.touch_column {
        sets.push(format!("{touch} = now()"));
    }
    if let Some(version) = &table.version_column {
        sets.push(format!("{version} = {version} + 1"));
    }
    sets.join(", ")
}

fn key_columns(table: &Table) -> Vec<&str> {
    table.primary_key.iter().map(String::as_str).collect()
}

/// Update by key, writing only what the patch gives.
pub fn update(table: &Table) -> String {
    format!(
        "UPDATE {} SET {}{} RETURNING {}",
        table.name,
        set_list(table),
        live(table, vec![equalities(table, &key_columns(table), 1)]),
        column_list(table)
    )
}

/// Versioned update in one round trip: the first column says whether the update applied; if
/// not, the current row (if any) comes back so the conflict can report its version.
pub fn update_if_version(table: &Table, version: &str) -> String {
    let key_names = key_columns(table);
    let version_param = key_names.len() + patch_parameter_count(table) + 1;
    let columns = column_list(table);
    // A soft-deleted row is gone for updates too.
    let keys = live(table, vec![equalities(table, &key_names, 1)]).trim_start().trim_start_matches("WHERE ").to_string();
    format!(
        "WITH updated AS (UPDATE {t} SET {sets} WHERE {keys} AND {version} = ${version_param} RETURNING {columns}) \
         SELECT true, {columns} FROM updated \
         UNION ALL SELECT false, {columns} FROM {t} WHERE {keys} AND NOT EXISTS (SELECT 1 FROM updated)",
        t = table.name,
        sets = set_list(table),
    )
}

/// `c = c + $by` in one statement: the row lock serialises concurrent increments, so none is
/// lost and none needs a retry.
pub fn increment(table: &Table, counter: &str) -> String {
    let keys = key_columns(table);
    format!(
        "UPDATE {t} SET {counter} = {counter} + ${}{} RETURNING {counter}",
        keys.len() + 1,
        live(table, vec![equalities(table, &keys, 1)]),
        t = table.name
    )
}

pub fn delete(table: &Table) -> String {
    format!("DELETE FROM {} WHERE {}", table.name, equalities(table, &key_columns(table), 1))
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The first page.
    First,
    /// After a row whose ordering values are all bound (the lead one is not NULL).
    After,
    /// After a row whose nullable lead ordering value is NULL (not bound; the rest are).
    AfterNull,
}

/// One page query: equality (or `IS NULL`) filters, an optional half-open time range, an
/// ordering, and where to start.
pub struct Page<'a> {
    /// Filter columns; `true` means "matches NULL" (`IS NULL`, nothing bound).
    pub filters: &'a [(&'a str, bool)],
    /// `since <= column < until`.
    pub range: Option<&'a str>,
    /// The lead ordering column, then the key as tie-breaker.
    pub order: &'a [&'a str],
    /// Whether `order[0]` may be NULL.
    pub lead_nullable: bool,
    pub descending: bool,
    pub cursor: Cursor,
}

/// A keyset page. NULLs of a nullable lead column sort where PostgreSQL's indexes put them
/// (last ascending, first descending), and the cursor condition steps over them explicitly:
/// a row comparison with NULL is never true, which would end the walk early.
pub fn list_page(table: &Table, page: &Page<'_>) -> String {
    let mut conditions: Vec<String> = Vec::new();
    let mut next = 1;
    for (column, is_null) in page.filters {
        if *is_null {
            conditions.push(format!("{column} IS NULL"));
        } else {
            conditions.push(format!("{column} = {}", param(table, column, next)));
            next += 1;
        }
    }
    if let Some(column) = page.range {
        conditions.push(format!("{column} >= {} AND {column} < {}", param(table, column, next), param(table, column, next + 1)));
        next += 2;
    }
    let comparison = if page.descending { "<" } else { ">" };
    let tuple = |columns: &[&str], next: &mut usize| {
        let params: Vec<String> = columns.iter().enumerate().map(|(i, c)| param(table, c, *next + i)).collect();
        *next += columns.len();
        match (columns, params.as_slice()) {
            ([column], [param]) => format!("{column} {comparison} {param}"),
            _ => format!("({}) {comparison} ({})", columns.join(", "), params.join(", ")),
        }
    };
    let (lead, rest) = page.order.split_first().map_or(("", &[][..]), |(l, r)| (*l, r));
    match (page.cursor, page.lead_nullable, page.descending) {
        (Cursor::First, _, _) => {}
        (Cursor::After, false, _) | (Cursor::After, true, true) => conditions.push(tuple(page.order, &mut next)),
        (Cursor::After, true, false) => conditions.push(format!("({} OR {lead} IS NULL)", tuple(page.order, &mut next))),
        (Cursor::AfterNull, _, false) => conditions.push(format!("{lead} IS NULL AND {}", tuple(rest, &mut next))),
        (Cursor::AfterNull, _, true) => conditions.push(format!("({lead} IS NULL AND {} OR {lead} IS NOT NULL)", tuple(rest, &mut next))),
    }
    let direction = if page.descending { " DESC" } else { "" };
    let nulls = match (page.lead_nullable, page.descending) {
        (false, _) => "",
        (true, false) => " NULLS LAST",
        (true, true) => " NULLS FIRST",
    };
    let order_by =
        page.order.iter().enumerate().map(|(i, c)| format!("{c}{direction}{}", if i == 0 { nulls } else { "" })).collect::<Vec<_>>().join(", ");
    let where_clause = live(table, conditions);
    format!("SELECT {} FROM {}{where_clause} ORDER BY {order_by} LIMIT ${next}", column_list(table), table.name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ir::{ColumnType, ScalarType};

    pub(crate) fn column(name: &str, ty: ScalarType, nullable: bool, default: Option<DefaultValue>) -> Column {
        Column {
            name: name.into(),
            ty: ColumnType::Scalar(ty),
            nullable,
            default,
            reference: None,
            doc: None,
            enumeration: None,
            generated: None,
            identity: false,
        }
    }

    pub(crate) fn table() -> Table {
        Table {
            name: "posts".into(),
            doc: None,
            columns: vec![
                column("id", ScalarType::Uuid, false, Some(DefaultValue::RandomUuid)),
                column("body", ScalarType::Text, false, None),
                column("pinned_at", ScalarType::Timestamptz, true, None),
                column("likes", ScalarType::BigInt, false, Some(DefaultValue::Number("0".into()))),
                column("created_at", ScalarType::Timestamptz, false, Some(DefaultValue::Now)),
                column("updated_at", ScalarType::Timestamptz, false, Some(DefaultValue::Now)),
                column("version", ScalarType::BigInt, false, Some(DefaultValue::Number("0".into()))),
            ],
            primary_key: vec!["id".into()],
            uniques: vec![],
            indexes: vec![],
            version_column: Some("version".into()),
            counters: vec!["likes".into()],
            touch_column: Some("updated_at".into()),
            immutable: vec!["created_at".into()],
            append_only: false,
            checks: vec![],
            soft_delete: false,
            idempotency_key: None,
            foreign_keys: vec![],
        }
    }

    #[test]
    fn nullable_columns_with_a_default_take_a_flag() {
        let mut table = table();
        table.columns.truncate(3);
        table.version_column = None;
        table.columns[2].default = Some(DefaultValue::Now);
        assert_eq!(
            insert(&table),
            "INSERT INTO posts (id, body, pinned_at) VALUES (COALESCE($1, gen_random_uuid()), $2, CASE WHEN $4 THEN now() ELSE $3 END) RETURNING id, body, pinned_at"
        );
        assert_eq!(defaulted_nullable(&table).iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["pinned_at"]);
    }

    #[test]
    fn soft_deleting_tables_read_and_write_live_rows() {
        let mut table = table();
        table.soft_delete = true;
        assert!(select_by(&table, &["id"]).ends_with("FROM posts WHERE id = $1 AND deleted_at IS NULL"));
        assert!(update_if_version(&table, "version").contains("WHERE id = $1 AND deleted_at IS NULL AND version = $"));
        assert!(update_if_version(&table, "version").contains("FROM posts WHERE id = $1 AND deleted_at IS NULL AND NOT EXISTS"));
        assert!(increment(&table, "likes").contains("WHERE id = $1 AND deleted_at IS NULL RETURNING"));
    }

    #[test]
    fn insert_defaults_missing_values() {
        assert_eq!(
            insert(&table()),
            "INSERT INTO posts (id, body, pinned_at, likes, created_at, updated_at) VALUES (COALESCE($1, gen_random_uuid()), $2, $3, COALESCE($4, 0), COALESCE($5, now()), COALESCE($6, now())) RETURNING id, body, pinned_at, likes, created_at, updated_at, version"
        );
    }

    #[test]
    fn patches_write_only_given_columns() {
        let posts = table();
        let names: Vec<&str> = patch_columns(&posts).iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["body", "pinned_at"], "key, counter, touch, immutable and version are not patchable");
        assert_eq!(
            update(&posts),
            "UPDATE posts SET body = COALESCE($2, body), pinned_at = CASE WHEN $3 THEN $4 ELSE pinned_at END, updated_at = now(), version = version + 1 WHERE id = $1 RETURNING id, body, pinned_at, likes, created_at, updated_at, version"
        );
        let sql = update_if_version(&table(), "version");
        assert!(sql.contains("WHERE id = $1 AND version = $5 RETURNING"), "{sql}");
        assert!(sql.contains("UNION ALL SELECT false"), "{sql}");
        let mut append_only = table();
        append_only.append_only = true;
        assert!(!has_update(&append_only));
    }

    #[test]
    fn increments_are_one_statement() {
        assert_eq!(increment(&table(), "likes"), "UPDATE posts SET likes = likes + $2 WHERE id = $1 RETURNING likes");
    }

    #[test]
    fn pages_are_keyset_paginated() {
        let page = Page {
            filters: &[("body", false)],
            range: None,
            order: &["created_at", "id"],
            lead_nullable: false,
            descending: true,
            cursor: Cursor::After,
        };
        assert_eq!(
            list_page(&table(), &page),
            "SELECT id, body, pinned_at, likes, created_at, updated_at, version FROM posts WHERE body = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let first = Page { filters: &[], range: None, order: &["id"], lead_nullable: false, descending: false, cursor: Cursor::First };
        assert_eq!(list_page(&table(), &first), "SELECT id, body, pinned_at, likes, created_at, updated_at, version FROM posts ORDER BY id LIMIT $1");
    }

    #[test]
    fn null_filters_and_null_cursors() {
        let order = ["pinned_at", "id"];
        let page = |cursor, descending| Page { filters: &[("body", true)], range: None, order: &order, lead_nullable: true, descending, cursor };
        let sql = list_page(&table(), &page(Cursor::After, false));
        assert!(
            sql.ends_with("WHERE body IS NULL AND ((pinned_at, id) > ($1, $2) OR pinned_at IS NULL) ORDER BY pinned_at NULLS LAST, id LIMIT $3"),
            "{sql}"
        );
        let sql = list_page(&table(), &page(Cursor::AfterNull, false));
        assert!(sql.ends_with("WHERE body IS NULL AND pinned_at IS NULL AND id > $1 ORDER BY pinned_at NULLS LAST, id LIMIT $2"), "{sql}");
        let sql = list_page(&table(), &page(Cursor::AfterNull, true));
        assert!(sql.contains("(pinned_at IS NULL AND id < $1 OR pinned_at IS NOT NULL) ORDER BY pinned_at DESC NULLS FIRST, id DESC"), "{sql}");
    }

    #[test]
    fn time_ranges_are_half_open() {
        let page = Page {
            filters: &[],
            range: Some("created_at"),
            order: &["created_at", "id"],
            lead_nullable: false,
            descending: false,
            cursor: Cursor::After,
        };
        assert!(
            list_page(&table(), &page)
                .ends_with("WHERE created_at >= $1 AND created_at < $2 AND (created_at, id) > ($3, $4) ORDER BY created_at, id LIMIT $5")
        );
    }

    #[test]
    fn citext_parameters_are_cast_so_comparisons_ignore_case() {
        let mut table = table();
        table.columns.push(column("email", ScalarType::Citext, false, None));
        table.primary_key = vec!["email".into()];
        assert!(select_by(&table, &["email"]).ends_with("FROM posts WHERE email = $1::citext"));
        assert!(select_many(&table, "email").contains("WHERE email = ANY($1::citext[])"));
        let page = Page {
            filters: &[("email", false)],
            range: None,
            order: &["created_at", "email"],
            lead_nullable: false,
            descending: false,
            cursor: Cursor::After,
        };
        assert!(
            list_page(&table, &page).contains("WHERE email = $1::citext AND (created_at, email) > ($2, $3::citext)"),
            "{}",
            list_page(&table, &page)
        );
        assert!(delete(&table).ends_with("WHERE email = $1::citext"));
    }
}
