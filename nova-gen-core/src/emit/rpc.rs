//! `src/rpc.rs`: one descriptor per RPC with its idempotency and resolved call policy, read
//! by both the server wrapper and the client stack.

use std::time::Duration;

use quote::quote;

use crate::emit::{EmitError, doc_line, rust_file};
use crate::ir::{Access, AccessKind, Idempotency, Rpc, Service};
use crate::names::rpc_const;

pub fn emit_rpc(service: &Service) -> Result<String, EmitError> {
    let full_name = service.proto.full_name();
    let owner = &service.name;
    let consts = service.rpcs.iter().map(|rpc| {
        let name = rpc_const(rpc);
        let method = &rpc.name;
        let idempotency = match rpc.idempotency {
            Idempotency::Unknown => quote!(::nova_runtime::rpc::Idempotency::Unknown),
            Idempotency::Idempotent => quote!(::nova_runtime::rpc::Idempotency::Idempotent),
            Idempotency::NoSideEffects => quote!(::nova_runtime::rpc::Idempotency::NoSideEffects),
        };
        let deadline = duration(rpc.policy.deadline);
        let retry = match &rpc.policy.retry {
            Some(r) => {
                let attempts = proc_macro2::Literal::u32_unsuffixed(r.max_attempts);
                let multiplier = proc_macro2::Literal::f64_unsuffixed(r.multiplier);
                let (initial, max) = (duration(r.initial_backoff), duration(r.max_backoff));
                quote!(Some(::nova_runtime::rpc::RetryPolicy { max_attempts: #attempts, initial_backoff: #initial, max_backoff: #max, multiplier: #multiplier }))
            }
            None => quote!(None),
        };
        let cache = match &rpc.policy.cache {
            Some(c) => {
                let (ttl, stale) = (duration(c.ttl), duration(c.stale_if_error));
                quote!(Some(::nova_runtime::rpc::CachePolicy { ttl: #ttl, stale_if_error: #stale }))
            }
            None => quote!(None),
        };
        let fail_closed = rpc.policy.fail_closed;
        let schema = hex_literal(rpc.schema_hash);
        let access = access_policy(&rpc.access);
        let doc = doc_line(&format!("`{}`: {}.", rpc.name, policy_summary(rpc)));
        quote! {
            #doc
            pub static #name: ::nova_runtime::rpc::RpcDescriptor = ::nova_runtime::rpc::RpcDescriptor {
                service: #full_name,
                method: #method,
                owner: #owner,
                idempotency: #idempotency,
                policy: ::nova_runtime::rpc::CallPolicy { deadline: #deadline, retry: #retry, cache: #cache, fail_closed: #fail_closed },
                schema: #schema,
                access: #access,
            };
        }
    });
    let all = service.rpcs.iter().map(rpc_const);
    let target = target_policy(service);
    rust_file(quote! {
        //! How each RPC of the service is called: idempotency from the proto's
        //! `idempotency_level`, policy from specs/ownership.toml.
        // Paths are spelled out in full: a `use` list would leave unused imports in services
        // that, say, cache nothing.

        #target

        #(#consts)*

        /// Every RPC of the service, in proto order.
        pub static ALL: &[&::nova_runtime::rpc::RpcDescriptor] = &[#(&#all),*];
    })
}

/// `TARGET`: the breaker and retry budget every caller keeps for this service.
fn target_policy(service: &Service) -> proc_macro2::TokenStream {
    let name = &service.name;
    let b = &service.target.breaker;
    let (window, min_calls, half_open) = (
        proc_macro2::Literal::u32_unsuffixed(b.window),
        proc_macro2::Literal::u32_unsuffixed(b.min_calls),
        proc_macro2::Literal::u32_unsuffixed(b.half_open_calls),
    );
    let (failure_rate, slow_rate) =
        (proc_macro2::Literal::f64_unsuffixed(b.failure_rate_percent), proc_macro2::Literal::f64_unsuffixed(b.slow_rate_percent));
    let (slow_call, open_for) = (duration(b.slow_call), duration(b.open_for));
    let budget = &service.target.retry_budget;
    let (max_tokens, ratio) = (proc_macro2::Literal::u32_unsuffixed(budget.max_tokens), proc_macro2::Literal::f64_unsuffixed(budget.token_ratio));
    let doc = crate::emit::doc_line(&format!(
        "How callers treat the {name} service as a whole: one circuit breaker (opens at {}% failures or {}% slow calls over the last {} calls) and one retry budget per caller.",
        b.failure_rate_percent, b.slow_rate_percent, b.window
    ));
    quote! {
        #doc
        pub static TARGET: ::nova_runtime::rpc::TargetPolicy = ::nova_runtime::rpc::TargetPolicy {
            service: #name,
            breaker: ::nova_runtime::rpc::BreakerPolicy {
                window: #window,
                min_calls: #min_calls,
                failure_rate_percent: #failure_rate,
                slow_call: #slow_call,
                slow_rate_percent: #slow_rate,
                open_for: #open_for,
                half_open_calls: #half_open,
            },
            retry_budget: ::nova_runtime::rpc::RetryBudget { max_tokens: #max_tokens, token_ratio: #ratio },
        };
    }
}

/// The runtime's `AccessPolicy` of an RPC.
fn access_policy(access: &Access) -> proc_macro2::TokenStream {
    let kind = match &access.kind {
        AccessKind::Public => quote!(::nova_runtime::identity::Access::Public),
        AccessKind::User => quote!(::nova_runtime::identity::Access::User),
        AccessKind::Service => quote!(::nova_runtime::identity::Access::Service),
        AccessKind::Permission(permission) => quote!(::nova_runtime::identity::Access::Permission(#permission)),
    };
    let (services, acting, shared) = (&access.services, &access.acting, access.shared);
    quote!(::nova_runtime::identity::AccessPolicy { access: #kind, services: &[#(#services),*], acting: &[#(#acting),*], shared: #shared })
}

/// `0x0123456789abcdef` (hashes read better in hex).
fn hex_literal(value: u64) -> proc_macro2::Literal {
    format!("0x{value:016x}").parse().unwrap_or_else(|_| proc_macro2::Literal::u64_unsuffixed(value))
}

fn duration(d: Duration) -> proc_macro2::TokenStream {
    let millis = proc_macro2::Literal::u64_unsuffixed(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    quote!(::std::time::Duration::from_millis(#millis))
}

/// "read, cached 5m, deadline 200ms, up to 3 attempts" — for docs.
pub fn policy_summary(rpc: &Rpc) -> String {
    let kind = match rpc.idempotency {
        Idempotency::NoSideEffects => "read (NO_SIDE_EFFECTS)",
        Idempotency::Idempotent => "idempotent write",
        Idempotency::Unknown => "write, not retry-safe",
    };
    let mut parts = vec![kind.to_string(), format!("access: {}", rpc.access.describe()), format!("deadline {}", human(rpc.policy.deadline))];
    match &rpc.policy.cache {
        Some(cache) if rpc.policy.fail_closed => parts.push(format!("cached {}, fail-closed (never served stale)", human(cache.ttl))),
        Some(cache) => parts.push(format!("cached {} (stale up to {} more if the service fails)", human(cache.ttl), human(cache.stale_if_error))),
        None if rpc.policy.fail_closed => parts.push("fail-closed".to_string()),
        None => {}
    }
    match (&rpc.policy.retry, rpc.idempotency) {
        (Some(retry), Idempotency::Unknown) => {
            parts.push(format!("up to {} attempts, only while the request never reached the server", retry.max_attempts))
        }
        (Some(retry), _) => parts.push(format!("up to {} attempts", retry.max_attempts)),
        (None, _) => parts.push("no retries".to_string()),
    }
    parts.join(", ")
}

pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0 => "0s".to_string(),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

/// The docs of an RPC's methods (on `Logic` and on the client): its proto comment, then its policy.
pub fn rpc_docs(rpc: &Rpc) -> proc_macro2::TokenStream {
    let mut docs = rpc.docs.clone();
    docs.push(String::new());
    docs.push(format!("`{}`: {}.", rpc.name, policy_summary(rpc)));
    crate::emit::doc_lines(&docs, false)
}
