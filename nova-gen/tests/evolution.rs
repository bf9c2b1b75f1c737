//! Schema evolution against the real PostgreSQL, one kind of change per test: the fixture's
//! first migrations are applied to a database that then gets rows; the spec is changed;
//! `migrate` writes the next file(s) (snapshot, and linted by squawk); they are applied to that
//! database. Its catalog must then be identical to a database built from scratch from the whole
//! history, and to the schema the spec describes (and to the state file `migrate` wrote).
//! Destructive changes are refused without `--allow-destructive`, with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use common::TempRepo;
use common::pg::{ScratchDb, assert_squawk_passes, ignoring_column_order};
use nova_gen_core::Failure;
use nova_gen_core::catalog::{Catalog, Constraint, ConstraintKind};
use nova_gen_core::migrate::{plan, render, state};

const OWNERSHIP: &str = "specs/ownership.toml";

/// Rows in the first schema of the notes service, so that backfills, validations and type
/// changes meet data.
const SEED: &str = "\
    INSERT INTO notes (id, author_id, title) VALUES \
        ('00000000-0000-0000-0000-000000000001', gen_random_uuid(), 'one'), \
        ('00000000-0000-0000-0000-000000000002', gen_random_uuid(), 'two'), \
        ('00000000-0000-0000-0000-000000000003', gen_random_uuid(), 'three'); \
    INSERT INTO note_links (from_note, to_note, label) VALUES \
        ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002', NULL), \
        ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000003', 'see also');";

/// A fixture repository at its first migrations, and a database at that version holding rows.
struct Before {
    repo: TempRepo,
    database: ScratchDb,
}

async fn before() -> Before {
    let repo = TempRepo::with_fixture("mini");
    repo.migrate_all_init();
    let database = ScratchDb::new("evolved").await;
    database.migrate(&migrations(&repo)).await.unwrap();
    database.execute(SEED).await;
    Before { repo, database }
}

fn migrations(repo: &TempRepo) -> Vec<nova_runtime::migrate::Migration> {
    let analysis = nova_gen_core::analyse(&repo.layout()).unwrap_or_else(|e| panic!("{e:?}"));
    nova_gen::db::migrations_of(nova_gen_core::migrate::history_of(&analysis, "notes").unwrap())
}

fn rendered_failure(result: Result<nova_gen_core::migrate::MigrateOutcome, Failure>) -> String {
    match result {
        Err(Failure::Spec(diagnostics)) => nova_gen_core::diagnostic::render(&diagnostics),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

impl Before {
    /// `migrate notes`, snapshots and lints what it wrote, applies it to the database with rows
    /// and proves the three catalogs identical.
    async fn evolve(&self, case: &str, allow_destructive: bool) -> Vec<String> {
        let outcome = self.repo.migrate("notes", case, allow_destructive).unwrap_or_else(|e| panic!("{e:?}"));
        let new_files: Vec<&String> = outcome.written.iter().filter(|p| p.ends_with(".sql")).collect();
        assert!(!new_files.is_empty(), "{outcome:?}");
        for path in &new_files {
            let name = path.rsplit('/').next().unwrap();
            insta::assert_snapshot!(format!("{case}__{name}"), self.repo.read(path));
        }
        assert_squawk_passes(&new_files.iter().map(|p| self.repo.path(p)).collect::<Vec<_>>());
        let applied = self.database.migrate(&migrations(&self.repo)).await.unwrap_or_else(|e| panic!("{}", nova_runtime::error::cause_chain(&e)));
        assert_eq!(applied.len(), new_files.len());
        self.assert_catalogs_agree().await;
        outcome.notes
    }

    async fn assert_catalogs_agree(&self) {
        let evolved = self.database.catalog().await;
        assert!(evolved.unfinished.is_empty(), "{:?}", evolved.unfinished);
        let fresh = ScratchDb::new("fresh").await;
        fresh.migrate(&migrations(&self.repo)).await.unwrap();
        assert_catalogs_equal(&evolved.catalog, &fresh.catalog().await.catalog, "the history applied from scratch");
        let analysis = nova_gen_core::analyse(&self.repo.layout()).unwrap_or_else(|e| panic!("{e:?}"));
        let service = analysis.spec.service("notes").unwrap();
        let described = materialise(&nova_gen_core::lower::lower_service(service)).await;
        assert_catalogs_equal(&ignoring_column_order(&evolved.catalog), &ignoring_column_order(&described), "the spec's schema");
        let state_text = self.repo.read("migrations/notes/schema.json");
        let recorded = materialise(&state::parse(&state_text).unwrap()).await;
        assert_catalogs_equal(&evolved.catalog, &recorded, "the state file (column order included)");
        let problems = nova_gen_core::migrate::verify_service(service, nova_gen_core::migrate::history_of(&analysis, "notes").unwrap());
        assert!(problems.is_empty(), "{}", nova_gen_core::diagnostic::render(&problems));
    }

    async fn rows(&self, query: &str) -> Vec<String> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(query.to_string())).fetch_all(&mut self.database.connect().await).await.unwrap()
    }
}

