//! Rules about services as a whole: names, their proto service, their database and port.

use std::collections::BTreeMap;

use heck::ToUpperCamelCase;

use super::Validator;
use super::names::service_name_problem;
use crate::source::Span;

pub(crate) fn check_services(v: &mut Validator<'_>) {
    let spec = &v.loaded.ownership;
    let mut by_proto: BTreeMap<String, Span> = BTreeMap::new();
    let mut by_database: BTreeMap<String, Span> = BTreeMap::new();
    let mut by_port: BTreeMap<i64, Span> = BTreeMap::new();
    for (index, service) in spec.services.iter().enumerate() {
        let name = &service.name;
        if let Some(why) = service_name_problem(&name.value) {
            v.report(
                "spec::bad-name",
                name.span.clone(),
                why,
                format!("`{}` cannot name a service", name.value),
                "rename the section, e.g. [media] or [live_streaming]",
            );
        }
        let proto = service.proto_name();
        let proto_span = service.proto.as_ref().map_or(name.span.clone(), |p| p.span.clone());
        if v.loaded.protos.service(&proto).is_none() {
            let pascal = name.value.to_upper_camel_case();
            let help = match &service.proto {
                Some(_) => "name a service declared in specs/proto, as package.Service".to_string(),
                None => format!(
                    "declare `service {pascal}Service` in specs/proto/nova/{0}/v1/{0}.proto (package nova.{0}.v1), or set `proto = \"package.Service\"` in [{0}]",
                    name.value
                ),
            };
            v.report(
                "spec::missing-proto-service",
                proto_span.clone(),
                "no such proto service",
                format!("service `{}` has no proto service `{proto}`", name.value),
                help,
            );
        }
        if let Some(first) = by_proto.insert(proto.clone(), proto_span.clone()) {
            let message = format!("proto service `{proto}` is claimed by two services");
            let diagnostic = crate::diagnostic::Diagnostic::new("spec::duplicate-proto-service", message)
                .in_file(v.ownership_file())
                .label(proto_span, "claimed again here")
                .label(first, "first claimed here")
                .help("each proto service is implemented by exactly one nova service");
            v.push(diagnostic);
        }
        if service.tables.is_empty() {
            v.report(
                "spec::service-without-database",
                name.span.clone(),
                "owns no table",
                format!("service `{}` owns no table, so it has no database", name.value),
                format!("declare the tables it owns with [{}.tables.<name>]; every service has its own database", name.value),
            );
        }
        let database = service.database_name();
        let database_span = service.database.as_ref().map_or(name.span.clone(), |d| d.span.clone());
        if service_name_problem(&database).is_some() {
            v.report(
                "spec::bad-name",
                database_span.clone(),
                "not a plain identifier",
                format!("`{database}` cannot name a database"),
                "use lower_snake_case, e.g. \"nova_auth\"",
            );
        }
        if let Some(first) = by_database.insert(database.clone(), database_span.clone()) {
            let diagnostic = crate::diagnostic::Diagnostic::new("spec::shared-database", format!("database `{database}` is shared by two services"))
                .in_file(v.ownership_file())
                .label(database_span, "shared again here")
                .label(first, "first used here")
                .help("give every service its own database: a shared database is the distributed monolith nova removes");
            v.push(diagnostic);
        }
        let port = spec.port_of(index);
        let port_span = service.port.as_ref().map_or(name.span.clone(), |p| p.span.clone());
        if !(1..=65535).contains(&port) {
            v.report("spec::bad-port", port_span.clone(), "out of range", format!("port {port} is not a TCP port"), "use a port between 1 and 65535");
        } else if let Some(first) = by_port.insert(port, port_span.clone()) {
            let help = if service.port.is_none() {
                format!(
                    "the port derived from the name `{}` collides with another service's: set `port = <N>` in [{}] (derived ports lie in 50100-50999)",
                    name.value, name.value
                )
            } else {
                "set `port = ` so that each service has its own (ports not set are derived from the service's name, in 50100-50999)".to_string()
            };
            let diagnostic = crate::diagnostic::Diagnostic::new("spec::duplicate-port", format!("port {port} is used by two services"))
                .in_file(v.ownership_file())
                .label(port_span, "used again here")
                .label(first, "first used here")
                .help(help);
            v.push(diagnostic);
        }
    }
    check_unowned_proto_services(v);
}

/// Every proto service must belong to a section of ownership.toml: an API nobody owns has no
/// database and no generated crate.
fn check_unowned_proto_services(v: &mut Validator<'_>) {
    let claimed: Vec<String> = v.loaded.ownership.services.iter().map(|s| s.proto_name()).collect();
    let unowned: Vec<_> = v.loaded.protos.services.iter().filter(|p| !claimed.contains(&p.full_name())).cloned().collect();
    for proto in unowned {
        let guess = proto.package.split('.').nth(1).unwrap_or("name").to_string();
        v.report_proto(
            &proto.file,
            "spec::unowned-proto-service",
            proto.span.clone(),
            "no service owns this",
            format!("proto service `{}` has no section in ownership.toml", proto.full_name()),
            format!("add a [{guess}] section with the tables it owns to specs/ownership.toml"),
        );
    }
}
