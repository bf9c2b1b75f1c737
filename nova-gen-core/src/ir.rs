//! The typed model every emitter reads. It is built from validated specs only (see
//! `model.rs`), so emitters never meet a dangling reference, an unknown type or a missing
//! policy: they only query.

use std::time::Duration;

/// All services, sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub services: Vec<Service>,
    /// The service that signs end users' access tokens (`[defaults] token_issuer`), if any:
    /// every other service verifies tokens with its keys.
    pub token_issuer: Option<ServiceId>,
    /// Proto packages of specs/proto that belong to no service (shared types such as
    /// `nova.common.v1`), sorted by name. Each is generated once, into a crate of its own.
    pub shared_packages: Vec<SharedPackage>,
    /// The token issuer's user lookups, when some service checks users (`checks_users`):
    /// what the generated check calls and how it reads an account's status.
    pub user_directory: Option<UserDirectory>,
}

/// The token issuer's API for looking users up, as `checks_users` needs it; every name is a
/// top-level type of the issuer's proto package (validation checked the fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDirectory {
    /// `GetUser`'s request message, with a string `user_id`.
    pub get_one_request: String,
    /// `GetUsersByIds`'s request message, with `repeated string user_ids`.
    pub get_many_request: String,
    /// The user message both answer (`user`, `users`), with a string `id` and a `status`.
    pub user: String,
    /// The enum of `status`.
    pub status: String,
    /// Its value for an active account, e.g. `ACCOUNT_STATUS_ACTIVE`.
    pub active: String,
    /// Its value for a deleted account, e.g. `ACCOUNT_STATUS_DELETED`.
    pub deleted: String,
}

/// A proto package no service owns: its messages are shared by the API crates that use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPackage {
    /// e.g. `nova.common.v1`
    pub name: String,
    /// The other shared packages its files import, sorted.
    pub dependencies: Vec<String>,
}

/// A service of the spec, resolved once when the model is built: its position in
/// [`Spec::services`]. Only the model makes them, from names validation has checked, so
/// looking one up in its spec cannot miss. Services are sorted by name, so ids sort as their
/// names do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId(usize);

impl ServiceId {
    pub(crate) fn new(index: usize) -> Self {
        ServiceId(index)
    }
}

impl Spec {
    /// The service named `name`, if the spec has it (for names from outside the spec, such as
    /// a command line; references inside the IR are [`ServiceId`]s).
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The service `id` refers to.
    pub fn get(&self, id: ServiceId) -> &Service {
        &self.services[id.0]
    }

    /// The name of the service `id` refers to.
    pub fn name(&self, id: ServiceId) -> &str {
        &self.get(id).name
    }

    /// The services `ids` refer to, in the same order.
    pub fn resolve<'a>(&'a self, ids: &'a [ServiceId]) -> impl Iterator<Item = &'a Service> + 'a {
        ids.iter().map(|&id| self.get(id))
    }

    /// The token issuer (`[defaults] token_issuer`), if the spec names one.
    pub fn token_issuer(&self) -> Option<&Service> {
        self.token_issuer.map(|id| self.get(id))
    }

    /// The service that owns `table`, if any.
    pub fn owner_of(&self, table: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.tables.iter().any(|t| t.name == table))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// This service's own id in [`Spec::services`].
    pub id: ServiceId,
    /// Short lower-case name, e.g. `auth`; crates are `nova-<name>` and `nova-<name>-service`.
    pub name: String,
    /// gRPC port: `port = ` in the spec, or derived from the name (never from file order).
    pub port: u16,
    /// The services this one calls (`calls = [...]`), sorted: the only clients it may depend
    /// on, the endpoints its deployment gets, the edges of the system picture.
    pub calls: Vec<ServiceId>,
    /// Callees whose edge the spec allows to close a dependency cycle (`allow_cycle`), sorted.
    pub allow_cycle: Vec<ServiceId>,
    /// `checks_users = true`: the service gets a generated check of users against the token
    /// issuer (see [`Spec::user_directory`]).
    pub checks_users: bool,
    /// The events it publishes (`publishes`) and consumes (`consumes`, and the deletions its
    /// logical references follow).
    pub events: Events,
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
    pub api_dependencies: Vec<ServiceId>,
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
    /// Who may call it.
    pub access: Access,
    /// The objectives this RPC is held to: its own `slo` line over the service's.
    pub slo: Slo,
    /// Whether the RPC's line sets its own `slo` (its alerts are then emitted separately).
    pub own_slo: bool,
    pub docs: Vec<String>,
    /// Hash of the request and response schemas (and every type they use), which versions
    /// cache keys: bytes cached under one schema are never decoded under another.
    pub schema_hash: u64,
}

