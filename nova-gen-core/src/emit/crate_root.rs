//! The manifests and `lib.rs` of a service's two generated crates:
//! - the API crate `nova-<svc>-api` (messages, typed client, RPC descriptors): the only crate of
//!   a service other services may depend on;
//! - the service crate `nova-<svc>` (`Logic`, server, repositories, database): its owner's alone.
//!
//! The split lets the compiler enforce the boundary: a caller cannot name another service's
//! repositories because it never depends on the crate that holds them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::manifest::{Dependency, Manifest};
use crate::emit::{EmitError, Header, doc_lines, rust_file};
use crate::ir::{MessageType, Service, SharedPackage, Spec};
use crate::layout::out;
use crate::names::{api_lib, api_package, client_struct, generated_package, message_type, shared_package_crate};

/// `generated/<svc>-api/Cargo.toml`.
pub fn emit_api_manifest(spec: &Spec, service: &Service) -> String {
    let mut dependencies: Vec<Dependency> =
        ["nova-runtime", "prost", "prost-types", "tonic", "tonic-prost"].into_iter().map(Dependency::workspace).collect();
    for other in spec.resolve(&service.api_dependencies) {
        dependencies.push(Dependency::path(&api_package(other), &format!("../{}", out::api_crate_dir(&other.name))));
    }
    dependencies.extend(service.shared_dependencies.iter().map(|package| shared_dependency(package)));
    let manifest = Manifest {
        package: api_package(service),
        description: format!("Generated API of nova's {} service: messages, typed client, RPC descriptors", service.name),
        bins: Vec::new(),
        dependencies,
        dev_dependencies: Vec::new(),
        features: Vec::new(),
    };
    format!("{}\n{}", Header::Toml.text(), manifest.to_toml())
}

fn shared_dependency(package: &str) -> Dependency {
    let name = shared_package_crate(package);
    Dependency::path(&name, &format!("../{name}"))
}

/// `generated/<package>-proto/Cargo.toml`: the crate of a proto package no service owns.
pub fn emit_shared_manifest(package: &SharedPackage) -> String {
    let mut dependencies: Vec<Dependency> = ["prost", "prost-types"].into_iter().map(Dependency::workspace).collect();
    dependencies.extend(package.dependencies.iter().map(|p| shared_dependency(p)));
    let manifest = Manifest {
        package: shared_package_crate(&package.name),
        description: format!(
            "Generated messages of the proto package {}, which no nova service owns: shared by the API crates that import it",
            package.name
        ),
        bins: Vec::new(),
        dependencies,
        dev_dependencies: Vec::new(),
        features: Vec::new(),
    };
    format!("{}\n{}", Header::Toml.text(), manifest.to_toml())
}

/// `generated/<svc>/Cargo.toml`.
pub fn emit_service_manifest(spec: &Spec, service: &Service) -> String {
    let mut dependencies =
        vec![Dependency::workspace("nova-runtime"), Dependency::path(&api_package(service), &format!("../{}", out::api_crate_dir(&service.name)))];
    // The generated `Dependencies` holds one client per `calls` entry.
    for callee in spec.resolve(&service.calls) {
        dependencies.push(Dependency::path(&api_package(callee), &format!("../{}", out::api_crate_dir(&callee.name))));
    }
    // Consumed events carry their publishers' messages.
    for subscription in &service.events.consumes {
        let publisher = spec.get(subscription.publisher);
        if publisher.id != service.id && !service.calls.contains(&publisher.id) {
            dependencies.push(Dependency::path(&api_package(publisher), &format!("../{}", out::api_crate_dir(&publisher.name))));
        }
    }
    let manifest = Manifest {
        package: generated_package(service),
        description: format!("Generated server, Logic trait, repositories and database of nova's {} service (its owner's only)", service.name),
        bins: Vec::new(),
        dependencies,
        dev_dependencies: Vec::new(),
        // The `testing` module (Logic doubles with per-method defaults): for tests only.
        features: vec![(crate::emit::logic::TEST_DOUBLES_FEATURE.to_string(), Vec::new())],
    };
    format!("{}\n{}", Header::Toml.text(), manifest.to_toml())
}

