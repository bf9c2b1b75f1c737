//! `src/client.rs`: the typed client other services use to reach this one.

use quote::quote;

use crate::emit::crate_root::message_tokens;
use crate::emit::names::{client_struct, rpc_const, rpc_method, tonic_client_module, tonic_client_struct};
use crate::emit::rpc::rpc_docs;
use crate::emit::{EmitError, doc_lines, rust_file};
use crate::ir::Service;

pub fn emit_client(service: &Service) -> Result<String, EmitError> {
    let client = client_struct(service);
    let module = tonic_client_module(service);
    let tonic_client = tonic_client_struct(service);
    let name = &service.name;
    let methods = service.rpcs.iter().map(|rpc| {
        let method = rpc_method(rpc);
        let descriptor = rpc_const(rpc);
        let input = message_tokens(&rpc.input);
        let output = message_tokens(&rpc.output);
        let docs = rpc_docs(rpc);
        quote! {
            #docs
            pub async fn #method(&self, request: #input) -> Result<#output, tonic::Status> {
                self.core
                    .unary(&crate::rpc::#descriptor, request, |channel, request| async move {
                        crate::pb::#module::#tonic_client::new(channel).#method(request).await
                    })
                    .await
            }
        }
    });
    let doc = doc_lines(
        &[
            format!("Client of the {} service, for other services: the only way they reach its data.", service.name),
            String::new(),
            "Every call follows its RPC's policy from specs/ownership.toml and passes on the deadline".to_string(),
            "of the call being served, when there is one.".to_string(),
        ],
        false,
    );
    rust_file(quote! {
        //! The typed client of the service.
        use ::nova_runtime::client::{ClientCore, ClientError};
        use ::nova_runtime::codegen::tonic;

        #doc
        #[derive(Debug, Clone)]
        pub struct #client {
            core: ClientCore,
        }

        impl #client {
            /// A client over an existing channel.
            pub fn new(channel: tonic::transport::Channel) -> Self {
                #client { core: ClientCore::new(#name, channel) }
            }

            /// A client for `uri` (e.g. `http://127.0.0.1:50051`); connects on first use.
            pub fn connect_lazy(uri: &str) -> Result<Self, ClientError> {
                Ok(Self::new(::nova_runtime::client::channel(uri)?))
            }

            /// A client for the endpoint in `NOVA_<SERVICE>_ENDPOINT`, by default this service's
            /// local port.
            pub fn from_env() -> Result<Self, ClientError> {
                Self::connect_lazy(&::nova_runtime::client::endpoint_from_env(crate::SERVICE, crate::DEFAULT_PORT)?)
            }

            #(#methods)*
        }
    })
}
