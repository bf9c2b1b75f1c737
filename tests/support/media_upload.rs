//! Media as a client uploads it, for tests and benchmarks of the services that attach media:
//! nova-seed's real PNG and resumable upload (initiate, chunks, complete), failing the test
//! on any error.

use nova_media::{MediaClient, pb};

pub use nova_seed::media::sha256_hex;

/// A `width` x `height` PNG with a pattern that does not compress to nothing.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    nova_seed::media::png(width, height).unwrap_or_else(|error| panic!("{error}"))
}

/// Starts the upload of `png` by `owner`: the upload, in state PENDING_UPLOAD.
pub async fn initiate(media: &MediaClient, owner: &str, png: &[u8]) -> pb::Upload {
    nova_seed::media::initiate(media, owner, png).await.unwrap_or_else(|error| panic!("{error}"))
}

/// Uploads `png` for `owner` in as many chunks as media asks for, completes it, and returns
/// the media, READY with its variants.
pub async fn upload_png(media: &MediaClient, owner: &str, png: &[u8]) -> pb::Media {
    nova_seed::media::upload_png(media, owner, png).await.unwrap_or_else(|error| panic!("{error}"))
}
