//! The SQL text of generated repositories. Plain string building, kept apart from the Rust
//! emitter so the statements can be read and tested on their own.

use crate::ir::{Column, Table};

/// `a, b, c`: every column, in declaration order (the order `Row::decode` reads).
pub fn column_list(table: &Table) -> String {
    table.columns.iter().filter(|c| c.is_read()).map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// `conditions`, and the soft-delete condition when the table has one: reads see live rows.
fn live(table: &Table, conditions: Vec<String>) -> String {
    let all: Vec<String> = conditions.into_iter().filter(|c| !c.is_empty()).chain(table.live_condition()).collect();
    if all.is_empty() { String::new() } else { format!(" WHERE {}", all.join(" AND ")) }
}

/// `a = $1 AND b = $2`, numbering from `first`.
pub fn equalities(columns: &[&str], first: usize) -> String {
    columns.iter().enumerate().map(|(i, c)| format!("{c} = ${}", first + i)).collect::<Vec<_>>().join(" AND ")
}

/// Columns an insert takes from the caller (version counters always start at their default).
pub fn insert_columns(table: &Table) -> Vec<&Column> {
    table.columns.iter().filter(|c| c.is_written() && table.version_column.as_deref() != Some(c.name.as_str())).collect()
}

/// `INSERT ... VALUES (COALESCE($1, default), $2, ...) RETURNING ...`: a missing value for a
/// column with a default takes the default. A nullable column with a default can also be
/// given NULL: it takes a flag parameter after the values (`CASE WHEN $flag THEN default ELSE
/// $n END`), in the order of [`defaulted_nullable`].
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
                format!("CASE WHEN ${flag} THEN {} ELSE ${} END", crate::emit::migration::default_sql(default), i + 1)
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
    format!("SELECT {} FROM {}{}", column_list(table), table.name, live(table, vec![equalities(columns, 1)]))
}

/// Rows whose single-column key is in `$1`, in key order.
pub fn select_many(table: &Table, key: &str) -> String {
    format!("SELECT {} FROM {}{} ORDER BY {key}", column_list(table), table.name, live(table, vec![format!("{key} = ANY($1)")]))
}

/// Columns an update writes: everything but the key, the version and an `updated_at` stamp.
pub fn updated_columns(table: &Table) -> Vec<&Column> {
    table
        .columns
        .iter()
        .filter(|c| c.is_written() && !table.is_primary_key(&c.name) && table.version_column.as_deref() != Some(c.name.as_str()) && !is_update_stamp(c))
        .collect()
}

/// A `timestamptz` column named `updated_at` is set to `now()` by every update.
pub fn is_update_stamp(column: &Column) -> bool {
    column.name == "updated_at" && column.ty == crate::ir::ColumnType::Scalar(crate::ir::ScalarType::Timestamptz)
}

/// The `SET` list: key columns are `$1..$k`, updated columns follow.
fn set_list(table: &Table) -> String {
    let key_count = table.primary_key.len();
    let mut sets: Vec<String> = updated_columns(table).iter().enumerate().map(|(i, c)| format!("{} = ${}", c.name, key_count + 1 + i)).collect();
    if table.columns.iter().any(is_update_stamp) {
        sets.push("updated_at = now()".to_string());
    }
    if let Some(version) = &table.version_column {
        sets.push(format!("{version} = {version} + 1"));
    }
    sets.join(", ")
}

fn key_columns(table: &Table) -> Vec<&str> {
    table.primary_key.iter().map(String::as_str).collect()
}

/// Plain update by key.
pub fn update(table: &Table) -> String {
    format!("UPDATE {} SET {}{} RETURNING {}", table.name, set_list(table), live(table, vec![equalities(&key_columns(table), 1)]), column_list(table))
}

/// Versioned update in one round trip: the first column says whether the update applied; if
/// not, the current row (if any) comes back so the conflict can report its version.
pub fn update_versioned(table: &Table, version: &str) -> String {
    let key_names = key_columns(table);
    let version_param = key_names.len() + updated_columns(table).len() + 1;
    let columns = column_list(table);
    // A soft-deleted row is gone for updates too.
    let keys = live(table, vec![equalities(&key_names, 1)]).trim_start().trim_start_matches("WHERE ").to_string();
    format!(
        "WITH updated AS (UPDATE {t} SET {sets} WHERE {keys} AND {version} = ${version_param} RETURNING {columns}) \
         SELECT true, {columns} FROM updated \
         UNION ALL SELECT false, {columns} FROM {t} WHERE {keys} AND NOT EXISTS (SELECT 1 FROM updated)",
        t = table.name,
        sets = set_list(table),
    )
}

pub fn delete(table: &Table) -> String {
    format!("DELETE FROM {} WHERE {}", table.name, equalities(&key_columns(table), 1))
}

