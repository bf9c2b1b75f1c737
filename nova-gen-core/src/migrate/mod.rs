//! `nova-gen migrate`: the append-only migration history of each service.
//!
//! The spec's tables are lowered to the catalog the service wants ([`crate::lower`]); the
//! history's state file says which catalog the committed migrations produce; the planner
//! diffs the two into safe steps and `migrate` writes them as the next numbered file(s),
//! updating the state and appending to the checksum file. Nothing ever rewrites a committed
//! migration; `check` proves it ([`verify`]).

pub mod columns;
pub mod ddl;
pub mod plan;
pub mod render;
pub mod state;
pub mod sum;
pub mod verify;

use std::path::Path;

use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::ir::Service;
use crate::layout::{Layout, out};
use crate::load::migrations::{History, STATE_FILE, SUM_FILE};
use crate::{Analysis, Failure};
use plan::Refusal;
use render::RenderedFile;
use sum::{SumEntry, SumFile};

/// A bug in `nova-gen migrate`, or a state file it cannot read (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A migration or the state file did not render.
    #[error("internal error while generating code: {0}")]
    Render(String),
    /// The model gave a service tables but no database.
    #[error("{service} owns tables but has no database")]
    NoDatabase { service: String },
    /// `migrations/<service>/schema.json` is not a state file.
    #[error("migrations/{service}/{STATE_FILE}: {source}")]
    State { service: String, source: serde_json::Error },
}

/// What `nova-gen migrate <service>` was asked to do.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    pub service: String,
    /// `--name`: the slug of the new file(s), e.g. `pin-posts`.
    pub name: Option<String>,
    pub allow_destructive: bool,
    /// `--record`: record hand-written files in the checksum file (and, when a history has
    /// no state yet, take the spec's schema as the one it produces).
    pub record: bool,
}

/// What it did, for the command's output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateOutcome {
    /// Repository-relative paths written, in order.
    pub written: Vec<String>,
    /// One line per change (or per recorded file).
    pub notes: Vec<String>,
}

/// Checks one service's history against its checksum file and the spec: the diagnostics
/// `nova-gen check` reports.
pub fn verify_service(service: &Service, history: &History) -> Vec<Diagnostic> {
    let (produced, mut problems) = verify::verify_history(history);
    if problems.is_empty() {
        let wanted = crate::lower::lower_service(service);
        problems.extend(verify::verify_against_spec(&service.name, history, produced.as_ref(), &wanted));
    }
    problems
}

/// The history of `service` in an analysis (an empty one when the directory does not exist).
pub fn history_of<'a>(analysis: &'a Analysis, service: &str) -> Option<&'a History> {
    analysis.histories.iter().find(|h| h.service == service)
}

/// Plans and writes the next migration of a service (or records files, with `record`).
pub fn migrate(layout: &Layout, analysis: &Analysis, request: &MigrateRequest) -> Result<MigrateOutcome, Failure> {
    let service = analysis.spec.service(&request.service).ok_or_else(|| unknown_service(analysis, &request.service))?;
    let empty = History { service: service.name.clone(), ..History::default() };
    let history = history_of(analysis, &service.name).unwrap_or(&empty);
    if request.record {
        return record(layout, service, history);
    }
    let (produced, problems) = verify::verify_history(history);
    if !problems.is_empty() {
        return Err(Failure::Spec(problems));
    }
    let wanted = crate::lower::lower_service(service);
    let slug = |request: &MigrateRequest| -> Result<String, Failure> {
        let name = request.name.as_deref().ok_or_else(|| Failure::Spec(vec![missing_name(&service.name)]))?;
        file_slug(name).ok_or_else(|| Failure::Spec(vec![bad_name(name)]))
    };
    if history.files.is_empty() {
        if wanted.tables.is_empty() {
            return Ok(MigrateOutcome { written: Vec::new(), notes: vec![format!("{} owns no table: it needs no migration", service.name)] });
        }
        let database = service.database.as_deref().ok_or_else(|| MigrateError::NoDatabase { service: service.name.clone() })?;
        let file = render::render_initial(&service.name, database, &wanted, 1, &slug(request)?)?;
        let notes = wanted.tables.keys().map(|t| format!("adds table {t}")).collect();
        return write(layout, service, history, &[file], &wanted, notes);
    }
    let produced = produced.unwrap_or_default();
    let plan = plan::plan(&produced, &wanted);
    if plan.is_empty() {
        return Ok(MigrateOutcome {
            written: Vec::new(),
            notes: vec![format!("the migrations of {} already produce the spec's schema", service.name)],
        });
    }
    refuse(&plan, request.allow_destructive)?;
    let files = render::render_plan(&service.name, &plan, history.next_version(), &slug(request)?)?;
    let notes = plan.described().map(|c| c.summary.clone()).collect();
    write(layout, service, history, &files, &plan::resulting_catalog(&produced, &wanted), notes)
}

