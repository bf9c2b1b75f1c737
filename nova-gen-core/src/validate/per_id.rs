//! `per_id`: a batch read cached per id, and the single-id read paired with it.
//!
//! The runtime takes a batch read's response apart into one entry per id and puts responses
//! together from entries (`nova_runtime::client::batch`), so the messages must have exactly
//! the shape it assumes; anything else would be lost or invented when answers are merged:
//!
//! - the request holds nothing but the ids (`repeated string`, the RPC's `entity`): another
//!   field would change the answer without changing any id's key;
//! - the response holds nothing but the items (`repeated` of one local message, identified by a
//!   plain string field) and the ids not found (`repeated string`);
//! - the paired single read takes one plain string id and answers one item of the same
//!   message (its NOT_FOUND stands for "missing"), with the same cache, staleness, fail-closed
//!   and access settings as the batch (it reads the batch's entries and is loaded by its calls).
//!
//! The checks here report located errors; [`resolve`] and [`paired_with`] build the IR from a
//! spec that passed them.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto};

use super::Validator;
use crate::ir::{Paired, PerId};
use crate::load::ProtoSet;
use crate::load::protos::ProtoServiceInfo;
use crate::raw::{RawPerId, RawPolicy, RawRpc, RawService};
use crate::source::{Located, Span};

/// Ids per request when `max` is not given: what every nova batch read accepts.
pub const DEFAULT_MAX: u32 = 100;

/// One problem with a `per_id` declaration, located in the spec.
struct Problem {
    code: &'static str,
    span: Span,
    label: &'static str,
    message: String,
    help: String,
}

fn problem(code: &'static str, span: &Span, label: &'static str, message: String, help: impl Into<String>) -> Problem {
    Problem { code, span: span.clone(), label, message, help: help.into() }
}

fn field<'m>(message: &'m DescriptorProto, name: &str) -> Option<&'m FieldDescriptorProto> {
    message.field.iter().find(|f| f.name() == name)
}

/// A field that is a plain value (not in a oneof, not proto3 `optional`).
fn plain(field: &FieldDescriptorProto) -> bool {
    field.oneof_index.is_none() && !field.proto3_optional()
}

fn is_string(field: &FieldDescriptorProto, repeated: bool) -> bool {
    plain(field) && field.r#type() == Type::String && (field.label() == Label::Repeated) == repeated
}

fn short(type_name: &str) -> &str {
    type_name.trim_start_matches('.')
}

