//! Reading a live database's catalog (schema `public`, the migration ledger left out) into a
//! [`Catalog`], in PostgreSQL's own normal form: types as `format_type` spells them, defaults,
//! checks and index keys as PostgreSQL prints them back. Two introspected catalogs compare
//! exactly; to compare a catalog nova wrote (a spec's, a state file's) with a live one,
//! materialise it in a scratch database first, so that PostgreSQL normalises both.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use nova_gen_core::catalog::{Catalog, CatalogColumn, CatalogIndex, CatalogTable, Constraint, ConstraintKind, FkAction, Identity};

/// A live catalog, and what an interrupted online migration left unfinished (indexes still
/// INVALID, constraints still NOT VALID), which the catalog itself does not model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveCatalog {
    pub catalog: Catalog,
    pub unfinished: Vec<String>,
}

const TABLES: &str = "SELECT c.oid::int8, c.relname::text, obj_description(c.oid, 'pg_class') \
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> '_sqlx_migrations'";

pub async fn introspect(connection: &mut PgConnection) -> Result<LiveCatalog, sqlx::Error> {
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(TABLES).fetch_all(&mut *connection).await?;
    let mut by_oid: BTreeMap<i64, (String, CatalogTable)> =
        rows.into_iter().map(|(oid, name, comment)| (oid, (name, CatalogTable { comment, ..CatalogTable::default() }))).collect();
    let mut unfinished = Vec::new();
    read_columns(connection, &mut by_oid).await?;
    read_constraints(connection, &mut by_oid, &mut unfinished).await?;
    read_indexes(connection, &mut by_oid, &mut unfinished).await?;
    unfinished.sort();
    // plpgsql comes with every database; only extensions migrations create are modelled.
    let extensions: Vec<String> =
        sqlx::query_scalar("SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql'").fetch_all(&mut *connection).await?;
    Ok(LiveCatalog { catalog: Catalog { extensions: extensions.into_iter().collect(), tables: by_oid.into_values().collect() }, unfinished })
}

type ColumnRow = (i64, String, String, bool, Option<String>, Option<String>, String, Option<String>);

async fn read_columns(connection: &mut PgConnection, tables: &mut BTreeMap<i64, (String, CatalogTable)>) -> Result<(), sqlx::Error> {
    let rows: Vec<ColumnRow> = sqlx::query_as(
        "SELECT a.attrelid::int8, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
         CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END, \
         CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END, \
         a.attidentity::text, col_description(a.attrelid, a.attnum) \
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid = ANY ($1) ORDER BY a.attrelid, a.attnum",
    )
    .bind(tables.keys().copied().collect::<Vec<i64>>())
    .fetch_all(&mut *connection)
    .await?;
    for (table, name, sql_type, not_null, default, generated, identity, comment) in rows {
        let Some((_, entry)) = tables.get_mut(&table) else { continue };
        let identity = match identity.as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        };
        entry.columns.push(CatalogColumn { name, sql_type, not_null, default, generated, identity, comment });
    }
    Ok(())
}

type ConstraintRow = (i64, String, String, Vec<String>, Option<String>, Vec<String>, String, String, bool);

