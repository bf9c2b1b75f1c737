//! Where things live in a nova repository. The top level is fixed (DESIGN.md); the specs can
//! be pointed elsewhere for fixtures and benchmarks.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    /// Repository root: generated/, migrations/ and handwritten/ are written below it.
    pub root: PathBuf,
    /// The specs directory holding `ownership.toml` and `proto/`.
    pub specs: PathBuf,
    /// How the specs were found, so that a missing file is blamed on the right thing.
    pub found_by: FoundBy,
}

/// Where the specs' location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// A root given explicitly (`--root`, or a path handed to [`Layout::at`]).
    Root,
    /// A specs directory given explicitly (`--specs`).
    Specs,
    /// Found by looking upward from the working directory ([`find_root`]).
    Search,
}

/// The file whose presence marks a nova repository's root, relative to it.
pub const ROOT_MARKER: &str = "specs/ownership.toml";

/// The nearest directory, `start` or one of its ancestors, holding [`ROOT_MARKER`] (the way
/// cargo finds `Cargo.toml`), so that nova-gen works from anywhere inside a repository.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find(|dir| dir.join(ROOT_MARKER).is_file()).map(Path::to_path_buf)
}

impl Layout {
    /// The standard layout: `<root>/specs`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Layout { specs: root.join("specs"), root, found_by: FoundBy::Root }
    }

    /// The standard layout below a root found by [`find_root`].
    pub fn found(root: impl Into<PathBuf>) -> Self {
        Layout { found_by: FoundBy::Search, ..Layout::at(root) }
    }

    pub fn with_specs(mut self, specs: impl Into<PathBuf>) -> Self {
        self.specs = specs.into();
        self.found_by = FoundBy::Specs;
        self
    }

    pub fn ownership_file(&self) -> PathBuf {
        self.specs.join("ownership.toml")
    }

    pub fn proto_dir(&self) -> PathBuf {
        self.specs.join("proto")
    }

    /// A path as shown to people: relative to the root when below it, `/`-separated.
    pub fn display(&self, path: &Path) -> String {
        let shown = path.strip_prefix(&self.root).unwrap_or(path);
        let text = shown.to_string_lossy().replace('\\', "/");
        text.strip_prefix("./").map(str::to_string).unwrap_or(text)
    }
}

/// Repository-relative output locations (always `/`-separated; they are map keys and appear in
/// generated files, so they must not depend on the machine).
pub mod out {
    pub const GENERATED: &str = "generated";
    pub const HANDWRITTEN: &str = "handwritten";
    pub const MIGRATIONS: &str = "migrations";
    /// Ops artifacts (Prometheus rules and their tests, Helm chart and values, the system
    /// picture): generated, but not a crate (the workspace excludes it).
    pub const OPS: &str = "generated/ops";
    /// The registry crate `nova-services`: every service, for tools and tests that name none.
    pub const SERVICES: &str = "generated/services";

    pub fn generated_crate(service: &str) -> String {
        format!("{GENERATED}/{service}")
    }

    /// The API crate's directory name inside generated/: `auth-api`.
    pub fn api_crate_dir(service: &str) -> String {
        format!("{service}-api")
    }

    pub fn api_crate(service: &str) -> String {
        format!("{GENERATED}/{}", api_crate_dir(service))
    }

    /// The crate of a proto package no service owns, named like the crate: `generated/nova-common-v1-proto`.
    pub fn shared_package_crate(crate_name: &str) -> String {
        format!("{GENERATED}/{crate_name}")
    }

    pub fn handwritten_crate(service: &str) -> String {
        format!("{HANDWRITTEN}/{service}")
    }

    pub fn migrations(service: &str) -> String {
        format!("{MIGRATIONS}/{service}")
    }
}
