//! Dependencies of a handwritten crate. The crate graph is the boundary: a service's
//! handwritten crate may depend on its own generated crates and on other services' API crates
//! (`nova-<svc>-api`: messages and client), never on another service's own crate (`nova-<svc>`:
//! server, Logic, repositories, database) nor on its handwritten crate.

use toml::de::{DeTable, DeValue};

use super::Ownership;
use crate::diagnostic::Diagnostic;
use crate::names::client_struct_name;
use crate::source::SourceFile;

/// Which of a service's crates a package name is.
enum ServiceCrate<'a> {
    Api(&'a str),
    Own(&'a str),
    Handwritten(&'a str),
}

fn classify<'a>(package: &str, ownership: &'a Ownership<'_>) -> Option<ServiceCrate<'a>> {
    ownership.spec.services.iter().find_map(|other| {
        let own = format!("nova-{}", other.name.replace('_', "-"));
        let name = other.name.as_str();
        if package == format!("{own}-api") {
            Some(ServiceCrate::Api(name))
        } else if package == format!("{own}-service") {
            Some(ServiceCrate::Handwritten(name))
        } else if package == own {
            Some(ServiceCrate::Own(name))
        } else {
            None
        }
    })
}

pub(crate) fn check_manifest(file: &SourceFile, service: &str, ownership: &Ownership<'_>) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let Ok(document) = DeTable::parse(&file.text) else { return diagnostics };
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(DeValue::Table(deps)) = document.get_ref().get(section).map(|v| v.get_ref()) else { continue };
        for (key, value) in deps.iter() {
            let name = key.get_ref().to_string();
            let package = match value.get_ref() {
                DeValue::Table(t) => t.get("package").and_then(|p| p.get_ref().as_str()).map_or(name.clone(), str::to_string),
                _ => name.clone(),
            };
            if let Some(ServiceCrate::Api(callee)) = classify(&package, ownership)
                && callee != service
                && ownership.spec.service(service).is_some_and(|s| !ownership.spec.resolve(&s.calls).any(|c| c.name == callee))
            {
                diagnostics.push(
                    Diagnostic::new(
                        "boundary::undeclared-call",
                        format!("the {service} service depends on the {callee} service's client `{package}` ({section}), but does not declare that it calls {callee}"),
                    )
                    .in_file(file)
                    .label(key.span(), "undeclared dependency")
                    .help(format!(
                        "declare the dependency once, in specs/ownership.toml: add \"{callee}\" to `calls` in [{service}] (Helm values, alerts and the system picture follow), or remove this line"
                    )),
                );
                continue;
            }
            let (other, what) = match classify(&package, ownership) {
                Some(ServiceCrate::Own(other)) if other != service => (other, "own generated crate (server, Logic, repositories, database)"),
                Some(ServiceCrate::Handwritten(other)) if other != service => (other, "implementation"),
                _ => continue,
            };
            let api = format!("nova-{}-api", other.replace('_', "-"));
            let diagnostic = Diagnostic::new(
                "boundary::foreign-crate",
                format!("the {service} service depends on the {other} service's {what} `{package}` ({section})"),
            )
            .in_file(file)
            .label(key.span(), "crosses a service boundary")
            .help(format!("depend on `{api}` and call its `{}` instead: services reach each other only over gRPC", client_struct_name(other)));
            diagnostics.push(diagnostic);
        }
    }
    diagnostics
}
