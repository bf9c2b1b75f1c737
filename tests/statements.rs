//! Every statement of every generated repository prepares against the schema its service's
//! migrations build (issue 8, item 6). One test per service, each with its own database; the
//! work is done by `nova_tests::statements`, which knows no service by name.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_runtime::db::Migration;
use nova_tests::statements::{assert_all_prepare, prepare_all};

macro_rules! service_statements_prepare {
    ($($test:ident => $krate:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            assert_all_prepare(stringify!($krate), $krate::db::MIGRATIONS, $krate::repo::TABLES, $krate::repo::STATEMENTS).await;
        }
    )*};
}

service_statements_prepare! {
    auth_statements_prepare => nova_auth,
    user_statements_prepare => nova_user,
    messaging_statements_prepare => nova_messaging,
    content_statements_prepare => nova_content,
    media_statements_prepare => nova_media,
    feed_statements_prepare => nova_feed,
    search_statements_prepare => nova_search,
    streaming_statements_prepare => nova_streaming,
    // The torture spec's table with every column-language addition (citext included).
    torture_beta_statements_prepare => nova_beta,
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
