//! Sessions and their tokens: opening one (Login), rotating its refresh token (Refresh, with
//! reuse detection), revoking it (Logout, recorded for every verifier), and checking an access
//! token (VerifyToken: the checks every service makes).

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::serde_json::json;
use ::nova_runtime::codegen::sqlx::PgConnection;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, timestamp};
use ::nova_runtime::{CallContext, LogicError};
use nova_auth::pb;
use nova_auth::repo::{refresh_tokens, sessions as sessions_table, users as users_table};

use crate::input::required;
use crate::login::audit;
use crate::revocations::{self, Revoked};
use crate::{AuthLogic, sql, tokens};

/// A session about to be opened.
pub struct Opening<'a> {
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// The client's description of itself.
    pub device: &'a str,
    /// Where the sign-in came from, if the call said.
    pub address: Option<String>,
}

/// Inserts the session with its first refresh token, in the caller's transaction, and signs
/// its first access token.
pub async fn open(logic: &AuthLogic, conn: &mut PgConnection, opening: Opening<'_>, now: DateTime<Utc>) -> Result<pb::TokenPair, LogicError> {
    let expires_at = now + logic.settings().refresh_token_ttl;
    let session = sessions_table::New {
        id: Some(opening.session_id),
        user_id: opening.user_id,
        device: Some(opening.device.to_string()),
        ip_address: opening.address,
        created_at: None,
        expires_at,
        revoked_at: None,
    };
    sessions_table::insert(&mut *conn, &session).await?;
    issue_pair(logic, conn, opening.user_id, opening.session_id, now).await
}

