//! Real PostgreSQL for the migration tests: databases that exist for one test (dropped on
//! drop, even when the test fails), introspection, and squawk over migration files.

use std::path::{Path, PathBuf};
use std::process::Command;

use nova_gen::db::introspect::{LiveCatalog, introspect};
use nova_gen_core::catalog::Catalog;
use nova_runtime::db::quote_identifier;
use nova_runtime::migrate::Migration;
use sqlx::{Connection as _, PgConnection};

pub fn server_url() -> String {
    std::env::var("NOVA_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A short random tag for names that must not meet another test's (roles are cluster-wide).
pub fn unique_tag() -> String {
    format!("{:08x}", rand::random::<u32>())
}

pub async fn admin(statement: &str) {
    let mut connection = PgConnection::connect(&format!("{}/postgres", server_url())).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut connection).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
}

pub struct ScratchDb {
    pub name: String,
}

impl ScratchDb {
    pub async fn new(purpose: &str) -> Self {
        let name = format!("nova_gen_test_{purpose}_{}", unique_tag());
        admin(&format!("CREATE DATABASE {}", quote_identifier(&name))).await;
        ScratchDb { name }
    }

    pub fn url(&self) -> String {
        format!("{}/{}", server_url(), self.name)
    }

    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url()).await.unwrap()
    }

    /// Runs SQL text (several statements, in one implicit transaction).
    pub async fn execute(&self, sql: &str) {
        let mut connection = self.connect().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut connection).await.unwrap_or_else(|e| panic!("{e}\n{sql}"));
    }

    /// Applies pending migrations through the runner services use.
    pub async fn migrate(&self, migrations: &[Migration]) -> Result<Vec<i64>, nova_runtime::migrate::MigrateError> {
        let mut connection = self.connect().await;
        nova_runtime::migrate::apply_pending(&mut connection, migrations).await.map(|a| a.versions)
    }

    pub async fn catalog(&self) -> LiveCatalog {
        introspect(&mut self.connect().await).await.unwrap()
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(admin(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(&name))));
        })
        .join();
        if dropped.is_err() {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// A catalog with the columns of every table in name order: what "the same schema" means
/// when columns were appended by migrations in another order than the spec lists them.
pub fn ignoring_column_order(catalog: &Catalog) -> Catalog {
    let mut sorted = catalog.clone();
    for table in sorted.tables.values_mut() {
        table.columns.sort_by(|a, b| a.name.cmp(&b.name));
    }
    sorted
}

/// The repository root (squawk's settings and script live there).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Lints migration files with `.ci/squawk` (the settings CI uses); fails with squawk's report.
pub fn assert_squawk_passes(files: &[PathBuf]) {
    if files.is_empty() {
        return;
    }
    let output = Command::new(workspace_root().join(".ci/squawk")).args(files).output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "squawk refuses the migrations:\n{report}");
}
