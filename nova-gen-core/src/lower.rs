//! Lowering: a service's tables (IR) become the [`Catalog`] its database must hold. This is the
//! only place that knows how the column language maps to SQL; rendering DDL, planning
//! migrations and comparing with live databases all work on catalogs.
//!
//! One small function per feature, so that the column language grows here feature by feature.
//! Names follow PostgreSQL's own conventions (`<table>_pkey`, `<table>_<columns>_key`,
//! `<table>_<column>_fkey`, `<table>_<columns>_idx`), which the first migrations already use.

use crate::catalog::{Catalog, CatalogColumn, CatalogIndex, CatalogTable, Constraint, ConstraintKind, FkAction, Identity};
use crate::ir::{Check, Column, ColumnType, DefaultValue, ForeignKey, Index, IndexColumn, OnDelete, Reference, ScalarType, Service, Table};

/// The catalog of a service's own database.
pub fn lower_service(service: &Service) -> Catalog {
    let extensions = service
        .tables
        .iter()
        .flat_map(|t| &t.columns)
        .filter_map(|c| match c.ty {
            ColumnType::Scalar(s) | ColumnType::Array(s) => s.extension(),
        })
        .map(str::to_string)
        .collect();
    Catalog { extensions, tables: service.tables.iter().map(|table| (table.name.clone(), lower_table(table))).collect() }
}

pub fn lower_table(table: &Table) -> CatalogTable {
    let mut lowered = CatalogTable {
        columns: table.columns.iter().map(lower_column).collect(),
        primary_key: Some(primary_key(table)),
        comment: table.doc.clone(),
        ..CatalogTable::default()
    };
    // A soft-deleting table's uniques hold among live rows only: partial unique indexes.
    let constraint_uniques = if table.soft_delete { &[][..] } else { &table.uniques[..] };
    for constraint in constraint_uniques
        .iter()
        .map(|columns| unique(table, columns))
        .chain(table.columns.iter().filter_map(|c| foreign_key(table, c)))
        .chain(table.checks.iter().map(check))
        .chain(table.foreign_keys.iter().map(|f| composite_foreign_key(table, f)))
    {
        lowered.constraints.insert(constraint.name.clone(), constraint);
    }
    let live_uniques = if table.soft_delete { &table.uniques[..] } else { &[][..] };
    let live_unique_indexes = live_uniques.iter().map(|columns| Index {
        columns: columns.iter().map(|c| IndexColumn { name: c.clone(), descending: false, expression: false }).collect(),
        unique: true,
        method: "btree".to_string(),
        predicate: None,
    });
    for index in table.indexes.iter().cloned().chain(live_unique_indexes) {
        let (name, lowered_index) = lower_index(table, &index);
        lowered.indexes.insert(name, lowered_index);
    }
    lowered
}

fn check(check: &Check) -> Constraint {
    Constraint { name: check.name.clone(), kind: ConstraintKind::Check { expression: check.expression.clone() } }
}

fn lower_column(column: &Column) -> CatalogColumn {
    CatalogColumn {
        name: column.name.clone(),
        sql_type: sql_type(column.ty),
        not_null: !column.nullable,
        default: column.default.as_ref().map(default_sql),
        generated: column.generated.clone(),
        identity: column.identity.then_some(Identity::Always),
        comment: column_comment(column),
    }
}

/// The column's doc, then (for a reference to another service) where the reference points.
fn column_comment(column: &Column) -> Option<String> {
    match (column.doc.as_deref(), remote_reference_comment(column)) {
        (Some(doc), Some(remote)) => Some(format!("{doc} {remote}")),
        (Some(doc), None) => Some(doc.to_string()),
        (None, remote) => remote,
    }
}

fn primary_key(table: &Table) -> Constraint {
    Constraint { name: format!("{}_pkey", table.name), kind: ConstraintKind::PrimaryKey { columns: table.primary_key.clone() } }
}

fn unique(table: &Table, columns: &[String]) -> Constraint {
    Constraint { name: format!("{}_{}_key", table.name, columns.join("_")), kind: ConstraintKind::Unique { columns: columns.to_vec() } }
}

/// A reference inside the service is a foreign key; one to another service's table never is.
fn foreign_key(table: &Table, column: &Column) -> Option<Constraint> {
    let Some(Reference::Local { table: target, column: target_column, on_delete }) = &column.reference else { return None };
    Some(Constraint {
        name: format!("{}_{}_fkey", table.name, column.name),
        kind: ConstraintKind::ForeignKey {
            columns: vec![column.name.clone()],
            references_table: target.clone(),
            references_columns: vec![target_column.clone()],
            on_delete: match on_delete {
                OnDelete::Cascade => FkAction::Cascade,
                // The first migrations write no ON DELETE clause for it: PostgreSQL's NO ACTION.
                OnDelete::NoAction => FkAction::NoAction,
                OnDelete::Restrict => FkAction::Restrict,
                OnDelete::SetNull => FkAction::SetNull,
            },
        },
    })
}

fn fk_action(on_delete: OnDelete) -> FkAction {
    match on_delete {
        OnDelete::Cascade => FkAction::Cascade,
        OnDelete::NoAction => FkAction::NoAction,
        OnDelete::Restrict => FkAction::Restrict,
        OnDelete::SetNull => FkAction::SetNull,
    }
}

