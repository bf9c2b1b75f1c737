//! Feed preferences and metadata: GetFeedMetadata, UpdateFeedPreferences and
//! InvalidateFeedCache (which records when, and drops the callers' cached feeds of the users).

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{optional_timestamp, parse_uuid, parse_uuids, timestamp};
use nova_feed::repo::feed_metadata;
use nova_feed::repo::user_feed_preferences::{self as preferences, DefaultFeedKind};
use nova_feed::{LogicError, pb};

use crate::FeedLogic;
use crate::queries;
use crate::trending::category;

/// Most ids one InvalidateFeedCache call may name (documented in the proto).
const MAX_INVALIDATE: usize = 1000;
/// Most preferred categories and muted authors (documented in the proto).
const MAX_CATEGORIES: usize = 50;
const MAX_MUTED: usize = 1000;
/// The ranking model of a user without metadata (the column's default).
const DEFAULT_RANKING_VERSION: &str = "v1";

/// A user's preferences, the defaults when they never set any.
#[derive(Debug, Clone)]
pub struct Preferences {
    pub default_feed_kind: DefaultFeedKind,
    pub preferred_categories: Vec<String>,
    pub muted_author_ids: Vec<Uuid>,
    pub version: i64,
}

impl From<preferences::Row> for Preferences {
    fn from(row: preferences::Row) -> Self {
        Preferences {
            default_feed_kind: row.default_feed_kind,
            preferred_categories: row.preferred_categories,
            muted_author_ids: row.muted_author_ids,
            version: row.version,
        }
    }
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences { default_feed_kind: DefaultFeedKind::Personalized, preferred_categories: Vec::new(), muted_author_ids: Vec::new(), version: 0 }
    }
}

impl FeedLogic {
    /// The preferences of `user` (defaults without a row).
    pub(crate) async fn preferences(&self, user: Uuid) -> Result<Preferences, LogicError> {
        Ok(preferences::get(&self.db, user).await?.map(Preferences::from).unwrap_or_default())
    }

    /// What GetFeedMetadata answers for `user`.
    async fn metadata(&self, user: Uuid) -> Result<pb::FeedMetadata, LogicError> {
        let preferences = self.preferences(user).await?;
        let state = feed_metadata::get(&self.db, user).await?;
        Ok(pb::FeedMetadata {
            user_id: user.to_string(),
            default_feed_kind: pb::FeedKind::from(preferences.default_feed_kind) as i32,
            preferred_categories: preferences.preferred_categories,
            muted_author_ids: preferences.muted_author_ids.iter().map(Uuid::to_string).collect(),
            ranking_version: state.as_ref().map_or_else(|| DEFAULT_RANKING_VERSION.to_string(), |s| s.ranking_version.clone()),
            last_generated_at: optional_timestamp(state.as_ref().and_then(|s| s.last_generated_at)),
            cache_invalidated_at: optional_timestamp(state.as_ref().and_then(|s| s.cache_invalidated_at)),
            version: preferences.version,
        })
    }
}

pub async fn get_feed_metadata(logic: &FeedLogic, request: pb::GetFeedMetadataRequest) -> Result<pb::GetFeedMetadataResponse, LogicError> {
    let user = parse_uuid("user_id", &request.user_id)?;
    Ok(pb::GetFeedMetadataResponse { metadata: Some(logic.metadata(user).await?) })
}

/// Replaces the preferences if `version` is current: the row is created with version 0 when
/// missing (`ON CONFLICT DO NOTHING`, so concurrent first writers agree), then
/// `update_if_version` applies, both in one transaction; the user's cached feeds are
/// invalidated after the commit.
pub async fn update_feed_preferences(
    logic: &FeedLogic,
    request: pb::UpdateFeedPreferencesRequest,
) -> Result<pb::UpdateFeedPreferencesResponse, LogicError> {
    let user = parse_uuid("user_id", &request.user_id)?;
    let invalid_kind =
        || LogicError::invalid_argument(format!("default_feed_kind must be PERSONALIZED or FOLLOWING, got {}", request.default_feed_kind));
    let kind = pb::FeedKind::try_from(request.default_feed_kind).map_err(|_| invalid_kind())?;
    let kind = DefaultFeedKind::try_from(kind).map_err(|_| invalid_kind())?;
    if request.preferred_categories.len() > MAX_CATEGORIES {
        return Err(LogicError::invalid_argument(format!(
            "preferred_categories holds {}; at most {MAX_CATEGORIES} are allowed",
            request.preferred_categories.len()
        )));
    }
    let mut categories: Vec<String> = Vec::with_capacity(request.preferred_categories.len());
    for value in &request.preferred_categories {
        let slug = category("preferred_categories", value)?;
        if !categories.contains(&slug) {
            categories.push(slug);
        }
    }
    let muted = parse_uuids("muted_author_ids", &request.muted_author_ids, MAX_MUTED)?;
    if request.version < 0 {
        return Err(LogicError::invalid_argument(format!("version must not be negative, got {}", request.version)));
    }
    logic.require_user("user_id", user).await?;

    let mut tx = logic.db.begin().await?;
    queries::ensure_preferences(&mut *tx, user).await?;
    let patch = preferences::Patch { default_feed_kind: Some(kind), preferred_categories: Some(categories), muted_author_ids: Some(muted) };
    preferences::update_if_version(&mut *tx, user, request.version, &patch).await?;
    tx.commit().await?;
    logic.invalidator.entity(&user.to_string()).await;
    Ok(pb::UpdateFeedPreferencesResponse { metadata: Some(logic.metadata(user).await?) })
}

/// Records the invalidation time of every user in one statement, then (after the commit)
/// drops every caller's cached feeds, suggestions and metadata of each. Repeating it only
/// moves the time: safe to retry. A user drops only their own feeds: every id must be
/// `caller`'s (PERMISSION_DENIED naming `user_ids` otherwise).
pub async fn invalidate_feed_cache(
    logic: &FeedLogic,
    caller: Uuid,
    request: pb::InvalidateFeedCacheRequest,
) -> Result<pb::InvalidateFeedCacheResponse, LogicError> {
    let users = parse_uuids("user_ids", &request.user_ids, MAX_INVALIDATE)?;
    if users.is_empty() {
        return Err(LogicError::invalid_argument("user_ids must hold at least one id"));
    }
    if let Some(other) = users.iter().find(|user| **user != caller) {
        return Err(LogicError::PermissionDenied(format!("user_ids names {other}, not the signed-in user: a user may drop only their own feeds")));
    }
    let invalidated_at = queries::mark_invalidated(&logic.db, &users).await?;
    logic.invalidator.entities(users.iter().map(Uuid::to_string)).await;
    Ok(pb::InvalidateFeedCacheResponse { invalidated_at: invalidated_at.map(timestamp) })
}
