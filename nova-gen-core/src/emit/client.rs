//! `src/client.rs`: the typed client other services use to reach this one.

use heck::ToSnakeCase;
use quote::{format_ident, quote};

use crate::emit::crate_root::message_tokens;
use crate::emit::rpc::rpc_docs;
use crate::emit::{EmitError, doc_line, doc_lines, rust_file};
use crate::ir::{MessageType, Paired, PerId, Rpc, Service};
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

/// The static `<RPC>_PER_ID` of a per-id batch read: how the runtime takes its messages
/// apart into one entry per id and puts them together again.
fn per_id_shape(rpc: &Rpc, per_id: &PerId) -> proc_macro2::TokenStream {
    let name = per_id_static(rpc);
    let (input, output) = (message_tokens(&rpc.input), message_tokens(&rpc.output));
    let item = message_tokens(&MessageType::Local(per_id.item.clone()));
    let ids = ident(&per_id.ids_field.to_snake_case());
    let items = ident(&per_id.items_field.to_snake_case());
    let id = ident(&per_id.id_field.to_snake_case());
    let missing = ident(&per_id.missing_field.to_snake_case());
    let (max, noun) = (proc_macro2::Literal::usize_unsuffixed(per_id.max as usize), &per_id.noun);
    let doc = doc_line(&format!("How `{}` is cached per id (the spec's `per_id`).", rpc.name));
    quote! {
        #doc
        static #name: ::nova_runtime::client::PerId<#input, #output, #item> = ::nova_runtime::client::PerId {
            ids: |request| &request.#ids,
            request: |#ids| #input { #ids },
            parts: |response| (response.#items, response.#missing),
            item_id: |item| &item.#id,
            assemble: |#items, #missing| #output { #items, #missing },
            max_batch: #max,
            noun: #noun,
        };
    }
}

/// The static `<RPC>_SINGLE` of a single read paired with a batch read: its id, and its
/// response from an item.
fn single_shape(rpc: &Rpc, batch: &Rpc, paired: &Paired, item: &str) -> proc_macro2::TokenStream {
    let name = single_static(rpc);
    let (input, output) = (message_tokens(&rpc.input), message_tokens(&rpc.output));
    let item = message_tokens(&MessageType::Local(item.to_string()));
    let id = ident(&paired.id_field.to_snake_case());
    let field = ident(&paired.response_field.to_snake_case());
    let id_name = &paired.id_field;
    let doc = doc_line(&format!("How `{}` reads the per-id entries of `{}` (the spec's `single`).", rpc.name, batch.name));
    quote! {
        #doc
        static #name: ::nova_runtime::client::Single<#input, #output, #item> = ::nova_runtime::client::Single {
            id: |request| &request.#id,
            wrap: |item| #output { #field: Some(item) },
            field: #id_name,
        };
    }
}

fn single_static(rpc: &Rpc) -> proc_macro2::Ident {
    format_ident!("{}_SINGLE", rpc_const(rpc))
}

fn per_id_static(rpc: &Rpc) -> proc_macro2::Ident {
    format_ident!("{}_PER_ID", rpc_const(rpc))
}

/// The tonic call of `rpc` on a channel, as the runtime's `attempt` closure.
fn attempt(service: &Service, rpc: &Rpc) -> proc_macro2::TokenStream {
    let method = rpc_method(rpc);
    let module = tonic_client_module(service);
    let tonic_client = tonic_client_struct(service);
    quote!(|channel, request| async move { crate::pb::#module::#tonic_client::new(channel).#method(request).await })
}

fn method(service: &Service, rpc: &Rpc) -> Result<proc_macro2::TokenStream, EmitError> {
    let method = rpc_method(rpc);
    let descriptor = rpc_const(rpc);
    let input = message_tokens(&rpc.input);
    let output = message_tokens(&rpc.output);
    let entities = entities_fn(rpc);
    let docs = rpc_docs(rpc);
    let own = attempt(service, rpc);
    let cache = rpc.policy.cache.as_ref();
    let (body, invalidation) = match (cache.and_then(|c| c.per_id.as_ref()), cache.and_then(|c| c.paired.as_ref())) {
        (Some(per_id), _) => {
            let shape = per_id_static(rpc);
            let ids = ident(&per_id.ids_field.to_snake_case());
            (quote!(self.core.batch(&crate::rpc::#descriptor, &#shape, request, #own).await), quote!(self.core.invalidate_ids(&request.#ids).await;))
        }
        (None, Some(paired)) => {
            let batch = service
                .rpcs
                .iter()
                .find(|r| r.name == paired.batch)
                .ok_or_else(|| EmitError::new(format!("{} pairs with an unknown {}", rpc.name, paired.batch)))?;
            let (batch_descriptor, shape, batch_attempt) = (rpc_const(batch), per_id_static(batch), attempt(service, batch));
            let id = ident(&paired.id_field.to_snake_case());
            let single = single_static(rpc);
            (
                quote! {
                    self.core
                        .single(&crate::rpc::#descriptor, &crate::rpc::#batch_descriptor, &#shape, &#single, request, #own, #batch_attempt)
                        .await
                },
                quote!(self.core.invalidate_ids(::std::slice::from_ref(&request.#id)).await;),
            )
        }
        (None, None) => (
            quote!(self.core.unary(&crate::rpc::#descriptor, request, #entities, #own).await),
            quote!(self.core.invalidate(&crate::rpc::#descriptor, request, #entities).await;),
        ),
    };
    let call = quote! {
        #docs
        pub async fn #method(&self, request: #input) -> Result<#output, tonic::Status> {
            #body
        }
    };
    if cache.is_none() {
        return Ok(call);
    }
    // The same name the validator checks for collisions with RPC methods.
    let invalidate = format_ident!("{}", invalidate_method(&rpc.name));
    let doc = doc_line(&format!("Forgets the cached response of `{}` to `request`, in this process and (through Redis) every other.", rpc.name));
    Ok(quote! {
        #call

        #doc
        pub async fn #invalidate(&self, request: &#input) {
            #invalidation
        }
    })
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
    let methods = service.rpcs.iter().map(|rpc| method(service, rpc)).collect::<Result<Vec<_>, _>>()?;
    let shapes = service.rpcs.iter().filter_map(|rpc| Some(per_id_shape(rpc, rpc.policy.cache.as_ref()?.per_id.as_ref()?)));
    let singles = service.rpcs.iter().filter_map(|rpc| {
        let paired = rpc.policy.cache.as_ref()?.paired.as_ref()?;
        let batch = service.rpcs.iter().find(|r| r.name == paired.batch)?;
        Some(single_shape(rpc, batch, paired, &batch.policy.cache.as_ref()?.per_id.as_ref()?.item))
    });
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

        #(#shapes)*

        #(#singles)*

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
