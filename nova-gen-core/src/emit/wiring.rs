//! `generated/<svc>/src/wiring.rs`: what a service is wired with, read from the spec, so that
//! its handwritten `start` holds only what is its own (settings, background tasks).
//!
//! - [`Dependencies`]: the pool of its database, one client per `calls` entry, the invalidator
//!   (only when callers cache some of its answers), and the user check (`checks_users`);
//! - `Wiring`: those dependencies plus the server options built from the configuration, and
//!   `serve`, which runs the generated server with the handwritten logic.
//!
//! Before this file, every service's `start` repeated the same lines (open the database, one
//! `from_peers` per callee, the invalidator), and five services asked the token issuer whether
//! a user exists by hand, each mapping its answers a little differently.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::{EmitError, doc_line, rust_file};
use crate::ir::{Service, Spec};
use crate::names::{api_lib, client_struct};

/// Whether callers cache any of this service's answers: only then do its writes need an
/// invalidator.
pub fn has_cached_rpcs(service: &Service) -> bool {
    service.rpcs.iter().any(|rpc| rpc.policy.cache.is_some())
}

/// One field of `Dependencies`: its declaration, its name, and the expression `from_config`
/// binds it to (in field order, so a later field may clone an earlier one).
struct Field {
    declaration: TokenStream,
    name: proc_macro2::Ident,
    value: TokenStream,
}

fn client_fields(spec: &Spec, service: &Service) -> Vec<Field> {
    spec.resolve(&service.calls)
        .map(|callee| {
            let field = crate::names::ident(&callee.name);
            let api = api_lib(callee);
            let client = client_struct(callee);
            let doc = doc_line(&format!(
                "The client of `{}` (`calls`): cached, retried and bounded by deadlines and a breaker as the spec says; clones share all of it.",
                callee.name
            ));
            Field { declaration: quote!(#doc pub #field: ::#api::#client,), value: quote!(::#api::#client::from_peers(&config.peers)?), name: field }
        })
        .collect()
}

fn own_fields(service: &Service) -> Vec<Field> {
    let mut fields = Vec::new();
    if let Some(database) = &service.database {
        let doc = doc_line(&format!(
            "The pool of the service's own database (`{database}`): connects lazily; the server admits calls only once the database answers and is migrated."
        ));
        fields.push(Field {
            declaration: quote!(#doc pub db: ::nova_runtime::codegen::sqlx::PgPool,),
            name: format_ident!("db"),
            value: quote!(database.pool().clone()),
        });
    }
    if has_cached_rpcs(service) {
        let doc = doc_line("Drops callers' cached answers of this service, in every replica, after a write commits.");
        fields.push(Field {
            declaration: quote!(#doc pub invalidator: ::nova_runtime::client::Invalidator,),
            name: format_ident!("invalidator"),
            value: quote!(config.peers.invalidator(crate::SERVICE)),
        });
    }
    fields
}

/// `generated/<svc>/src/wiring.rs`.
pub fn emit_wiring(spec: &Spec, service: &Service) -> Result<String, EmitError> {
    let mut fields = own_fields(service);
    fields.extend(client_fields(spec, service));
    let users = crate::emit::users::user_check(spec, service);
    if let Some(users) = &users {
        fields.push(Field { declaration: users.field.clone(), name: format_ident!("users"), value: users.init.clone() });
    }
    let declarations = fields.iter().map(|f| &f.declaration);
    let bindings = fields.iter().map(|Field { name, value, .. }| quote!(let #name = #value;));
    let names = fields.iter().map(|f| &f.name);
    let users_type = users.map(|u| u.definition);
    let (open, database) = match &service.database {
        Some(_) => (quote!(let database = crate::db::open(config.database()?)?;), quote!(Some(database))),
        None => (TokenStream::new(), quote!(None)),
    };
    let has_events = service.events.any();
    let consumes = !service.events.consumes.is_empty();
    let events_field = has_events.then(|| {
        quote! {
            /// Where its events go and come from (`None`: events off, the outbox fills).
            pub events: Option<::nova_runtime::events::EventsConfig>,
        }
    });
    let events_init = has_events.then(|| quote!(events: config.events.clone()));
    let consumer_bound = consumes.then(|| quote!(+ crate::events::Consumer));
    let consumer_arg = consumes.then(|| quote!(::std::sync::Arc::clone(&logic)));
    let start_events = has_events.then(|| {
        quote! {
            // The relay and consumers run while the server does.
            let _events = match self.events {
                Some(events) => Some(crate::events::start(self.dependencies.db.clone(), events, #consumer_arg).await?),
                None => None,
            };
        }
    });
    let struct_doc = doc_line(&format!(
        "What the `{}` service runs with, as specs/ownership.toml declares it. Built once per process by [`Wiring::from_config`] (tests may build it field by field); clones share pools, caches and breakers.",
        service.name
    ));
    rust_file(quote! {
        //! What the service is wired with, from specs/ownership.toml: its handwritten `start`
        //! builds its logic from [`Dependencies`] and hands it to [`Wiring::serve`].

        #struct_doc
        #[derive(Clone, Debug)]
        pub struct Dependencies {
            #(#declarations)*
        }

        /// The service wired from its configuration: the dependencies its logic is built from,
        /// and the server's options (holding the database the server waits for and migrates).
        pub struct Wiring {
            /// What the handwritten logic is built from.
            pub dependencies: Dependencies,
            /// How the server runs (transport, identity, shutdown, database); adjust before
            /// [`Wiring::serve`] where the service needs to (the token issuer gives its own
            /// identity).
            pub options: ::nova_runtime::server::ServeOptions,
            #events_field
        }

        impl Wiring {
            /// Opens the service's database (without connecting yet: the server waits for it
            /// and applies the migrations) and builds one client per `calls` entry from
            /// `config.peers`. Fails when the database settings are missing or invalid, or
            /// when a callee's endpoint is not a valid URI.
            pub fn from_config(config: &::nova_runtime::server::ServiceConfig) -> Result<Self, ::nova_runtime::server::StartError> {
                #open
                #(#bindings)*
                let dependencies = Dependencies { #(#names),* };
                let options = ::nova_runtime::server::ServeOptions::new(config, #database);
                Ok(Wiring { dependencies, options, #events_init })
            }

            /// Serves `logic` on `listeners` until `shutdown` is requested (see
            /// [`crate::server::serve_with`]).
            pub async fn serve<L: crate::Logic #consumer_bound>(
                self,
                logic: L,
                listeners: ::nova_runtime::server::Listeners,
                shutdown: ::nova_runtime::server::Shutdown,
            ) -> Result<(), ::nova_runtime::server::StartError> {
                let logic = ::std::sync::Arc::new(logic);
                #start_events
                crate::server::serve_shared(logic, self.options, listeners, shutdown).await
            }
        }

        #users_type
    })
}
