//! The ownership spec as read from TOML: syntax checked, every value located, nothing resolved.
//! Semantic rules (`validate`) run on this; the IR (`model`) is built from it afterwards.

use std::time::Duration;

use crate::ir::{ColumnType, DefaultValue, OnDelete};
use crate::source::{Located, SourceFile, Span};

#[derive(Debug, Clone)]
pub struct RawSpec {
    pub file: SourceFile,
    pub defaults: RawDefaults,
    /// In file order.
    pub services: Vec<RawService>,
}

#[derive(Debug, Clone, Default)]
pub struct RawDefaults {
    pub span: Option<Span>,
    /// `token_issuer = "auth"`: the service that signs end users' access tokens.
    pub token_issuer: Option<Located<String>>,
    pub policy: RawPolicy,
    pub target: RawTargetPolicy,
    pub slo: RawSlo,
}

/// Policy keys that may appear in `[defaults]`, in a service and on an RPC line.
#[derive(Debug, Clone, Default)]
pub struct RawPolicy {
    pub deadline: Option<Located<Duration>>,
    pub retry: Option<Located<RawRetry>>,
    /// Only meaningful on an RPC line.
    pub cache: Option<Located<Duration>>,
    pub stale_if_error: Option<Located<Duration>>,
    /// Only on an RPC line: the request field naming the entity a cached response is about.
    pub entity: Option<Located<String>>,
    /// Only on an RPC line: never serve a stale cached answer when the owner fails.
    pub fail_closed: Option<Located<bool>>,
    /// Who may call: `public`, `user`, `service` or `permission` (on an RPC line; in
    /// `[defaults]` only `service`, a default that closes).
    pub access: Option<Located<String>>,
    /// Only on an RPC line: the permission of `access = "permission"`, e.g. `auth.admin`.
    pub permission: Option<Located<String>>,
    /// Only on an RPC line: the services that may call (`access = "service"`), or that may
    /// also call as themselves (the other kinds).
    pub services: Option<Located<Vec<Located<String>>>>,
    /// Only on an RPC line: request fields naming the acting user, bound to the caller.
    pub acting: Vec<Located<String>>,
    /// Only on an RPC line: the answer is the same for every admitted caller (shared cache).
    pub shared: Option<Located<bool>>,
    /// Only on an RPC line: a batch read cached per id (`per_id = { items = "users", ... }`).
    pub per_id: Option<Located<RawPerId>>,
}

/// `per_id = { items, id, missing, single, max }`: how a batch read's response is taken apart
/// into one entry per id (see `validate/per_id.rs`).
#[derive(Debug, Clone, Default)]
pub struct RawPerId {
    /// The response's repeated message field holding the items, e.g. `users`.
    pub items: Option<Located<String>>,
    /// The item's string field holding its id, e.g. `id`.
    pub id: Option<Located<String>>,
    /// The response's repeated string field listing ids not found (default `missing_<entity>`).
    pub missing: Option<Located<String>>,
    /// The single-id read of the same items that shares the entries, e.g. `GetUser`.
    pub single: Option<Located<String>>,
    /// Ids the owner accepts in one request (default 100).
    pub max: Option<Located<i64>>,
}

