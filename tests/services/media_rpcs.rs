//! The media service's RPCs over real gRPC, each test with its own databases and Redis key
//! prefix (see `nova_tests::TestSystem`), auth started first (an upload's owner must be a live
//! user), objects in a directory of the test's own or in a real S3-compatible server (moto).
//! Calls are made as the owner, with their token; who else may see a media is tested in
//! `media_access.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::TryStreamExt;
use nova_media::{MediaClient, pb};
use nova_media_service::cdn::UrlSigningKey;
use nova_media_service::settings::{local_store, s3_store};
use nova_media_service::{MediaSettings, S3Settings};
use nova_tests::media_s3::{self, MotoS3};
use nova_tests::media_upload::{png, sha256_hex as sha};
use nova_tests::{TestSystem, TestUser};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use sqlx::Row as _;
use tonic::Code;

const CDN: &str = "https://cdn.test/media/";

/// The key the tests' media signs CDN addresses with (signed addresses are tested in
/// `media_cdn.rs`).
fn url_key() -> UrlSigningKey {
    UrlSigningKey::new(&[42; 32]).unwrap()
}

/// A running auth + media pair, a registered owner and the store the service writes to.
struct Harness {
    system: TestSystem,
    /// The edge carrying the owner's token.
    media: MediaClient,
    store: Arc<dyn ObjectStore>,
    /// The owner's id.
    owner: String,
    user: TestUser,
    dir: Option<PathBuf>,
}

impl Harness {
    /// With objects in a fresh directory and chunks of `chunk_size` bytes.
    async fn local(chunk_size: u64) -> Self {
        let dir = std::env::temp_dir().join(format!("nova-media-test-{}", uuid::Uuid::new_v4()));
        let store = local_store(dir.clone()).unwrap();
        let mut harness = Self::with_store(store, chunk_size).await;
        harness.dir = Some(dir);
        harness
    }

    async fn with_store(store: Arc<dyn ObjectStore>, chunk_size: u64) -> Self {
        let mut system = TestSystem::new();
        system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
        let mut settings = MediaSettings::new(store.clone(), url_key());
        settings.cdn_base_url = CDN.to_string();
        settings.chunk_size_bytes = chunk_size;
        system
            .start(&nova_media::server::DESCRIPTION, move |config, listeners, shutdown| {
                nova_media_service::start_with(config, settings, listeners, shutdown)
            })
            .await;
        let user = system.sign_up("ada").await;
        let media = system.client(MediaClient::from_peers).with_token(&user.token);
        Harness { system, media, store, owner: user.id.clone(), user, dir: None }
    }

    /// Another signed-in user, and the edge carrying their token.
    async fn stranger(&self) -> (TestUser, MediaClient) {
        let bob = self.system.sign_up("bob").await;
        let media = self.media.with_token(&bob.token);
        (bob, media)
    }

