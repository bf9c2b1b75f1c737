//! Processing of an uploaded media: for an image, decode it, record its dimensions and produce
//! its variants and its full-size rendition without metadata, the object served for the
//! original (objects first, then the rows in one transaction); video and audio are stored as
//! uploaded (no transcoder in this service yet, so nothing of theirs is served). Runs inside
//! CompleteMediaUpload and ProcessMedia, before they answer.

use nova_media::repo::{media, media_variants};
use nova_media::{LogicError, pb};
use nova_runtime::codegen::chrono::Utc;
use nova_runtime::codegen::tokio;
use nova_runtime::convert::parse_uuid;

use crate::convert::{enum_value, processing_message};
use crate::variants::{self, DEFAULT_IMAGE_PRESETS, Encoded, Encoding};
use crate::{MediaLogic, Reader, store};

/// What decoding and resizing gave.
struct Produced {
    /// The image's size, as displayed (after its EXIF orientation).
    size: (u32, u32),
    variants: Vec<Encoded>,
    /// What is served for the original.
    rendition: Encoding,
}

/// What decoding and resizing gave, or why the bytes cannot be processed.
fn produce_all(bytes: &[u8], mime_type: &str, presets: &[media_variants::Preset]) -> Result<Produced, String> {
    let decoded = variants::decode(bytes, mime_type)?;
    let size = (decoded.image.width(), decoded.image.height());
    let variants = presets.iter().map(|preset| variants::produce(&decoded, *preset)).collect::<Result<Vec<_>, _>>()?;
    let rendition = variants::rendition(&decoded)?;
    Ok(Produced { size, variants, rendition })
}

