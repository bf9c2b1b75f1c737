//! `checks_users = true` on a service: it asks the token issuer whether users exist and are
//! active, through a generated check (see `emit::users`). The issuer's API must then have the
//! shape that check calls: `GetUser` and `GetUsersByIds` answering a `User` message with a
//! string `id` and a `status` enum that has an `…_ACTIVE` and a `…_DELETED` value.
//!
//! [`directory`] is the one place that reads that shape: validation reports what is missing,
//! the model keeps what it found for the emitter.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FieldDescriptorProto};

use super::Validator;
use crate::ir::UserDirectory;
use crate::load::ProtoSet;
use crate::load::protos::{ProtoServiceInfo, TypeDescriptor};

/// The issuer's user lookups, found in its protos; `Err` says what is missing.
pub(crate) fn directory(protos: &ProtoSet, issuer: &ProtoServiceInfo) -> Result<UserDirectory, String> {
    let package = format!(".{}.", issuer.package);
    let local = |type_name: &str| type_name.strip_prefix(&package).filter(|name| !name.contains('.')).map(str::to_string);
    let method = |name: &str| {
        issuer.methods.iter().find(|m| m.name == name && !m.streaming).ok_or_else(|| format!("`{}` has no unary rpc `{name}`", issuer.full_name()))
    };
    let get_one = method("GetUser")?;
    let get_many = method("GetUsersByIds")?;
    let field = |message: &str, field: &str, repeated: bool, kind: Type| -> Result<FieldDescriptorProto, String> {
        let found = protos.message(message).and_then(|m: &DescriptorProto| m.field.iter().find(|f| f.name() == field));
        let wanted = |f: &&FieldDescriptorProto| f.r#type() == kind && (f.label() == Label::Repeated) == repeated;
        found.filter(wanted).cloned().ok_or_else(|| {
            let shape = if repeated { "repeated " } else { "" };
            format!("`{}` needs a {shape}{} field `{field}`", message.trim_start_matches('.'), type_word(kind))
        })
    };
    field(&get_one.input_type, "user_id", false, Type::String)?;
    field(&get_many.input_type, "user_ids", true, Type::String)?;
    let user_type = field(&get_one.output_type, "user", false, Type::Message)?.type_name().to_string();
    let many_type = field(&get_many.output_type, "users", true, Type::Message)?.type_name().to_string();
    if many_type != user_type {
        return Err(format!("`GetUser` and `GetUsersByIds` must answer the same user message (`{user_type}`, `{many_type}`)"));
    }
    field(&user_type, "id", false, Type::String)?;
    let status_type = field(&user_type, "status", false, Type::Enum)?.type_name().to_string();
    let Some(TypeDescriptor::Enum(status)) = protos.types.get(&status_type) else {
        return Err(format!("the enum `{status_type}` is not declared"));
    };
    let value = |suffix: &str| {
        status
            .value
            .iter()
            .map(|v| v.name().to_string())
            .find(|name| name.ends_with(suffix))
            .ok_or_else(|| format!("the enum `{}` needs a value ending in `{suffix}`", status_type.trim_start_matches('.')))
    };
    let (active, deleted) = (value("_ACTIVE")?, value("_DELETED")?);
    let not_local = |t: &str| format!("`{}` must be declared at the top level of `{}`", t.trim_start_matches('.'), issuer.package);
    Ok(UserDirectory {
        get_one_request: local(&get_one.input_type).ok_or_else(|| not_local(&get_one.input_type))?,
        get_many_request: local(&get_many.input_type).ok_or_else(|| not_local(&get_many.input_type))?,
        user: local(&user_type).ok_or_else(|| not_local(&user_type))?,
        status: local(&status_type).ok_or_else(|| not_local(&status_type))?,
        active,
        deleted,
    })
}

fn type_word(kind: Type) -> &'static str {
    match kind {
        Type::String => "string",
        Type::Message => "message",
        Type::Enum => "enum",
        _ => "scalar",
    }
}

pub(crate) fn check_user_checks(v: &mut Validator<'_>) {
    let spec = &v.loaded.ownership;
    let issuer = spec.defaults.token_issuer.as_ref();
    for service in &spec.services {
        let Some(flag) = service.checks_users.as_ref().filter(|flag| flag.value) else { continue };
        let name = &service.name.value;
        let Some(issuer) = issuer else {
            v.report(
                "spec::user-check-without-issuer",
                flag.span.clone(),
                "no token issuer",
                format!("`{name}` checks users, but [defaults] names no `token_issuer` to ask"),
                "add `token_issuer = \"<service>\"` to [defaults], or remove `checks_users`",
            );
            continue;
        };
        if issuer.value == *name {
            v.report(
                "spec::user-check-on-issuer",
                flag.span.clone(),
                "the issuer itself",
                format!("`{name}` is the token issuer: it reads its own users"),
                "remove `checks_users` here",
            );
            continue;
        }
        if !service.calls.iter().any(|c| c.value == issuer.value) {
            v.report(
                "spec::user-check-not-called",
                flag.span.clone(),
                "issuer not in `calls`",
                format!("`{name}` checks users with `{}` but does not list it in `calls`", issuer.value),
                format!("add \"{}\" to the `calls` of `{name}`", issuer.value),
            );
            continue;
        }
        let issuer_proto = spec.services.iter().find(|s| s.name.value == issuer.value).map(|s| s.proto_name());
        let Some(issuer_proto) = issuer_proto.and_then(|p| v.loaded.protos.service(&p)) else { continue };
        if let Err(missing) = directory(&v.loaded.protos, issuer_proto) {
            v.report(
                "spec::user-check-issuer-api",
                flag.span.clone(),
                "the issuer's API cannot answer it",
                format!("`{name}` checks users with `{}`, but {missing}", issuer.value),
                "give the issuer's proto GetUser(user_id) -> {User user} and GetUsersByIds(repeated user_ids) -> {repeated User users}, User having `string id` and a `status` enum with ..._ACTIVE and ..._DELETED, or remove `checks_users`",
            );
        }
    }
}
