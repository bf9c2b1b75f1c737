//! What this service asks auth, and how auth's answers become ours. Only `GetUser` and
//! `GetUsersByIds` are used (both cached by the client, L1 + L2), to learn whether a user
//! exists before its profile is materialised.

use std::collections::HashMap;

use ::nova_runtime::codegen::tonic::Code;
use ::nova_runtime::codegen::uuid::Uuid;
use nova_auth_api::AuthClient;
use nova_auth_api::pb::{self as auth_pb, AccountStatus};
use nova_user::LogicError;

/// The username of a live user, `None` for an unknown or deleted one.
pub async fn live_username(auth: &AuthClient, id: Uuid) -> Result<Option<String>, LogicError> {
    match auth.get_user(auth_pb::GetUserRequest { user_id: id.to_string() }).await {
        Ok(response) => Ok(response.user.filter(is_live).map(|user| user.username)),
        // Auth's NOT_FOUND is the answer "no such user"; the caller names its own field.
        Err(status) if status.code() == Code::NotFound => Ok(None),
        Err(status) => Err(LogicError::from_upstream(status)),
    }
}

/// The usernames of the live users among `ids` (at most 100: the callers' own batch bound).
pub async fn live_usernames(auth: &AuthClient, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, LogicError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let request = auth_pb::GetUsersByIdsRequest { user_ids: ids.iter().map(Uuid::to_string).collect() };
    let response = auth.get_users_by_ids(request).await.map_err(LogicError::from_upstream)?;
    let mut live = HashMap::with_capacity(response.users.len());
    for user in response.users.into_iter().filter(is_live) {
        // An id auth answers that does not parse would be auth's bug: skip it, the id then
        // counts as missing rather than failing the whole batch.
        if let Ok(id) = Uuid::parse_str(&user.id) {
            live.insert(id, user.username);
        }
    }
    Ok(live)
}

fn is_live(user: &auth_pb::User) -> bool {
    user.status() != AccountStatus::Deleted
}
