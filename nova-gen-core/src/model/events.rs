//! The events part of the model: what each service publishes and consumes, the cascades its
//! logical references ask for, and the tables `nova_runtime::events` keeps in its database.

use crate::ir::{
    Cascade, Column, ColumnType, ConsumedEvent, DefaultValue, Event, Events, Index, IndexColumn, OnDelete, Reference, ScalarType, Service,
    Subscription, Table,
};
use crate::raw::{RawSpec, split_consumed, split_published};

use super::ModelError;

/// Fills every service's [`Events`] and adds its plumbing tables. Runs after the tables are
/// built: events name tables and key columns.
pub fn link_events(raw: &RawSpec, services: &mut [Service]) -> Result<(), ModelError> {
    let mut published: Vec<Vec<Event>> = Vec::new();
    for service in services.iter() {
        let raw_service =
            raw.services.iter().find(|s| s.name.value == service.name).ok_or_else(|| ModelError(format!("service {} vanished", service.name)))?;
        let mut events = Vec::new();
        for entry in &raw_service.publishes {
            let (table, name, message) = split_published(&entry.value).ok_or_else(|| ModelError(format!("bad event {}", entry.value)))?;
            events.push(event_of(service, table, name, message.map(str::to_string))?);
        }
        published.push(events);
    }
    let subscriptions: Vec<Vec<Subscription>> =
        services.iter().map(|service| subscriptions_of(raw, services, &published, service)).collect::<Result<_, _>>()?;
    for ((service, publishes), consumes) in services.iter_mut().zip(published).zip(subscriptions) {
        service.events = Events { publishes, consumes };
        service.tables.extend(plumbing_tables(&service.events));
    }
    Ok(())
}

fn event_of(service: &Service, table: &str, name: &str, message: Option<String>) -> Result<Event, ModelError> {
    let owned = service.table(table).ok_or_else(|| ModelError(format!("{}.{table} is no table", service.name)))?;
    let [key] = owned.primary_key.as_slice() else { return Err(ModelError(format!("{}.{table} has no single-column key", service.name))) };
    let key = owned.column(key).cloned().ok_or_else(|| ModelError(format!("{}.{table}.{key} is no column", service.name)))?;
    Ok(Event { table: table.to_string(), name: name.to_string(), message, key })
}

/// The events `service` consumes, per publisher: its `consumes` list, plus the deletions its
/// `cascade` / `set null` logical references follow.
fn subscriptions_of(raw: &RawSpec, services: &[Service], published: &[Vec<Event>], service: &Service) -> Result<Vec<Subscription>, ModelError> {
    let raw_service =
        raw.services.iter().find(|s| s.name.value == service.name).ok_or_else(|| ModelError(format!("service {} vanished", service.name)))?;
    // (publisher, table, event) in first-mention order.
    let mut wanted: Vec<(String, String, String)> = Vec::new();
    let mut want = |key: (String, String, String)| {
        if !wanted.contains(&key) {
            wanted.push(key);
        }
    };
    for entry in &raw_service.consumes {
        let (publisher, table, event) = split_consumed(&entry.value).ok_or_else(|| ModelError(format!("bad consumed event {}", entry.value)))?;
        want((publisher.to_string(), table.to_string(), event.to_string()));
    }
    for table in service.tables.iter().rev() {
        for column in &table.columns {
            if let Some(Reference::Remote { service: owner, table: target, on_delete: OnDelete::Cascade | OnDelete::SetNull, .. }) = &column.reference
            {
                want((owner.clone(), target.clone(), "deleted".to_string()));
            }
        }
    }
    let mut subscriptions: Vec<Subscription> = Vec::new();
    for (publisher_name, table, name) in wanted {
        let index =
            services.iter().position(|s| s.name == publisher_name).ok_or_else(|| ModelError(format!("unknown publisher {publisher_name}")))?;
        let event = published[index]
            .iter()
            .find(|e| e.table == table && e.name == name)
            .cloned()
            .ok_or_else(|| ModelError(format!("{publisher_name} does not publish {table}.{name}")))?;
        let cascades = cascades_of(service, &publisher_name, &event);
        let consumed = ConsumedEvent { event, cascades };
        match subscriptions.iter_mut().find(|s| s.publisher_name == publisher_name) {
            Some(subscription) => subscription.events.push(consumed),
            None => subscriptions.push(Subscription { publisher: services[index].id, publisher_name, events: vec![consumed] }),
        }
    }
    subscriptions.sort_by(|a, b| a.publisher_name.cmp(&b.publisher_name));
    Ok(subscriptions)
}

