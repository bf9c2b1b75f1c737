//! Dependencies of a handwritten crate: which other services' generated crates it may use
//! (their clients), and that it never depends on another service's handwritten crate.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};

use super::Ownership;
use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

pub(crate) struct ManifestFindings {
    pub diagnostics: Vec<Diagnostic>,
    /// Crate names as seen from Rust (`nova_auth`, or a rename) -> the service they belong to.
    pub service_crates: BTreeMap<String, String>,
}

pub(crate) fn check_manifest(file: &SourceFile, service: &str, ownership: &Ownership<'_>) -> ManifestFindings {
    let mut findings = ManifestFindings { diagnostics: Vec::new(), service_crates: BTreeMap::new() };
    let Ok(document) = DeTable::parse(&file.text) else { return findings };
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(DeValue::Table(deps)) = document.get_ref().get(section).map(|v| v.get_ref()) else { continue };
        for (key, value) in deps.iter() {
            let name = key.get_ref().to_string();
            let package = match value.get_ref() {
                DeValue::Table(t) => t.get("package").and_then(|p| p.get_ref().as_str()).map_or(name.clone(), str::to_string),
                _ => name.clone(),
            };
            for other in &ownership.spec.services {
                let generated = format!("nova-{}", other.name.replace('_', "-"));
                let handwritten = format!("{generated}-service");
                if package == generated {
                    findings.service_crates.insert(name.replace('-', "_"), other.name.clone());
                } else if package == handwritten && other.name != service {
                    let diagnostic = Diagnostic::new(
                        "boundary::handwritten-dependency",
                        format!("the {service} service depends on the {} service's implementation `{handwritten}`", other.name),
                    )
                    .in_file(file)
                    .label(key.span(), "crosses a service boundary")
                    .help(format!(
                        "depend on `{generated}` and call its `{}` instead: services reach each other only over gRPC",
                        client_name(&other.name)
                    ));
                    findings.diagnostics.push(diagnostic);
                }
            }
        }
    }
    findings
}

pub(crate) fn client_name(service: &str) -> String {
    format!("{}Client", heck::ToUpperCamelCase::to_upper_camel_case(service))
}
