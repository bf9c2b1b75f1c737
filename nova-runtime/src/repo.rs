//! Errors of generated repositories, classified so that business logic can react (a taken
//! email is `AlreadyExists`, a stale version is a conflict) instead of parsing SQL states.

use crate::sql_error::{SqlFault, classify};

/// The error of every generated repository function: what went wrong with which table, already
/// classified from the driver's error (see [`RepoError::from_sqlx`]).
///
/// Business logic matches on the variants it can handle (a [`RepoError::UniqueViolation`] on
/// signup is "email taken", a [`RepoError::VersionConflict`] asks the caller to re-read) and
/// passes the rest on with `?`: `From<RepoError> for LogicError` maps every variant to the
/// status code it deserves, so an unhandled repository error never becomes `INTERNAL` unless
/// it is one. Every variant names the `table` the statement worked on, for logs and messages.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row addressed by key does not exist (a get, update or delete by id) ->
    /// `NOT_FOUND`.
    #[error("no such row in {table}")]
    NotFound {
        /// The table the row was looked up in.
        table: &'static str,
    },
    /// An update carried a `version` that is no longer current: another writer changed the
    /// row since it was read (optimistic concurrency) -> `ABORTED`.
    #[error("{table}: expected version {expected}, found {actual}")]
    VersionConflict {
        /// The table of the row.
        table: &'static str,
        /// The version the update was based on.
        expected: i64,
        /// The row's current version.
        actual: i64,
    },
    /// A unique constraint (or primary key) already holds the value -> `ALREADY_EXISTS`.
    #[error("{table}: unique constraint {constraint:?} violated")]
    UniqueViolation {
        /// The table written to.
        table: &'static str,
        /// The constraint's name, when the database reported it: tells which key is taken.
        constraint: Option<String>,
    },
    /// The row refers to a row that does not exist (or a referenced row is still in use) ->
    /// `FAILED_PRECONDITION`.
    #[error("{table}: foreign key {constraint:?} violated")]
    ForeignKeyViolation {
        /// The table written to.
        table: &'static str,
        /// The foreign key's name, when the database reported it.
        constraint: Option<String>,
    },
    /// A CHECK constraint (enums included) or NOT NULL rejected the values ->
    /// `INVALID_ARGUMENT`.
    #[error("{table}: check constraint {constraint:?} violated")]
    CheckViolation {
        /// The table written to.
        table: &'static str,
        /// The constraint's name, when the database reported it.
        constraint: Option<String>,
    },
    /// A value the column's type cannot hold (out of range, too long, malformed) ->
    /// `INVALID_ARGUMENT`.
    #[error("{table}: a value the column cannot hold")]
    InvalidValue {
        /// The table written to.
        table: &'static str,
        /// The driver's error, naming the value's problem.
        #[source]
        source: sqlx::Error,
    },
    /// The database could not be reached or the pool had no connection in time: worth
    /// retrying later -> `UNAVAILABLE`.
    #[error("{table}: database unavailable")]
    Unavailable {
        /// The table the statement worked on.
        table: &'static str,
        /// The driver's error (connection refused, pool timeout, ...).
        #[source]
        source: sqlx::Error,
    },
    /// A concurrent transaction won (serialization failure, deadlock): re-run the transaction
    /// -> `ABORTED`.
    #[error("{table}: concurrent transaction conflict")]
    Conflict {
        /// The table the statement worked on.
        table: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A value the database cannot store as text (a NUL byte) -> `INVALID_ARGUMENT`.
    #[error("{table}: a text value the database cannot store")]
    InvalidText {
        /// The table written to.
        table: &'static str,
    },
    /// Any other database failure: a bug or an unexpected state, logged with its cause ->
    /// `INTERNAL` (through [`LogicError::internal`](crate::LogicError::internal)).
    #[error("{table}: database error")]
    Database {
        /// The table the statement worked on.
        table: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
}

impl RepoError {
    /// Classifies a driver error raised while working on `table` (see [`crate::sql_error`]):
    /// what generated repositories call on every `sqlx::Error`, and what hand-written SQL
    /// should call too so that its errors map like theirs.
    pub fn from_sqlx(table: &'static str, error: sqlx::Error) -> Self {
        match classify(&error) {
            SqlFault::UniqueViolation(constraint) => RepoError::UniqueViolation { table, constraint },
            SqlFault::ForeignKeyViolation(constraint) => RepoError::ForeignKeyViolation { table, constraint },
            SqlFault::CheckViolation(constraint) => RepoError::CheckViolation { table, constraint },
            SqlFault::InvalidValue => RepoError::InvalidValue { table, source: error },
            SqlFault::Unavailable => RepoError::Unavailable { table, source: error },
            SqlFault::Conflict => RepoError::Conflict { table, source: error },
            SqlFault::InvalidText => RepoError::InvalidText { table },
            SqlFault::Other => RepoError::Database { table, source: error },
        }
    }
}

/// `Result` of repository functions.
pub type RepoResult<T> = Result<T, RepoError>;
