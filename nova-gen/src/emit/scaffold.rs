//! The handwritten crate of a service, scaffolded once: a `Logic` implementation whose
//! methods all answer `UNIMPLEMENTED`, and a `main` that starts the service. From then on the
//! files belong to people; nova-gen never overwrites them.

use quote::quote;

use crate::emit::crate_root::message_in;
use crate::emit::manifest::{Dependency, Manifest};
use crate::emit::names::{generated_lib, generated_package, handwritten_lib, handwritten_package, logic_struct, rpc_method};
use crate::emit::{EmitError, Header, doc_line, format_rust};
use crate::fileset::FileSet;
use crate::ir::Service;
use crate::layout::out;

pub fn emit_scaffold(service: &Service, files: &mut FileSet) -> Result<(), EmitError> {
    let root = out::handwritten_crate(&service.name);
    let manifest = Manifest {
        package: handwritten_package(service),
        description: format!("Business logic and binary of nova's {} service", service.name),
        bins: Vec::new(),
        dependencies: vec![
            Dependency::path(&generated_package(service), &format!("../../{}", out::generated_crate(&service.name))),
            Dependency::workspace("nova-runtime"),
            Dependency::workspace("tokio"),
            Dependency::workspace("tracing"),
        ],
        dev_dependencies: Vec::new(),
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
    let methods = service.rpcs.iter().map(|rpc| {
        let method = rpc_method(rpc);
        let input = message_in(&rpc.input, &quote!(pb));
        let output = message_in(&rpc.output, &quote!(pb));
        let name = &rpc.name;
        quote! {
            async fn #method(&self, _ctx: &CallContext, _request: #input) -> Result<#output, LogicError> {
                Err(LogicError::Unimplemented(#name))
            }
        }
    });
    format_rust(quote! {
        //! Business logic of the service: implement each RPC here.
        use #generated::{CallContext, Logic, LogicError, pb};
        use ::nova_runtime::codegen::sqlx::PgPool;
        use ::nova_runtime::server::{Listeners, ServiceConfig, StartError};

        #doc
        #[derive(Debug, Clone)]
        pub struct #logic {
            db: PgPool,
        }

        impl #logic {
            pub fn new(db: PgPool) -> Self {
                #logic { db }
            }

            /// The service's own database.
            pub fn db(&self) -> &PgPool {
                &self.db
            }
        }

        impl Logic for #logic {
            #(#methods)*
        }

        /// Starts the service: opens its database (applying migrations), then serves on
        /// `listeners` until `shutdown` completes.
        pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: impl ::std::future::Future<Output = ()> + Send) -> Result<(), StartError> {
            let db = #generated::db::connect(&config.database).await?;
            #generated::server::serve(#logic::new(db), listeners, shutdown).await
        }
    })
}

fn scaffold_main(service: &Service) -> Result<String, EmitError> {
    let generated = generated_lib(service);
    let handwritten = handwritten_lib(service);
    let failed = format!("{} service failed", service.name);
    format_rust(quote! {
        //! The service's binary: configuration from the environment, then serve until SIGTERM.
        use ::std::process::ExitCode;

        #[tokio::main]
        async fn main() -> ExitCode {
            ::nova_runtime::telemetry::init();
            match run().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(error = %::nova_runtime::error::cause_chain(&error), #failed);
                    ExitCode::FAILURE
                }
            }
        }

        async fn run() -> Result<(), ::nova_runtime::server::StartError> {
            let config = #generated::server::config_from_env()?;
            let listeners = ::nova_runtime::server::Listeners::bind(&config).await?;
            #handwritten::start(config, listeners, ::nova_runtime::server::shutdown_signal()).await
        }
    })
}
