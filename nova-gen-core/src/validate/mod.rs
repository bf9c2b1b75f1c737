//! Phase 2, *validate*: every cross-reference and semantic rule of the specs, checked on the
//! located raw spec and the compiled protos. All problems are collected; the model is only
//! built when there are none.

mod access;
mod api;
mod calls;
mod events;
mod names;
pub mod per_id;
mod rpcs;
mod services;
mod tables;
mod targets;
mod users;
mod writes;

use crate::diagnostic::Diagnostic;
use crate::load::Loaded;
use crate::source::{SourceFile, Span};

pub use names::{name_problem, service_name_problem};
pub use rpcs::entity_field;
pub(crate) use users::directory as user_directory;

/// Runs every rule; an empty result means the model can be built.
pub fn validate(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut v = Validator { loaded, diagnostics: Vec::new() };
    services::check_services(&mut v);
    calls::check_calls(&mut v);
    rpcs::check_rpcs(&mut v);
    access::check_access(&mut v);
    tables::check_tables(&mut v);
    writes::check_writes(&mut v);
    targets::check_targets(&mut v);
    api::check_api(&mut v);
    users::check_user_checks(&mut v);
    events::check_events(&mut v);
    v.diagnostics
}

pub(crate) struct Validator<'a> {
    pub loaded: &'a Loaded,
    pub diagnostics: Vec<Diagnostic>,
}

impl Validator<'_> {
    pub fn ownership_file(&self) -> &SourceFile {
        &self.loaded.ownership.file
    }

    /// A problem in ownership.toml.
    pub fn report(&mut self, code: &'static str, span: Span, label: impl Into<String>, message: impl Into<String>, help: impl Into<String>) {
        let file = self.loaded.ownership.file.clone();
        self.diagnostics.push(Diagnostic::new(code, message).in_file(&file).label(span, label).help(help));
    }

    /// A problem in a .proto file (named as the proto root knows it).
    pub fn report_proto(
        &mut self,
        proto_file: &str,
        code: &'static str,
        span: Span,
        label: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let mut diagnostic = Diagnostic::new(code, message).help(help);
        if let Some(file) = self.loaded.protos.sources.get(proto_file) {
            diagnostic = diagnostic.in_file(file).label(span, label);
        }
        self.diagnostics.push(diagnostic);
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}