/// A catalog as PostgreSQL holds it: created whole in a scratch database and read back.
async fn materialise(catalog: &Catalog) -> Catalog {
    let database = ScratchDb::new("materialised").await;
    database.execute(&render::render_initial("notes", "x", catalog, 1, "x").unwrap().text).await;
    database.catalog().await.catalog
}

fn assert_catalogs_equal(actual: &Catalog, expected: &Catalog, what: &str) {
    if actual != expected {
        let (a, e) = (state::render(actual).unwrap(), state::render(expected).unwrap());
        let diff = similar::TextDiff::from_lines(&e, &a).unified_diff().header(what, "evolved database").to_string();
        panic!("the evolved database differs from {what}:\n{diff}");
    }
}

#[tokio::test]
async fn adding_columns_never_rewrites_the_table() {
    let before = before().await;
    before.repo.edit(
        OWNERSHIP,
        "columns.version = \"bigint version\"\n",
        "columns.version = \"bigint version\"\ncolumns.rank = \"int?\"\ncolumns.archived = \"bool default false\"\ncolumns.token = \"uuid default gen_random_uuid()\"\n",
    );
    let notes = before.evolve("add_columns", false).await;
    assert_eq!(notes, ["adds column notes.rank", "adds column notes.archived", "adds column notes.token"]);
    // The volatile default was backfilled row by row: three rows, three distinct tokens.
    let tokens = before.rows("SELECT DISTINCT token::text FROM notes WHERE token IS NOT NULL").await;
    assert_eq!(tokens.len(), 3);
    let archived = before.rows("SELECT archived::text FROM notes").await;
    assert_eq!(archived, ["false", "false", "false"]);
}

#[tokio::test]
async fn adding_a_table_with_foreign_keys_indexes_and_docs() {
    let before = before().await;
    before.repo.append(
        OWNERSHIP,
        "\n[notes.tables.note_tags]\ndoc = \"Tags of a note.\"\ncolumns.note_id = \"uuid pk -> notes.id cascade\"\ncolumns.tag = \"text pk\"\ncolumns.tagger_id = \"uuid -> accounts.accounts.id\"\nindexes = [\"tag\"]\n",
    );
    let notes = before.evolve("add_table", false).await;
    assert_eq!(notes, ["adds table note_tags", "adds foreign key note_tags_note_id_fkey"]);
}

#[tokio::test]
async fn changing_defaults_and_nullability() {
    let before = before().await;
    before.repo.edit(OWNERSHIP, "columns.pinned = \"bool default false\"", "columns.pinned = \"bool default true\"");
    before.repo.edit(OWNERSHIP, "columns.title = \"text\"", "columns.title = \"text?\"");
    before.repo.edit(OWNERSHIP, "columns.label = \"text?\"", "columns.label = \"text default ''\"");
    before.repo.edit(OWNERSHIP, "columns.body = \"text default ''\"", "columns.body = \"text\"");
    let notes = before.evolve("defaults_and_nullability", false).await;
    assert_eq!(
        notes,
        [
            "changes the default of note_links.label",
            "makes note_links.label NOT NULL",
            "makes notes.title nullable",
            "drops the default of notes.body",
            "changes the default of notes.pinned"
        ]
    );
    // NULL labels became the new default; the others kept their value.
    let labels = before.rows("SELECT label FROM note_links ORDER BY label").await;
    assert_eq!(labels, ["", "see also"]);
}

