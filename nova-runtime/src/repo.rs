//! Errors of generated repositories, classified so that business logic can react (a taken
//! email is `AlreadyExists`, a stale version is a conflict) instead of parsing SQL states.

use sqlx::error::ErrorKind;

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
    /// The database could not be reached or the pool is exhausted: worth retrying later.
    #[error("{table}: database unavailable")]
    Unavailable {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("{table}: database error")]
    Database {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl RepoError {
    /// Classifies a driver error raised while working on `table`.
    pub fn from_sqlx(table: &'static str, error: sqlx::Error) -> Self {
        if let Some(db) = error.as_database_error() {
            let constraint = db.constraint().map(str::to_string);
            match db.kind() {
                ErrorKind::UniqueViolation => return RepoError::UniqueViolation { table, constraint },
                ErrorKind::ForeignKeyViolation => return RepoError::ForeignKeyViolation { table, constraint },
                _ => {}
            }
        }
        match error {
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                RepoError::Unavailable { table, source: error }
            }
            other => RepoError::Database { table, source: other },
        }
    }
}

/// `Result` of repository functions.
pub type RepoResult<T> = Result<T, RepoError>;
