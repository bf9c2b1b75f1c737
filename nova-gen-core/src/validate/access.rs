//! Rules about who may call what (`access` on every RPC line, `[defaults] token_issuer`):
//! every RPC has a policy and none opens by default; named services exist and can reach the
//! owner; acting fields are the request's plain string fields; a shared cache needs a cache
//! and no caller-specific fields; user-facing policies need a token issuer every service can
//! reach.

use super::Validator;
use crate::load::toml_read::closest;
use crate::raw::{RawPolicy, RawService};
use crate::source::Located;

/// The access kinds, as the spec spells them.
pub const KINDS: [&str; 4] = ["public", "user", "service", "permission"];

/// The RPCs every token issuer must serve: what the runtime polls and asks.
pub const ISSUER_RPCS: [&str; 2] = ["GetTokenVerification", "CheckPermission"];

pub(crate) fn check_access(v: &mut Validator<'_>) {
    let spec = v.loaded.ownership.clone();
    let names: Vec<&str> = spec.services.iter().map(|s| s.name.value.as_str()).collect();
    check_defaults(v, &spec.defaults.policy);
    let issuer = spec.defaults.token_issuer.as_ref();
    if let Some(issuer) = issuer {
        check_issuer(v, issuer, &spec.services, &names);
    }
    for service in &spec.services {
        if let Some(access) = &service.policy.access {
            v.report(
                "spec::misplaced-access",
                access.span.clone(),
                "service-wide access",
                "`access` is set per RPC (or, only as \"service\", in [defaults]), not per service",
                "give each RPC of the service its own line: rpc.<Name> = { access = \"public\" | \"user\" | \"service\" | \"permission\" }",
            );
        }
        let Some(proto) = v.loaded.protos.service(&service.proto_name()).cloned() else { continue };
        let called = spec.services.iter().any(|s| s.calls.iter().any(|c| c.value == service.name.value));
        for method in &proto.methods {
            let line = service.rpcs.iter().find(|r| r.name.value == method.name);
            let own = line.map(|r| &r.policy);
            // A default other than "service" is refused above, and opens nothing here either.
            let default = spec.defaults.policy.access.as_ref().filter(|d| d.value == "service");
            let word = own.and_then(|p| p.access.as_ref()).or(default);
            let Some(word) = word else {
                let (span, label) = match line {
                    Some(line) => (line.name.span.clone(), "no `access`"),
                    None => (service.name.span.clone(), "in this service"),
                };
                v.report(
                    "spec::missing-access",
                    span,
                    label,
                    format!("`{}.{}` says nothing about who may call it", service.name.value, method.name),
                    format!(
                        "add `rpc.{} = {{ access = \"public\" }}` (anyone), \"user\" (a signed-in user), \"service\" (the services that call {}) or \"permission\" with `permission = \"...\"`; there is no default that opens an RPC",
                        method.name, service.name.value
                    ),
                );
                continue;
            };
            let named = own.and_then(|p| p.services.as_ref()).is_some();
            if word.value == "service" && !named && !called {
                let span = line.map_or_else(|| service.name.span.clone(), |l| l.name.span.clone());
                v.report(
                    "spec::no-callers",
                    span,
                    "nobody may call it",
                    format!("`{}.{}` admits the services that call `{}`, and none does", service.name.value, method.name, service.name.value),
                    "make it \"public\", \"user\" or \"permission\", or add the service to the `calls` of the services that need it",
                );
            }
            let Some(own) = own else { continue };
            check_line(v, service, &method.name, &method.input_type, word, own, &names, issuer.is_some());
        }
    }
}

