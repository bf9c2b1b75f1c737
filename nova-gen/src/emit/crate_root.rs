//! The generated crate's manifest and `lib.rs`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::manifest::{Dependency, Manifest};
use crate::emit::names::message_type;
use crate::emit::{EmitError, Header, doc_lines, rust_file};
use crate::ir::{MessageType, Service};

pub fn emit_manifest(service: &Service) -> String {
    let manifest = Manifest {
        package: crate::emit::names::generated_package(service),
        description: format!("Generated API, server, client and repositories of nova's {} service", service.name),
        bins: Vec::new(),
        dependencies: ["nova-runtime", "prost", "prost-types", "tonic", "tonic-prost"].into_iter().map(Dependency::workspace).collect(),
        dev_dependencies: Vec::new(),
    };
    format!("{}\n{}", Header::Toml.text(), manifest.to_toml())
}

pub fn emit_lib(service: &Service) -> Result<String, EmitError> {
    let mut doc = vec![format!("Generated crate of nova's `{}` service (`{}`).", service.name, service.proto.full_name())];
    if !service.proto.docs.is_empty() {
        doc.push(String::new());
        doc.extend(service.proto.docs.iter().cloned());
    }
    doc.extend([
        String::new(),
        "- [`pb`]: the messages and tonic code of the proto package,".to_string(),
        "- [`Logic`]: the business logic, one method per RPC, implemented by hand,".to_string(),
        "- [`server`]: serves a `Logic` over gRPC,".to_string(),
        format!("- [`client`]: the typed client other services use ([`{}`]),", crate::emit::names::client_struct(service)),
        "- [`repo`] and [`db`]: the service's own tables and database, for the service itself only,".to_string(),
        "- [`rpc`]: each RPC's idempotency and call policy, from specs/ownership.toml.".to_string(),
    ]);
    let doc = doc_lines(&doc, true);
    let client = crate::emit::names::client_struct(service);
    let name = &service.name;
    let full_name = service.proto.full_name();
    let database = &service.database;
    let port = service.port;
    rust_file(quote! {
        #doc

        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod pb;
        pub mod client;
        pub mod db;
        pub mod logic;
        pub mod repo;
        pub mod rpc;
        pub mod server;

        pub use client::#client;
        pub use logic::Logic;
        pub use ::nova_runtime::{CallContext, LogicError};

        /// The service's short name.
        pub const SERVICE: &str = #name;
        /// The fully qualified proto service.
        pub const PROTO_SERVICE: &str = #full_name;
        /// The service's own database.
        pub const DATABASE: &str = #database;
        /// The gRPC port used when `NOVA_GRPC_ADDR` is not set.
        pub const DEFAULT_PORT: u16 = #port;
        /// The service's protos (and their imports), encoded, for gRPC reflection.
        pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("file_descriptor_set.bin");
    })
}

/// The Rust type of a request or response, seen from the crate's modules.
pub fn message_tokens(message: &MessageType) -> TokenStream {
    message_in(message, &quote!(crate::pb))
}

/// The Rust type of a request or response, with `pb` the path of the messages module.
pub fn message_in(message: &MessageType, pb: &TokenStream) -> TokenStream {
    match message {
        MessageType::Local(name) => {
            let name = message_type(name);
            quote!(#pb::#name)
        }
        MessageType::Empty => quote!(()),
    }
}