/// Who may call an RPC (`access` in the spec), enforced by the generated server before the
/// handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub kind: AccessKind,
    /// For [`AccessKind::Service`]: the services that may call (explicit, or every service
    /// whose `calls` list the owner). For the others: services that may also call as
    /// themselves. Sorted.
    pub services: Vec<String>,
    /// Request fields naming the acting user, bound to the caller (spec order).
    pub acting: Vec<String>,
    /// The answer is the same for every admitted caller: cached responses are shared.
    pub shared: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessKind {
    Public,
    User,
    Service,
    /// An end user holding this permission.
    Permission(String),
}

impl Access {
    /// One line for docs and tables, e.g. `user; author_id bound to the caller`.
    pub fn describe(&self) -> String {
        let mut text = match &self.kind {
            AccessKind::Public => "public".to_string(),
            AccessKind::User => "user".to_string(),
            AccessKind::Service => format!("service ({})", self.services.join(", ")),
            AccessKind::Permission(permission) => format!("permission `{permission}`"),
        };
        if !matches!(self.kind, AccessKind::Service) && !self.services.is_empty() {
            text.push_str(&format!("; also {} calling as themselves", self.services.join(", ")));
        }
        if !self.acting.is_empty() {
            text.push_str(&format!("; {} bound to the caller", self.acting.join(", ")));
        }
        if self.shared {
            text.push_str("; one answer for all callers");
        }
        text
    }

    /// The spec's word for the kind: `public`, `user`, `service` or `permission`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            AccessKind::Public => "public",
            AccessKind::User => "user",
            AccessKind::Service => "service",
            AccessKind::Permission(_) => "permission",
        }
    }
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
    /// A batch read cached per id (the spec's `per_id`).
    pub per_id: Option<PerId>,
    /// A single-id read that shares the per-id entries of a batch read (named as the batch's
    /// `single`), and whose misses are gathered into calls of that batch read.
    pub paired: Option<Paired>,
}

/// How a batch read's request and response are taken apart into one cache entry per id:
/// `ids` in, one `items` element per id found (identified by its `id_field`), the others
/// listed in `missing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerId {
    /// The request's `repeated string` field of ids (the RPC's entity).
    pub ids_field: String,
    /// The response's repeated message field of items.
    pub items_field: String,
    /// The items' message, a local message of the package.
    pub item: String,
    /// The item's string field holding its id.
    pub id_field: String,
    /// The response's `repeated string` field of ids not found.
    pub missing_field: String,
    /// Ids the owner accepts in one request.
    pub max: u32,
    /// What an id names, for the single read's NOT_FOUND (`user` for `user_ids`).
    pub noun: String,
}

/// The single-id half of a `per_id` pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paired {
    /// The batch read, e.g. `GetUsersByIds`.
    pub batch: String,
    /// The single read's request field holding the id.
    pub id_field: String,
    /// The single read's response field holding the item.
    pub response_field: String,
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
    /// Table-level CHECK constraints (`checks = [...]`), in declaration order. Enum columns
    /// add their own check when lowered.
    pub checks: Vec<Check>,
    /// `soft_delete = true`: deleting sets `deleted_at`, reads hide such rows, and uniques hold
    /// among live rows only (partial unique indexes), so a deleted row's values can be reused.
    pub soft_delete: bool,
    /// `idempotency_key = "<column>"`: the unique column naming the request that wrote a row;
    /// the repository gets `insert_idempotent`.
    pub idempotency_key: Option<String>,
    /// Composite foreign keys to tables of the same service (`foreign_keys = [...]`); a
    /// single column's `-> t.c` stays on the column.
    pub foreign_keys: Vec<ForeignKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub table: String,
    pub target_columns: Vec<String>,
    pub on_delete: OnDelete,
}

/// The column a soft-deleting table marks deleted rows with.
pub const SOFT_DELETE_COLUMN: &str = "deleted_at";

/// A CHECK constraint of a table: its PostgreSQL name and the boolean expression as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub expression: String,
}

/// A name in one of a table's column lists (key, uniques, indexes, counters, ...) that names
/// none of its columns. Validation rejects such specs, so this is a bug in nova-gen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "table `{table}` lists `{column}` as a column but has no such column; validation should have rejected the spec, so this is a bug in nova-gen: please report it with the spec"
)]
pub struct UnknownColumn {
    pub table: String,
    pub column: String,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns `names` name, in order. A name that is no column is an error rather than a
    /// shorter list, which would silently generate a function with a parameter or a bind too few.
    pub fn columns_named<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Result<Vec<&Column>, UnknownColumn> {
        names.into_iter().map(|name| self.column_named(name)).collect()
    }

