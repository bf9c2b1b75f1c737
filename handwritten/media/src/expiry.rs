//! Uploads that were never completed: once past `expires_at` their staged chunks are deleted,
//! the upload becomes EXPIRED and its media FAILED ("the upload expired"), so nothing
//! half-written stays in storage. `start_with` runs the sweep periodically; the time is a
//! parameter, so tests sweep "two days later" without waiting.

use nova_media::LogicError;
use nova_media::repo::{media, upload_chunks, uploads};
use nova_runtime::codegen::chrono::{DateTime, Duration, Utc};

use crate::{MediaLogic, store};

/// How far back a sweep looks: uploads that expired earlier were swept by an earlier run
/// (runs are minutes apart), and the range scan stays short as completed uploads pile up.
const SWEEP_WINDOW_DAYS: i64 = 7;
/// Uploads read per page.
const PAGE: i64 = 100;

impl MediaLogic {
    /// Expires every upload still in progress whose `expires_at` is before `now` (within the
    /// sweep window); returns how many. Safe to run concurrently and to re-run.
    pub async fn expire_uploads(&self, now: DateTime<Utc>) -> Result<usize, LogicError> {
        let since = now - Duration::days(SWEEP_WINDOW_DAYS);
        let mut after: Option<uploads::ExpiresAtCursor> = None;
        let mut expired = 0;
        loop {
            let page = uploads::list_by_expires_at_between(&self.db, since, now, after.as_ref(), PAGE).await?;
            for upload in page.iter().filter(|u| u.status == uploads::Status::InProgress) {
                self.expire(upload).await?;
                expired += 1;
            }
            if page.len() < PAGE as usize {
                return Ok(expired);
            }
            after = page.last().map(Into::into);
        }
    }

    async fn expire(&self, upload: &uploads::Row) -> Result<(), LogicError> {
        let chunks = self.chunks(upload).await?;
        let mut tx = self.db.begin().await?;
        for chunk in &chunks {
            upload_chunks::delete(&mut *tx, upload.id, chunk.chunk_number).await?;
        }
        let patch = uploads::Patch { status: Some(uploads::Status::Expired), ..Default::default() };
        uploads::update(&mut *tx, upload.id, &patch).await?;
        let patch = media::Patch {
            status: Some(media::Status::Failed),
            processing_error: Some(Some("the upload expired before it was completed".to_string())),
            ..Default::default()
        };
        // A media deleted meanwhile has nothing left to fail.
        let failed = match media::update(&mut *tx, upload.media_id, &patch).await {
            Ok(row) => Some(row),
            Err(nova_runtime::repo::RepoError::NotFound { .. }) => None,
            Err(error) => return Err(error.into()),
        };
        tx.commit().await?;
        if let Some(media) = failed {
            self.invalidate(media.id, media.owner_id).await;
        }
        // Rows first, then objects: no row ever names a missing object.
        store::delete_prefix(&*self.settings.store, &upload.storage_upload_id).await
    }
}
