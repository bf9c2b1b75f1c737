//! The typed model every emitter reads. It is built from validated specs only (see
//! `model.rs`), so emitters never meet a dangling reference, an unknown type or a missing
//! policy: they only query.

use std::time::Duration;

/// All services, sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub services: Vec<Service>,
    /// Proto packages of specs/proto that belong to no service (shared types such as
    /// `nova.common.v1`), sorted by name. Each is generated once, into a crate of its own.
    pub shared_packages: Vec<SharedPackage>,
}

/// A proto package no service owns: its messages are shared by the API crates that use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPackage {
    /// e.g. `nova.common.v1`
    pub name: String,
    /// The other shared packages its files import, sorted.
    pub dependencies: Vec<String>,
}

impl Spec {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The service that owns `table`, if any.
    pub fn owner_of(&self, table: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.tables.iter().any(|t| t.name == table))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Short lower-case name, e.g. `auth`; crates are `nova-<name>` and `nova-<name>-service`.
    pub name: String,
    /// gRPC port: `port = ` in the spec, or derived from the name (never from file order).
    pub port: u16,
    /// The services this one calls (`calls = [...]`), sorted: the only clients it may depend
    /// on, the endpoints its deployment gets, the edges of the system picture.
    pub calls: Vec<String>,
    /// Callees whose edge the spec allows to close a dependency cycle (`allow_cycle`), sorted.
    pub allow_cycle: Vec<String>,
    /// Name of the service's own PostgreSQL database; `None` for a service that owns no table
    /// and never did (a stateless gateway): no database, repositories or migrations.
    pub database: Option<String>,
    pub proto: ProtoService,
    pub slo: Slo,
    /// In proto declaration order.
    pub rpcs: Vec<Rpc>,
    /// In spec declaration order.
    pub tables: Vec<Table>,
    /// How callers treat this service as a whole (breaker, retry budget).
    pub target: TargetPolicy,
    /// Other services whose proto packages this service's protos import (their messages appear
    /// in its API), sorted: its API crate depends on theirs.
    pub api_dependencies: Vec<String>,
    /// The shared packages (see [`Spec::shared_packages`]) this service's protos import, sorted.
    pub shared_dependencies: Vec<String>,
}

impl Service {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProtoService {
    /// e.g. `nova.auth.v1`
    pub package: String,
    /// e.g. `AuthService`
    pub name: String,
    /// The .proto file, relative to the proto root, e.g. `nova/auth/v1/auth.proto`.
    pub file: String,
    /// Leading comment of the service, one entry per line.
    pub docs: Vec<String>,
}

impl ProtoService {
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rpc {
    /// As written in the proto, e.g. `GetUsersByIds`.
    pub name: String,
    pub input: MessageType,
    pub output: MessageType,
    pub idempotency: Idempotency,
    pub policy: CallPolicy,
    /// The objectives this RPC is held to: its own `slo` line over the service's.
    pub slo: Slo,
    /// Whether the RPC's line sets its own `slo` (its alerts are then emitted separately).
    pub own_slo: bool,
    pub docs: Vec<String>,
    /// Hash of the request and response schemas (and every type they use), which versions
    /// cache keys: bytes cached under one schema are never decoded under another.
    pub schema_hash: u64,
}

/// protobuf's standard `idempotency_level` method option: the API's own statement of what is
/// safe to retry and to cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Idempotency {
    /// No option: the call may have side effects and must not be repeated blindly.
    Unknown,
    /// `IDEMPOTENT`: repeating the call has the effect of one call.
    Idempotent,
    /// `NO_SIDE_EFFECTS`: a read; safe to retry and to cache.
    NoSideEffects,
}

/// A request or response message of an RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageType {
    /// A message declared in the service's own package: the Rust type `pb::<name>`.
    Local(String),
    /// `google.protobuf.Empty`, which prost maps to `()`.
    Empty,
}

/// How callers call one RPC: resolved from `[defaults]`, the service and the RPC's own line.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPolicy {
    /// One deadline for the whole logical call, all attempts included.
    pub deadline: Duration,
    pub retry: Option<RetryPolicy>,
    pub cache: Option<CachePolicy>,
    /// An authorization decision (or anything else that must not be answered from old data):
    /// never served from a stale cache when the owner fails; the call fails instead.
    pub fail_closed: bool,
}

