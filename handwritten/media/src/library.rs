//! Reads of stored media, metadata updates, CDN addresses and deletion.
//!
//! Who reads what: a media is its owner's. The reads of one media (GetMedia, GetMediaByIds,
//! GetMediaVariants, GetMediaCdnUrl) answer the owner, and the services their policy lists
//! (content and messaging, as themselves or serving any user: they decide who sees the post or
//! message that references the media); for anyone else the media does not exist (NOT_FOUND, or
//! listed as missing). GetMediaByOwner lists the owner's own media to the owner, and to those
//! services only as themselves: serving a user, they see that user's listing only.

use nova_media::repo::{media, media_variants, uploads};
use nova_media::{LogicError, pb};
use nova_runtime::codegen::chrono::{DateTime, Utc};
use nova_runtime::codegen::sqlx;
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::convert::{parse_uuid, parse_uuids, text, timestamp};
use nova_runtime::identity::Principal;
use nova_runtime::paging::{decode_token, page_size, split_page};

use crate::convert::{enum_value, media_message, variant_message};
use crate::{MediaLogic, Reader, cdn, ensure_owner, store};

const MAX_IDS: usize = 100;
const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 100;
const MAX_TITLE_CHARS: usize = 200;
const MAX_ALT_TEXT_CHARS: usize = 1000;

/// Every preset a variant row can have, in the order variants are listed.
const PRESETS: [media_variants::Preset; 5] = [
    media_variants::Preset::Thumbnail,
    media_variants::Preset::ImageSmall,
    media_variants::Preset::ImageMedium,
    media_variants::Preset::ImageLarge,
    media_variants::Preset::VideoHls,
];

/// Owner and deletion time of a media, deleted or not (the repository reads live rows only;
/// DeleteMedia must tell "deleted" from "never existed").
const SQL_OWNER_AND_DELETION: &str = "SELECT owner_id, storage_key, deleted_at FROM media WHERE id = $1";

/// The object served for a READY media's original: its rendition without metadata, never the
/// upload itself.
fn rendition_of(media: &media::Row) -> Result<String, LogicError> {
    match (&media.rendition_key, media.kind) {
        (Some(key), _) => Ok(key.clone()),
        (None, media::Kind::Image) => Err(LogicError::FailedPrecondition(format!(
            "media_id: media {} was processed before renditions without metadata existed; ProcessMedia produces one",
            media.id
        ))),
        (None, kind) => Err(LogicError::not_found(format!(
            "preset: {} media {} has nothing to serve for the original (the upload itself is never served, and {} is not transcoded)",
            kind.name(),
            media.id,
            kind.name()
        ))),
    }
}

fn bounded_text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, LogicError> {
    let value = text(field, value)?;
    if value.chars().count() > max {
        return Err(LogicError::invalid_argument(format!("{field}: at most {max} characters")));
    }
    Ok(value)
}

impl MediaLogic {
    pub(crate) async fn media(&self, reader: &Reader<'_>, request: pb::GetMediaRequest) -> Result<pb::GetMediaResponse, LogicError> {
        let media = self.visible_media(reader, &request.media_id).await?;
        Ok(pb::GetMediaResponse { media: Some(media_message(&media)) })
    }

    pub(crate) async fn media_by_ids(&self, reader: &Reader<'_>, request: pb::GetMediaByIdsRequest) -> Result<pb::GetMediaByIdsResponse, LogicError> {
        let mut ids = parse_uuids("media_ids", &request.media_ids, MAX_IDS)?;
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        let rows = media::get_many(&self.db, &ids).await?;
        let mut found = Vec::with_capacity(rows.len());
        let mut missing = Vec::new();
        for id in ids {
            // What the reader may not see is missing, as an unknown id is.
            match rows.iter().find(|row| row.id == id && reader.may_see(row)) {
                Some(row) => found.push(media_message(row)),
                None => missing.push(id.to_string()),
            }
        }
        Ok(pb::GetMediaByIdsResponse { media: found, missing_media_ids: missing })
    }

    pub(crate) async fn media_by_owner(
        &self,
        principal: &Principal,
        request: pb::GetMediaByOwnerRequest,
    ) -> Result<pb::GetMediaByOwnerResponse, LogicError> {
        let owner_id = parse_uuid("owner_id", &request.owner_id)?;
        // The generated server bound owner_id to a user caller, except for a listed service
        // serving a user: it too may list only that user's media.
        if !matches!(principal, Principal::Service(_)) && !principal.is_user(owner_id) {
            return Err(LogicError::PermissionDenied(format!(
                "owner_id: only {owner_id} may list their media (a service serving another user may list only that user's)"
            )));
        }
        let kind: pb::MediaKind = enum_value("kind", request.kind)?;
        let kind = match kind {
            pb::MediaKind::Unspecified => None,
            kind => Some(media::Kind::try_from(kind).map_err(|_| LogicError::invalid_argument("kind: unknown media kind"))?),
        };
        let size = page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        // The token belongs to one owner and one kind filter.
        let list = format!("GetMediaByOwner/{owner_id}/{}", kind.map_or("all", media::Kind::name));
        // The token holds the generated cursor of the last row: its `created_at` and `id`.
        let after = decode_token::<media::CreatedAtCursor>(&list, &request.page_token)?;
        let limit = i64::try_from(size + 1).unwrap_or(i64::MAX);
        let rows = match kind {
            Some(kind) => media::list_by_owner_id_and_kind(&self.db, owner_id, kind, after.as_ref(), limit).await?,
            None => media::list_by_owner_id(&self.db, owner_id, after.as_ref(), limit).await?,
        };
        let (rows, next_page_token) = split_page(rows, size, &list, |row| media::CreatedAtCursor::from(row));
        Ok(pb::GetMediaByOwnerResponse { media: rows.iter().map(media_message).collect(), next_page_token })
    }

