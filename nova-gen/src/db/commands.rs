//! The `db up` and `db status` commands: every service with a database, brought up (or
//! inspected) together, reported in spec order.

use std::fmt::Write as _;
use std::path::Path;

use super::secrets::{Secrets, env_var};
use super::{DbCommandError, DbNames, Server, WithCauses, intact_migrations, migrations_of, services_with_databases, status, up};
use crate::block_on;
use nova_gen_core::{Analysis, Failure};

fn failed(error: DbCommandError) -> Failure {
    Failure::Command(Box::new(WithCauses(error)))
}

/// `db up`: the report to print, and whether it succeeded (always, when it returns).
pub fn up(analysis: &Analysis, url: &str, prefix: Option<&str>, secrets_path: &Path) -> Result<(String, bool), Failure> {
    let server = Server::parse(url).map_err(|e| Failure::Command(e.into()))?;
    let mut secrets = Secrets::load(secrets_path).map_err(|e| Failure::Command(e.into()))?;
    let mut work = Vec::new();
    for (service, history) in services_with_databases(analysis) {
        let migrations = intact_migrations(history).map_err(Failure::Spec)?;
        let names = DbNames::of(service, prefix);
        let password = secrets.password(&names.service, &names.login);
        work.push((names, migrations, password));
    }
    // Saved before any role is made with them.
    secrets.save().map_err(|e| Failure::Command(e.into()))?;
    let reports = block_on(async {
        let reports =
            futures_util::future::join_all(work.iter().map(|(names, migrations, password)| up::up(&server, names, migrations, password))).await;
        reports.into_iter().collect::<Result<Vec<_>, _>>().map_err(failed)
    })?;
    let mut out = String::new();
    for report in &reports {
        let names = &report.names;
        let applied: Vec<String> = report.applied.iter().map(|v| format!("{v:04}")).collect();
        let summary = if report.changed_nothing() {
            "up to date, nothing changed".to_string()
        } else {
            format!("{} change(s), applied [{}]", report.actions.len(), applied.join(", "))
        };
        let _ = writeln!(out, "{}: database {}, owner {} (NOLOGIN), login {}; {summary}", names.service, names.database, names.owner, names.login);
        for action in &report.actions {
            let _ = writeln!(out, "    {action}");
        }
        let _ = writeln!(
            out,
            "    NOVA_DATABASE_URL={} (password: ${} or {})",
            server.url_for(&names.login, &names.database),
            env_var(&names.service),
            secrets.path().display()
        );
    }
    Ok((out, true))
}

/// `db status`: the report, and whether every service is applied and in sync.
pub fn status(analysis: &Analysis, url: &str, prefix: Option<&str>) -> Result<(String, bool), Failure> {
    let server = Server::parse(url).map_err(|e| Failure::Command(e.into()))?;
    let work: Vec<_> =
        services_with_databases(analysis).into_iter().map(|(service, history)| (DbNames::of(service, prefix), migrations_of(history))).collect();
    let reports = block_on(async {
        let reports = futures_util::future::join_all(work.iter().map(|(names, migrations)| status::status(&server, names, migrations))).await;
        reports.into_iter().collect::<Result<Vec<_>, _>>().map_err(failed)
    })?;
    let clean = reports.iter().all(status::StatusReport::is_clean);
    Ok((reports.iter().map(status::render).collect(), clean))
}