#[tokio::test]
async fn indexes_are_built_and_dropped_concurrently() {
    let before = before().await;
    before.repo.edit(OWNERSHIP, "indexes = [\"author_id, created_at desc\"]", "indexes = [\"title\", \"deleted_at, created_at desc\"]");
    let notes = before.evolve("indexes", false).await;
    assert_eq!(notes, ["drops index notes_author_id_created_at_idx", "adds index notes_deleted_at_created_at_idx", "adds index notes_title_idx"]);
}

#[tokio::test]
async fn unique_constraints_are_built_on_a_concurrent_index() {
    let before = before().await;
    before.repo.edit(OWNERSHIP, "columns.title = \"text\"", "columns.title = \"text unique\"");
    let notes = before.evolve("unique", false).await;
    assert_eq!(notes, ["adds unique constraint notes_title_key"]);
}

#[tokio::test]
async fn foreign_keys_are_added_not_valid_then_validated() {
    let before = before().await;
    before.repo.edit(
        OWNERSHIP,
        "columns.version = \"bigint version\"\n",
        "columns.version = \"bigint version\"\ncolumns.parent_id = \"uuid? -> notes.id\"\n",
    );
    before.repo.edit(OWNERSHIP, "columns.from_note = \"uuid pk -> notes.id cascade\"", "columns.from_note = \"uuid pk -> notes.id\"");
    let notes = before.evolve("foreign_keys", false).await;
    assert_eq!(notes, ["adds column notes.parent_id", "changes foreign key note_links_from_note_fkey", "adds foreign key notes_parent_id_fkey"]);
}

#[tokio::test]
async fn comments_follow_the_spec() {
    let before = before().await;
    before.repo.edit(
        OWNERSHIP,
        "[notes.tables.note_links]\n",
        "[notes.tables.note_links]\ndoc = \"Links between notes; deleting a note deletes its links.\"\n",
    );
    before.repo.edit(OWNERSHIP, "columns.author_id = \"uuid -> accounts.accounts.id\"", "columns.author_id = \"uuid\"");
    let notes = before.evolve("comments", false).await;
    assert_eq!(notes, ["changes the comment of table note_links", "changes the comment of notes.author_id"]);
}

#[tokio::test]
async fn checks_are_added_not_valid_then_validated_and_dropping_one_is_destructive() {
    // The column language cannot declare checks yet: plan from catalogs directly.
    let before = before().await;
    let produced = state::parse(&before.repo.read("migrations/notes/schema.json")).unwrap();
    let mut wanted = produced.clone();
    let check = Constraint { name: "notes_title_check".into(), kind: ConstraintKind::Check { expression: "length(title) > 0".into() } };
    wanted.tables.get_mut("notes").unwrap().constraints.insert(check.name.clone(), check);
    let added = plan::plan(&produced, &wanted);
    assert!(added.changes.iter().all(|c| c.refusal.is_none()));
    let files = render::render_plan("notes", &added, 2, "title_check").unwrap();
    insta::assert_snapshot!("add_check", files.iter().map(|f| format!("== {}\n{}", f.file_name, f.text)).collect::<String>());
    let mut all = migrations(&before.repo);
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = files.iter().map(|f| dir.path().join(&f.file_name)).collect();
    for (file, path) in files.iter().zip(&paths) {
        std::fs::write(path, &file.text).unwrap();
    }
    assert_squawk_passes(&paths);
    let embedded: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, f)| nova_runtime::migrate::Migration {
            version: 2 + i as i64,
            description: "title check",
            sql: Box::leak(f.text.clone().into_boxed_str()),
            no_transaction: nova_runtime::migrate::Migration::wants_no_transaction(&f.text),
        })
        .collect();
    all.extend(embedded);
    before.database.migrate(&all).await.unwrap();
    let evolved = before.database.catalog().await;
    assert!(evolved.unfinished.is_empty(), "validated: {:?}", evolved.unfinished);
    assert_catalogs_equal(&evolved.catalog, &materialise(&wanted).await, "the planned catalog");
    // Dropping it again is destructive.
    let dropped = plan::plan(&wanted, &produced);
    assert!(matches!(dropped.changes[0].refusal, Some(plan::Refusal::Destructive(_))), "{dropped:?}");
}

