//! Profiles: lazy materialisation from auth's users, conversion to the proto, and the
//! validated edit of UpdateUserProfile.
//!
//! A profile row is created the first time anything needs it (see the crate docs): the row
//! is missing, auth says the user is live, so the default profile is inserted with
//! `ON CONFLICT DO NOTHING` (concurrent first reads both succeed, one inserts) and read back.
//! The insert and its `profiles.changed` events (see `changes`) commit together.

use std::collections::HashMap;

use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, text, timestamp};
use ::nova_runtime::repo::RepoError;
use nova_user::repo::profiles::{self, Row};
use nova_user::wiring::Users;
use nova_user::{LogicError, pb};

use crate::audience::{Viewer, outline};
use crate::changes::publish_profile;
use crate::{auth, sql};

/// Longest display name, in characters (documented in the proto).
pub const MAX_DISPLAY_NAME: usize = 64;
/// Longest bio, in characters.
pub const MAX_BIO: usize = 500;
/// Longest location, in characters.
pub const MAX_LOCATION: usize = 100;
/// Longest website URL, in bytes.
pub const MAX_WEBSITE_URL: usize = 200;

/// The live profile of `id`, materialised from auth when it has no row yet; NOT_FOUND naming
/// `field` for an unknown or deleted user (or a deleted profile). A profile it creates is
/// told to others (`profiles.changed`) in the insert's transaction.
pub async fn materialise(db: &PgPool, users: &Users, id: Uuid, field: &str) -> Result<Row, LogicError> {
    if let Some(row) = profiles::get(db, id).await? {
        return Ok(row);
    }
    let missing = || LogicError::not_found(format!("{field}: no user {id}"));
    let Some(username) = auth::live_username(users, id).await? else {
        return Err(missing());
    };
    insert_defaults(db, vec![(id, default_display_name(&username), username)]).await?;
    profiles::get(db, id).await?.ok_or_else(missing)
}

