//! The few statements the generated repositories do not offer: bulk revocations, the
//! conditional claim of a refresh token, the signing-key bookkeeping and the sign-in
//! throttle's locked read-modify-write. tests/data/handwritten_sql.rs finds every statement here
//! and prepares it against the migrated schema.

use ::nova_runtime::RepoError;
use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::{self, PgExecutor};
use ::nova_runtime::codegen::uuid::Uuid;
use nova_auth::repo::token_revocations;

use crate::throttle::Count;

/// A throttle row as read: its email ('' for the source's row) and its count.
type ThrottleRow = (String, DateTime<Utc>, i32, Option<DateTime<Utc>>);

fn counts(rows: Vec<ThrottleRow>) -> Vec<(String, Count)> {
    rows.into_iter().map(|(email, window_started_at, failures, locked_until)| (email, Count { window_started_at, failures, locked_until })).collect()
}

const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL";
const REVOKE_SESSION_TOKENS: &str = "UPDATE refresh_tokens SET revoked_at = now() WHERE session_id = $1 AND revoked_at IS NULL";
const REVOKE_USER_SESSIONS: &str = "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL";
const REVOKE_USER_TOKENS: &str = "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL";
/// Revokes a live, unexpired token and says whose it was. Two concurrent claims of one token
/// serialise on its row lock: the second sees `revoked_at` set and claims nothing.
const CLAIM_REFRESH_TOKEN: &str =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING session_id, user_id";
const ACCOUNT_DELETED_AT: &str = "SELECT deleted_at FROM users WHERE id = $1";
const USER_PERMISSIONS: &str = "SELECT permission FROM user_permissions WHERE user_id = $1 ORDER BY permission";
/// Serialises key creation and rotation across replicas (released at commit).
const LOCK_KEYS: &str = "SELECT pg_advisory_xact_lock(hashtext('nova_auth.jwt_signing_keys'))";
const ACTIVE_KEYS: &str = "SELECT kid, private_key, public_key FROM jwt_signing_keys WHERE active ORDER BY created_at DESC";
const RETIRE_ACTIVE_KEYS: &str = "UPDATE jwt_signing_keys SET active = false, retired_at = now() WHERE active RETURNING kid";
/// Replaces a private key by its sealed form, unless it changed since it was read.
const RESEAL_KEY: &str = "UPDATE jwt_signing_keys SET private_key = $3 WHERE kid = $1 AND private_key = $2";
/// Deletes retired keys that no longer verify (retired at or before `$1`, i.e. more than the
/// grace period ago), and all but the `$2` most recently retired ones.
const PRUNE_RETIRED_KEYS: &str = "DELETE FROM jwt_signing_keys WHERE NOT active AND (coalesce(retired_at, created_at) <= $1 OR kid NOT IN \
     (SELECT kid FROM jwt_signing_keys WHERE NOT active ORDER BY coalesce(retired_at, created_at) DESC, kid DESC LIMIT $2))";
/// A sign-in attempt's two throttle rows: its (source, email) pair and its source (email '').
const THROTTLE_COUNTS: &str = "SELECT email, window_started_at, failures, locked_until FROM login_throttles WHERE source = $1 AND email IN ('', $2)";
/// Creates the two rows if missing (the source row first, as every writer orders them).
const SEED_THROTTLES: &str = "INSERT INTO login_throttles (source, email, window_started_at, failures) VALUES ($1, '', $3, 0), ($1, $2, $3, 0) ON CONFLICT (source, email) DO NOTHING";
/// Locks the two rows, the source row ('') first, so concurrent writers never deadlock.
const LOCK_THROTTLES: &str =
    "SELECT email, window_started_at, failures, locked_until FROM login_throttles WHERE source = $1 AND email IN ('', $2) ORDER BY email FOR UPDATE";
const WRITE_THROTTLE: &str = "UPDATE login_throttles SET window_started_at = $3, failures = $4, locked_until = $5 WHERE source = $1 AND email = $2";
const CLEAR_THROTTLE: &str = "DELETE FROM login_throttles WHERE source = $1 AND email = $2";
/// Rows whose window started before `$1` and whose refusal (if any) ended before `$2`.
const PRUNE_THROTTLES: &str = "DELETE FROM login_throttles WHERE window_started_at < $1 AND (locked_until IS NULL OR locked_until < $2)";
/// Serialises writers of `token_revocations` until they commit, so ids become visible in order
/// (see `revocations`).
const LOCK_REVOCATIONS: &str = "SELECT pg_advisory_xact_lock(hashtext('nova_auth.token_revocations'))";
/// Revocations stamped with one reading of the database's clock (`clock_timestamp()`, not the
/// transaction's start), kept `$2` seconds after it.
const INSERT_SESSION_REVOCATIONS: &str = "INSERT INTO token_revocations (session_id, revoked_at, expires_at) \
     SELECT session, stamp, stamp + make_interval(secs => $2) FROM unnest($1::uuid[]) AS session, (SELECT clock_timestamp() AS stamp) AS clock";
