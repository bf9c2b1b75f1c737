//! The handwritten crate of a service, scaffolded once: a `Logic` implementation whose
//! methods all answer `UNIMPLEMENTED`, and a `main` that starts the service. From then on the
//! files belong to people; nova-gen never overwrites them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::emit::crate_root::message_in;
use crate::emit::manifest::{Dependency, Manifest};
use crate::emit::{EmitError, Header, doc_line, format_rust};
use crate::fileset::FileSet;
use crate::ir::Service;
use crate::layout::out;
use crate::names::{generated_lib, generated_package, handwritten_lib, handwritten_package, logic_struct, rpc_method};

pub fn emit_scaffold(service: &Service, files: &mut FileSet) -> Result<(), EmitError> {
    let root = out::handwritten_crate(&service.name);
    let manifest = Manifest {
        package: handwritten_package(service),
        description: format!("Business logic and binary of nova's {} service", service.name),
        bins: Vec::new(),
        dependencies: vec![
            // Its own service crate only; other services' `-api` crates are added by hand when it
            // calls them (nova-gen check refuses anything else).
            Dependency::path(&generated_package(service), &format!("../../{}", out::generated_crate(&service.name))),
            Dependency::workspace("nova-runtime"),
        ],
        dev_dependencies: Vec::new(),
        features: Vec::new(),
    };
    files.scaffold(format!("{root}/Cargo.toml"), format!("{}\n{}", Header::Toml.scaffold(), manifest.to_toml()));
    files.scaffold(format!("{root}/src/lib.rs"), format!("{}\n{}", Header::Rust.scaffold(), scaffold_lib(service)?));
    files.scaffold(format!("{root}/src/main.rs"), format!("{}\n{}", Header::Rust.scaffold(), scaffold_main(service)?));
    Ok(())
}

fn scaffold_lib(service: &Service) -> Result<String, EmitError> {
    let generated = generated_lib(service);
    let logic = logic_struct(service);
    let doc = doc_line(&format!("The business logic of the {} service.", service.name));
    let methods = stub_methods(service);
    let pool = service.database.as_ref().map(|_| {
        quote!(
            use ::nova_runtime::codegen::sqlx::PgPool;
        )
    });
    // Everything the spec wires (database, clients, invalidator) comes in `Dependencies`; the
    // scaffold keeps the pool, and people add the clients they use.
    let (fields, parameter, keep) = match service.database {
        Some(_) => (
            quote! {
                db: PgPool,
            },
            quote!(dependencies),
            quote!(#logic { db: dependencies.db }),
        ),
        // Owns no table: no database to open or wait for; SERVING as soon as it listens.
        None => (TokenStream::new(), quote!(_dependencies), quote!(#logic {})),
    };
    let db_accessor = service.database.as_ref().map(|_| {
        quote! {
            /// The service's own database.
            pub fn db(&self) -> &PgPool {
                &self.db
            }
        }
    });
    let body = quote! {
        #doc
        #[derive(Debug, Clone)]
        pub struct #logic {
            #fields
        }

        impl #logic {
            /// The logic over what the spec wires the service with.
            pub fn new(#parameter: Dependencies) -> Self {
                #keep
            }

            #db_accessor
        }

        impl Logic for #logic {
            #(#methods)*
        }

        /// Starts the service as the spec wires it (its database, if it has one, is opened
        /// without connecting: the server waits for it and applies migrations), then serves
        /// on `listeners` until `shutdown` is requested.
        pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
            let wiring = Wiring::from_config(&config)?;
            let logic = #logic::new(wiring.dependencies.clone());
            wiring.serve(logic, listeners, shutdown).await
        }
    };
    format_rust(quote! {
        //! Business logic of the service: implement each RPC here.
        use #generated::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};
        #pool
        use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};

        #body
    })
}

/// A stub per RPC that answers `Unimplemented` until it is written.
fn stub_methods(service: &Service) -> Vec<TokenStream> {
    service
        .rpcs
        .iter()
        .map(|rpc| {
            let method = rpc_method(rpc);
            let input = message_in(&rpc.input, &quote!(pb));
            let output = message_in(&rpc.output, &quote!(pb));
            let name = &rpc.name;
            quote! {
                async fn #method(&self, _ctx: &CallContext, _request: #input) -> Result<#output, LogicError> {
                    Err(LogicError::Unimplemented(#name))
                }
            }
        })
        .collect()
}

fn scaffold_main(service: &Service) -> Result<String, EmitError> {
    let generated = generated_lib(service);
    let handwritten = handwritten_lib(service);
    format_rust(quote! {
        //! The service's binary: `nova_runtime::service::main` runs it (signal handlers first,
        //! configuration from the environment, serve until SIGTERM, exit status).
        fn main() -> ::std::process::ExitCode {
            ::nova_runtime::service::main(#generated::server::DESCRIPTION, #handwritten::start)
        }
    })
}
