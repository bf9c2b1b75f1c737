//! `publishes`, `consumes` and the `cascade` / `set null` of logical references: every event
//! is about a table of its publisher with a one-column key and, when it carries a message, a
//! message of the publisher's package; every consumed event is published; every followed
//! deletion is published; events do not flow in a cycle between services (each service's
//! handler could publish again, and a change would chase itself around the system).

use std::collections::BTreeMap;

use crate::ir::OnDelete;
use crate::raw::{RawService, split_consumed, split_published};
use crate::validate::Validator;

pub(crate) fn check_events(v: &mut Validator<'_>) {
    let spec = &v.loaded.ownership;
    let mut published: BTreeMap<(String, String, String), ()> = BTreeMap::new();
    for service in &spec.services {
        for table in &service.tables {
            if table.name.value.starts_with(crate::ir::plumbing_table_prefix()) {
                v.report(
                    "spec::reserved-table-name",
                    table.name.span.clone(),
                    "reserved prefix",
                    format!("table `{}` starts with `nova_`, which names the tables nova-gen adds for events", table.name.value),
                    "rename the table",
                );
            }
        }
        let events_declared = !service.publishes.is_empty() || !service.consumes.is_empty();
        if events_declared && service.tables.is_empty() {
            let span = service.publishes.first().or(service.consumes.first()).map(|e| e.span.clone()).unwrap_or_else(|| service.name.span.clone());
            v.report(
                "spec::events-without-database",
                span,
                "no database",
                format!("`{}` owns no table, so it has no database for an outbox or an inbox", service.name.value),
                "give the service a table, or remove `publishes` / `consumes`",
            );
        }
        for entry in &service.publishes {
            if let Some(key) = check_published(v, service, entry)
                && published.insert(key, ()).is_some()
            {
                v.report("spec::duplicate-event", entry.span.clone(), "again", format!("`{}` is published twice", entry.value), "remove one");
            }
        }
    }
    let mut edges: Vec<(String, String)> = Vec::new();
    for service in &spec.services {
        for entry in &service.consumes {
            let Some((publisher, table, event)) = split_consumed(&entry.value) else {
                v.report(
                    "spec::bad-event",
                    entry.span.clone(),
                    "not <service>.<table>.<event>",
                    format!("`{}` does not name an event", entry.value),
                    "write e.g. \"auth.users.deleted\"",
                );
                continue;
            };
            if publisher == service.name.value {
                v.report(
                    "spec::self-consumed-event",
                    entry.span.clone(),
                    "its own event",
                    format!("`{}` consumes its own event `{}`", service.name.value, entry.value),
                    "do the work in the transaction that publishes it",
                );
                continue;
            }
            if !published.contains_key(&(publisher.to_string(), table.to_string(), event.to_string())) {
                v.report(
                    "spec::unpublished-event",
                    entry.span.clone(),
                    "nobody publishes it",
                    format!("`{}` consumes `{}`, which no service publishes", service.name.value, entry.value),
                    format!("add \"{table}.{event}\" to the `publishes` of `{publisher}`, or remove it here"),
                );
                continue;
            }
            edges.push((publisher.to_string(), service.name.value.clone()));
        }
        for table in &service.tables {
            for column in &table.columns {
                let Some(reference) = &column.decl.reference else { continue };
                let Some(action) = reference.on_delete.as_ref().filter(|a| matches!(a.value, OnDelete::Cascade | OnDelete::SetNull)) else {
                    continue;
                };
                let [owner, target, _] = reference.segments.as_slice() else { continue };
                if owner.value == service.name.value {
                    continue;
                }
                if !published.contains_key(&(owner.value.clone(), target.value.clone(), "deleted".to_string())) {
                    v.report(
                        "spec::cascade-without-event",
                        action.span.clone(),
                        "nobody announces the delete",
                        format!(
                            "`{}.{}` follows deletes of `{}.{}`, but `{}` does not publish `{}.deleted`",
                            table.name.value, column.name.value, owner.value, target.value, owner.value, target.value
                        ),
                        format!("add \"{}.deleted\" to the `publishes` of `{}`", target.value, owner.value),
                    );
                    continue;
                }
                edges.push((owner.value.clone(), service.name.value.clone()));
            }
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        let span = spec
            .services
            .iter()
            .find(|s| s.name.value == cycle[0])
            .map(|s| s.consumes.first().map_or_else(|| s.name.span.clone(), |c| c.span.clone()));
        if let Some(span) = span {
            v.report(
                "spec::event-cycle",
                span,
                "events flow in a cycle",
                format!("events flow in a cycle: {}", cycle.join(" -> ")),
                "break the cycle: one of these services must stop consuming the other's events (call its API instead)",
            );
        }
    }
}

/// Checks one `publishes` entry; its (service, table, event) when it names an event of the
/// service (even if its message is unknown, which is reported here).
fn check_published(v: &mut Validator<'_>, service: &RawService, entry: &crate::source::Located<String>) -> Option<(String, String, String)> {
    let Some((table, event, message)) = split_published(&entry.value) else {
        v.report(
            "spec::bad-event",
            entry.span.clone(),
            "not <table>.<event>[(<Message>)]",
            format!("`{}` does not name an event", entry.value),
            "write e.g. \"users.deleted\" or \"posts.changed(PostDocument)\" (a message of the service's proto package)",
        );
        return None;
    };
    let Some(owned) = service.tables.iter().find(|t| t.name.value == table) else {
        let names: Vec<&str> = service.tables.iter().map(|t| t.name.value.as_str()).collect();
        v.report(
            "spec::unknown-event-table",
            entry.span.clone(),
            "no such table",
            format!("`{}` publishes events of `{table}`, which it does not own", service.name.value),
            format!("events are about the service's own tables: {}", names.join(", ")),
        );
        return None;
    };
    let keys = owned.columns.iter().filter(|c| c.decl.primary_key.is_some()).count();
    if keys != 1 {
        v.report(
            "spec::event-without-key",
            entry.span.clone(),
            "no one-column key",
            format!("`{table}` has a {keys}-column key; an event names its row by one key"),
            "publish events of a table with a one-column primary key",
        );
        return None;
    }
    if let Some(message) = message {
        let proto = service.proto_name();
        let package = proto.rsplit_once('.').map_or("", |(package, _)| package);
        if v.loaded.protos.message(&format!(".{package}.{message}")).is_none() {
            v.report(
                "spec::unknown-event-message",
                entry.span.clone(),
                "no such message",
                format!("`{message}` is not a message of `{package}`"),
                format!("declare `message {message}` in the service's proto, or drop `({message})`"),
            );
            // The event itself is declared: its consumers are not told nobody publishes it.
            return Some((service.name.value.clone(), table.to_string(), event.to_string()));
        }
    }
    check_schema_change(v, service, entry, table, event, message);
    Some((service.name.value.clone(), table.to_string(), event.to_string()))
}

/// Refuses a change of the event's message that its consumers, built against the last
/// generation, could no longer read (see `event_schema`).
fn check_schema_change(
    v: &mut Validator<'_>,
    service: &RawService,
    entry: &crate::source::Located<String>,
    table: &str,
    event: &str,
    message: Option<&str>,
) {
    let key = format!("{}.{table}.{event}", service.name.value);
    let Some(before) = v.loaded.previous_events.as_ref().and_then(|previous| previous.get(&key)) else { return };
    let proto = service.proto_name();
    let package = proto.rsplit_once('.').map_or("", |(package, _)| package);
    let now = message.and_then(|m| crate::event_schema::message_schema(&v.loaded.protos, &format!(".{package}.{m}")));
    let changes = crate::event_schema::breaking_changes(before, &now);
    if changes.is_empty() {
        return;
    }
    v.report(
        "spec::breaking-event-change",
        entry.span.clone(),
        "its consumers could not read it",
        format!("`{key}` changed in a way consumers of the last generation cannot read: {}", changes.join("; ")),
        format!(
            "keep the old field (add new ones, or reserve a removed number); to change the event, publish a new one (e.g. \"{table}.{event}_v2\") beside it until every consumer moved ({} holds the schemas consumers were built with)",
            crate::event_schema::FILE
        ),
    );
}

/// A cycle in the publisher -> consumer graph, as the services along it (first repeated at
/// the end), if there is one.
fn find_cycle(edges: &[(String, String)]) -> Option<Vec<String>> {
    let mut nodes: Vec<&str> = edges.iter().flat_map(|(a, b)| [a.as_str(), b.as_str()]).collect();
    nodes.sort_unstable();
    nodes.dedup();
    fn visit<'a>(node: &'a str, edges: &'a [(String, String)], path: &mut Vec<&'a str>, done: &mut Vec<&'a str>) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            let mut cycle: Vec<String> = path[start..].iter().map(|n| n.to_string()).collect();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(&node) {
            return None;
        }
        path.push(node);
        for (_, next) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(node);
        None
    }
    let mut done = Vec::new();
    nodes.iter().find_map(|node| visit(node, edges, &mut Vec::new(), &mut done))
}
