//! `src/server.rs`: the tonic service around a `Logic`, and how to serve it.

use heck::ToSnakeCase as _;
use quote::quote;

use crate::emit::crate_root::message_tokens;
use crate::emit::{EmitError, doc_lines, rust_file};
use crate::ir::{Service, Spec};
use crate::names::{ident, rpc_const, rpc_method, tonic_server_module, tonic_server_struct, tonic_trait};

pub fn emit_server(spec: &Spec, service: &Service) -> Result<String, EmitError> {
    let module = tonic_server_module(service);
    let tonic_trait = tonic_trait(service);
    let server_struct = tonic_server_struct(service);
    let methods = adapter_methods(service);
    let issuer = issuer_tokens(spec);
    let database = match service.database {
        Some(_) => quote!(Some(crate::DATABASE)),
        None => quote!(None),
    };
    let config_doc = config_doc(service);
    rust_file(quote! {
        //! Serves a [`Logic`] over gRPC: every call runs through `nova_runtime::server::unary`
        //! (the caller admitted by the RPC's access policy and its acting fields bound to the
        //! caller, deadline, panic isolation, error mapping and logging).
        use ::nova_runtime::codegen::tonic;
        use ::std::sync::Arc;

        use crate::logic::Logic;

        /// The tonic service of a [`Logic`] implementation.
        pub struct Adapter<L> {
            logic: Arc<L>,
        }

        impl<L: Logic> Adapter<L> {
            pub fn new(logic: L) -> Self {
                Adapter::shared(Arc::new(logic))
            }

            /// Serves a logic shared with something else (the service's event consumers).
            pub fn shared(logic: Arc<L>) -> Self {
                Adapter { logic }
            }
        }

        #[tonic::async_trait]
        impl<L: Logic> crate::pb::#module::#tonic_trait for Adapter<L> {
            #(#methods)*
        }

        /// The routes of this service, ready to be served (or combined with others).
        pub fn routes<L: Logic>(logic: L) -> tonic::service::Routes {
            shared_routes(Arc::new(logic))
        }

        /// [`routes`] of a logic shared with something else (the service's event consumers).
        pub fn shared_routes<L: Logic>(logic: Arc<L>) -> tonic::service::Routes {
            tonic::service::Routes::new(crate::pb::#module::#server_struct::new(Adapter::shared(logic)))
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
            issuer: #issuer,
        };

        /// Serves `logic` on the gRPC listener (mutual TLS, or plaintext if `options` say so),
        /// with `grpc.health.v1` (following the database in `options`), reflection, and
        /// `/metrics`, `/readyz` and `/livez` on the metrics listener, until `shutdown` is
        /// requested; then runs the shutdown sequence of `options`. Callers' tokens are
        /// verified against the token issuer's keys (see `ServeOptions::new`).
        pub async fn serve_with<L: Logic>(
            logic: L,
            options: ::nova_runtime::server::ServeOptions,
            listeners: ::nova_runtime::server::Listeners,
            shutdown: ::nova_runtime::server::Shutdown,
        ) -> Result<(), ::nova_runtime::server::StartError> {
            serve_shared(Arc::new(logic), options, listeners, shutdown).await
        }

        /// [`serve_with`] a logic shared with something else (the service's event consumers).
        pub async fn serve_shared<L: Logic>(
            logic: Arc<L>,
            options: ::nova_runtime::server::ServeOptions,
            listeners: ::nova_runtime::server::Listeners,
            shutdown: ::nova_runtime::server::Shutdown,
        ) -> Result<(), ::nova_runtime::server::StartError> {
            ::nova_runtime::server::serve(DESCRIPTION, shared_routes(logic), options, listeners, shutdown).await
        }

        #config_doc
        pub fn config_from_env() -> Result<::nova_runtime::server::ServiceConfig, ::nova_runtime::config::ConfigError> {
            ::nova_runtime::server::ServiceConfig::from_env(&DESCRIPTION)
        }
    })
}

/// The adapter's trait methods: each RPC run through `unary`, its acting fields bound first.
fn adapter_methods(service: &Service) -> Vec<proc_macro2::TokenStream> {
    service
        .rpcs
        .iter()
        .map(|rpc| {
            let name = rpc_method(rpc);
            let descriptor = rpc_const(rpc);
            let input = message_tokens(&rpc.input);
            let output = message_tokens(&rpc.output);
            // The acting fields are bound to the caller before the handler sees the request.
            let binds = rpc.access.acting.iter().map(|path| bind_statement(path));
            let message = if rpc.access.acting.is_empty() { quote!(message) } else { quote!(mut message) };
            quote! {
                async fn #name(&self, request: tonic::Request<#input>) -> Result<tonic::Response<#output>, tonic::Status> {
                    let logic = &*self.logic;
                    ::nova_runtime::server::unary(&crate::rpc::#descriptor, request, |ctx, #message| async move {
                        #(#binds)*
                        logic.#name(&ctx, message).await
                    })
                    .await
                }
            }
        })
        .collect()
}

/// The token issuer the server verifies callers' tokens with, if the spec names one.
fn issuer_tokens(spec: &Spec) -> proc_macro2::TokenStream {
    match spec.token_issuer() {
        Some(issuer) => {
            let (name, proto, port) = (&issuer.name, issuer.proto.full_name(), issuer.port);
            quote!(Some(::nova_runtime::identity::Issuer { service: #name, proto_service: #proto, default_port: #port }))
        }
        None => quote!(None),
    }
}

/// The doc of `config_from_env`: which variables it reads depends on the database.
fn config_doc(service: &Service) -> proc_macro2::TokenStream {
    match service.database {
        Some(_) => doc_lines(
            &[
                "This service's configuration: `NOVA_GRPC_ADDR`, `NOVA_DATABASE_URL` and friends, with".into(),
                "local defaults (its default port and database).".into(),
            ],
            false,
        ),
        None => doc_lines(
            &[
                "This service's configuration: `NOVA_GRPC_ADDR` and friends, with local defaults (its".into(),
                "default port). It has no database: no `NOVA_DATABASE_*` variable is read.".into(),
            ],
            false,
        ),
    }
}

/// Binds the acting field at `path` (`user_id`, or `settings.user_id` through singular message
/// fields, which prost makes `Option`s: an absent message has nothing to bind, and the handler
/// refuses it as a missing argument).
fn bind_statement(path: &str) -> proc_macro2::TokenStream {
    let segments: Vec<proc_macro2::Ident> = path.split('.').map(|s| ident(&s.to_snake_case())).collect();
    let Some((last, through)) = segments.split_last() else { return quote!() };
    let mut statement = quote!(ctx.bind(#path, &mut inner.#last)?;);
    for (depth, segment) in through.iter().enumerate().rev() {
        let outer = if depth == 0 { quote!(message) } else { quote!(inner) };
        statement = quote!(if let Some(inner) = #outer.#segment.as_mut() { #statement });
    }
    if through.is_empty() {
        statement = quote!(ctx.bind(#path, &mut message.#last)?;);
    }
    statement
}
