//! The README's policy table (which RPC is public, user, service-only or permission) says what
//! the spec says: every RPC of every service, in its column, and nothing else. The generated
//! `generated/ops/ACCESS.md` is the full table; this keeps the README's summary honest.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;

use nova_runtime::identity::Access;

/// (service, kind) -> RPC names, from the README's table.
fn readme_table() -> BTreeMap<(String, &'static str), Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let start = readme.find("**The policy table**").expect("the README has a policy table");
    let rows = readme[start..].lines().skip_while(|line| !line.starts_with("| service |")).skip(2).take_while(|line| line.starts_with('|'));
    let mut table = BTreeMap::new();
    for row in rows {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 5, "a row of five cells: {row}");
        for (kind, cell) in ["public", "user", "service", "permission"].into_iter().zip(&cells[1..]) {
            let names = if *cell == "—" { Vec::new() } else { cell.split(", ").map(str::to_string).collect() };
            table.insert((cells[0].to_string(), kind), names);
        }
    }
    table
}

#[test]
fn the_readme_policy_table_is_the_spec() {
    let mut spec: BTreeMap<(String, &'static str), Vec<String>> = BTreeMap::new();
    for service in nova_services::SERVICES {
        for kind in ["public", "user", "service", "permission"] {
            spec.entry((service.name.to_string(), kind)).or_default();
        }
        for rpc in service.description.rpcs {
            let kind = match rpc.access.access {
                Access::Public => "public",
                Access::User => "user",
                Access::Service => "service",
                Access::Permission(_) => "permission",
            };
            spec.entry((service.name.to_string(), kind)).or_default().push(rpc.method.to_string());
        }
    }
    assert_eq!(readme_table(), spec, "update the README's policy table from generated/ops/ACCESS.md");
}
