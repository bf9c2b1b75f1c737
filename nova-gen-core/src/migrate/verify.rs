//! What `check` proves about a service's migrations, without a database: every committed file
//! is still the one recorded in `nova.sum` (not edited, renamed or removed), every file is
//! recorded, the schema state is the one `migrate` wrote, and the spec describes the schema the
//! history produces (otherwise: which changes, and the `migrate` command to run).

use super::plan::{Plan, plan};
use super::state;
use super::sum::{self, SumFile};
use crate::catalog::Catalog;
use crate::diagnostic::Diagnostic;
use crate::load::migrations::{History, STATE_FILE, SUM_FILE};
use crate::source::SourceFile;

fn path(service: &str, file: &str) -> String {
    format!("migrations/{service}/{file}")
}

/// The integrity problems of a history, and the catalog its state file holds (when it exists
/// and parses). An empty history (a new service) has neither problems nor state.
pub fn verify_history(history: &History) -> (Option<Catalog>, Vec<Diagnostic>) {
    let service = &history.service;
    let mut problems = Vec::new();
    if history.files.is_empty() && history.state.is_none() && history.sum.is_none() {
        return (None, problems);
    }
    let Some(sum_text) = &history.sum else {
        problems.push(
            Diagnostic::new("migrations::no-sum", format!("migrations/{service} holds migrations but no {SUM_FILE}"))
                .help(format!("record the files as they are, once, with `nova-gen migrate {service} --record`, and commit {SUM_FILE}")),
        );
        return (parse_state(history, &mut problems), problems);
    };
    let sum_file = SourceFile::new(path(service, SUM_FILE), sum_text.as_str());
    match sum::parse(sum_text) {
        Err(line) => problems.push(
            Diagnostic::new("migrations::sum-syntax", format!("{} is not a checksum file", sum_file.name))
                .in_file(&sum_file)
                .label(line_span(sum_text, line - 1), "expected `<file> h1:<hash>` (the first line: `h1:<hash>`)")
                .help("nova-gen writes this file: restore it from version control"),
        ),
        Ok(recorded) => check_entries(history, &recorded, &sum_file, &mut problems),
    }
    if history.state.is_none() && !history.files.is_empty() {
        problems.push(
            Diagnostic::new("migrations::no-state", format!("migrations/{service} holds migrations but no {STATE_FILE}"))
                .help("nova-gen migrate writes it with every migration: restore it from version control"),
        );
    }
    (parse_state(history, &mut problems), problems)
}

fn parse_state(history: &History, problems: &mut Vec<Diagnostic>) -> Option<Catalog> {
    let text = history.state.as_ref()?;
    match state::parse(text) {
        Ok(catalog) => Some(catalog),
        Err(error) => {
            let file = SourceFile::new(path(&history.service, STATE_FILE), text.as_str());
            let offset = file.offset_of(error.line().saturating_sub(1), error.column().saturating_sub(1));
            problems.push(
                Diagnostic::new("migrations::state-syntax", format!("{} does not hold a schema: {error}", file.name))
                    .in_file(&file)
                    .label(offset..offset, "here")
                    .help("nova-gen migrate writes this file: restore it from version control"),
            );
            None
        }
    }
}

