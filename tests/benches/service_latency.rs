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
    let uploaded = media::uploaded(&system, &users).await;
    rows.extend(media::rows(&system, &users, &uploaded).await);
    let media_ids: Vec<String> = uploaded.into_iter().map(|media| media.id).collect();
    rows.extend(content::rows(&system, &users, &media_ids).await);
    println!("\n{:<8} {:<24} {:<12} {:>9} {:>9} {:>9}", "service", "rpc", "kind", "p50 µs", "p95 µs", "p99 µs");
    for row in &rows {
        println!(
            "{:<8} {:<24} {:<12} {:>9.1} {:>9.1} {:>9.1}",
            row.service,
            row.rpc,
            row.kind,
            row.percentile(0.50),
            row.percentile(0.95),
            row.percentile(0.99)
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
            let request = pb::RegisterRequest {
                email: format!("bench{i}@example.com"),
                username: format!("bench{i}"),
                password: "correct horse battery".into(),
            };
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
    use nova_tests::media_upload;

    use super::*;

    /// One READY image per user, through the real upload flow (untimed).
    pub async fn uploaded(system: &TestSystem, users: &[String]) -> Vec<pb::Media> {
        let client = system.client(MediaClient::from_peers);
        let png = media_upload::png(64, 64);
        let mut ids = Vec::with_capacity(users.len());
        for owner in users {
            ids.push(media_upload::upload_png(&client, owner, &png).await);
        }
        ids
    }

    pub async fn rows(system: &TestSystem, users: &[String], media: &[pb::Media]) -> Vec<Row> {
        let client = system.client(MediaClient::from_peers);
        let write = measure("media", "UpdateMediaMetadata", "write", |i| {
            let request = pb::UpdateMediaMetadataRequest {
                media_id: media[i].id.clone(),
                requester_id: users[i].clone(),
                title: format!("bench {i}"),
                alt_text: "a pattern".into(),
                version: media[i].version,
            };
            let client = client.clone();
            async move {
                client.update_media_metadata(request).await.unwrap();
            }
        })
        .await;
        let read = |kind| {
            measure("media", "GetMedia", kind, |i| {
                let (client, id) = (client.clone(), media[i].id.clone());
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