/// A new refresh token stored in the session, and an access token for it.
async fn issue_pair(
    logic: &AuthLogic,
    conn: &mut PgConnection,
    user_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<pb::TokenPair, LogicError> {
    let settings = logic.settings();
    let (refresh, token_hash) = tokens::new_refresh();
    let refresh_expires_at = now + settings.refresh_token_ttl;
    let row = refresh_tokens::New { id: None, session_id, user_id, token_hash, expires_at: refresh_expires_at, revoked_at: None, created_at: None };
    refresh_tokens::insert(&mut *conn, &row).await?;
    let access = tokens::issue_access(logic.keys(), user_id, session_id, now, settings.access_token_ttl).await?;
    Ok(pb::TokenPair {
        access_token: access.token,
        access_token_expires_at: Some(timestamp(access.expires_at)),
        refresh_token: refresh,
        refresh_token_expires_at: Some(timestamp(refresh_expires_at)),
    })
}

fn refused(why: &str) -> LogicError {
    LogicError::Unauthenticated(format!("refresh token {why}"))
}

/// Refresh: see the proto. The presented token is claimed (revoked) by one conditional
/// update, so of two concurrent refreshes only one wins; the loser, like any later use of a
/// rotated token, is reuse and revokes the session.
pub async fn refresh(logic: &AuthLogic, request: pb::RefreshRequest) -> Result<pb::RefreshResponse, LogicError> {
    let token_hash = tokens::hash_refresh(tokens::parse_refresh(&request.refresh_token)?);
    let now = Utc::now();
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    let Some((session_id, user_id)) = sql::claim_refresh_token(&mut *tx, &token_hash).await? else {
        let Some(known) = refresh_tokens::find_by_token_hash(&mut *tx, &token_hash).await? else {
            return Err(refused("is unknown"));
        };
        if known.revoked_at.is_none() {
            return Err(refused("has expired"));
        }
        // Reuse of a rotated token: whoever holds the family may be a thief. End the session,
        // and its access tokens everywhere.
        let newly_revoked = sql::revoke_session(&mut *tx, known.session_id).await?;
        sql::revoke_session_tokens(&mut *tx, known.session_id).await?;
        audit(&mut tx, Some(known.user_id), "refresh_token_reused", json!({ "session_id": known.session_id })).await?;
        if newly_revoked {
            revocations::revoke_sessions(&mut tx, logic.settings(), &[known.session_id]).await?;
        }
        tx.commit().await.map_err(|e| LogicError::internal("committing the revocation of a reused token's session", e))?;
        return Err(refused("was already used; the session is revoked"));
    };
    let session = sessions_table::get(&mut *tx, session_id).await?.ok_or_else(|| refused("belongs to no session"))?;
    if session.revoked_at.is_some() {
        return Err(refused("belongs to a revoked session"));
    }
    // Deleted accounts are hidden from reads: their sessions cannot refresh.
    if users_table::get(&mut *tx, user_id).await?.is_none() {
        return Err(refused("belongs to a deleted account"));
    }
    let tokens = issue_pair(logic, &mut tx, user_id, session_id, now).await?;
    let renewed = sessions_table::Patch { expires_at: Some(now + logic.settings().refresh_token_ttl), ..Default::default() };
    sessions_table::update(&mut *tx, session_id, &renewed).await?;
    audit(&mut tx, Some(user_id), "refresh", json!({ "session_id": session_id })).await?;
    tx.commit().await.map_err(|e| LogicError::internal("committing the token rotation", e))?;
    Ok(pb::RefreshResponse { tokens: Some(tokens) })
}

/// Logout: see the proto. Only the caller's own sessions: an empty `session_id` is the session
/// of the caller's token, and another user's session is NOT_FOUND like an unknown one (its
/// existence is not revealed). Idempotent: a revoked session stays revoked, and is recorded for
/// verifiers once.
pub async fn logout(logic: &AuthLogic, ctx: &CallContext, request: pb::LogoutRequest) -> Result<pb::LogoutResponse, LogicError> {
    // The policy (`user`) admits only calls carrying a user's token.
    let caller = ctx.principal.user().ok_or_else(|| LogicError::Unauthenticated("Logout needs a signed-in user".into()))?;
    let session_id = match request.session_id.trim() {
        "" => caller.session_id,
        given => parse_uuid("session_id", given)?,
    };
    let mut tx = logic.db().begin().await.map_err(|e| LogicError::internal("starting a transaction", e))?;
    let session = sessions_table::get(&mut *tx, session_id)
        .await?
        .filter(|session| session.user_id == caller.id)
        .ok_or_else(|| LogicError::not_found(format!("no session {session_id} of the signed-in user")))?;
    if sql::revoke_session(&mut *tx, session_id).await? {
        sql::revoke_session_tokens(&mut *tx, session_id).await?;
        audit(&mut tx, Some(session.user_id), "logout", json!({ "session_id": session_id })).await?;
        revocations::revoke_sessions(&mut tx, logic.settings(), &[session_id]).await?;
    }
    tx.commit().await.map_err(|e| LogicError::internal("committing the sign-out", e))?;
    // Callers' cached VerifyToken answers about the user's tokens (tagged by the token's
    // subject) and their other answers computed for the user: the session's tokens no longer
    // verify.
    logic.forget_user(caller.id).await;
    Ok(pb::LogoutResponse {})
}

/// VerifyToken: see the proto. The checks every service makes with GetTokenVerification's
/// answer: signature by a key that still verifies, issuer, expiry, then the revocations of
/// the token's session and of its user (DeleteUser records one). Sessions and accounts are
/// not read: what revokes a token is recorded as a revocation, in the same transaction.
pub async fn verify(logic: &AuthLogic, request: pb::VerifyTokenRequest) -> Result<pb::VerifyTokenResponse, LogicError> {
    let token = required("access_token", &request.access_token)?;
    let now = Utc::now();
    let claims = tokens::verify_access(logic.keys(), token, now).await?;
    let invalid = || LogicError::Unauthenticated("access token is invalid".into());
    let user_id = Uuid::parse_str(&claims.sub).map_err(|_| invalid())?;
    let session_id = Uuid::parse_str(&claims.sid).map_err(|_| invalid())?;
    let issued_at = DateTime::<Utc>::from_timestamp(claims.iat, 0).ok_or_else(invalid)?;
    match revocations::covering(logic.db(), session_id, user_id, issued_at, now).await? {
        Some(Revoked::Session) => return Err(LogicError::Unauthenticated("access token belongs to a revoked session".into())),
        Some(Revoked::User) => {
            return Err(LogicError::Unauthenticated("access token was revoked with every token of its account (the account was deleted)".into()));
        }
        None => {}
    }
    let expires_at = DateTime::<Utc>::from_timestamp(claims.exp, 0).ok_or_else(invalid)?;
    Ok(pb::VerifyTokenResponse {
        valid: true,
        user_id: user_id.to_string(),
        session_id: session_id.to_string(),
        expires_at: Some(timestamp(expires_at)),
    })
}