/// Destructive changes need `--allow-destructive`; unsupported ones are never written.
fn refuse(plan: &plan::Plan, allow_destructive: bool) -> Result<(), Failure> {
    let mut problems = Vec::new();
    for change in &plan.changes {
        match &change.refusal {
            Some(Refusal::Unsupported(reason)) => problems.push(
                Diagnostic::new("migrate::unsupported", format!("cannot write a migration for this change: spec {}", change.summary))
                    .help(reason.clone()),
            ),
            Some(Refusal::Destructive(reason)) if !allow_destructive => problems.push(
                Diagnostic::new("migrate::destructive", format!("refusing a destructive change: spec {}", change.summary)).help(format!(
                    "{}; if that is intended, run again with --allow-destructive (the migration then says so in a comment above the statement)",
                    capitalised(reason)
                )),
            ),
            _ => {}
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(Failure::Spec(problems)) }
}

/// Writes the new files, the state they produce and the checksum file with their entries
/// appended.
fn write(
    layout: &Layout,
    service: &Service,
    history: &History,
    files: &[RenderedFile],
    produced: &Catalog,
    notes: Vec<String>,
) -> Result<MigrateOutcome, Failure> {
    let dir = out::migrations(&service.name);
    let state_text = state::render(produced)?;
    let mut entries: Vec<(String, Vec<u8>)> = history.files.iter().map(|f| (f.file_name.clone(), f.text.clone().into_bytes())).collect();
    entries.extend(files.iter().map(|f| (f.file_name.clone(), f.text.clone().into_bytes())));
    entries.push((STATE_FILE.to_string(), state_text.clone().into_bytes()));
    let sum = SumFile::over(entries.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice())));
    let mut written = Vec::new();
    for file in files {
        written.push(write_file(&layout.root, &format!("{dir}/{}", file.file_name), &file.text)?);
    }
    written.push(write_file(&layout.root, &format!("{dir}/{STATE_FILE}"), &state_text)?);
    written.push(write_file(&layout.root, &format!("{dir}/{SUM_FILE}"), &sum.render())?);
    Ok(MigrateOutcome { written, notes })
}

fn write_file(root: &Path, relative: &str, text: &str) -> Result<String, Failure> {
    let target = root.join(relative);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(Failure::io(format!("creating {}", parent.display())))?;
    }
    std::fs::write(&target, text).map_err(Failure::io(format!("writing {relative}")))?;
    Ok(relative.to_string())
}

/// `--record`: appends the files the checksum file lacks (which must come after every recorded
/// one); a history without state takes the spec's schema as the one it produces.
fn record(layout: &Layout, service: &Service, history: &History) -> Result<MigrateOutcome, Failure> {
    let (_, problems) = verify::verify_history(history);
    let blocking: Vec<Diagnostic> = problems
        .into_iter()
        .filter(|p| !matches!(p.code, "migrations::unrecorded" | "migrations::no-sum" | "migrations::no-state" | "migrations::state-edited"))
        .collect();
    if !blocking.is_empty() {
        return Err(Failure::Spec(blocking));
    }
    let recorded: Vec<SumEntry> = history.sum.as_deref().and_then(|s| sum::parse(s).ok()).map(|s| s.entries).unwrap_or_default();
    let last_recorded = history.files.iter().filter(|f| recorded.iter().any(|e| e.file == f.file_name)).map(|f| f.version).max().unwrap_or(0);
    let mut notes = Vec::new();
    for file in history.files.iter().filter(|f| !recorded.iter().any(|e| e.file == f.file_name)) {
        if file.version < last_recorded {
            return Err(Failure::Spec(vec![
                Diagnostic::new(
                    "migrate::out-of-order",
                    format!("migrations/{}/{} comes before migrations already recorded", service.name, file.file_name),
                )
                .help(format!("number it after the last recorded migration ({last_recorded:04})")),
            ]));
        }
        notes.push(format!("records {}", file.file_name));
    }
    let produced = match history.state.as_deref().map(state::parse) {
        Some(Ok(catalog)) => catalog,
        Some(Err(source)) => return Err(MigrateError::State { service: service.name.clone(), source }.into()),
        None => {
            notes.push(format!("takes the spec's schema as the one the existing migrations produce ({STATE_FILE})"));
            crate::lower::lower_service(service)
        }
    };
    write(layout, service, history, &[], &produced, notes)
}

/// `pin-posts` becomes the file slug `pin_posts`; anything but lower-case letters, digits,
/// `-` and `_` is refused.
pub fn file_slug(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    valid.then(|| name.replace('-', "_"))
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn unknown_service(analysis: &Analysis, name: &str) -> Failure {
    let known: Vec<&str> = analysis.spec.services.iter().map(|s| s.name.as_str()).collect();
    Failure::Spec(vec![
        Diagnostic::new("migrate::unknown-service", format!("no service named `{name}` in the spec")).help(format!("services: {}", known.join(", "))),
    ])
}

fn missing_name(service: &str) -> Diagnostic {
    Diagnostic::new("migrate::missing-name", "a new migration needs a name")
        .help(format!("say what it does: `nova-gen migrate {service} --name pin-posts`"))
}

fn bad_name(name: &str) -> Diagnostic {
    Diagnostic::new("migrate::bad-name", format!("`{name}` cannot name a migration file"))
        .help("use lower-case letters, digits and dashes, starting with a letter or digit: `--name pin-posts`")
}