const INSERT_USER_REVOCATION: &str = "INSERT INTO token_revocations (user_id, revoked_at, expires_at) \
     SELECT $1, stamp, stamp + make_interval(secs => $2) FROM (SELECT clock_timestamp() AS stamp) AS clock";
/// Whether a revocation in force at `$4` covers a token of session `$1`, user `$2`, issued at
/// `$3`: `true` for its session's, `false` for its user's, no row for none.
const REVOCATION_COVERING: &str = "SELECT session_id IS NOT NULL FROM token_revocations \
     WHERE expires_at > $4 AND (session_id = $1 OR (user_id = $2 AND revoked_at >= $3)) ORDER BY session_id IS NULL LIMIT 1";
const REVOCATIONS_AFTER: &str =
    concat!("SELECT ", token_revocations::columns!(), " FROM token_revocations WHERE id > $1 AND expires_at > $2 ORDER BY id LIMIT $3");
const PRUNE_REVOCATIONS: &str = "DELETE FROM token_revocations WHERE expires_at <= $1";
/// Keys that verify: active ones, and retired ones retired after `$1` (now minus the grace).
const VERIFYING_KEYS: &str = "SELECT kid, public_key, CASE WHEN active THEN NULL ELSE coalesce(retired_at, created_at) END FROM jwt_signing_keys \
     WHERE algorithm = 'EdDSA' AND (active OR coalesce(retired_at, created_at) > $1) ORDER BY created_at, kid";
/// Stores a new password hash if the stored one is still `$2` (the one the current password
/// was checked against) and the account is live; bumps `version` and `updated_at` as the
/// generated updates do.
const CHANGE_PASSWORD_HASH: &str =
    "UPDATE users SET password_hash = $3, updated_at = now(), version = version + 1 WHERE id = $1 AND password_hash = $2 AND deleted_at IS NULL";
const REVOKE_OTHER_SESSIONS: &str =
    "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2 RETURNING id";
const REVOKE_OTHER_SESSIONS_TOKENS: &str =
    "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND session_id IS DISTINCT FROM $2";

fn error(table: &'static str) -> impl Fn(sqlx::Error) -> RepoError {
    move |e| RepoError::from_sqlx(table, e)
}

/// Revokes a session; `false` when it was already revoked (or does not exist).
pub async fn revoke_session<'e>(db: impl PgExecutor<'e>, session_id: Uuid) -> Result<bool, RepoError> {
    let done = sqlx::query(REVOKE_SESSION).bind(session_id).execute(db).await.map_err(error("sessions"))?;
    Ok(done.rows_affected() > 0)
}

/// Revokes every live refresh token of a session (its family).
pub async fn revoke_session_tokens<'e>(db: impl PgExecutor<'e>, session_id: Uuid) -> Result<u64, RepoError> {
    let done = sqlx::query(REVOKE_SESSION_TOKENS).bind(session_id).execute(db).await.map_err(error("refresh_tokens"))?;
    Ok(done.rows_affected())
}

/// Revokes every live session of a user.
pub async fn revoke_user_sessions<'e>(db: impl PgExecutor<'e>, user_id: Uuid) -> Result<u64, RepoError> {
    let done = sqlx::query(REVOKE_USER_SESSIONS).bind(user_id).execute(db).await.map_err(error("sessions"))?;
    Ok(done.rows_affected())
}

/// Revokes every live refresh token of a user.
pub async fn revoke_user_tokens<'e>(db: impl PgExecutor<'e>, user_id: Uuid) -> Result<u64, RepoError> {
    let done = sqlx::query(REVOKE_USER_TOKENS).bind(user_id).execute(db).await.map_err(error("refresh_tokens"))?;
    Ok(done.rows_affected())
}

/// Revokes the live, unexpired token with this hash: its `(session_id, user_id)`, or `None`
/// when there is no such token (unknown, expired, or already revoked).
pub async fn claim_refresh_token<'e>(db: impl PgExecutor<'e>, token_hash: &str) -> Result<Option<(Uuid, Uuid)>, RepoError> {
    sqlx::query_as(CLAIM_REFRESH_TOKEN).bind(token_hash).fetch_optional(db).await.map_err(error("refresh_tokens"))
}

/// `None` when no account ever had this id, `Some(deleted_at)` otherwise (deleted ones included).
pub async fn account_deleted_at<'e>(db: impl PgExecutor<'e>, user_id: Uuid) -> Result<Option<Option<DateTime<Utc>>>, RepoError> {
    sqlx::query_scalar(ACCOUNT_DELETED_AT).bind(user_id).fetch_optional(db).await.map_err(error("users"))
}

