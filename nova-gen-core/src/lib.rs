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
//! for `nova-gen check`. [`names`] holds the naming rules generated code follows; it sits
//! below every phase, so validation and boundaries apply the same rules the emitters do
//! without depending on [`emit`].

pub mod boundaries;
pub mod catalog;
pub mod check;
pub mod diagnostic;
pub mod emit;
pub mod event_schema;
pub mod fileset;
pub mod ir;
pub mod layout;
pub mod load;
pub mod lower;
pub mod migrate;
pub mod model;
pub mod names;
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

/// Why a run could not produce output. [`Failure::Spec`] is the user's to fix (exit code 2);
/// every other variant is a bug or a problem of the machine (exit code 3), and its `Display`
/// is the line `nova-gen` prints.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The specs are invalid: located diagnostics, exit code 2.
    #[error("{} problem(s) in the specs", .0.len())]
    Spec(Vec<Diagnostic>),
    /// The model met something validation should have refused.
    #[error(transparent)]
    Model(#[from] model::ModelError),
    /// An emitter failed (generated code that does not parse, a template that does not render).
    #[error(transparent)]
    Emit(#[from] emit::EmitError),
    /// `nova-gen migrate` failed to render a migration or to read a state file.
    #[error(transparent)]
    Migrate(#[from] migrate::MigrateError),
    /// Reading or writing the repository (or starting a process) failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `writing migrations/notes/schema.json`.
        context: String,
        source: std::io::Error,
    },
    /// A command beyond the specs failed (the database, TLS material, a build): `nova-gen`
    /// runs these, nova-gen-core does not.
    #[error("{0}")]
    Command(Box<dyn std::error::Error + Send + Sync>),
}

impl Failure {
    /// An I/O failure while doing `context` (e.g. `writing files`).
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Failure {
        let context = context.into();
        move |source| Failure::Io { context, source }
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