#[tokio::test]
async fn destructive_changes_are_refused_without_the_flag() {
    let before = before().await;
    before.repo.edit(OWNERSHIP, "columns.score = \"double default 0\"\n", "");
    before.repo.edit(OWNERSHIP, "columns.day = \"date default now()\"", "columns.day = \"timestamptz default now()\"");
    before.repo.edit(OWNERSHIP, "unique = [\"to_note, label\"]\n", "");
    insta::assert_snapshot!("destructive_refused", rendered_failure(before.repo.migrate("notes", "drop-things", false)));
    assert!(!before.repo.path("migrations/notes/0002_drop_things.sql").exists(), "nothing is written");
    // With the flag: written, each step with a comment saying what it destroys.
    let notes = before.evolve("destructive_allowed", true).await;
    assert_eq!(
        notes,
        [
            "drops unique constraint note_links_to_note_label_key",
            "drops column notes.score",
            "changes the type of note_links.day from DATE to TIMESTAMPTZ"
        ]
    );
    assert!(
        before
            .repo
            .read("migrations/notes/0002_destructive_allowed.sql")
            .contains("-- DESTRUCTIVE (written with --allow-destructive): destroys every value of notes.score")
    );
}

#[tokio::test]
async fn dropping_a_table_needs_the_flag() {
    let before = before().await;
    let text = before.repo.read(OWNERSHIP);
    let start = text.find("[notes.tables.note_links]").unwrap();
    before.repo.write(OWNERSHIP, &text[..start]);
    insta::assert_snapshot!("drop_table_refused", rendered_failure(before.repo.migrate("notes", "drop-links", false)));
    before.evolve("drop_table", true).await;
    assert!(before.rows("SELECT tablename::text FROM pg_tables WHERE tablename = 'note_links'").await.is_empty());
}

#[tokio::test]
async fn not_null_without_a_default_needs_the_flag_and_waits_for_the_data() {
    let before = before().await;
    before.repo.edit(OWNERSHIP, "columns.deleted_at = \"timestamptz?\"", "columns.deleted_at = \"timestamptz\"");
    insta::assert_snapshot!("require_without_default_refused", rendered_failure(before.repo.migrate("notes", "require-deleted-at", false)));
    before.repo.migrate("notes", "require_deleted_at", true).unwrap();
    // Rows hold NULL there: the validation fails and is not recorded; the NOT VALID check
    // before it is in place (new rows are checked already).
    let error = before.database.migrate(&migrations(&before.repo)).await.unwrap_err();
    assert!(matches!(error, nova_runtime::migrate::MigrateError::Apply { version: 3, .. }), "{error:?}");
    // Once the data is fixed, the same migration completes.
    before.database.execute("UPDATE notes SET deleted_at = now() WHERE deleted_at IS NULL").await;
    assert_eq!(before.database.migrate(&migrations(&before.repo)).await.unwrap(), [3]);
    before.assert_catalogs_agree().await;
}

#[tokio::test]
async fn a_new_service_starts_with_a_first_migration_that_creates_every_table() {
    let repo = TempRepo::with_fixture("mini");
    repo.migrate_all_init();
    insta::assert_snapshot!("first_migration", repo.read("migrations/notes/0001_init.sql"));
    // Applied, it creates exactly what the spec describes.
    let database = ScratchDb::new("first").await;
    database.migrate(&migrations(&repo)).await.unwrap();
    let analysis = nova_gen_core::analyse(&repo.layout()).unwrap_or_else(|e| panic!("{e:?}"));
    let wanted = nova_gen_core::lower::lower_service(analysis.spec.service("notes").unwrap());
    assert_catalogs_equal(&database.catalog().await.catalog, &materialise(&wanted).await, "the spec's schema");
}