/// The permissions of a user, sorted (a range scan of the primary key).
pub async fn user_permissions<'e>(db: impl PgExecutor<'e>, user_id: Uuid) -> Result<Vec<String>, RepoError> {
    sqlx::query_scalar(USER_PERMISSIONS).bind(user_id).fetch_all(db).await.map_err(error("user_permissions"))
}

/// Takes the signing-key lock until the transaction ends.
pub async fn lock_keys<'e>(db: impl PgExecutor<'e>) -> Result<(), RepoError> {
    sqlx::query(LOCK_KEYS).execute(db).await.map_err(error("jwt_signing_keys"))?;
    Ok(())
}

/// Every active key as `(kid, private_key, public_key)`, newest first.
pub async fn active_keys<'e>(db: impl PgExecutor<'e>) -> Result<Vec<(String, Vec<u8>, Vec<u8>)>, RepoError> {
    sqlx::query_as(ACTIVE_KEYS).fetch_all(db).await.map_err(error("jwt_signing_keys"))
}

/// Stores `sealed` as the private key of `kid` if it still holds `plaintext`; whether it did.
pub async fn reseal_key<'e>(db: impl PgExecutor<'e>, kid: &str, plaintext: &[u8], sealed: &[u8]) -> Result<bool, RepoError> {
    let done = sqlx::query(RESEAL_KEY).bind(kid).bind(plaintext).bind(sealed).execute(db).await.map_err(error("jwt_signing_keys"))?;
    Ok(done.rows_affected() > 0)
}

/// Deletes the retired keys that no longer verify at `retired_before` + grace, and all but the
/// `keep` most recently retired; how many went.
pub async fn prune_retired_keys<'e>(db: impl PgExecutor<'e>, retired_before: DateTime<Utc>, keep: i64) -> Result<u64, RepoError> {
    let done = sqlx::query(PRUNE_RETIRED_KEYS).bind(retired_before).bind(keep).execute(db).await.map_err(error("jwt_signing_keys"))?;
    Ok(done.rows_affected())
}

/// Retires every active key (`active = false`, `retired_at = now()`), returning their kids.
pub async fn retire_active_keys<'e>(db: impl PgExecutor<'e>) -> Result<Vec<String>, RepoError> {
    sqlx::query_scalar(RETIRE_ACTIVE_KEYS).fetch_all(db).await.map_err(error("jwt_signing_keys"))
}

/// The counts of `email` from `source` and of `source` itself, as `(email, count)`, where they exist.
pub async fn throttle_counts<'e>(db: impl PgExecutor<'e>, source: &str, email: &str) -> Result<Vec<(String, Count)>, RepoError> {
    let rows = sqlx::query_as(THROTTLE_COUNTS).bind(source).bind(email).fetch_all(db).await.map_err(error("login_throttles"))?;
    Ok(counts(rows))
}

/// Creates the rows of `email` from `source` and of `source`, empty, unless they exist.
pub async fn seed_throttles<'e>(db: impl PgExecutor<'e>, source: &str, email: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
    sqlx::query(SEED_THROTTLES).bind(source).bind(email).bind(now).execute(db).await.map_err(error("login_throttles"))?;
    Ok(())
}

/// [`throttle_counts`], locking the rows until the transaction ends.
pub async fn lock_throttles<'e>(db: impl PgExecutor<'e>, source: &str, email: &str) -> Result<Vec<(String, Count)>, RepoError> {
    let rows = sqlx::query_as(LOCK_THROTTLES).bind(source).bind(email).fetch_all(db).await.map_err(error("login_throttles"))?;
    Ok(counts(rows))
}

/// Stores the count of `email` ('' for the source's row) from `source`.
pub async fn write_throttle<'e>(db: impl PgExecutor<'e>, source: &str, email: &str, count: &Count) -> Result<(), RepoError> {
    sqlx::query(WRITE_THROTTLE)
        .bind(source)
        .bind(email)
        .bind(count.window_started_at)
        .bind(count.failures)
        .bind(count.locked_until)
        .execute(db)
        .await
        .map_err(error("login_throttles"))?;
    Ok(())
}

/// Deletes the count of `email` from `source`.
pub async fn clear_throttle<'e>(db: impl PgExecutor<'e>, source: &str, email: &str) -> Result<(), RepoError> {
    sqlx::query(CLEAR_THROTTLE).bind(source).bind(email).execute(db).await.map_err(error("login_throttles"))?;
    Ok(())
}

/// Deletes counts whose window started before `window_started_before` and that refuse nothing
/// at `now`; how many went.
pub async fn prune_throttles<'e>(db: impl PgExecutor<'e>, window_started_before: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64, RepoError> {
    let done = sqlx::query(PRUNE_THROTTLES).bind(window_started_before).bind(now).execute(db).await.map_err(error("login_throttles"))?;
    Ok(done.rows_affected())
}