/// Inserts the default `profiles` (those without a row) and publishes `profiles.changed` for
/// each one really inserted, with the username auth reported, in one transaction.
async fn insert_defaults(db: &PgPool, defaults: Vec<sql::DefaultProfile>) -> Result<(), LogicError> {
    let mut tx = db.begin().await?;
    let inserted = sql::insert_default_profiles(&mut tx, &defaults).await?;
    if !inserted.is_empty() {
        let usernames: HashMap<Uuid, String> = defaults.into_iter().map(|(id, _, username)| (id, username)).collect();
        for row in profiles::get_many(&mut *tx, &inserted).await? {
            let username = usernames.get(&row.user_id).map_or("", String::as_str);
            // Materialised on a read: no user's call made the change.
            publish_profile(&mut tx, &row, username, None).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The live profiles among `ids`, those without a row materialised from one auth call.
pub async fn materialise_many(db: &PgPool, users: &Users, ids: &[Uuid]) -> Result<HashMap<Uuid, Row>, LogicError> {
    let mut found: HashMap<Uuid, Row> = profiles::get_many(db, ids).await?.into_iter().map(|row| (row.user_id, row)).collect();
    let absent: Vec<Uuid> = ids.iter().copied().filter(|id| !found.contains_key(id)).collect();
    let live = auth::live_usernames(users, &absent).await?;
    if live.is_empty() {
        return Ok(found);
    }
    let defaults: Vec<sql::DefaultProfile> = live.iter().map(|(id, username)| (*id, default_display_name(username), username.clone())).collect();
    insert_defaults(db, defaults).await?;
    let created: Vec<Uuid> = live.into_keys().collect();
    for row in profiles::get_many(db, &created).await? {
        found.insert(row.user_id, row);
    }
    Ok(found)
}

/// A new profile's display name: the username, cut to what a display name may hold.
fn default_display_name(username: &str) -> String {
    username.chars().take(MAX_DISPLAY_NAME).collect()
}

/// The proto of a stored profile.
pub fn to_proto(row: &Row) -> pb::UserProfile {
    pb::UserProfile {
        user_id: row.user_id.to_string(),
        display_name: row.display_name.clone(),
        bio: row.bio.clone(),
        avatar_media_id: row.avatar_media_id.map(|id| id.to_string()).unwrap_or_default(),
        avatar_url: row.avatar_url.clone().unwrap_or_default(),
        location: row.location.clone(),
        website_url: row.website_url.clone(),
        visibility: pb::ProfileVisibility::from(row.visibility) as i32,
        follower_count: row.follower_count,
        following_count: row.following_count,
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        version: row.version,
    }
}

/// An UpdateUserProfile request, validated: whose profile, the version read, what to write.
pub struct ProfileEdit {
    pub user_id: Uuid,
    pub version: i64,
    display_name: String,
    bio: String,
    avatar_media_id: Option<Uuid>,
    location: String,
    website_url: String,
    visibility: Option<profiles::Visibility>,
}

impl ProfileEdit {
    pub fn parse(request: pb::UpdateUserProfileRequest) -> Result<Self, LogicError> {
        let user_id = parse_uuid("user_id", &request.user_id)?;
        let display_name = bounded("display_name", &request.display_name, MAX_DISPLAY_NAME)?;
        if display_name.trim().is_empty() {
            return Err(LogicError::invalid_argument("display_name must not be empty"));
        }
        let avatar_media_id = match request.avatar_media_id.as_str() {
            "" => None,
            id => Some(parse_uuid("avatar_media_id", id)?),
        };
        let visibility = match pb::ProfileVisibility::try_from(request.visibility) {
            Ok(pb::ProfileVisibility::Unspecified) => None,
            Ok(known) => Some(
                profiles::Visibility::try_from(known)
                    .map_err(|v| LogicError::invalid_argument(format!("visibility: {} is not supported", v.as_str_name())))?,
            ),
            Err(_) => return Err(LogicError::invalid_argument(format!("visibility: unknown value {}", request.visibility))),
        };
        if request.version < 0 {
            return Err(LogicError::invalid_argument(format!("version must not be negative, got {}", request.version)));
        }
        Ok(ProfileEdit {
            user_id,
            version: request.version,
            display_name: display_name.to_string(),
            bio: bounded("bio", &request.bio, MAX_BIO)?.to_string(),
            avatar_media_id,
            location: bounded("location", &request.location, MAX_LOCATION)?.to_string(),
            website_url: website_url(&request.website_url)?.to_string(),
            visibility,
        })
    }

    /// The patch replacing every editable field of `current`. The avatar's CDN address is
    /// kept while the avatar stays the same and cleared when it changes: this service does
    /// not resolve media, clients resolve `avatar_media_id` themselves until it is filled.
    pub fn patch(self, current: &Row) -> profiles::Patch {
        let avatar_url = if self.avatar_media_id == current.avatar_media_id { None } else { Some(None) };
        profiles::Patch {
            display_name: Some(self.display_name),
            bio: Some(self.bio),
            avatar_media_id: Some(self.avatar_media_id),
            avatar_url,
            location: Some(self.location),
            website_url: Some(self.website_url),
            visibility: self.visibility,
            deleted_at: None,
        }
    }
}

/// A text field of at most `max` characters.
fn bounded<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, LogicError> {
    let value = text(field, value)?;
    let chars = value.chars().count();
    if chars > max {
        return Err(LogicError::invalid_argument(format!("{field} holds {chars} characters; at most {max} are allowed")));
    }
    Ok(value)
}

/// Empty (no website), or an absolute http(s) URL with a host and no whitespace.
fn website_url(value: &str) -> Result<&str, LogicError> {
    let value = text("website_url", value)?;
    if value.is_empty() {
        return Ok(value);
    }
    if value.len() > MAX_WEBSITE_URL {
        return Err(LogicError::invalid_argument(format!("website_url holds {} bytes; at most {MAX_WEBSITE_URL} are allowed", value.len())));
    }
    let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()).unwrap_or_default();
    let valid_host = !host.is_empty() && host.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid_host || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(LogicError::invalid_argument(format!(
            "website_url must be an http:// or https:// address with a host, got {}",
            ::nova_runtime::convert::quote(value)
        )));
    }
    Ok(value)
}

/// How many ids one GetUserProfilesByIds call may ask for (documented in the proto).
pub const MAX_BATCH: usize = 100;

impl crate::UserLogic {
    /// The live profile of `id`, materialised if needed; NOT_FOUND names `field`.
    pub(crate) async fn profile(&self, id: Uuid, field: &str) -> Result<Row, LogicError> {
        materialise(&self.db, &self.users, id, field).await
    }

    /// The profile as `viewer` may see it: a private one in outline unless they see it in full.
    pub(crate) async fn get_profile(&self, viewer: Viewer, request: pb::GetUserProfileRequest) -> Result<pb::GetUserProfileResponse, LogicError> {
        let id = parse_uuid("user_id", &request.user_id)?;
        let row = self.profile(id, "user_id").await?;
        Ok(pb::GetUserProfileResponse { profile: Some(self.profile_for(viewer, &row).await?) })
    }

    /// Each profile as `viewer` may see it (one query for the follows of them all).
    pub(crate) async fn get_profiles(
        &self,
        viewer: Viewer,
        request: pb::GetUserProfilesByIdsRequest,
    ) -> Result<pb::GetUserProfilesByIdsResponse, LogicError> {
        let ids = ::nova_runtime::convert::parse_uuids("user_ids", &request.user_ids, MAX_BATCH)?;
        let found = materialise_many(&self.db, &self.users, &ids).await?;
        let full = self.seen_in_full(viewer, &found.values().collect::<Vec<_>>()).await?;
        let mut response = pb::GetUserProfilesByIdsResponse::default();
        for id in ids {
            match found.get(&id) {
                Some(row) if full.contains(&id) => response.profiles.push(to_proto(row)),
                Some(row) => response.profiles.push(outline(to_proto(row))),
                None => response.missing_user_ids.push(id.to_string()),
            }
        }
        Ok(response)
    }

    pub(crate) async fn update_profile(
        &self,
        actor: Option<Uuid>,
        request: pb::UpdateUserProfileRequest,
    ) -> Result<pb::UpdateUserProfileResponse, LogicError> {
        let edit = ProfileEdit::parse(request)?;
        let (id, version) = (edit.user_id, edit.version);
        let current = self.profile(id, "user_id").await?;
        // Applies only while `version` is still the stored one (ABORTED otherwise, re-read and
        // retry); its `profiles.changed` commits with it.
        let mut tx = self.db.begin().await?;
        let row = profiles::update_if_version(&mut *tx, id, version, &edit.patch(&current)).await.map_err(|error| match error {
            // Deleted between the read and the update.
            RepoError::NotFound { .. } => LogicError::not_found(format!("user_id: no user {id}")),
            other => other.into(),
        })?;
        publish_profile(&mut tx, &row, "", actor).await?;
        tx.commit().await?;
        self.invalidator.entity(&id.to_string()).await;
        Ok(pb::UpdateUserProfileResponse { profile: Some(to_proto(&row)) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::website_url;

    #[test]
    fn website_urls_need_a_scheme_and_a_host() {
        for good in ["", "https://example.com", "http://example.com:8080/a?b#c", "https://[::1]/"] {
            assert!(website_url(good).is_ok(), "{good}");
        }
        for bad in ["example.com", "ftp://example.com", "https://", "https:///path", "https://exa mple.com", "javascript:alert(1)"] {
            assert!(website_url(bad).unwrap_err().to_string().contains("website_url"), "{bad}");
        }
    }
}
