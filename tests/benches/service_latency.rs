//! Latency of the services through their generated clients, as another service calls them:
//! all four foundation services running together (real gRPC on loopback, each with its own
//! PostgreSQL database, clients with L1 + L2 in the real Redis), one read and one write per
//! service. A read is measured cold (every call a different entity: a miss that reaches the
//! service and its database) and warm (the same entities again: served by the caller's cache).
//!
//!     cargo bench -p nova-tests --bench service_latency
//!
//! Calls are sequential from one client (latency, not throughput). Prints P50/P95/P99 per row;
//! BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark harness

use std::future::Future;
use std::time::Instant;

use nova_tests::TestSystem;

/// Calls per row.
const CALLS: usize = 400;

struct Row {
    service: &'static str,
    rpc: &'static str,
    kind: &'static str,
    micros: Vec<f64>,
}

impl Row {
    fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.micros.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[((sorted.len() - 1) as f64 * p).round() as usize]
    }
}

/// Runs `call(i)` for `i` in `0..CALLS`, one at a time, timing each.
async fn measure<F, Fut>(service: &'static str, rpc: &'static str, kind: &'static str, call: F) -> Row
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    measure_returning(service, rpc, kind, call).await.0
}

/// [`measure`], keeping what each call returned.
async fn measure_returning<F, Fut, T>(service: &'static str, rpc: &'static str, kind: &'static str, mut call: F) -> (Row, Vec<T>)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = T>,
{
    let mut micros = Vec::with_capacity(CALLS);
    let mut outputs = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let started = Instant::now();
        outputs.push(call(i).await);
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    (Row { service, rpc, kind, micros }, outputs)
}

#[tokio::main]
async fn main() {
    let mut system = TestSystem::new();
    system.start_with_callees("content").await;
    let mut rows = Vec::new();
    let (auth_rows, users) = auth::rows(&system).await;
    rows.extend(auth_rows);
    rows.extend(user::rows(&system, &users).await);
    let media_ids = media::uploaded(&system, &users).await;
    rows.extend(media::rows(&system, &users, &media_ids).await);
    rows.extend(content::rows(&system, &users, &media_ids).await);
    println!("\n{:<8} {:<24} {:<12} {:>9} {:>9} {:>9}", "service", "rpc", "kind", "p50 ms", "p95 ms", "p99 ms");
    for row in &rows {
        println!(
            "{:<8} {:<24} {:<12} {:>9.2} {:>9.2} {:>9.2}",
            row.service,
            row.rpc,
            row.kind,
            row.percentile(0.50) / 1e3,
            row.percentile(0.95) / 1e3,
            row.percentile(0.99) / 1e3
        );
    }
    system.stop().await;
}

mod auth {
    use nova_auth::{AuthClient, pb};

    use super::*;

    /// The rows, and the ids of the users registered for them (the other services use them).
    pub async fn rows(system: &TestSystem) -> (Vec<Row>, Vec<String>) {
        let client = system.client(AuthClient::from_peers);
        let mut ids = Vec::with_capacity(CALLS);
        for i in 0..CALLS {
            let request = pb::RegisterRequest { email: format!("bench{i}@example.com"), username: format!("bench{i}"), password: "correct horse battery".into() };
            ids.push(client.register(request).await.unwrap().user.unwrap().id);
        }
        let cold = measure("auth", "GetUser", "read cold", |i| {
            let (client, id) = (client.clone(), ids[i].clone());
            async move {
                client.get_user(pb::GetUserRequest { user_id: id }).await.unwrap();
            }
        })
        .await;
        let warm = measure("auth", "GetUser", "read warm", |i| {
            let (client, id) = (client.clone(), ids[i].clone());
            async move {
                client.get_user(pb::GetUserRequest { user_id: id }).await.unwrap();
            }
        })
        .await;
        let write = measure("auth", "GrantPermission", "write", |i| {
            let (client, id) = (client.clone(), ids[i].clone());
            async move {
                client.grant_permission(pb::GrantPermissionRequest { user_id: id, permission: "content.moderate".into() }).await.unwrap();
            }
        })
        .await;
        (vec![cold, warm, write], ids)
    }
}

mod user {
    use nova_user::{UserClient, pb};

    use super::*;

    pub async fn rows(system: &TestSystem, users: &[String]) -> Vec<Row> {
        // Profiles come to exist on first read (user asks auth); make them exist untimed,
        // through a client of its own, so that the write below measures only the update.
        let setup = system.client(UserClient::from_peers);
        let mut versions = Vec::with_capacity(users.len());
        for id in users {
            versions.push(setup.get_user_profile(pb::GetUserProfileRequest { user_id: id.clone() }).await.unwrap().profile.unwrap().version);
        }
        let client = system.client(UserClient::from_peers);
        // Each update invalidates the user's cached answers, so the reads after it are misses.
        let write = measure("user", "UpdateUserProfile", "write", |i| {
            let request = pb::UpdateUserProfileRequest {
                user_id: users[i].clone(),
                display_name: format!("Bench {i}"),
                bio: "measuring".into(),
                version: versions[i],
                ..Default::default()
            };
            let client = client.clone();
            async move {
                client.update_user_profile(request).await.unwrap();
            }
        })
        .await;
        let read = |kind| {
            measure("user", "GetUserProfile", kind, |i| {
                let (client, id) = (client.clone(), users[i].clone());
                async move {
                    client.get_user_profile(pb::GetUserProfileRequest { user_id: id }).await.unwrap();
                }
            })
        };
        let cold = read("read cold").await;
        let warm = read("read warm").await;
        vec![cold, warm, write]
    }
}

mod media {
    use nova_media::{MediaClient, pb};
    use sha2::{Digest as _, Sha256};

    use super::*;

    /// A 64x64 PNG with a pattern, and its SHA-256 in hex.
    fn png() -> (Vec<u8>, String) {
        let image = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
        let bytes = bytes.into_inner();
        let sha = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        (bytes, sha)
    }

    /// One READY image per user, through the real upload flow (untimed).
    pub async fn uploaded(system: &TestSystem, users: &[String]) -> Vec<String> {
        let client = system.client(MediaClient::from_peers);
        let (bytes, sha) = png();
        let mut ids = Vec::with_capacity(users.len());
        for owner in users {
            let initiate = pb::InitiateMediaUploadRequest {
                owner_id: owner.clone(),
                kind: pb::MediaKind::Image as i32,
                mime_type: "image/png".into(),
                size_bytes: bytes.len() as i64,
                file_name: "bench.png".into(),
                sha256: sha.clone(),
            };
            let upload = client.initiate_media_upload(initiate).await.unwrap().upload.unwrap();
            let chunk = pb::UploadMediaChunkRequest { upload_id: upload.id.clone(), requester_id: owner.clone(), chunk_number: 1, data: bytes.clone(), sha256: String::new() };
            client.upload_media_chunk(chunk).await.unwrap();
            let complete = pb::CompleteMediaUploadRequest { upload_id: upload.id, requester_id: owner.clone() };
            ids.push(client.complete_media_upload(complete).await.unwrap().media.unwrap().id);
        }
        ids
    }

    pub async fn rows(system: &TestSystem, users: &[String], media_ids: &[String]) -> Vec<Row> {
        let client = system.client(MediaClient::from_peers);
        let write = measure("media", "UpdateMediaMetadata", "write", |i| {
            let request = pb::UpdateMediaMetadataRequest {
                media_id: media_ids[i].clone(),
                requester_id: users[i].clone(),
                title: format!("bench {i}"),
                alt_text: "a pattern".into(),
                version: 0,
            };
            let client = client.clone();
            async move {
                client.update_media_metadata(request).await.unwrap();
            }
        })
        .await;
        let read = |kind| {
            measure("media", "GetMedia", kind, |i| {
                let (client, id) = (client.clone(), media_ids[i].clone());
                async move {
                    client.get_media(pb::GetMediaRequest { media_id: id }).await.unwrap();
                }
            })
        };
        let cold = read("read cold").await;
        let warm = read("read warm").await;
        vec![cold, warm, write]
    }
}

mod content {
    use nova_content::{ContentClient, pb};

    use super::*;

    pub async fn rows(system: &TestSystem, users: &[String], media_ids: &[String]) -> Vec<Row> {
        let client = system.client(ContentClient::from_peers);
        // CreatePost asks auth for the author and media for the attached image (both cached
        // by content's clients after their first call per id).
        let (write, posts) = measure_returning("content", "CreatePost", "write", |i| {
            let request = pb::CreatePostRequest {
                author_id: users[i].clone(),
                body: format!("post {i} #bench"),
                media_ids: vec![media_ids[i].clone()],
                visibility: pb::PostVisibility::Public as i32,
            };
            let client = client.clone();
            async move { client.create_post(request).await.unwrap().post.unwrap().id }
        })
        .await;
        let read = |kind| {
            measure("content", "GetPost", kind, |i| {
                let (client, id) = (client.clone(), posts[i].clone());
                async move {
                    client.get_post(pb::GetPostRequest { post_id: id, viewer_id: String::new() }).await.unwrap();
                }
            })
        };
        let cold = read("read cold").await;
        let warm = read("read warm").await;
        vec![cold, warm, write]
    }
}
