//! auth as the token issuer of the deployment: what every service polls to verify access tokens
//! by itself (GetTokenVerification), and the same answer read in process for auth's own server
//! (a `KeySource`), with permissions read from its own table (a `Permissions`).

use std::sync::Arc;
use std::time::SystemTime;

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::identity::{KeySource, PermissionFuture, Permissions, SourceFuture, VerificationKey, VerificationState};
use nova_auth::pb;
use nova_auth::repo::{jwt_signing_keys, user_permissions};

use crate::AuthLogic;
use crate::keys::ALGORITHM;

/// Keys read per page.
const PAGE: i64 = 100;

/// Every key that still verifies: the active ones, and retired ones within their grace.
pub async fn state(logic: &AuthLogic, revocations_after: i64) -> Result<VerificationState, LogicError> {
    let now = Utc::now();
    let mut rows: Vec<jwt_signing_keys::Row> = Vec::new();
    loop {
        let page = jwt_signing_keys::list(logic.db(), rows.last(), PAGE).await?;
        let done = page.len() < PAGE as usize;
        rows.extend(page);
        if done {
            break;
        }
    }
    let grace = logic.settings().key_grace;
    let keys = rows
        .into_iter()
        .filter(|row| row.algorithm == ALGORITHM)
        .filter_map(|row| {
            let not_after = if row.active { None } else { Some(row.retired_at.unwrap_or(row.created_at) + grace) };
            if not_after.is_some_and(|end| end <= now) {
                return None;
            }
            Some(VerificationKey { kid: row.kid, public_key: row.public_key, not_after: not_after.map(SystemTime::from) })
        })
        .collect();
    Ok(VerificationState { issuer: crate::tokens::ISSUER.to_string(), keys, revocations: Vec::new(), cursor: revocations_after, more: false })
}

fn timestamp(time: SystemTime) -> ::nova_runtime::codegen::prost_types::Timestamp {
    let time: DateTime<Utc> = time.into();
    ::nova_runtime::convert::timestamp(time)
}

/// GetTokenVerification.
pub async fn get(logic: &AuthLogic, request: pb::GetTokenVerificationRequest) -> Result<pb::GetTokenVerificationResponse, LogicError> {
    let state = state(logic, request.revocations_after).await?;
    Ok(pb::GetTokenVerificationResponse {
        issuer: state.issuer,
        keys: state
            .keys
            .into_iter()
            .map(|key| pb::VerificationKey { kid: key.kid, algorithm: ALGORITHM.to_string(), public_key: key.public_key, not_after: key.not_after.map(timestamp) })
            .collect(),
        revocations: Vec::new(),
        cursor: state.cursor,
        more: state.more,
    })
}

/// auth's own view of its keys and permissions, for its own server.
#[derive(Debug, Clone)]
pub struct Local(pub AuthLogic);

impl KeySource for Local {
    fn fetch(&self, revocations_after: i64) -> SourceFuture<'_> {
        Box::pin(async move { state(&self.0, revocations_after).await.map_err(|e| e.into_status("local key source", "")) })
    }
}

impl Permissions for Local {
    fn has(&self, user: Uuid, permission: &'static str) -> PermissionFuture<'_> {
        Box::pin(async move {
            let held = user_permissions::get(self.0.db(), user, permission).await.map_err(|e| LogicError::from(e).into_status("local permissions", ""))?;
            Ok(held.is_some())
        })
    }
}

/// Both, shared.
pub fn local(logic: &AuthLogic) -> (Arc<dyn KeySource>, Arc<dyn Permissions>) {
    let local = Arc::new(Local(logic.clone()));
    (local.clone(), local)
}
