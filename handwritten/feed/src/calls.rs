//! Calls to user and content, and what their answers mean here. Each callee error is mapped
//! deliberately: the codes we expect (NOT_FOUND) first, then `LogicError::from_upstream`
//! (UNAVAILABLE stays UNAVAILABLE, anything else is our INTERNAL).

use std::collections::HashMap;

use ::nova_runtime::codegen::tonic::Code;
use ::nova_runtime::codegen::uuid::Uuid;
use futures_util::future::join_all;
use nova_content_api::pb as content_pb;
use nova_feed::LogicError;
use nova_user_api::pb as user_pb;

use crate::FeedLogic;

/// Most followed authors a feed covers: content's GetFeedPosts takes at most 500 authors per
/// call, and one call per page keeps the keyset paging exact. A user following more sees the
/// 500 they followed most recently.
pub const MAX_FOLLOWED: usize = 500;
/// The page size asked of GetUserFollowing (its maximum): 5 calls cover `MAX_FOLLOWED`.
const FOLLOWING_PAGE: i32 = 100;
/// Most ids content's GetPostsByIds takes per call.
const POSTS_BY_IDS: usize = 100;

/// Who may see a post in a feed, as far as its visibility goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Anybody (trending, popular, suggested): public posts only.
    Everyone,
    /// A follower of the author: public and followers-only posts.
    Follower,
}

impl Reach {
    pub(crate) fn admits(self, post: &content_pb::Post) -> bool {
        let visibility = content_pb::PostVisibility::try_from(post.visibility).unwrap_or(content_pb::PostVisibility::Private);
        match self {
            Reach::Everyone => visibility == content_pb::PostVisibility::Public,
            Reach::Follower => matches!(visibility, content_pb::PostVisibility::Public | content_pb::PostVisibility::Followers),
        }
    }
}