    /// [`Table::columns_named`] for one name.
    pub fn column_named(&self, name: &str) -> Result<&Column, UnknownColumn> {
        self.column(name).ok_or_else(|| UnknownColumn { table: self.name.clone(), column: name.to_string() })
    }

    pub fn is_primary_key(&self, column: &str) -> bool {
        self.primary_key.iter().any(|c| c == column)
    }

    /// Whether the generator added the table for the service's events (see
    /// [`plumbing_table_prefix`]).
    pub fn is_plumbing(&self) -> bool {
        self.name.starts_with(plumbing_table_prefix())
    }

    /// The condition reads add to hide soft-deleted rows, if the table soft-deletes.
    pub fn live_condition(&self) -> Option<String> {
        self.soft_delete.then(|| format!("{SOFT_DELETE_COLUMN} IS NULL"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    pub default: Option<DefaultValue>,
    pub reference: Option<Reference>,
    /// `-- text` at the end of the column line: a SQL comment and the Rust field's doc.
    pub doc: Option<String>,
    /// `enum(...)`: the values the column may hold; `ty` is `text` (names stored) or
    /// `smallint` (explicit numbers stored).
    pub enumeration: Option<Enumeration>,
    /// `generated (<expr>)`: a stored generated column; never written by repositories.
    pub generated: Option<String>,
    /// `identity`: `GENERATED ALWAYS AS IDENTITY`; the database numbers rows, inserts give none.
    pub identity: bool,
}

impl Column {
    /// Whether repositories read the column into rows (a `tsvector` exists for its index only:
    /// sqlx has no Rust type for it).
    pub fn is_read(&self) -> bool {
        !matches!(self.ty, ColumnType::Scalar(ScalarType::TsVector) | ColumnType::Array(ScalarType::TsVector))
    }

    /// Whether inserts and updates write the column (generated and identity ones never).
    pub fn is_written(&self) -> bool {
        self.generated.is_none() && !self.identity
    }
}

/// The closed set of values of an enum column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumeration {
    /// In declaration order; `number` is set for every value or none.
    pub values: Vec<EnumValue>,
    /// The service's proto enum with the same values (and numbers, when numbered), if exactly
    /// one fits: the repository converts to and from it.
    pub proto: Option<ProtoEnum>,
}

/// A proto enum an enum column maps to, as prost names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoEnum {
    /// The Rust type under `pb`, e.g. `AccountStatus`.
    pub name: String,
    /// The prost variant of each of the column's values, in the column's order, e.g. `Active`.
    pub variants: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    /// lower_snake_case, as written (and as stored when the column is text).
    pub name: String,
    /// The stored number when the column is smallint: `enum(active = 1, locked = 2)`.
    pub number: Option<i64>,
}

impl EnumValue {
    /// The SQL literal the value is stored as: its number, or its name quoted. Taken from the
    /// value itself rather than looked up by name, so there is no name to miss.
    pub fn sql_literal(&self) -> String {
        match self.number {
            Some(n) => n.to_string(),
            None => format!("'{}'", self.name),
        }
    }
}

impl Enumeration {
    /// Stored as numbers (smallint) rather than names (text).
    pub fn is_numbered(&self) -> bool {
        self.values.iter().any(|v| v.number.is_some())
    }
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
    Real,
    Time,
    Interval,
    TsVector,
    /// `varchar(n)`.
    Varchar(u32),
    /// `numeric(precision, scale)`.
    Numeric(u16, u16),
    /// `inet`: an IP address.
    Inet,
    /// `citext`: case-insensitive text (the `citext` extension); compared case-insensitively
    /// in lookups, filters, uniques and cursors.
    Citext,
}

impl ScalarType {
    /// The spelling used in ownership.toml.
    pub const ALL: [(&'static str, ScalarType); 17] = [
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
        ("real", ScalarType::Real),
        ("time", ScalarType::Time),
        ("interval", ScalarType::Interval),
        ("tsvector", ScalarType::TsVector),
        ("inet", ScalarType::Inet),
        ("citext", ScalarType::Citext),
    ];

    /// Element types PostgreSQL arrays are allowed for in specs.
    /// Every scalar but `tsvector` and `jsonb` (a JSON array is a jsonb value already), and
    /// `citext` (its array type has no built-in Rust mapping; `text[]` with `lower(...)` serves).
    pub fn allows_array(self) -> bool {
        !matches!(self, ScalarType::TsVector | ScalarType::Jsonb | ScalarType::Citext)
    }

    /// The PostgreSQL extension a column of this type needs, if any.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            ScalarType::Citext => Some("citext"),
            _ => None,
        }
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
    /// `default (<expr>)`: an SQL expression such as `now() + interval '24 hours'`, as written
    /// between the parentheses.
    Expression(String),
    /// `default <name>` on an enum column; the model replaces it by the stored literal.
    Variant(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A foreign key inside the service's own database.
    Local { table: String, column: String, on_delete: OnDelete },
    /// A logical reference to another service's table: never a SQL foreign key; the owner's
    /// API is the only way to check it.
    /// `on_delete` is what the service does when the owner publishes the row's deletion:
    /// `Cascade` deletes the referring rows, `SetNull` clears the column, `NoAction` keeps them.
    Remote { service: String, table: String, column: String, on_delete: OnDelete },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// No clause: PostgreSQL's NO ACTION (deleting a referenced row fails at commit).
    NoAction,
    /// `restrict`: deleting a referenced row fails at once.
    Restrict,
    Cascade,
    /// `set null`: the reference is cleared (the column must be nullable).
    SetNull,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub columns: Vec<IndexColumn>,
    /// A unique index (a live-rows unique, or one over an expression or with a predicate).
    pub unique: bool,
    /// `btree` or `gin`.
    pub method: String,
    /// `where <predicate>`: a partial index.
    pub predicate: Option<String>,
}

impl Index {
    /// An ordinary btree over columns, on every row: one that `list_by_*` functions can use.
    pub fn is_plain(&self) -> bool {
        !self.unique && self.method == "btree" && self.predicate.is_none() && self.columns.iter().all(|c| !c.expression)
    }