/// Takes the revocation writers' lock until the transaction ends.
pub async fn lock_revocations<'e>(db: impl PgExecutor<'e>) -> Result<(), RepoError> {
    sqlx::query(LOCK_REVOCATIONS).execute(db).await.map_err(error("token_revocations"))?;
    Ok(())
}

/// One revocation per session, kept `kept_for_secs` after now (the database's clock).
pub async fn insert_session_revocations<'e>(db: impl PgExecutor<'e>, sessions: &[Uuid], kept_for_secs: f64) -> Result<(), RepoError> {
    sqlx::query(INSERT_SESSION_REVOCATIONS).bind(sessions).bind(kept_for_secs).execute(db).await.map_err(error("token_revocations"))?;
    Ok(())
}

/// A revocation of every token of `user_id` issued until now, kept `kept_for_secs`.
pub async fn insert_user_revocation<'e>(db: impl PgExecutor<'e>, user_id: Uuid, kept_for_secs: f64) -> Result<(), RepoError> {
    sqlx::query(INSERT_USER_REVOCATION).bind(user_id).bind(kept_for_secs).execute(db).await.map_err(error("token_revocations"))?;
    Ok(())
}

/// `Some(true)` when the token's session is revoked, `Some(false)` when its user's tokens
/// issued at or after `issued_at` are, `None` when nothing in force at `now` covers it.
pub async fn revocation_covering<'e>(
    db: impl PgExecutor<'e>,
    session_id: Uuid,
    user_id: Uuid,
    issued_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<bool>, RepoError> {
    sqlx::query_scalar(REVOCATION_COVERING)
        .bind(session_id)
        .bind(user_id)
        .bind(issued_at)
        .bind(now)
        .fetch_optional(db)
        .await
        .map_err(error("token_revocations"))
}

/// Revocations in force at `now` with ids after `after`, in id order, at most `limit`.
pub async fn revocations_after<'e>(
    db: impl PgExecutor<'e>,
    after: i64,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<token_revocations::Row>, RepoError> {
    sqlx::query_as(REVOCATIONS_AFTER).bind(after).bind(now).bind(limit).fetch_all(db).await.map_err(error("token_revocations"))
}

/// Deletes revocations expired at `now`; how many went.
pub async fn prune_revocations<'e>(db: impl PgExecutor<'e>, now: DateTime<Utc>) -> Result<u64, RepoError> {
    let done = sqlx::query(PRUNE_REVOCATIONS).bind(now).execute(db).await.map_err(error("token_revocations"))?;
    Ok(done.rows_affected())
}

/// A key that verifies: `retired_at` is `None` while it is active.
pub struct VerifyingKey {
    pub kid: String,
    pub public_key: Vec<u8>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// The active keys and those retired after `retired_after`, oldest first.
pub async fn verifying_keys<'e>(db: impl PgExecutor<'e>, retired_after: DateTime<Utc>) -> Result<Vec<VerifyingKey>, RepoError> {
    let rows: Vec<(String, Vec<u8>, Option<DateTime<Utc>>)> =
        sqlx::query_as(VERIFYING_KEYS).bind(retired_after).fetch_all(db).await.map_err(error("jwt_signing_keys"))?;
    Ok(rows.into_iter().map(|(kid, public_key, retired_at)| VerifyingKey { kid, public_key, retired_at }).collect())
}

/// Stores `new_hash` for `user_id` if its hash is still `checked_hash`; whether it was.
pub async fn change_password_hash<'e>(db: impl PgExecutor<'e>, user_id: Uuid, checked_hash: &str, new_hash: &str) -> Result<bool, RepoError> {
    let done = sqlx::query(CHANGE_PASSWORD_HASH).bind(user_id).bind(checked_hash).bind(new_hash).execute(db).await.map_err(error("users"))?;
    Ok(done.rows_affected() > 0)
}

/// Revokes every live session of `user_id` but `keep`; the ids of those it revoked.
pub async fn revoke_other_sessions<'e>(db: impl PgExecutor<'e>, user_id: Uuid, keep: Option<Uuid>) -> Result<Vec<Uuid>, RepoError> {
    sqlx::query_scalar(REVOKE_OTHER_SESSIONS).bind(user_id).bind(keep).fetch_all(db).await.map_err(error("sessions"))
}

/// Revokes every live refresh token of `user_id` but those of session `keep`.
pub async fn revoke_other_sessions_tokens<'e>(db: impl PgExecutor<'e>, user_id: Uuid, keep: Option<Uuid>) -> Result<u64, RepoError> {
    let done = sqlx::query(REVOKE_OTHER_SESSIONS_TOKENS).bind(user_id).bind(keep).execute(db).await.map_err(error("refresh_tokens"))?;
    Ok(done.rows_affected())
}
