//! Media as a client uploads it, for tests and benchmarks of the services that attach media:
//! nova-seed's real PNG and resumable upload (initiate, chunks, complete), failing the test
//! on any error.
//!
//! Every upload RPC acts for the signed-in user: `initiate_as` and `upload_png_as` send the
//! owner's token themselves; `initiate` and `upload_png` take an owner id and need a client
//! that already carries that owner's token (`media.with_token(&owner.token)`).

use nova_media::{MediaClient, pb};

use crate::TestUser;

pub use nova_seed::media::sha256_hex;

/// A `width` x `height` PNG with a pattern that does not compress to nothing.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    nova_seed::media::png(width, height).unwrap_or_else(|error| panic!("{error}"))
}

/// Starts the upload of `png` by `owner` (`media` must carry the owner's token): the upload,
/// in state PENDING_UPLOAD.
pub async fn initiate(media: &MediaClient, owner: &str, png: &[u8]) -> pb::Upload {
    nova_seed::media::initiate(media, owner, png).await.unwrap_or_else(|error| panic!("{error}"))
}

/// Uploads `png` for `owner` (`media` must carry the owner's token) in as many chunks as media
/// asks for, completes it, and returns the media, READY with its variants.
pub async fn upload_png(media: &MediaClient, owner: &str, png: &[u8]) -> pb::Media {
    nova_seed::media::upload_png(media, owner, png).await.unwrap_or_else(|error| panic!("{error}"))
}

/// [`initiate`] as `owner`, with their token.
pub async fn initiate_as(media: &MediaClient, owner: &TestUser, png: &[u8]) -> pb::Upload {
    initiate(&media.with_token(&owner.token), &owner.id, png).await
}

/// [`upload_png`] as `owner`, with their token.
pub async fn upload_png_as(media: &MediaClient, owner: &TestUser, png: &[u8]) -> pb::Media {
    upload_png(&media.with_token(&owner.token), &owner.id, png).await
}
