//! `src/client.rs`: the typed client other services use to reach this one.

use heck::ToSnakeCase;
use quote::{format_ident, quote};

use crate::emit::crate_root::message_tokens;
use crate::emit::rpc::rpc_docs;
use crate::emit::{EmitError, doc_line, doc_lines, rust_file};
use crate::ir::{Rpc, Service};
use crate::names::{client_struct, ident, invalidate_method, rpc_const, rpc_method, tonic_client_module, tonic_client_struct};

/// The function naming the entities a request is about (for invalidation by id).
fn entities_fn(rpc: &Rpc) -> proc_macro2::TokenStream {
    let input = message_tokens(&rpc.input);
    match rpc.policy.cache.as_ref().and_then(|c| c.entity.as_ref()) {
        Some(entity) => {
            let field = ident(&entity.field.to_snake_case());
            if entity.repeated { quote!(|request: &#input| request.#field.clone()) } else { quote!(|request: &#input| vec![request.#field.clone()]) }
        }
        None => quote!(|_: &#input| Vec::new()),
    }
}

fn method(service: &Service, rpc: &Rpc) -> proc_macro2::TokenStream {
    let method = rpc_method(rpc);
    let descriptor = rpc_const(rpc);
    let input = message_tokens(&rpc.input);
    let output = message_tokens(&rpc.output);
    let module = tonic_client_module(service);
    let tonic_client = tonic_client_struct(service);
    let entities = entities_fn(rpc);
    let docs = rpc_docs(rpc);
    let call = quote! {
        #docs
        pub async fn #method(&self, request: #input) -> Result<#output, tonic::Status> {
            self.core
                .unary(&crate::rpc::#descriptor, request, #entities, |channel, request| async move {
                    crate::pb::#module::#tonic_client::new(channel).#method(request).await
                })
                .await
        }
    };
    if rpc.policy.cache.is_none() {
        return call;
    }
    // The same name the validator checks for collisions with RPC methods.
    let invalidate = format_ident!("{}", invalidate_method(&rpc.name));
    let doc = doc_line(&format!("Forgets the cached response of `{}` to `request`, in this process and (through Redis) every other.", rpc.name));
    quote! {
        #call

        #doc
        pub async fn #invalidate(&self, request: &#input) {
            self.core.invalidate(&crate::rpc::#descriptor, request, #entities).await;
        }
    }
}

/// The constructors of the client struct `client`: from a channel, a URI, the environment or
/// the calling service's peers; all end in `from_core`, which registers the metrics.
fn constructors(client: &proc_macro2::Ident) -> proc_macro2::TokenStream {
    quote! {
            /// A client over an existing channel, caching in process only.
            pub fn new(channel: tonic::transport::Channel) -> Self {
                Self::with_options(channel, ClientOptions::in_process())
            }

            /// A client over an existing channel with explicit cache settings.
            pub fn with_options(channel: tonic::transport::Channel, options: ClientOptions) -> Self {
                Self::from_core(ClientCore::new(&crate::rpc::TARGET, channel, options))
            }

            /// Every constructor ends here: the client's metric families exist, at zero, from
            /// the moment it is built (so dashboards and alerts see them before the first call).
            fn from_core(core: ClientCore) -> Self {
                ::nova_runtime::metrics::register_client(crate::rpc::ALL);
                #client { core }
            }

            /// A client for `uri` (e.g. `http://127.0.0.1:50051`), caching in process only;
            /// connects on first use.
            pub fn connect_lazy(uri: &str) -> Result<Self, ClientError> {
                Ok(Self::from_core(ClientCore::connect_lazy(&crate::rpc::TARGET, uri)?))
            }

            /// A client for the endpoint in `NOVA_<SERVICE>_ENDPOINT` (by default this service's
            /// local port), caching in process and in Redis (`NOVA_REDIS_URL`).
            pub fn from_env() -> Result<Self, ClientError> {
                Ok(Self::from_core(ClientCore::from_env(&crate::rpc::TARGET, crate::DEFAULT_PORT)?))
            }

            /// A client for this service's endpoint in `peers` (the calling service's
            /// configuration), caching as `peers` say; connects on first use. Build it once per
            /// process and clone it: clones share the cache, the breaker and the retry budget.
            pub fn from_peers(peers: &Peers) -> Result<Self, ClientError> {
                let channel = peers.channel(crate::SERVICE, crate::DEFAULT_PORT)?;
                Ok(Self::with_options(channel, peers.options.clone()))
            }
    }
}

pub fn emit_client(service: &Service) -> Result<String, EmitError> {
    let client = client_struct(service);
    let methods = service.rpcs.iter().map(|rpc| method(service, rpc));
    let constructors = constructors(&client);
    let doc = doc_lines(
        &[
            format!("Client of the {} service, for other services: the only way they reach its data.", service.name),
            String::new(),
            "Each call follows its RPC's policy from specs/ownership.toml: cache (L1 in process, L2 in".to_string(),
            "Redis), one deadline for all attempts (never later than the deadline of the call being".to_string(),
            "served), retries where safe within a retry budget, and a circuit breaker shared by clones.".to_string(),
        ],
        false,
    );
    rust_file(quote! {
        //! The typed client of the service.
        use ::nova_runtime::client::{ClientCore, ClientError, ClientOptions, Peers};
        use ::nova_runtime::codegen::tonic;

        #doc
        #[derive(Debug, Clone)]
        pub struct #client {
            core: ClientCore,
        }

        impl #client {
            #constructors

            /// The shared call machinery (breaker state, cache) of this client and its clones.
            pub fn core(&self) -> &ClientCore {
                &self.core
            }

            /// This client (sharing its cache, breaker and retry budget) sending `token`, an end
            /// user's access token, on every call: what the edge does for a signed-in user. Inside
            /// a server, clients forward the token of the user being served without this.
            pub fn with_token(&self, token: &str) -> Self {
                Self { core: self.core.with_token(token) }
            }

            /// Forgets every cached response about the entity `id` (e.g. after it changed).
            pub async fn invalidate_entity(&self, id: &str) {
                self.core.invalidate_entity(id).await;
            }

            #(#methods)*
        }
    })
}