    async fn stop(self) {
        self.system.stop().await;
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    async fn initiate(&self, kind: pb::MediaKind, mime_type: &str, bytes: &[u8]) -> pb::Upload {
        let request = initiate_request(&self.owner, kind, mime_type, bytes.len() as i64, &sha(bytes));
        self.media.initiate_media_upload(request).await.unwrap().upload.unwrap()
    }

    async fn send_chunk(&self, upload: &pb::Upload, number: i32, bytes: &[u8]) -> Result<pb::Upload, tonic::Status> {
        let data = chunk(upload, number, bytes);
        let request = pb::UploadMediaChunkRequest {
            upload_id: upload.id.clone(),
            requester_id: self.owner.clone(),
            chunk_number: number,
            sha256: sha(&data),
            data,
        };
        self.media.upload_media_chunk(request).await.map(|r| r.upload.unwrap())
    }

    async fn complete(&self, upload: &pb::Upload) -> Result<pb::Media, tonic::Status> {
        let request = pb::CompleteMediaUploadRequest { upload_id: upload.id.clone(), requester_id: self.owner.clone() };
        self.media.complete_media_upload(request).await.map(|r| r.media.unwrap())
    }

    /// Initiates, sends every chunk in order, completes.
    async fn upload(&self, kind: pb::MediaKind, mime_type: &str, bytes: &[u8]) -> pb::Media {
        let upload = self.initiate(kind, mime_type, bytes).await;
        for number in 1..=upload.total_chunks {
            self.send_chunk(&upload, number, bytes).await.unwrap();
        }
        self.complete(&upload).await.unwrap()
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        keys(&*self.store, prefix).await
    }

    /// The service's logic on its database and store, for what no RPC triggers (the sweep).
    async fn logic(&self) -> nova_media_service::MediaLogic {
        let config = self.system.member("media").database.as_ref().unwrap().config();
        let pool = nova_media::db::connect(&config).await.unwrap();
        let auth = self.system.client(nova_auth::AuthClient::from_peers);
        let invalidator = self.system.peers().invalidator(nova_media::SERVICE);
        let users = nova_media::wiring::Users::new(auth.clone());
        let dependencies = nova_media::Dependencies { db: pool, invalidator, auth, users };
        nova_media_service::MediaLogic::new(dependencies, MediaSettings::new(self.store.clone(), url_key()))
    }

    async fn count(&self, sql: &'static str, id: &str) -> i64 {
        let mut db = self.system.connect("media").await;
        let id: uuid::Uuid = id.parse().unwrap();
        sqlx::query(sql).bind(id).fetch_one(&mut db).await.unwrap().get::<i64, _>(0)
    }
}

fn initiate_request(owner: &str, kind: pb::MediaKind, mime_type: &str, size: i64, sha256: &str) -> pb::InitiateMediaUploadRequest {
    pb::InitiateMediaUploadRequest {
        owner_id: owner.to_string(),
        kind: kind as i32,
        mime_type: mime_type.to_string(),
        size_bytes: size,
        file_name: "photo.png".to_string(),
        sha256: sha256.to_string(),
    }
}

/// Chunk `number` (1-based) of `bytes` as the upload cuts them.
fn chunk(upload: &pb::Upload, number: i32, bytes: &[u8]) -> Vec<u8> {
    let size = upload.chunk_size_bytes as usize;
    let start = (number as usize - 1) * size;
    bytes[start..(start + size).min(bytes.len())].to_vec()
}

async fn keys(store: &dyn ObjectStore, prefix: &str) -> Vec<String> {
    let prefix = (!prefix.is_empty()).then(|| Path::from(prefix));
    let mut keys: Vec<String> = store.list(prefix.as_ref()).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
    keys.sort();
    keys
}

async fn read(store: &dyn ObjectStore, key: &str) -> Vec<u8> {
    store.get(&Path::from(key)).await.unwrap().bytes().await.unwrap().to_vec()
}

fn variant(variants: &[pb::MediaVariant], preset: pb::VariantPreset) -> &pb::MediaVariant {
    variants.iter().find(|v| v.preset == preset as i32).unwrap_or_else(|| panic!("no {preset:?} variant in {variants:?}"))
}

fn assert_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, mentions: &str) {
    let status = result.expect_err("the call should fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(mentions), "{:?} should mention {mentions:?}", status.message());
}

/// A 640x480 PNG in 3 chunks, completed, with variants checked in the rows and in the store.
async fn png_in_three_chunks(harness_for: impl AsyncFnOnce(u64) -> Harness) {
    let bytes = png(640, 480);
    let harness = harness_for((bytes.len() as u64).div_ceil(3)).await;
    let upload = harness.initiate(pb::MediaKind::Image, "image/png", &bytes).await;
    assert_eq!(upload.total_chunks, 3);
    assert_eq!(upload.missing_chunks, vec![1, 2, 3]);
    for number in 1..=3 {
        harness.send_chunk(&upload, number, &bytes).await.unwrap();
    }
    let media = harness.complete(&upload).await.unwrap();
    assert_eq!(media.status, pb::MediaStatus::Ready as i32);
    assert_eq!((media.width, media.height), (640, 480));
    assert_eq!(media.sha256, sha(&bytes));
    assert_eq!(media.owner_id, harness.owner);
    assert_eq!(media.file_name, "photo.png");

    let variants = harness.media.get_media_variants(pb::GetMediaVariantsRequest { media_id: media.id.clone() }).await.unwrap().variants;
    assert_eq!(variants.len(), 2);
    let thumbnail = variant(&variants, pb::VariantPreset::Thumbnail);
    assert_eq!((thumbnail.width, thumbnail.height), (150, 113)); // fit in 150x150: 480 * 150 / 640 = 112.5
    let medium = variant(&variants, pb::VariantPreset::ImageMedium);
    assert_eq!((medium.width, medium.height), (640, 480)); // fits in 720x720 already: never enlarged

    // The objects: the original byte for byte, the variants decodable at their sizes.
    let original_key = format!("media/{}/{}", harness.owner, media.id);
    assert_eq!(read(&*harness.store, &original_key).await, bytes);
    for (preset, v) in [("thumbnail", thumbnail), ("image_medium", medium)] {
        let stored = read(&*harness.store, &format!("{original_key}.{preset}")).await;
        assert_eq!(stored.len() as i64, v.size_bytes);
        let decoded = image::load_from_memory(&stored).unwrap();
        assert_eq!((decoded.width() as i32, decoded.height() as i32), (v.width, v.height));
    }
    assert!(harness.keys("uploads").await.is_empty(), "staged chunks are deleted after assembly");

    let status = harness.media.get_processing_status(pb::GetProcessingStatusRequest { media_id: media.id.clone() }).await.unwrap().status.unwrap();
    assert_eq!(status.state, pb::ProcessingState::Succeeded as i32);
    assert_eq!(status.attempts, 1);
    assert!(status.finished_at.is_some());
    harness.stop().await;
}

#[tokio::test]
async fn a_png_uploaded_in_three_chunks_gets_real_variants() {
    png_in_three_chunks(Harness::local).await;
}

#[tokio::test]
async fn s3_storage_against_a_real_s3_compatible_server() {
    let moto = MotoS3::start("nova-media").await;
    let settings = S3Settings {
        bucket: moto.bucket.clone(),
        endpoint: Some(moto.endpoint.clone()),
        region: media_s3::REGION.to_string(),
        access_key_id: Some(media_s3::ACCESS_KEY_ID.to_string()),
        secret_access_key: Some(media_s3::SECRET_ACCESS_KEY.to_string()),
    };
    let store = s3_store(&settings).unwrap();
    png_in_three_chunks(async |chunk| Harness::with_store(store.clone(), chunk).await).await;

    // Deletion removes the objects from the bucket too.
    let harness = Harness::with_store(store.clone(), 4096).await;
    let media = harness.upload(pb::MediaKind::Image, "image/png", &png(64, 48)).await;
    assert_eq!(harness.keys(&format!("media/{}", harness.owner)).await.len(), 4, "original, rendition, two variants");
    let request = pb::DeleteMediaRequest { media_id: media.id.clone(), requester_id: harness.owner.clone() };
    harness.media.delete_media(request).await.unwrap();
    assert!(harness.keys(&format!("media/{}", harness.owner)).await.is_empty());
    harness.stop().await;
    drop(moto);
}

#[tokio::test]
async fn uploads_resume_out_of_order_and_resent_chunks_are_idempotent() {
    let bytes = png(120, 90);
    let harness = Harness::local((bytes.len() as u64).div_ceil(3)).await;
    let upload = harness.initiate(pb::MediaKind::Image, "image/png", &bytes).await;
    harness.send_chunk(&upload, 3, &bytes).await.unwrap();
    let state = harness.send_chunk(&upload, 1, &bytes).await.unwrap();
    assert_eq!((state.received_chunks.clone(), state.missing_chunks.clone()), (vec![1, 3], vec![2]));

    // A client that lost its state asks where the upload stands.
    let request = pb::GetUploadRequest { upload_id: upload.id.clone(), requester_id: harness.owner.clone() };
    let state = harness.media.get_upload(request).await.unwrap().upload.unwrap();
    assert_eq!(state.missing_chunks, vec![2]);
    assert_code(harness.complete(&upload).await, Code::FailedPrecondition, "chunks 2 are missing");

    // Re-sending a chunk changes nothing.
    let again = harness.send_chunk(&upload, 1, &bytes).await.unwrap();
    assert_eq!(again.received_chunks, vec![1, 3]);
    let rows = harness.count("SELECT count(*) FROM upload_chunks WHERE upload_id = $1", &upload.id).await;
    assert_eq!(rows, 2);

    harness.send_chunk(&upload, 2, &bytes).await.unwrap();
    let media = harness.complete(&upload).await.unwrap();
    assert_eq!(media.status, pb::MediaStatus::Ready as i32);
    // Completing again returns the media, and processes nothing again.
    let again = harness.complete(&upload).await.unwrap();
    assert_eq!(again, media);
    let status = harness.media.get_processing_status(pb::GetProcessingStatusRequest { media_id: media.id.clone() }).await.unwrap().status.unwrap();
    assert_eq!(status.attempts, 1);
    assert_code(harness.send_chunk(&upload, 1, &bytes).await, Code::FailedPrecondition, "completed");
    harness.stop().await;
}

#[tokio::test]
async fn refused_chunks_are_not_recorded() {
    let bytes: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
    let harness = Harness::local(1000).await;
    let upload = harness.initiate(pb::MediaKind::Video, "video/mp4", &bytes).await;
    assert_eq!((upload.total_chunks, upload.chunk_size_bytes), (3, 1000));
    let request = |number: i32, data: Vec<u8>, sha256: String| pb::UploadMediaChunkRequest {
        upload_id: upload.id.clone(),
        requester_id: harness.owner.clone(),
        chunk_number: number,
        data,
        sha256,
    };
    let first = chunk(&upload, 1, &bytes);
    let mut corrupt = first.clone();
    corrupt[10] ^= 0xff;
    assert_code(harness.media.upload_media_chunk(request(1, corrupt, sha(&first))).await, Code::InvalidArgument, "sha256");
    assert_code(harness.media.upload_media_chunk(request(1, first.clone(), "abc".into())).await, Code::InvalidArgument, "sha256");
    assert_code(harness.media.upload_media_chunk(request(1, first[..999].to_vec(), String::new())).await, Code::InvalidArgument, "data");
    assert_code(
        harness.media.upload_media_chunk(request(3, first.clone(), String::new())).await,
        Code::InvalidArgument,
        "data: chunk 3 must be 500 bytes",
    );
    assert_code(harness.media.upload_media_chunk(request(0, first.clone(), String::new())).await, Code::InvalidArgument, "chunk_number");
    assert_code(harness.media.upload_media_chunk(request(4, first.clone(), String::new())).await, Code::InvalidArgument, "chunk_number");
    // Bob, in his own name, does not own the upload; in ada's name he is refused before that.
    let (bob, as_bob) = harness.stranger().await;
    let mut stranger = request(1, first.clone(), String::new());
    stranger.requester_id = bob.id.clone();
    assert_code(as_bob.upload_media_chunk(stranger).await, Code::PermissionDenied, "requester_id: only the owner");
    assert_code(as_bob.upload_media_chunk(request(1, first.clone(), String::new())).await, Code::PermissionDenied, "requester_id");
    assert_eq!(
        harness.system.client(MediaClient::from_peers).upload_media_chunk(request(1, first.clone(), String::new())).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut unknown = request(1, first.clone(), String::new());
    unknown.upload_id = uuid::Uuid::new_v4().to_string();
    assert_code(harness.media.upload_media_chunk(unknown).await, Code::NotFound, "upload_id");
    let mut malformed = request(1, first.clone(), String::new());
    malformed.upload_id = "nope".into();
    assert_code(harness.media.upload_media_chunk(malformed).await, Code::InvalidArgument, "upload_id");

    assert_eq!(harness.count("SELECT count(*) FROM upload_chunks WHERE upload_id = $1", &upload.id).await, 0);
    assert!(harness.keys("").await.is_empty(), "a refused chunk leaves no object");

    // Unowned and unknown uploads for GetUpload and CompleteMediaUpload too.
    let request = pb::GetUploadRequest { upload_id: upload.id.clone(), requester_id: bob.id.clone() };
    assert_code(as_bob.get_upload(request).await, Code::PermissionDenied, "requester_id: only the owner");
    let request = pb::GetUploadRequest { upload_id: uuid::Uuid::new_v4().to_string(), requester_id: harness.owner.clone() };
    assert_code(harness.media.get_upload(request).await, Code::NotFound, "upload_id");
    let request = pb::CompleteMediaUploadRequest { upload_id: uuid::Uuid::new_v4().to_string(), requester_id: harness.owner.clone() };
    assert_code(harness.media.complete_media_upload(request).await, Code::NotFound, "upload_id");
    let request = pb::CompleteMediaUploadRequest { upload_id: upload.id.clone(), requester_id: String::new() };
    assert_code(as_bob.complete_media_upload(request).await, Code::PermissionDenied, "requester_id: only the owner");
    harness.stop().await;
}

#[tokio::test]
async fn a_wrong_whole_file_checksum_fails_and_leaves_nothing_behind() {
    let bytes = png(100, 80);
    let harness = Harness::local((bytes.len() as u64).div_ceil(3)).await;
    let request = initiate_request(&harness.owner, pb::MediaKind::Image, "image/png", bytes.len() as i64, &sha(b"other bytes"));
    let upload = harness.media.initiate_media_upload(request).await.unwrap().upload.unwrap();
    for number in 1..=3 {
        harness.send_chunk(&upload, number, &bytes).await.unwrap();
    }
    assert_eq!(harness.keys("uploads").await.len(), 3);
    assert_code(harness.complete(&upload).await, Code::FailedPrecondition, "sha256: the assembled file's SHA-256");

    assert!(harness.keys("").await.is_empty(), "no staged chunk and no assembled object remain");
    assert_eq!(harness.count("SELECT count(*) FROM upload_chunks WHERE upload_id = $1", &upload.id).await, 0);
    assert_eq!(harness.count("SELECT count(*) FROM media_variants WHERE media_id = $1", &upload.media_id).await, 0);
    let pending = harness.count("SELECT count(*) FROM media WHERE id = $1 AND status = 1", &upload.media_id).await;
    assert_eq!(pending, 1, "the media is still waiting for its bytes");
    let in_progress = harness.count("SELECT count(*) FROM uploads WHERE id = $1 AND status = 1", &upload.id).await;
    assert_eq!(in_progress, 1, "the upload can take its chunks again");
    let request = pb::GetUploadRequest { upload_id: upload.id.clone(), requester_id: harness.owner.clone() };
    let state = harness.media.get_upload(request).await.unwrap().upload.unwrap();
    assert_eq!(state.missing_chunks, vec![1, 2, 3]);
    harness.stop().await;
}

#[tokio::test]
async fn initiate_validates_its_fields_and_the_owner() {
    let harness = Harness::local(1024).await;
    let good = initiate_request(&harness.owner, pb::MediaKind::Image, "image/png", 2500, &sha(b"x"));
    let upload = harness.media.initiate_media_upload(good.clone()).await.unwrap().upload.unwrap();
    assert_eq!((upload.total_chunks, upload.chunk_size_bytes, upload.size_bytes), (3, 1024, 2500));
    assert_eq!(upload.status, pb::UploadStatus::InProgress as i32);
    assert!(upload.expires_at.is_some());
    let media = harness.media.get_media(pb::GetMediaRequest { media_id: upload.media_id.clone() }).await.unwrap().media.unwrap();
    assert_eq!(media.status, pb::MediaStatus::PendingUpload as i32);
    let status = harness.media.get_processing_status(pb::GetProcessingStatusRequest { media_id: media.id.clone() }).await.unwrap().status.unwrap();
    assert_eq!(status.state, pb::ProcessingState::Queued as i32);

    type Change = Box<dyn Fn(&mut pb::InitiateMediaUploadRequest)>;
    let cases: Vec<(Change, Code, &str)> = vec![
        // The owner is the signed-in user: anything else in owner_id is refused before the handler.
        (Box::new(|r| r.owner_id = "x".into()), Code::PermissionDenied, "owner_id"),
        (Box::new(|r| r.owner_id = uuid::Uuid::new_v4().to_string()), Code::PermissionDenied, "owner_id"),
        (Box::new(|r| r.kind = 0), Code::InvalidArgument, "kind"),
        (Box::new(|r| r.kind = 42), Code::InvalidArgument, "kind"),
        (Box::new(|r| r.mime_type = "image/gif".into()), Code::InvalidArgument, "mime_type"),
        (Box::new(|r| r.mime_type = "video/mp4".into()), Code::InvalidArgument, "mime_type"),
        (Box::new(|r| r.size_bytes = 0), Code::InvalidArgument, "size_bytes"),
        (Box::new(|r| r.size_bytes = 50 * 1024 * 1024 + 1), Code::InvalidArgument, "size_bytes"),
        (Box::new(|r| r.sha256 = String::new()), Code::InvalidArgument, "sha256"),
        (Box::new(|r| r.file_name = "n".repeat(256)), Code::InvalidArgument, "file_name"),
    ];
    for (change, code, field) in cases {
        let mut request = good.clone();
        change(&mut request);
        assert_code(harness.media.initiate_media_upload(request).await, code, field);
    }
    harness.stop().await;
}

#[tokio::test]
async fn processing_fails_with_a_reason_and_process_media_runs_it_again() {
    let harness = Harness::local(1024).await;
    let garbage = b"these bytes are not a png".to_vec();
    let failed = harness.upload(pb::MediaKind::Image, "image/png", &garbage).await;
    assert_eq!(failed.status, pb::MediaStatus::Failed as i32);
    let status = harness.media.get_processing_status(pb::GetProcessingStatusRequest { media_id: failed.id.clone() }).await.unwrap().status.unwrap();
    assert_eq!(status.state, pb::ProcessingState::Failed as i32);
    assert!(status.error_message.contains("not a decodable image/png"), "{}", status.error_message);
    let rerun = harness.media.process_media(pb::ProcessMediaRequest { media_id: failed.id.clone(), presets: vec![] }).await.unwrap();
    assert_eq!(rerun.status.unwrap().attempts, 2);

    // A ready image: re-running a preset is idempotent (one row per preset, same output).
    let ready = harness.upload(pb::MediaKind::Image, "image/png", &png(400, 200)).await;
    let variants = pb::GetMediaVariantsRequest { media_id: ready.id.clone() };
    assert_eq!(harness.media.get_media_variants(variants.clone()).await.unwrap().variants.len(), 2); // now cached
    let request = pb::ProcessMediaRequest { media_id: ready.id.clone(), presets: vec![pb::VariantPreset::ImageSmall as i32] };
    for _ in 0..2 {
        let status = harness.media.process_media(request.clone()).await.unwrap().status.unwrap();
        assert_eq!(status.state, pb::ProcessingState::Succeeded as i32);
    }
    let variants = harness.media.get_media_variants(variants).await.unwrap().variants;
    assert_eq!(variants.len(), 3, "thumbnail, medium and small, each once (the cached answer was dropped): {variants:?}");
    assert_eq!(harness.count("SELECT count(*) FROM media_variants WHERE media_id = $1", &ready.id).await, 3);
    let small = variant(&variants, pb::VariantPreset::ImageSmall);
    assert_eq!((small.width, small.height), (320, 160));
    assert_eq!((variant(&variants, pb::VariantPreset::Thumbnail).width, variant(&variants, pb::VariantPreset::Thumbnail).height), (150, 75));

    let video = pb::ProcessMediaRequest { media_id: ready.id.clone(), presets: vec![pb::VariantPreset::Video720p as i32] };
    assert_code(harness.media.process_media(video).await, Code::InvalidArgument, "presets");
    let pending = harness.initiate(pb::MediaKind::Image, "image/png", b"later").await;
    let request = pb::ProcessMediaRequest { media_id: pending.media_id.clone(), presets: vec![] };
    assert_code(harness.media.process_media(request).await, Code::FailedPrecondition, "not complete");
    let request = pb::ProcessMediaRequest { media_id: uuid::Uuid::new_v4().to_string(), presets: vec![] };
    assert_code(harness.media.process_media(request).await, Code::NotFound, "media_id");
    let request = pb::GetProcessingStatusRequest { media_id: uuid::Uuid::new_v4().to_string() };
    assert_code(harness.media.get_processing_status(request).await, Code::NotFound, "media_id");
    let request = pb::GetMediaVariantsRequest { media_id: "bad".into() };
    assert_code(harness.media.get_media_variants(request).await, Code::InvalidArgument, "media_id");
    harness.stop().await;
}

#[tokio::test]
async fn get_media_by_ids_keeps_request_order_and_owner_listing_pages() {
    let harness = Harness::local(1024).await;
    let mut ids = Vec::new();
    for i in 0..3u8 {
        ids.push(harness.initiate(pb::MediaKind::Image, "image/png", &[i; 10]).await.media_id);
    }
    let video = harness.initiate(pb::MediaKind::Video, "video/mp4", &[9; 10]).await.media_id;
    let unknown = uuid::Uuid::new_v4().to_string();
    let request = pb::GetMediaByIdsRequest { media_ids: vec![ids[2].clone(), unknown.clone(), ids[0].clone(), ids[2].clone()] };
    let response = harness.media.get_media_by_ids(request).await.unwrap();
    let got: Vec<String> = response.media.iter().map(|m| m.id.clone()).collect();
    assert_eq!(got, vec![ids[2].clone(), ids[0].clone()]);
    assert_eq!(response.missing_media_ids, vec![unknown]);
    let too_many = pb::GetMediaByIdsRequest { media_ids: (0..101).map(|_| uuid::Uuid::new_v4().to_string()).collect() };
    assert_code(harness.media.get_media_by_ids(too_many).await, Code::InvalidArgument, "media_ids");
    let malformed = pb::GetMediaByIdsRequest { media_ids: vec![ids[0].clone(), "not-a-uuid".into()] };
    assert_code(harness.media.get_media_by_ids(malformed).await, Code::InvalidArgument, "media_ids");

    // Newest first, two at a time, every kind.
    let page = |kind: pb::MediaKind, token: String| pb::GetMediaByOwnerRequest {
        owner_id: harness.owner.clone(),
        kind: kind as i32,
        page_size: 2,
        page_token: token,
    };
    let first = harness.media.get_media_by_owner(page(pb::MediaKind::Unspecified, String::new())).await.unwrap();
    let second = harness.media.get_media_by_owner(page(pb::MediaKind::Unspecified, first.next_page_token.clone())).await.unwrap();
    let listed: Vec<String> = first.media.iter().chain(&second.media).map(|m| m.id.clone()).collect();
    assert_eq!(listed, vec![video.clone(), ids[2].clone(), ids[1].clone(), ids[0].clone()]);
    assert!(second.next_page_token.is_empty());
    let images =
        harness.media.get_media_by_owner(pb::GetMediaByOwnerRequest { page_size: 10, ..page(pb::MediaKind::Image, String::new()) }).await.unwrap();
    assert_eq!(images.media.len(), 3);
    assert_code(
        harness.media.get_media_by_owner(page(pb::MediaKind::Image, first.next_page_token.clone())).await,
        Code::InvalidArgument,
        "page_token",
    );
    assert_code(
        harness.media.get_media_by_owner(pb::GetMediaByOwnerRequest { page_size: -1, ..page(pb::MediaKind::Image, String::new()) }).await,
        Code::InvalidArgument,
        "page_size",
    );
    // A malformed owner: refused before the handler for a user (it is not theirs); a service
    // listing as itself is told it is malformed.
    let malformed = pb::GetMediaByOwnerRequest { owner_id: "x".into(), ..page(pb::MediaKind::Image, String::new()) };
    assert_code(harness.media.get_media_by_owner(malformed.clone()).await, Code::PermissionDenied, "owner_id");
    let content = harness.system.service_client("content", MediaClient::from_peers);
    assert_code(content.get_media_by_owner(malformed).await, Code::InvalidArgument, "owner_id");

    // A deleted media leaves the listing and GetMediaByIds (both cached before the delete).
    let everything = pb::GetMediaByOwnerRequest { page_size: 10, ..page(pb::MediaKind::Unspecified, String::new()) };
    assert_eq!(harness.media.get_media_by_owner(everything.clone()).await.unwrap().media.len(), 4);
    let request = pb::DeleteMediaRequest { media_id: ids[0].clone(), requester_id: harness.owner.clone() };
    harness.media.delete_media(request).await.unwrap();
    let response = harness.media.get_media_by_ids(pb::GetMediaByIdsRequest { media_ids: vec![ids[0].clone()] }).await.unwrap();
    assert_eq!(response.missing_media_ids, vec![ids[0].clone()]);
    let all = harness.media.get_media_by_owner(everything).await.unwrap();
    assert_eq!(all.media.len(), 3);
    harness.stop().await;
}

#[tokio::test]
async fn metadata_updates_are_seen_through_every_client_instance() {
    let harness = Harness::local(1024).await;
    let media_id = harness.initiate(pb::MediaKind::Image, "image/png", b"bytes").await.media_id;
    let a = &harness.media;
    let before = a.get_media(pb::GetMediaRequest { media_id: media_id.clone() }).await.unwrap().media.unwrap();
    let by_ids = pb::GetMediaByIdsRequest { media_ids: vec![media_id.clone()] };
    a.get_media_by_ids(by_ids.clone()).await.unwrap();
    assert_eq!(before.title, "");

    let update = pb::UpdateMediaMetadataRequest {
        media_id: media_id.clone(),
        requester_id: harness.owner.clone(),
        title: "Sunset".into(),
        alt_text: "The sun setting over the sea".into(),
        version: before.version,
    };
    let updated = a.update_media_metadata(update.clone()).await.unwrap().media.unwrap();
    assert_eq!(updated.version, before.version + 1);

    let b = harness.system.client(MediaClient::from_peers).with_token(&harness.user.token);
    for client in [a, &b] {
        let seen = client.get_media(pb::GetMediaRequest { media_id: media_id.clone() }).await.unwrap().media.unwrap();
        assert_eq!((seen.title.as_str(), seen.version), ("Sunset", updated.version));
        let seen = client.get_media_by_ids(by_ids.clone()).await.unwrap().media;
        assert_eq!(seen[0].alt_text, "The sun setting over the sea");
    }

    assert_code(a.update_media_metadata(update.clone()).await, Code::Aborted, "");
    let (bob, as_bob) = harness.stranger().await;
    let stranger = pb::UpdateMediaMetadataRequest { requester_id: bob.id.clone(), version: updated.version, ..update.clone() };
    assert_code(as_bob.update_media_metadata(stranger).await, Code::PermissionDenied, "requester_id: only the owner");
    let in_adas_name = pb::UpdateMediaMetadataRequest { version: updated.version, ..update.clone() };
    assert_code(as_bob.update_media_metadata(in_adas_name).await, Code::PermissionDenied, "requester_id");
    let long = pb::UpdateMediaMetadataRequest { title: "t".repeat(201), version: updated.version, ..update.clone() };
    assert_code(a.update_media_metadata(long).await, Code::InvalidArgument, "title");
    let long = pb::UpdateMediaMetadataRequest { alt_text: "t".repeat(1001), version: updated.version, ..update.clone() };
    assert_code(a.update_media_metadata(long).await, Code::InvalidArgument, "alt_text");
    let unknown = pb::UpdateMediaMetadataRequest { media_id: uuid::Uuid::new_v4().to_string(), ..update.clone() };
    assert_code(a.update_media_metadata(unknown).await, Code::NotFound, "media_id");
    assert_code(a.get_media(pb::GetMediaRequest { media_id: uuid::Uuid::new_v4().to_string() }).await, Code::NotFound, "media_id");
    assert_code(a.get_media(pb::GetMediaRequest { media_id: "x".into() }).await, Code::InvalidArgument, "media_id");
    harness.stop().await;
}

#[tokio::test]
async fn delete_removes_the_objects_and_is_idempotent() {
    let harness = Harness::local(4096).await;
    let media = harness.upload(pb::MediaKind::Image, "image/png", &png(64, 48)).await;
    // A cached read before the delete, and a pending upload with a staged chunk.
    harness.media.get_media(pb::GetMediaRequest { media_id: media.id.clone() }).await.unwrap();
    let staged = harness.initiate(pb::MediaKind::Audio, "audio/mpeg", b"half an upload").await;
    harness.send_chunk(&staged, 1, b"half an upload").await.unwrap();
    assert_eq!(harness.keys("").await.len(), 5, "original, its rendition, two variants, one staged chunk");

    let delete = |media_id: &str| pb::DeleteMediaRequest { media_id: media_id.to_string(), requester_id: harness.owner.clone() };
    let (bob, as_bob) = harness.stranger().await;
    let stranger = pb::DeleteMediaRequest { requester_id: bob.id.clone(), ..delete(&media.id) };
    assert_code(as_bob.delete_media(stranger).await, Code::PermissionDenied, "requester_id: only the owner");
    let first = harness.media.delete_media(delete(&media.id)).await.unwrap().deleted_at.unwrap();
    let again = harness.media.delete_media(delete(&media.id)).await.unwrap().deleted_at.unwrap();
    assert_eq!(first, again);
    assert_eq!(harness.count("SELECT count(*) FROM media WHERE id = $1 AND deleted_at IS NOT NULL", &media.id).await, 1);
    assert_code(harness.media.get_media(pb::GetMediaRequest { media_id: media.id.clone() }).await, Code::NotFound, "media_id");
    let other = harness.system.client(MediaClient::from_peers).with_token(&harness.user.token);
    assert_code(other.get_media_variants(pb::GetMediaVariantsRequest { media_id: media.id.clone() }).await, Code::NotFound, "media_id");

    harness.media.delete_media(delete(&staged.media_id)).await.unwrap();
    assert!(harness.keys("").await.is_empty(), "original, rendition, variants and staged chunks are removed");
    assert_code(harness.send_chunk(&staged, 1, b"half an upload").await, Code::NotFound, "deleted");
    assert_code(harness.media.delete_media(delete(&uuid::Uuid::new_v4().to_string())).await, Code::NotFound, "media_id");
    harness.stop().await;
}

#[tokio::test]
async fn an_expired_upload_takes_no_chunks_and_cannot_complete() {
    let harness = Harness::local(4096).await;
    let bytes = b"some audio".to_vec();
    let upload = harness.initiate(pb::MediaKind::Audio, "audio/mpeg", &bytes).await;
    harness.send_chunk(&upload, 1, &bytes).await.unwrap();
    let mut db = harness.system.connect("media").await;
    let id: uuid::Uuid = upload.id.parse().unwrap();
    sqlx::query("UPDATE uploads SET expires_at = now() - interval '1 hour' WHERE id = $1").bind(id).execute(&mut db).await.unwrap();
    assert_code(harness.send_chunk(&upload, 1, &bytes).await, Code::FailedPrecondition, "expired");
    assert_code(harness.complete(&upload).await, Code::FailedPrecondition, "expired");
    let request = pb::GetUploadRequest { upload_id: upload.id.clone(), requester_id: harness.owner.clone() };
    let state = harness.media.get_upload(request).await.unwrap().upload.unwrap();
    assert_eq!((state.status, state.received_chunks), (pb::UploadStatus::Expired as i32, vec![1]));

    // The sweep, run as if two days had passed: the staged chunks of every upload left
    // incomplete are deleted, the uploads expire and their media fail.
    let later = harness.initiate(pb::MediaKind::Audio, "audio/mpeg", &bytes).await;
    harness.send_chunk(&later, 1, &bytes).await.unwrap();
    let watched = pb::GetMediaRequest { media_id: later.media_id.clone() };
    assert_eq!(harness.media.get_media(watched.clone()).await.unwrap().media.unwrap().status, pb::MediaStatus::PendingUpload as i32);
    assert_eq!(harness.keys("uploads").await.len(), 2);
    let logic = harness.logic().await;
    let two_days_later = nova_runtime::codegen::chrono::Utc::now() + nova_runtime::codegen::chrono::Duration::days(2);
    assert_eq!(logic.expire_uploads(two_days_later).await.unwrap(), 2);
    assert_eq!(logic.expire_uploads(two_days_later).await.unwrap(), 0, "a second sweep finds nothing");
    assert!(harness.keys("uploads").await.is_empty());
    for (upload, media) in [(&upload.id, &upload.media_id), (&later.id, &later.media_id)] {
        assert_eq!(harness.count("SELECT count(*) FROM upload_chunks WHERE upload_id = $1", upload).await, 0);
        assert_eq!(harness.count("SELECT count(*) FROM uploads WHERE id = $1 AND status = 3", upload).await, 1);
        assert_eq!(harness.count("SELECT count(*) FROM media WHERE id = $1 AND status = 4", media).await, 1);
    }
    let seen = harness.media.get_media(watched).await.unwrap().media.unwrap();
    assert_eq!(seen.status, pb::MediaStatus::Failed as i32, "the cached read was dropped");

    // A fresh audio upload completes READY without variants (no transcoding).
    let media = harness.upload(pb::MediaKind::Audio, "audio/mpeg", &bytes).await;
    assert_eq!(media.status, pb::MediaStatus::Ready as i32);
    let variants = harness.media.get_media_variants(pb::GetMediaVariantsRequest { media_id: media.id.clone() }).await.unwrap().variants;
    assert!(variants.is_empty());
    harness.stop().await;
}
