//! The SQL-level model of one service's database: what PostgreSQL's catalog would hold after
//! the service's migrations ran. Nothing here knows about the spec's column language; the
//! spec's tables are *lowered* into a `Catalog` (one place), and everything that speaks SQL
//! DDL works on catalogs only:
//! - rendering the first migration (`CREATE TABLE ...`),
//! - the state a service's migration history has reached (kept beside the migrations, so that
//!   `check` and `migrate` need no database),
//! - diffing two catalogs into the ordered, safe steps of the next migration.
//!
//! Names are the names PostgreSQL will hold (constraint and index names included), so a
//! catalog can be compared with a live database's catalog.
//!
//! (Interface shared by the migration engine and the column language; extend it here when
//! the language gains a feature that changes DDL.)

use std::collections::{BTreeMap, BTreeSet};

/// A database: its tables by name, and the extensions its column types need.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Catalog {
    /// Extensions created by the migrations (`citext`), by name. Left out of schema.json
    /// when empty, so that histories without one keep their state file unchanged.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub extensions: BTreeSet<String>,
    pub tables: BTreeMap<String, CatalogTable>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CatalogTable {
    /// In column order (the order of CREATE TABLE; new columns append).
    pub columns: Vec<CatalogColumn>,
    pub primary_key: Option<Constraint>,
    /// Unique, check and foreign-key constraints, by name.
    pub constraints: BTreeMap<String, Constraint>,
    /// Indexes that are not constraints, by name.
    pub indexes: BTreeMap<String, CatalogIndex>,
    /// `COMMENT ON TABLE`.
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CatalogColumn {
    pub name: String,
    /// The SQL type as written in DDL, canonical upper case: `UUID`, `TEXT[]`, `VARCHAR(32)`.
    pub sql_type: String,
    pub not_null: bool,
    /// The DEFAULT expression as written in DDL, if any.
    pub default: Option<String>,
    /// `GENERATED ALWAYS AS (<expr>) STORED`, if the column is generated.
    pub generated: Option<String>,
    /// `GENERATED ALWAYS AS IDENTITY` / `BY DEFAULT`.
    pub identity: Option<Identity>,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Identity {
    Always,
    ByDefault,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ConstraintKind {
    PrimaryKey {
        columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
    },
    /// `CHECK (<expr>)`, the expression as written.
    Check {
        expression: String,
    },
    ForeignKey {
        columns: Vec<String>,
        references_table: String,
        references_columns: Vec<String>,
        on_delete: FkAction,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FkAction {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CatalogIndex {
    pub unique: bool,
    /// `btree`, `gin`, ...
    pub method: String,
    /// Column names or parenthesised expressions, each with ` DESC` when descending, as written
    /// in DDL: `created_at DESC`, `(lower(email))`.
    pub keys: Vec<String>,
    /// Partial index predicate, as written: `deleted_at IS NULL`.
    pub predicate: Option<String>,
}
