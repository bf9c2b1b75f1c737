//! A service's own database: its configuration, a pool opened without I/O, creating the
//! database on first start when allowed, and applying the migrations that generated crates
//! embed at build time. Waiting for the database and following its health while serving is
//! the server's job (`server::database`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};

use crate::config::{ConfigError, env_or};
use crate::sql_error::{classify, find_in_chain};

pub use crate::migrate::{MigrateError, Migration};

/// How a service uses its database. Every field has a local default ([`DatabaseConfig::for_url`]);
/// [`DatabaseConfig::from_env`] reads overrides from the environment.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The service's own login role's connection URL (`postgres://user:password@host/db`):
    /// what handlers' queries run as.
    pub url: String,
    /// The pool's size: the most connections (and so concurrent queries) this replica holds.
    pub max_connections: u32,
    /// The longest a call waits for a pooled connection; the call's own deadline bounds it
    /// too. Short, so that calls fail fast with `UNAVAILABLE` instead of queueing when the
    /// database is slow or gone.
    pub acquire_timeout: Duration,
    /// Create the database when it does not exist (local development and tests).
    pub create_if_missing: bool,
    /// How long a starting service waits for its database (NOT_SERVING meanwhile) before
    /// giving up and exiting, so that an orchestrator restarts it.
    pub startup_wait: Duration,
    /// How often a serving service checks its database; health follows the answer.
    pub probe_interval: Duration,
    /// A check (or a connection attempt) slower than this counts as a failure.
    pub probe_timeout: Duration,
    /// A connection allowed to change the schema (a role that may become `<database>_owner`),
    /// used to create the database and apply pending migrations; `None`: `url` itself.
    pub migration_url: Option<String>,
}

