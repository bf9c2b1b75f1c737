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
