//! Images as a client uploads them: a real PNG sent through media's resumable upload
//! (initiate, chunks of the size media asks for, each with its SHA-256, complete).

use std::io::Cursor;

use nova_media_api::{MediaClient, pb};
use sha2::{Digest as _, Sha256};

use crate::error::{SeedError, Step as _, present};

/// A `width` x `height` PNG with a pattern that does not compress to nothing.
pub fn png(width: u32, height: u32) -> Result<Vec<u8>, SeedError> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) as u8;
        image::Rgb([(x % 256) as u8, (y % 256) as u8, noise])
    });
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).map_err(|e| SeedError::Image(e.to_string()))?;
    Ok(bytes.into_inner())
}

/// The SHA-256 of `bytes` in lower-case hex, as uploads declare it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts the upload of `png` by `owner`: the upload, in state PENDING_UPLOAD.
pub async fn initiate(media: &MediaClient, owner: &str, png: &[u8]) -> Result<pb::Upload, SeedError> {
    let request = pb::InitiateMediaUploadRequest {
        owner_id: owner.into(),
        kind: pb::MediaKind::Image as i32,
        mime_type: "image/png".into(),
        size_bytes: png.len() as i64,
        file_name: "upload.png".into(),
        sha256: sha256_hex(png),
    };
    let response = media.initiate_media_upload(request).await.step("InitiateMediaUpload")?;
    present(response.upload, "InitiateMediaUpload", "upload")
}

/// Uploads `png` for `owner` and completes it: the media, READY with its variants.
pub async fn upload_png(media: &MediaClient, owner: &str, png: &[u8]) -> Result<pb::Media, SeedError> {
    let upload = initiate(media, owner, png).await?;
    let size = usize::try_from(upload.chunk_size_bytes).unwrap_or(usize::MAX).max(1);
    for (index, data) in png.chunks(size).enumerate() {
        let chunk = pb::UploadMediaChunkRequest {
            upload_id: upload.id.clone(),
            requester_id: owner.into(),
            chunk_number: index as i32 + 1,
            data: data.to_vec(),
            sha256: sha256_hex(data),
        };
        media.upload_media_chunk(chunk).await.step(format!("UploadMediaChunk {}", index + 1))?;
    }
    let complete = pb::CompleteMediaUploadRequest { upload_id: upload.id, requester_id: owner.into() };
    let response = media.complete_media_upload(complete).await.step("CompleteMediaUpload")?;
    present(response.media, "CompleteMediaUpload", "media")
}
