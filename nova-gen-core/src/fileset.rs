//! The output of a generation: repository-relative paths to contents, sorted, so that writing
//! and comparing are deterministic.

use std::collections::BTreeMap;

use crate::layout::out;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FileSet {
    /// Files nova-gen owns: `generate` writes them, `check` requires them to match. Almost
    /// all are text; a few are binary (encoded descriptors).
    pub owned: BTreeMap<String, Vec<u8>>,
    /// Files created only when missing (the handwritten scaffold), never overwritten.
    pub scaffold: BTreeMap<String, String>,
}

impl FileSet {
    pub fn owned(&mut self, path: String, contents: String) {
        self.owned.insert(path, contents.into_bytes());
    }

    pub fn owned_binary(&mut self, path: String, contents: Vec<u8>) {
        self.owned.insert(path, contents);
    }

    pub fn scaffold(&mut self, path: String, contents: String) {
        self.scaffold.insert(path, contents);
    }

    /// Directories in which every file belongs to nova-gen, so any other file there is drift.
    pub fn owned_dirs() -> [&'static str; 1] {
        [out::GENERATED]
    }
}