/// `[defaults]` may close by default, never open.
fn check_defaults(v: &mut Validator<'_>, defaults: &RawPolicy) {
    if let Some(access) = &defaults.access
        && access.value != "service"
    {
        v.report(
            "spec::open-default-access",
            access.span.clone(),
            "would open every RPC",
            format!("[defaults] `access = \"{}\"` would apply to every RPC without a line of its own", access.value),
            "only `access = \"service\"` may be a default (it closes); give each public or user RPC its own `access`",
        );
    }
    for (key, span) in [
        ("permission", defaults.permission.as_ref().map(|p| p.span.clone())),
        ("services", defaults.services.as_ref().map(|s| s.span.clone())),
        ("shared", defaults.shared.as_ref().map(|s| s.span.clone())),
    ] {
        if let Some(span) = span {
            v.report(
                "spec::misplaced-access",
                span,
                "per RPC only",
                format!("`{key}` is set per RPC"),
                format!("move `{key}` to the RPC lines it belongs to"),
            );
        }
    }
    if let Some(first) = defaults.acting.first() {
        v.report(
            "spec::misplaced-access",
            first.span.clone(),
            "per RPC only",
            "`acting` is set per RPC",
            "move `acting` to the RPC lines it belongs to",
        );
    }
}

/// The issuer is a service of the spec that serves the issuer RPCs, and every other service
/// lists it in `calls` (it verifies tokens with its keys, forwarded ones included).
fn check_issuer(v: &mut Validator<'_>, issuer: &Located<String>, services: &[RawService], names: &[&str]) {
    let Some(owner) = services.iter().find(|s| s.name.value == issuer.value) else {
        let help = match closest(&issuer.value, names) {
            Some(best) => format!("did you mean `{best}`? Services: {}", names.join(", ")),
            None => format!("name the service that signs access tokens: {}", names.join(", ")),
        };
        v.report(
            "spec::unknown-token-issuer",
            issuer.span.clone(),
            "no such service",
            format!("`token_issuer` names unknown service `{}`", issuer.value),
            help,
        );
        return;
    };
    if let Some(proto) = v.loaded.protos.service(&owner.proto_name()).cloned() {
        for wanted in ISSUER_RPCS {
            if !proto.methods.iter().any(|m| m.name == wanted) {
                v.report(
                    "spec::token-issuer-rpcs",
                    issuer.span.clone(),
                    format!("{} has no {wanted}", proto.full_name()),
                    format!("the token issuer `{}` must serve `{wanted}`", issuer.value),
                    "every service polls the issuer's GetTokenVerification (keys and revocations) and asks its CheckPermission; see auth.proto for their messages, which the runtime reads field by field",
                );
            }
        }
    }
    for service in services.iter().filter(|s| s.name.value != issuer.value) {
        if !service.calls.iter().any(|c| c.value == issuer.value) {
            v.report(
                "spec::token-issuer-not-called",
                service.name.span.clone(),
                format!("does not call {}", issuer.value),
                format!("`{}` does not list the token issuer `{}` in `calls`", service.name.value, issuer.value),
                format!("every service verifies access tokens with the issuer's keys (polled over gRPC): add \"{}\" to its `calls`", issuer.value),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)] // one RPC line, read from its several places
fn check_line(
    v: &mut Validator<'_>,
    service: &RawService,
    rpc: &str,
    input_type: &str,
    word: &Located<String>,
    own: &RawPolicy,
    names: &[&str],
    has_issuer: bool,
) {
    let owner = &service.name.value;
    if !KINDS.contains(&word.value.as_str()) {
        let help = match closest(&word.value, &KINDS) {
            Some(best) => format!("did you mean \"{best}\"? One of: {}", KINDS.join(", ")),
            None => format!("one of: {}", KINDS.join(", ")),
        };
        v.report("spec::unknown-access", word.span.clone(), "unknown", format!("`access` of `{rpc}` is \"{}\"", word.value), help);
        return;
    }
    check_permission(v, rpc, word, own);
    if matches!(word.value.as_str(), "user" | "permission") && !has_issuer {
        v.report(
            "spec::no-token-issuer",
            word.span.clone(),
            "who signs the tokens?",
            format!("`{rpc}` admits end users, but the spec names no token issuer"),
            "add `token_issuer = \"<service>\"` to [defaults]: the service that signs access tokens",
        );
    }
    check_services_list(v, service, rpc, word, own, names);
    check_acting(v, owner, rpc, input_type, &word.value, &own.acting);
    check_shared(v, rpc, own);
}

/// `permission` is given exactly when the access kind is "permission", and well-formed.
fn check_permission(v: &mut Validator<'_>, rpc: &str, word: &Located<String>, own: &RawPolicy) {
    match (word.value.as_str(), &own.permission) {
        ("permission", None) => v.report(
            "spec::missing-permission",
            word.span.clone(),
            "which permission?",
            format!("`{rpc}` needs a permission but names none"),
            "add `permission = \"<service>.<name>\"`, e.g. \"auth.admin\"",
        ),
        ("permission", Some(permission)) if !valid_permission(&permission.value) => v.report(
            "spec::bad-permission",
            permission.span.clone(),
            "not <service>.<name>",
            format!("permission \"{}\" of `{rpc}` is not of the form <service>.<name>", permission.value),
            "use lower-case words joined by dots, e.g. \"content.moderate\"",
        ),
        (kind, Some(permission)) if kind != "permission" => v.report(
            "spec::permission-without-access",
            permission.span.clone(),
            "ignored",
            format!("`{rpc}` names a permission but its access is \"{kind}\""),
            "write `access = \"permission\"` to require it, or remove `permission`",
        ),
        _ => {}
    }
}

/// `services = [...]`: not empty for a services-only RPC, and each one a service that may call.
fn check_services_list(v: &mut Validator<'_>, service: &RawService, rpc: &str, word: &Located<String>, own: &RawPolicy, names: &[&str]) {
    let Some(list) = &own.services else { return };
    if list.value.is_empty() && word.value == "service" {
        v.report(
            "spec::no-callers",
            list.span.clone(),
            "nobody",
            format!("`{rpc}` admits services only, and lists none"),
            "name the services that may call it, or leave `services` out for every service that calls this one",
        );
    }
    for named in &list.value {
        check_named_service(v, service, rpc, named, names);
    }
}

/// `shared = true` needs a cache to share and an answer that does not depend on the caller.
fn check_shared(v: &mut Validator<'_>, rpc: &str, own: &RawPolicy) {
    if let Some(shared) = &own.shared
        && shared.value
    {
        if own.cache.is_none() {
            v.report(
                "spec::shared-without-cache",
                shared.span.clone(),
                "nothing cached to share",
                format!("`{rpc}` says its answers are shared, but it is not cached"),
                "`shared = true` lets every caller use one cached answer; add `cache` or remove `shared`",
            );
        }
        if let Some(first) = own.acting.first() {
            v.report(
                "spec::shared-with-acting",
                shared.span.clone(),
                "depends on the caller",
                format!("`{rpc}` binds `{}` to the caller, so its answer depends on who asks and cannot be shared", first.value),
                "remove `shared = true` (each caller then gets its own cached answers)",
            );
        }
    }
}

/// A permission is `<service>.<name>`, lower-case words.
fn valid_permission(permission: &str) -> bool {
    let mut parts = permission.split('.');
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    matches!((parts.next(), parts.next()), (Some(a), Some(b)) if word(a) && word(b)) && parts.all(word)
}

/// A service named in `services` exists, is not the owner, and can reach the owner.
fn check_named_service(v: &mut Validator<'_>, owner: &RawService, rpc: &str, named: &Located<String>, names: &[&str]) {
    let owner_name = &owner.name.value;
    if !names.contains(&named.value.as_str()) {
        let help = match closest(&named.value, names) {
            Some(best) => format!("did you mean `{best}`? Services: {}", names.join(", ")),
            None => format!("name services of this spec: {}", names.join(", ")),
        };
        v.report(
            "spec::unknown-access-service",
            named.span.clone(),
            "no such service",
            format!("`services` of `{rpc}` names unknown service `{}`", named.value),
            help,
        );
        return;
    }
    if named.value == *owner_name {
        v.report(
            "spec::self-access",
            named.span.clone(),
            "the owner itself",
            format!("`services` of `{rpc}` names its own service `{owner_name}`"),
            "a service calls its own logic directly: remove it",
        );
        return;
    }
    let calls_owner = v.loaded.ownership.services.iter().any(|s| s.name.value == named.value && s.calls.iter().any(|c| c.value == *owner_name));
    if !calls_owner {
        v.report(
            "spec::access-service-not-a-caller",
            named.span.clone(),
            format!("does not call {owner_name}"),
            format!("`{}` may call `{rpc}` by its `services`, but does not list `{owner_name}` in its `calls`", named.value),
            format!(
                "add \"{owner_name}\" to the `calls` of `{}` (its client dependency and network policy follow from it), or remove it here",
                named.value
            ),
        );
    }
}

/// Acting fields are plain string fields of the request, each once, and only where a user can
/// be the caller.
fn check_acting(v: &mut Validator<'_>, owner: &str, rpc: &str, input_type: &str, kind: &str, acting: &[Located<String>]) {
    let mut seen: Vec<&str> = Vec::new();
    for field in acting {
        if kind == "service" {
            v.report(
                "spec::acting-on-service-rpc",
                field.span.clone(),
                "no user to bind",
                format!("`{rpc}` admits services only, so `{}` cannot be bound to a user", field.value),
                "remove `acting`; a service-only RPC takes user ids as ordinary arguments",
            );
            continue;
        }
        if seen.contains(&field.value.as_str()) {
            v.report(
                "spec::duplicate-acting",
                field.span.clone(),
                "listed twice",
                format!("`{}` appears twice in `acting` of `{rpc}`", field.value),
                "list each field once",
            );
            continue;
        }
        seen.push(&field.value);
        if acting_path(&v.loaded.protos, input_type, &field.value).is_none() {
            let message = input_type.trim_start_matches('.');
            let candidates: Vec<String> = v
                .loaded
                .protos
                .message(input_type)
                .map(|m| {
                    m.field
                        .iter()
                        .filter(|f| super::entity_field(&v.loaded.protos, input_type, f.name()) == Some(false))
                        .map(|f| f.name().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
            let help = match closest(&field.value, &candidates) {
                Some(best) => format!("did you mean `{best}`? Plain string fields of {message}: {}", candidates.join(", ")),
                None => format!("plain string fields of {message}: {}", candidates.join(", ")),
            };
            v.report(
                "spec::unknown-acting-field",
                field.span.clone(),
                "not a plain string field of the request",
                format!(
                    "`{}` (acting user of `{owner}.{rpc}`) is not a singular `string` field of {message} outside any oneof (or `a.b`: field `b` of its singular message field `a`)",
                    field.value
                ),
                help,
            );
        }
    }
}

/// The message types an acting path crosses before its last field, when `path` (`user_id`, or
/// `settings.user_id` through singular message fields) ends in a plain string field of
/// `message_type`; `None` otherwise.
pub fn acting_path(protos: &crate::load::ProtoSet, message_type: &str, path: &str) -> Option<Vec<String>> {
    use prost_types::field_descriptor_proto::{Label, Type};
    let segments: Vec<&str> = path.split('.').collect();
    let (last, through) = segments.split_last()?;
    let mut current = message_type.to_string();
    let mut crossed = Vec::new();
    for segment in through {
        let field = protos.message(&current)?.field.iter().find(|f| f.name() == *segment)?;
        let singular_message = field.r#type() == Type::Message && field.label() != Label::Repeated && field.oneof_index.is_none();
        if !singular_message {
            return None;
        }
        crossed.push(current);
        current = field.type_name().to_string();
    }
    (super::entity_field(protos, &current, last) == Some(false)).then_some(crossed)
}
