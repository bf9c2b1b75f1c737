//! The migration files already in `migrations/<service>/`. nova-gen writes the first one from
//! the spec; later ones are appended by people (append-only, `NNNN_description.sql`) and the
//! generated crate embeds them all.

use std::path::Path;

use crate::diagnostic::Diagnostic;

/// The migration nova-gen writes from the spec.
pub const INITIAL: &str = "0001_init.sql";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    pub service: String,
    pub version: i64,
    pub description: String,
    /// e.g. `0002_add_bio.sql`
    pub file_name: String,
}

/// Lists the migrations of each service (the initial one always included), sorted by version.
pub fn list_migrations(migrations_dir: &Path, services: &[&str]) -> Result<Vec<MigrationFile>, Vec<Diagnostic>> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for service in services {
        let mut files = vec![parse_name(service, INITIAL).unwrap_or(MigrationFile {
            service: service.to_string(),
            version: 1,
            description: "init".into(),
            file_name: INITIAL.into(),
        })];
        let dir = migrations_dir.join(service);
        let names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        };
        for name in names {
            if name == INITIAL {
                continue;
            }
            match parse_name(service, &name) {
                Some(file) if file.version > 1 && !files.iter().any(|f| f.version == file.version) => files.push(file),
                _ => problems.push(
                    Diagnostic::new("spec::bad-migration-name", format!("migrations/{service}/{name} is not a valid migration file name"))
                        .help("name migrations NNNN_description.sql with a version above 0001 used by no other file, e.g. 0002_add_bio.sql"),
                ),
            }
        }
        files.sort_by_key(|f| f.version);
        found.extend(files);
    }
    if problems.is_empty() { Ok(found) } else { Err(problems) }
}

fn parse_name(service: &str, name: &str) -> Option<MigrationFile> {
    let stem = name.strip_suffix(".sql")?;
    let (version, description) = stem.split_once('_')?;
    if version.len() != 4 || !version.chars().all(|c| c.is_ascii_digit()) || description.is_empty() {
        return None;
    }
    Some(MigrationFile {
        service: service.to_string(),
        version: version.parse().ok()?,
        description: description.replace('_', " "),
        file_name: name.to_string(),
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
    }
}
