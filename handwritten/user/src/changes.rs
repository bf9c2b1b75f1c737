//! What user tells other services about its profiles: the `profiles.changed` event (see
//! `nova_user::events`), written in the transaction of every profile creation and edit, so a
//! committed change is always told and a rolled-back one never. Search keeps its index of users
//! from it.
//!
//! The event carries what *anyone* may find of the user: a live public profile's display name,
//! bio, follower count and creation time (and the username, at creation); for a private profile
//! only `searchable = false`, since search's answers are the same for everyone and a private
//! profile shows only its outline to others (see `audience`). The envelope's time is user's
//! database clock read under the profile's event lock, which search uses as the state's version.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::timestamp;
use ::nova_runtime::events::Tx;
use nova_user::events::publish;
use nova_user::repo::profiles::{Row, Visibility};
use nova_user::{LogicError, pb};

/// What `profiles.changed` says of `row`, as it stands in this transaction; `username` when
/// known (at creation, from auth), empty otherwise.
pub fn profile_changed(row: &Row, username: &str) -> pb::ProfileChanged {
    let searchable = row.deleted_at.is_none() && row.visibility == Visibility::Public;
    if !searchable {
        return pb::ProfileChanged { searchable, ..Default::default() };
    }
    pb::ProfileChanged {
        searchable,
        display_name: row.display_name.clone(),
        bio: row.bio.clone(),
        username: username.to_string(),
        follower_count: row.follower_count,
        created_at: Some(timestamp(row.created_at)),
    }
}

/// Writes `profiles.changed` for `row` in `tx` (before its commit); `actor` is the user whose
/// call made the change.
pub async fn publish_profile(tx: &mut Tx, row: &Row, username: &str, actor: Option<Uuid>) -> Result<(), LogicError> {
    publish::profiles_changed(tx, &row.user_id, &profile_changed(row, username), actor).await?;
    Ok(())
}