/// `foreign_keys = ["a, b -> t(c, d)"]`: `<table>_<a>_<b>_fkey`.
fn composite_foreign_key(table: &Table, key: &ForeignKey) -> Constraint {
    Constraint {
        name: format!("{}_{}_fkey", table.name, key.columns.join("_")),
        kind: ConstraintKind::ForeignKey {
            columns: key.columns.clone(),
            references_table: key.table.clone(),
            references_columns: key.target_columns.clone(),
            on_delete: fk_action(key.on_delete),
        },
    }
}

/// A logical reference to another service's table, documented where people look for it.
fn remote_reference_comment(column: &Column) -> Option<String> {
    let Some(Reference::Remote { service, table, column: target, .. }) = &column.reference else { return None };
    Some(format!("Logical reference to {service}.{table}.{target}: no foreign key across services; checked through the {service} service's API."))
}

/// An index: `<table>_<keys>_idx`, or `_key` when unique; partial ones add `live` (the
/// soft-delete predicate) or `partial` to the name. Expression keys are named by their words:
/// `lower(email)` is `lower_email`.
fn lower_index(table: &Table, index: &Index) -> (String, CatalogIndex) {
    let live = table.live_condition();
    // Every unique of a soft-deleting table holds among live rows only.
    let predicate = match (&index.predicate, &live) {
        (None, Some(live)) if index.unique => Some(live.clone()),
        (p, _) => p.clone(),
    };
    let words: Vec<String> = index.columns.iter().map(index_words).collect();
    let qualifier = match (&predicate, &live) {
        (None, _) => "",
        (Some(p), Some(l)) if p.eq_ignore_ascii_case(l) => "_live",
        (Some(_), _) => "_partial",
    };
    let suffix = if index.unique { "key" } else { "idx" };
    let keys = index
        .columns
        .iter()
        .map(|c| {
            let key = if c.expression { format!("({})", c.name) } else { c.name.clone() };
            if c.descending { format!("{key} DESC") } else { key }
        })
        .collect();
    let name = format!("{}_{}{qualifier}_{suffix}", table.name, words.join("_"));
    (name, CatalogIndex { unique: index.unique, method: index.method.clone(), keys, predicate })
}

/// What a key contributes to its index's name: the column, or an expression's words in lower
/// case. The name is written unquoted, so PostgreSQL folds it: `collate "C"` must not give a
/// name that differs from the one the catalog holds.
fn index_words(column: &crate::ir::IndexColumn) -> String {
    if column.expression { crate::model::identifiers(&column.name).join("_").to_ascii_lowercase() } else { column.name.clone() }
}

pub fn sql_type(ty: ColumnType) -> String {
    let scalar = |s: ScalarType| match s {
        ScalarType::Varchar(n) => format!("VARCHAR({n})"),
        ScalarType::Numeric(p, s) => format!("NUMERIC({p},{s})"),
        other => scalar_sql_type(other).to_string(),
    };
    match ty {
        ColumnType::Scalar(s) => scalar(s),
        ColumnType::Array(s) => format!("{}[]", scalar(s)),
    }
}

fn scalar_sql_type(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::Uuid => "UUID",
        ScalarType::Text => "TEXT",
        ScalarType::Bool => "BOOLEAN",
        ScalarType::SmallInt => "SMALLINT",
        ScalarType::Int => "INTEGER",
        ScalarType::BigInt => "BIGINT",
        ScalarType::Double => "DOUBLE PRECISION",
        ScalarType::Timestamptz => "TIMESTAMPTZ",
        ScalarType::Date => "DATE",
        ScalarType::Jsonb => "JSONB",
        ScalarType::Bytea => "BYTEA",
        ScalarType::Real => "REAL",
        ScalarType::Time => "TIME",
        ScalarType::Interval => "INTERVAL",
        ScalarType::TsVector => "TSVECTOR",
        ScalarType::Varchar(_) => "VARCHAR",
        ScalarType::Numeric(..) => "NUMERIC",
        ScalarType::Inet => "INET",
        ScalarType::Citext => "CITEXT",
    }
}

pub fn default_sql(default: &DefaultValue) -> String {
    match default {
        DefaultValue::Now => "now()".to_string(),
        DefaultValue::RandomUuid => "gen_random_uuid()".to_string(),
        DefaultValue::Number(n) => n.clone(),
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Literal(l) => string_literal(l),
        DefaultValue::Expression(e) => e.clone(),
        // The model resolves enum defaults to their stored literal; a name left here is text.
        DefaultValue::Variant(v) => string_literal(v),
    }
}

/// `'text'`, with quotes doubled.
pub fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::index_words;
    use crate::ir::IndexColumn;

    #[test]
    fn index_names_are_lower_case_like_the_catalog() {
        let key = |name: &str, expression| IndexColumn { name: name.to_string(), descending: false, expression };
        assert_eq!(index_words(&key("lower(email)", true)), "lower_email");
        assert_eq!(index_words(&key("lower(display_name) collate \"C\"", true)), "lower_display_name_collate_c");
        assert_eq!(index_words(&key("created_at", false)), "created_at");
    }
}
