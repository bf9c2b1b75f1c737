//! `nova-gen db up` and `nova-gen db status`: each service's own database and least-privilege
//! roles on a PostgreSQL server, and its migrations applied through the same runner a starting
//! service uses ([`nova_runtime::migrate`]).
//!
//! Per service (`<database>` is the spec's database name, `nova_<service>` by default):
//! - `<database>_owner`, NOLOGIN: owns the database, the schema and every object in it; the
//!   migrations run as this role (the runner switches to it);
//! - `<database>_app`, LOGIN: what the service connects as; may connect to its own database
//!   only, use its schema, and read and write rows (SELECT, INSERT, UPDATE, DELETE on tables,
//!   USAGE on sequences, through default privileges of the owner); it cannot change the schema
//!   and can only read the migration ledger.

pub mod commands;
pub mod introspect;
pub mod secrets;
pub mod status;
pub mod up;

use std::str::FromStr;

use nova_runtime::db::quote_identifier;
use nova_runtime::migrate::Migration;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, PgConnection};

use nova_gen_core::ir::Service;
use nova_gen_core::load::migrations::History;

/// The local server `db` commands use unless `--url` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// The names of one service's database and roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbNames {
    pub service: String,
    pub database: String,
    pub owner: String,
    pub login: String,
}

impl DbNames {
    /// The spec's database name, or `<prefix>_<service>` when a prefix is given (tests use one,
    /// so that their databases and roles, which are cluster-wide, never meet anyone else's).
    pub fn of(service: &Service, prefix: Option<&str>) -> Self {
        let database = match prefix {
            Some(prefix) => format!("{prefix}_{}", service.name),
            None => service.database.clone().unwrap_or_else(|| format!("nova_{}", service.name)),
        };
        DbNames { service: service.name.clone(), owner: format!("{database}_owner"), login: format!("{database}_app"), database }
    }
}

/// How the `db` commands reach the server.
#[derive(Debug, Clone)]
pub struct Server {
    /// A role that may create databases and roles (a superuser locally).
    pub admin: PgConnectOptions,
}

/// The server URL (`db --url`, `dev --db-url`) is not a PostgreSQL URL.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid PostgreSQL URL {url}: {source}; give the URL of a role that may create databases and roles, e.g. postgres://postgres:postgres@localhost:5432/postgres"
)]
pub struct BadUrl {
    url: String,
    source: sqlx::Error,
}

impl Server {
    pub fn parse(url: &str) -> Result<Self, BadUrl> {
        let admin = PgConnectOptions::from_str(url).map_err(|source| BadUrl { url: url.to_string(), source })?;
        Ok(Server { admin })
    }

    /// An administrative connection to `database`.
    pub async fn connect(&self, database: &str) -> Result<PgConnection, sqlx::Error> {
        self.admin.clone().database(database).connect().await
    }

    /// The maintenance database.
    pub async fn connect_maintenance(&self) -> Result<PgConnection, sqlx::Error> {
        self.connect("postgres").await
    }

    /// A URL for `role` on `database`, the password left out.
    pub fn url_for(&self, role: &str, database: &str) -> String {
        format!("postgres://{role}:<password>@{}:{}/{database}", self.admin.get_host(), self.admin.get_port())
    }
}

/// A service's migration files as the runner takes them. The texts are leaked: the runner
/// takes `'static` migrations (generated code embeds them), and a `db` command runs once.
pub fn migrations_of(history: &History) -> Vec<Migration> {
    history
        .files
        .iter()
        .map(|f| Migration {
            version: f.version,
            description: Box::leak(f.description.clone().into_boxed_str()),
            sql: Box::leak(f.text.clone().into_boxed_str()),
            no_transaction: f.no_transaction,
        })
        .collect()
}

pub async fn database_exists(connection: &mut PgConnection, database: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)").bind(database).fetch_one(connection).await
}

pub async fn execute(connection: &mut PgConnection, statement: String) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(connection).await.map(|_| ())
}

/// A database that exists while a comparison needs it: created empty, dropped by [`Scratch::drop`].
pub struct Scratch {
    pub name: String,
}

impl Scratch {
    pub async fn create(server: &Server, purpose: &str) -> Result<Self, sqlx::Error> {
        let suffix: u64 = rand::random();
        let name = format!("nova_scratch_{purpose}_{suffix:016x}");
        let mut maintenance = server.connect_maintenance().await?;
        execute(&mut maintenance, format!("CREATE DATABASE {}", quote_identifier(&name))).await?;
        Ok(Scratch { name })
    }

    pub async fn drop(self, server: &Server) -> Result<(), sqlx::Error> {
        let mut maintenance = server.connect_maintenance().await?;
        execute(&mut maintenance, format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_identifier(&self.name))).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbCommandError {
    #[error("{service}: {what}")]
    Sql {
        service: String,
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{service}: applying migrations")]
    Migrate {
        service: String,
        #[source]
        source: nova_runtime::migrate::MigrateError,
    },
}

impl DbCommandError {
    /// What to do about it, for [`WithCauses`].
    fn remedy(&self) -> &'static str {
        match self {
            DbCommandError::Sql { .. } => {
                "check that PostgreSQL is running at the given URL and that its role may create databases and roles, then run the command again"
            }
            DbCommandError::Migrate { .. } => "fix the failing migration (or the rows it trips over) and run `nova-gen db up` again",
        }
    }
}

/// A [`DbCommandError`] as the command reports it: every cause on one line (sqlx keeps the
/// server's own message in the source, which a plain `Display` would drop), then what to do.
#[derive(Debug)]
pub struct WithCauses(pub DbCommandError);

impl std::fmt::Display for WithCauses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", nova_runtime::error::cause_chain(&self.0), self.0.remedy())
    }
}

// No `source`: the message already holds the whole chain, and a reporter walking sources
// would print each cause twice.
impl std::error::Error for WithCauses {}

/// `map_err` helper: a SQL failure while doing `what` for `service`.
pub fn sql_error(service: &str, what: &str) -> impl FnOnce(sqlx::Error) -> DbCommandError {
    let (service, what) = (service.to_string(), what.to_string());
    move |source| DbCommandError::Sql { service, what, source }
}

/// The services that have a database: those that own tables or already have migrations.
pub fn services_with_databases(analysis: &nova_gen_core::Analysis) -> Vec<(&Service, &History)> {
    analysis
        .spec
        .services
        .iter()
        .filter_map(|service| {
            let history = nova_gen_core::migrate::history_of(analysis, &service.name)?;
            service.database.is_some().then_some((service, history))
        })
        .collect()
}

/// Refuses histories `check` would refuse (edited, renamed, removed or unrecorded files): the
/// `db` commands apply only what is committed and recorded.
pub fn intact_migrations(history: &History) -> Result<Vec<Migration>, Vec<nova_gen_core::diagnostic::Diagnostic>> {
    let (_, problems) = nova_gen_core::migrate::verify::verify_history(history);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(migrations_of(history))
}