    pub(crate) async fn update_metadata(&self, request: pb::UpdateMediaMetadataRequest) -> Result<pb::UpdateMediaMetadataResponse, LogicError> {
        let requester = parse_uuid("requester_id", &request.requester_id)?;
        let title = bounded_text("title", &request.title, MAX_TITLE_CHARS)?;
        let alt_text = bounded_text("alt_text", &request.alt_text, MAX_ALT_TEXT_CHARS)?;
        let current = self.live_media(&request.media_id).await?;
        ensure_owner(requester, current.owner_id, "change this media")?;
        let patch = media::Patch { title: Some(title.to_string()), alt_text: Some(alt_text.to_string()), ..Default::default() };
        let media = media::update_if_version(&self.db, current.id, request.version, &patch).await?;
        self.invalidate(media.id, media.owner_id).await;
        Ok(pb::UpdateMediaMetadataResponse { media: Some(media_message(&media)) })
    }

    /// The variant rows of a media, in preset order.
    async fn variant_rows(&self, media_id: Uuid) -> Result<Vec<media_variants::Row>, LogicError> {
        let mut rows = Vec::new();
        for preset in PRESETS {
            if let Some(row) = media_variants::find_by_media_id_and_preset(&self.db, media_id, preset).await? {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    pub(crate) async fn variants(
        &self,
        reader: &Reader<'_>,
        request: pb::GetMediaVariantsRequest,
    ) -> Result<pb::GetMediaVariantsResponse, LogicError> {
        let media = self.visible_media(reader, &request.media_id).await?;
        let rows = self.variant_rows(media.id).await?;
        Ok(pb::GetMediaVariantsResponse { variants: rows.iter().map(variant_message).collect() })
    }

    /// A signed, expiring address (see `cdn`) of the rendition (for the original) or of a
    /// variant; the original upload itself is never addressed.
    pub(crate) async fn cdn_url(&self, reader: &Reader<'_>, request: pb::GetMediaCdnUrlRequest) -> Result<pb::GetMediaCdnUrlResponse, LogicError> {
        let media = self.visible_media(reader, &request.media_id).await?;
        let preset: pb::VariantPreset = enum_value("preset", request.preset)?;
        if media.status != media::Status::Ready {
            return Err(LogicError::FailedPrecondition(format!("media_id: media {} is {}, not ready", media.id, media.status.name())));
        }
        let key = match preset {
            pb::VariantPreset::Unspecified => rendition_of(&media)?,
            preset => {
                let not_found = || LogicError::not_found(format!("preset: media {} has no {} variant", media.id, preset.as_str_name()));
                let preset = media_variants::Preset::try_from(preset).map_err(|_| not_found())?;
                media_variants::find_by_media_id_and_preset(&self.db, media.id, preset).await?.ok_or_else(not_found)?.storage_key
            }
        };
        let expires = cdn::expiry(Utc::now().timestamp(), self.settings.url_ttl_seconds);
        let url = cdn::signed_url(&self.settings.cdn_base_url, &self.settings.url_signing_key, &key, expires)
            .map_err(|reason| LogicError::internal("signing a CDN address", format!("NOVA_MEDIA_CDN_BASE_URL {reason}")))?;
        let expires_at = DateTime::from_timestamp(expires, 0).map(timestamp);
        Ok(pb::GetMediaCdnUrlResponse { url, expires_at })
    }

    pub(crate) async fn delete(&self, request: pb::DeleteMediaRequest) -> Result<pb::DeleteMediaResponse, LogicError> {
        let id = parse_uuid("media_id", &request.media_id)?;
        let requester = parse_uuid("requester_id", &request.requester_id)?;
        let found: Option<(Uuid, String, Option<DateTime<Utc>>)> = sqlx::query_as(SQL_OWNER_AND_DELETION)
            .bind(id)
            .fetch_optional(&self.db)
            .await
            .map_err(|e| LogicError::internal("reading the media to delete", e))?;
        let (owner_id, storage_key, deleted_at) = found.ok_or_else(|| LogicError::not_found(format!("media_id: no media {id}")))?;
        ensure_owner(requester, owner_id, "delete this media")?;
        let deleted_at = match deleted_at {
            Some(at) => at,
            None => {
                media::delete(&self.db, id).await?;
                let again: Option<(Uuid, String, Option<DateTime<Utc>>)> = sqlx::query_as(SQL_OWNER_AND_DELETION)
                    .bind(id)
                    .fetch_optional(&self.db)
                    .await
                    .map_err(|e| LogicError::internal("reading the deleted media", e))?;
                again.and_then(|(_, _, at)| at).unwrap_or_else(Utc::now)
            }
        };
        self.invalidate(id, owner_id).await;
        // Objects after the commit, on every call: a retry finishes a removal cut short.
        self.remove_objects(id, &storage_key).await?;
        Ok(pb::DeleteMediaResponse { deleted_at: Some(timestamp(deleted_at)) })
    }

    /// Removes the original, every variant and any staged chunk of a media.
    async fn remove_objects(&self, media_id: Uuid, storage_key: &str) -> Result<(), LogicError> {
        let objects = &*self.settings.store;
        store::delete(objects, storage_key).await?;
        store::delete(objects, &store::rendition_key(storage_key)).await?;
        for preset in PRESETS {
            store::delete(objects, &store::variant_key(storage_key, preset.name())).await?;
        }
        if let Some(upload) = uploads::find_by_media_id(&self.db, media_id).await? {
            store::delete_prefix(objects, &upload.storage_upload_id).await?;
        }
        Ok(())
    }
}
