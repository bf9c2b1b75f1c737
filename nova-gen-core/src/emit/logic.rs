//! `src/logic.rs`: the `Logic` trait, the only thing people implement for a service.

use quote::quote;

use crate::emit::crate_root::message_tokens;
use crate::emit::rpc::rpc_docs;
use crate::emit::{EmitError, doc_lines, rust_file};
use crate::ir::Service;
use crate::names::rpc_method;

pub fn emit_logic(service: &Service) -> Result<String, EmitError> {
    let methods = service.rpcs.iter().map(|rpc| {
        let name = rpc_method(rpc);
        let input = message_tokens(&rpc.input);
        let output = message_tokens(&rpc.output);
        let docs = rpc_docs(rpc);
        quote! {
            #docs
            fn #name(&self, ctx: &CallContext, request: #input) -> impl Future<Output = Result<#output, LogicError>> + Send;
        }
    });
    let doc = doc_lines(
        &[
            format!("The business logic of the {} service: one method per RPC of `{}`.", service.name, service.proto.full_name()),
            String::new(),
            format!("Implemented by hand in handwritten/{}. The generated server calls these methods with the", service.name),
            "caller's deadline already enforced, panics caught and errors mapped to status codes.".to_string(),
        ],
        false,
    );
    rust_file(quote! {
        //! The business-logic trait of the service.
        use ::nova_runtime::{CallContext, LogicError};
        use ::std::future::Future;

        #doc
        pub trait Logic: Send + Sync + 'static {
            #(#methods)*
        }
    })
}

/// The cargo feature of a generated service crate that compiles its `testing` module.
pub const TEST_DOUBLES_FEATURE: &str = "test-doubles";

/// `src/testing.rs` (behind the `test-doubles` feature): test doubles of the `Logic` trait.
///
/// `LogicDouble` has the methods of `Logic`, each with a default body answering
/// `LogicError::Unimplemented` (UNIMPLEMENTED on the wire), so that a fake overrides only the
/// RPCs its test calls; `Double` serves any `LogicDouble` as the real `Logic`. The production
/// trait keeps no defaults: a real implementation must spell out every RPC.
pub fn emit_testing(service: &Service) -> Result<String, EmitError> {
    let defaults = service.rpcs.iter().map(|rpc| {
        let name = rpc_method(rpc);
        let input = message_tokens(&rpc.input);
        let output = message_tokens(&rpc.output);
        let rpc_name = &rpc.name;
        let doc = format!(" `{rpc_name}`: UNIMPLEMENTED unless overridden.");
        quote! {
            #[doc = #doc]
            fn #name(&self, _ctx: &CallContext, _request: #input) -> impl Future<Output = Result<#output, LogicError>> + Send {
                ::std::future::ready(Err(LogicError::Unimplemented(#rpc_name)))
            }
        }
    });
    let forwards = service.rpcs.iter().map(|rpc| {
        let name = rpc_method(rpc);
        let input = message_tokens(&rpc.input);
        let output = message_tokens(&rpc.output);
        quote! {
            fn #name(&self, ctx: &CallContext, request: #input) -> impl Future<Output = Result<#output, LogicError>> + Send {
                LogicDouble::#name(&self.0, ctx, request)
            }
        }
    });
    let doc = doc_lines(
        &[
            format!("A test double of the {} service's [`Logic`](crate::Logic): the same methods, each", service.name),
            "answering `LogicError::Unimplemented` (UNIMPLEMENTED on the wire) unless overridden.".to_string(),
            String::new(),
            "Serve one through [`Double`]. For tests only: the real `Logic` has no defaults.".to_string(),
        ],
        false,
    );
    rust_file(quote! {
        //! Test doubles of the service's `Logic` (feature `test-doubles`, for tests only): a fake
        //! implements [`LogicDouble`], overriding only the RPCs its test calls, and is served as
        //! the real `Logic` through [`Double`].
        use ::nova_runtime::{CallContext, LogicError};
        use ::std::future::Future;

        #doc
        pub trait LogicDouble: Send + Sync + 'static {
            #(#defaults)*
        }

        /// Serves a [`LogicDouble`] as the service's [`Logic`](crate::Logic), e.g.
        /// `server::serve_with(Double(fake), ...)`.
        #[derive(Debug, Clone, Default)]
        pub struct Double<T>(pub T);

        impl<T: LogicDouble> crate::Logic for Double<T> {
            #(#forwards)*
        }
    })
}