fn pixels(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl MediaLogic {
    /// Processes `media` (status PROCESSING, READY or FAILED): `original` are its bytes when
    /// the caller has them, `presets` the image presets to produce (empty: the defaults).
    /// Returns the row as stored afterwards: READY, or FAILED with the reason.
    pub(crate) async fn run_processing(
        &self,
        media: media::Row,
        original: Option<Vec<u8>>,
        presets: &[media_variants::Preset],
    ) -> Result<media::Row, LogicError> {
        media::increment_processing_attempts(&self.db, media.id, 1).await?;
        let started = media::Patch {
            status: Some(media::Status::Processing),
            processing_started_at: Some(Some(Utc::now())),
            processing_finished_at: Some(None),
            processing_error: Some(None),
            ..Default::default()
        };
        let media = media::update(&self.db, media.id, &started).await?;
        let done = if media.kind == media::Kind::Image {
            self.process_image(&media, original, presets).await?
        } else {
            let patch = media::Patch { status: Some(media::Status::Ready), processing_finished_at: Some(Some(Utc::now())), ..Default::default() };
            media::update(&self.db, media.id, &patch).await?
        };
        self.invalidate(done.id, done.owner_id).await;
        Ok(done)
    }

    async fn process_image(
        &self,
        media: &media::Row,
        original: Option<Vec<u8>>,
        presets: &[media_variants::Preset],
    ) -> Result<media::Row, LogicError> {
        let bytes = match original {
            Some(bytes) => bytes,
            None => store::get(&*self.settings.store, &media.storage_key).await?.to_vec(),
        };
        let presets = if presets.is_empty() { DEFAULT_IMAGE_PRESETS.to_vec() } else { presets.to_vec() };
        let mime_type = media.mime_type.clone();
        let outcome = tokio::task::spawn_blocking(move || produce_all(&bytes, &mime_type, &presets))
            .await
            .map_err(|e| LogicError::internal("producing image variants", e))?;
        let Produced { size: (width, height), variants: produced, rendition } = match outcome {
            Ok(done) => done,
            Err(reason) => {
                let patch = media::Patch {
                    status: Some(media::Status::Failed),
                    processing_error: Some(Some(reason)),
                    processing_finished_at: Some(Some(Utc::now())),
                    ..Default::default()
                };
                return Ok(media::update(&self.db, media.id, &patch).await?);
            }
        };
        // Objects first: a row never names an object that is not there. Rewriting a variant
        // overwrites its object with identical bytes.
        let rendition_key = store::rendition_key(&media.storage_key);
        store::put(&*self.settings.store, &rendition_key, rendition.bytes).await?;
        let mut keys = Vec::with_capacity(produced.len());
        for variant in &produced {
            let key = store::variant_key(&media.storage_key, variant.preset.name());
            store::put(&*self.settings.store, &key, variant.bytes.clone()).await?;
            keys.push(key);
        }
        let mut tx = self.db.begin().await?;
        for (variant, key) in produced.iter().zip(keys) {
            if let Some(old) = media_variants::find_by_media_id_and_preset(&mut *tx, media.id, variant.preset).await? {
                media_variants::delete(&mut *tx, old.id).await?;
            }
            let new = media_variants::New {
                id: None,
                media_id: media.id,
                preset: variant.preset,
                mime_type: variant.mime_type.to_string(),
                width: Some(pixels(variant.width)),
                height: Some(pixels(variant.height)),
                size_bytes: i64::try_from(variant.bytes.len()).unwrap_or(i64::MAX),
                storage_key: key,
                created_at: None,
            };
            media_variants::insert(&mut *tx, &new).await?;
        }
        let patch = media::Patch {
            status: Some(media::Status::Ready),
            width: Some(Some(pixels(width))),
            height: Some(Some(pixels(height))),
            rendition_key: Some(Some(rendition_key)),
            processing_finished_at: Some(Some(Utc::now())),
            ..Default::default()
        };
        let media = media::update(&mut *tx, media.id, &patch).await?;
        tx.commit().await?;
        Ok(media)
    }

    pub(crate) async fn reprocess(&self, reader: &Reader<'_>, request: pb::ProcessMediaRequest) -> Result<pb::ProcessMediaResponse, LogicError> {
        let media = self.visible_media(reader, &request.media_id).await?;
        let mut presets = Vec::with_capacity(request.presets.len());
        for value in &request.presets {
            let preset: pb::VariantPreset = enum_value("presets", *value)?;
            let preset = media_variants::Preset::try_from(preset)
                .ok()
                .filter(|p| media.kind == media::Kind::Image && variants::preset_box(*p).is_some())
                .ok_or_else(|| {
                    LogicError::invalid_argument(format!("presets: {} is not produced for {} media", preset.as_str_name(), media.kind.name()))
                })?;
            if !presets.contains(&preset) {
                presets.push(preset);
            }
        }
        if media.status == media::Status::PendingUpload {
            return Err(LogicError::FailedPrecondition(format!("media_id: the upload of {} is not complete", media.id)));
        }
        let media = self.run_processing(media, None, &presets).await?;
        Ok(pb::ProcessMediaResponse { status: Some(processing_message(&media)) })
    }

    pub(crate) async fn processing_status(
        &self,
        reader: &Reader<'_>,
        request: pb::GetProcessingStatusRequest,
    ) -> Result<pb::GetProcessingStatusResponse, LogicError> {
        let media = self.visible_media(reader, &request.media_id).await?;
        Ok(pb::GetProcessingStatusResponse { status: Some(processing_message(&media)) })
    }

    /// The live media `media_id` names; NOT_FOUND naming media_id otherwise.
    pub(crate) async fn live_media(&self, media_id: &str) -> Result<media::Row, LogicError> {
        let id = parse_uuid("media_id", media_id)?;
        media::get(&self.db, id).await?.ok_or_else(|| LogicError::not_found(format!("media_id: no media {id}")))
    }

    /// The live media `media_id` names if `reader` may see it; the same NOT_FOUND as for no
    /// media otherwise (existence is not revealed).
    pub(crate) async fn visible_media(&self, reader: &Reader<'_>, media_id: &str) -> Result<media::Row, LogicError> {
        let media = self.live_media(media_id).await?;
        if reader.may_see(&media) { Ok(media) } else { Err(LogicError::not_found(format!("media_id: no media {}", media.id))) }
    }
}
