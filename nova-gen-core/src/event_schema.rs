//! The wire schema of every published event, and whether a new one still reads as the old.
//!
//! `generated/ops/events.json` records, per event (`<publisher>.<table>.<event>`), the fields
//! of the message it carries (or that it carries none). It is generated like everything else,
//! so the copy in the tree is the schema the last generation (the last commit, in CI) gave the
//! consumers running now. Before writing a new one, `generate` and `check` compare: a consumer
//! built against the old message must still decode every new event, so a field may be added or
//! renamed, but not retyped, made repeated (or not), nor removed without reserving its number,
//! and an event may not lose its message. Such a change is refused, located at the event's
//! `publishes` entry; the way to make it is a new event (`posts.changed_v2`) published beside
//! the old one until its consumers moved.

use std::collections::BTreeMap;

use prost_types::DescriptorProto;
use prost_types::field_descriptor_proto::{Label, Type};
use serde::{Deserialize, Serialize};

use crate::load::ProtoSet;

/// Where the schemas are generated, relative to the repository root.
pub const FILE: &str = "generated/ops/events.json";

/// One field as the wire sees it (the name is for people; renaming is compatible).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub number: i32,
    pub name: String,
    /// `bool`, `string`, `int64`, ... or the fully qualified message or enum name.
    #[serde(rename = "type")]
    pub ty: String,
    pub repeated: bool,
}

/// The message an event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Fully qualified, without the leading dot.
    pub name: String,
    pub fields: Vec<Field>,
    /// Field numbers the message reserves (removed fields that must not come back).
    pub reserved: Vec<i32>,
}

/// Every published event's message (`None`: the event carries only its row's key).
pub type Schemas = BTreeMap<String, Option<Message>>;

/// The file: its generated-by line, then the schemas.
#[derive(Debug, Serialize, Deserialize)]
struct SchemaFile {
    #[serde(rename = "_generated")]
    generated: String,
    events: Schemas,
}

/// The schema of the message `full_name` (`.pkg.Message`) in `protos`, if there is one.
pub fn message_schema(protos: &ProtoSet, full_name: &str) -> Option<Message> {
    let message: &DescriptorProto = protos.message(full_name)?;
    let fields = message
        .field
        .iter()
        .map(|f| Field {
            number: f.number(),
            name: f.name().to_string(),
            ty: match f.r#type() {
                Type::Message | Type::Enum | Type::Group => f.type_name().trim_start_matches('.').to_string(),
                scalar => scalar.as_str_name().trim_start_matches("TYPE_").to_ascii_lowercase(),
            },
            repeated: f.label() == Label::Repeated,
        })
        .collect();
    let reserved = message.reserved_range.iter().flat_map(|r| r.start()..r.end()).collect();
    Some(Message { name: full_name.trim_start_matches('.').to_string(), fields, reserved })
}

/// The ways `new` no longer reads as `old` for a consumer built against `old`, one sentence
/// each; empty when it is compatible.
pub fn breaking_changes(old: &Option<Message>, new: &Option<Message>) -> Vec<String> {
    let (old, new) = match (old, new) {
        (None, _) => return Vec::new(),
        (Some(old), None) => return vec![format!("it no longer carries `{}`, which its consumers decode", old.name)],
        (Some(old), Some(new)) => (old, new),
    };
    let mut changes = Vec::new();
    for before in &old.fields {
        match new.fields.iter().find(|f| f.number == before.number) {
            Some(after) if after.ty != before.ty => {
                changes.push(format!("field {} (`{}`) changed type from {} to {}", before.number, before.name, before.ty, after.ty))
            }
            Some(after) if after.repeated != before.repeated => changes.push(format!(
                "field {} (`{}`) changed from {} to {}",
                before.number,
                before.name,
                if before.repeated { "repeated" } else { "singular" },
                if after.repeated { "repeated" } else { "singular" }
            )),
            Some(_) => {}
            None if new.reserved.contains(&before.number) => {}
            None => changes.push(format!(
                "field {} (`{}`) was removed without `reserved {}`, so a later field could reuse its number",
                before.number, before.name, before.number
            )),
        }
    }
    changes
}

/// The schemas of every event `spec` publishes, as `generated/ops/events.json` holds them.
pub fn current(spec: &crate::ir::Spec, protos: &ProtoSet) -> Schemas {
    let mut schemas = Schemas::new();
    for service in &spec.services {
        let package = service.proto.package.as_str();
        for event in &service.events.publishes {
            let message = event.message.as_ref().and_then(|m| message_schema(protos, &format!(".{package}.{m}")));
            schemas.insert(format!("{}.{}", service.name, event.qualified()), message);
        }
    }
    schemas
}

/// `generated/ops/events.json`.
///
/// # Errors
///
/// Serialisation failed (it cannot, for these types).
pub fn render(schemas: &Schemas) -> Result<String, String> {
    let file = SchemaFile {
        generated: format!(
            "@generated by nova-gen from specs/ownership.toml and specs/proto: the schema of each published event, which the next generation must stay readable as. Do not edit: change the specs and regenerate with `{}`.",
            crate::emit::REGENERATE
        ),
        events: schemas.clone(),
    };
    serde_json::to_string_pretty(&file).map(|text| text + "\n").map_err(|e| format!("{FILE}: {e}"))
}

/// `generated/ops/events.json` as it is in the tree; `Ok(None)` when there is none yet.
///
/// # Errors
///
/// The file exists but does not parse (a generated file edited by hand).
pub fn read(root: &std::path::Path) -> Result<Option<Schemas>, String> {
    let path = root.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<SchemaFile>(&text)
            .map(|file| Some(file.events))
            .map_err(|e| format!("{FILE} does not parse ({e}): restore it from git; it is generated")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {FILE}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: i32, name: &str, ty: &str, repeated: bool) -> Field {
        Field { number, name: name.to_string(), ty: ty.to_string(), repeated }
    }

    fn message(fields: Vec<Field>, reserved: Vec<i32>) -> Option<Message> {
        Some(Message { name: "nova.x.v1.Changed".to_string(), fields, reserved })
    }

    #[test]
    fn additions_and_renames_are_compatible() {
        let old = message(vec![field(1, "body", "string", false)], vec![]);
        let new = message(vec![field(1, "text", "string", false), field(2, "tags", "string", true)], vec![]);
        assert!(breaking_changes(&old, &new).is_empty());
        assert!(breaking_changes(&None, &new).is_empty(), "gaining a message breaks nobody");
    }

    #[test]
    fn retyping_relabelling_unreserved_removal_and_a_lost_message_break() {
        let old = message(vec![field(1, "body", "string", false), field(2, "tags", "string", true), field(3, "score", "int64", false)], vec![]);
        let new = message(vec![field(1, "body", "bytes", false), field(2, "tags", "string", false)], vec![]);
        let changes = breaking_changes(&old, &new);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(changes[0].contains("field 1 (`body`) changed type from string to bytes"), "{changes:?}");
        assert!(changes[1].contains("from repeated to singular"), "{changes:?}");
        assert!(changes[2].contains("field 3 (`score`) was removed without `reserved 3`"), "{changes:?}");
        let reserved = message(vec![field(1, "body", "string", false), field(2, "tags", "string", true)], vec![3]);
        assert!(breaking_changes(&old, &reserved).is_empty(), "a removed field whose number is reserved is compatible");
        assert_eq!(breaking_changes(&old, &None).len(), 1);
    }
}
