//! Phase 3, *model*: turns validated specs into the typed IR. Validation has already proved
//! every lookup here succeeds; should one not, the result is an internal error, never a panic.

use std::time::Duration;

use crate::ir::{
    Access, AccessKind, BreakerPolicy, CachePolicy, CallPolicy, Check, Column, DefaultValue, EntityField, EnumValue, Enumeration, ForeignKey, Index,
    IndexColumn, MessageType, OnDelete, ProtoEnum, ProtoService, Reference, RetryBudget, RetryPolicy, Rpc, Service, ServiceId, SharedPackage, Slo,
    Spec, Table, TargetPolicy,
};
use crate::load::Loaded;
use crate::load::ProtoSet;
use crate::load::migrations::History;
use crate::load::protos::ProtoServiceInfo;
use crate::raw::RawTargetPolicy;
use crate::raw::{RawColumnList, RawDefaults, RawPolicy, RawRetry, RawService, RawSlo, RawTable};

/// Built-in policy when neither `[defaults]`, the service nor the RPC says otherwise.
pub const BUILTIN_DEADLINE: Duration = Duration::from_secs(1);
pub const BUILTIN_RETRY: RetryPolicy =
    RetryPolicy { max_attempts: 3, initial_backoff: Duration::from_millis(50), max_backoff: Duration::from_millis(500), multiplier: 2.0 };
pub const BUILTIN_P95: Duration = Duration::from_millis(100);
pub const BUILTIN_ERROR_RATE_PERCENT: f64 = 1.0;
/// The seed's alerts: "P95 > 100 ms for 5 m", "error rate > 1 % for 5 m".
pub const BUILTIN_ALERT_FOR: Duration = Duration::from_secs(300);
pub const BUILTIN_SEVERITY: &str = "page";
pub const BUILTIN_STALE_IF_ERROR: Duration = Duration::from_secs(60);
pub const BUILTIN_BREAKER: BreakerPolicy = BreakerPolicy {
    window: 20,
    min_calls: 10,
    failure_rate_percent: 50.0,
    slow_call: Duration::from_secs(1),
    slow_rate_percent: 100.0,
    open_for: Duration::from_secs(5),
    half_open_calls: 3,
};
pub const BUILTIN_RETRY_BUDGET: RetryBudget = RetryBudget { max_tokens: 10, token_ratio: 0.1 };

mod events;

#[derive(Debug, thiserror::Error)]
#[error("internal error: {0} (validation should have caught this; please report it)")]
pub struct ModelError(String);

/// `histories`: each service's migrations. A service has a database while it owns a table,
/// and also after dropping its last one while migrations exist (they still have to be applied).
pub fn build(loaded: &Loaded, histories: &[History]) -> Result<Spec, ModelError> {
    let spec = &loaded.ownership;
    let ids = ServiceIds::of(spec);
    let mut services = Vec::new();
    for (index, raw) in spec.services.iter().enumerate() {
        let proto = loaded
            .protos
            .service(&raw.proto_name())
            .ok_or_else(|| ModelError(format!("proto service {} of {} not found", raw.proto_name(), raw.name.value)))?;
        let port = u16::try_from(spec.port_of(index)).map_err(|_| ModelError(format!("port of {} out of range", raw.name.value)))?;
        services.push(Service {
            id: ids.resolve(&raw.name)?,
            name: raw.name.value.clone(),
            port,
            database: has_database(raw, histories).then(|| raw.database_name()),
            proto: ProtoService { package: proto.package.clone(), name: proto.name.clone(), file: proto.file.clone(), docs: proto.docs.clone() },
            slo: resolve_slo(&[&spec.defaults.slo, &raw.slo]),
            calls: ids.resolve_all(&raw.calls)?,
            allow_cycle: ids.resolve_all(&raw.allow_cycle)?,
            checks_users: raw.checks_users.as_ref().is_some_and(|flag| flag.value),
            events: crate::ir::Events::default(),
            rpcs: build_rpcs(&loaded.protos, &spec.defaults, raw, proto, &callers_of(spec, &raw.name.value))?,
            tables: raw.tables.iter().map(|t| build_table(raw, t)).collect(),
            target: resolve_target(&[&spec.defaults.target, &raw.target]),
            api_dependencies: Vec::new(),
            shared_dependencies: Vec::new(),
        });
    }
    for service in &mut services {
        link_proto_enums(&loaded.protos, service);
    }
    // Ids are positions in name order: sorted, each service sits at its own id.
    services.sort_by_key(|s| s.id);
    events::link_events(spec, &mut services)?;
    let shared_packages = link_packages(&loaded.protos, &mut services);
    let token_issuer = spec.defaults.token_issuer.as_ref().map(|t| ids.resolve(t)).transpose()?;
    let user_directory = match token_issuer {
        Some(issuer) if services.iter().any(|s| s.checks_users) => {
            let proto = services.iter().find(|s| s.id == issuer).map(|s| s.proto.full_name()).unwrap_or_default();
            let info = loaded.protos.service(&proto).ok_or_else(|| ModelError(format!("proto service {proto} of the token issuer not found")))?;
            Some(crate::validate::user_directory(&loaded.protos, info).map_err(ModelError)?)
        }
        _ => None,
    };
    Ok(Spec { services, token_issuer, shared_packages, user_directory })
}

