//! The ledger of applied migrations: sqlx's `_sqlx_migrations` table, kept in sqlx's format so
//! that databases migrated before nova had its own runner (and sqlx's tooling) read the same
//! history.

use sha2::{Digest as _, Sha384};
use sqlx::PgConnection;

use super::Migration;

pub(crate) const TABLE: &str = "_sqlx_migrations";

/// A row of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The migration's version.
    pub version: i64,
    /// Its description when it was applied.
    pub description: String,
    /// SHA-384 of the file's text, as sqlx computes it.
    pub checksum: Vec<u8>,
    /// `false` for a migration an older sqlx started and never finished.
    pub success: bool,
}

/// sqlx's checksum of a migration file.
pub fn checksum(sql: &str) -> Vec<u8> {
    Sha384::digest(sql.as_bytes()).to_vec()
}

impl Migration {
    /// sqlx's checksum of this file's text: what the ledger records, and compares to detect
    /// an edited migration.
    pub fn checksum(&self) -> Vec<u8> {
        checksum(self.sql)
    }
}

/// Whether the ledger table exists (a fresh database has none until its first migration).
pub(crate) async fn exists(connection: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(format!("public.{TABLE}")).fetch_one(connection).await
}

pub(crate) async fn ensure(connection: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS public._sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
            success BOOLEAN NOT NULL,
            checksum BYTEA NOT NULL,
            execution_time BIGINT NOT NULL
        )",
    )
    .execute(connection)
    .await?;
    Ok(())
}

/// Every row, by version; empty when the table does not exist yet.
pub(crate) async fn read(connection: &mut PgConnection) -> Result<Vec<AppliedMigration>, sqlx::Error> {
    if !exists(connection).await? {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String, Vec<u8>, bool)> =
        sqlx::query_as("SELECT version, description, checksum, success FROM public._sqlx_migrations ORDER BY version").fetch_all(connection).await?;
    Ok(rows.into_iter().map(|(version, description, checksum, success)| AppliedMigration { version, description, checksum, success }).collect())
}

pub(crate) async fn record(connection: &mut PgConnection, migration: &Migration, execution_nanos: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO public._sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, $3, $4)")
        .bind(migration.version)
        .bind(migration.description)
        .bind(migration.checksum())
        .bind(execution_nanos)
        .execute(connection)
        .await?;
    Ok(())
}
