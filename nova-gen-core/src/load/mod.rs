//! Phase 1, *load*: read the specs from disk into located, syntax-checked structures.

pub mod column;
pub mod migrations;
pub mod ownership;
pub mod protos;
pub mod scan;
pub mod toml_read;
pub mod values;

use crate::diagnostic::Diagnostic;
use crate::layout::{self, FoundBy, Layout};
use crate::raw::RawSpec;
use crate::source::SourceFile;

pub use protos::ProtoSet;

/// Everything the specs say, before any cross-checking.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub ownership: RawSpec,
    pub protos: ProtoSet,
    /// The event schemas of the last generation (`generated/ops/events.json`), which new
    /// ones must stay readable as; `None` before the first.
    pub previous_events: Option<crate::event_schema::Schemas>,
}

/// Loads both halves of the specs. `Err` when they cannot be read far enough to check further
/// (TOML or proto syntax); otherwise the specs and any problems with single values.
pub fn load(layout: &Layout) -> Result<(Loaded, Vec<Diagnostic>), Vec<Diagnostic>> {
    let ownership = match std::fs::read_to_string(layout.ownership_file()) {
        Ok(text) => ownership::read_ownership(&SourceFile::new(layout.display(&layout.ownership_file()), text)),
        // Nothing else is worth reading (the proto directory is most likely missing too).
        Err(error) => {
            // The path as given (not relative to the root): the root itself may be what is wrong.
            let problem = Diagnostic::new("spec::io", format!("cannot read {}: {error}", layout.ownership_file().display()));
            return Err(vec![blame_the_path(layout, problem)]);
        }
    };
    let protos = protos::load_protos(&layout.proto_dir(), &layout.display(&layout.proto_dir()))
        .map_err(|problems| problems.into_iter().map(|p| if p.code == "spec::io" { blame_the_path(layout, p) } else { p }).collect::<Vec<_>>());
    let (previous_events, unreadable) = match crate::event_schema::read(&layout.root) {
        Ok(previous) => (previous, None),
        Err(problem) => (None, Some(Diagnostic::new("spec::io", problem))),
    };
    match (ownership, protos) {
        (Ok((ownership, mut problems)), Ok(protos)) => {
            problems.extend(unreadable);
            Ok((Loaded { ownership, protos, previous_events }, problems))
        }
        (ownership, protos) => {
            let ownership = ownership.map_or_else(|fatal| fatal, |(_, problems)| problems);
            Err(ownership.into_iter().chain(protos.err().into_iter().flatten()).collect())
        }
    }
}

/// A file that cannot be read: names the flag that gave its path, if one did (a root found
/// by searching upward holds ownership.toml by construction; nothing to blame).
fn blame_the_path(layout: &Layout, problem: Diagnostic) -> Diagnostic {
    match layout.found_by {
        FoundBy::Root => problem.help(format!("check the path given with --root: it should hold {} and specs/proto/", layout::ROOT_MARKER)),
        FoundBy::Specs => problem.help("check the path given with --specs: it should hold ownership.toml and proto/"),
        FoundBy::Search => problem.help("a nova repository holds specs/ownership.toml and specs/proto/"),
    }
}
