//! Rules that keep every valid spec compilable as Rust API crates: RPC names that would
//! collide with what the generator or tonic adds beside them, and proto imports that would
//! make API crates depend on each other in a cycle.

use std::collections::BTreeMap;

use heck::ToSnakeCase;

use super::Validator;
use crate::load::protos::{ProtoServiceInfo, imported_packages, spec_packages};
use crate::names::{CLIENT_HELPERS, RPC_MODULE_CONSTS, invalidate_method, method_name, rpc_const_name};

pub(crate) fn check_api(v: &mut Validator<'_>) {
    let services: Vec<(String, ProtoServiceInfo)> = v
        .loaded
        .ownership
        .services
        .iter()
        .filter_map(|s| v.loaded.protos.service(&s.proto_name()).map(|p| (s.name.value.clone(), p.clone())))
        .collect();
    for (name, proto) in &services {
        check_rpc_names(v, name, proto);
    }
    check_package_links(v, &services);
}

/// An RPC's method name must not be one the generated client, tonic's client or the `rpc`
/// module already uses, and two RPCs must not map to the same Rust name.
fn check_rpc_names(v: &mut Validator<'_>, service: &str, proto: &ProtoServiceInfo) {
    let cached: Vec<String> = v
        .loaded
        .ownership
        .services
        .iter()
        .filter(|s| s.name.value == service)
        .flat_map(|s| s.rpcs.iter().filter(|r| r.policy.cache.is_some()).map(|r| r.name.value.clone()))
        .collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for method in &proto.methods {
        let rust = method_name(&method.name);
        let taken_by = if CLIENT_HELPERS.contains(&rust.as_str()) {
            Some(format!("the client's own `{rust}` method"))
        } else if let Some(other) = cached.iter().find(|c| invalidate_method(c) == rust) {
            Some(format!("`{rust}`, the helper that forgets cached `{other}` responses"))
        } else if RPC_MODULE_CONSTS.contains(&rpc_const_name(&method.name).as_str()) {
            Some(format!("the `rpc::{}` constant", rpc_const_name(&method.name)))
        } else {
            seen.get(&rust).map(|first| format!("the RPC `{first}`, which has the same Rust name `{rust}`"))
        };
        if let Some(taken_by) = taken_by {
            v.report_proto(
                &proto.file,
                "spec::rpc-name-collision",
                method.span.clone(),
                "collides with generated code",
                format!("RPC `{}` of {} would generate a method that collides with {taken_by}", method.name, proto.full_name()),
                format!(
                    "rename the RPC (e.g. `{}{}`); names reserved on generated clients: {}, and invalidate_<cached RPC>",
                    method.name,
                    suggestion_suffix(&method.name),
                    CLIENT_HELPERS.join(", ")
                ),
            );
        }
        seen.entry(rust).or_insert_with(|| method.name.clone());
    }
}

fn suggestion_suffix(name: &str) -> &'static str {
    if name.to_snake_case().starts_with("invalidate") { "Cache" } else { "Item" }
}

/// Shared packages (owned by no service) are generated once for everybody, so they may not
/// import a service's package; and services' API crates may not import each other in a cycle.
fn check_package_links(v: &mut Validator<'_>, services: &[(String, ProtoServiceInfo)]) {
    let owner = |package: &str| services.iter().find(|(_, p)| p.package == package).map(|(name, _)| name.clone());
    let shared: Vec<String> = spec_packages(&v.loaded.protos).into_iter().filter(|p| owner(p).is_none()).collect();
    let mut shared_edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in &shared {
        let direct = direct_imports(v, package);
        shared_edges.insert(package.clone(), direct.into_iter().filter(|p| shared.contains(p)).collect());
        for imported in imported_packages(&v.loaded.protos, package) {
            if let Some(service) = owner(&imported) {
                report_import(
                    v,
                    package,
                    &imported,
                    format!("shared package `{package}` imports `{imported}`, the API of the {service} service"),
                    "shared packages hold types every service may use; move the type into the shared package, or the shared message into the service's package",
                );
            }
        }
    }
    let edges: BTreeMap<String, Vec<String>> = services
        .iter()
        .map(|(name, proto)| {
            let targets = imported_packages(&v.loaded.protos, &proto.package).iter().filter_map(|p| owner(p)).filter(|s| s != name).collect();
            (name.clone(), targets)
        })
        .collect();
    if let Some(cycle) = find_cycle(&shared_edges) {
        let (from, to) = (cycle[0].clone(), cycle[1 % cycle.len()].clone());
        report_import(
            v,
            &from,
            &to,
            format!("shared proto packages {} import each other in a cycle", cycle.join(" -> ")),
            "each shared package becomes a crate, and Cargo forbids cycles between crates: merge the packages or move the types that import each other into one",
        );
    }
    if let Some(cycle) = find_cycle(&edges) {
        let first = &cycle[0];
        let second = &cycle[1 % cycle.len()];
        let (Some(from), Some(to)) = (services.iter().find(|(n, _)| n == first), services.iter().find(|(n, _)| n == second)) else { return };
        let (from_package, to_package) = (from.1.package.clone(), to.1.package.clone());
        report_import(
            v,
            &from_package,
            &to_package,
            format!("the APIs of services {} import each other in a cycle", cycle.join(" -> ")),
            "an API crate depends on the API crates whose packages it imports, and Cargo forbids cycles: move the shared messages into a shared package (e.g. nova.common.v1)",
        );
    }
}

/// The packages the files of `package` import directly.
fn direct_imports(v: &Validator<'_>, package: &str) -> Vec<String> {
    let protos = &v.loaded.protos;
    let mut found: Vec<String> = protos
        .files
        .values()
        .filter(|f| f.package() == package)
        .flat_map(|f| f.dependency.iter().filter_map(|d| protos.files.get(d)).map(|d| d.package().to_string()))
        .filter(|p| p != package)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// A cycle in a graph (services, or packages), as the services along it, if there is one.
fn find_cycle(edges: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(node: &str, edges: &BTreeMap<String, Vec<String>>, path: &mut Vec<String>, done: &mut Vec<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            return Some(path[at..].to_vec());
        }
        if done.iter().any(|n| n == node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(node.to_string());
        None
    }
    let mut done = Vec::new();
    edges.keys().find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}

/// Reports the `import` in a file of `package` that brings in `imported`.
fn report_import(v: &mut Validator<'_>, package: &str, imported: &str, message: String, help: &str) {
    let protos = &v.loaded.protos;
    let found = protos.files.values().filter(|f| f.package() == package).find_map(|file| {
        let dependency = file.dependency.iter().find(|d| protos.files.get(*d).is_some_and(|f| f.package() == imported))?;
        let source = protos.sources.get(file.name())?;
        let at = source.text.find(&format!("\"{dependency}\""))?;
        Some((file.name().to_string(), at..at + dependency.len() + 2))
    });
    let (file, span) =
        found.unwrap_or_else(|| (protos.files.values().find(|f| f.package() == package).map(|f| f.name().to_string()).unwrap_or_default(), 0..0));
    v.report_proto(&file, "spec::proto-import", span, "imported here", message, help);
}
