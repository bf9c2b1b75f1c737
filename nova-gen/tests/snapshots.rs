//! Every kind of file nova-gen emits, for the small fixture spec, as reviewable snapshots
//! (`cargo insta review`). A change to generated code shows up here first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod common;

use common::TempRepo;

#[test]
fn every_emitted_file_kind() {
    let repo = TempRepo::with_fixture("mini");
    let (_, files) = nova_gen::generate_files(&repo.layout()).unwrap();
    let kinds: Vec<&str> = files.owned.keys().chain(files.scaffold.keys()).map(String::as_str).collect();
    // Guard against a new artifact slipping in without a snapshot.
    assert_eq!(kinds.len(), 29, "{kinds:#?}");
    for (path, contents) in files.owned.iter().chain(&files.scaffold) {
        // Each snapshot is named after its path in the repository.
        let name = path.replace('/', "__");
        insta::assert_snapshot!(name, contents);
        if path.ends_with(".rs") {
            syn::parse_file(contents).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
        }
    }
}