/// The IR of a batch read's `per_id`, or the first thing wrong with it.
fn shape(protos: &ProtoSet, rpc: &RawRpc, per_id: &Located<RawPerId>, input: &str, output: &str) -> Result<PerId, Problem> {
    let name = &rpc.name.value;
    let span = &per_id.span;
    let Some(entity) = rpc.policy.entity.as_ref().filter(|_| rpc.policy.cache.is_some()) else {
        return Err(problem(
            "spec::per-id-without-ids",
            span,
            "no ids to cache by",
            format!("`{name}` is cached `per_id` but names no cached `entity`"),
            "a per-id read needs `cache` and `entity` naming its request's `repeated string` field of ids, e.g. entity = \"user_ids\"",
        ));
    };
    let (Some(request), Some(response)) = (protos.message(input), protos.message(output)) else {
        return Err(problem("spec::per-id-shape", span, "unknown messages", format!("`{name}`'s messages are not known"), "check the proto"));
    };
    if !field(request, &entity.value).is_some_and(|f| is_string(f, true)) {
        return Err(problem(
            "spec::per-id-without-ids",
            &entity.span,
            "not a repeated string",
            format!("`{}` is not a `repeated string` field of {}", entity.value, short(input)),
            "a per-id read's entity is the request's list of ids",
        ));
    }
    if let Some(other) = request.field.iter().find(|f| f.name() != entity.value) {
        return Err(problem(
            "spec::per-id-shape",
            span,
            "request holds more than ids",
            format!(
                "{} has the field `{}` besides `{}`: it would change answers without changing any id's cache key",
                short(input),
                other.name(),
                entity.value
            ),
            "cache this read per request (remove `per_id`), or move the field out of the request",
        ));
    }
    let required = |key: &Option<Located<String>>, what: &str| {
        key.clone().ok_or_else(|| {
            problem(
                "spec::per-id-shape",
                span,
                "incomplete",
                format!("`per_id` of `{name}` does not name {what}"),
                "add it, e.g. per_id = { items = \"users\", id = \"id\" }",
            )
        })
    };
    let items = required(&per_id.value.items, "the response's field of items (`items`)")?;
    let id = required(&per_id.value.id, "the items' id field (`id`)")?;
    let Some(items_field) = field(response, &items.value).filter(|f| plain(f) && f.r#type() == Type::Message && f.label() == Label::Repeated) else {
        let fields: Vec<&str> = response.field.iter().map(|f| f.name()).collect();
        return Err(problem(
            "spec::per-id-shape",
            &items.span,
            "not a repeated message field",
            format!("`{}` is not a `repeated` message field of {}", items.value, short(output)),
            format!("fields of {}: {}", short(output), fields.join(", ")),
        ));
    };
    let item_type = items_field.type_name().to_string();
    let local = output.rsplit_once('.').map(|(package, _)| format!("{package}."));
    let item = local.as_deref().and_then(|package| item_type.strip_prefix(package)).filter(|rest| !rest.contains('.'));
    let (Some(item), Some(item_message)) = (item, protos.message(&item_type)) else {
        return Err(problem(
            "spec::per-id-shape",
            &items.span,
            "item message not local",
            format!("the items of `{name}` are {}, not a top-level message of the service's package", short(&item_type)),
            "declare the item message in the service's own package",
        ));
    };
    if !field(item_message, &id.value).is_some_and(|f| is_string(f, false)) {
        return Err(problem(
            "spec::per-id-shape",
            &id.span,
            "not the item's id",
            format!("`{}` is not a plain `string` field of {}", id.value, short(&item_type)),
            "name the item's field that holds the id it was asked by",
        ));
    }
    let missing = per_id.value.missing.as_ref().map_or_else(|| format!("missing_{}", entity.value), |m| m.value.clone());
    let missing_span = per_id.value.missing.as_ref().map_or(span, |m| &m.span);
    if !field(response, &missing).is_some_and(|f| is_string(f, true)) {
        return Err(problem(
            "spec::per-id-shape",
            missing_span,
            "no list of missing ids",
            format!("{} has no `repeated string {missing}` listing the ids not found", short(output)),
            "add it to the response (or name it with `missing = \"...\"`): an id neither found nor listed cannot be cached",
        ));
    }
    if let Some(other) = response.field.iter().find(|f| f.name() != items.value && f.name() != missing) {
        return Err(problem(
            "spec::per-id-shape",
            span,
            "response holds more than items",
            format!("{} has the field `{}` besides `{}` and `{missing}`: merged answers would lose it", short(output), other.name(), items.value),
            "cache this read per request (remove `per_id`), or move the field out of the response",
        ));
    }
    let max = match &per_id.value.max {
        None => DEFAULT_MAX,
        Some(max) => u32::try_from(max.value).ok().filter(|m| (1..=1000).contains(m)).ok_or_else(|| {
            problem(
                "spec::bad-value",
                &max.span,
                "out of range",
                format!("`max` is {}, but must be between 1 and 1000", max.value),
                "the most ids the owner accepts in one request, e.g. 100",
            )
        })?,
    };
    let noun = entity.value.strip_suffix("_ids").unwrap_or(&entity.value).replace('_', " ");
    Ok(PerId {
        ids_field: entity.value.clone(),
        items_field: items.value.clone(),
        item: item.to_string(),
        id_field: id.value.clone(),
        missing_field: missing,
        max,
        noun,
    })
}

/// The settings the two halves of a pairing must share, as written on their lines.
fn shared_settings(policy: &RawPolicy) -> Vec<(&'static str, String)> {
    let text = |value: Option<String>| value.unwrap_or_else(|| "(unset)".to_string());
    vec![
        ("cache", text(policy.cache.as_ref().map(|c| format!("{:?}", c.value)))),
        ("stale_if_error", text(policy.stale_if_error.as_ref().map(|c| format!("{:?}", c.value)))),
        ("fail_closed", text(policy.fail_closed.as_ref().map(|c| c.value.to_string()))),
        ("access", text(policy.access.as_ref().map(|c| c.value.clone()))),
        ("permission", text(policy.permission.as_ref().map(|c| c.value.clone()))),
        ("services", text(policy.services.as_ref().map(|s| s.value.iter().map(|s| s.value.as_str()).collect::<Vec<_>>().join(",")))),
        ("acting", policy.acting.iter().map(|a| a.value.as_str()).collect::<Vec<_>>().join(",")),
        ("shared", text(policy.shared.as_ref().map(|c| c.value.to_string()))),
    ]
}

