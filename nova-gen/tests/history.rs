//! The migration history is append-only: `check` fails, naming service and file, when a
//! committed migration is edited, renamed or removed, when a file is not recorded, or when
//! nova.sum or schema.json were edited by hand; `migrate --record` accepts a migration written
//! by hand (data only) and never a changed one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::process::Command;

use common::TempRepo;

/// The fixture with a first and a second migration of the notes service, all in sync.
fn history() -> TempRepo {
    let repo = TempRepo::with_fixture("mini");
    repo.migrate_all_init();
    repo.edit("specs/ownership.toml", "columns.pinned = ", "columns.archived = \"bool default false\"\ncolumns.pinned = ");
    repo.migrate("notes", "archive-notes", false).unwrap();
    let generate = nova_gen(&repo, &["generate"]);
    assert!(generate.status.success());
    assert_eq!(check(&repo), (0, String::new()));
    repo
}

fn nova_gen(repo: &TempRepo, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nova-gen")).args(args).arg("--root").arg(repo.root()).output().unwrap()
}

/// Exit code and stderr of `check`, without the drift of the generated crate (an edited,
/// removed or renamed migration also changes what the crate embeds, which is not the point).
fn check(repo: &TempRepo) -> (i32, String) {
    let output = nova_gen(repo, &["check"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = match stderr.find("error[migrations::") {
        Some(at) => stderr[stderr[..at].rfind('\n').map_or(0, |i| i + 1)..].trim_end().to_string(),
        None => String::new(),
    };
    (output.status.code().unwrap(), report)
}

#[test]
fn an_edited_migration_is_named() {
    let repo = history();
    repo.edit("migrations/notes/0001_init.sql", "title TEXT NOT NULL", "title TEXT");
    let (code, report) = check(&repo);
    assert_eq!(code, 1);
    assert!(
        report.contains("migrations/notes/nova.sum:2:1: error[migrations::edited]: migrations/notes/0001_init.sql was edited after it was recorded"),
        "{report}"
    );
    insta::assert_snapshot!(report);
}

#[test]
fn a_renamed_migration_is_named() {
    let repo = history();
    std::fs::rename(repo.path("migrations/notes/0002_archive_notes.sql"), repo.path("migrations/notes/0002_archive.sql")).unwrap();
    let (code, report) = check(&repo);
    assert_eq!(code, 1);
    assert!(report.contains("error[migrations::renamed]: migrations/notes/0002_archive_notes.sql was renamed to 0002_archive.sql"), "{report}");
    insta::assert_snapshot!(report);
}

#[test]
fn a_removed_migration_is_named() {
    let repo = history();
    std::fs::remove_file(repo.path("migrations/notes/0002_archive_notes.sql")).unwrap();
    let (code, report) = check(&repo);
    assert_eq!(code, 1);
    assert!(report.contains("error[migrations::removed]: migrations/notes/0002_archive_notes.sql was removed"), "{report}");
    insta::assert_snapshot!(report);
}

#[test]
fn hand_edits_of_the_sum_or_the_state_are_named() {
    let repo = history();
    repo.edit("migrations/notes/schema.json", "\"archived\"", "\"archivedd\"");
    let (code, report) = check(&repo);
    assert_eq!(code, 1);
    assert!(report.contains("error[migrations::state-edited]: migrations/notes/schema.json was edited by hand"), "{report}");
    let repo = history();
    let sum = repo.read("migrations/notes/nova.sum");
    let lines: Vec<&str> = sum.lines().collect();
    // Entries swapped: each still matches its file, the first line does not.
    repo.write("migrations/notes/nova.sum", &format!("{}\n{}\n{}\n{}\n", lines[0], lines[2], lines[1], lines[3]));
    let (_, report) = check(&repo);
    assert!(report.contains("error[migrations::sum-edited]: migrations/notes/nova.sum was edited by hand"), "{report}");
    insta::assert_snapshot!(report);
}

#[test]
fn a_migration_written_by_hand_is_recorded_on_request_only() {
    let repo = history();
    repo.write("migrations/notes/0003_backfill_titles.sql", "UPDATE notes SET title = initcap(title);\n");
    let (code, report) = check(&repo);
    assert_eq!(code, 1);
    assert!(report.contains("migrations/notes/0003_backfill_titles.sql: error[migrations::unrecorded]"), "{report}");
    insta::assert_snapshot!(report);
    let record = nova_gen(&repo, &["migrate", "notes", "--record"]);
    assert!(record.status.success(), "{}", String::from_utf8_lossy(&record.stderr));
    assert!(String::from_utf8_lossy(&record.stdout).contains("notes: records 0003_backfill_titles.sql"));
    assert_eq!(check(&repo), (0, String::new()));
    assert!(repo.read("generated/notes/src/db.rs").contains("0003_backfill_titles.sql"));
    // --record never accepts an edited migration.
    repo.edit("migrations/notes/0002_archive_notes.sql", "DEFAULT false", "DEFAULT true");
    let record = nova_gen(&repo, &["migrate", "notes", "--record"]);
    assert_eq!(record.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&record.stderr).contains("error[migrations::edited]"));
}

#[test]
fn migrate_refuses_to_build_on_a_broken_history() {
    let repo = history();
    repo.edit("migrations/notes/0001_init.sql", "title TEXT NOT NULL", "title TEXT");
    repo.edit("specs/ownership.toml", "columns.pinned = ", "columns.starred = \"bool default false\"\ncolumns.pinned = ");
    let migrate = nova_gen(&repo, &["migrate", "notes", "--name", "star-notes"]);
    assert_eq!(migrate.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&migrate.stderr).contains("error[migrations::edited]"));
    assert!(!repo.path("migrations/notes/0003_star_notes.sql").exists());
    // Bad names are refused before anything is written.
    let repo = history();
    repo.edit("specs/ownership.toml", "columns.pinned = ", "columns.starred = \"bool default false\"\ncolumns.pinned = ");
    let migrate = nova_gen(&repo, &["migrate", "notes", "--name", "Star Notes"]);
    assert_eq!(migrate.status.code(), Some(2));
    insta::assert_snapshot!("bad_name", String::from_utf8_lossy(&migrate.stderr));
}
