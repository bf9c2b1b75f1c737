//! Rules about services as a whole: names, their proto service, their database and port.

use std::collections::BTreeMap;

use heck::ToUpperCamelCase;

use super::Validator;
use super::names::service_name_problem;
use crate::raw::RawService;
use crate::source::Span;

/// What earlier services claimed, so that a second claim is reported at both places.
#[derive(Default)]
struct Claimed {
    protos: BTreeMap<String, Span>,
    databases: BTreeMap<String, Span>,
    ports: BTreeMap<i64, Span>,
    /// Proto services already named in the help of a service that misses its proto: the
    /// report of unowned proto services leaves them out rather than name them twice.
    suggested: Vec<String>,
}

pub(crate) fn check_services(v: &mut Validator<'_>) {
    let spec = &v.loaded.ownership;
    let mut claimed = Claimed::default();
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
        check_proto(v, service, &mut claimed);
        check_database_presence(v, service, &mut claimed);
        check_port(v, service, spec.port_of(index), &mut claimed);
    }
    check_unowned_proto_services(v, &claimed.suggested);
}

/// The service's proto service exists (else: which one it probably means) and no other
/// service claims it.
fn check_proto(v: &mut Validator<'_>, service: &RawService, claimed: &mut Claimed) {
    let name = &service.name;
    let proto = service.proto_name();
    let proto_span = service.proto.as_ref().map_or(name.span.clone(), |p| p.span.clone());
    if v.loaded.protos.service(&proto).is_none() {
        let pascal = name.value.to_upper_camel_case();
        let candidates = candidates_for(v, &name.value);
        let help = match (&service.proto, candidates.as_slice()) {
            (Some(_), []) => "name a service declared in specs/proto: `proto = \"<package>.<Service>\"`".to_string(),
            (Some(_), [one]) => format!("did you mean `proto = \"{one}\"`?"),
            (None, [one]) => {
                claimed.suggested.push(one.clone());
                format!("set `proto = \"{one}\"` in [{0}]; without it, [{0}] means `{proto}`", name.value)
            }
            (_, many @ [_, ..]) => format!("set `proto = \"<package>.<Service>\"` in [{}], one of: {}", name.value, many.join(", ")),
            (None, []) => format!(
                "declare `service {pascal}Service` in specs/proto/nova/{0}/v1/{0}.proto (package nova.{0}.v1), or name the service it implements with `proto = \"<package>.<Service>\"` in [{0}]",
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
    if let Some(first) = claimed.protos.insert(proto.clone(), proto_span.clone()) {
        let message = format!("proto service `{proto}` is claimed by two services");
        let diagnostic = crate::diagnostic::Diagnostic::new("spec::duplicate-proto-service", message)
            .in_file(v.ownership_file())
            .label(proto_span, "claimed again here")
            .label(first, "first claimed here")
            .help("each proto service is implemented by exactly one nova service");
        v.push(diagnostic);
    }
}

/// A service with tables has a well-formed database of its own; one without tables (a
/// stateless gateway) has no database at all, so naming one is a mistake.
fn check_database_presence(v: &mut Validator<'_>, service: &RawService, claimed: &mut Claimed) {
    let name = &service.name;
    if !service.tables.is_empty() {
        check_database(v, service, &name.span, &mut claimed.databases);
        return;
    }
    if let Some(database) = &service.database {
        v.report(
            "spec::database-without-tables",
            database.span.clone(),
            "no table lives here",
            format!("service `{}` names a database but owns no table", name.value),
            format!("remove `database`: a service without tables gets no database; or declare its tables with [{}.tables.<name>]", name.value),
        );
    }
}

/// The service's port (given or derived from its name) is a TCP port no other service uses.
fn check_port(v: &mut Validator<'_>, service: &RawService, port: i64, claimed: &mut Claimed) {
    let name = &service.name;
    let port_span = service.port.as_ref().map_or(name.span.clone(), |p| p.span.clone());
    if !(1..=65535).contains(&port) {
        v.report("spec::bad-port", port_span.clone(), "out of range", format!("port {port} is not a TCP port"), "use a port between 1 and 65535");
    } else if let Some(first) = claimed.ports.insert(port, port_span.clone()) {
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

/// The proto services no section claims that `service` plausibly implements: named after it
/// (`BillingService`, `Billing`) or in a package with its name (`acme.billing.v1`), sorted.
fn candidates_for(v: &Validator<'_>, service: &str) -> Vec<String> {
    let pascal = service.to_upper_camel_case();
    let claimed: Vec<String> = v.loaded.ownership.services.iter().map(crate::raw::RawService::proto_name).collect();
    let mut found: Vec<String> = v
        .loaded
        .protos
        .services
        .iter()
        .filter(|p| !claimed.contains(&p.full_name()))
        .filter(|p| p.name == format!("{pascal}Service") || p.name == pascal || p.package.split('.').any(|part| part == service))
        .map(crate::load::protos::ProtoServiceInfo::full_name)
        .collect();
    found.sort();
    found
}

fn check_database(v: &mut Validator<'_>, service: &crate::raw::RawService, name_span: &Span, by_database: &mut BTreeMap<String, Span>) {
    let database = service.database_name();
    let database_span = service.database.as_ref().map_or(name_span.clone(), |d| d.span.clone());
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
}

/// Every proto service must belong to a section of ownership.toml: an API nobody owns has no
/// database and no generated crate. Those already suggested to a section (`suggested`) are not
/// reported again.
fn check_unowned_proto_services(v: &mut Validator<'_>, suggested: &[String]) {
    let claimed: Vec<String> = v.loaded.ownership.services.iter().map(|s| s.proto_name()).collect();
    let unowned: Vec<_> =
        v.loaded.protos.services.iter().filter(|p| !claimed.contains(&p.full_name()) && !suggested.contains(&p.full_name())).cloned().collect();
    for proto in unowned {
        let guess = proto.package.split('.').nth(1).unwrap_or("name").to_string();
        let full_name = proto.full_name();
        let conventional = proto.package == format!("nova.{guess}.v1") && proto.name == format!("{}Service", guess.to_upper_camel_case());
        let has_section = v.loaded.ownership.services.iter().any(|s| s.name.value == guess);
        let help = match (conventional, has_section) {
            (true, _) => format!("add a [{guess}] section to specs/ownership.toml (with the tables it owns, if any)"),
            (false, true) => format!("set `proto = \"{full_name}\"` in [{guess}] if that service implements it"),
            (false, false) => format!("set `proto = \"{full_name}\"` in the section of the service that implements it (e.g. a new [{guess}])"),
        };
        v.report_proto(
            &proto.file,
            "spec::unowned-proto-service",
            proto.span.clone(),
            "no service owns this",
            format!("proto service `{full_name}` has no section in ownership.toml"),
            help,
        );
    }
}
