//! Every name generated code uses, derived in one place (as prost-build's `ident` module does),
//! so that the emitters and the tonic/prost output always agree.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

use crate::ir::{Rpc, Service, Table};

const KEYWORDS: [&str; 51] = [
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
    "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// A Rust identifier for `name`, raw (`r#type`) when it is a keyword.
pub fn ident(name: &str) -> Ident {
    if KEYWORDS.contains(&name) || name == "gen" { Ident::new_raw(name, Span::call_site()) } else { Ident::new(name, Span::call_site()) }
}

/// Package name of a service's generated crate: `nova-auth`.
pub fn generated_package(service: &Service) -> String {
    format!("nova-{}", service.name.replace('_', "-"))
}

/// Library name of a service's generated crate: `nova_auth`.
pub fn generated_lib(service: &Service) -> Ident {
    ident(&format!("nova_{}", service.name))
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

/// `GET_USERS_BY_IDS`: the descriptor constant of an RPC.
pub fn rpc_const(rpc: &Rpc) -> Ident {
    ident(&rpc.name.to_shouty_snake_case())
}

/// `AuthClient`: the typed client other services use.
pub fn client_struct(service: &Service) -> Ident {
    ident(&format!("{}Client", service.name.to_upper_camel_case()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_become_raw_identifiers() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("gen").to_string(), "r#gen");
        assert_eq!(ident("kind").to_string(), "kind");
    }
}
