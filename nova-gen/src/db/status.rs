//! `nova-gen db status`: per service, which migrations are applied and pending, whether its
//! roles exist, and drift: differences between the live schema and the schema its applied
//! migrations produce (built in a scratch database, so that PostgreSQL normalises both sides).

use nova_runtime::migrate::{self, Migration, MigrationEntry, MigrationState};

use super::introspect::introspect;
use super::{DbCommandError, DbNames, Scratch, Server, database_exists, sql_error};
use nova_gen_core::migrate::plan::plan;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub names: DbNames,
    pub database_exists: bool,
    pub missing_roles: Vec<String>,
    pub migrations: Vec<MigrationEntry>,
    /// How the live schema differs from what the applied migrations produce.
    pub drift: Vec<String>,
    /// Indexes left INVALID, constraints left NOT VALID.
    pub unfinished: Vec<String>,
}

impl StatusReport {
    /// Everything applied, nothing drifted or unfinished, roles in place.
    pub fn is_clean(&self) -> bool {
        self.database_exists
            && self.missing_roles.is_empty()
            && self.migrations.iter().all(|m| matches!(m.state, MigrationState::Applied | MigrationState::Ahead))
            && self.drift.is_empty()
            && self.unfinished.is_empty()
    }
}

pub async fn status(server: &Server, names: &DbNames, migrations: &[Migration]) -> Result<StatusReport, DbCommandError> {
    let service = &names.service;
    let mut maintenance = server.connect_maintenance().await.map_err(sql_error(service, "connecting to the server"))?;
    let roles: Vec<String> = sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname = ANY ($1)")
        .bind(vec![names.owner.clone(), names.login.clone()])
        .fetch_all(&mut maintenance)
        .await
        .map_err(sql_error(service, "reading roles"))?;
    let missing_roles = [&names.owner, &names.login].into_iter().filter(|r| !roles.contains(r)).cloned().collect();
    let mut report = StatusReport {
        names: names.clone(),
        database_exists: false,
        missing_roles,
        migrations: Vec::new(),
        drift: Vec::new(),
        unfinished: Vec::new(),
    };
    if !database_exists(&mut maintenance, &names.database).await.map_err(sql_error(service, "reading databases"))? {
        report.migrations = migrations
            .iter()
            .map(|m| MigrationEntry { version: m.version, description: m.description.to_string(), state: MigrationState::Pending })
            .collect();
        return Ok(report);
    }
    report.database_exists = true;
    let mut live = server.connect(&names.database).await.map_err(sql_error(service, "connecting to its database"))?;
    report.migrations =
        migrate::status(&mut live, migrations).await.map_err(|source| DbCommandError::Migrate { service: service.clone(), source })?;
    let live_catalog = introspect(&mut live).await.map_err(sql_error(service, "reading the live schema"))?;
    report.unfinished = live_catalog.unfinished;
    let applied: Vec<Migration> = migrations
        .iter()
        .filter(|m| report.migrations.iter().any(|e| e.version == m.version && e.state == MigrationState::Applied))
        .copied()
        .collect();
    let expected = expected_catalog(server, service, &applied).await?;
    report.drift =
        plan(&expected, &live_catalog.catalog).described().map(|c| format!("the live database {} (its migrations do not)", c.summary)).collect();
    Ok(report)
}

/// The schema `migrations` produce, built in a scratch database that is dropped again.
pub async fn expected_catalog(server: &Server, service: &str, migrations: &[Migration]) -> Result<nova_gen_core::catalog::Catalog, DbCommandError> {
    let scratch = Scratch::create(server, "status").await.map_err(sql_error(service, "creating a scratch database"))?;
    let built = async {
        let mut connection = server.connect(&scratch.name).await.map_err(sql_error(service, "connecting to the scratch database"))?;
        migrate::apply_pending(&mut connection, migrations)
            .await
            .map_err(|source| DbCommandError::Migrate { service: service.to_string(), source })?;
        introspect(&mut connection).await.map_err(sql_error(service, "reading the scratch schema"))
    }
    .await;
    let dropped = scratch.drop(server).await.map_err(sql_error(service, "dropping the scratch database"));
    let catalog = built?;
    dropped?;
    Ok(catalog.catalog)
}

/// The report as `db status` prints it.
pub fn render(report: &StatusReport) -> String {
    let names = &report.names;
    let mut out = format!("{} (database {}):\n", names.service, names.database);
    if !report.database_exists {
        out.push_str("    database missing: run `nova-gen db up`\n");
    }
    for role in &report.missing_roles {
        out.push_str(&format!("    role {role} missing: run `nova-gen db up`\n"));
    }
    for entry in &report.migrations {
        let state = match entry.state {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Edited => "EDITED after it was applied",
            MigrationState::Failed => "FAILED (marked dirty)",
            MigrationState::Unknown => "applied, but no such file any more",
            MigrationState::Ahead => "applied by a newer release",
        };
        out.push_str(&format!("    {:04} {:<40} {state}\n", entry.version, entry.description));
    }
    for line in report.drift.iter().map(|d| format!("drift: {d}")).chain(report.unfinished.iter().map(|u| format!("unfinished: {u}"))) {
        out.push_str(&format!("    {line}\n"));
    }
    if report.is_clean() {
        out.push_str("    in sync with its migrations\n");
    }
    out
}