/// The services' names in the order of [`Spec::services`] (by name): a name's position is
/// its [`ServiceId`]. References are resolved here, once; validation has refused unknown
/// names (`spec::unknown-callee`, `spec::bad-allow-cycle`, `spec::unknown-token-issuer`).
struct ServiceIds<'a>(Vec<&'a str>);

impl<'a> ServiceIds<'a> {
    fn of(spec: &'a crate::raw::RawSpec) -> Self {
        let mut names: Vec<&str> = spec.services.iter().map(|s| s.name.value.as_str()).collect();
        names.sort_unstable();
        ServiceIds(names)
    }

    fn resolve(&self, name: &crate::source::Located<String>) -> Result<ServiceId, ModelError> {
        self.0.binary_search(&name.value.as_str()).map(ServiceId::new).map_err(|_| ModelError(format!("unknown service {}", name.value)))
    }

    /// Sorted by name, without repeats.
    fn resolve_all(&self, names: &[crate::source::Located<String>]) -> Result<Vec<ServiceId>, ModelError> {
        let mut ids = names.iter().map(|n| self.resolve(n)).collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// The services whose `calls` list `service`, sorted.
fn callers_of(spec: &crate::raw::RawSpec, service: &str) -> Vec<String> {
    let mut callers: Vec<String> =
        spec.services.iter().filter(|s| s.calls.iter().any(|c| c.value == service)).map(|s| s.name.value.clone()).collect();
    callers.sort();
    callers
}

/// The RPC's access policy: its own line's `access`, else `[defaults]` (validation refused
/// anything else, and any default but `service`).
fn build_access(defaults: &RawDefaults, own: Option<&RawPolicy>, callers: &[String], rpc: &str) -> Result<Access, ModelError> {
    let word =
        own.and_then(|p| p.access.as_ref()).or(defaults.policy.access.as_ref()).ok_or_else(|| ModelError(format!("no access policy for {rpc}")))?;
    let named: Option<Vec<String>> = own.and_then(|p| p.services.as_ref()).map(|list| {
        let mut names: Vec<String> = list.value.iter().map(|s| s.value.clone()).collect();
        names.sort();
        names.dedup();
        names
    });
    let kind = match word.value.as_str() {
        "public" => AccessKind::Public,
        "user" => AccessKind::User,
        "service" => AccessKind::Service,
        "permission" => AccessKind::Permission(
            own.and_then(|p| p.permission.as_ref()).map(|p| p.value.clone()).ok_or_else(|| ModelError(format!("no permission named for {rpc}")))?,
        ),
        other => return Err(ModelError(format!("unknown access {other} for {rpc}"))),
    };
    let services = match (&kind, named) {
        (_, Some(named)) => named,
        (AccessKind::Service, None) => callers.to_vec(),
        (_, None) => Vec::new(),
    };
    let acting = own.map(|p| p.acting.iter().map(|a| a.value.clone()).collect()).unwrap_or_default();
    let shared = own.and_then(|p| p.shared.as_ref()).is_some_and(|s| s.value);
    Ok(Access { kind, services, acting, shared })
}

/// Each enum column of the service maps to the top-level enum of the service's proto package
/// whose values carry the same names (`ACCOUNT_STATUS_ACTIVE` is `active`) and, when the
/// column stores numbers, the same numbers. Among several fits, the one whose name ends with
/// the column's name (`AccountStatus` for `status`); none when that leaves no single fit.
fn link_proto_enums(protos: &ProtoSet, service: &mut Service) {
    use heck::{ToShoutySnakeCase, ToUpperCamelCase};
    let prefix = format!(".{}.", service.proto.package);
    let candidates: Vec<(&str, &prost_types::EnumDescriptorProto)> = protos
        .types
        .iter()
        .filter_map(|(name, t)| match t {
            crate::load::protos::TypeDescriptor::Enum(e) => name.strip_prefix(&prefix).filter(|n| !n.contains('.')).map(|n| (n, e)),
            _ => None,
        })
        .collect();
    for table in &mut service.tables {
        for column in &mut table.columns {
            let Some(enumeration) = column.enumeration.as_mut() else { continue };
            let fits: Vec<(&str, Vec<String>)> = candidates
                .iter()
                .filter_map(|(name, descriptor)| {
                    let value_prefix = format!("{}_", name.to_shouty_snake_case());
                    let variants = enumeration.values.iter().map(|value| {
                        let wanted = format!("{value_prefix}{}", value.name.to_uppercase());
                        let found = descriptor.value.iter().find(|v| v.name() == wanted)?;
                        let number_fits = value.number.is_none_or(|n| i64::from(found.number()) == n);
                        number_fits.then(|| value.name.to_upper_camel_case())
                    });
                    variants.collect::<Option<Vec<String>>>().map(|v| (*name, v))
                })
                .collect();
            let column_type = column.name.to_upper_camel_case();
            let chosen = match fits.as_slice() {
                [only] => Some(only.clone()),
                many => {
                    let named: Vec<&(&str, Vec<String>)> = many.iter().filter(|(n, _)| n.ends_with(&column_type)).collect();
                    match named.as_slice() {
                        [only] => Some((*only).clone()),
                        _ => None,
                    }
                }
            };
            enumeration.proto = chosen.map(|(name, variants)| ProtoEnum { name: name.to_string(), variants });
        }
    }
}

fn has_database(raw: &RawService, histories: &[History]) -> bool {
    !raw.tables.is_empty() || histories.iter().any(|h| h.service == raw.name.value && !h.files.is_empty())
}

/// Which proto packages each service's API imports: other services' packages become
/// dependencies between API crates, the rest are shared packages (each generated once).
/// Returns the shared packages, sorted.
fn link_packages(protos: &ProtoSet, services: &mut [Service]) -> Vec<SharedPackage> {
    use crate::load::protos::{imported_packages, spec_packages};
    let owner_of_package = |package: &str| services.iter().find(|s| s.proto.package == package).map(|s| s.id);
    let shared: Vec<SharedPackage> = spec_packages(protos)
        .into_iter()
        .filter(|p| owner_of_package(p).is_none())
        .map(|name| SharedPackage { dependencies: imported_packages(protos, &name), name })
        .collect();
    let is_shared = |package: &String| shared.iter().any(|s| &s.name == package);
    let mut links = Vec::new();
    for service in services.iter() {
        let imported = imported_packages(protos, &service.proto.package);
        let dependencies: Vec<ServiceId> = imported.iter().filter_map(|p| owner_of_package(p)).filter(|s| *s != service.id).collect();
        links.push((dependencies, imported.iter().filter(|p| is_shared(p)).cloned().collect()));
    }
    for (service, (mut dependencies, shared_dependencies)) in services.iter_mut().zip(links) {
        dependencies.sort();
        dependencies.dedup();
        service.api_dependencies = dependencies;
        service.shared_dependencies = shared_dependencies;
    }
    shared
}

fn build_rpcs(
    protos: &ProtoSet,
    defaults: &RawDefaults,
    service: &RawService,
    proto: &ProtoServiceInfo,
    callers: &[String],
) -> Result<Vec<Rpc>, ModelError> {
    let package_prefix = format!(".{}.", proto.package);
    let message = |ty: &str| -> Result<MessageType, ModelError> {
        if ty == ".google.protobuf.Empty" {
            return Ok(MessageType::Empty);
        }
        ty.strip_prefix(&package_prefix)
            .map(|n| MessageType::Local(n.to_string()))
            .ok_or_else(|| ModelError(format!("message type {ty} is not local")))
    };
    proto
        .methods
        .iter()
        .map(|method| {
            let line = service.rpcs.iter().find(|r| r.name.value == method.name);
            let own = line.map(|r| &r.policy);
            let mut policy = resolve_policy(&[&defaults.policy, &service.policy], own);
            let own_slo = line.map(|r| &r.slo);
            let slo = resolve_slo(&[&defaults.slo, &service.slo, own_slo.unwrap_or(&RawSlo::default())]);
            if let (Some(cache), Some(entity)) = (policy.cache.as_mut(), own.and_then(|p| p.entity.as_ref())) {
                let repeated = crate::validate::entity_field(protos, &method.input_type, &entity.value)
                    .ok_or_else(|| ModelError(format!("entity field {} of {} not found", entity.value, method.name)))?;
                cache.entity = Some(EntityField { field: entity.value.clone(), repeated });
            }
            if let Some(cache) = policy.cache.as_mut() {
                let batch = crate::validate::per_id::resolve(protos, &method.input_type, &method.output_type, line);
                let paired = crate::validate::per_id::paired_with(protos, service, proto, &method.name);
                cache.per_id = batch.map_err(ModelError)?;
                cache.paired = paired.map_err(ModelError)?;
            }
            Ok(Rpc {
                access: build_access(defaults, own, callers, &method.name)?,
                name: method.name.clone(),
                input: message(&method.input_type)?,
                output: message(&method.output_type)?,
                idempotency: method.idempotency,
                policy,
                slo,
                own_slo: own_slo.is_some_and(|s| s.p95.is_some() || s.error_rate.is_some() || s.alert_for.is_some() || s.severity.is_some()),
                docs: method.docs.clone(),
                schema_hash: crate::schema::schema_hash(protos, &[&method.input_type, &method.output_type]),
            })
        })
        .collect()
}

/// Nearest level wins: the RPC's own line, then its service, then `[defaults]`, then built-ins.
/// Retry settings merge key by key; `retry = false` at any level switches retries off below it.
fn resolve_policy(outer: &[&RawPolicy], own: Option<&RawPolicy>) -> CallPolicy {
    let levels: Vec<&RawPolicy> = outer.iter().copied().chain(own).collect();
    let deadline = levels.iter().rev().find_map(|l| l.deadline.as_ref()).map_or(BUILTIN_DEADLINE, |d| d.value);
    let mut retry = Some(BUILTIN_RETRY);
    for level in &levels {
        match level.retry.as_ref().map(|r| &r.value) {
            Some(RawRetry::Disabled) => retry = None,
            Some(RawRetry::Enabled(params)) => {
                let base = retry.unwrap_or(BUILTIN_RETRY);
                retry = Some(RetryPolicy {
                    max_attempts: params.max_attempts.as_ref().and_then(|a| u32::try_from(a.value).ok()).unwrap_or(base.max_attempts),
                    initial_backoff: params.initial_backoff.as_ref().map_or(base.initial_backoff, |d| d.value),
                    max_backoff: params.max_backoff.as_ref().map_or(base.max_backoff, |d| d.value),
                    multiplier: params.multiplier.as_ref().map_or(base.multiplier, |m| m.value),
                });
            }
            None => {}
        }
    }
    let fail_closed = own.and_then(|p| p.fail_closed.as_ref()).is_some_and(|f| f.value);
    // A fail-closed RPC inherits no stale window: the validator refuses one on its own line.
    let stale_if_error = if fail_closed {
        Duration::ZERO
    } else {
        levels.iter().rev().find_map(|l| l.stale_if_error.as_ref()).map_or(BUILTIN_STALE_IF_ERROR, |d| d.value)
    };
    let cache =
        own.and_then(|p| p.cache.as_ref()).map(|ttl| CachePolicy { ttl: ttl.value, stale_if_error, entity: None, per_id: None, paired: None });
    CallPolicy { deadline, retry, cache, fail_closed }
}

/// Breaker and retry-budget settings merge key by key, the service's over `[defaults]`.
fn resolve_target(levels: &[&RawTargetPolicy]) -> TargetPolicy {
    let mut breaker = BUILTIN_BREAKER;
    let mut retry_budget = BUILTIN_RETRY_BUDGET;
    let count = |v: &Option<crate::source::Located<i64>>, base: u32| v.as_ref().and_then(|n| u32::try_from(n.value).ok()).unwrap_or(base);
    for level in levels {
        if let Some(raw) = &level.breaker {
            let raw = &raw.value;
            breaker = BreakerPolicy {
                window: count(&raw.window, breaker.window),
                min_calls: count(&raw.min_calls, breaker.min_calls),
                failure_rate_percent: raw.failure_rate.as_ref().map_or(breaker.failure_rate_percent, |r| r.value),
                slow_call: raw.slow_call.as_ref().map_or(breaker.slow_call, |d| d.value),
                slow_rate_percent: raw.slow_rate.as_ref().map_or(breaker.slow_rate_percent, |r| r.value),
                open_for: raw.open_for.as_ref().map_or(breaker.open_for, |d| d.value),
                half_open_calls: count(&raw.half_open_calls, breaker.half_open_calls),
            };
        }
        if let Some(raw) = &level.retry_budget {
            retry_budget = RetryBudget {
                max_tokens: count(&raw.value.max_tokens, retry_budget.max_tokens),
                token_ratio: raw.value.token_ratio.as_ref().map_or(retry_budget.token_ratio, |r| r.value),
            };
        }
    }
    TargetPolicy { breaker, retry_budget }
}

/// Nearest level wins, key by key (levels are given outermost first).
fn resolve_slo(levels: &[&RawSlo]) -> Slo {
    let levels = || levels.iter().rev();
    Slo {
        p95_latency: levels().find_map(|l| l.p95.as_ref()).map_or(BUILTIN_P95, |d| d.value),
        error_rate_percent: levels().find_map(|l| l.error_rate.as_ref()).map_or(BUILTIN_ERROR_RATE_PERCENT, |r| r.value),
        alert_for: levels().find_map(|l| l.alert_for.as_ref()).map_or(BUILTIN_ALERT_FOR, |d| d.value),
        severity: levels().find_map(|l| l.severity.as_ref()).map_or_else(|| BUILTIN_SEVERITY.to_string(), |s| s.value.clone()),
    }
}

/// The IR form of a column's reference; `None` for a malformed one (validation reports it).
fn build_reference(service: &RawService, raw: &crate::raw::RawReference) -> Option<Reference> {
    let segments: Vec<&str> = raw.segments.iter().map(|s| s.value.as_str()).collect();
    match segments.as_slice() {
        [owner, table, column] if *owner != service.name.value => Some(Reference::Remote {
            service: owner.to_string(),
            table: table.to_string(),
            column: column.to_string(),
            on_delete: raw.on_delete.as_ref().map_or(OnDelete::NoAction, |a| a.value),
        }),
        [.., table, column] => Some(Reference::Local {
            table: table.to_string(),
            column: column.to_string(),
            on_delete: raw.on_delete.as_ref().map_or(OnDelete::NoAction, |a| a.value),
        }),
        _ => None,
    }
}

fn build_table(service: &RawService, raw: &RawTable) -> Table {
    let columns: Vec<Column> = raw
        .columns
        .iter()
        .map(|c| {
            let decl = &c.decl;
            let enumeration = decl.enumeration.as_ref().map(|e| Enumeration {
                values: e.value.iter().map(|v| EnumValue { name: v.name.value.clone(), number: v.number }).collect(),
                proto: None,
            });
            let default = decl
                .default
                .as_ref()
                .map(|d| match (&d.value, &enumeration) {
                    // An enum default is stored as the value's literal; validation proved it exists.
                    (DefaultValue::Variant(name), Some(e)) => match e.values.iter().find(|v| &v.name == name).and_then(|v| v.number) {
                        Some(n) => DefaultValue::Number(n.to_string()),
                        None => DefaultValue::Literal(name.clone()),
                    },
                    (other, _) => other.clone(),
                })
                .or_else(|| decl.version.as_ref().map(|_| DefaultValue::Number("0".into())));
            Column {
                name: c.name.value.clone(),
                ty: decl.ty.value,
                nullable: decl.nullable,
                default,
                reference: decl.reference.as_ref().and_then(|r| build_reference(service, r)),
                doc: decl.doc.as_ref().map(|d| d.value.clone()),
                enumeration,
                generated: decl.generated.as_ref().map(|g| g.value.clone()),
                identity: decl.identity.is_some(),
            }
        })
        .collect();
    let is_plain = |list: &&RawColumnList| list.predicate.is_none() && list.method.is_none() && list.columns.iter().all(|k| !k.expression);
    let names = |list: &RawColumnList| list.columns.iter().map(|k| k.name.value.clone()).collect::<Vec<_>>();
    let index_of = |list: &RawColumnList, unique: bool| Index {
        columns: list
            .columns
            .iter()
            .map(|k| IndexColumn { name: k.name.value.clone(), descending: k.descending, expression: k.expression })
            .collect(),
        unique,
        method: list.method.as_ref().map_or_else(|| "btree".to_string(), |m| m.value.clone()),
        predicate: list.predicate.as_ref().map(|p| p.value.clone()),
    };
    let single_uniques = raw.columns.iter().filter(|c| c.decl.unique.is_some()).map(|c| vec![c.name.value.clone()]);
    let single_indexes = raw
        .columns
        .iter()
        .filter(|c| c.decl.index.is_some())
        .map(|c| Index::plain(vec![IndexColumn { name: c.name.value.clone(), descending: false, expression: false }]));
    let unique_indexes = raw.uniques.iter().filter(|l| !is_plain(l)).map(|l| index_of(l, true));
    Table {
        name: raw.name.value.clone(),
        doc: raw.doc.as_ref().map(|d| d.value.clone()),
        primary_key: raw.columns.iter().filter(|c| c.decl.primary_key.is_some()).map(|c| c.name.value.clone()).collect(),
        uniques: single_uniques.chain(raw.uniques.iter().filter(is_plain).map(names)).collect(),
        indexes: single_indexes.chain(raw.indexes.iter().map(|l| index_of(l, false))).chain(unique_indexes).collect(),
        version_column: raw.columns.iter().find(|c| c.decl.version.is_some()).map(|c| c.name.value.clone()),
        counters: raw.columns.iter().filter(|c| c.decl.counter.is_some()).map(|c| c.name.value.clone()).collect(),
        touch_column: raw.columns.iter().find(|c| c.decl.touch.is_some()).map(|c| c.name.value.clone()),
        immutable: raw.columns.iter().filter(|c| c.decl.immutable.is_some()).map(|c| c.name.value.clone()).collect(),
        append_only: raw.append_only.as_ref().is_some_and(|a| a.value),
        checks: build_checks(&raw.name.value, &columns, &raw.checks),
        soft_delete: raw.soft_delete.as_ref().is_some_and(|s| s.value),
        idempotency_key: raw.idempotency_key.as_ref().map(|k| k.value.clone()),
        foreign_keys: raw
            .foreign_keys
            .iter()
            .map(|f| ForeignKey {
                columns: f.columns.iter().map(|c| c.value.clone()).collect(),
                table: f.table.value.clone(),
                target_columns: f.target_columns.iter().map(|c| c.value.clone()).collect(),
                on_delete: f.on_delete.as_ref().map_or(OnDelete::NoAction, |a| a.value),
            })
            .collect(),
        columns,
    }
}

/// The checks of a table: one per enum column (`<table>_<column>_check`, PostgreSQL's own
/// name for a column check), then the table's own, named after the columns they mention
/// (`<table>_<columns>_check`, numbered when two would share a name).
fn build_checks(table: &str, columns: &[Column], raw: &[crate::source::Located<String>]) -> Vec<Check> {
    let mut checks: Vec<Check> = columns
        .iter()
        .filter_map(|c| {
            let e = c.enumeration.as_ref()?;
            let values: Vec<String> = e.values.iter().map(EnumValue::sql_literal).collect();
            Some(Check { name: format!("{table}_{}_check", c.name), expression: format!("{} IN ({})", c.name, values.join(", ")) })
        })
        .collect();
    for expression in raw {
        let mentioned = identifiers(&expression.value);
        let mut used: Vec<&str> = Vec::new();
        for word in &mentioned {
            if columns.iter().any(|c| &c.name == word) && !used.contains(&word.as_str()) {
                used.push(word);
            }
        }
        let base = if used.is_empty() { format!("{table}_check") } else { format!("{table}_{}_check", used.join("_")) };
        let mut name = base.clone();
        let mut n = 2;
        while checks.iter().any(|c| c.name == name) {
            name = format!("{base}{n}");
            n += 1;
        }
        checks.push(Check { name, expression: expression.value.trim().to_string() });
    }
    checks
}

/// The lower-case identifiers of an SQL expression, outside string literals, in order.
pub fn identifiers(expression: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in expression.chars().chain([' ']) {
        if c == '\'' {
            quoted = !quoted;
            current.clear();
            continue;
        }
        if !quoted && (c.is_ascii_alphanumeric() || c == '_') {
            current.push(c);
            continue;
        }
        if !current.is_empty() && !current.starts_with(|d: char| d.is_ascii_digit()) {
            words.push(std::mem::take(&mut current));
        }
        current.clear();
    }
    words
}