#[tokio::test]
async fn enums_and_checks_are_added_not_valid_then_validated() {
    let before = before().await;
    before.repo.edit(
        OWNERSHIP,
        "columns.version = \"bigint version\"\n",
        "columns.version = \"bigint version\"\ncolumns.state = \"enum(draft, published, archived) default draft -- where the note is in its life\"\ncolumns.priority = \"enum(low = 1, high = 2)?\"\nchecks = [\"length(title) between 1 and 200\"]\n",
    );
    let notes = before.evolve("enums_and_checks", false).await;
    assert_eq!(
        notes,
        [
            "adds column notes.state",
            "adds column notes.priority",
            "adds check notes_priority_check",
            "adds check notes_state_check",
            "adds check notes_title_check"
        ]
    );
    // Existing rows took the default; a value outside the enum is refused.
    assert_eq!(before.rows("SELECT DISTINCT state FROM notes").await, ["draft"]);
    let refused = sqlx::query("UPDATE notes SET state = 'lost'").execute(&mut before.database.connect().await).await.unwrap_err();
    assert_eq!(refused.as_database_error().and_then(|e| e.constraint().map(str::to_string)).as_deref(), Some("notes_state_check"));
}

#[tokio::test]
async fn soft_delete_narrows_uniques_to_live_rows_without_a_gap() {
    let before = before().await;
    before.repo.edit(
        OWNERSHIP,
        "[notes.tables.notes]\n",
        "[notes.tables.notes]\nsoft_delete = true\nunique = [\"lower(title) where deleted_at is null\"]\n",
    );
    before.repo.edit(OWNERSHIP, "columns.title = \"text\"", "columns.title = \"text unique\"");
    let notes = before.evolve("soft_delete", false).await;
    assert_eq!(notes, ["adds index notes_lower_title_live_key", "adds index notes_title_live_key"]);
    // Two deleted notes may share a title; live ones may not, whatever the case.
    let mut connection = before.database.connect().await;
    sqlx::query("UPDATE notes SET deleted_at = now(), title = 'same'").execute(&mut connection).await.unwrap();
    sqlx::query("INSERT INTO notes (author_id, title) VALUES (gen_random_uuid(), 'same')").execute(&mut connection).await.unwrap();
    let refused = sqlx::query("INSERT INTO notes (author_id, title) VALUES (gen_random_uuid(), 'SAME')").execute(&mut connection).await.unwrap_err();
    assert_eq!(refused.as_database_error().and_then(|e| e.constraint().map(str::to_string)).as_deref(), Some("notes_lower_title_live_key"));
}

#[tokio::test]
async fn a_unique_constraint_becomes_a_live_rows_unique_without_a_gap() {
    let before = before().await;
    before.repo.edit(OWNERSHIP, "columns.title = \"text\"", "columns.title = \"text unique\"");
    before.evolve("unique", false).await;
    before.repo.edit(OWNERSHIP, "[notes.tables.notes]\n", "[notes.tables.notes]\nsoft_delete = true\n");
    let notes = before.evolve("narrowed_unique", false).await;
    assert_eq!(notes, ["narrows unique constraint notes_title_key to notes_title_live_key", "adds index notes_title_live_key"]);
}

