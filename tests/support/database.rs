//! A PostgreSQL database that exists for one test and is dropped afterwards, even when the
//! test fails.

use nova_runtime::codegen::sqlx::{self, ConnectOptions as _, Connection as _};
use nova_runtime::db::{DatabaseConfig, quote_identifier};
use sqlx::postgres::PgConnectOptions;

/// The server tests use: `NOVA_TEST_POSTGRES` or the local one.
pub fn server_url() -> String {
    std::env::var("NOVA_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// A uniquely named database; the service under test creates it on start (as it would in
/// development) and `Drop` removes it.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// A fresh name such as `nova_test_auth_1a2b...`; nothing is created yet.
    pub fn new(prefix: &str) -> Self {
        let name = format!("nova_test_{prefix}_{}", uuid::Uuid::new_v4().simple());
        let url = format!("{}/{name}", server_url());
        TestDatabase { name, url }
    }

    pub fn config(&self) -> DatabaseConfig {
        DatabaseConfig::for_url(&self.url)
    }

    /// A direct connection, for assertions on what the service stored.
    pub async fn connect(&self) -> sqlx::PgConnection {
        match sqlx::PgConnection::connect(&self.url).await {
            Ok(connection) => connection,
            Err(error) => panic!("cannot connect to test database {}: {error}", self.name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee; use a private one on a plain thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let options: PgConnectOptions = format!("{}/postgres", server_url()).parse().ok()?;
                let mut connection = options.connect().await.ok()?;
                let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(&name));
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut connection).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
