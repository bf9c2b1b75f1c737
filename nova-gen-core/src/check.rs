//! `nova-gen check`: whether the tree is what the specs generate, whether the handwritten
//! crates respect the service boundaries, and whether each service's migrations are intact
//! and up to date with its spec. Reads, never writes.

use crate::diagnostic::{self, Diagnostic};
use crate::layout::Layout;
use crate::sync::{self, Drift};
use crate::{Failure, boundaries, generate_files, migrate};

/// What `check` found.
#[derive(Debug)]
pub struct CheckReport {
    /// How many services the spec declares.
    pub services: usize,
    /// How many files the generator owns (all of them compared).
    pub generated_files: usize,
    /// Generated files that differ from, are missing in or are extra in the tree.
    pub drift: Vec<Drift>,
    /// Boundary crossings and migration problems.
    pub violations: Vec<Diagnostic>,
}

impl CheckReport {
    /// Nothing drifted and nothing is violated.
    pub fn is_clean(&self) -> bool {
        self.drift.is_empty() && self.violations.is_empty()
    }

    /// The line printed when everything is in order.
    pub fn summary(&self) -> String {
        format!(
            "nova-gen check: {} services, {} generated files in sync, boundaries respected, migrations intact and up to date",
            self.services, self.generated_files
        )
    }

    /// The drift and the violations, rendered for a terminal (empty when clean).
    pub fn render_problems(&self) -> String {
        let mut text = String::new();
        if !self.drift.is_empty() {
            text.push_str(&sync::render_drift(&self.drift));
        }
        if !self.violations.is_empty() {
            text.push_str(&diagnostic::render(&self.violations));
        }
        text
    }
}

/// Generates in memory and compares with the tree under `layout.root`; checks boundaries and
/// every service's migration history.
pub fn check(layout: &Layout) -> Result<CheckReport, Failure> {
    let (analysis, files) = generate_files(layout)?;
    let drift = sync::compare(&layout.root, &files).map_err(Failure::io("reading the tree"))?;
    let mut violations = boundaries::check(&layout.root, &analysis.spec).map_err(Failure::io("reading handwritten crates"))?;
    for service in &analysis.spec.services {
        if let Some(history) = migrate::history_of(&analysis, &service.name) {
            violations.extend(migrate::verify_service(service, history));
        }
    }
    Ok(CheckReport { services: analysis.spec.services.len(), generated_files: files.owned.len(), drift, violations })
}
