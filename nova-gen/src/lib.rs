//! nova-gen: from `.proto` APIs and one data-ownership spec to per-service crates,
//! migrations and ops artifacts.
//!
//! The pipeline runs in one direction, one module per phase:
//! [`load`] -> [`validate`] -> [`model`] -> [`emit`] -> [`sync`] (write or compare).
//! [`boundaries`] reads the handwritten crates and enforces that services reach each other
//! only through their clients.

pub mod boundaries;
pub mod diagnostic;
pub mod emit;
pub mod fileset;
pub mod ir;
pub mod layout;
pub mod load;
pub mod model;
pub mod raw;
pub mod schema;
pub mod source;
pub mod sync;
pub mod validate;

use diagnostic::Diagnostic;
use fileset::FileSet;
use ir::Spec;
use layout::Layout;
use load::ProtoSet;
use load::migrations::MigrationFile;

/// Why a run could not produce output.
#[derive(Debug)]
pub enum Failure {
    /// The specs are invalid: located diagnostics, exit code 2.
    Spec(Vec<Diagnostic>),
    /// A bug or an I/O problem: exit code 3.
    Internal(String),
}

impl From<emit::EmitError> for Failure {
    fn from(e: emit::EmitError) -> Self {
        Failure::Internal(e.to_string())
    }
}

impl From<model::ModelError> for Failure {
    fn from(e: model::ModelError) -> Self {
        Failure::Internal(e.to_string())
    }
}

/// The validated specs and what the emitters need beside the IR.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub spec: Spec,
    pub protos: ProtoSet,
    pub migrations: Vec<MigrationFile>,
}

/// load -> validate -> model.
pub fn analyse(layout: &Layout) -> Result<Analysis, Failure> {
    let (loaded, mut problems) = load::load(layout).map_err(Failure::Spec)?;
    problems.extend(validate::validate(&loaded));
    let services: Vec<&str> = loaded.ownership.services.iter().map(|s| s.name.value.as_str()).collect();
    let migrations = match load::migrations::list_migrations(&layout.root.join(layout::out::MIGRATIONS), &services) {
        Ok(migrations) => migrations,
        Err(more) => {
            problems.extend(more);
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return Err(Failure::Spec(problems));
    }
    let spec = model::build(&loaded)?;
    Ok(Analysis { spec, protos: loaded.protos, migrations })
}

/// Everything the specs generate, in memory.
pub fn generate_files(layout: &Layout) -> Result<(Analysis, FileSet), Failure> {
    let analysis = analyse(layout)?;
    let files = emit::emit(&analysis.spec, &analysis.protos, &analysis.migrations)?;
    Ok((analysis, files))
}
