//! Issue 18: hand-written SQL that cannot go stale. Every SQL statement a hand-written crate
//! holds (`handwritten/<service>/src/**/*.rs`) is found by parsing its source with `syn` (see
//! `handwritten_sql/scan.rs`) — no list kept by hand — and prepared against a fresh database
//! migrated with that service's migrations, so a statement that no longer fits the schema
//! fails here, named by file:line, rather than at its first request. Pieces of statements
//! built at run time (a `format!` string with placeholders, a `QueryBuilder` start, a
//! `push`ed piece) cannot be prepared alone: they are listed in the output.
//!
//! One test per service, each on its own database; `every_service_is_checked` keeps the list
//! of them equal to the services of the spec and to the directories of `handwritten/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod scan;

use std::path::{Path, PathBuf};

use nova_runtime::db::Migration;
use nova_tests::statements::prepare_each;
use scan::{Found, Scan, scan_service, scan_source};

/// The repository's root (`handwritten/`, `tests/`, ...).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn migrations_of(service: &str) -> &'static [Migration] {
    match nova_services::SERVICES.iter().find(|s| s.name == service) {
        Some(found) => found.migrations,
        None => panic!("{service}: not a service of the spec (nova_services::SERVICES)"),
    }
}

/// Prepares every statement of `scan` against a fresh database migrated with `migrations`
/// and checks that every constant a sqlx query function runs was found as SQL; returns what
/// was done (for the output) and the failures, each naming the file and line.
async fn check_scan(label: &str, migrations: &'static [Migration], scan: &Scan) -> (String, Vec<String>) {
    let statements: Vec<&Found> = scan.statements().collect();
    let mut failures = Vec::new();
    for (name, place) in &scan.executed_constants {
        if !scan.sql_constants.contains(name) {
            failures.push(format!("{place}: runs {name}, which the scanner did not find as a SQL statement"));
        }
    }
    let calls = scan.executed_constants.len() + scan.executed_variables.len();
    if calls > 0 && statements.is_empty() {
        failures.push(format!("{label}: the crate runs {calls} queries but the scanner found no statement (is the scanner broken?)"));
    }
    let sqls: Vec<&str> = statements.iter().map(|found| found.sql.as_str()).collect();
    let refusals = if sqls.is_empty() { Vec::new() } else { prepare_each(&format!("hw_{label}"), migrations, &sqls).await };
    assert_eq!(refusals.len(), statements.len(), "{label}: one answer per statement");
    for (found, refusal) in statements.iter().zip(&refusals) {
        if let Some(error) = refusal {
            failures.push(format!("{}: PostgreSQL refuses the statement\n    {}\n    {error}", found.place, found.sql));
        }
    }
    let mut report =
        format!("{label}: {} statements prepared; {} sqlx calls run one by its constant", statements.len(), scan.executed_constants.len());
    let dynamic: Vec<&Found> = scan.dynamic().collect();
    report.push_str(&format!("; {} pieces of statements built at run time (not prepared)", dynamic.len()));
    for found in dynamic {
        report.push_str(&format!("\n  {}: {} ({})", found.place, found.sql, found.dynamic.unwrap_or_default()));
    }
    for (name, place) in &scan.executed_variables {
        report.push_str(&format!("\n  {place}: runs `{name}`, a statement chosen at run time"));
    }
    (report, failures)
}

/// Scans `handwritten/<service>` and prepares what it holds against the service's schema.
async fn check(service: &str) -> usize {
    let root = root();
    let scan = scan_service(&root, &root.join("handwritten").join(service), &root.join("generated").join(service));
    let (report, failures) = check_scan(service, migrations_of(service), &scan).await;
    println!("{report}");
    assert!(failures.is_empty(), "{service}: hand-written SQL that does not fit:\n{}", failures.join("\n"));
    scan.statements().count()
}

