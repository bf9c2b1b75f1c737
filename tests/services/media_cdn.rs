//! What media's CDN addresses hand out: signed, expiring addresses (checked here the way a CDN's
//! verifier checks them, with the same key), of renditions re-encoded without metadata, never
//! of the original upload. Real auth and media over gRPC, objects in a directory of the test's
//! own, read back as the CDN would serve them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::io::Cursor;
use std::sync::Arc;

use nova_media::{MediaClient, pb};
use nova_media_service::MediaSettings;
use nova_media_service::cdn::{self, Refusal, UrlSigningKey};
use nova_media_service::settings::local_store;
use nova_runtime::codegen::chrono::Utc;
use nova_tests::media_upload::{png, sha256_hex};
use nova_tests::system::TestDirectory;
use nova_tests::{TestSystem, TestUser};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use tonic::Code;

const CDN: &str = "https://cdn.test/media/";
/// Where a position hides in the test images' metadata (EXIF and PNG text).
const WHERE: &str = "48.8584N 2.2945E";

fn key() -> UrlSigningKey {
    UrlSigningKey::new(&[42; 32]).unwrap()
}

/// auth and media, media signing with [`key`] under [`CDN`], objects in `dir`.
struct Cdn {
    system: TestSystem,
    owner: TestUser,
    /// The edge carrying the owner's token.
    media: MediaClient,
    store: Arc<dyn ObjectStore>,
    _dir: TestDirectory,
}

impl Cdn {
    async fn start() -> Self {
        let mut system = TestSystem::new();
        system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
        let dir = TestDirectory::new("media-objects");
        let store = local_store(dir.path.clone()).unwrap();
        let mut settings = MediaSettings::new(store.clone(), key());
        settings.cdn_base_url = CDN.to_string();
        system
            .start(&nova_media::server::DESCRIPTION, move |config, listeners, shutdown| {
                nova_media_service::start_with(config, settings, listeners, shutdown)
            })
            .await;
        let owner = system.sign_up("ada").await;
        let media = system.client(MediaClient::from_peers).with_token(&owner.token);
        Cdn { system, owner, media, store, _dir: dir }
    }

    async fn initiate(&self, mime_type: &str, bytes: &[u8]) -> pb::Upload {
        let kind = if mime_type.starts_with("image/") { pb::MediaKind::Image } else { pb::MediaKind::Audio };
        let request = pb::InitiateMediaUploadRequest {
            owner_id: self.owner.id.clone(),
            kind: kind as i32,
            mime_type: mime_type.to_string(),
            size_bytes: bytes.len() as i64,
            file_name: "photo".to_string(),
            sha256: sha256_hex(bytes),
        };
        self.media.initiate_media_upload(request).await.unwrap().upload.unwrap()
    }

    /// Uploads `bytes` in one chunk and completes: the media, READY.
    async fn upload(&self, mime_type: &str, bytes: &[u8]) -> pb::Media {
        let upload = self.initiate(mime_type, bytes).await;
        assert_eq!(upload.total_chunks, 1);
        let chunk = pb::UploadMediaChunkRequest {
            upload_id: upload.id.clone(),
            requester_id: self.owner.id.clone(),
            chunk_number: 1,
            data: bytes.to_vec(),
            sha256: String::new(),
        };
        self.media.upload_media_chunk(chunk).await.unwrap();
        let complete = pb::CompleteMediaUploadRequest { upload_id: upload.id, requester_id: self.owner.id.clone() };
        let media = self.media.complete_media_upload(complete).await.unwrap().media.unwrap();
        assert_eq!(media.status, pb::MediaStatus::Ready as i32, "{media:?}");
        media
    }

    async fn url(&self, media_id: &str, preset: pb::VariantPreset) -> Result<pb::GetMediaCdnUrlResponse, tonic::Status> {
        self.media.get_media_cdn_url(pb::GetMediaCdnUrlRequest { media_id: media_id.to_string(), preset: preset as i32 }).await
    }

    /// What the CDN serves for `url` once its verifier accepted it: the object under the path.
    async fn served(&self, url: &str) -> Vec<u8> {
        let request = path_and_query(url);
        cdn::verify_request(&key(), request, Utc::now().timestamp()).unwrap();
        let path = request.split_once('?').unwrap().0;
        read(&*self.store, path.strip_prefix("/media/").unwrap()).await
    }

    fn original_key(&self, media: &pb::Media) -> String {
        format!("media/{}/{}", self.owner.id, media.id)
    }
}

async fn read(store: &dyn ObjectStore, key: &str) -> Vec<u8> {
    store.get(&Path::from(key)).await.unwrap().bytes().await.unwrap().to_vec()
}

/// What follows the host in `url`: the path and query the CDN receives.
fn path_and_query(url: &str) -> &str {
    let rest = url.split_once("://").unwrap().1;
    &rest[rest.find('/').unwrap()..]
}

