//! Rules about RPCs and their call policies: every policy names a real RPC, caching is only
//! for reads, and every setting is within sane bounds.

use std::time::Duration;

use super::Validator;
use crate::ir::Idempotency;
use crate::load::protos::ProtoServiceInfo;
use crate::load::toml_read::closest;
use crate::raw::{RawPolicy, RawRetry, RawService, RawSlo};
use crate::source::Located;

pub(crate) fn check_rpcs(v: &mut Validator<'_>) {
    let spec = &v.loaded.ownership;
    check_policy_values(v, &spec.defaults.policy);
    check_slo(v, &spec.defaults.slo);
    for service in &spec.services {
        check_policy_values(v, &service.policy);
        check_slo(v, &service.slo);
        if let Some(cache) = &service.policy.cache {
            v.report(
                "spec::misplaced-cache",
                cache.span.clone(),
                "service-wide cache",
                "`cache` is set per RPC, not per service",
                "move it to the reads that may be cached: rpc.<Name> = { cache = \"5m\" }",
            );
        }
        let Some(proto) = v.loaded.protos.service(&service.proto_name()).cloned() else { continue };
        check_methods(v, &proto);
        check_rpc_policies(v, service, &proto);
        super::per_id::check_per_id(v, service, &proto);
    }
}

/// What nova can generate: unary RPCs whose request and response are messages of the
/// service's own package.
fn check_methods(v: &mut Validator<'_>, proto: &ProtoServiceInfo) {
    for method in &proto.methods {
        if method.streaming {
            v.report_proto(
                &proto.file,
                "spec::streaming-rpc",
                method.span.clone(),
                "streaming",
                format!("`{}` is a streaming RPC", method.name),
                "nova generates unary RPCs only; page through results with page_token instead",
            );
        }
        let package_prefix = format!(".{}.", proto.package);
        for ty in [&method.input_type, &method.output_type] {
            let local = ty.strip_prefix(&package_prefix).is_some_and(|rest| !rest.contains('.'));
            if !local && ty != ".google.protobuf.Empty" {
                v.report_proto(
                    &proto.file,
                    "spec::foreign-message-type",
                    method.span.clone(),
                    "request and response must be local",
                    format!("`{}` uses `{}`, which is not a top-level message of package {}", method.name, ty.trim_start_matches('.'), proto.package),
                    "declare a request and a response message for each RPC in the service's own package (fields may use other types)",
                );
            }
        }
    }
}

/// Each `rpc.<Name>` policy names an RPC of the proto service and fits it (a cache only on a read).
fn check_rpc_policies(v: &mut Validator<'_>, service: &RawService, proto: &ProtoServiceInfo) {
    let method_names: Vec<&str> = proto.methods.iter().map(|m| m.name.as_str()).collect();
    for rpc in &service.rpcs {
        check_policy_values(v, &rpc.policy);
        check_slo(v, &rpc.slo);
        let Some(method) = proto.methods.iter().find(|m| m.name == rpc.name.value) else {
            let help = match closest(&rpc.name.value, &method_names) {
                Some(best) => format!("did you mean `{best}`? RPCs of {}: {}", proto.full_name(), method_names.join(", ")),
                None => format!("RPCs of {}: {}", proto.full_name(), method_names.join(", ")),
            };
            v.report(
                "spec::unknown-rpc",
                rpc.name.span.clone(),
                "not in the proto",
                format!("`{}` is not an RPC of {}", rpc.name.value, proto.full_name()),
                help,
            );
            continue;
        };
        check_cache_options(v, rpc, &method.input_type);
        check_fail_closed(v, rpc);
        if let Some(cache) = &rpc.policy.cache
            && method.idempotency != Idempotency::NoSideEffects
        {
            let file = v.loaded.protos.sources.get(&proto.file).map(|f| f.location(method.span.start)).unwrap_or_else(|| proto.file.clone());
            v.report(
                        "spec::cache-on-write",
                        cache.span.clone(),
                        "cached, but not a read",
                        format!("`{}` is cached but its proto does not mark it `NO_SIDE_EFFECTS`", rpc.name.value),
                        format!(
                            "only reads can be cached: if `{}` has no side effects, add `option idempotency_level = NO_SIDE_EFFECTS;` to it at {file}; otherwise remove `cache`",
                            rpc.name.value
                        ),
                    );
        }
    }
}