/// gRFC A6 retry parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub multiplier: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CachePolicy {
    pub ttl: Duration,
    /// How long past `ttl` a response may still be served when the owner fails.
    pub stale_if_error: Duration,
    /// The request field naming the entity the response is about, for invalidation by id.
    pub entity: Option<EntityField>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityField {
    /// The proto field name, e.g. `user_id`.
    pub field: String,
    /// `repeated string` (several ids) rather than `string`.
    pub repeated: bool,
}

/// How callers treat one target service: one breaker and one retry budget per target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetPolicy {
    pub breaker: BreakerPolicy,
    pub retry_budget: RetryBudget,
}

/// Resilience4j circuit-breaker settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerPolicy {
    pub window: u32,
    pub min_calls: u32,
    pub failure_rate_percent: f64,
    pub slow_call: Duration,
    pub slow_rate_percent: f64,
    pub open_for: Duration,
    pub half_open_calls: u32,
}

/// gRFC A6 retry throttling.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudget {
    pub max_tokens: u32,
    pub token_ratio: f64,
}

/// Service-level objectives, turned into alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub p95_latency: Duration,
    /// Percentage of calls, e.g. `1.0` for 1 %.
    pub error_rate_percent: f64,
    /// How long a latency or error-rate breach must last before its alert fires.
    pub alert_for: Duration,
    /// The `severity` label of the latency and error-rate alerts.
    pub severity: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub doc: Option<String>,
    /// In declaration order: the order of the SQL columns and of the Rust fields.
    pub columns: Vec<Column>,
    /// Column names, in declaration order.
    pub primary_key: Vec<String>,
    /// Unique constraints, single-column ones first in column order, then composite ones.
    pub uniques: Vec<Vec<String>>,
    pub indexes: Vec<Index>,
    /// The optimistic-concurrency counter, if the table has one.
    pub version_column: Option<String>,
    /// Columns changed only by `increment_<column>` (one atomic statement), never by `update`.
    pub counters: Vec<String>,
    /// The column every `update` sets to `now()` (declared with `touch`).
    pub touch_column: Option<String>,
    /// Columns only `insert` writes (declared with `immutable`, e.g. `created_at`).
    pub immutable: Vec<String>,
    /// `append_only = true`: the repository has no `update` and no increments.
    pub append_only: bool,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn is_primary_key(&self, column: &str) -> bool {
        self.primary_key.iter().any(|c| c == column)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    pub default: Option<DefaultValue>,
    pub reference: Option<Reference>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Scalar(ScalarType),
    Array(ScalarType),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScalarType {
    Uuid,
    Text,
    Bool,
    SmallInt,
    Int,
    BigInt,
    Double,
    Timestamptz,
    Date,
    Jsonb,
    Bytea,
}

impl ScalarType {
    /// The spelling used in ownership.toml.
    pub const ALL: [(&'static str, ScalarType); 11] = [
        ("uuid", ScalarType::Uuid),
        ("text", ScalarType::Text),
        ("bool", ScalarType::Bool),
        ("smallint", ScalarType::SmallInt),
        ("int", ScalarType::Int),
        ("bigint", ScalarType::BigInt),
        ("double", ScalarType::Double),
        ("timestamptz", ScalarType::Timestamptz),
        ("date", ScalarType::Date),
        ("jsonb", ScalarType::Jsonb),
        ("bytea", ScalarType::Bytea),
    ];

    /// Element types PostgreSQL arrays are allowed for in specs.
    pub fn allows_array(self) -> bool {
        matches!(self, ScalarType::Uuid | ScalarType::Text | ScalarType::BigInt)
    }

    pub fn is_integer(self) -> bool {
        matches!(self, ScalarType::SmallInt | ScalarType::Int | ScalarType::BigInt)
    }
}

/// A column default, restricted to forms that are portable and safe to inline in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultValue {
    Now,
    RandomUuid,
    /// A decimal number as written.
    Number(String),
    Bool(bool),
    /// The content of a single-quoted literal, without the quotes.
    Literal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A foreign key inside the service's own database.
    Local { table: String, column: String, on_delete: OnDelete },
    /// A logical reference to another service's table: never a SQL foreign key; the owner's
    /// API is the only way to check it.
    Remote { service: String, table: String, column: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    Restrict,
    Cascade,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub columns: Vec<IndexColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumn {
    pub name: String,
    pub descending: bool,
}
