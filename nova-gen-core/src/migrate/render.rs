//! Migration files as text: a whole catalog as the first migration of a service, and a plan
//! as up to three files (one per [`Phase`]), through the askama templates
//! `templates/migration.sql` and `templates/migration_step.sql`.

use askama::Template;

use super::MigrateError;
use super::ddl;
use super::plan::{Phase, Plan, Step};
use crate::catalog::{Catalog, ConstraintKind};

/// One file to write: `NNNN_<slug>.sql` and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub file_name: String,
    pub text: String,
}

/// The opening comment of every file `nova-gen migrate` writes (no timestamp: output is
/// deterministic).
fn header(service: &str, version: i64) -> String {
    format!(
        "-- Migration {version:04} of the {service} service, written by `nova-gen migrate` from specs/ownership.toml.\n\
         -- Committed migrations never change (nova.sum records them): to change the schema, edit the\n\
         -- spec and run `nova-gen migrate {service} --name <what-changes>`."
    )
}

pub fn file_name(version: i64, slug: &str) -> String {
    format!("{version:04}_{slug}.sql")
}

#[derive(Template)]
#[template(path = "migration.sql", escape = "none")]
struct InitialView<'a> {
    header: String,
    service: &'a str,
    database: &'a str,
    /// `CREATE EXTENSION` statements the column types need, before the tables.
    extensions: Vec<String>,
    tables: Vec<TableView>,
    foreign_keys: Vec<String>,
}

struct TableView {
    name: String,
    /// Column definitions and table constraints, in order.
    lines: Vec<String>,
    /// Indexes and comments that follow the table.
    statements: Vec<String>,
}

/// The first migration of a service: every table of `catalog`, created whole.
pub fn render_initial(service: &str, database: &str, catalog: &Catalog, version: i64, slug: &str) -> Result<RenderedFile, MigrateError> {
    let view = InitialView {
        header: format!("{}\n", header(service, version)),
        service,
        database,
        extensions: catalog.extensions.iter().map(|e| ddl::create_extension(e)).collect(),
        tables: catalog
            .tables
            .iter()
            .map(|(name, table)| {
                let mut statements: Vec<String> = table.indexes.iter().map(|(index, def)| ddl::create_index(name, index, def, false)).collect();
                statements.extend(table.comment.as_deref().map(|c| ddl::comment_on_table(name, Some(c))));
                statements.extend(
                    table.columns.iter().filter(|c| c.comment.is_some()).map(|c| ddl::comment_on_column(name, &c.name, c.comment.as_deref())),
                );
                TableView { name: name.clone(), lines: ddl::create_table_lines(table), statements }
            })
            .collect(),
        foreign_keys: catalog
            .tables
            .iter()
            .flat_map(|(name, table)| {
                table
                    .constraints
                    .values()
                    .filter(|c| matches!(c.kind, ConstraintKind::ForeignKey { .. }))
                    .map(move |c| ddl::add_constraint(name, c, false))
            })
            .collect(),
    };
    let mut text = view.render().map_err(|e| MigrateError::Render(format!("rendering the first migration of {service}: {e}")))?;
    text.push('\n');
    Ok(RenderedFile { file_name: file_name(version, slug), text })
}

#[derive(Template)]
#[template(path = "migration_step.sql", escape = "none")]
struct StepView {
    no_transaction: bool,
    header: String,
    purpose: &'static str,
    lock_timeout: &'static str,
    statement_timeout: &'static str,
    /// Each statement with its comment lines above it.
    blocks: Vec<String>,
}

struct PhaseText {
    suffix: &'static str,
    purpose: &'static str,
    /// Metadata changes wait briefly for their lock; scans may take as long as the table needs,
    /// since they hold only locks that let reads and writes through.
    statement_timeout: &'static str,
}

fn phase_text(phase: Phase) -> PhaseText {
    match phase {
        Phase::Transactional => PhaseText {
            suffix: "",
            purpose: "One transaction: metadata changes and new tables; constraints on existing tables are added NOT VALID.",
            statement_timeout: "1min",
        },
        Phase::Online => PhaseText {
            suffix: "_concurrently",
            purpose: "Outside a transaction, statement by statement: indexes built CONCURRENTLY and batched backfills; each statement can run again after a failure.",
            statement_timeout: "0",
        },
        Phase::Validate => PhaseText {
            suffix: "_validate",
            purpose: "One transaction, after the previous migrations committed: validations that scan without blocking writes, then brief metadata changes.",
            statement_timeout: "0",
        },
    }
}

/// A statement waits at most this long for its lock, so that a migration never queues behind
/// a long transaction while every query on the table queues behind it; it fails instead, and
/// the next start (or `db up`) tries again.
pub const LOCK_TIMEOUT: &str = "5s";

/// The files of a plan, numbered from `first_version`, named after `slug`.
pub fn render_plan(service: &str, plan: &Plan, first_version: i64, slug: &str) -> Result<Vec<RenderedFile>, MigrateError> {
    let mut files = Vec::new();
    let mut version = first_version;
    for phase in [Phase::Transactional, Phase::Online, Phase::Validate] {
        let steps: Vec<&Step> = plan.steps(phase).collect();
        if steps.is_empty() {
            continue;
        }
        let text = phase_text(phase);
        let view = StepView {
            no_transaction: phase == Phase::Online,
            header: header(service, version),
            purpose: text.purpose,
            lock_timeout: LOCK_TIMEOUT,
            statement_timeout: text.statement_timeout,
            blocks: steps.iter().map(|s| block(s)).collect(),
        };
        let mut rendered = view.render().map_err(|e| MigrateError::Render(format!("rendering migration {version} of {service}: {e}")))?;
        rendered.push('\n');
        files.push(RenderedFile { file_name: file_name(version, &format!("{slug}{}", text.suffix)), text: rendered });
        version += 1;
    }
    Ok(files)
}

/// A statement with its notes, and squawk's ignore directive right above it.
fn block(step: &Step) -> String {
    let mut lines: Vec<String> = step.notes.iter().map(|n| format!("-- {n}")).collect();
    if let Some(rule) = step.squawk_ignore {
        lines.push(format!("-- squawk-ignore {rule}"));
    }
    lines.push(step.sql.clone());
    lines.join("\n")
}