#[tokio::test]
async fn full_text_search_columns_gin_indexes_and_set_null() {
    let before = before().await;
    before.repo.edit(
        OWNERSHIP,
        "columns.version = \"bigint version\"\n",
        "columns.version = \"bigint version\"\ncolumns.search = \"tsvector generated (to_tsvector('simple', title || ' ' || body))\"\ncolumns.parent_id = \"uuid? -> notes.id set null\"\ncolumns.code = \"varchar(12)?\"\ncolumns.ratio = \"real default 1.5\"\ncolumns.remind_at = \"time?\"\ncolumns.ttl = \"interval default '1 day'\"\ncolumns.flags = \"bool[] default '{}'\"\ncolumns.expires_at = \"timestamptz default (now() + interval '24 hours')\"\n",
    );
    before.repo.edit(
        OWNERSHIP,
        "indexes = [\"author_id, created_at desc\"]",
        "indexes = [\"author_id, created_at desc\", \"search using gin\", \"tags using gin\", \"created_at where pinned\"]",
    );
    // Filling a generated column rewrites the table: refused without the flag.
    insta::assert_snapshot!("generated_column_refused", rendered_failure(before.repo.migrate("notes", "search", false)));
    let notes = before.evolve("search", true).await;
    assert_eq!(notes[0], "adds column notes.search");
    let found = before.rows("SELECT title FROM notes WHERE search @@ to_tsquery('simple', 'two')").await;
    assert_eq!(found, ["two"]);
    // Deleting a parent clears the reference.
    let mut connection = before.database.connect().await;
    sqlx::query("UPDATE notes SET parent_id = '00000000-0000-0000-0000-000000000001' WHERE title = 'three'").execute(&mut connection).await.unwrap();
    sqlx::query("DELETE FROM notes WHERE title = 'one'").execute(&mut connection).await.unwrap();
    assert_eq!(before.rows("SELECT coalesce(parent_id::text, 'null') FROM notes WHERE title = 'three'").await, ["null"]);
}

#[tokio::test]
async fn composite_foreign_keys_inside_a_service() {
    let before = before().await;
    before.repo.append(
        OWNERSHIP,
        "\n[notes.tables.link_votes]\ncolumns.from_note = \"uuid pk\"\ncolumns.to_note = \"uuid pk\"\ncolumns.voter_id = \"uuid pk\"\nforeign_keys = [\"from_note, to_note -> note_links(from_note, to_note) cascade\"]\n",
    );
    let notes = before.evolve("composite_foreign_key", false).await;
    assert_eq!(notes, ["adds table link_votes", "adds foreign key link_votes_from_note_to_note_fkey"]);
    // Deleting the link deletes its votes.
    let mut connection = before.database.connect().await;
    sqlx::query("INSERT INTO link_votes SELECT from_note, to_note, gen_random_uuid() FROM note_links").execute(&mut connection).await.unwrap();
    sqlx::query("DELETE FROM note_links WHERE label = 'see also'").execute(&mut connection).await.unwrap();
    assert_eq!(before.rows("SELECT count(*)::text FROM link_votes").await, ["1"]);
    let orphan = sqlx::query("INSERT INTO link_votes VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid())")
        .execute(&mut connection)
        .await
        .unwrap_err();
    assert_eq!(orphan.as_database_error().and_then(|e| e.constraint().map(str::to_string)).as_deref(), Some("link_votes_from_note_to_note_fkey"));
}

#[tokio::test]
async fn a_citext_column_brings_its_extension_and_takes_it_away() {
    let before = before().await;
    before.repo.edit(
        OWNERSHIP,
        "columns.version = \"bigint version\"\n",
        "columns.version = \"bigint version\"\ncolumns.email = \"citext? unique\"\n",
    );
    let notes = before.evolve("add_citext", false).await;
    assert_eq!(notes, ["adds extension citext", "adds column notes.email", "adds unique constraint notes_email_key"]);
    // The column compares case-insensitively, so its unique constraint does too.
    before.database.execute("UPDATE notes SET email = 'ada@x.io' WHERE title = 'one'").await;
    let clash = sqlx::query("UPDATE notes SET email = 'Ada@X.io' WHERE title = 'two'").execute(&mut before.database.connect().await).await;
    let code = clash.unwrap_err().as_database_error().and_then(|e| e.code().map(|c| c.to_string()));
    assert_eq!(code.as_deref(), Some("23505"), "a second Ada@X.io must violate the unique constraint");

    before.repo.edit(OWNERSHIP, "columns.email = \"citext? unique\"\n", "");
    let refused = rendered_failure(before.repo.migrate("notes", "drop_citext", false));
    assert!(refused.contains("notes.email"), "{refused}");
    let notes = before.evolve("drop_citext", true).await;
    assert_eq!(notes, ["drops unique constraint notes_email_key", "drops column notes.email", "drops extension citext"]);
    let extensions = before.rows("SELECT extname::text FROM pg_extension WHERE extname = 'citext'").await;
    assert!(extensions.is_empty(), "{extensions:?}");
}
