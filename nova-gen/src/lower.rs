//! Lowering: a service's tables (IR) become the [`Catalog`] its database must hold. This is the
//! only place that knows how the column language maps to SQL; rendering DDL, planning
//! migrations and comparing with live databases all work on catalogs.
//!
//! One small function per feature, so that the column language grows here feature by feature.
//! Names follow PostgreSQL's own conventions (`<table>_pkey`, `<table>_<columns>_key`,
//! `<table>_<column>_fkey`, `<table>_<columns>_idx`), which the first migrations already use.

use crate::catalog::{Catalog, CatalogColumn, CatalogIndex, CatalogTable, Constraint, ConstraintKind, FkAction};
use crate::ir::{Column, ColumnType, DefaultValue, Index, OnDelete, Reference, ScalarType, Service, Table};

/// The catalog of a service's own database.
pub fn lower_service(service: &Service) -> Catalog {
    Catalog { tables: service.tables.iter().map(|table| (table.name.clone(), lower_table(table))).collect() }
}

pub fn lower_table(table: &Table) -> CatalogTable {
    let mut lowered = CatalogTable {
        columns: table.columns.iter().map(lower_column).collect(),
        primary_key: Some(primary_key(table)),
        comment: table.doc.clone(),
        ..CatalogTable::default()
    };
    for constraint in table.uniques.iter().map(|columns| unique(table, columns)).chain(table.columns.iter().filter_map(|c| foreign_key(table, c))) {
        lowered.constraints.insert(constraint.name.clone(), constraint);
    }
    for index in &table.indexes {
        let (name, lowered_index) = plain_index(table, index);
        lowered.indexes.insert(name, lowered_index);
    }
    lowered
}

fn lower_column(column: &Column) -> CatalogColumn {
    CatalogColumn {
        name: column.name.clone(),
        sql_type: sql_type(column.ty),
        not_null: !column.nullable,
        default: column.default.as_ref().map(default_sql),
        generated: None,
        identity: None,
        comment: remote_reference_comment(column),
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
                OnDelete::Restrict => FkAction::NoAction,
            },
        },
    })
}

/// A logical reference to another service's table, documented where people look for it.
fn remote_reference_comment(column: &Column) -> Option<String> {
    let Some(Reference::Remote { service, table, column: target }) = &column.reference else { return None };
    Some(format!("Logical reference to {service}.{table}.{target}: no foreign key across services; checked through the {service} service's API."))
}

fn plain_index(table: &Table, index: &Index) -> (String, CatalogIndex) {
    let names: Vec<&str> = index.columns.iter().map(|c| c.name.as_str()).collect();
    let keys = index.columns.iter().map(|c| if c.descending { format!("{} DESC", c.name) } else { c.name.clone() }).collect();
    (format!("{}_{}_idx", table.name, names.join("_")), CatalogIndex { unique: false, method: "btree".into(), keys, predicate: None })
}

pub fn sql_type(ty: ColumnType) -> String {
    match ty {
        ColumnType::Scalar(s) => scalar_sql_type(s).to_string(),
        ColumnType::Array(s) => format!("{}[]", scalar_sql_type(s)),
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
    }
}

pub fn default_sql(default: &DefaultValue) -> String {
    match default {
        DefaultValue::Now => "now()".to_string(),
        DefaultValue::RandomUuid => "gen_random_uuid()".to_string(),
        DefaultValue::Number(n) => n.clone(),
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Literal(l) => string_literal(l),
    }
}

/// `'text'`, with quotes doubled.
pub fn string_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
