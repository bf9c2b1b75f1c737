//! Service boundaries, enforced on the handwritten crates: a service reaches another
//! service's data only through that service's generated client. The crate graph does most of
//! it: another service's repositories, database, server and `Logic` live in its own crate
//! `nova-<svc>`, which only its owner may depend on. `nova-gen check` fails, naming file and
//! line, when a handwritten crate
//! - depends on another service's own crate or handwritten crate (manifest.rs),
//! - or has SQL naming another service's table, or another service's database, in a string
//!   (rust.rs with sql.rs) — what no compiler can see,
//! - or depends on the client (`nova-<svc>-api`) of a service its `calls` do not list (manifest.rs).
//!
//! This turns the seed's success metrics ("100 % of inter-service communication over gRPC",
//! "0 cross-database FKs") into a CI gate.

mod manifest;
mod rust;
mod sql;

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::ir::Spec;
use crate::layout::out;
use crate::source::SourceFile;

/// Who owns what, as the checks need it.
pub(crate) struct Ownership<'a> {
    pub spec: &'a Spec,
}

impl Ownership<'_> {
    /// The service owning `table`, when it is not `service` itself.
    pub fn foreign_owner(&self, service: &str, table: &str) -> Option<&str> {
        let owner = self.spec.owner_of(table)?;
        (owner.name != service && self.spec.service(service).is_none_or(|s| s.table(table).is_none())).then_some(owner.name.as_str())
    }
}

/// Checks every crate under handwritten/.
pub fn check(root: &Path, spec: &Spec) -> std::io::Result<Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let handwritten = root.join(out::HANDWRITTEN);
    if !handwritten.is_dir() {
        return Ok(diagnostics);
    }
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&handwritten)?.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    crates.sort();
    let ownership = Ownership { spec };
    for crate_dir in crates {
        let service = crate_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        diagnostics.extend(check_crate(root, &crate_dir, &service, &ownership)?);
    }
    Ok(diagnostics)
}

fn check_crate(root: &Path, crate_dir: &Path, service: &str, ownership: &Ownership<'_>) -> std::io::Result<Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    let manifest_path = crate_dir.join("Cargo.toml");
    if manifest_path.is_file() {
        let file = read_source(root, &manifest_path)?;
        diagnostics.extend(manifest::check_manifest(&file, service, ownership));
    }
    for path in rust_files(crate_dir)? {
        let file = read_source(root, &path)?;
        diagnostics.extend(rust::check_rust(&file, service, ownership));
    }
    Ok(diagnostics)
}

fn read_source(root: &Path, path: &Path) -> std::io::Result<SourceFile> {
    let text = std::fs::read_to_string(path)?;
    let name = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
    Ok(SourceFile::new(name, text))
}

/// Every `.rs` file of a crate (sources, tests, benches, examples), `target/` excluded.
fn rust_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current)? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
