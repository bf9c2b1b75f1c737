//! What `migrations/<service>/` holds: the service's append-only migration history
//! (`NNNN_description.sql`, written by `nova-gen migrate` or by hand), the schema state the
//! history has reached (`schema.json`) and the checksum file (`nova.sum`). Read as text here;
//! `migrate` parses and verifies them, and the generated crate embeds the migration files.

use std::path::Path;

use crate::diagnostic::Diagnostic;

/// The schema the history produces, written by `nova-gen migrate` beside the migrations.
pub const STATE_FILE: &str = "schema.json";
pub const SUM_FILE: &str = crate::migrate::sum::FILE_NAME;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    pub service: String,
    pub version: i64,
    pub description: String,
    /// e.g. `0002_add_bio.sql`
    pub file_name: String,
    pub text: String,
    /// The first line is `-- no-transaction`: the runner sends the statements one by one.
    pub no_transaction: bool,
}

/// One service's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub service: String,
    /// By version.
    pub files: Vec<MigrationFile>,
    /// `schema.json`, as read.
    pub state: Option<String>,
    /// `nova.sum`, as read.
    pub sum: Option<String>,
}

impl History {
    pub fn next_version(&self) -> i64 {
        self.files.last().map_or(1, |f| f.version + 1)
    }
}

/// Reads the directory of each service (a missing one is an empty history).
pub fn read_histories(migrations_dir: &Path, services: &[&str]) -> Result<Vec<History>, Vec<Diagnostic>> {
    let mut histories = Vec::new();
    let mut problems = Vec::new();
    for service in services {
        match read_history(&migrations_dir.join(service), service) {
            Ok(history) => histories.push(history),
            Err(more) => problems.extend(more),
        }
    }
    if problems.is_empty() { Ok(histories) } else { Err(problems) }
}

fn read_history(dir: &Path, service: &str) -> Result<History, Vec<Diagnostic>> {
    let mut history = History { service: service.to_string(), ..History::default() };
    let mut problems = Vec::new();
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => return Ok(history),
    };
    names.sort();
    for name in names {
        let read = || std::fs::read_to_string(dir.join(&name));
        let unreadable = |e: std::io::Error| Diagnostic::new("spec::unreadable-migration", format!("cannot read migrations/{service}/{name}: {e}"));
        match name.as_str() {
            STATE_FILE => history.state = Some(read().map_err(|e| vec![unreadable(e)])?),
            SUM_FILE => history.sum = Some(read().map_err(|e| vec![unreadable(e)])?),
            _ => match parse_name(service, &name) {
                Some(mut file) if !history.files.iter().any(|f| f.version == file.version) => {
                    file.text = read().map_err(|e| vec![unreadable(e)])?;
                    file.no_transaction = nova_constants::migrate::wants_no_transaction(&file.text);
                    history.files.push(file);
                }
                _ => problems.push(
                    Diagnostic::new("spec::bad-migration-name", format!("migrations/{service}/{name} is not a valid migration file name"))
                        .help(format!("name migrations NNNN_description.sql, each with a version of its own (besides them the directory holds only {STATE_FILE} and {SUM_FILE})")),
                ),
            },
        }
    }
    history.files.sort_by_key(|f| f.version);
    if problems.is_empty() { Ok(history) } else { Err(problems) }
}

fn parse_name(service: &str, name: &str) -> Option<MigrationFile> {
    let stem = name.strip_suffix(".sql")?;
    let (version, description) = stem.split_once('_')?;
    if version.len() != 4 || !version.chars().all(|c| c.is_ascii_digit()) || description.is_empty() {
        return None;
    }
    Some(MigrationFile {
        service: service.to_string(),
        version: version.parse().ok().filter(|v| *v > 0)?,
        description: description.replace('_', " "),
        file_name: name.to_string(),
        text: String::new(),
        no_transaction: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_name("auth", "0002_add_bio.sql").map(|m| (m.version, m.description)), Some((2, "add bio".to_string())));
        assert!(parse_name("auth", "2_add.sql").is_none());
        assert!(parse_name("auth", "0002.sql").is_none());
        assert!(parse_name("auth", "0002_x.txt").is_none());
        assert!(parse_name("auth", "0000_zero.sql").is_none());
    }
}
