//! What this service asks auth, and how auth's answers become ours: whether users exist
//! before their profiles are materialised, through the generated check (`checks_users` in the
//! spec: `GetUser` and `GetUsersByIds`, both cached by the client, L1 + L2).

use std::collections::HashMap;

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::users::AccountState;
use nova_user::LogicError;
use nova_user::wiring::{Users, state_of};

/// The username of a live user, `None` for an unknown or deleted one.
pub async fn live_username(users: &Users, id: Uuid) -> Result<Option<String>, LogicError> {
    let user = users.get(id).await?;
    Ok(user.filter(|user| state_of(user) != AccountState::Deleted).map(|user| user.username))
}

/// The usernames of the live users among `ids` (at most 100: the callers' own batch bound).
pub async fn live_usernames(users: &Users, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, LogicError> {
    Ok(users.live(ids).await?.into_iter().map(|(id, user)| (id, user.username)).collect())
}
