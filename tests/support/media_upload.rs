//! Media as a client uploads it: a real PNG made with the `image` crate and sent through
//! media's resumable upload (initiate, chunks, complete), for tests and benchmarks of the
//! services that attach media (content, and later feed and messaging).

use std::io::Cursor;

use nova_media::{MediaClient, pb};
use sha2::{Digest as _, Sha256};

/// A `width` x `height` PNG with a pattern that does not compress to nothing.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) as u8;
        image::Rgb([(x % 256) as u8, (y % 256) as u8, noise])
    });
    let mut bytes = Cursor::new(Vec::new());
    if let Err(error) = image.write_to(&mut bytes, image::ImageFormat::Png) {
        panic!("cannot encode a PNG: {error}");
    }
    bytes.into_inner()
}

/// The SHA-256 of `bytes` in lower-case hex, as uploads declare it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts the upload of `png` by `owner`: the upload, in state PENDING_UPLOAD.
pub async fn initiate(media: &MediaClient, owner: &str, png: &[u8]) -> pb::Upload {
    let request = pb::InitiateMediaUploadRequest {
        owner_id: owner.into(),
        kind: pb::MediaKind::Image as i32,
        mime_type: "image/png".into(),
        size_bytes: png.len() as i64,
        file_name: "upload.png".into(),
        sha256: sha256_hex(png),
    };
    match media.initiate_media_upload(request).await {
        Ok(response) => response.upload.unwrap_or_else(|| panic!("InitiateMediaUpload answered no upload")),
        Err(status) => panic!("InitiateMediaUpload failed: {status:?}"),
    }
}

/// Uploads `png` for `owner` in as many chunks as media asks for, completes it, and returns
/// the media, READY with its variants.
pub async fn upload_png(media: &MediaClient, owner: &str, png: &[u8]) -> pb::Media {
    let upload = initiate(media, owner, png).await;
    let size = usize::try_from(upload.chunk_size_bytes).unwrap_or(usize::MAX).max(1);
    for (index, data) in png.chunks(size).enumerate() {
        let chunk = pb::UploadMediaChunkRequest {
            upload_id: upload.id.clone(),
            requester_id: owner.into(),
            chunk_number: index as i32 + 1,
            data: data.to_vec(),
            sha256: sha256_hex(data),
        };
        if let Err(status) = media.upload_media_chunk(chunk).await {
            panic!("UploadMediaChunk {} failed: {status:?}", index + 1);
        }
    }
    let complete = pb::CompleteMediaUploadRequest { upload_id: upload.id, requester_id: owner.into() };
    match media.complete_media_upload(complete).await {
        Ok(response) => response.media.unwrap_or_else(|| panic!("CompleteMediaUpload answered no media")),
        Err(status) => panic!("CompleteMediaUpload failed: {status:?}"),
    }
}
