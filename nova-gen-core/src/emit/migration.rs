//! SQL spellings the repository emitters share with the migrations (the migrations themselves
//! are written by `nova-gen migrate`, from catalogs: see `crate::migrate`).

pub use crate::lower::{default_sql, sql_type};