async fn read_constraints(
    connection: &mut PgConnection,
    tables: &mut BTreeMap<i64, (String, CatalogTable)>,
    unfinished: &mut Vec<String>,
) -> Result<(), sqlx::Error> {
    let rows: Vec<ConstraintRow> = sqlx::query_as(
        "SELECT con.conrelid::int8, con.conname::text, con.contype::text, \
         ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i) \
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i), \
         target.relname::text, \
         ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i) \
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i), \
         con.confdeltype::text, pg_get_constraintdef(con.oid, true), con.convalidated \
         FROM pg_constraint con LEFT JOIN pg_class target ON target.oid = con.confrelid \
         WHERE con.contype IN ('p', 'u', 'c', 'f') AND con.conrelid = ANY ($1) ORDER BY con.conname",
    )
    .bind(tables.keys().copied().collect::<Vec<i64>>())
    .fetch_all(&mut *connection)
    .await?;
    for (table, name, kind, columns, target, target_columns, on_delete, definition, valid) in rows {
        let Some((table_name, entry)) = tables.get_mut(&table) else { continue };
        if !valid {
            unfinished.push(format!("constraint {table_name}.{name} is NOT VALID"));
        }
        let kind = match kind.as_str() {
            "p" => ConstraintKind::PrimaryKey { columns },
            "u" => ConstraintKind::Unique { columns },
            "c" => ConstraintKind::Check { expression: check_expression(&definition) },
            _ => ConstraintKind::ForeignKey {
                columns,
                references_table: target.unwrap_or_default(),
                references_columns: target_columns,
                on_delete: fk_action(&on_delete),
            },
        };
        let constraint = Constraint { name: name.clone(), kind };
        if matches!(constraint.kind, ConstraintKind::PrimaryKey { .. }) {
            entry.primary_key = Some(constraint);
        } else {
            entry.constraints.insert(name, constraint);
        }
    }
    Ok(())
}

/// `CHECK ((x > 0)) NOT VALID` -> `(x > 0)`: the expression as PostgreSQL prints it.
fn check_expression(definition: &str) -> String {
    let definition = definition.strip_suffix(" NOT VALID").unwrap_or(definition);
    definition.strip_prefix("CHECK (").and_then(|d| d.strip_suffix(')')).unwrap_or(definition).to_string()
}

fn fk_action(code: &str) -> FkAction {
    match code {
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        // `a` (NO ACTION), and SET DEFAULT, which nova never writes.
        _ => FkAction::NoAction,
    }
}

type IndexRow = (i64, String, bool, String, Vec<String>, Vec<bool>, Vec<bool>, Vec<bool>, Option<String>, bool);

async fn read_indexes(
    connection: &mut PgConnection,
    tables: &mut BTreeMap<i64, (String, CatalogTable)>,
    unfinished: &mut Vec<String>,
) -> Result<(), sqlx::Error> {
    // Indexes that back a primary key or unique constraint are part of the constraint.
    let rows: Vec<IndexRow> = sqlx::query_as(
        "SELECT i.indrelid::int8, ic.relname::text, i.indisunique, am.amname::text, \
         ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
         ARRAY(SELECT i.indkey[k - 1] = 0 FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
         ARRAY(SELECT (i.indoption[k - 1] & 1) = 1 FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
         ARRAY(SELECT (i.indoption[k - 1] & 2) = 2 FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
         pg_get_expr(i.indpred, i.indrelid, true), i.indisvalid \
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
         WHERE i.indrelid = ANY ($1) \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))",
    )
    .bind(tables.keys().copied().collect::<Vec<i64>>())
    .fetch_all(&mut *connection)
    .await?;
    for (table, name, unique, method, keys, expressions, descending, nulls_first, predicate, valid) in rows {
        let Some((table_name, entry)) = tables.get_mut(&table) else { continue };
        if !valid {
            unfinished.push(format!("index {table_name}.{name} is INVALID (a concurrent build failed)"));
        }
        let keys = keys
            .iter()
            .enumerate()
            .map(|(k, key)| {
                let is_expression = expressions.get(k).copied().unwrap_or(false);
                let desc = descending.get(k).copied().unwrap_or(false);
                let mut text = if is_expression && !key.starts_with('(') { format!("({key})") } else { key.clone() };
                if desc {
                    text.push_str(" DESC");
                }
                // Only the non-default null ordering is spelled out.
                match (desc, nulls_first.get(k).copied().unwrap_or(desc)) {
                    (false, true) => text.push_str(" NULLS FIRST"),
                    (true, false) => text.push_str(" NULLS LAST"),
                    _ => {}
                }
                text
            })
            .collect();
        entry.indexes.insert(name, CatalogIndex { unique, method, keys, predicate });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_expressions_lose_their_wrapper() {
        assert_eq!(check_expression("CHECK ((x > 0))"), "(x > 0)");
        assert_eq!(check_expression("CHECK (x IS NOT NULL) NOT VALID"), "x IS NOT NULL");
    }
}
