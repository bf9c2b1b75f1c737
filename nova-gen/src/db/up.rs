//! `nova-gen db up`: idempotently, for each service, its roles, its database, least privilege,
//! and its pending migrations (as the owner role). Every step first looks at what exists, so a
//! second run changes nothing; GRANT and REVOKE are repeated, which leaves privileges as they are.

use nova_runtime::db::quote_identifier;
use nova_runtime::migrate::{self, Migration};
use sqlx::PgConnection;

use super::{DbCommandError, DbNames, Server, database_exists, execute, sql_error};
use nova_gen_core::lower::string_literal;

/// What `db up` did for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpReport {
    pub names: DbNames,
    /// Things created or changed (privileges that were already right are not listed).
    pub actions: Vec<String>,
    /// Migration versions applied.
    pub applied: Vec<i64>,
}

impl UpReport {
    pub fn changed_nothing(&self) -> bool {
        self.actions.is_empty() && self.applied.is_empty()
    }
}

fn q(identifier: &str) -> String {
    quote_identifier(identifier)
}

/// Brings one service's database up to date.
/// `password` is the login role's, used only if the role has to be created.
pub async fn up(server: &Server, names: &DbNames, migrations: &[Migration], password: &str) -> Result<UpReport, DbCommandError> {
    let service = &names.service;
    let mut actions = Vec::new();
    let mut maintenance = server.connect_maintenance().await.map_err(sql_error(service, "connecting to the server"))?;
    ensure_roles(&mut maintenance, names, password, &mut actions).await.map_err(sql_error(service, "creating roles"))?;
    ensure_database(&mut maintenance, names, &mut actions).await.map_err(sql_error(service, "creating the database"))?;
    let mut connection = server.connect(&names.database).await.map_err(sql_error(service, "connecting to its database"))?;
    ensure_schema(&mut connection, names, &mut actions).await.map_err(sql_error(service, "setting up the schema"))?;
    let applied = migrate::apply_pending(&mut connection, migrations)
        .await
        .map_err(|source| DbCommandError::Migrate { service: service.clone(), source })?
        .versions;
    grant_rows(&mut connection, names).await.map_err(sql_error(service, "granting privileges"))?;
    Ok(UpReport { names: names.clone(), actions, applied })
}

async fn ensure_roles(connection: &mut PgConnection, names: &DbNames, password: &str, actions: &mut Vec<String>) -> Result<(), sqlx::Error> {
    let existing: Vec<(String, bool)> = sqlx::query_as("SELECT rolname::text, rolcanlogin FROM pg_roles WHERE rolname = ANY ($1)")
        .bind(vec![names.owner.clone(), names.login.clone()])
        .fetch_all(&mut *connection)
        .await?;
    let find = |role: &str| existing.iter().find(|(name, _)| name == role).map(|(_, login)| *login);
    match find(&names.owner) {
        None => {
            execute(connection, format!("CREATE ROLE {} NOLOGIN", q(&names.owner))).await?;
            actions.push(format!("created role {} (NOLOGIN, owns the schema)", names.owner));
        }
        Some(true) => {
            execute(connection, format!("ALTER ROLE {} NOLOGIN", q(&names.owner))).await?;
            actions.push(format!("made role {} NOLOGIN", names.owner));
        }
        Some(false) => {}
    }
    match find(&names.login) {
        None => {
            // The password is set when the role is made; rotating it is `ALTER ROLE ... PASSWORD`.
            execute(connection, format!("CREATE ROLE {} LOGIN PASSWORD {}", q(&names.login), string_literal(password))).await?;
            actions.push(format!("created role {} (LOGIN)", names.login));
        }
        Some(false) => {
            execute(connection, format!("ALTER ROLE {} LOGIN", q(&names.login))).await?;
            actions.push(format!("made role {} LOGIN", names.login));
        }
        Some(true) => {}
    }
    Ok(())
}

async fn ensure_database(connection: &mut PgConnection, names: &DbNames, actions: &mut Vec<String>) -> Result<(), sqlx::Error> {
    let (database, owner) = (q(&names.database), q(&names.owner));
    if !database_exists(connection, &names.database).await? {
        execute(connection, format!("CREATE DATABASE {database} OWNER {owner}")).await?;
        actions.push(format!("created database {}", names.database));
    } else {
        let current: String = sqlx::query_scalar("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1")
            .bind(&names.database)
            .fetch_one(&mut *connection)
            .await?;
        if current != names.owner {
            execute(connection, format!("ALTER DATABASE {database} OWNER TO {owner}")).await?;
            actions.push(format!("gave database {} to {} (was {current})", names.database, names.owner));
        }
    }
    // Nobody but the owner (and superusers) may connect, except the service's login role.
    execute(connection, format!("REVOKE ALL ON DATABASE {database} FROM PUBLIC; GRANT CONNECT ON DATABASE {database} TO {}", q(&names.login))).await
}

/// The schema belongs to the owner, PUBLIC may not use it, the login role may; objects made
/// before (by a service that created its database on first start) are adopted by the owner.
async fn ensure_schema(connection: &mut PgConnection, names: &DbNames, actions: &mut Vec<String>) -> Result<(), sqlx::Error> {
    let (owner, login) = (q(&names.owner), q(&names.login));
    let schema_owner: String =
        sqlx::query_scalar("SELECT pg_get_userbyid(nspowner)::text FROM pg_namespace WHERE nspname = 'public'").fetch_one(&mut *connection).await?;
    if schema_owner != names.owner {
        execute(connection, format!("ALTER SCHEMA public OWNER TO {owner}")).await?;
        actions.push(format!("gave schema public to {} (was {schema_owner})", names.owner));
    }
    let foreign: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, c.relkind::text, pg_get_userbyid(c.relowner)::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND pg_get_userbyid(c.relowner) <> $1 \
         AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))) \
         ORDER BY c.relname",
    )
    .bind(&names.owner)
    .fetch_all(&mut *connection)
    .await?;
    for (relation, kind, was) in foreign {
        let object = match kind.as_str() {
            "v" => "VIEW",
            "m" => "MATERIALIZED VIEW",
            "S" => "SEQUENCE",
            _ => "TABLE",
        };
        execute(connection, format!("ALTER {object} public.{} OWNER TO {owner}", q(&relation))).await?;
        actions.push(format!("gave {} to {} (was {was})", relation, names.owner));
    }
    execute(
        connection,
        format!(
            "REVOKE ALL ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO {login}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {login}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE ON SEQUENCES TO {login}"
        ),
    )
    .await
}

/// Rows of every table (adopted ones included), never the schema; the migration ledger only
/// readable, so that a service can see it is up to date without the owner's rights.
async fn grant_rows(connection: &mut PgConnection, names: &DbNames) -> Result<(), sqlx::Error> {
    let login = q(&names.login);
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetch_all(&mut *connection).await?;
    for table in tables {
        let statement = if table == "_sqlx_migrations" {
            format!(
                "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.{} FROM {login}; GRANT SELECT ON public.{} TO {login}",
                q(&table),
                q(&table)
            )
        } else {
            format!("GRANT SELECT, INSERT, UPDATE, DELETE ON public.{} TO {login}", q(&table))
        };
        execute(connection, statement).await?;
    }
    execute(connection, format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {login}")).await
}