/// Settings for a whole target service, in `[defaults]` or a service section.
#[derive(Debug, Clone, Default)]
pub struct RawTargetPolicy {
    pub breaker: Option<Located<RawBreaker>>,
    pub retry_budget: Option<Located<RawRetryBudget>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawBreaker {
    pub window: Option<Located<i64>>,
    pub min_calls: Option<Located<i64>>,
    pub failure_rate: Option<Located<f64>>,
    pub slow_call: Option<Located<Duration>>,
    pub slow_rate: Option<Located<f64>>,
    pub open_for: Option<Located<Duration>>,
    pub half_open_calls: Option<Located<i64>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawRetryBudget {
    pub max_tokens: Option<Located<i64>>,
    pub token_ratio: Option<Located<f64>>,
}

#[derive(Debug, Clone)]
pub enum RawRetry {
    /// `retry = false`
    Disabled,
    /// `retry = { ... }`; missing keys inherit.
    Enabled(RawRetryParams),
}

#[derive(Debug, Clone, Default)]
pub struct RawRetryParams {
    pub max_attempts: Option<Located<i64>>,
    pub initial_backoff: Option<Located<Duration>>,
    pub max_backoff: Option<Located<Duration>>,
    pub multiplier: Option<Located<f64>>,
}

#[derive(Debug, Clone, Default)]
pub struct RawSlo {
    pub p95: Option<Located<Duration>>,
    /// Percent, e.g. 1.0 for "1%".
    pub error_rate: Option<Located<f64>>,
    /// How long the latency and error-rate alerts' conditions must hold before they fire.
    pub alert_for: Option<Located<Duration>>,
    /// The `severity` label of those alerts, e.g. "page" or "ticket".
    pub severity: Option<Located<String>>,
}

#[derive(Debug, Clone)]
pub struct RawService {
    pub name: Located<String>,
    pub proto: Option<Located<String>>,
    pub database: Option<Located<String>>,
    pub port: Option<Located<i64>>,
    /// `calls = [...]`: the services this one calls (its only allowed client dependencies).
    pub calls: Vec<Located<String>>,
    /// `allow_cycle = [...]`: callees whose edge may close a dependency cycle.
    pub allow_cycle: Vec<Located<String>>,
    /// `checks_users = true`: the service asks the token issuer whether users exist and are
    /// active, through a generated check.
    pub checks_users: Option<Located<bool>>,
    /// `publishes = ["<table>.<event>[(<Message>)]", ...]`: events of its own tables it
    /// publishes through its outbox.
    pub publishes: Vec<Located<String>>,
    /// `consumes = ["<service>.<table>.<event>", ...]`: other services' events it handles.
    pub consumes: Vec<Located<String>>,
    pub slo: RawSlo,
    pub policy: RawPolicy,
    pub target: RawTargetPolicy,
    pub rpcs: Vec<RawRpc>,
    pub tables: Vec<RawTable>,
}

#[derive(Debug, Clone)]
pub struct RawRpc {
    pub name: Located<String>,
    pub policy: RawPolicy,
    /// `slo = { ... }` on the RPC's line: overrides the service's objectives for this RPC.
    pub slo: RawSlo,
}

#[derive(Debug, Clone)]
pub struct RawTable {
    pub name: Located<String>,
    pub doc: Option<Located<String>>,
    pub columns: Vec<RawColumn>,
    pub uniques: Vec<RawColumnList>,
    pub indexes: Vec<RawColumnList>,
    /// `append_only = true`: rows are inserted (and deleted), never updated.
    pub append_only: Option<Located<bool>>,
    /// `checks = ["<boolean expression>", ...]`.
    pub checks: Vec<Located<String>>,
    /// `soft_delete = true`.
    pub soft_delete: Option<Located<bool>>,
    /// `idempotency_key = "<column>"`: a unique column naming the request that wrote the row,
    /// so a repeated request finds its first row instead of inserting another.
    pub idempotency_key: Option<Located<String>>,
    /// `foreign_keys = ["a, b -> t(c, d) [cascade | set null | restrict]"]`.
    pub foreign_keys: Vec<RawForeignKey>,
}

/// A (composite) foreign key to a table of the same service.
#[derive(Debug, Clone)]
pub struct RawForeignKey {
    pub span: Span,
    pub columns: Vec<Located<String>>,
    pub table: Located<String>,
    pub target_columns: Vec<Located<String>>,
    pub on_delete: Option<Located<OnDelete>>,
}

#[derive(Debug, Clone)]
pub struct RawColumn {
    pub name: Located<String>,
    pub decl: ColumnDecl,
}

/// One parsed column line:
/// `"<type>[?] [pk] [unique] [index] [version] [counter] [touch] [immutable] [default v] [-> ref]"`.
#[derive(Debug, Clone)]
pub struct ColumnDecl {
    /// The whole string, quotes included.
    pub span: Span,
    pub ty: Located<ColumnType>,
    pub nullable: bool,
    pub primary_key: Option<Span>,
    pub unique: Option<Span>,
    pub index: Option<Span>,
    pub version: Option<Span>,
    /// Changed only by `increment_<column>(key, by)`, never by `update`.
    pub counter: Option<Span>,
    /// Set to `now()` by every `update`.
    pub touch: Option<Span>,
    /// Written by `insert` only, never by `update` (e.g. `created_at`).
    pub immutable: Option<Span>,
    pub default: Option<Located<DefaultValue>>,
    pub reference: Option<RawReference>,
    /// `identity`.
    pub identity: Option<Span>,
    /// `generated (<expr>)`: the expression without the parentheses.
    pub generated: Option<Located<String>>,
    /// `-- text` to the end of the line.
    pub doc: Option<Located<String>>,
    /// `enum(a, b)` / `enum(a = 1, b = 2)`; `ty` is then text / smallint.
    pub enumeration: Option<Located<Vec<RawEnumValue>>>,
}

#[derive(Debug, Clone)]
pub struct RawEnumValue {
    pub name: Located<String>,
    pub number: Option<i64>,
}

/// `-> table.column [cascade | set null | restrict]` or `-> service.table.column`.
#[derive(Debug, Clone)]
pub struct RawReference {
    pub span: Span,
    pub segments: Vec<Located<String>>,
    /// The ON DELETE action word(s), when given.
    pub on_delete: Option<Located<OnDelete>>,
}

/// `"a, lower(b) desc [using gin] [where <predicate>]"` in `unique = [...]` or `indexes = [...]`.
#[derive(Debug, Clone)]
pub struct RawColumnList {
    pub span: Span,
    pub columns: Vec<RawKey>,
    /// `using <method>`.
    pub method: Option<Located<String>>,
    /// `where <predicate>`.
    pub predicate: Option<Located<String>>,
}

/// One key of an index: a column name, or an expression (anything with a parenthesis).
#[derive(Debug, Clone)]
pub struct RawKey {
    pub name: Located<String>,
    pub descending: bool,
    pub expression: bool,
}

/// Ports derived from a service's name (when the spec sets none) fall in this range: a hash
/// of the name, so that adding, removing or reordering services never moves another's port.
pub const DERIVED_PORTS: std::ops::RangeInclusive<i64> = 50100..=50999;

/// The port derived from `name`: FNV-1a (64-bit) of the name into [`DERIVED_PORTS`].
pub fn derived_port(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let span = u64::try_from(DERIVED_PORTS.end() - DERIVED_PORTS.start() + 1).unwrap_or(1);
    DERIVED_PORTS.start() + i64::try_from(hash % span).unwrap_or(0)
}

impl RawService {
    /// `proto = ...`, or `nova.<service>.v1.<Service>Service`.
    pub fn proto_name(&self) -> String {
        match &self.proto {
            Some(p) => p.value.clone(),
            None => {
                let pascal = heck::ToUpperCamelCase::to_upper_camel_case(self.name.value.as_str());
                format!("nova.{}.v1.{pascal}Service", self.name.value)
            }
        }
    }

    /// `database = ...`, or `nova_<service>`.
    pub fn database_name(&self) -> String {
        match &self.database {
            Some(d) => d.value.clone(),
            None => format!("nova_{}", self.name.value),
        }
    }
}

impl RawSpec {
    /// `port = ...`, or the port derived from the service's name (see [`derived_port`]).
    pub fn port_of(&self, index: usize) -> i64 {
        match self.services.get(index) {
            Some(service) => service.port.as_ref().map_or_else(|| derived_port(&service.name.value), |p| p.value),
            None => 0,
        }
    }
}

/// `"<table>.<event>"` or `"<table>.<event>(<Message>)"` of `publishes`, split; `None` when
/// it is neither (validation reports it).
pub fn split_published(text: &str) -> Option<(&str, &str, Option<&str>)> {
    let (head, message) = match text.trim().strip_suffix(')') {
        Some(open) => {
            let (head, message) = open.split_once('(')?;
            (head.trim(), Some(message.trim()))
        }
        None => (text.trim(), None),
    };
    let (table, event) = head.split_once('.')?;
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let message_ok =
        message.is_none_or(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_alphanumeric()) && m.starts_with(|c: char| c.is_ascii_uppercase()));
    (word(table) && word(event) && message_ok).then_some((table, event, message))
}

/// `"<service>.<table>.<event>"` of `consumes`, split; `None` when it is not.
pub fn split_consumed(text: &str) -> Option<(&str, &str, &str)> {
    let mut parts = text.trim().splitn(3, '.');
    let (service, table, event) = (parts.next()?, parts.next()?, parts.next()?);
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (word(service) && word(table) && word(event)).then_some((service, table, event))
}
