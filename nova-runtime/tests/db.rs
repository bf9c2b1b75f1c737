//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use nova_runtime::db::{Migration, migrator, quote_identifier};
#[test]
fn identifiers_are_quoted() {
    assert_eq!(quote_identifier("nova_auth"), "\"nova_auth\"");
    assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
}

#[test]
fn migrator_keeps_versions_in_order() {
    static FILES: [Migration; 2] =
        [Migration { version: 2, description: "second", sql: "SELECT 2" }, Migration { version: 1, description: "init", sql: "SELECT 1" }];
    let migrator = migrator(&FILES);
    let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    assert_eq!(versions, [1, 2]);
}
