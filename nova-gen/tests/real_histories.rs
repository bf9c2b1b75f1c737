//! The committed histories of the real services (and of the torture spec): the schema state
//! nova-gen keeps beside each history (`schema.json`, which `check` and `migrate` trust without
//! a database) is what PostgreSQL holds after applying that history, and every migration after
//! a service's first passes squawk.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::path::Path;
use std::process::Command;

use common::pg::{ScratchDb, workspace_root};
use nova_gen_core::layout::Layout;
use nova_gen_core::migrate::{render, state};

async fn assert_state_matches_history(root: &Path) {
    let analysis = nova_gen_core::analyse(&Layout::at(root)).unwrap_or_else(|e| panic!("{e:?}"));
    let mut checked = 0;
    for history in analysis.histories.iter().filter(|h| !h.files.is_empty()) {
        let service = &history.service;
        let applied = ScratchDb::new("history").await;
        applied
            .migrate(&nova_gen::db::migrations_of(history))
            .await
            .unwrap_or_else(|e| panic!("{service}: {}", nova_runtime::error::cause_chain(&e)));
        let recorded = state::parse(history.state.as_deref().unwrap_or_else(|| panic!("{service} has no schema.json"))).unwrap();
        let materialised = ScratchDb::new("state").await;
        materialised.execute(&render::render_initial(service, "x", &recorded, 1, "x").unwrap().text).await;
        let (live, expected) = (applied.catalog().await, materialised.catalog().await);
        assert!(live.unfinished.is_empty(), "{service}: {:?}", live.unfinished);
        assert!(
            live.catalog == expected.catalog,
            "{service}: migrations/{service}/schema.json differs from what its migrations create:\n{}",
            similar::TextDiff::from_lines(&state::render(&expected.catalog).unwrap(), &state::render(&live.catalog).unwrap())
                .unified_diff()
                .header("schema.json, materialised", "the history, applied")
        );
        checked += 1;
    }
    assert!(checked > 0, "no history under {}", root.display());
}

#[tokio::test]
async fn the_state_of_every_real_history_is_what_postgresql_holds_after_it() {
    assert_state_matches_history(&workspace_root()).await;
}

#[tokio::test]
async fn the_state_of_the_torture_histories_is_what_postgresql_holds_after_them() {
    assert_state_matches_history(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torture")).await;
}

#[test]
fn every_real_migration_after_the_first_passes_squawk() {
    let output = Command::new(workspace_root().join(".ci/squawk")).output().unwrap();
    assert!(output.status.success(), "{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
}