fn crate_docs(service: &Service, first: String, items: &[&str]) -> TokenStream {
    let mut doc = vec![first];
    if !service.proto.docs.is_empty() {
        doc.push(String::new());
        doc.extend(service.proto.docs.iter().cloned());
    }
    doc.push(String::new());
    doc.extend(items.iter().map(|line| (*line).to_string()));
    doc_lines(&doc, true)
}

/// `generated/<svc>-api/src/lib.rs`.
/// `users`: whether the crate holds the user check (`users.rs`, the token issuer's only).
pub fn emit_api_lib(service: &Service, users: bool) -> Result<String, EmitError> {
    let client = client_struct(service);
    let client_line = format!("- [`client`]: [`{client}`], the typed client other services call this one with,");
    let mut items = vec!["- [`pb`]: the messages and tonic code of the proto package,", &client_line];
    items.push("- [`rpc`]: each RPC's idempotency and call policy, from specs/ownership.toml.");
    if users {
        items.push("- [`users`]: whether users exist and are active, for the services that declare `checks_users`.");
    }
    let doc = crate_docs(
        service,
        format!("API of nova's `{}` service (`{}`): what other services may use.", service.name, service.proto.full_name()),
        &items,
    );
    let users_module = users.then(|| {
        quote!(
            pub mod users;
        )
    });
    let name = &service.name;
    let full_name = service.proto.full_name();
    let port = service.port;
    rust_file(quote! {
        #doc

        #[allow(clippy::all, clippy::pedantic, missing_docs)]
        pub mod pb;
        pub mod client;
        pub mod rpc;
        #users_module

        pub use client::#client;

        /// The service's short name.
        pub const SERVICE: &str = #name;
        /// The fully qualified proto service.
        pub const PROTO_SERVICE: &str = #full_name;
        /// The gRPC port used when `NOVA_GRPC_ADDR` (server) or `NOVA_<SERVICE>_ENDPOINT` (clients) is not set.
        pub const DEFAULT_PORT: u16 = #port;
    })
}

/// `generated/<svc>/src/lib.rs`.
pub fn emit_service_lib(service: &Service) -> Result<String, EmitError> {
    let api = api_lib(service);
    let client = client_struct(service);
    let storage = match service.database {
        Some(_) => "- [`repo`] and [`db`]: the service's own tables and database,",
        None => "- no database: the service owns no table (it keeps no state of its own),",
    };
    let doc = crate_docs(
        service,
        format!("Generated crate of nova's `{}` service, for the service itself only.", service.name),
        &[
            "- [`Logic`]: the business logic, one method per RPC, implemented by hand,",
            "- [`server`]: serves a `Logic` over gRPC,",
            "- [`wiring`]: what the service runs with, from the spec ([`Dependencies`]: database pool, clients, invalidator), and [`Wiring::serve`],",
            storage,
            "- [`api`] (re-exported: [`pb`], [`rpc`], the client): what other services see of it.",
            "- `testing` (feature `test-doubles`, for tests only): `LogicDouble`, a `Logic` whose every",
            "  method answers UNIMPLEMENTED unless overridden, served through `testing::Double`.",
        ],
    );
    // A service without a database has no `db`, `repo` or `DATABASE`.
    let has_database = service.database.is_some();
    let db_module = has_database.then(|| {
        quote!(
            pub mod db;
        )
    });
    let events_module = service.events.any().then(|| {
        quote!(
            pub mod events;
        )
    });
    let repo_module = has_database.then(|| {
        quote!(
            pub mod repo;
        )
    });
    let database = service.database.as_ref().map(|database| {
        quote! {
            /// The service's own database.
            pub const DATABASE: &str = #database;
        }
    });
    rust_file(quote! {
        #doc

        #db_module
        #events_module
        pub mod logic;
        #repo_module
        pub mod server;
        #[cfg(feature = "test-doubles")]
        pub mod testing;
        pub mod wiring;

        pub use ::#api as api;
        pub use ::#api::{pb, rpc, client, #client, DEFAULT_PORT, PROTO_SERVICE, SERVICE};
        pub use logic::Logic;
        pub use wiring::{Dependencies, Wiring};
        pub use ::nova_runtime::{CallContext, LogicError};

        #database
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