fn query_value<'a>(url: &'a str, name: &str) -> &'a str {
    let query = url.split_once('?').unwrap().1;
    query.split('&').find_map(|pair| pair.strip_prefix(name).and_then(|v| v.strip_prefix('='))).unwrap()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, mentions: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(mentions), "{:?} should mention {mentions:?}", status.message());
}

// ----- images carrying metadata, built by hand -----

/// A big-endian TIFF (EXIF) block: orientation 6 (turn 90° clockwise to display) and an
/// image description naming [`WHERE`].
fn exif() -> Vec<u8> {
    let text = format!("taken at {WHERE}\0");
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // ImageDescription (ASCII), its text after this directory (8 + 2 + 2 * 12 + 4 = 38).
    tiff.extend_from_slice(&[0x01, 0x0e, 0, 2]);
    tiff.extend_from_slice(&(text.len() as u32).to_be_bytes());
    tiff.extend_from_slice(&38u32.to_be_bytes());
    // Orientation (SHORT) = 6, in place.
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    tiff.extend_from_slice(text.as_bytes());
    tiff
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let mut checked = kind.to_vec();
    checked.extend_from_slice(data);
    chunk.extend_from_slice(&crc32(&checked).to_be_bytes());
    chunk
}

/// A 64x48 PNG with an eXIf chunk and a tEXt chunk after its header.
fn png_with_metadata() -> Vec<u8> {
    let plain = png(64, 48);
    let after_header = 8 + 8 + 13 + 4;
    let mut bytes = plain[..after_header].to_vec();
    bytes.extend(png_chunk(b"eXIf", &exif()));
    bytes.extend(png_chunk(b"tEXt", format!("Comment\0at home, {WHERE}").as_bytes()));
    bytes.extend_from_slice(&plain[after_header..]);
    bytes
}

/// The chunk types of a PNG.
fn png_chunks(bytes: &[u8]) -> Vec<String> {
    let mut kinds = Vec::new();
    let mut at = 8;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        kinds.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        at += 12 + len;
    }
    kinds
}

/// A 64x48 JPEG with an APP1 Exif segment after its JFIF header, and a comment.
fn jpeg_with_metadata() -> Vec<u8> {
    let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
    let mut plain = Cursor::new(Vec::new());
    image.write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
    let plain = plain.into_inner();
    assert_eq!(&plain[..4], &[0xff, 0xd8, 0xff, 0xe0], "SOI, then the JFIF header");
    let after_jfif = 4 + usize::from(u16::from_be_bytes([plain[4], plain[5]]));
    let segment = |marker: u8, payload: &[u8]| {
        let mut bytes = vec![0xff, marker];
        bytes.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    };
    let mut exif_payload = b"Exif\0\0".to_vec();
    exif_payload.extend(exif());
    let mut bytes = plain[..after_jfif].to_vec();
    bytes.extend(segment(0xe1, &exif_payload));
    bytes.extend(segment(0xfe, format!("at home, {WHERE}").as_bytes()));
    bytes.extend_from_slice(&plain[after_jfif..]);
    bytes
}

/// The markers of a JPEG's segments before its image data.
fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    let mut markers = Vec::new();
    let mut at = 2;
    while at + 4 <= bytes.len() && bytes[at] == 0xff {
        let marker = bytes[at + 1];
        markers.push(marker);
        if marker == 0xda {
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    }
    markers
}

/// The metadata an encoded image carries: PNG chunks or JPEG segments that are not pixels.
fn metadata_of(bytes: &[u8]) -> Vec<String> {
    if bytes.starts_with(b"\x89PNG") {
        png_chunks(bytes).into_iter().filter(|kind| ["eXIf", "tEXt", "zTXt", "iTXt", "iCCP", "tIME"].contains(&kind.as_str())).collect()
    } else {
        // APP1..APP15 (EXIF, XMP, ICC, ...) and comments; APP0 is the JFIF header.
        jpeg_markers(bytes).into_iter().filter(|m| (0xe1..=0xef).contains(m) || *m == 0xfe).map(|m| format!("{m:#x}")).collect()
    }
}

// ----- tests -----

#[tokio::test]
async fn what_is_served_for_an_image_carries_none_of_its_metadata() {
    let cdn = Cdn::start().await;
    for (mime_type, bytes) in [("image/png", png_with_metadata()), ("image/jpeg", jpeg_with_metadata())] {
        assert!(!metadata_of(&bytes).is_empty() && contains(&bytes, WHERE), "{mime_type}: the test image carries metadata");
        let media = cdn.upload(mime_type, &bytes).await;
        // Turned as its EXIF orientation said, since what is served has no EXIF to say it.
        assert_eq!((media.width, media.height), (48, 64), "{mime_type}");
        // The original is kept as uploaded, and never served.
        assert_eq!(read(&*cdn.store, &cdn.original_key(&media)).await, bytes);
        for preset in [pb::VariantPreset::Unspecified, pb::VariantPreset::Thumbnail, pb::VariantPreset::ImageMedium] {
            let url = cdn.url(&media.id, preset).await.unwrap().url;
            assert!(!path_and_query(&url).starts_with(&format!("/media/{}?", cdn.original_key(&media))), "{url}");
            let served = cdn.served(&url).await;
            assert_eq!(metadata_of(&served), Vec::<String>::new(), "{mime_type} {preset:?}");
            assert!(!contains(&served, WHERE), "{mime_type} {preset:?}: the position is gone");
            let decoded = image::load_from_memory(&served).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (48, 64), "{mime_type} {preset:?}");
        }
    }
    cdn.system.stop().await;
}

