//! The one error type of business logic, and how it becomes a gRPC status.
//!
//! Each variant is a decision the caller can act on (retry, fix the request, re-read and try
//! again); the mapping to status codes lives here, once. Internal causes are logged with the
//! request id and never sent to the caller. Database errors are classified by
//! [`crate::sql_error`] wherever they enter a `LogicError` (`?` on a `sqlx::Error`, a
//! `RepoError`, or [`LogicError::internal`] wrapping either), so a transient failure is
//! `UNAVAILABLE` or `ABORTED`, never `INTERNAL`.

use std::error::Error as StdError;

use tonic::{Code, Status};

use crate::repo::RepoError;
use crate::sql_error::{SqlFault, classify, find_in_chain};

/// Longest status message sent to a caller, in bytes: inputs are quoted shorter than this
/// (see [`crate::convert::quote`]); this only bounds messages nobody bounded.
pub const MAX_STATUS_MESSAGE: usize = 512;

/// Any error, boxed: the cause kept by [`LogicError::Internal`] (and taken by
/// [`LogicError::internal`]), so that the whole chain can be logged.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The error every handler (`Logic` method) returns: one variant per decision the caller can
/// act on, each mapped to exactly one gRPC status code by [`LogicError::code`].
///
/// Handlers build it with the variant that describes the situation from the *caller's* point
/// of view (`NotFound`, `InvalidArgument`, `Aborted`, ...), with a message the caller may read,
/// or with `?` on a [`RepoError`] or a `sqlx::Error` (both classified, so a database outage
/// becomes [`LogicError::Unavailable`], a serialization failure [`LogicError::Aborted`]).
/// Unexpected failures go through [`LogicError::internal`], which keeps the cause for the log
/// and sends the caller only "internal error" and the request id.
///
/// The generated server turns it into a `tonic::Status` with [`LogicError::into_status`]; a
/// handler whose call to another service failed turns that status back into one with
/// [`LogicError::from_upstream`] (e.g. `.map_err(LogicError::from_upstream)?`).
#[derive(Debug, thiserror::Error)]
pub enum LogicError {
    /// The addressed entity does not exist -> `NOT_FOUND`.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed, whatever the state of the system -> `INVALID_ARGUMENT`.
    #[error("{0}")]
    InvalidArgument(String),
    /// The entity to create exists already -> `ALREADY_EXISTS`.
    #[error("{0}")]
    AlreadyExists(String),
    /// A concurrent change won (e.g. a stale `version`): re-read and retry -> `ABORTED`.
    #[error("{0}")]
    Aborted(String),
    /// The system is not in the state the operation needs -> `FAILED_PRECONDITION`.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller is known but may not do this (another user's data, a service the RPC does
    /// not list, a missing permission) -> `PERMISSION_DENIED`.
    #[error("{0}")]
    PermissionDenied(String),
    /// The call carries no valid credentials (no token, or an expired, revoked or forged one)
    /// where it needs them -> `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(String),
    /// A quota or limit is exhausted -> `RESOURCE_EXHAUSTED`.
    #[error("{0}")]
    ResourceExhausted(String),
    /// A dependency is down; the call may succeed later -> `UNAVAILABLE`.
    #[error("{0}")]
    Unavailable(String),
    /// The deadline passed before the work finished -> `DEADLINE_EXCEEDED`.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    /// The RPC has no implementation yet -> `UNIMPLEMENTED`.
    #[error("{0} is not implemented")]
    Unimplemented(&'static str),
    /// A bug or an unexpected failure -> `INTERNAL`; `context` and the cause are logged, the
    /// caller sees only "internal error".
    #[error("{context}")]
    Internal {
        /// What the service was doing when it failed (e.g. `hashing password`): logged, never
        /// sent.
        context: String,
        /// The underlying error, if any: logged with its whole `source()` chain.
        #[source]
        source: Option<BoxError>,
    },
}

impl LogicError {
    /// Shorthand for [`LogicError::NotFound`]; `what` names the missing entity, e.g.
    /// `LogicError::not_found(format!("post {id}"))`.
    pub fn not_found(what: impl Into<String>) -> Self {
        LogicError::NotFound(what.into())
    }