/// Default of [`DatabaseConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// Default of [`DatabaseConfig::acquire_timeout`].
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(250);
/// Default of [`DatabaseConfig::startup_wait`].
pub const DEFAULT_STARTUP_WAIT: Duration = Duration::from_secs(60);
/// Default of [`DatabaseConfig::probe_interval`].
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// Default of [`DatabaseConfig::probe_timeout`].
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl DatabaseConfig {
    /// `NOVA_DATABASE_URL` (required: no default),
    /// `NOVA_DATABASE_MAX_CONNECTIONS` (10), `NOVA_DATABASE_CREATE` (true),
    /// `NOVA_DATABASE_ACQUIRE_TIMEOUT_MS` (250), `NOVA_DATABASE_STARTUP_WAIT_SECONDS` (60),
    /// `NOVA_DATABASE_PROBE_INTERVAL_MS` (500), `NOVA_DATABASE_PROBE_TIMEOUT_MS` (1000),
    /// `NOVA_DATABASE_MIGRATION_URL` (none: migrate through `NOVA_DATABASE_URL`).
    ///
    /// `database` (the service's database name) only appears in the error's example URL.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when `NOVA_DATABASE_URL` is unset or a variable does not parse.
    pub fn from_env(database: &str) -> Result<Self, ConfigError> {
        // No default: a default URL would be a passwordless superuser's. The service's own
        // least-privilege login role is what it should connect as (`nova-gen db up` creates it
        // and `nova-gen dev` passes its URL).
        let url: String = env_or("NOVA_DATABASE_URL", String::new())?;
        if url.is_empty() {
            return Err(ConfigError {
                name: "NOVA_DATABASE_URL".to_string(),
                value: String::new(),
                reason: format!(
                    "not set: give the URL of the service's own login role, e.g. postgres://{database}_app:<password>@127.0.0.1:5432/{database} (`nova-gen db up` creates the role; `nova-gen dev` sets this for you)"
                ),
            });
        }
        let defaults = DatabaseConfig::for_url(url);
        let migration_url: String = env_or("NOVA_DATABASE_MIGRATION_URL", String::new())?;
        Ok(DatabaseConfig {
            migration_url: (!migration_url.is_empty()).then_some(migration_url),
            url: defaults.url.clone(),
            max_connections: env_or("NOVA_DATABASE_MAX_CONNECTIONS", defaults.max_connections)?,
            acquire_timeout: millis("NOVA_DATABASE_ACQUIRE_TIMEOUT_MS", defaults.acquire_timeout)?,
            create_if_missing: env_or("NOVA_DATABASE_CREATE", defaults.create_if_missing)?,
            startup_wait: Duration::from_secs(env_or("NOVA_DATABASE_STARTUP_WAIT_SECONDS", defaults.startup_wait.as_secs())?),
            probe_interval: millis("NOVA_DATABASE_PROBE_INTERVAL_MS", defaults.probe_interval)?,
            probe_timeout: millis("NOVA_DATABASE_PROBE_TIMEOUT_MS", defaults.probe_timeout)?,
        })
    }

    /// The defaults, for the database at `url`.
    pub fn for_url(url: impl Into<String>) -> Self {
        DatabaseConfig {
            url: url.into(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            create_if_missing: true,
            startup_wait: DEFAULT_STARTUP_WAIT,
            probe_interval: DEFAULT_PROBE_INTERVAL,
            probe_timeout: DEFAULT_PROBE_TIMEOUT,
            migration_url: None,
        }
    }

    /// Where the schema is changed from: the migration URL, or the service's own.
    fn migration_options(&self, own: &PgConnectOptions) -> Result<PgConnectOptions, DbError> {
        match &self.migration_url {
            Some(url) => PgConnectOptions::from_str(url).map_err(DbError::Url),
            None => Ok(own.clone()),
        }
    }
}

fn millis(name: &str, default: Duration) -> Result<Duration, ConfigError> {
    let default = u64::try_from(default.as_millis()).unwrap_or(u64::MAX);
    Ok(Duration::from_millis(env_or(name, default)?))
}

/// Why a service's database could not be opened or prepared. [`DbError::is_transient`] tells
/// a database that is not up yet (wait and retry) from a mistake (exit).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL does not parse.
    #[error("invalid database URL: {0}")]
    Url(#[source] sqlx::Error),
    /// Connecting failed (refused, unreachable, timed out, credentials refused).
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    /// The database was missing and could not be created.
    #[error("cannot create database {database}")]
    Create {
        /// The database's name.
        database: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// Applying the embedded migrations failed.
    #[error("migrations failed")]
    Migrate(#[source] MigrateError),
    /// The database stayed unreachable for the whole startup wait.
    #[error("the database did not answer within {waited:?}")]
    GaveUp {
        /// How long the service waited.
        waited: Duration,
        /// The last failure seen.
        #[source]
        last: Box<DbError>,
    },
}

impl DbError {
    /// Whether trying again later can succeed: the database is down, starting, overloaded or
    /// unreachable. A bad URL, refused credentials or a broken migration are not.
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Url(_) | DbError::GaveUp { .. } => false,
            DbError::Connect(error) | DbError::Create { source: error, .. } => classify(error).is_transient(),
            DbError::Migrate(error) => find_in_chain(error).is_some_and(|e| classify(e).is_transient()),
        }
    }
}

/// A service's database: a pool that connects on first use, plus what the service needs to
/// prepare the database (create it, migrate it) once it answers.
#[derive(Debug, Clone)]
pub struct Database {
    pool: PgPool,
    options: PgConnectOptions,
    config: DatabaseConfig,
    migrations: &'static [Migration],
}

impl Database {
    /// The pool for `config`, without any I/O: a service starts (and serves health, reflection
    /// and `/metrics`) while its database is still unreachable. Fails only on a malformed URL.
    ///
    /// # Errors
    ///
    /// [`DbError::Url`] when `config.url` does not parse.
    pub fn open(config: &DatabaseConfig, migrations: &'static [Migration]) -> Result<Self, DbError> {
        let options = PgConnectOptions::from_str(&config.url).map_err(DbError::Url)?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            // A connection that died with the database is noticed here, not by a call.
            .test_before_acquire(true)
            .connect_lazy_with(options.clone());
        Ok(Database { pool, options, config: config.clone(), migrations })
    }

    /// The pool handlers use; cheap to clone.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// One connection outside the pool (for preparing and probing), within `probe_timeout`.
    pub(crate) async fn connect_once(&self) -> Result<PgConnection, DbError> {
        connect_within(&self.options, self.config.probe_timeout).await.map_err(DbError::Connect)
    }

    /// Creates the database if allowed and missing, applies pending migrations, and returns
    /// the connection it used (kept for probing).
    pub(crate) async fn prepare(&self) -> Result<PgConnection, DbError> {
        let migration_options = self.config.migration_options(&self.options)?;
        if self.config.create_if_missing {
            create_database_if_missing(&migration_options, self.config.probe_timeout).await?;
        }
        let mut connection = self.connect_once().await?;
        if self.config.migration_url.is_some() {
            let mut migrator = connect_within(&migration_options, self.config.probe_timeout).await.map_err(DbError::Connect)?;
            crate::migrate::apply_pending(&mut migrator, self.migrations).await.map_err(DbError::Migrate)?;
            let _ = sqlx::Connection::close(migrator).await;
        } else {
            crate::migrate::apply_pending(&mut connection, self.migrations).await.map_err(DbError::Migrate)?;
        }
        Ok(connection)
    }
}

/// Connects a pool to the service's database, creating it if allowed, and applies the
/// embedded migrations (see [`crate::migrate`]: as the owner role, under an advisory lock,
/// refusing edited ones) through the migration connection. Fails at once when the database
/// is unreachable; services use [`Database::open`] and let the server wait for it.
///
/// # Errors
///
/// [`DbError::Url`], [`DbError::Connect`], [`DbError::Create`] or [`DbError::Migrate`]: the
/// first step that failed.
pub async fn connect_and_migrate(config: &DatabaseConfig, migrations: &'static [Migration]) -> Result<PgPool, DbError> {
    let options = PgConnectOptions::from_str(&config.url).map_err(DbError::Url)?;
    let migration_options = config.migration_options(&options)?;
    if config.create_if_missing {
        create_database_if_missing(&migration_options, DEFAULT_PROBE_TIMEOUT).await?;
    }
    let mut migrator = connect_within(&migration_options, DEFAULT_PROBE_TIMEOUT).await.map_err(DbError::Connect)?;
    crate::migrate::apply_pending(&mut migrator, migrations).await.map_err(DbError::Migrate)?;
    let _ = sqlx::Connection::close(migrator).await;
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout.max(DEFAULT_PROBE_TIMEOUT))
        .connect_with(options)
        .await
        .map_err(DbError::Connect)
}

/// A connection to `options` within `timeout`: a database that does not answer at all (a
/// black-holed address) is a timed-out I/O error, transient like a refused connection.
async fn connect_within(options: &PgConnectOptions, timeout: Duration) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(timeout, options.connect()).await {
        Ok(connected) => connected,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no connection within {timeout:?}")))),
    }
}

async fn create_database_if_missing(options: &PgConnectOptions, timeout: Duration) -> Result<(), DbError> {
    let Some(database) = options.get_database().map(str::to_string) else { return Ok(()) };
    let admin = options.clone().database("postgres");
    let mut connection = connect_within(&admin, timeout).await.map_err(DbError::Connect)?;
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