/// For a `deleted` event: the consumer's columns referring to the deleted table with an
/// action, children (later tables) first, so a local foreign key never blocks a delete.
fn cascades_of(service: &Service, publisher: &str, event: &Event) -> Vec<Cascade> {
    if event.name != "deleted" {
        return Vec::new();
    }
    let mut cascades = Vec::new();
    for table in service.tables.iter().rev() {
        for column in &table.columns {
            if let Some(Reference::Remote { service: owner, table: target, on_delete, .. }) = &column.reference
                && owner == publisher
                && *target == event.table
                && matches!(on_delete, OnDelete::Cascade | OnDelete::SetNull)
            {
                cascades.push(Cascade { table: table.name.clone(), column: column.name.clone(), action: *on_delete });
            }
        }
    }
    cascades
}

fn column(name: &str, ty: ScalarType, nullable: bool, default: Option<DefaultValue>, doc: &str) -> Column {
    Column {
        name: name.to_string(),
        ty: ColumnType::Scalar(ty),
        nullable,
        default,
        reference: None,
        doc: Some(doc.to_string()),
        enumeration: None,
        generated: None,
        identity: false,
    }
}

fn table(name: &str, doc: &str, columns: Vec<Column>, primary_key: &[&str], indexes: Vec<Index>) -> Table {
    Table {
        name: name.to_string(),
        doc: Some(doc.to_string()),
        columns,
        primary_key: primary_key.iter().map(|c| c.to_string()).collect(),
        uniques: Vec::new(),
        indexes,
        version_column: None,
        counters: Vec::new(),
        touch_column: None,
        immutable: Vec::new(),
        append_only: false,
        checks: Vec::new(),
        soft_delete: false,
        idempotency_key: None,
        foreign_keys: Vec::new(),
    }
}

/// The tables `nova_runtime::events` reads and writes (its SQL names these columns).
fn plumbing_tables(events: &Events) -> Vec<Table> {
    let now = || Some(DefaultValue::Expression("now()".to_string()));
    let mut tables = Vec::new();
    if !events.publishes.is_empty() {
        let mut seq = column("seq", ScalarType::BigInt, false, None, "Commit-independent order of the rows; the relay publishes in it.");
        seq.identity = true;
        tables.push(table(
            "nova_outbox",
            "Events written with the change they describe, until the relay has published them (nova_runtime::events::relay).",
            vec![
                seq,
                column("event_id", ScalarType::Uuid, false, None, "UUIDv7; JetStream's Nats-Msg-Id."),
                column("subject", ScalarType::Text, false, None, "nova.<service>.<table>.<event>"),
                column("aggregate", ScalarType::Text, false, None, "<service>.<table>"),
                column("aggregate_id", ScalarType::Text, false, None, "The row's key as text."),
                column("version", ScalarType::BigInt, false, None, "The aggregate's event count."),
                column("envelope", ScalarType::Bytea, false, None, "nova_runtime::events::Envelope, protobuf."),
                column("created_at", ScalarType::Timestamptz, false, now(), "When the change committed."),
            ],
            &["seq"],
            Vec::new(),
        ));
        tables.push(table(
            "nova_aggregate_versions",
            "Each aggregate's last event version; its row lock orders two writers of one aggregate.",
            vec![
                column("aggregate", ScalarType::Text, false, None, "<service>.<table>"),
                column("aggregate_id", ScalarType::Text, false, None, "The row's key as text."),
                column("version", ScalarType::BigInt, false, None, "The last version written."),
            ],
            &["aggregate", "aggregate_id"],
            Vec::new(),
        ));
    }
    if !events.consumes.is_empty() {
        tables.push(table(
            "nova_event_inbox",
            "Events this service has handled: a redelivery finds its row and has no effect.",
            vec![
                column("consumer", ScalarType::Text, false, None, "The consuming service."),
                column("event_id", ScalarType::Uuid, false, None, "The event's id."),
                column("handled_at", ScalarType::Timestamptz, false, now(), "When it was applied (old rows are pruned)."),
            ],
            &["consumer", "event_id"],
            vec![Index::plain(vec![IndexColumn { name: "handled_at".to_string(), descending: false, expression: false }])],
        ));
        tables.push(table(
            "nova_consumed_versions",
            "The newest event version applied per aggregate: an older event is acknowledged without effect.",
            vec![
                column("aggregate", ScalarType::Text, false, None, "<service>.<table> of the publisher."),
                column("aggregate_id", ScalarType::Text, false, None, "The row's key as text."),
                column("version", ScalarType::BigInt, false, None, "The newest version applied."),
            ],
            &["aggregate", "aggregate_id"],
            Vec::new(),
        ));
    }
    tables
}