    /// Shorthand for [`LogicError::InvalidArgument`]; `what` tells the caller what to fix in
    /// the request.
    pub fn invalid_argument(what: impl Into<String>) -> Self {
        LogicError::InvalidArgument(what.into())
    }

    /// An internal failure with its cause, e.g. `LogicError::internal("hashing password", e)`.
    ///
    /// When the cause is (or wraps) a database error that is transient, the result is
    /// `Unavailable` or `Aborted` instead: `internal("starting a transaction", e)` with the
    /// database down is an outage the caller may retry, not a bug.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        let context = context.into();
        let source = source.into();
        let fault = find_in_chain(&*source).map(|error| (classify(error), error.to_string()));
        match fault {
            Some((fault, cause))
                if fault.is_transient() || matches!(fault, SqlFault::InvalidText | SqlFault::CheckViolation(_) | SqlFault::InvalidValue) =>
            {
                LogicError::from_fault(&context, fault, &cause)
            }
            _ => LogicError::Internal { context, source: Some(source) },
        }
    }

    /// The error for a classified database failure while doing `context`.
    fn from_fault(context: &str, fault: SqlFault, cause: &str) -> Self {
        match fault {
            SqlFault::Unavailable => LogicError::Unavailable(format!("{context}: the database is unavailable ({cause})")),
            SqlFault::Conflict => LogicError::Aborted(format!("{context}: a concurrent transaction won ({cause}); retry")),
            SqlFault::InvalidText => LogicError::InvalidArgument(format!("{context}: a text field holds a character the database cannot store")),
            SqlFault::UniqueViolation(constraint) => {
                LogicError::AlreadyExists(format!("{context}: the {} is taken", constraint.as_deref().unwrap_or("key")))
            }
            SqlFault::ForeignKeyViolation(constraint) => {
                LogicError::FailedPrecondition(format!("{context}: refers to a missing row ({})", constraint.as_deref().unwrap_or("foreign key")))
            }
            SqlFault::CheckViolation(constraint) => {
                LogicError::InvalidArgument(format!("{context}: a value breaks the rule {}", constraint.as_deref().unwrap_or("of the table")))
            }
            SqlFault::InvalidValue => LogicError::InvalidArgument(format!("{context}: a value the column cannot hold ({cause})")),
            SqlFault::Other => LogicError::Internal { context: context.to_string(), source: Some(cause.to_string().into()) },
        }
    }

    /// A failed call to another service, seen from this one: its outages stay retryable for
    /// our caller, its deadline is ours, a refused (forwarded) token is the caller's, anything
    /// else is our own internal failure (the caller asked us, not the dependency).
    pub fn from_upstream(status: Status) -> Self {
        match status.code() {
            Code::Unavailable => LogicError::Unavailable(format!("a dependency is unavailable: {}", status.message())),
            Code::DeadlineExceeded => LogicError::DeadlineExceeded,
            Code::ResourceExhausted => LogicError::ResourceExhausted(status.message().to_string()),
            // The user's token, forwarded, was refused downstream (it expired or was revoked
            // while this call ran): the caller's credentials, not a bug.
            Code::Unauthenticated => LogicError::Unauthenticated(status.message().to_string()),
            _ => LogicError::Internal { context: "dependency call failed".to_string(), source: Some(Box::new(status)) },
        }
    }

    /// A failed call to the dependency `service`, as [`LogicError::from_upstream`] maps it,
    /// logged at debug level with the dependency's name, code and message first: what every
    /// service's calls do with an answer they did not expect.
    pub fn upstream(service: &'static str, status: Status) -> Self {
        tracing::debug!(service, code = ?status.code(), message = status.message(), "call to a dependency failed");
        LogicError::from_upstream(status)
    }

    /// The gRPC status code this error is sent with (the one place where the mapping is
    /// defined).
    pub fn code(&self) -> Code {
        match self {
            LogicError::NotFound(_) => Code::NotFound,
            LogicError::InvalidArgument(_) => Code::InvalidArgument,
            LogicError::AlreadyExists(_) => Code::AlreadyExists,
            LogicError::Aborted(_) => Code::Aborted,
            LogicError::FailedPrecondition(_) => Code::FailedPrecondition,
            LogicError::PermissionDenied(_) => Code::PermissionDenied,
            LogicError::Unauthenticated(_) => Code::Unauthenticated,
            LogicError::ResourceExhausted(_) => Code::ResourceExhausted,
            LogicError::Unavailable(_) => Code::Unavailable,
            LogicError::DeadlineExceeded => Code::DeadlineExceeded,
            LogicError::Unimplemented(_) => Code::Unimplemented,
            LogicError::Internal { .. } => Code::Internal,
        }
    }

