//! `generated/services`: the crate `nova-services`, a registry of every service of the spec
//! with what tools and tests need to work on any of them without naming one: its description,
//! its migrations and repository statements, the services it calls, and the `start` of its
//! handwritten crate. Adding a service to the spec adds it here, so a suite written over
//! [`SERVICES`] (the statements test, a test system, a benchmark) covers it unchanged.

use quote::{format_ident, quote};

use crate::emit::manifest::{Dependency, Manifest};
use crate::emit::{EmitError, Header, rust_file};
use crate::ir::{Service, Spec};
use crate::layout::out;
use crate::names::{generated_lib, generated_package, handwritten_lib, handwritten_package};

/// `generated/services/Cargo.toml`.
pub fn emit_registry_manifest(spec: &Spec) -> String {
    let mut dependencies = vec![Dependency::workspace("nova-runtime")];
    for service in &spec.services {
        dependencies.push(Dependency::path(&generated_package(service), &format!("../{}", service.name)));
        dependencies.push(Dependency::path(&handwritten_package(service), &format!("../../{}", out::handwritten_crate(&service.name))));
    }
    let manifest = Manifest {
        package: "nova-services".to_string(),
        description: "Generated registry of every nova service, for tools and tests that must not name them".to_string(),
        bins: Vec::new(),
        dependencies,
        dev_dependencies: Vec::new(),
        features: Vec::new(),
    };
    format!("{}\n{}", Header::Toml.text(), manifest.to_toml())
}

/// `generated/services/src/lib.rs`.
pub fn emit_registry_lib(spec: &Spec) -> Result<String, EmitError> {
    let ordered = callees_first(spec);
    let starts = ordered.iter().map(|service| {
        let start = format_ident!("start_{}", service.name);
        let handwritten = handwritten_lib(service);
        let doc = format!("`{}::start` with its future boxed.", handwritten);
        quote! {
            #[doc = #doc]
            fn #start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> StartFuture {
                Box::pin(#handwritten::start(config, listeners, shutdown))
            }
        }
    });
    let entries = ordered.iter().map(|service| {
        let name = &service.name;
        let own = generated_lib(service);
        let start = format_ident!("start_{}", service.name);
        let calls = service.calls.iter().map(|&callee| spec.name(callee));
        let (migrations, tables, statements) = if service.database.is_some() {
            (quote!(#own::db::MIGRATIONS), quote!(#own::repo::TABLES), quote!(#own::repo::STATEMENTS))
        } else {
            (quote!(&[]), quote!(&[]), quote!(&[]))
        };
        quote! {
            Service {
                name: #name,
                description: &#own::server::DESCRIPTION,
                calls: &[#(#calls),*],
                migrations: #migrations,
                tables: #tables,
                statements: #statements,
                start: #start,
            }
        }
    });
    rust_file(quote! {
        //! Every service of the system, callees before their callers, for the tools and tests
        //! that work on any service: adding a service to specs/ownership.toml adds it here.

        use std::future::Future;
        use std::pin::Pin;

        use ::nova_runtime::db::Migration;
        use ::nova_runtime::server::{Listeners, ServiceConfig, ServiceDescription, Shutdown, StartError};

        /// What a service's `start` returns, boxed so that every service's fits one type.
        pub type StartFuture = Pin<Box<dyn Future<Output = Result<(), StartError>> + Send>>;

        /// A service's entry point: what its binary runs (open the database, build the logic,
        /// serve on `listeners` until `shutdown`).
        pub type StartFn = fn(ServiceConfig, Listeners, Shutdown) -> StartFuture;

        /// One service: its description, data and entry point.
        #[derive(Debug, Clone, Copy)]
        pub struct Service {
            /// e.g. `auth`
            pub name: &'static str,
            pub description: &'static ServiceDescription,
            /// The services it calls (its only clients), from the spec.
            pub calls: &'static [&'static str],
            /// Its migrations, in order; empty for a service that owns no table.
            pub migrations: &'static [Migration],
            /// Its tables, in spec order.
            pub tables: &'static [&'static str],
            /// Every SQL statement of its repositories, per table.
            pub statements: &'static [(&'static str, &'static [(&'static str, &'static str)])],
            pub start: StartFn,
        }

        /// Every service, each after the services it calls (a declared cycle keeps spec order).
        pub static SERVICES: &[Service] = &[#(#entries),*];

        /// The service called `name`.
        pub fn service(name: &str) -> Option<&'static Service> {
            SERVICES.iter().find(|service| service.name == name)
        }

        #(#starts)*
    })
}

/// The services, each after those it calls; edges allowed to close a cycle are ignored, and
/// ties keep spec order, so the order is deterministic.
fn callees_first(spec: &Spec) -> Vec<&Service> {
    let mut ordered: Vec<&Service> = Vec::with_capacity(spec.services.len());
    let mut remaining: Vec<&Service> = spec.services.iter().collect();
    while !remaining.is_empty() {
        let ready = remaining.iter().position(|service| {
            service
                .calls
                .iter()
                .filter(|callee| !service.allow_cycle.contains(callee))
                .all(|&callee| ordered.iter().any(|done| done.id == callee) || callee == service.id)
        });
        // A cycle the validator let through (it reports undeclared ones): keep spec order.
        let next = remaining.remove(ready.unwrap_or(0));
        ordered.push(next);
    }
    ordered
}
