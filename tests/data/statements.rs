//! Every statement of every generated repository prepares against the schema its service's
//! migrations build (issue 8, item 6). The services come from the generated registry
//! (`nova_services::SERVICES`), each on its own database; the work is done by
//! `nova_tests::statements`, which knows no service by name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use futures_util::future::join_all;
use nova_runtime::db::Migration;
use nova_tests::statements::{assert_all_prepare, prepare_all};

/// Every service of the spec, from the generated registry: a service added to the spec is
/// checked here without a change to this file. They run concurrently, each on its own database.
#[tokio::test]
async fn every_services_statements_prepare() {
    let services: Vec<_> = nova_services::SERVICES.iter().filter(|service| !service.migrations.is_empty()).collect();
    assert!(!services.is_empty(), "the registry lists services with databases");
    join_all(services.iter().map(|service| assert_all_prepare(service.name, service.migrations, service.tables, service.statements))).await;
}

/// The torture spec's table with every column-language addition (citext included).
#[tokio::test]
async fn torture_beta_statements_prepare() {
    assert_all_prepare("nova_beta", nova_beta::db::MIGRATIONS, nova_beta::repo::TABLES, nova_beta::repo::STATEMENTS).await;
}

/// The check is not vacuous: a statement naming a column the schema lacks, or a table of
/// another service, is reported with its name.
#[tokio::test]
async fn a_statement_that_does_not_fit_the_schema_is_reported() {
    static WRONG: &[(&str, &[(&str, &str)])] = &[(
        "users",
        &[("get", "SELECT id FROM users WHERE id = $1"), ("pinned", "SELECT pinned FROM users WHERE id = $1"), ("posts", "SELECT id FROM posts")],
    )];
    let migrations: &'static [Migration] = nova_auth::db::MIGRATIONS;
    let (prepared, failed) = prepare_all("wrong", migrations, WRONG).await;
    assert_eq!(prepared, 1);
    let names: Vec<&str> = failed.iter().map(|f| f.statement).collect();
    assert_eq!(names, ["pinned", "posts"]);
    assert!(failed[0].error.contains("pinned"), "{}", failed[0].error);
}
