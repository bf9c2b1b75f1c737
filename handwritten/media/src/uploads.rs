//! The resumable chunked upload: initiate, send chunks (any order, re-sendable), inspect,
//! complete (assemble, verify the whole-file SHA-256, process).

use nova_media::repo::{media, upload_chunks, uploads};
use nova_media::{LogicError, pb};
use nova_runtime::codegen::chrono::{Duration, Utc};
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::convert::{parse_uuid, text};
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::convert::{enum_value, hex, media_message, parse_sha256, sha256_hex, upload_message};
use crate::{MediaLogic, ensure_owner, store};

const MAX_IMAGE_BYTES: i64 = 50 * 1024 * 1024;
const MAX_STREAM_BYTES: i64 = 5 * 1024 * 1024 * 1024;
const MAX_FILE_NAME_CHARS: usize = 255;
/// Parts of the assembled object uploaded concurrently (each up to 5 MiB).
const MAX_PARTS_IN_FLIGHT: usize = 4;

/// The MIME types accepted for each kind.
fn allowed_mime_types(kind: media::Kind) -> &'static [&'static str] {
    match kind {
        media::Kind::Image => &["image/png", "image/jpeg", "image/webp"],
        media::Kind::Video => &["video/mp4", "video/webm", "video/quicktime"],
        media::Kind::Audio => &["audio/mpeg", "audio/mp4", "audio/ogg", "audio/wav", "audio/webm"],
    }
}

/// The validated fields of an InitiateMediaUploadRequest.
struct NewUpload {
    owner_id: Uuid,
    kind: media::Kind,
    mime_type: String,
    size_bytes: i64,
    file_name: String,
    sha256: String,
}

fn validate_new_upload(request: &pb::InitiateMediaUploadRequest) -> Result<NewUpload, LogicError> {
    let owner_id = parse_uuid("owner_id", &request.owner_id)?;
    let kind: pb::MediaKind = enum_value("kind", request.kind)?;
    let kind = media::Kind::try_from(kind).map_err(|_| LogicError::invalid_argument("kind: must be IMAGE, VIDEO or AUDIO"))?;
    let allowed = allowed_mime_types(kind);
    if !allowed.contains(&request.mime_type.as_str()) {
        return Err(LogicError::invalid_argument(format!(
            "mime_type: {:?} is not allowed for {}; allowed: {}",
            request.mime_type,
            kind.name(),
            allowed.join(", ")
        )));
    }
    let limit = if kind == media::Kind::Image { MAX_IMAGE_BYTES } else { MAX_STREAM_BYTES };
    if request.size_bytes <= 0 || request.size_bytes > limit {
        return Err(LogicError::invalid_argument(format!(
            "size_bytes: must be between 1 and {limit} for {}, got {}",
            kind.name(),
            request.size_bytes
        )));
    }
    let file_name = text("file_name", &request.file_name)?;
    if file_name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(LogicError::invalid_argument(format!("file_name: at most {MAX_FILE_NAME_CHARS} characters")));
    }
    Ok(NewUpload {
        owner_id,
        kind,
        mime_type: request.mime_type.clone(),
        size_bytes: request.size_bytes,
        file_name: file_name.to_string(),
        sha256: parse_sha256("sha256", &request.sha256)?,
    })
}

/// The length chunk `number` (1-based) of `upload` must have.
fn expected_chunk_len(upload: &uploads::Row, number: i32) -> i64 {
    if number == upload.total_chunks {
        upload.size_bytes - upload.chunk_size_bytes * i64::from(upload.total_chunks - 1)
    } else {
        upload.chunk_size_bytes
    }
}

impl MediaLogic {
    /// NOT_FOUND naming owner_id unless auth knows `owner_id` as a live user (the generated
    /// check; cached).
    async fn ensure_live_user(&self, owner_id: Uuid) -> Result<(), LogicError> {
        self.users.require_live("owner_id", owner_id).await.map(|_| ())
    }