#[tokio::test]
async fn cdn_addresses_are_signed_expire_and_never_name_the_original() {
    let cdn = Cdn::start().await;
    let pending = cdn.initiate("image/png", b"later").await;
    assert_code(cdn.url(&pending.media_id, pb::VariantPreset::Unspecified).await, Code::FailedPrecondition, "not ready");

    let media = cdn.upload("image/png", &png(64, 48)).await;
    let before = Utc::now().timestamp();
    let answer = cdn.url(&media.id, pb::VariantPreset::Unspecified).await.unwrap();
    let after = Utc::now().timestamp();
    let url = answer.url.clone();
    // The rendition's address, signed: base, object key, expiry, signature.
    let rendition = format!("{}.full", cdn.original_key(&media));
    assert!(url.starts_with(&format!("{CDN}{rendition}?expires=")), "{url}");
    let expires: i64 = query_value(&url, "expires").parse().unwrap();
    assert_eq!(answer.expires_at.unwrap().seconds, expires);
    assert!(expires >= before + 3600 && expires <= after + 3600 + cdn::EXPIRY_STEP_SECONDS && expires % cdn::EXPIRY_STEP_SECONDS == 0, "{expires}");

    // The verifier's view: valid until it expires, only with the key, only for this object.
    let request = path_and_query(&url);
    assert_eq!(cdn::verify_request(&key(), request, after), Ok(()));
    assert_eq!(cdn::verify_request(&key(), request, expires), Err(Refusal::Expired));
    assert_eq!(cdn::verify_request(&UrlSigningKey::new(&[7; 32]).unwrap(), request, after), Err(Refusal::BadSignature));
    let at_the_original = request.replace(".full?", "?");
    assert_eq!(cdn::verify_request(&key(), &at_the_original, after), Err(Refusal::BadSignature));
    let later = request.replace(&format!("expires={expires}"), &format!("expires={}", expires + 86_400));
    assert_eq!(cdn::verify_request(&key(), &later, after), Err(Refusal::BadSignature));
    assert!(matches!(cdn::verify_request(&key(), request.split('?').next().unwrap(), after), Err(Refusal::Malformed(_))), "unsigned");
    let served = image::load_from_memory(&cdn.served(&url).await).unwrap();
    assert_eq!((served.width(), served.height()), (64, 48), "the rendition is full size");

    let thumbnail = cdn.url(&media.id, pb::VariantPreset::Thumbnail).await.unwrap().url;
    assert!(thumbnail.starts_with(&format!("{CDN}{}.thumbnail?expires={expires}&signature=", cdn.original_key(&media))), "{thumbnail}");
    assert_eq!(cdn::verify_request(&key(), path_and_query(&thumbnail), after), Ok(()));
    assert_code(cdn.url(&media.id, pb::VariantPreset::ImageLarge).await, Code::NotFound, "preset");
    assert_code(cdn.url(&media.id, pb::VariantPreset::VideoHls).await, Code::NotFound, "preset");
    assert_code(cdn.url(&uuid::Uuid::new_v4().to_string(), pb::VariantPreset::Unspecified).await, Code::NotFound, "media_id");

    // Audio is not transcoded: nothing is served for its original.
    let audio = cdn.upload("audio/mpeg", b"some audio").await;
    assert_code(cdn.url(&audio.id, pb::VariantPreset::Unspecified).await, Code::NotFound, "preset");

    // An image processed before renditions existed gets one from ProcessMedia.
    let legacy = cdn.upload("image/png", &png(32, 32)).await;
    let mut db = cdn.system.connect("media").await;
    let id: uuid::Uuid = legacy.id.parse().unwrap();
    sqlx::query("UPDATE media SET rendition_key = NULL WHERE id = $1").bind(id).execute(&mut db).await.unwrap();
    assert_code(cdn.url(&legacy.id, pb::VariantPreset::Unspecified).await, Code::FailedPrecondition, "ProcessMedia");
    cdn.media.process_media(pb::ProcessMediaRequest { media_id: legacy.id.clone(), presets: vec![] }).await.unwrap();
    let url = cdn.url(&legacy.id, pb::VariantPreset::Unspecified).await.unwrap().url;
    assert_eq!(image::load_from_memory(&cdn.served(&url).await).unwrap().width(), 32);
    cdn.system.stop().await;
}
