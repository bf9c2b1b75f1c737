//! Signing in: password check, failed-attempt counting and lockout, and the session a
//! successful sign-in opens.

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::serde_json::json;
use ::nova_runtime::codegen::sqlx::PgConnection;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::timestamp;
use ::nova_runtime::{CallContext, LogicError, RepoError};
use nova_auth::pb;
use nova_auth::repo::{auth_logs, users as users_table};

use crate::input::required;
use crate::{AuthLogic, sessions, users};

/// Longest accepted `device` description.
const MAX_DEVICE_CHARS: usize = 200;

/// The one answer for an unknown email, a deleted account and a wrong password.
fn incorrect() -> LogicError {
    LogicError::Unauthenticated("email or password is incorrect".into())
}

/// The answer for a locked account, whatever the password.
fn locked(until: DateTime<Utc>) -> LogicError {
    LogicError::FailedPrecondition(format!("account locked until {}", until.to_rfc3339()))
}

/// Appends an audit entry in the caller's transaction.
pub async fn audit(
    conn: &mut PgConnection,
    user_id: Option<Uuid>,
    event: &str,
    detail: ::nova_runtime::codegen::serde_json::Value,
) -> Result<(), LogicError> {
    let entry = auth_logs::New { id: None, user_id, event: event.to_string(), ip_address: None, detail: Some(detail), created_at: None };
    auth_logs::insert(conn, &entry).await?;
    Ok(())
}

/// The state of an account after one more failed attempt.
pub struct Failure {
    pub attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// Login: see the proto. Everything a success writes (counter reset, last sign-in, session,
/// refresh token, audit entry) commits in one transaction.
pub async fn login(logic: &AuthLogic, ctx: &CallContext, request: pb::LoginRequest) -> Result<pb::LoginResponse, LogicError> {
    let email = required("email", &request.email)?.trim().to_lowercase();
    required("password", &request.password)?;
    if request.device.chars().count() > MAX_DEVICE_CHARS {
        return Err(LogicError::invalid_argument(format!("device must be at most {MAX_DEVICE_CHARS} characters")));
    }
    let Some(row) = users_table::find_by_email(logic.db(), &email).await? else {
        logic.hashing().verify(ctx.deadline, None, request.password).await?;
        return Err(incorrect());
    };
    let now = Utc::now();
    if let Some(until) = users::locked_until(&row, now) {
        return Err(locked(until));
    }
    if !logic.hashing().verify(ctx.deadline, Some(row.password_hash.clone()), request.password).await? {
        record_failure(logic, row.id, now).await?;
        return Err(incorrect());
    }
    let session_id = Uuid::new_v4();
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    // Locks the row: a concurrent failure or deletion is seen, not overwritten.
    let attempts = match users_table::increment_failed_login_attempts(&mut *tx, row.id, 0).await {
        Err(RepoError::NotFound { .. }) => return Err(incorrect()),
        other => other?,
    };
    let current = users_table::get(&mut *tx, row.id).await?.ok_or_else(incorrect)?;
    if let Some(until) = users::locked_until(&current, now) {
        return Err(locked(until));
    }
    if attempts != 0 {
        users_table::increment_failed_login_attempts(&mut *tx, row.id, -attempts).await?;
    }
    let patch = users_table::Patch { last_login_at: Some(Some(now)), locked_until: Some(None), ..Default::default() };
    let user = users_table::update(&mut *tx, row.id, &patch).await?;
    let tokens = sessions::open(logic, &mut tx, user.id, session_id, &request.device, now).await?;
    audit(&mut tx, Some(user.id), "login", json!({ "session_id": session_id })).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing the sign-in", e))?;
    // GetUser shows last_login_at (and the lock, now lifted).
    logic.invalidator().entity(&user.id.to_string()).await;
    Ok(pb::LoginResponse { user: Some(users::to_proto(&user)), tokens: Some(tokens) })
}

/// Counts one failed attempt against a live account, locking it at the configured count;
/// `None` when there is no live account with that id. One transaction; the counter moves
/// by atomic increments, so concurrent failures all count.
pub async fn record_failure(logic: &AuthLogic, user_id: Uuid, now: DateTime<Utc>) -> Result<Option<Failure>, LogicError> {
    let settings = logic.settings();
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    let mut attempts = match users_table::increment_failed_login_attempts(&mut *tx, user_id, 1).await {
        Err(RepoError::NotFound { .. }) => return Ok(None),
        other => other?,
    };
    let Some(row) = users_table::get(&mut *tx, user_id).await? else { return Ok(None) };
    let mut patch = users_table::Patch::default();
    let mut locked_until = users::locked_until(&row, now);
    if row.locked_until.is_some_and(|until| until <= now) {
        // A lock that has run out: counting starts again from this failure.
        attempts = users_table::increment_failed_login_attempts(&mut *tx, user_id, 1 - attempts).await?;
        patch.locked_until = Some(None);
    }
    if locked_until.is_none() && attempts >= settings.max_failed_logins {
        let until = now + settings.lockout;
        patch.locked_until = Some(Some(until));
        locked_until = Some(until);
    }
    let lock_changed = patch != users_table::Patch::default();
    if lock_changed {
        users_table::update(&mut *tx, user_id, &patch).await?;
    }
    audit(&mut tx, Some(user_id), "login_failed", json!({ "attempts": attempts, "locked": locked_until.is_some() })).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing a failed sign-in", e))?;
    if lock_changed {
        // GetUser shows the account as locked (or no longer).
        logic.invalidator().entity(&user_id.to_string()).await;
    }
    Ok(Some(Failure { attempts, locked_until }))
}

/// RecordFailedLogin: see the proto.
pub async fn record_failed_login(logic: &AuthLogic, request: pb::RecordFailedLoginRequest) -> Result<pb::RecordFailedLoginResponse, LogicError> {
    let user_id = ::nova_runtime::convert::parse_uuid("user_id", &request.user_id)?;
    let failure = record_failure(logic, user_id, Utc::now()).await?.ok_or_else(|| LogicError::not_found(format!("no user {user_id}")))?;
    Ok(pb::RecordFailedLoginResponse {
        failed_attempts: failure.attempts,
        locked: failure.locked_until.is_some(),
        locked_until: failure.locked_until.map(timestamp),
    })
}
