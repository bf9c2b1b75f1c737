//! The torture spec (nova-gen/tests/torture/specs) holds every shape of proto and spec the
//! validator accepts: keyword RPC names, a package split across files, a shared package
//! imported by several services, another service's messages in an API, well-known types,
//! enums, nested messages, maps, oneofs, a service without cached RPCs, a service without tables. Its generated output
//! is committed under nova-gen/tests/torture and is a member of the workspace, so
//! `cargo test --workspace` compiles it and CI's clippy lints it with `-D warnings`, as typify
//! compiles its snapshots. This test keeps the committed output equal to what nova-gen emits.
//! (The fixture stays under nova-gen/, where the workspace's member globs and the system
//! tests' path dependencies find it.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::path::Path;

use nova_gen_core::layout::Layout;

const REGENERATE: &str = "cargo run -p nova-gen -- generate --root nova-gen/tests/torture";

#[test]
fn the_committed_torture_output_is_what_nova_gen_emits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nova-gen/tests/torture");
    let (analysis, files) = nova_gen_core::generate_files(&Layout::at(&root)).unwrap();
    let drift = nova_gen_core::sync::compare(&root, &files).unwrap();
    assert!(drift.is_empty(), "{}\nthe torture output is stale; regenerate it with `{REGENERATE}`", nova_gen_core::sync::render_drift(&drift));
    // The scaffold is compiled too: it must be what nova-gen scaffolds today.
    for (path, expected) in &files.scaffold {
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert_eq!(&committed, expected, "{path} differs from today's scaffold; delete nova-gen/tests/torture/handwritten and run `{REGENERATE}`");
    }
    // What the fixture is there for, so that a simplification of it cannot go unnoticed.
    let spec = &analysis.spec;
    let alpha = spec.service("alpha").unwrap();
    let beta = spec.service("beta").unwrap();
    assert!(alpha.rpcs.iter().any(|r| r.name == "Super" && r.policy.fail_closed));
    assert!(beta.rpcs.iter().all(|r| r.policy.cache.is_none()), "beta caches nothing");
    assert_eq!(beta.api_dependencies, [alpha.id], "beta's API uses alpha's messages");
    assert_eq!(spec.shared_packages.len(), 1);
    assert_eq!(alpha.shared_dependencies, beta.shared_dependencies, "both import the shared package");
    let gamma = spec.service("gamma").unwrap();
    assert!(gamma.tables.is_empty() && gamma.database.is_none(), "gamma is a gateway: no table, no database");
    assert!(!files.owned.keys().any(|path| path.starts_with("generated/gamma/src/db") || path.starts_with("generated/gamma/src/repo")));
}