    pub(crate) async fn initiate(&self, request: pb::InitiateMediaUploadRequest) -> Result<pb::InitiateMediaUploadResponse, LogicError> {
        let new = validate_new_upload(&request)?;
        self.ensure_live_user(new.owner_id).await?;
        let chunk_size = i64::try_from(self.settings.chunk_size_bytes).unwrap_or(i64::MAX);
        let total_chunks = i32::try_from((new.size_bytes + chunk_size - 1) / chunk_size)
            .map_err(|_| LogicError::invalid_argument("size_bytes: too many chunks for the configured chunk size"))?;
        let (media_id, upload_id) = (Uuid::new_v4(), Uuid::new_v4());
        let mut tx = self.db.begin().await?;
        media::insert(
            &mut *tx,
            &media::New {
                id: Some(media_id),
                owner_id: new.owner_id,
                kind: new.kind,
                status: None,
                mime_type: new.mime_type,
                size_bytes: new.size_bytes,
                width: None,
                height: None,
                duration_ms: None,
                sha256: Some(new.sha256.clone()),
                storage_key: store::original_key(new.owner_id, media_id),
                file_name: Some(new.file_name),
                title: None,
                alt_text: None,
                created_at: None,
                updated_at: None,
                deleted_at: None,
                processing_error: None,
                processing_attempts: None,
                processing_started_at: None,
                processing_finished_at: None,
                rendition_key: None,
            },
        )
        .await?;
        let upload = uploads::insert(
            &mut *tx,
            &uploads::New {
                id: Some(upload_id),
                media_id,
                owner_id: new.owner_id,
                status: None,
                size_bytes: new.size_bytes,
                chunk_size_bytes: chunk_size,
                total_chunks,
                storage_upload_id: store::staging_prefix(upload_id),
                expires_at: Utc::now() + Duration::seconds(self.settings.upload_ttl_seconds),
                completed_at: None,
                created_at: None,
            },
        )
        .await?;
        tx.commit().await?;
        // A new media changes its owner's listing.
        self.invalidator.entity(&new.owner_id.to_string()).await;
        Ok(pb::InitiateMediaUploadResponse { upload: Some(upload_message(&upload, &new.sha256, &[], Utc::now())) })
    }

    /// The upload `upload_id` names, checked to belong to `requester_id`.
    async fn owned_upload(&self, upload_id: &str, requester_id: &str) -> Result<uploads::Row, LogicError> {
        let id = parse_uuid("upload_id", upload_id)?;
        let requester = parse_uuid("requester_id", requester_id)?;
        let upload = uploads::get(&self.db, id).await?.ok_or_else(|| LogicError::not_found(format!("upload_id: no upload {id}")))?;
        ensure_owner(requester, upload.owner_id, "use this upload")?;
        Ok(upload)
    }

    /// The live media an upload fills (NOT_FOUND once it was deleted).
    async fn upload_media(&self, upload: &uploads::Row) -> Result<media::Row, LogicError> {
        media::get(&self.db, upload.media_id)
            .await?
            .ok_or_else(|| LogicError::not_found(format!("upload_id: the media {} of this upload was deleted", upload.media_id)))
    }

    /// The chunks recorded for `upload`, by number.
    pub(crate) async fn chunks(&self, upload: &uploads::Row) -> Result<Vec<upload_chunks::Row>, LogicError> {
        // The repository pages upload_chunks in primary-key order (upload_id, chunk_number):
        // starting after (upload, 0) the first rows are this upload's, at most total_chunks.
        let start = upload_chunks::KeyCursor { upload_id: upload.id, chunk_number: 0 };
        let rows = upload_chunks::list(&self.db, Some(&start), i64::from(upload.total_chunks)).await?;
        Ok(rows.into_iter().filter(|row| row.upload_id == upload.id).collect())
    }