impl FeedLogic {
    /// The authors `user` follows, most recently followed first, at most [`MAX_FOLLOWED`]:
    /// every page of user's GetUserFollowing (cached, invalidated by user after a follow,
    /// unfollow or block of `user`). NOT_FOUND naming `field` when user does not know `user`.
    pub(crate) async fn followed(&self, field: &str, user: Uuid) -> Result<Vec<Uuid>, LogicError> {
        let mut authors: Vec<Uuid> = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = user_pb::GetUserFollowingRequest { user_id: user.to_string(), page_size: FOLLOWING_PAGE, page_token };
            let page = match self.user.get_user_following(request).await {
                Ok(page) => page,
                Err(status) if status.code() == Code::NotFound => return Err(LogicError::not_found(format!("{field}: no user {user}"))),
                Err(status) => return Err(LogicError::upstream("user", status)),
            };
            for edge in &page.following {
                // user answers UUIDs; anything else would be its bug, not a followed author.
                if let Ok(author) = Uuid::parse_str(&edge.followee_id)
                    && authors.len() < MAX_FOLLOWED
                    && !authors.contains(&author)
                {
                    authors.push(author);
                }
            }
            if page.next_page_token.is_empty() || authors.len() >= MAX_FOLLOWED {
                return Ok(authors);
            }
            page_token = page.next_page_token;
        }
    }

    /// The first page (at most 100) of whom `user` follows, as the viewer may see it; empty
    /// when user does not know them (a followee deleted since) or does not show the viewer
    /// their list (a private profile the viewer stopped following meanwhile): such an account
    /// is simply not a source of suggestions.
    pub(crate) async fn following_sample(&self, user: Uuid) -> Result<Vec<Uuid>, LogicError> {
        let request = user_pb::GetUserFollowingRequest { user_id: user.to_string(), page_size: FOLLOWING_PAGE, page_token: String::new() };
        match self.user.get_user_following(request).await {
            Ok(page) => Ok(page.following.iter().filter_map(|edge| Uuid::parse_str(&edge.followee_id).ok()).collect()),
            Err(status) if matches!(status.code(), Code::NotFound | Code::PermissionDenied) => Ok(Vec::new()),
            Err(status) => Err(LogicError::upstream("user", status)),
        }
    }

    /// The user exists and is not deleted (the generated check, asking auth; cached):
    /// NOT_FOUND naming `field` otherwise.
    pub(crate) async fn require_user(&self, field: &str, user: Uuid) -> Result<(), LogicError> {
        self.users.require_live(field, user).await.map(|_| ())
    }

    /// Which of `others` `user` blocks or is blocked by (user CheckUserRelationship, cached
    /// and fail-closed: when user cannot answer, the call fails UNAVAILABLE), asked concurrently.
    pub(crate) async fn blocked_either_way(&self, user: Uuid, others: &[Uuid]) -> Result<Vec<Uuid>, LogicError> {
        let checks = others.iter().map(|other| async move {
            let request = user_pb::CheckUserRelationshipRequest { user_id: user.to_string(), other_user_id: other.to_string() };
            self.user.check_user_relationship(request).await.map(|relation| (*other, relation.blocking || relation.blocked_by))
        });
        let mut blocked = Vec::new();
        for answer in join_all(checks).await {
            let (other, is_blocked) = answer.map_err(|status| LogicError::upstream("user", status))?;
            if is_blocked {
                blocked.push(other);
            }
        }
        Ok(blocked)
    }

    /// One page of the live public and followers-only posts of `authors`, newest first
    /// (content GetFeedPosts, cached 15 s); `page_token` is content's.
    pub(crate) async fn feed_posts(
        &self,
        authors: &[Uuid],
        page_size: usize,
        page_token: String,
    ) -> Result<content_pb::GetFeedPostsResponse, LogicError> {
        let request = content_pb::GetFeedPostsRequest {
            author_ids: authors.iter().map(Uuid::to_string).collect(),
            page_size: i32::try_from(page_size).unwrap_or(i32::MAX),
            page_token,
        };
        self.content.get_feed_posts(request).await.map_err(|status| LogicError::upstream("content", status))
    }

    /// The post `post` as content shows it to the caller (the user's token is forwarded, so
    /// content answers what that user may see); `None` when content does not show it to them.
    pub(crate) async fn visible_post(&self, post: Uuid) -> Result<Option<content_pb::Post>, LogicError> {
        let request = content_pb::GetPostsByIdsRequest { post_ids: vec![post.to_string()] };
        let answer = self.content.get_posts_by_ids(request).await.map_err(|status| LogicError::upstream("content", status))?;
        Ok(answer.posts.into_iter().find(|p| Uuid::parse_str(&p.id).is_ok_and(|id| id == post)))
    }

    /// Of `ids`, the live posts everyone may see, asked of content as feed itself (never with a
    /// user's token): the lists shared by every caller (trending, popular) must not depend on
    /// who happened to ask first.
    pub(crate) async fn public_posts(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, content_pb::Post>, LogicError> {
        ::nova_runtime::context::as_service(self.live_posts(ids, Reach::Everyone)).await
    }

    /// Of `ids`, the posts content still holds (GetPostsByIds, cached and invalidated by post
    /// id on every edit and deletion) whose visibility `reach` admits, by id.
    pub(crate) async fn live_posts(&self, ids: &[Uuid], reach: Reach) -> Result<HashMap<Uuid, content_pb::Post>, LogicError> {
        let mut live = HashMap::new();
        for chunk in ids.chunks(POSTS_BY_IDS) {
            let request = content_pb::GetPostsByIdsRequest { post_ids: chunk.iter().map(Uuid::to_string).collect() };
            let answer = self.content.get_posts_by_ids(request).await.map_err(|status| LogicError::upstream("content", status))?;
            for post in answer.posts {
                if let Ok(id) = Uuid::parse_str(&post.id)
                    && reach.admits(&post)
                {
                    live.insert(id, post);
                }
            }
        }
        Ok(live)
    }
}
