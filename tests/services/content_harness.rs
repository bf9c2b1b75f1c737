//! The content service under test, for tests/services/content_rpcs.rs and tests/security/content_access.rs
//! (a module of both test binaries, services and security): auth, media, user and content started callees
//! first, users signed up and signed in through auth, and content reached as the edge (with
//! nobody signed in, or carrying a user's token) or as a service of the deployment.

// Each test binary uses its own share of these helpers.
#![allow(dead_code)]

use nova_content::ContentClient;
use nova_content::pb;
use nova_media::pb as media_pb;
use nova_runtime::codegen::sqlx;
use nova_tests::{TestSystem, TestUser, media_upload};
use nova_user::UserClient;
use nova_user::pb as user_pb;
use tonic::Code;
use uuid::Uuid;

/// The four services, started callees first, and clients of the edge.
pub struct Content {
    pub system: TestSystem,
    /// The edge with nobody signed in: `.with_token` for a user.
    pub content: ContentClient,
    /// The same without a cache of its own: what content answers now (another caller's cache
    /// hears an invalidation over Redis pub/sub, a moment after the write returned).
    pub fresh: ContentClient,
    pub users: UserClient,
}

impl Content {
    pub async fn start() -> Self {
        let mut system = TestSystem::new();
        system.start(&nova_auth::server::DESCRIPTION, nova_auth_service::start).await;
        // Media keeps its objects in the directory the test system gives it (removed after).
        system.start(&nova_media::server::DESCRIPTION, nova_media_service::start).await;
        system.start(&nova_user::server::DESCRIPTION, nova_user_service::start).await;
        system.start(&nova_content::server::DESCRIPTION, nova_content_service::start).await;
        let content = system.client(ContentClient::from_peers);
        let fresh = system.uncached_client(ContentClient::from_peers);
        let users = system.client(UserClient::from_peers);
        Content { system, content, fresh, users }
    }

    pub async fn stop(self) {
        self.system.stop().await;
    }

    /// A registered (active) user, signed in.
    pub async fn user(&self, name: &str) -> TestUser {
        self.system.sign_up(name).await
    }

    /// Content through the edge, as `user`.
    pub fn as_user(&self, user: &TestUser) -> ContentClient {
        self.content.with_token(&user.token)
    }

    /// Content as the service `name` calling as itself (no user).
    pub fn as_service(&self, name: &str) -> ContentClient {
        self.system.service_client(name, ContentClient::from_peers)
    }

    pub async fn post(&self, author: &TestUser, body: &str) -> pb::Post {
        self.post_with(author, body, pb::PostVisibility::Public).await
    }

    pub async fn post_with(&self, author: &TestUser, body: &str, visibility: pb::PostVisibility) -> pb::Post {
        let request = pb::CreatePostRequest { author_id: author.id.clone(), body: body.into(), media_ids: vec![], visibility: visibility as i32 };
        self.as_user(author).create_post(request).await.unwrap().post.unwrap()
    }

    /// GetPost as `viewer` (the viewer_id left for the server to fill in), uncached: what
    /// content answers now.
    pub async fn get(&self, viewer: &TestUser, post_id: &str) -> Result<pb::Post, tonic::Status> {
        self.fresh
            .with_token(&viewer.token)
            .get_post(pb::GetPostRequest { post_id: post_id.into(), viewer_id: String::new() })
            .await
            .map(|r| r.post.unwrap())
    }

    pub async fn follow(&self, follower: &TestUser, followee: &TestUser) {
        let request = user_pb::FollowRequest { follower_id: follower.id.clone(), followee_id: followee.id.clone() };
        self.users.with_token(&follower.token).follow(request).await.unwrap();
    }

    pub async fn block(&self, blocker: &TestUser, blocked: &TestUser) {
        let request = user_pb::BlockRequest { blocker_id: blocker.id.clone(), blocked_id: blocked.id.clone() };
        self.users.with_token(&blocker.token).block(request).await.unwrap();
    }

    /// Grants `permission` to `user` as an operator with auth's database does.
    pub async fn grant(&self, user: &TestUser, permission: &str) {
        let mut db = self.system.connect("auth").await;
        sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1::uuid, $2)")
            .bind(&user.id)
            .bind(permission)
            .execute(&mut db)
            .await
            .unwrap();
    }

    /// A media of `owner` taken through media's real upload flow (initiate, chunks,
    /// complete) with the owner's token: READY when `complete`, PENDING_UPLOAD otherwise.
    pub async fn media(&self, owner: &TestUser, complete: bool) -> String {
        let media = self.system.client(nova_media::MediaClient::from_peers).with_token(&owner.token);
        let png = media_upload::png(8, 8);
        if !complete {
            return media_upload::initiate(&media, &owner.id, &png).await.media_id;
        }
        let done = media_upload::upload_png(&media, &owner.id, &png).await;
        assert_eq!(done.status, media_pb::MediaStatus::Ready as i32);
        done.id
    }

    pub async fn sql(&self, service: &str, statement: &'static str) -> u64 {
        let mut db = self.system.connect(service).await;
        sqlx::query(statement).execute(&mut db).await.unwrap().rows_affected()
    }

    pub async fn count(&self, statement: &'static str, id: &str) -> i64 {
        let mut db = self.system.connect("content").await;
        sqlx::query_scalar(statement).bind(Uuid::parse_str(id).unwrap()).fetch_one(&mut db).await.unwrap()
    }
}

/// The status of a call that must fail with `code`, its message naming `field`.
pub fn assert_error<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, field: &str) {
    let status = result.unwrap_err();
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(field), "{field} not named in {:?}", status.message());
}

/// The code a call ended with (`Ok` when it succeeded).
pub fn code<T>(result: Result<T, tonic::Status>) -> Code {
    result.map_or_else(|status| status.code(), |_| Code::Ok)
}

pub fn unknown() -> String {
    Uuid::new_v4().to_string()
}

/// The ids of `posts`, in order.
pub fn ids(posts: &[pb::Post]) -> Vec<&str> {
    posts.iter().map(|p| p.id.as_str()).collect()
}
