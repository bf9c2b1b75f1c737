//! Item 6 of issue 8: every SQL statement a generated repository runs is prepared against the
//! schema its service's migrations build, so a spec/SQL mismatch fails in `cargo test` rather
//! than at the first request. Works from what a generated crate exports (`db::MIGRATIONS`,
//! `repo::STATEMENTS`), so it knows nothing about any particular service.

use nova_runtime::codegen::sqlx::{AssertSqlSafe, Executor as _, SqlSafeStr as _};
use nova_runtime::db::Migration;

use crate::{SAFETY_TIMEOUT, TestDatabase};

/// `repo::STATEMENTS` of a generated service crate: `(table, [(function or variant, SQL)])`.
pub type RepoStatements = &'static [(&'static str, &'static [(&'static str, &'static str)])];

/// One statement PostgreSQL refused to prepare.
#[derive(Debug)]
pub struct Unpreparable {
    pub table: &'static str,
    pub statement: &'static str,
    pub error: String,
}

/// Applies `migrations` to a fresh database (through nova-runtime's migration code, as a
/// service does at start) and prepares every statement; returns how many were prepared and
/// the ones that failed.
pub async fn prepare_all(
    service: &str,
    migrations: &'static [Migration],
    statements: &[(&'static str, &'static [(&'static str, &'static str)])],
) -> (usize, Vec<Unpreparable>) {
    let named: Vec<(&'static str, &'static str, &'static str)> =
        statements.iter().flat_map(|(table, table_statements)| table_statements.iter().map(|(statement, sql)| (*table, *statement, *sql))).collect();
    let sqls: Vec<&str> = named.iter().map(|(_, _, sql)| *sql).collect();
    let refusals = prepare_each(service, migrations, &sqls).await;
    let mut prepared = 0;
    let mut failed = Vec::new();
    for ((table, statement, _), refusal) in named.into_iter().zip(refusals) {
        match refusal {
            None => prepared += 1,
            Some(error) => failed.push(Unpreparable { table, statement, error }),
        }
    }
    (prepared, failed)
}

/// Applies `migrations` to a fresh database (through nova-runtime's migration code, as a
/// service does at start) and prepares each of `statements`: for each, in order, `None` when
/// it prepared, PostgreSQL's error when it did not.
pub async fn prepare_each(service: &str, migrations: &'static [Migration], statements: &[&str]) -> Vec<Option<String>> {
    let database = TestDatabase::new(&format!("stmts_{service}"));
    // The service default (250 ms to get a connection) is a production fail-fast budget; on a
    // loaded CI box opening the first connection and migrating can take longer, and this test
    // is about the statements, not the latency.
    let mut config = database.config();
    config.acquire_timeout = SAFETY_TIMEOUT;
    let pool = match nova_runtime::db::connect_and_migrate(&config, migrations).await {
        Ok(pool) => pool,
        Err(error) => panic!("{service}: migrations do not apply: {}", nova_runtime::error::cause_chain(&error)),
    };
    let mut connection = match pool.acquire().await {
        Ok(connection) => connection,
        Err(error) => panic!("{service}: no connection: {error}"),
    };
    let mut refusals = Vec::with_capacity(statements.len());
    for sql in statements {
        let sql: String = (*sql).to_string();
        refusals.push((&mut *connection).prepare(AssertSqlSafe(sql).into_sql_str()).await.err().map(|error| error.to_string()));
    }
    drop(connection);
    pool.close().await;
    refusals
}

/// Asserts that every statement of every table prepares, and that every table has some.
pub async fn assert_all_prepare(service: &str, migrations: &'static [Migration], tables: &[&str], statements: RepoStatements) {
    let listed: Vec<&str> = statements.iter().map(|(table, _)| *table).collect();
    assert_eq!(listed, tables, "{service}: STATEMENTS covers every table, in order");
    let empty: Vec<&str> = statements.iter().filter(|(_, s)| s.is_empty()).map(|(t, _)| *t).collect();
    assert!(empty.is_empty(), "{service}: tables without statements: {empty:?}");
    let total: usize = statements.iter().map(|(_, s)| s.len()).sum();
    let (prepared, failed) = prepare_all(service, migrations, statements).await;
    let report: Vec<String> = failed.iter().map(|f| format!("{}.{}: {}", f.table, f.statement, f.error)).collect();
    assert!(failed.is_empty(), "{service}: statements PostgreSQL refuses:\n{}", report.join("\n"));
    assert_eq!(prepared, total, "{service}: every statement was prepared");
}