/// A page of rows matching `filters` (equalities from `$1`), ordered by `order` then the key,
/// in one direction, starting after the row whose ordering values are the next parameters.
/// Returns the SQL and the number of the limit parameter.
pub fn list_page(table: &Table, filters: &[&str], order: &[&str], descending: bool, with_cursor: bool) -> (String, usize) {
    let mut conditions: Vec<String> = Vec::new();
    if !filters.is_empty() {
        conditions.push(equalities(filters, 1));
    }
    let mut next = filters.len() + 1;
    if with_cursor {
        let params: Vec<String> = (0..order.len()).map(|i| format!("${}", next + i)).collect();
        let comparison = if descending { "<" } else { ">" };
        conditions.push(format!("({}) {comparison} ({})", order.join(", "), params.join(", ")));
        next += order.len();
    }
    let direction = if descending { " DESC" } else { "" };
    let order_by = order.iter().map(|c| format!("{c}{direction}")).collect::<Vec<_>>().join(", ");
    let where_clause = live(table, conditions);
    (format!("SELECT {} FROM {}{where_clause} ORDER BY {order_by} LIMIT ${next}", column_list(table), table.name), next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ColumnType, DefaultValue, ScalarType};

    fn column(name: &str, ty: ScalarType, default: Option<DefaultValue>) -> Column {
        Column { name: name.into(), ty: ColumnType::Scalar(ty), nullable: false, default, reference: None, doc: None, enumeration: None, generated: None, identity: false }
    }

    fn table() -> Table {
        Table {
            name: "posts".into(),
            doc: None,
            columns: vec![
                column("id", ScalarType::Uuid, Some(DefaultValue::RandomUuid)),
                column("body", ScalarType::Text, None),
                column("updated_at", ScalarType::Timestamptz, Some(DefaultValue::Now)),
                column("version", ScalarType::BigInt, Some(DefaultValue::Number("0".into()))),
            ],
            primary_key: vec!["id".into()],
            uniques: vec![],
            indexes: vec![],
            version_column: Some("version".into()),
            checks: vec![],
            soft_delete: false,
            foreign_keys: vec![],
        }
    }

    #[test]
    fn insert_defaults_missing_values() {
        assert_eq!(
            insert(&table()),
            "INSERT INTO posts (id, body, updated_at) VALUES (COALESCE($1, gen_random_uuid()), $2, COALESCE($3, now())) RETURNING id, body, updated_at, version"
        );
    }

    #[test]
    fn nullable_columns_with_a_default_take_a_flag() {
        let mut table = table();
        let mut rank = column("rank", ScalarType::Int, Some(DefaultValue::Number("5".into())));
        rank.nullable = true;
        table.columns.insert(2, rank);
        assert_eq!(
            insert(&table),
            "INSERT INTO posts (id, body, rank, updated_at) VALUES (COALESCE($1, gen_random_uuid()), $2, CASE WHEN $5 THEN 5 ELSE $3 END, COALESCE($4, now())) RETURNING id, body, rank, updated_at, version"
        );
        assert_eq!(defaulted_nullable(&table).iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["rank"]);
    }

    #[test]
    fn soft_deleting_tables_read_and_update_live_rows() {
        let mut table = table();
        table.soft_delete = true;
        assert_eq!(select_by(&table, &["id"]), "SELECT id, body, updated_at, version FROM posts WHERE id = $1 AND deleted_at IS NULL");
        assert!(update_versioned(&table, "version").contains("WHERE id = $1 AND deleted_at IS NULL AND version = $3"));
        assert!(update_versioned(&table, "version").contains("FROM posts WHERE id = $1 AND deleted_at IS NULL AND NOT EXISTS"));
    }

    #[test]
    fn versioned_update_checks_and_bumps() {
        let sql = update_versioned(&table(), "version");
        assert!(sql.contains("SET body = $2, updated_at = now(), version = version + 1 WHERE id = $1 AND version = $3"), "{sql}");
        assert!(sql.contains("UNION ALL SELECT false"), "{sql}");
    }

    #[test]
    fn pages_are_keyset_paginated() {
        let (sql, limit) = list_page(&table(), &["body"], &["updated_at", "id"], true, true);
        assert_eq!(
            sql,
            "SELECT id, body, updated_at, version FROM posts WHERE body = $1 AND (updated_at, id) < ($2, $3) ORDER BY updated_at DESC, id DESC LIMIT $4"
        );
        assert_eq!(limit, 4);
        let (first_page, limit) = list_page(&table(), &[], &["id"], false, false);
        assert_eq!(first_page, "SELECT id, body, updated_at, version FROM posts ORDER BY id LIMIT $1");
        assert_eq!(limit, 1);
    }
}
