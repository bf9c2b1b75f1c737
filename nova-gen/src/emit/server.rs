//! `src/server.rs`: the tonic service around a `Logic`, and how to serve it.

use quote::quote;

use crate::emit::crate_root::message_tokens;
use crate::emit::names::{rpc_const, rpc_method, tonic_server_module, tonic_server_struct, tonic_trait};
use crate::emit::{EmitError, doc_lines, rust_file};
use crate::ir::Service;

pub fn emit_server(service: &Service) -> Result<String, EmitError> {
    let module = tonic_server_module(service);
    let tonic_trait = tonic_trait(service);
    let server_struct = tonic_server_struct(service);
    let methods = service.rpcs.iter().map(|rpc| {
        let name = rpc_method(rpc);
        let descriptor = rpc_const(rpc);
        let input = message_tokens(&rpc.input);
        let output = message_tokens(&rpc.output);
        quote! {
            async fn #name(&self, request: tonic::Request<#input>) -> Result<tonic::Response<#output>, tonic::Status> {
                let logic = &*self.logic;
                ::nova_runtime::server::unary(&crate::rpc::#descriptor, request, |ctx, message| async move {
                    logic.#name(&ctx, message).await
                })
                .await
            }
        }
    });
    let database = match service.database {
        Some(_) => quote!(Some(crate::DATABASE)),
        None => quote!(None),
    };
    let config_doc = match service.database {
        Some(_) => doc_lines(
            &["This service's configuration: `NOVA_GRPC_ADDR`, `NOVA_DATABASE_URL` and friends, with".into(), "local defaults (its default port and database).".into()],
            false,
        ),
        None => doc_lines(
            &["This service's configuration: `NOVA_GRPC_ADDR` and friends, with local defaults (its".into(), "default port). It has no database: no `NOVA_DATABASE_*` variable is read.".into()],
            false,
        ),
    };
    rust_file(quote! {
        //! Serves a [`Logic`] over gRPC: every call runs through `nova_runtime::server::unary`
        //! (deadline, panic isolation, error mapping and logging).
        use ::nova_runtime::codegen::tonic;
        use ::std::sync::Arc;

        use crate::logic::Logic;

        /// The tonic service of a [`Logic`] implementation.
        pub struct Adapter<L> {
            logic: Arc<L>,
        }

        impl<L: Logic> Adapter<L> {
            pub fn new(logic: L) -> Self {
                Adapter { logic: Arc::new(logic) }
            }
        }

        #[tonic::async_trait]
        impl<L: Logic> crate::pb::#module::#tonic_trait for Adapter<L> {
            #(#methods)*
        }

        /// The routes of this service, ready to be served (or combined with others).
        pub fn routes<L: Logic>(logic: L) -> tonic::service::Routes {
            tonic::service::Routes::new(crate::pb::#module::#server_struct::new(Adapter::new(logic)))
        }

        /// What the server announces (the proto service for health, its descriptors for
        /// reflection, its RPCs for metrics) and the defaults its binary starts from.
        pub const DESCRIPTION: ::nova_runtime::server::ServiceDescription = ::nova_runtime::server::ServiceDescription {
            name: crate::SERVICE,
            proto_service: crate::PROTO_SERVICE,
            file_descriptor_set: crate::FILE_DESCRIPTOR_SET,
            rpcs: crate::rpc::ALL,
            default_port: crate::DEFAULT_PORT,
            database: #database,
        };

        /// Serves `logic` with the default options: no database to follow (SERVING at once),
        /// the default shutdown sequence. See [`serve_with`].
        pub async fn serve<L: Logic>(
            logic: L,
            listeners: ::nova_runtime::server::Listeners,
            shutdown: ::nova_runtime::server::Shutdown,
        ) -> Result<(), ::nova_runtime::server::StartError> {
            serve_with(logic, ::nova_runtime::server::ServeOptions::default(), listeners, shutdown).await
        }

        /// Serves `logic` on the gRPC listener, with `grpc.health.v1` (following the database
        /// in `options`), reflection, and `/metrics` on the metrics listener, until `shutdown`
        /// is requested; then runs the shutdown sequence of `options`.
        pub async fn serve_with<L: Logic>(
            logic: L,
            options: ::nova_runtime::server::ServeOptions,
            listeners: ::nova_runtime::server::Listeners,
            shutdown: ::nova_runtime::server::Shutdown,
        ) -> Result<(), ::nova_runtime::server::StartError> {
            ::nova_runtime::server::serve(DESCRIPTION, routes(logic), options, listeners, shutdown).await
        }

        #config_doc
        pub fn config_from_env() -> Result<::nova_runtime::server::ServiceConfig, ::nova_runtime::config::ConfigError> {
            ::nova_runtime::server::ServiceConfig::from_env(&DESCRIPTION)
        }
    })
}
