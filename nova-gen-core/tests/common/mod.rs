//! A throwaway repository holding a copy of a fixture spec, so tests can edit it, generate
//! into it and check it without touching the real tree. nova-gen's tests include this file
//! by path, so the fixtures are found from either crate.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use nova_gen_core::layout::Layout;

pub struct TempRepo {
    pub dir: tempfile::TempDir,
}

impl TempRepo {
    /// A repository whose specs/ is a copy of `tests/fixtures/<name>/specs`.
    pub fn with_fixture(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nova-gen-core/tests/fixtures").join(name).join("specs");
        copy_dir(&source, &dir.path().join("specs"));
        TempRepo { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn layout(&self) -> Layout {
        Layout::at(self.root())
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap()
    }

    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Replaces `from` (which must occur) by `to` in a file.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert!(text.contains(from), "{relative} does not contain {from:?}");
        self.write(relative, &text.replacen(from, to, 1));
    }

    /// `nova-gen migrate <service> --name init` for every service of the spec (in process).
    pub fn migrate_all_init(&self) {
        let analysis = nova_gen_core::analyse(&self.layout()).unwrap_or_else(|e| panic!("{e:?}"));
        let services: Vec<String> = analysis.spec.services.iter().map(|s| s.name.clone()).collect();
        for service in services {
            self.migrate(&service, "init", false).unwrap_or_else(|e| panic!("{e:?}"));
        }
    }

    /// `nova-gen migrate <service> --name <name> [--allow-destructive]`, in process.
    pub fn migrate(
        &self,
        service: &str,
        name: &str,
        allow_destructive: bool,
    ) -> Result<nova_gen_core::migrate::MigrateOutcome, nova_gen_core::Failure> {
        let analysis = nova_gen_core::analyse(&self.layout())?;
        let request =
            nova_gen_core::migrate::MigrateRequest { service: service.to_string(), name: Some(name.to_string()), allow_destructive, record: false };
        nova_gen_core::migrate::migrate(&self.layout(), &analysis, &request)
    }

    pub fn append(&self, relative: &str, extra: &str) {
        let text = self.read(relative);
        self.write(relative, &format!("{text}{extra}"));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