/// One test per service (`prepares::<service>`), and the list of them.
macro_rules! services {
    ($($service:ident),* $(,)?) => {
        mod prepares {
            $(
                #[tokio::test]
                async fn $service() {
                    let found = super::check(stringify!($service)).await;
                    // Every hand-written crate runs SQL of its own: none found means the scanner broke.
                    assert!(found > 0, "{}: no hand-written statement found", stringify!($service));
                }
            )*
        }
        const SERVICES: &[&str] = &[$(stringify!($service)),*];
    };
}

services!(auth, content, feed, media, messaging, search, streaming, user);

/// The services checked above are those of the spec, and every crate of `handwritten/`.
#[test]
fn every_service_is_checked() {
    let mut checked: Vec<&str> = SERVICES.to_vec();
    checked.sort_unstable();
    let mut spec: Vec<&str> = nova_services::SERVICES.iter().map(|s| s.name).collect();
    spec.sort_unstable();
    assert_eq!(checked, spec, "one prepares::<service> test per service of the spec");
    let mut crates: Vec<String> = std::fs::read_dir(root().join("handwritten"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("src").is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort_unstable();
    assert_eq!(crates, checked, "one prepares::<service> test per hand-written crate");
}

// ----- the scanner itself -----

/// The line of `source` holding `needle` (once).
fn line(source: &str, needle: &str) -> usize {
    let lines: Vec<usize> = source.lines().enumerate().filter(|(_, text)| text.contains(needle)).map(|(i, _)| i + 1).collect();
    assert_eq!(lines.len(), 1, "{needle:?} is on one line of the sample");
    lines[0]
}

const SAMPLE: &str = r####"
//! SELECT in a module doc is prose.
const PLAIN: &str = "SELECT id FROM plain";
const RAW: &str = r#"UPDATE raw SET "x" = 1"#;
macro_rules! columns {
    () => {
        "a, b"
    };
}
const JOINED: &str = concat!("SELECT ", columns!(), " FROM joined");
static STATIC_SQL: &str = "  DELETE FROM static_sql";
const NOT_SQL: &str = "a, b, c";
const CHOSEN: &str = "select 1";
/// SELECT in a doc comment is prose.
fn run(db: &Pool, sql: &str) {
    let lower = "with recent as (select 1) select * from recent";
    sqlx::query(PLAIN).bind(1);
    sqlx::query_as(crate::sql::RAW);
    sqlx::query(sql);
    sqlx::query_scalar("insert into inline values (1)");
    let built = format!("SELECT {} FROM formatted", "a");
    let whole = format!("SELECT 2 FROM unformatted");
    let mut b = QueryBuilder::new("INSERT INTO builder (a) ");
    b.push("SELECT a FROM pushed WHERE ");
    let unknown = concat!("SELECT ", env!("X"));
    assert_eq!(run("DELETE FROM in_macro WHERE a = 1"), 1);
    ensure_owner(requester, "delete this media");
    let prose = ["Select a media to delete", "with a reason", "update the profile first", "SELECTED", "Insert it"];
}
impl Thing {
    const ASSOCIATED: &'static str = "WITH x AS (SELECT 1) SELECT * FROM x";
}
"####;

#[test]
fn the_scanner_finds_every_form_of_sql() {
    let scan = scan_source("sample.rs", SAMPLE);
    let found: Vec<(usize, &str, Option<&str>)> = scan.found.iter().map(|f| (f.place.line, f.sql.as_str(), f.dynamic)).collect();
    let at = |needle| line(SAMPLE, needle);
    let expected = vec![
        (at("const PLAIN"), "SELECT id FROM plain", None),
        (at("const RAW"), r#"UPDATE raw SET "x" = 1"#, None),
        (at("const JOINED"), "SELECT a, b FROM joined", None),
        (at("static STATIC_SQL"), "  DELETE FROM static_sql", None),
        (at("let lower"), "with recent as (select 1) select * from recent", None),
        (at("insert into inline"), "insert into inline values (1)", None),
        (at("FROM formatted"), "SELECT {} FROM formatted", Some("the format string of a format! (filled at run time)")),
        (at("unformatted"), "SELECT 2 FROM unformatted", None),
        (at("QueryBuilder::new"), "INSERT INTO builder (a) ", Some("the start of a QueryBuilder")),
        (at("b.push"), "SELECT a FROM pushed WHERE ", Some("appended to a statement built at run time")),
        (at("let unknown"), "SELECT ", Some("a piece of a concat! this scanner cannot expand")),
        (at("in_macro"), "DELETE FROM in_macro WHERE a = 1", None),
        (at("const ASSOCIATED"), "WITH x AS (SELECT 1) SELECT * FROM x", None),
    ];
    assert_eq!(found, expected);
    let constants: Vec<&str> = scan.sql_constants.iter().map(String::as_str).collect();
    assert_eq!(constants, ["ASSOCIATED", "JOINED", "PLAIN", "RAW", "STATIC_SQL"], "CHOSEN is prose in lower case without FROM");
    let executed: Vec<(&str, usize)> = scan.executed_constants.iter().map(|(name, place)| (name.as_str(), place.line)).collect();
    assert_eq!(executed, [("PLAIN", at("query(PLAIN)")), ("RAW", at("crate::sql::RAW"))]);
    let variables: Vec<(&str, usize)> = scan.executed_variables.iter().map(|(name, place)| (name.as_str(), place.line)).collect();
    assert_eq!(variables, [("sql", at("query(sql)"))]);
}

/// The check is not vacuous: a statement naming a column the schema lacks is reported with
/// its file, line and PostgreSQL's error, and a query run with a constant the scanner does
/// not take for SQL is reported too.
#[tokio::test]
async fn a_statement_that_does_not_fit_the_schema_is_reported_with_its_place() {
    let source = "const FITS: &str = \"SELECT user_id FROM feed_metadata\";\n\
                  const STALE: &str = \"SELECT user_id, no_such_column FROM feed_metadata\";\n\
                  const COLUMNS: &str = \"user_id, last_generated_at\";\n\
                  fn f() { sqlx::query(COLUMNS); sqlx::query(STALE); }\n";
    let scan = scan_source("handwritten/feed/src/stale.rs", source);
    assert_eq!(scan.statements().count(), 2);
    let (report, failures) = check_scan("stale", migrations_of("feed"), &scan).await;
    assert!(report.starts_with("stale: 2 statements prepared; 2 sqlx calls run one by its constant"), "{report}");
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(failures[0].starts_with("handwritten/feed/src/stale.rs:4: runs COLUMNS"), "{}", failures[0]);
    let stale = &failures[1];
    assert!(stale.starts_with("handwritten/feed/src/stale.rs:2: PostgreSQL refuses"), "{stale}");
    assert!(stale.contains("SELECT user_id, no_such_column FROM feed_metadata"), "{stale}");
    assert!(stale.contains("column \"no_such_column\" does not exist"), "{stale}");
}

#[test]
fn prose_is_not_taken_for_sql() {
    for sql in
        ["SELECT 1", "select count(*) from t", "insert into t values (1)", "delete from t", "update t set a = 1", "with t as (select 1) select 1"]
    {
        assert!(scan::is_statement(sql), "{sql}");
    }
    for prose in ["delete this media", "Select a file", "update the profile first", "with care", "SELECTED", "INSERTS", "", "select"] {
        assert!(!scan::is_statement(prose), "{prose}");
    }
}

#[test]
fn the_generated_repositories_macros_are_expanded() {
    let source = "macro_rules! __t__columns { () => { \"a, b\" }; }\n\
                  macro_rules! __t__status__sql { (live) => { \"2\" }; (ended) => { \"3\" }; }\n\
                  const Q: &str = concat!(\"SELECT \", t::columns!(), \" FROM t WHERE status = \", t::status_sql!(ended));\n";
    let scan = scan_source("src/q.rs", source);
    let found: Vec<&str> = scan.statements().map(|found| found.sql.as_str()).collect();
    assert_eq!(found, ["SELECT a, b FROM t WHERE status = 3"]);
    assert_eq!(scan.dynamic().count(), 0, "every piece was expanded");
}