fn check_entries(history: &History, recorded: &SumFile, sum_file: &SourceFile, problems: &mut Vec<Diagnostic>) {
    let service = &history.service;
    let sum_text = &sum_file.text;
    if recorded.computed_total() != recorded.total {
        problems.push(
            Diagnostic::new(
                "migrations::sum-edited",
                format!("{} was edited by hand: its first line does not match the entries below it", sum_file.name),
            )
            .in_file(sum_file)
            .label(line_span(sum_text, 0), "the hash of every line below")
            .help("nova-gen writes this file: restore it from version control"),
        );
    }
    let unrecorded: Vec<_> = history.files.iter().filter(|f| recorded.entry(&f.file_name).is_none()).collect();
    let mut renamed_to = Vec::new();
    for entry in recorded.entries.iter().filter(|e| e.file != STATE_FILE) {
        let shown = path(service, &entry.file);
        let span = line_span(sum_text, entry.line);
        match history.files.iter().find(|f| f.file_name == entry.file) {
            Some(file) if sum::hash(file.text.as_bytes()) == entry.hash => {}
            Some(_) => problems.push(
                Diagnostic::new("migrations::edited", format!("{shown} was edited after it was recorded"))
                    .in_file(sum_file)
                    .label(span, "recorded here with another checksum")
                    .help(format!(
                        "a committed migration never changes (databases that applied it refuse the edited one): restore it with `git checkout -- {shown}` and make the change in a new migration, `nova-gen migrate {service} --name <what-changes>`"
                    )),
            ),
            None => match unrecorded.iter().find(|f| sum::hash(f.text.as_bytes()) == entry.hash) {
                Some(new) => {
                    renamed_to.push(new.file_name.clone());
                    problems.push(
                        Diagnostic::new("migrations::renamed", format!("{shown} was renamed to {}", new.file_name))
                            .in_file(sum_file)
                            .label(span, "recorded here under its first name")
                            .help("databases know migrations by version and checksum: give the file back its recorded name"),
                    );
                }
                None => problems.push(
                    Diagnostic::new("migrations::removed", format!("{shown} was removed"))
                        .in_file(sum_file)
                        .label(span, "recorded here")
                        .help(format!(
                            "restore it with `git checkout -- {shown}`; what a migration did is undone only by a new one (`nova-gen migrate {service} --name <what-changes>`)"
                        )),
                ),
            },
        }
    }
    for file in unrecorded.iter().filter(|f| !renamed_to.contains(&f.file_name)) {
        let source = SourceFile::new(path(service, &file.file_name), file.text.as_str());
        problems.push(
            Diagnostic::new("migrations::unrecorded", format!("{} is not recorded in {SUM_FILE}", source.name)).in_file(&source).help(format!(
                "`nova-gen migrate` records the files it writes; a migration written by hand (for data: schema changes come from the spec) is recorded with `nova-gen migrate {service} --record`"
            )),
        );
    }
    check_state_entry(history, recorded, sum_file, problems);
}

fn check_state_entry(history: &History, recorded: &SumFile, sum_file: &SourceFile, problems: &mut Vec<Diagnostic>) {
    let Some(text) = &history.state else { return };
    let shown = path(&history.service, STATE_FILE);
    let problem = match recorded.entry(STATE_FILE) {
        Some(entry) if entry.hash == sum::hash(text.as_bytes()) => return,
        Some(entry) => Diagnostic::new("migrations::state-edited", format!("{shown} was edited by hand"))
            .in_file(sum_file)
            .label(line_span(&sum_file.text, entry.line), "recorded here with another checksum"),
        None => Diagnostic::new("migrations::state-edited", format!("{shown} is not recorded in {SUM_FILE}")),
    };
    problems.push(problem.help("nova-gen migrate writes the schema state with every migration: restore it from version control"));
}

/// Whether the spec describes the schema the history produces; if not, what differs and the
/// command that writes the next migration.
pub fn verify_against_spec(service: &str, history: &History, produced: Option<&Catalog>, wanted: &Catalog) -> Option<Diagnostic> {
    if history.files.is_empty() {
        return (!wanted.tables.is_empty()).then(|| {
            Diagnostic::new("migrations::none", format!("the {service} service owns tables but has no migrations yet"))
                .help(format!("write its first migration with `nova-gen migrate {service} --name init`"))
        });
    }
    let produced = produced?;
    let plan = plan(produced, wanted);
    (!plan.is_empty()).then(|| behind_spec(service, &plan))
}

fn behind_spec(service: &str, plan: &Plan) -> Diagnostic {
    let summaries: Vec<String> = plan.described().map(|c| format!("spec {}", c.summary)).collect();
    let command = format!("nova-gen migrate {service} --name {}", plan.suggested_name());
    match summaries.as_slice() {
        [only] => Diagnostic::new("migrations::behind-spec", format!("{only}; run `{command}`")),
        _ => Diagnostic::new(
            "migrations::behind-spec",
            format!("the {service} spec differs from its migrations in {} ways: {}; run `{command}`", summaries.len(), summaries.join(", ")),
        ),
    }
    .help("`nova-gen migrate` writes the next migration from the spec (committed migrations never change)")
}

/// The byte span of a 0-based line.
fn line_span(text: &str, line: usize) -> std::ops::Range<usize> {
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let length = text[start.min(text.len())..].find('\n').unwrap_or(text.len().saturating_sub(start));
    start..start + length
}