/// The IR of the single read paired with a batch read, or the first thing wrong with it.
fn pairing(
    protos: &ProtoSet,
    service: &RawService,
    proto: &ProtoServiceInfo,
    batch: &RawRpc,
    per_id: &PerId,
    single: &Located<String>,
) -> Result<Paired, Problem> {
    let Some(method) = proto.methods.iter().find(|m| m.name == single.value) else {
        return Err(problem(
            "spec::per-id-single",
            &single.span,
            "not an RPC here",
            format!("`{}` is not an RPC of {}", single.value, proto.full_name()),
            "name the service's read of one item by id, e.g. single = \"GetUser\"",
        ));
    };
    let line = service.rpcs.iter().find(|r| r.name.value == single.value);
    let policy = line.map(|l| l.policy.clone()).unwrap_or_default();
    if let Some((what, batch_value, single_value)) =
        shared_settings(&batch.policy).into_iter().zip(shared_settings(&policy)).find(|(b, s)| b.1 != s.1).map(|(b, s)| (b.0, b.1, s.1))
    {
        return Err(problem(
            "spec::per-id-single",
            &single.span,
            "settings differ",
            format!(
                "`{}` and `{}` differ in `{what}` ({batch_value} and {single_value}): the single read answers from the batch's entries and is loaded by its calls",
                single.value, batch.name.value
            ),
            format!("give both lines the same `{what}`, or remove `single`"),
        ));
    }
    if !policy.acting.is_empty() {
        return Err(problem(
            "spec::per-id-single",
            &single.span,
            "acting user",
            format!("`{}` binds an acting user: its answers cannot be loaded in another caller's batch", single.value),
            "remove `single`",
        ));
    }
    let (Some(request), Some(response)) = (protos.message(&method.input_type), protos.message(&method.output_type)) else {
        return Err(problem(
            "spec::per-id-single",
            &single.span,
            "unknown messages",
            format!("`{}`'s messages are not known", single.value),
            "check the proto",
        ));
    };
    let [id_field] = request.field.as_slice() else {
        return Err(problem(
            "spec::per-id-single",
            &single.span,
            "request is not one id",
            format!("{} must hold exactly one field, the id", short(&method.input_type)),
            "pair a read whose request is just the id",
        ));
    };
    let [item_field] = response.field.as_slice() else {
        return Err(problem(
            "spec::per-id-single",
            &single.span,
            "response is not one item",
            format!("{} must hold exactly one field, the item", short(&method.output_type)),
            "pair a read whose response is just the item",
        ));
    };
    let same_item = item_field.type_name().rsplit('.').next() == Some(per_id.item.as_str()) && item_field.label() != Label::Repeated;
    if !is_string(id_field, false) || !same_item || item_field.oneof_index.is_some() {
        return Err(problem(
            "spec::per-id-single",
            &single.span,
            "not the same item by id",
            format!(
                "`{}` must take a plain `string` id and answer one {} (it takes `{}` and answers `{}`)",
                single.value,
                per_id.item,
                id_field.name(),
                short(item_field.type_name())
            ),
            "pair the read of one item of the batch's message",
        ));
    }
    Ok(Paired { batch: batch.name.value.clone(), id_field: id_field.name().to_string(), response_field: item_field.name().to_string() })
}

/// Reports every `per_id` problem of `service`'s RPC lines.
pub(crate) fn check_per_id(v: &mut Validator<'_>, service: &RawService, proto: &ProtoServiceInfo) {
    let mut problems = Vec::new();
    let mut singles: Vec<&Located<String>> = Vec::new();
    for rpc in &service.rpcs {
        let (Some(per_id), Some(method)) = (&rpc.policy.per_id, proto.methods.iter().find(|m| m.name == rpc.name.value)) else { continue };
        match shape(&v.loaded.protos, rpc, per_id, &method.input_type, &method.output_type) {
            Err(found) => problems.push(found),
            Ok(batch) => {
                let Some(single) = &per_id.value.single else { continue };
                if let Some(first) = singles.iter().find(|s| s.value == single.value) {
                    problems.push(problem(
                        "spec::per-id-single",
                        &single.span,
                        "paired twice",
                        format!("`{}` is already the `single` of another batch read", first.value),
                        "a single read shares the entries of one batch read",
                    ));
                    continue;
                }
                singles.push(single);
                if let Err(found) = pairing(&v.loaded.protos, service, proto, rpc, &batch, single) {
                    problems.push(found);
                }
            }
        }
    }
    for p in problems {
        v.report(p.code, p.span, p.label, p.message, p.help);
    }
}

/// The `per_id` of the RPC on `line` (messages `input` and `output`), for the IR.
///
/// # Errors
///
/// What is wrong with it (the validator reports it, located, before the IR is built).
pub fn resolve(protos: &ProtoSet, input: &str, output: &str, line: Option<&RawRpc>) -> Result<Option<PerId>, String> {
    let Some((rpc, per_id)) = line.and_then(|rpc| rpc.policy.per_id.as_ref().map(|p| (rpc, p))) else { return Ok(None) };
    shape(protos, rpc, per_id, input, output).map(Some).map_err(|p| p.message)
}

/// The batch read whose `single` is `method` in `service`, if any, for the IR.
///
/// # Errors
///
/// What is wrong with the pairing (the validator reports it, located, first).
pub fn paired_with(protos: &ProtoSet, service: &RawService, proto: &ProtoServiceInfo, method: &str) -> Result<Option<Paired>, String> {
    for rpc in &service.rpcs {
        let Some(per_id) = rpc.policy.per_id.as_ref().filter(|p| p.value.single.as_ref().is_some_and(|s| s.value == method)) else { continue };
        let Some(batch_method) = proto.methods.iter().find(|m| m.name == rpc.name.value) else { continue };
        let batch = shape(protos, rpc, per_id, &batch_method.input_type, &batch_method.output_type).map_err(|p| p.message)?;
        let Some(single) = &per_id.value.single else { continue };
        return pairing(protos, service, proto, rpc, &batch, single).map(Some).map_err(|p| p.message);
    }
    Ok(None)
}