    fn ensure_open(upload: &uploads::Row) -> Result<(), LogicError> {
        if upload.status != uploads::Status::InProgress {
            return Err(LogicError::FailedPrecondition(format!("upload_id: the upload is {}, not in progress", upload.status.name())));
        }
        if upload.expires_at <= Utc::now() {
            return Err(LogicError::FailedPrecondition(format!("upload_id: the upload expired at {}", upload.expires_at.to_rfc3339())));
        }
        Ok(())
    }

    pub(crate) async fn upload_chunk(&self, request: pb::UploadMediaChunkRequest) -> Result<pb::UploadMediaChunkResponse, LogicError> {
        let upload = self.owned_upload(&request.upload_id, &request.requester_id).await?;
        let media = self.upload_media(&upload).await?;
        let number = request.chunk_number;
        if !(1..=upload.total_chunks).contains(&number) {
            return Err(LogicError::invalid_argument(format!("chunk_number: must be between 1 and {}, got {number}", upload.total_chunks)));
        }
        let expected = expected_chunk_len(&upload, number);
        if i64::try_from(request.data.len()).ok() != Some(expected) {
            return Err(LogicError::invalid_argument(format!("data: chunk {number} must be {expected} bytes, got {}", request.data.len())));
        }
        let digest = sha256_hex(&request.data);
        if !request.sha256.is_empty() && parse_sha256("sha256", &request.sha256)? != digest {
            return Err(LogicError::invalid_argument(format!("sha256: does not match data (whose SHA-256 is {digest}); the chunk was not stored")));
        }
        Self::ensure_open(&upload)?;
        let existing = upload_chunks::get(&self.db, upload.id, number).await?;
        // A re-sent chunk with the same bytes is already stored: nothing to write.
        if existing.as_ref().map(|row| row.etag.as_str()) != Some(digest.as_str()) {
            store::put(&*self.settings.store, &store::chunk_key(&upload.storage_upload_id, number), request.data).await?;
            let recorded = match existing {
                Some(_) => {
                    let patch = upload_chunks::Patch { size_bytes: Some(expected), etag: Some(digest), received_at: Some(Utc::now()) };
                    upload_chunks::update(&self.db, upload.id, number, &patch).await.map(|_| ())
                }
                None => {
                    let new =
                        upload_chunks::New { upload_id: upload.id, chunk_number: number, size_bytes: expected, etag: digest, received_at: None };
                    upload_chunks::insert(&self.db, &new).await.map(|_| ())
                }
            };
            // A concurrent retry of the same chunk may have recorded it first: same bytes,
            // same object, so that is success.
            match recorded {
                Ok(()) | Err(nova_runtime::repo::RepoError::UniqueViolation { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let chunks = self.chunks(&upload).await?;
        let sha256 = media.sha256.clone().unwrap_or_default();
        Ok(pb::UploadMediaChunkResponse { upload: Some(upload_message(&upload, &sha256, &chunks, Utc::now())) })
    }

    pub(crate) async fn upload_state(&self, request: pb::GetUploadRequest) -> Result<pb::GetUploadResponse, LogicError> {
        let upload = self.owned_upload(&request.upload_id, &request.requester_id).await?;
        let chunks = self.chunks(&upload).await?;
        let sha256 = media::get(&self.db, upload.media_id).await?.and_then(|m| m.sha256).unwrap_or_default();
        Ok(pb::GetUploadResponse { upload: Some(upload_message(&upload, &sha256, &chunks, Utc::now())) })
    }

    pub(crate) async fn complete(&self, request: pb::CompleteMediaUploadRequest) -> Result<pb::CompleteMediaUploadResponse, LogicError> {
        let upload = self.owned_upload(&request.upload_id, &request.requester_id).await?;
        let media = self.upload_media(&upload).await?;
        if upload.status == uploads::Status::Completed {
            return Ok(pb::CompleteMediaUploadResponse { media: Some(media_message(&media)) });
        }
        Self::ensure_open(&upload)?;
        let chunks = self.chunks(&upload).await?;
        let missing: Vec<String> =
            (1..=upload.total_chunks).filter(|n| !chunks.iter().any(|c| c.chunk_number == *n)).map(|n| n.to_string()).collect();
        if !missing.is_empty() {
            return Err(LogicError::FailedPrecondition(format!(
                "upload_id: chunks {} are missing; send them with UploadMediaChunk",
                missing.join(", ")
            )));
        }
        let (digest, original) = self.assemble(&upload, &media).await?;
        let declared = media.sha256.clone().unwrap_or_default();
        if digest != declared {
            self.discard_chunks(&upload, &chunks, &media.storage_key).await?;
            return Err(LogicError::FailedPrecondition(format!(
                "sha256: the assembled file's SHA-256 is {digest}, not {declared} as declared at initiation; the received chunks were discarded: send every chunk again, then complete"
            )));
        }
        let mut tx = self.db.begin().await?;
        let patch = uploads::Patch { status: Some(uploads::Status::Completed), completed_at: Some(Some(Utc::now())), ..Default::default() };
        uploads::update(&mut *tx, upload.id, &patch).await?;
        let patch = media::Patch { status: Some(media::Status::Processing), ..Default::default() };
        let media = media::update(&mut *tx, media.id, &patch).await?;
        tx.commit().await?;
        self.invalidate(media.id, media.owner_id).await;
        if let Err(error) = store::delete_prefix(&*self.settings.store, &upload.storage_upload_id).await {
            // The upload is complete either way; DeleteMedia removes leftovers later.
            tracing::warn!(upload_id = %upload.id, %error, "staged chunks of a completed upload could not be deleted");
        }
        let media = self.run_processing(media, original, &[]).await?;
        Ok(pb::CompleteMediaUploadResponse { media: Some(media_message(&media)) })
    }

    /// Writes the chunks, in order, into the media's object and returns the SHA-256 of the
    /// whole, and the bytes themselves for an image (processed right after). On failure no
    /// object is left at the media's key.
    async fn assemble(&self, upload: &uploads::Row, media: &media::Row) -> Result<(String, Option<Vec<u8>>), LogicError> {
        let store = &*self.settings.store;
        let location = Path::from(media.storage_key.as_str());
        let unavailable = |e: object_store::Error| LogicError::Unavailable(format!("object storage failed assembling {}: {e}", media.storage_key));
        let mut writer = WriteMultipart::new(store.put_multipart(&location).await.map_err(unavailable)?);
        let mut hasher = Sha256::new();
        let mut original = (media.kind == media::Kind::Image).then(Vec::new);
        for number in 1..=upload.total_chunks {
            let chunk = match store::get(store, &store::chunk_key(&upload.storage_upload_id, number)).await {
                Ok(chunk) => chunk,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(error);
                }
            };
            hasher.update(&chunk);
            if let Some(original) = original.as_mut() {
                original.extend_from_slice(&chunk);
            }
            // Bounded memory for large files: at most a few parts in flight.
            if let Err(error) = writer.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(unavailable(error));
            }
            writer.write(&chunk);
        }
        if let Err(error) = writer.finish().await {
            let _ = store::delete(store, &media.storage_key).await;
            return Err(unavailable(error));
        }
        Ok((hex(&hasher.finalize()), original))
    }

    /// After a whole-file checksum mismatch: forgets every received chunk (rows first, so no
    /// row ever names a missing object), then deletes the staged chunks and the assembled
    /// object. The upload stays in progress: the client sends the chunks again.
    async fn discard_chunks(&self, upload: &uploads::Row, chunks: &[upload_chunks::Row], original_key: &str) -> Result<(), LogicError> {
        let mut tx = self.db.begin().await?;
        for chunk in chunks {
            upload_chunks::delete(&mut *tx, upload.id, chunk.chunk_number).await?;
        }
        tx.commit().await?;
        store::delete(&*self.settings.store, original_key).await?;
        store::delete_prefix(&*self.settings.store, &upload.storage_upload_id).await
    }
}
