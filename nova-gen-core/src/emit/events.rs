//! `generated/<svc>/src/events.rs`, for a service with `publishes` or `consumes` (or logical
//! references that follow deletes):
//!
//! - `publish::<table>_<event>(tx, key, [message,] actor)`: one typed function per published
//!   event, taking the change's transaction (there is no way to publish outside one);
//! - `Consumer`: one method per consumed event, in the `Logic` style, implemented by hand;
//!   the generated `Dispatch` calls it, then runs the declared cascades (`-> svc.table.col
//!   cascade | set null`) in the same transaction (so the method can still read the rows they
//!   delete, e.g. to move counters that count them);
//! - `start`: the outbox relay and one durable consumer per publisher, running while the
//!   returned value lives.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::{EmitError, doc_line, rust_file};
use crate::ir::{Cascade, ColumnType, Event, OnDelete, ScalarType, Service, Spec, Subscription};
use crate::names::api_lib;

/// The Rust type of an event's key.
fn key_type(event: &Event) -> Result<TokenStream, EmitError> {
    match event.key.ty {
        ColumnType::Scalar(ScalarType::Uuid) => Ok(quote!(::nova_runtime::codegen::uuid::Uuid)),
        ColumnType::Scalar(ScalarType::Text | ScalarType::Varchar(_) | ScalarType::Citext) => Ok(quote!(String)),
        ColumnType::Scalar(ScalarType::BigInt) => Ok(quote!(i64)),
        ColumnType::Scalar(ScalarType::Int) => Ok(quote!(i32)),
        ColumnType::Scalar(ScalarType::SmallInt) => Ok(quote!(i16)),
        _ => Err(EmitError::new(format!("events of `{}` need a uuid, text or integer key; `{}` is not", event.table, event.key.name))),
    }
}

/// `users_deleted`.
fn event_ident(event: &Event) -> proc_macro2::Ident {
    format_ident!("{}_{}", event.table, event.name)
}

fn publish_fn(service: &Service, event: &Event) -> Result<TokenStream, EmitError> {
    let name = event_ident(event);
    let key = key_type(event)?;
    let qualified = event.qualified();
    let table = &event.table;
    let subject = format!("nova.{}.{qualified}", service.name);
    let (message_param, payload, about) = match &event.message {
        Some(message) => {
            let ty = format_ident!("{}", message);
            (
                quote!(message: &crate::pb::#ty,),
                quote!(::nova_runtime::codegen::prost::Message::encode_to_vec(message)),
                format!(", carrying `{message}`"),
            )
        }
        None => (TokenStream::new(), quote!(Vec::new()), String::new()),
    };
    let doc = doc_line(&format!(
        "`{qualified}` about the `{table}` row `key`{about}, published on `{subject}` once `tx` commits (and only then). `actor`: the end user whose call made the change, if any."
    ));
    Ok(quote! {
        #doc
        pub async fn #name(
            tx: &mut ::nova_runtime::codegen::sqlx::Transaction<'_, ::nova_runtime::codegen::sqlx::Postgres>,
            key: &#key,
            #message_param
            actor: Option<::nova_runtime::codegen::uuid::Uuid>,
        ) -> Result<::nova_runtime::events::Envelope, ::nova_runtime::RepoError> {
            ::nova_runtime::events::publish(tx, ::nova_runtime::events::Outgoing {
                publisher: crate::SERVICE,
                event: #qualified,
                table: #table,
                aggregate_id: key.to_string(),
                actor,
                payload: #payload,
            })
            .await
        }
    })
}

/// `on_auth_users_deleted`.
fn handler_ident(subscription: &Subscription, event: &Event) -> proc_macro2::Ident {
    format_ident!("on_{}_{}_{}", subscription.publisher_name, event.table, event.name)
}

fn cascade_sql(cascade: &Cascade) -> String {
    match cascade.action {
        OnDelete::SetNull => format!("UPDATE {} SET {} = NULL WHERE {} = $1", cascade.table, cascade.column, cascade.column),
        _ => format!("DELETE FROM {} WHERE {} = $1", cascade.table, cascade.column),
    }
}