/// `stale_if_error` and `entity` refine a cache policy, so they need one; `entity` must name a
/// string field of the request.
fn check_cache_options(v: &mut Validator<'_>, rpc: &crate::raw::RawRpc, input_type: &str) {
    let cached = rpc.policy.cache.is_some();
    if let (Some(stale), false) = (&rpc.policy.stale_if_error, cached) {
        v.report(
            "spec::stale-without-cache",
            stale.span.clone(),
            "nothing cached to serve",
            format!("`{}` sets `stale_if_error` but is not cached", rpc.name.value),
            "add `cache = \"<ttl>\"` to the RPC, or remove `stale_if_error`",
        );
    }
    let Some(entity) = &rpc.policy.entity else { return };
    if !cached {
        v.report(
            "spec::entity-without-cache",
            entity.span.clone(),
            "nothing cached to invalidate",
            format!("`{}` names an `entity` but is not cached", rpc.name.value),
            "`entity` says which request field identifies what a cached response is about; add `cache` or remove it",
        );
        return;
    }
    if entity_field(&v.loaded.protos, input_type, &entity.value).is_none() {
        let names: Vec<String> = v
            .loaded
            .protos
            .message(input_type)
            .map(|m| {
                m.field.iter().filter(|f| entity_field(&v.loaded.protos, input_type, f.name()).is_some()).map(|f| f.name().to_string()).collect()
            })
            .unwrap_or_default();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let message = input_type.trim_start_matches('.');
        let help = match closest(&entity.value, &names) {
            Some(best) => format!("did you mean `{best}`? Plain string fields of {message}: {}", names.join(", ")),
            None if names.is_empty() => format!("{message} has no plain string field; add one that holds the id"),
            None => format!("plain string fields of {message}: {}", names.join(", ")),
        };
        v.report(
            "spec::unknown-entity-field",
            entity.span.clone(),
            "not a plain string field of the request",
            format!("`{}` is not a `string` or `repeated string` field of {message} outside any oneof and not `optional`", entity.value),
            help,
        );
    }
}

/// A fail-closed RPC must never answer from old data, so it cannot also ask for a stale window.
fn check_fail_closed(v: &mut Validator<'_>, rpc: &crate::raw::RawRpc) {
    let (Some(fail_closed), Some(stale)) = (&rpc.policy.fail_closed, &rpc.policy.stale_if_error) else { return };
    if fail_closed.value {
        v.report(
            "spec::fail-closed-with-stale",
            stale.span.clone(),
            "contradicts `fail_closed = true`",
            format!("`{}` is `fail_closed` but allows serving stale answers for `stale_if_error`", rpc.name.value),
            "a fail-closed RPC (an authorization decision) must fail when its owner cannot answer: remove `stale_if_error` from this line (inherited windows are ignored for it)",
        );
    }
}