    /// The status sent to the caller. Logs every error with the method and request id: client
    /// mistakes at `debug`, failures of a dependency at `warn`, server-side failures at `error`
    /// with the whole cause chain.
    pub fn into_status(self, method: &str, request_id: &str) -> Status {
        let code = self.code();
        match &self {
            LogicError::Internal { context, source } => {
                let cause = source.as_deref().map(|e| cause_chain(e)).unwrap_or_default();
                tracing::error!(method, request_id, code = ?code, context = %context, cause = %cause, "request failed");
                Status::new(code, format!("internal error (request id {request_id})"))
            }
            LogicError::Unavailable(_) | LogicError::DeadlineExceeded | LogicError::ResourceExhausted(_) | LogicError::Aborted(_) => {
                let message = bounded(self.to_string());
                tracing::warn!(method, request_id, code = ?code, error = %message, "request failed");
                Status::new(code, message)
            }
            _ => {
                let message = bounded(self.to_string());
                // The caller's mistake, not the service's: at debug, next to the call's line.
                tracing::debug!(method, request_id, code = ?code, error = %message, "request rejected");
                Status::new(code, message)
            }
        }
    }
}

/// `message` cut to at most [`MAX_STATUS_MESSAGE`] bytes (on a character boundary).
fn bounded(mut message: String) -> String {
    if message.len() > MAX_STATUS_MESSAGE {
        let mut end = MAX_STATUS_MESSAGE - '…'.len_utf8();
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

impl From<sqlx::Error> for LogicError {
    /// A database error met outside a repository, e.g. `self.db.begin().await?`.
    fn from(error: sqlx::Error) -> Self {
        let fault = classify(&error);
        match fault {
            SqlFault::Other => LogicError::Internal { context: "database error".to_string(), source: Some(Box::new(error)) },
            fault => LogicError::from_fault("database", fault, &error.to_string()),
        }
    }
}

/// `outer: inner: innermost`, the whole `source()` chain of an error: what error logs should
/// show, since most errors' `Display` leaves the cause out.
pub fn cause_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        current = cause.source();
    }
    text
}

impl From<RepoError> for LogicError {
    fn from(error: RepoError) -> Self {
        match error {
            RepoError::NotFound { table } => LogicError::NotFound(format!("no such row in {table}")),
            RepoError::VersionConflict { table, expected, actual } => {
                LogicError::Aborted(format!("{table} changed concurrently: version is {actual}, not {expected}; re-read and retry"))
            }
            RepoError::UniqueViolation { table, constraint } => {
                LogicError::AlreadyExists(format!("a row of {table} with the same {} exists", constraint.as_deref().unwrap_or("key")))
            }
            RepoError::ForeignKeyViolation { table, constraint } => {
                LogicError::FailedPrecondition(format!("{table} refers to a missing row ({})", constraint.as_deref().unwrap_or("foreign key")))
            }
            RepoError::CheckViolation { table, constraint } => {
                LogicError::InvalidArgument(format!("{table}: a value breaks the rule {}", constraint.as_deref().unwrap_or("of the table")))
            }
            RepoError::InvalidValue { table, source } => LogicError::InvalidArgument(format!("{table}: a value the column cannot hold ({source})")),
            RepoError::Unavailable { table, source } => LogicError::Unavailable(format!("database unavailable while using {table}: {source}")),
            RepoError::Conflict { table, source } => LogicError::Aborted(format!("{table}: a concurrent transaction won ({source}); retry")),
            RepoError::InvalidText { table } => {
                LogicError::InvalidArgument(format!("{table}: a text field holds a character the database cannot store"))
            }
            RepoError::Database { table, source } => LogicError::internal(format!("database error on {table}"), source),
        }
    }
}
