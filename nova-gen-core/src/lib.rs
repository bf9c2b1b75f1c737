//! nova-gen-core: from `.proto` APIs and one data-ownership spec to per-service crates,
//! migrations and ops artifacts — everything of nova-gen that only reads specs and writes
//! files. The `nova-gen` command is a thin CLI over it, holding what needs more: a database
//! (`db up`, `db status`), processes and TLS material (`dev`), and the async runtime they
//! run on. So this crate has no async, no database and no runtime dependency; the values it
//! shares with nova-runtime come from `nova-constants`.
//!
//! The pipeline runs in one direction, one module per phase:
//! [`load`] -> [`validate`] -> [`model`] -> [`emit`] -> [`sync`] (write or compare).
//! [`boundaries`] reads the handwritten crates and enforces that services reach each other
//! only through their clients. Beside the pipeline, [`migrate`] keeps each service's
//! append-only migration history (spec tables [`lower`]ed to a [`catalog`], diffed against the
//! catalog the history produces), and [`check`] puts sync, boundaries and migrations together
//! for `nova-gen check`.

pub mod boundaries;
pub mod catalog;
pub mod check;
pub mod diagnostic;
pub mod emit;
pub mod fileset;
pub mod ir;
pub mod layout;
pub mod load;
pub mod lower;
pub mod migrate;
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
use load::migrations::{History, MigrationFile};

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
    /// Each service's `migrations/<service>/`, in service order of the spec file.
    pub histories: Vec<History>,
}

impl Analysis {
    /// Every migration file of every service (what the generated crates embed).
    pub fn migration_files(&self) -> Vec<MigrationFile> {
        self.histories.iter().flat_map(|h| h.files.iter().cloned()).collect()
    }
}

/// load -> validate -> model.
pub fn analyse(layout: &Layout) -> Result<Analysis, Failure> {
    let (loaded, mut problems) = load::load(layout).map_err(Failure::Spec)?;
    problems.extend(validate::validate(&loaded));
    let services: Vec<&str> = loaded.ownership.services.iter().map(|s| s.name.value.as_str()).collect();
    let histories = match load::migrations::read_histories(&layout.root.join(layout::out::MIGRATIONS), &services) {
        Ok(histories) => histories,
        Err(more) => {
            problems.extend(more);
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return Err(Failure::Spec(problems));
    }
    let spec = model::build(&loaded, &histories)?;
    Ok(Analysis { spec, protos: loaded.protos, histories })
}

/// Everything the specs generate, in memory.
pub fn generate_files(layout: &Layout) -> Result<(Analysis, FileSet), Failure> {
    let analysis = analyse(layout)?;
    let files = emit::emit(&analysis.spec, &analysis.protos, &analysis.migration_files())?;
    Ok((analysis, files))
}
