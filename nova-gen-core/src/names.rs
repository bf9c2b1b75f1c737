//! Every name generated code uses, derived in one place (as prost-build's `ident` module does),
//! so that the emitters and the tonic/prost output always agree.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

use crate::ir::{Rpc, Service, Table};

/// Keywords that can be raw identifiers (`r#type`), exactly prost-build's list.
const RAW_KEYWORDS: [&str; 43] = [
    "as", "break", "const", "continue", "else", "enum", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "dyn", "abstract", "become", "box", "do",
    "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield",
];
const RAW_KEYWORDS_2018: [&str; 4] = ["async", "await", "try", "gen"];
/// Keywords that cannot be raw identifiers: prost-build appends `_`.
const SUFFIXED_KEYWORDS: [&str; 6] = ["_", "super", "self", "Self", "extern", "crate"];

/// The identifier prost-build and tonic use for `name` (already in the right case): raw for a
/// keyword (`r#type`), `_`-suffixed where Rust has no raw form (`self_`), `_`-prefixed when it
/// starts with a digit.
pub fn sanitized(name: &str) -> String {
    if RAW_KEYWORDS.contains(&name) || RAW_KEYWORDS_2018.contains(&name) {
        format!("r#{name}")
    } else if SUFFIXED_KEYWORDS.contains(&name) {
        format!("{name}_")
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name.to_string()
    }
}

/// A Rust identifier for `name`, sanitized as prost-build does. Never panics: the sanitized
/// form is always a valid identifier.
pub fn ident(name: &str) -> Ident {
    let text = sanitized(name);
    match text.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(&text, Span::call_site()),
    }
}

/// The name of a Rust method for a proto name (snake case, sanitized), as a string: what
/// tonic names the method and what the generated client and `Logic` use.
pub fn method_name(proto_name: &str) -> String {
    sanitized(&proto_name.to_snake_case())
}

/// Package name of a service's API crate, the only crate of a service others may depend on:
/// `nova-auth-api`.
pub fn api_package(service: &Service) -> String {
    format!("nova-{}-api", service.name.replace('_', "-"))
}

/// Library name of a service's API crate: `nova_auth_api`.
pub fn api_lib(service: &Service) -> Ident {
    ident(&format!("nova_{}_api", service.name))
}

/// Package name of a service's own generated crate (Logic, server, repositories, database):
/// `nova-auth`. Only the service's handwritten crate depends on it.
pub fn generated_package(service: &Service) -> String {
    format!("nova-{}", service.name.replace('_', "-"))
}

/// Library name of a service's own generated crate: `nova_auth`.
pub fn generated_lib(service: &Service) -> Ident {
    ident(&format!("nova_{}", service.name))
}

/// Package name of the crate of a proto package no service owns: `nova.common.v1` ->
/// `nova-common-v1-proto`. Named after the package, so no two specs' shared crates collide.
pub fn shared_package_crate(package: &str) -> String {
    format!("{}-proto", package.replace(['.', '_'], "-"))
}

/// Library name of that crate: `nova_common_v1_proto`.
pub fn shared_package_lib(package: &str) -> Ident {
    ident(&shared_package_crate(package).replace('-', "_"))
}

/// Package name of a service's handwritten crate: `nova-auth-service`.
pub fn handwritten_package(service: &Service) -> String {
    format!("nova-{}-service", service.name.replace('_', "-"))
}

pub fn handwritten_lib(service: &Service) -> Ident {
    ident(&format!("nova_{}_service", service.name))
}

/// `auth_service_server` / `auth_service_client`: the modules tonic generates.
pub fn tonic_server_module(service: &Service) -> Ident {
    ident(&format!("{}_server", service.proto.name.to_snake_case()))
}

pub fn tonic_client_module(service: &Service) -> Ident {
    ident(&format!("{}_client", service.proto.name.to_snake_case()))
}

/// `AuthService`: the trait tonic generates for the server.
pub fn tonic_trait(service: &Service) -> Ident {
    ident(&service.proto.name.to_upper_camel_case())
}

pub fn tonic_server_struct(service: &Service) -> Ident {
    ident(&format!("{}Server", service.proto.name.to_upper_camel_case()))
}

pub fn tonic_client_struct(service: &Service) -> Ident {
    ident(&format!("{}Client", service.proto.name.to_upper_camel_case()))
}

/// `get_users_by_ids`: the method name on `Logic`, the adapter, tonic's trait and the client.
pub fn rpc_method(rpc: &Rpc) -> Ident {
    ident(&rpc.name.to_snake_case())
}

/// `invalidate_get_user`: the client's helper that forgets a cached response.
pub fn invalidate_method(rpc_name: &str) -> String {
    format!("invalidate_{}", rpc_name.to_snake_case())
}

/// `GET_USERS_BY_IDS`: the descriptor constant of an RPC.
pub fn rpc_const(rpc: &Rpc) -> Ident {
    ident(&rpc_const_name(&rpc.name))
}

pub fn rpc_const_name(rpc_name: &str) -> String {
    rpc_name.to_shouty_snake_case()
}

/// `AuthClient`: the typed client other services use.
pub fn client_struct(service: &Service) -> Ident {
    ident(&client_struct_name(&service.name))
}

pub fn client_struct_name(service: &str) -> String {
    format!("{}Client", service.to_upper_camel_case())
}

/// `AuthLogic`: the handwritten implementation the scaffold creates.
pub fn logic_struct(service: &Service) -> Ident {
    ident(&format!("{}Logic", service.name.to_upper_camel_case()))
}

/// A prost message type as seen from the `pb` module.
pub fn message_type(name: &str) -> Ident {
    ident(&name.to_upper_camel_case())
}

pub fn table_module(table: &Table) -> Ident {
    ident(&table.name)
}

/// Methods every generated client has besides its RPCs, and the methods tonic's generated
/// client (which the generated client calls) has: an RPC whose method name is one of these would
/// collide with it.
/// `nova-gen-core/tests/snapshots.rs` holds this list to the client the emitter writes.
pub const CLIENT_HELPERS: [&str; 16] = [
    "new",
    "from_core",
    "with_options",
    "connect_lazy",
    "from_env",
    "from_peers",
    "core",
    "with_token",
    "invalidate_entity",
    // tonic's generated client
    "with_origin",
    "with_interceptor",
    "send_compressed",
    "accept_compressed",
    "max_decoding_message_size",
    "max_encoding_message_size",
    "connect",
];

/// Constants of the generated `rpc` module besides the RPC descriptors.
pub const RPC_MODULE_CONSTS: [&str; 2] = ["ALL", "TARGET"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_become_identifiers_the_way_prost_makes_them() {
        for (name, expected) in [
            ("type", "r#type"),
            ("gen", "r#gen"),
            ("async", "r#async"),
            ("kind", "kind"),
            ("self", "self_"),
            ("super", "super_"),
            ("crate", "crate_"),
            ("Self", "Self_"),
            ("2fa", "_2fa"),
        ] {
            assert_eq!(ident(name).to_string(), expected, "{name}");
            assert_eq!(sanitized(name), expected, "{name}");
        }
        assert_eq!(method_name("Super"), "super_");
        assert_eq!(method_name("Match"), "r#match");
        assert_eq!(method_name("GetUsersByIds"), "get_users_by_ids");
    }
}
