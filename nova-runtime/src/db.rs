//! A service's own database: connecting (creating it on first start when allowed) and
//! applying the service's migrations, which generated crates embed at build time.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::migrate::{Migration as SqlxMigration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::{ConfigError, env_or};

/// One file of `migrations/<service>/`, embedded with `include_str!` by generated code.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub description: &'static str,
    pub sql: &'static str,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Create the database when it does not exist (local development and tests).
    pub create_if_missing: bool,
}

impl DatabaseConfig {
    /// `NOVA_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/<database>`),
    /// `NOVA_DATABASE_MAX_CONNECTIONS` (default 10), `NOVA_DATABASE_CREATE` (default true).
    pub fn from_env(database: &str) -> Result<Self, ConfigError> {
        Ok(DatabaseConfig {
            url: env_or("NOVA_DATABASE_URL", format!("postgres://postgres@127.0.0.1:5432/{database}"))?,
            max_connections: env_or("NOVA_DATABASE_MAX_CONNECTIONS", 10u32)?,
            acquire_timeout: Duration::from_secs(5),
            create_if_missing: env_or("NOVA_DATABASE_CREATE", true)?,
        })
    }

    pub fn for_url(url: impl Into<String>) -> Self {
        DatabaseConfig { url: url.into(), max_connections: 10, acquire_timeout: Duration::from_secs(5), create_if_missing: true }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("cannot create database {database}")]
    Create {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrations failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Connects a pool to the service's database, creating it if allowed, and applies the
/// embedded migrations (sqlx records them in `_sqlx_migrations` and refuses edited ones).
pub async fn connect_and_migrate(config: &DatabaseConfig, migrations: &'static [Migration]) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(&config.url).map_err(DbError::Url)?;
    if config.create_if_missing {
        create_database_if_missing(&options).await?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(DbError::Connect)?;
    migrator(migrations).run(&pool).await.map_err(DbError::Migrate)?;
    Ok(pool)
}

/// The sqlx migrator for embedded migration files.
pub fn migrator(migrations: &'static [Migration]) -> Migrator {
    let migrations = migrations
        .iter()
        .map(|m| SqlxMigration::new(m.version, Cow::Borrowed(m.description), MigrationType::Simple, sqlx::SqlSafeStr::into_sql_str(m.sql), false))
        .collect();
    Migrator::with_migrations(migrations)
}

async fn create_database_if_missing(options: &PgConnectOptions) -> Result<(), DbError> {
    let Some(database) = options.get_database().map(str::to_string) else { return Ok(()) };
    let admin = options.clone().database("postgres");
    let mut connection = admin.connect().await.map_err(DbError::Connect)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&database)
        .fetch_one(&mut connection)
        .await
        .map_err(DbError::Connect)?;
    if exists {
        return Ok(());
    }
    let statement = format!("CREATE DATABASE {}", quote_identifier(&database));
    match sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut connection).await {
        Ok(_) => Ok(()),
        // Another replica created it between our check and our CREATE.
        Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42P04") => Ok(()),
        Err(source) => Err(DbError::Create { database, source }),
    }
}

/// `"name"`, with embedded quotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
