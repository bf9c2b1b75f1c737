//! Errors of generated repositories, classified so that business logic can react (a taken
//! email is `AlreadyExists`, a stale version is a conflict) instead of parsing SQL states.

use crate::sql_error::{SqlFault, classify};

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("no such row in {table}")]
    NotFound { table: &'static str },
    /// An update carried a `version` that is no longer current.
    #[error("{table}: expected version {expected}, found {actual}")]
    VersionConflict { table: &'static str, expected: i64, actual: i64 },
    #[error("{table}: unique constraint {constraint:?} violated")]
    UniqueViolation { table: &'static str, constraint: Option<String> },
    #[error("{table}: foreign key {constraint:?} violated")]
    ForeignKeyViolation { table: &'static str, constraint: Option<String> },
    /// A CHECK constraint (enums included) or NOT NULL rejected the values.
    #[error("{table}: check constraint {constraint:?} violated")]
    CheckViolation { table: &'static str, constraint: Option<String> },
    /// A value the column's type cannot hold (out of range, too long, malformed).
    #[error("{table}: a value the column cannot hold")]
    InvalidValue {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// The database could not be reached or the pool had no connection in time: worth
    /// retrying later.
    #[error("{table}: database unavailable")]
    Unavailable {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A concurrent transaction won (serialization failure, deadlock): re-run the transaction.
    #[error("{table}: concurrent transaction conflict")]
    Conflict {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// A value the database cannot store as text (a NUL byte).
    #[error("{table}: a text value the database cannot store")]
    InvalidText { table: &'static str },
    #[error("{table}: database error")]
    Database {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl RepoError {
    /// Classifies a driver error raised while working on `table` (see [`crate::sql_error`]).
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
