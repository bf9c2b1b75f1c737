//! What every service needs to verify access tokens by itself: the public keys that still
//! verify and the revocations after a cursor. One function ([`state`]) reads it; the
//! GetTokenVerification RPC serves it to other services, and [`LocalKeySource`] hands it to
//! the runtime's verifier inside auth, so auth verifies tokens exactly as everyone else does
//! without calling itself.

use std::time::SystemTime;

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::chrono::{DateTime, TimeDelta, Utc};
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::codegen::tonic::Status;
use ::nova_runtime::identity::{KeySource, Revocation, RevokedSubject, SourceFuture, VerificationKey, VerificationState};
use nova_auth::pb;

use crate::keys::ALGORITHM;
use crate::tokens::ISSUER;
use crate::{AuthLogic, sql};

/// Revocations in one answer, at most (the proto promises it).
pub const MAX_REVOCATIONS: usize = 1000;

/// The keys that verify at `now` (active ones, and retired ones within `grace`) and the
/// revocations still in force at `now` recorded after `revocations_after`, at most
/// [`MAX_REVOCATIONS`] of them in cursor order.
pub async fn state(db: &PgPool, grace: TimeDelta, revocations_after: i64, now: DateTime<Utc>) -> Result<VerificationState, LogicError> {
    if revocations_after < 0 {
        return Err(LogicError::invalid_argument("revocations_after must be 0 or a cursor this RPC returned"));
    }
    let keys = sql::verifying_keys(db, now - grace)
        .await?
        .into_iter()
        .map(|key| VerificationKey {
            kid: key.kid,
            public_key: key.public_key,
            not_after: key.retired_at.map(|retired_at| SystemTime::from(retired_at + grace)),
        })
        .collect();
    let limit = i64::try_from(MAX_REVOCATIONS + 1).unwrap_or(i64::MAX);
    let mut rows = sql::revocations_after(db, revocations_after, now, limit).await?;
    let more = rows.len() > MAX_REVOCATIONS;
    rows.truncate(MAX_REVOCATIONS);
    let cursor = rows.last().map_or(revocations_after, |row| row.id);
    let revocations = rows
        .into_iter()
        .filter_map(|row| {
            let subject = match (row.session_id, row.user_id) {
                (Some(session), _) => RevokedSubject::Session(session),
                (None, Some(user)) => RevokedSubject::User(user),
                // The table's check forbids it.
                (None, None) => return None,
            };
            Some(Revocation { subject, revoked_at: SystemTime::from(row.revoked_at), expires_at: SystemTime::from(row.expires_at) })
        })
        .collect();
    Ok(VerificationState { issuer: ISSUER.to_string(), keys, revocations, cursor, more })
}

/// The answer of GetTokenVerification for a state.
pub fn to_proto(state: VerificationState) -> pb::GetTokenVerificationResponse {
    let keys = state
        .keys
        .into_iter()
        .map(|key| pb::VerificationKey {
            kid: key.kid,
            algorithm: ALGORITHM.to_string(),
            public_key: key.public_key,
            not_after: key.not_after.map(Into::into),
        })
        .collect();
    let revocations = state
        .revocations
        .into_iter()
        .map(|revocation| {
            let (session_id, user_id) = match revocation.subject {
                RevokedSubject::Session(session) => (session.to_string(), String::new()),
                RevokedSubject::User(user) => (String::new(), user.to_string()),
            };
            pb::TokenRevocation {
                session_id,
                user_id,
                revoked_at: Some(revocation.revoked_at.into()),
                expires_at: Some(revocation.expires_at.into()),
            }
        })
        .collect();
    pb::GetTokenVerificationResponse { issuer: state.issuer, keys, revocations, cursor: state.cursor, more: state.more }
}

/// GetTokenVerification: see the proto.
pub async fn get(logic: &AuthLogic, request: pb::GetTokenVerificationRequest) -> Result<pb::GetTokenVerificationResponse, LogicError> {
    Ok(to_proto(state(logic.db(), logic.settings().key_grace, request.revocations_after, Utc::now()).await?))
}

/// Auth's own [`KeySource`]: its database, read the way GetTokenVerification reads it.
#[derive(Debug, Clone)]
pub struct LocalKeySource {
    db: PgPool,
    grace: TimeDelta,
}

impl LocalKeySource {
    /// Keys and revocations from `db`; retired keys verify for `grace` (the service's
    /// `key_grace`, as in [`AuthLogic::key_source`]).
    pub fn new(db: PgPool, grace: TimeDelta) -> Self {
        LocalKeySource { db, grace }
    }
}

impl KeySource for LocalKeySource {
    fn fetch(&self, revocations_after: i64) -> SourceFuture<'_> {
        Box::pin(async move {
            let path = nova_auth::rpc::GET_TOKEN_VERIFICATION.path();
            state(&self.db, self.grace, revocations_after, Utc::now()).await.map_err(|error| -> Status { error.into_status(&path, "local") })
        })
    }
}