fn consumer_parts(spec: &Spec, service: &Service) -> Result<(Vec<TokenStream>, Vec<TokenStream>), EmitError> {
    let mut methods = Vec::new();
    let mut arms = Vec::new();
    for subscription in &service.events.consumes {
        let publisher = spec.get(subscription.publisher);
        let api = api_lib(publisher);
        for consumed in &subscription.events {
            let event = &consumed.event;
            let method = handler_ident(subscription, event);
            let key = key_type(event)?;
            let qualified = event.qualified();
            let publisher_name = &subscription.publisher_name;
            let (message_param, decode, message_arg) = match &event.message {
                Some(message) => {
                    let ty = format_ident!("{}", message);
                    (
                        quote!(message: ::#api::pb::#ty,),
                        quote! {
                            let message = <::#api::pb::#ty as ::nova_runtime::codegen::prost::Message>::decode(event.envelope.payload.as_slice())
                                .map_err(|e| ::nova_runtime::LogicError::invalid_argument(format!("{} carries no valid {}: {e}", event.subject, #message)))?;
                        },
                        quote!(message,),
                    )
                }
                None => (TokenStream::new(), TokenStream::new(), TokenStream::new()),
            };
            let cascade_docs: Vec<String> = consumed.cascades.iter().map(|c| format!("`{}`", cascade_sql(c))).collect();
            let before = if cascade_docs.is_empty() {
                String::new()
            } else {
                format!(
                    " Then, in the same transaction, the spec's logical references run {}: this runs first, so it can still read the rows they delete or clear (e.g. to move counters that count them).",
                    cascade_docs.join(", ")
                )
            };
            let doc = doc_line(&format!(
                "`{publisher_name}.{qualified}` (subject `nova.{publisher_name}.{qualified}`): `key` is the `{}` row's key. Runs in `tx`, which also records the event, so it applies once; an error rolls all of it back and the event is retried, then dead-lettered.{before}",
                event.table
            ));
            methods.push(quote! {
                #doc
                fn #method(
                    &self,
                    tx: &mut ::nova_runtime::events::Tx,
                    event: &::nova_runtime::events::Received,
                    key: #key,
                    #message_param
                ) -> impl ::std::future::Future<Output = Result<(), ::nova_runtime::LogicError>> + Send;
            });
            let statements = consumed.cascades.iter().map(|c| {
                let sql = cascade_sql(c);
                let table = &c.table;
                quote!((#table, #sql))
            });
            // The cascades still need the key after the method took it: a copy, or a clone of text.
            let text_key = matches!(event.key.ty, ColumnType::Scalar(ScalarType::Text | ScalarType::Varchar(_) | ScalarType::Citext));
            let key_arg = if text_key && !consumed.cascades.is_empty() { quote!(key.clone()) } else { quote!(key) };
            let cascades = (!consumed.cascades.is_empty()).then(|| {
                quote! {
                    ::nova_runtime::events::follow_deletion(tx, &key, &[#(#statements),*]).await?;
                }
            });
            arms.push(quote! {
                (#publisher_name, #qualified) => {
                    let key: #key = ::nova_runtime::events::parse_key(&event.envelope.aggregate_id)?;
                    #decode
                    self.0.#method(tx, event, #key_arg, #message_arg).await?;
                    #cascades
                    Ok(())
                }
            });
        }
    }
    Ok((methods, arms))
}

/// `pub mod <publisher> { pub use ::nova_<publisher>_api::pb::<Message>; }` for each publisher
/// whose consumed events carry messages: the handwritten consumer names them through its own
/// generated crate, without depending on the publisher's client (which `calls` would govern).
fn consumed_messages(spec: &Spec, service: &Service) -> Vec<TokenStream> {
    service
        .events
        .consumes
        .iter()
        .filter_map(|subscription| {
            let mut names: Vec<&String> = subscription.events.iter().filter_map(|c| c.event.message.as_ref()).collect();
            names.sort();
            names.dedup();
            if names.is_empty() {
                return None;
            }
            let api = api_lib(spec.get(subscription.publisher));
            let module = format_ident!("{}", subscription.publisher_name);
            let types = names.iter().map(|n| format_ident!("{}", n));
            let doc = doc_line(&format!("The messages of `{}`'s events this service consumes.", subscription.publisher_name));
            Some(quote! {
                #doc
                pub mod #module {
                    #(pub use ::#api::pb::#types;)*
                }
            })
        })
        .collect()
}

/// `generated/<svc>/src/events.rs`, or `None` for a service without events.
pub fn emit_events(spec: &Spec, service: &Service) -> Result<Option<String>, EmitError> {
    let events = &service.events;
    if !events.any() {
        return Ok(None);
    }
    let publishes = !events.publishes.is_empty();
    let consumes = !events.consumes.is_empty();
    let publish_fns = events.publishes.iter().map(|e| publish_fn(service, e)).collect::<Result<Vec<_>, _>>()?;
    let publish_module = publishes.then(|| {
        quote! {
            /// The events this service publishes (`publishes`): each written in the transaction
            /// of the change it describes, after the aggregate's version row is locked.
            pub mod publish {
                #(#publish_fns)*
            }
        }
    });
    let (methods, arms) = consumer_parts(spec, service)?;
    let consumer = consumes.then(|| {
        let trait_doc = doc_line(&format!("What `{}` does when an event it consumes arrives: one method per event, implemented by hand (in the `Logic` style).", service.name));
        quote! {
            #trait_doc
            pub trait Consumer: Send + Sync + 'static {
                #(#methods)*

                /// Runs once the transaction that applied `event` committed (never for a duplicate, a stale or a failed one): the place for effects outside the database, such as dropping cached answers. Best effort: a crash between the commit and this call skips it.
                fn committed(&self, event: &::nova_runtime::events::Received) -> impl ::std::future::Future<Output = ()> + Send {
                    let _ = event;
                    async {}
                }
            }

            /// Routes each event to its method, then runs the cascades the spec declares.
            pub struct Dispatch<C>(pub ::std::sync::Arc<C>);

            impl<C: Consumer> ::nova_runtime::events::Handler for Dispatch<C> {
                async fn handle(&self, tx: &mut ::nova_runtime::events::Tx, event: &::nova_runtime::events::Received) -> Result<(), ::nova_runtime::LogicError> {
                    match (event.envelope.publisher.as_str(), event.envelope.event.as_str()) {
                        #(#arms)*
                        (publisher, name) => Err(::nova_runtime::LogicError::invalid_argument(format!("no handler for the event {publisher}.{name}"))),
                    }
                }

                async fn committed(&self, event: &::nova_runtime::events::Received) {
                    self.0.committed(event).await;
                }
            }
        }
    });
    let subscriptions = events.consumes.iter().map(|s| {
        let publisher = &s.publisher_name;
        let names = s.events.iter().map(|e| e.event.qualified());
        quote! {
            running.consume(#publisher, vec![#(#names),*], ::std::sync::Arc::clone(&handler));
        }
    });
    let (generic, param, consumers, binding) = if consumes {
        (
            quote!(<C: Consumer>),
            quote!(consumer: ::std::sync::Arc<C>,),
            quote! {
                let handler = ::std::sync::Arc::new(Dispatch(consumer));
                #(#subscriptions)*
            },
            quote!(let mut running),
        )
    } else {
        (TokenStream::new(), TokenStream::new(), TokenStream::new(), quote!(let running))
    };
    let messages = consumed_messages(spec, service);
    let what = match (publishes, consumes) {
        (true, true) => "the outbox relay and the consumers",
        (true, false) => "the outbox relay",
        _ => "the consumers",
    };
    let start_doc =
        doc_line(&format!("Starts {what} of this service on `db` and JetStream (see `nova_runtime::events`); they stop when the result is dropped."));
    let file = rust_file(quote! {
        //! The service's events, from `publishes`, `consumes` and the logical references of
        //! specs/ownership.toml (see `nova_runtime::events` for the guarantees).

        #publish_module
        #consumer
        #(#messages)*

        #start_doc
        pub async fn start #generic (
            db: ::nova_runtime::codegen::sqlx::PgPool,
            config: ::nova_runtime::events::EventsConfig,
            #param
        ) -> Result<::nova_runtime::events::Running, ::nova_runtime::events::EventsError> {
            #binding = ::nova_runtime::events::Running::start(crate::SERVICE, db, config, #publishes).await?;
            #consumers
            Ok(running)
        }
    })?;
    Ok(Some(file))
}