/// Whether `field` of the message `message_type` holds ids: `Some(repeated)` for a `string` or
/// `repeated string` field outside any oneof, `None` otherwise.
pub fn entity_field(protos: &crate::load::ProtoSet, message_type: &str, field: &str) -> Option<bool> {
    use prost_types::field_descriptor_proto::{Label, Type};
    let field = protos.message(message_type)?.field.iter().find(|f| f.name() == field)?;
    // A oneof member or a proto3 `optional` field is an `Option` in Rust: not a plain id.
    let plain = field.oneof_index.is_none() && !field.proto3_optional();
    (plain && field.r#type() == Type::String).then(|| field.label() == Label::Repeated)
}

fn check_positive(v: &mut Validator<'_>, value: &Option<Located<Duration>>, what: &str) {
    if let Some(d) = value
        && d.value.is_zero()
    {
        v.report(
            "spec::bad-value",
            d.span.clone(),
            "zero",
            format!("`{what}` must be longer than zero"),
            format!("give `{what}` a positive duration such as \"250ms\""),
        );
    }
}

fn check_policy_values(v: &mut Validator<'_>, policy: &RawPolicy) {
    check_positive(v, &policy.deadline, "deadline");
    check_positive(v, &policy.cache, "cache");
    let Some(Located { value: RawRetry::Enabled(retry), .. }) = &policy.retry else { return };
    check_positive(v, &retry.initial_backoff, "initial_backoff");
    check_positive(v, &retry.max_backoff, "max_backoff");
    if let Some(attempts) = &retry.max_attempts
        && !(2..=5).contains(&attempts.value)
    {
        v.report(
            "spec::bad-value",
            attempts.span.clone(),
            "out of range",
            format!("`max_attempts` is {}, but must be between 2 and 5", attempts.value),
            "gRFC A6 caps attempts at 5 (the first call included); write `retry = false` for no retries",
        );
    }
    if let Some(multiplier) = &retry.multiplier
        && multiplier.value < 1.0
    {
        v.report(
            "spec::bad-value",
            multiplier.span.clone(),
            "below 1",
            "`multiplier` must be at least 1.0",
            "backoff grows by this factor after each attempt, e.g. 2.0",
        );
    }
    if let (Some(initial), Some(max)) = (&retry.initial_backoff, &retry.max_backoff)
        && max.value < initial.value
    {
        v.report(
            "spec::bad-value",
            max.span.clone(),
            "shorter than initial_backoff",
            "`max_backoff` is shorter than `initial_backoff`",
            "make max_backoff at least initial_backoff",
        );
    }
}

/// The objectives must be measurable by the runtime's histogram and leave room for the
/// burn-rate alerts (a fast burn is 14.4 times the error budget, which must stay below 100 %).
fn check_slo(v: &mut Validator<'_>, slo: &RawSlo) {
    check_positive(v, &slo.p95, "p95");
    if let Some(p95) = &slo.p95
        && (p95.value < Duration::from_millis(1) || p95.value > Duration::from_millis(2500))
    {
        v.report(
            "spec::bad-value",
            p95.span.clone(),
            "not measurable",
            "`p95` must lie between 1ms and 2.5s: the latency histogram's buckets (nova_runtime::metrics::LATENCY_BUCKETS) cannot resolve a quantile outside",
            "use e.g. \"100ms\"",
        );
    }
    if let Some(rate) = &slo.error_rate
        && !(rate.value > 0.0 && rate.value <= 5.0)
    {
        v.report(
            "spec::bad-value",
            rate.span.clone(),
            "out of range",
            "`error_rate` must be above 0% and at most 5%: the fast burn-rate alert fires at 14.4 times the error budget",
            "use e.g. \"1%\" or \"0.1%\"",
        );
    }
    if let Some(wait) = &slo.alert_for
        && (wait.value < Duration::from_secs(60) || wait.value.subsec_nanos() != 0 || !wait.value.as_secs().is_multiple_of(60))
    {
        v.report(
            "spec::bad-value",
            wait.span.clone(),
            "not whole minutes",
            "`for` must be a whole number of minutes, at least 1m",
            "use e.g. \"5m\"",
        );
    }
    if let Some(severity) = &slo.severity
        && (severity.value.is_empty() || !severity.value.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
        v.report(
            "spec::bad-value",
            severity.span.clone(),
            "not a plain label",
            "`severity` must be a lower-case word",
            "use e.g. \"page\" or \"ticket\"",
        );
    }
}
