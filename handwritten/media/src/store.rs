//! The object layout and the few object-store operations the service needs.
//!
//! - `uploads/<upload id>/<chunk number>`: a staged chunk, deleted once assembled;
//! - `media/<owner id>/<media id>`: the original, assembled on completion; never served (it
//!   carries whatever metadata the uploader's device wrote: EXIF, GPS position, ...);
//! - `media/<owner id>/<media id>.<preset>`: its variants (a sibling, not a child, so that
//!   listing or deleting the original never touches them by accident);
//! - `media/<owner id>/<media id>.full`: its rendition, what is served for the original: the
//!   image re-encoded at full size, without metadata.

use futures_util::TryStreamExt;
use nova_media::LogicError;
use nova_runtime::codegen::uuid::Uuid;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// The staging prefix of an upload (kept in `uploads.storage_upload_id`).
pub fn staging_prefix(upload_id: Uuid) -> String {
    format!("uploads/{upload_id}")
}

/// The key of one staged chunk.
pub fn chunk_key(staging_prefix: &str, chunk_number: i32) -> String {
    format!("{staging_prefix}/{chunk_number}")
}

/// The key of a media's original.
pub fn original_key(owner_id: Uuid, media_id: Uuid) -> String {
    format!("media/{owner_id}/{media_id}")
}

/// The key of one variant of the original stored at `original_key`.
pub fn variant_key(original_key: &str, preset_name: &str) -> String {
    format!("{original_key}.{preset_name}")
}

/// The key of the rendition served for the original stored at `original_key`.
pub fn rendition_key(original_key: &str) -> String {
    format!("{original_key}.full")
}

fn failed(what: &str, key: &str, error: object_store::Error) -> LogicError {
    match error {
        object_store::Error::NotFound { .. } => LogicError::FailedPrecondition(format!("{what}: object {key} is missing from storage")),
        other => LogicError::Unavailable(format!("{what}: object storage failed on {key}: {other}")),
    }
}

/// Writes `bytes` at `key` (atomically: readers see all or nothing).
pub async fn put(store: &dyn ObjectStore, key: &str, bytes: Vec<u8>) -> Result<(), LogicError> {
    store.put(&Path::from(key), PutPayload::from(bytes)).await.map(|_| ()).map_err(|e| failed("storing", key, e))
}

/// The bytes at `key`.
pub async fn get(store: &dyn ObjectStore, key: &str) -> Result<bytes::Bytes, LogicError> {
    let result = store.get(&Path::from(key)).await.map_err(|e| failed("reading", key, e))?;
    result.bytes().await.map_err(|e| failed("reading", key, e))
}

/// Deletes `key`; a missing object is not an error (deletions are retried).
pub async fn delete(store: &dyn ObjectStore, key: &str) -> Result<(), LogicError> {
    match store.delete(&Path::from(key)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(error) => Err(failed("deleting", key, error)),
    }
}

/// Deletes every object under `prefix` (a path prefix: `uploads/x` does not cover `uploads/xy`).
pub async fn delete_prefix(store: &dyn ObjectStore, prefix: &str) -> Result<(), LogicError> {
    let keys: Vec<Path> =
        store.list(Some(&Path::from(prefix))).map_ok(|meta| meta.location).try_collect().await.map_err(|e| failed("listing", prefix, e))?;
    for key in keys {
        delete(store, key.as_ref()).await?;
    }
    Ok(())
}
