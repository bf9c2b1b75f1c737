//! ChangePassword: the current password checked as at Login (throttled, through the bounded
//! hashing pool, a wrong one counted as a failed sign-in), the new hash stored, and every other
//! session signed out everywhere, in one transaction.

use ::nova_runtime::codegen::chrono::Utc;
use ::nova_runtime::codegen::serde_json::json;
use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::{CallContext, LogicError};
use nova_auth::pb;
use nova_auth::repo::users as users_table;

use crate::input::required;
use crate::login::{audit_from, record_failure};
use crate::{AuthLogic, passwords, revocations, sql, throttle};

/// ChangePassword: see the proto. The session of the caller's own token (when the call carries
/// one for this user) stays signed in; every other one is revoked, its refresh tokens with it,
/// and recorded for verifiers one by one, so a token issued after the change verifies.
pub async fn change_password(
    logic: &AuthLogic,
    ctx: &CallContext,
    request: pb::ChangePasswordRequest,
) -> Result<pb::ChangePasswordResponse, LogicError> {
    let user_id = parse_uuid("user_id", &request.user_id)?;
    required("current_password", &request.current_password)?;
    passwords::check_new("new_password", &request.new_password)?;
    if request.new_password == request.current_password {
        return Err(LogicError::invalid_argument("new_password must differ from current_password"));
    }
    let not_found = || LogicError::not_found(format!("no user {user_id}"));
    let user = users_table::get(logic.db(), user_id).await?.ok_or_else(not_found)?;
    let source = throttle::source_key(ctx.client_address);
    throttle::check(logic, &source, &user.email, Utc::now()).await?;
    if !logic.hashing().verify(ctx.deadline, Some(user.password_hash.clone()), request.current_password).await? {
        record_failure(logic, Some(user.id), &source, &user.email, Utc::now()).await?;
        return Err(LogicError::PermissionDenied("current_password is incorrect".into()));
    }
    let new_hash = logic.hashing().hash(ctx.deadline, request.new_password).await?;
    let keep = ctx.principal.user().filter(|caller| caller.id == user_id).map(|caller| caller.session_id);

    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    // Locks the account: a sign-in that checked the old password and commits after this sees
    // the new hash and fails; one that committed before has its session revoked below.
    if !sql::change_password_hash(&mut *tx, user_id, &user.password_hash, &new_hash).await? {
        return Err(match users_table::get(&mut *tx, user_id).await? {
            None => not_found(),
            Some(_) => LogicError::Aborted("the password changed meanwhile; retry with the new current password".into()),
        });
    }
    let signed_out = sql::revoke_other_sessions(&mut *tx, user_id, keep).await?;
    sql::revoke_other_sessions_tokens(&mut *tx, user_id, keep).await?;
    throttle::clear(&mut tx, &source, &user.email).await?;
    audit_from(&mut tx, Some(user_id), Some(&source), "password_changed", json!({ "sessions_signed_out": signed_out.len(), "kept": keep })).await?;
    revocations::revoke_sessions(&mut tx, logic.settings(), &signed_out).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing the password change", e))?;
    // The signed-out sessions' tokens no longer verify: callers' cached VerifyToken answers
    // about the user's tokens go (see `forget_user`).
    logic.forget_user(user_id).await;
    Ok(pb::ChangePasswordResponse { sessions_signed_out: i32::try_from(signed_out.len()).unwrap_or(i32::MAX) })
}
