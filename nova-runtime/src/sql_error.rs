//! What a database error means for the caller, decided in one place for every path that
//! touches PostgreSQL (generated repositories, transactions begun by hand, migrations), so a
//! transient failure can never surface as `INTERNAL`.

use sqlx::error::ErrorKind;

/// The meaning of a `sqlx::Error` for the call that hit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlFault {
    /// The database cannot be reached, is shutting down, restarting, overloaded or out of
    /// resources, or the pool has no connection within the time allowed: the same call may
    /// succeed later -> `UNAVAILABLE`.
    Unavailable,
    /// A concurrent transaction won: serialization failure (40001), deadlock (40P01) or a
    /// lock that could not be taken (55P03). Re-run the whole transaction -> `ABORTED`.
    Conflict,
    /// A value PostgreSQL cannot store as text, such as a NUL byte -> `INVALID_ARGUMENT`.
    InvalidText,
    /// A unique constraint (its name, when known) rejected the row.
    UniqueViolation(Option<String>),
    /// A foreign key (its name, when known) refers to a missing row.
    ForeignKeyViolation(Option<String>),
    /// A CHECK constraint (its name, when known; enums are checks too) or NOT NULL rejected
    /// the row: the values given are wrong -> `INVALID_ARGUMENT`.
    CheckViolation(Option<String>),
    /// A value the column's type cannot hold (out of range, too long, malformed: SQLSTATE
    /// class 22, data exception) -> `INVALID_ARGUMENT`.
    InvalidValue,
    /// Anything else: a bug or an unexpected state -> `INTERNAL`.
    Other,
}

impl SqlFault {
    /// Whether retrying the same operation later can succeed without changing the request.
    pub fn is_transient(&self) -> bool {
        matches!(self, SqlFault::Unavailable | SqlFault::Conflict)
    }
}

/// Classifies a driver error.
pub fn classify(error: &sqlx::Error) -> SqlFault {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code();
            match db.kind() {
                ErrorKind::UniqueViolation => SqlFault::UniqueViolation(db.constraint().map(str::to_string)),
                ErrorKind::ForeignKeyViolation => SqlFault::ForeignKeyViolation(db.constraint().map(str::to_string)),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => SqlFault::CheckViolation(db.constraint().map(str::to_string)),
                _ => classify_sqlstate(code.as_deref().unwrap_or("")),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => SqlFault::Unavailable,
        _ => SqlFault::Other,
    }
}

/// The meaning of a PostgreSQL SQLSTATE (Appendix A of the PostgreSQL manual).
pub fn classify_sqlstate(code: &str) -> SqlFault {
    match code {
        "40001" | "40P01" | "55P03" => SqlFault::Conflict,
        "22021" | "22P05" => SqlFault::InvalidText,
        "23514" | "23502" => SqlFault::CheckViolation(None),
        _ if code.starts_with("22") => SqlFault::InvalidValue,
        // admin/crash shutdown, starting up, query cancelled (statement timeout), database
        // dropped or not there yet, read-only after a failover.
        "57P01" | "57P02" | "57P03" | "57P04" | "57014" | "3D000" | "25006" => SqlFault::Unavailable,
        // connection exception, insufficient resources (too many connections, disk full,
        // out of memory), system error.
        _ if code.starts_with("08") || code.starts_with("53") || code.starts_with("58") => SqlFault::Unavailable,
        _ => SqlFault::Other,
    }
}

/// The first `sqlx::Error` in `error`'s `source()` chain, itself included.
pub fn find_in_chain<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a sqlx::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<sqlx::Error>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}