    pub fn plain(columns: Vec<IndexColumn>) -> Index {
        Index { columns, unique: false, method: "btree".to_string(), predicate: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumn {
    /// A column name, or an SQL expression when `expression` (e.g. `lower(email)`).
    pub name: String,
    pub descending: bool,
    pub expression: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str) -> Column {
        let ty = ColumnType::Scalar(ScalarType::BigInt);
        Column {
            name: name.into(),
            ty,
            nullable: false,
            default: None,
            reference: None,
            doc: None,
            enumeration: None,
            generated: None,
            identity: false,
        }
    }

    fn table() -> Table {
        Table {
            name: "posts".into(),
            doc: None,
            columns: vec![column("id"), column("body"), column("likes")],
            primary_key: vec!["id".into()],
            uniques: vec![vec!["body".into()]],
            indexes: vec![],
            version_column: None,
            counters: vec!["likes".into()],
            touch_column: None,
            immutable: vec![],
            append_only: false,
            checks: vec![],
            soft_delete: false,
            foreign_keys: vec![],
            idempotency_key: None,
        }
    }

    #[test]
    fn a_name_without_a_column_is_an_error_not_a_shorter_list() {
        let posts = table();
        let found = posts.columns_named(["likes", "id"]).unwrap();
        assert_eq!(found.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["likes", "id"]);
        let error = posts.columns_named(["id", "shares"]).unwrap_err();
        assert_eq!(error, UnknownColumn { table: "posts".into(), column: "shares".into() });
        assert!(posts.column_named("body").is_ok());
    }
}

/// A service's events: what it publishes through its outbox and what it consumes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Events {
    /// In spec order.
    pub publishes: Vec<Event>,
    /// One per publisher, by publisher name.
    pub consumes: Vec<Subscription>,
}

impl Events {
    /// Whether the service has events at all (and so the outbox/inbox tables and a NATS
    /// connection).
    pub fn any(&self) -> bool {
        !self.publishes.is_empty() || !self.consumes.is_empty()
    }
}

/// One event a service publishes about rows of one of its tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The table whose rows it is about (the aggregate).
    pub table: String,
    /// The event's name within the table: `created`, `updated`, `deleted` or a domain name.
    pub name: String,
    /// The proto message it carries (in the publisher's package), or none: lifecycle events
    /// carry the row's key only.
    pub message: Option<String>,
    /// The table's key column (events are about single-key tables).
    pub key: Column,
}

impl Event {
    /// `users.deleted`: the name within the publisher (and the subject's tail).
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.table, self.name)
    }
}

/// What one service consumes from one publisher.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub publisher: ServiceId,
    pub publisher_name: String,
    pub events: Vec<ConsumedEvent>,
}

/// One consumed event and what the generated consumer does with it before the handwritten
/// handler runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumedEvent {
    pub event: Event,
    /// For a `deleted` event: the consumer's rows referring to the deleted row, and what
    /// happens to them (from the logical references' `cascade` / `set null`), children first.
    pub cascades: Vec<Cascade>,
}

/// Rows that follow a deletion in another service.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    pub table: String,
    pub column: String,
    /// `Cascade` deletes the rows, `SetNull` clears the column.
    pub action: OnDelete,
}

/// Tables the generator adds to a service's database for its events (names start with
/// `nova_`, which spec tables may not use): no repositories, written by `nova_runtime::events`.
pub fn plumbing_table_prefix() -> &'static str {
    "nova_"
}
