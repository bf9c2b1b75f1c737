//! Signing in: the throttle check, the password check, counting failures, and the session a
//! successful sign-in opens.

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::serde_json::json;
use ::nova_runtime::codegen::sqlx::PgConnection;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, text, timestamp};
use ::nova_runtime::{CallContext, LogicError, RepoError};
use nova_auth::pb;
use nova_auth::repo::{auth_logs, users as users_table};

use crate::input::required;
use crate::throttle::{self, Counts};
use crate::{AuthLogic, sessions, users};

/// Longest accepted `device` description.
const MAX_DEVICE_CHARS: usize = 200;
/// Longest email: no account can have a longer one (Register refuses it).
const MAX_EMAIL_CHARS: usize = 254;

/// The one answer for an unknown email, a deleted account and a wrong password.
fn incorrect() -> LogicError {
    LogicError::Unauthenticated("email or password is incorrect".into())
}

/// Appends an audit entry in the caller's transaction.
pub async fn audit(
    conn: &mut PgConnection,
    user_id: Option<Uuid>,
    event: &str,
    detail: ::nova_runtime::codegen::serde_json::Value,
) -> Result<(), LogicError> {
    audit_from(conn, user_id, None, event, detail).await
}

/// [`audit`] recording where the call came from.
pub async fn audit_from(
    conn: &mut PgConnection,
    user_id: Option<Uuid>,
    source: Option<&str>,
    event: &str,
    detail: ::nova_runtime::codegen::serde_json::Value,
) -> Result<(), LogicError> {
    let entry = auth_logs::New {
        id: None,
        user_id,
        event: event.to_string(),
        ip_address: source.map(str::to_string),
        detail: Some(detail),
        created_at: None,
    };
    auth_logs::insert(conn, &entry).await?;
    Ok(())
}

/// The email as the throttle and the lookup see it: trimmed and lower-cased.
fn normalised_email(email: &str) -> Result<String, LogicError> {
    let email = required("email", email)?.trim().to_lowercase();
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(LogicError::invalid_argument(format!("email must be at most {MAX_EMAIL_CHARS} characters")));
    }
    Ok(email)
}

/// Login: see the proto. A throttled (email, source) or source is refused before any lookup or
/// password check; then unknown emails, deleted accounts and wrong passwords take the same path
/// (one Argon2id verification, one failure counted). Everything a success writes (last
/// sign-in, the pair's count cleared, session, refresh token, audit entry) commits together.
pub async fn login(logic: &AuthLogic, ctx: &CallContext, request: pb::LoginRequest) -> Result<pb::LoginResponse, LogicError> {
    let email = normalised_email(&request.email)?;
    required("password", &request.password)?;
    text("device", &request.device)?;
    if request.device.chars().count() > MAX_DEVICE_CHARS {
        return Err(LogicError::invalid_argument(format!("device must be at most {MAX_DEVICE_CHARS} characters")));
    }
    let source = throttle::source_key(ctx.client_address);
    throttle::check(logic, &source, &email, Utc::now()).await?;
    let row = users_table::find_by_email(logic.db(), &email).await?;
    let hash = row.as_ref().map(|row| row.password_hash.clone());
    let matches = logic.hashing().verify(ctx.deadline, hash, request.password).await?;
    let now = Utc::now();
    let row = match row {
        Some(row) if matches => row,
        other => {
            record_failure(logic, other.map(|row| row.id), &source, &email, now).await?;
            return Err(incorrect());
        }
    };
    let session_id = Uuid::new_v4();
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    // Locks the row: a concurrent deletion is seen (the update skips deleted rows), not overwritten.
    let patch = users_table::Patch { last_login_at: Some(Some(now)), ..Default::default() };
    let user = match users_table::update(&mut *tx, row.id, &patch).await {
        Err(RepoError::NotFound { .. }) => return Err(incorrect()),
        other => other?,
    };
    if user.password_hash != row.password_hash {
        // ChangePassword committed since the check: the password checked is no longer it.
        return Err(incorrect());
    }
    throttle::clear(&mut tx, &source, &email).await?;
    let address = ctx.client_address.map(|address| address.to_string());
    let tokens = sessions::open(logic, &mut tx, sessions::Opening { user_id: user.id, session_id, device: &request.device, address }, now).await?;
    audit_from(&mut tx, Some(user.id), Some(&source), "login", json!({ "session_id": session_id })).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing the sign-in", e))?;
    // GetUser shows last_login_at.
    logic.invalidator().entity(&user.id.to_string()).await;
    Ok(pb::LoginResponse { user: Some(users::to_proto(&user)), tokens: Some(tokens) })
}

/// Counts one failed sign-in with `email` from `source` (and for `user_id`'s audit trail, when
/// the email has an account), in one transaction.
pub async fn record_failure(logic: &AuthLogic, user_id: Option<Uuid>, source: &str, email: &str, now: DateTime<Utc>) -> Result<Counts, LogicError> {
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    let counts = throttle::record_failure(&mut tx, logic.settings(), source, email, now).await?;
    let detail =
        json!({ "failures": counts.pair.failures, "source_failures": counts.source.failures, "refused": counts.refused_until(now).is_some() });
    audit_from(&mut tx, user_id, Some(source), "login_failed", detail).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing a failed sign-in", e))?;
    Ok(counts)
}

/// RecordFailedLogin: see the proto. The failure counts for the account's email from the
/// source the caller names (else the call's own address).
pub async fn record_failed_login(
    logic: &AuthLogic,
    ctx: &CallContext,
    request: pb::RecordFailedLoginRequest,
) -> Result<pb::RecordFailedLoginResponse, LogicError> {
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let address = match text("source_address", &request.source_address)?.trim() {
        "" => ctx.client_address,
        given => Some(given.parse().map_err(|_| LogicError::invalid_argument("source_address must be an IPv4 or IPv6 address, or empty"))?),
    };
    let user = users_table::get(logic.db(), user_id).await?.ok_or_else(|| LogicError::not_found(format!("no user {user_id}")))?;
    let now = Utc::now();
    let counts = record_failure(logic, Some(user.id), &throttle::source_key(address), &user.email, now).await?;
    let refused_until = counts.refused_until(now);
    Ok(pb::RecordFailedLoginResponse {
        failed_attempts: counts.pair.failures,
        locked: refused_until.is_some(),
        locked_until: refused_until.map(timestamp),
    })
}
