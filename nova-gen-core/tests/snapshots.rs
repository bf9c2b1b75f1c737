//! Every kind of file nova-gen emits, for the small fixture spec, as reviewable snapshots
//! (`cargo insta review`). A change to generated code shows up here first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod common;

use common::TempRepo;

#[test]
fn every_emitted_file_kind() {
    let repo = TempRepo::with_fixture("mini");
    // With a first migration per service, so that the database module embeds one (migration
    // files themselves are snapshot by the migrate tests).
    repo.migrate_all_init();
    let (_, files) = nova_gen_core::generate_files(&repo.layout()).unwrap();
    let kinds: Vec<&str> = files.owned.keys().chain(files.scaffold.keys()).map(String::as_str).collect();
    // Guard against a new artifact slipping in without a snapshot.
    assert_eq!(kinds.len(), 66, "{kinds:#?}");
    // The chart's templates are copied verbatim from templates/helm/ (its rules are generated).
    let copied = |path: &str| path.starts_with("generated/ops/chart/") && !path.starts_with("generated/ops/chart/rules/");
    let texts = files
        .owned
        .iter()
        .filter(|(path, _)| !path.ends_with(".bin") && !copied(path))
        .map(|(path, bytes)| (path, String::from_utf8(bytes.clone()).unwrap()));
    for (path, contents) in texts.chain(files.scaffold.iter().map(|(p, c)| (p, c.clone()))) {
        // Each snapshot is named after its path in the repository.
        let name = path.replace('/', "__");
        insta::assert_snapshot!(name, &contents);
        if path.ends_with(".rs") {
            syn::parse_file(&contents).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
        }
    }
}

#[test]
fn reflection_descriptors_hold_the_service_and_its_imports() {
    use prost::Message as _;
    let repo = TempRepo::with_fixture("mini");
    let (_, files) = nova_gen_core::generate_files(&repo.layout()).unwrap();
    let bytes = &files.owned["generated/accounts/src/file_descriptor_set.bin"];
    let set = prost_types::FileDescriptorSet::decode(bytes.as_slice()).unwrap();
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert_eq!(names, ["google/protobuf/timestamp.proto", "nova/accounts/v1/accounts.proto"]);
    assert!(set.file.iter().all(|f| f.source_code_info.is_none()), "comments stay out of the binary");
}

/// `names::CLIENT_HELPERS` (what an RPC may not be called, because the generated client has a
/// method of that name) is every method of the generated client that is not an RPC's or its
/// `invalidate_<rpc>`: a new helper in the client emitter fails here until the list has it.
#[test]
fn the_client_helpers_list_is_what_the_client_emitter_writes() {
    let repo = TempRepo::with_fixture("mini");
    let (analysis, files) = nova_gen_core::generate_files(&repo.layout()).unwrap();
    for service in &analysis.spec.services {
        let path = format!("generated/{}-api/src/client.rs", service.name);
        let text = String::from_utf8(files.owned[&path].clone()).unwrap();
        let file = syn::parse_file(&text).unwrap();
        let rpcs: Vec<String> = service.rpcs.iter().map(|rpc| nova_gen_core::names::rpc_method(rpc).to_string()).collect();
        let mut helpers: Vec<String> = Vec::new();
        for item in &file.items {
            let syn::Item::Impl(block) = item else { continue };
            for member in &block.items {
                let syn::ImplItem::Fn(method) = member else { continue };
                let name = method.sig.ident.to_string();
                let own = rpcs.contains(&name) || rpcs.iter().any(|rpc| name == nova_gen_core::names::invalidate_method(rpc_name_of(service, rpc)));
                if !own {
                    helpers.push(name);
                }
            }
        }
        helpers.sort();
        let mut listed: Vec<String> = nova_gen_core::names::CLIENT_HELPERS.iter().map(|h| (*h).to_string()).filter(|h| helpers.contains(h)).collect();
        listed.sort();
        assert_eq!(helpers, listed, "{path}: a client method missing from names::CLIENT_HELPERS");
        assert!(!helpers.is_empty(), "{path}: no helper found: the parse is broken");
    }
}

/// The proto name of the RPC whose method is `method`.
fn rpc_name_of<'s>(service: &'s nova_gen_core::ir::Service, method: &str) -> &'s str {
    service.rpcs.iter().find(|rpc| nova_gen_core::names::rpc_method(rpc) == method).map_or("", |rpc| rpc.name.as_str())
}
