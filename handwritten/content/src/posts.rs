//! Posts: read (one, many, by author, feed), create with media, edit, soft-delete.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, parse_uuids, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use ::nova_runtime::repo::RepoError;
use nova_content::repo::{post_media, posts};
use nova_content::{CallContext, LogicError, pb};

use crate::ContentLogic;
use crate::calls::MODERATE;
use crate::changes::publish_post;
use crate::convert::{self, DEFAULT_PAGE, MAX_MEDIA, MAX_PAGE, MAX_TEXT_CHARS};
use crate::queries;
use crate::viewers::{Audience, Audiences, Viewer};

/// Most ids one GetPostsByIds call may ask for (documented in the proto).
const MAX_BATCH: usize = 100;
/// Most authors one GetFeedPosts call may name (documented in the proto).
const MAX_FEED_AUTHORS: usize = 500;

impl ContentLogic {
    /// Posts as protos, with their media, in the order given.
    pub(crate) async fn posts_to_proto(&self, rows: &[posts::Row]) -> Result<Vec<pb::Post>, LogicError> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let media = queries::media_of(&self.db, &ids).await?;
        Ok(rows.iter().map(|row| convert::post(row, &media)).collect())
    }

    pub(crate) async fn post_to_proto(&self, row: &posts::Row) -> Result<pb::Post, LogicError> {
        let mut posts = self.posts_to_proto(std::slice::from_ref(row)).await?;
        posts.pop().ok_or_else(|| LogicError::Internal { context: "converting a post".into(), source: None })
    }

    /// Every cached read keyed by this post, in every caller (after the write committed).
    pub(crate) async fn invalidate_post(&self, id: Uuid) {
        self.invalidator.entity(&id.to_string()).await;
    }
}

pub async fn get_post(logic: &ContentLogic, ctx: &CallContext, request: pb::GetPostRequest) -> Result<pb::GetPostResponse, LogicError> {
    let id = parse_uuid("post_id", &request.post_id)?;
    let viewer = Viewer::named(ctx, "viewer_id", &request.viewer_id)?;
    let row = logic.visible_post("post_id", id, viewer).await?;
    Ok(pb::GetPostResponse { post: Some(logic.post_to_proto(&row).await?) })
}

pub async fn get_posts_by_ids(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::GetPostsByIdsRequest,
) -> Result<pb::GetPostsByIdsResponse, LogicError> {
    let ids = parse_uuids("post_ids", &request.post_ids, MAX_BATCH)?;
    let rows = posts::get_many(&logic.db, &ids).await?;
    // A post the caller may not see is missing, like a deleted one.
    let audiences = logic.audiences(Viewer::caller(ctx), rows.iter().map(|r| r.author_id)).await?;
    let rows: Vec<posts::Row> = rows.into_iter().filter(|r| audiences.sees(r)).collect();
    let found = logic.posts_to_proto(&rows).await?;
    let mut posts = Vec::with_capacity(found.len());
    let mut missing_post_ids = Vec::new();
    for id in ids {
        let id = id.to_string();
        match found.iter().find(|p| p.id == id) {
            Some(post) => posts.push(post.clone()),
            None => missing_post_ids.push(id),
        }
    }
    Ok(pb::GetPostsByIdsResponse { posts, missing_post_ids })
}

pub async fn get_posts_by_author(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::GetPostsByAuthorRequest,
) -> Result<pb::GetPostsByAuthorResponse, LogicError> {
    let author = parse_uuid("author_id", &request.author_id)?;
    let viewer = Viewer::named(ctx, "viewer_id", &request.viewer_id)?;
    let mut wanted = Vec::new();
    for value in &request.visibilities {
        match convert::visibility("visibilities", *value)? {
            Some(v) => wanted.push(v),
            None => return Err(LogicError::invalid_argument("visibilities must not hold POST_VISIBILITY_UNSPECIFIED")),
        }
    }
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    // The token belongs to this author, viewer and filter: it cannot page another list.
    let list = format!("GetPostsByAuthor/{author}/{viewer:?}/{:?}", request.visibilities);
    let after: Option<posts::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
    let audience = logic.audience(author, viewer).await?;
    if audience == Audience::Blocked {
        return Err(LogicError::not_found(format!("author_id: no user {author}")));
    }
    let allowed: Vec<posts::Visibility> = audience.visible().into_iter().filter(|v| wanted.is_empty() || wanted.contains(v)).collect();
    if allowed.is_empty() {
        return Ok(pb::GetPostsByAuthorResponse { posts: Vec::new(), next_page_token: String::new() });
    }
    let rows = queries::posts_page(&logic.db, &[author], &allowed, after.as_ref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| posts::CreatedAtCursor::from(r));
    Ok(pb::GetPostsByAuthorResponse { posts: logic.posts_to_proto(&rows).await?, next_page_token })
}

pub async fn create_post(logic: &ContentLogic, ctx: &CallContext, request: pb::CreatePostRequest) -> Result<pb::CreatePostResponse, LogicError> {
    let author = parse_uuid("author_id", &request.author_id)?;
    let body = convert::bounded_text("body", request.body, MAX_TEXT_CHARS)?;
    let media = parse_uuids("media_ids", &request.media_ids, MAX_MEDIA)?;
    if media.len() != request.media_ids.len() {
        return Err(LogicError::invalid_argument("media_ids must not repeat a media"));
    }
    if body.trim().is_empty() && media.is_empty() {
        return Err(LogicError::invalid_argument("body: a post needs a body or media_ids"));
    }
    let visibility = convert::visibility("visibility", request.visibility)?.unwrap_or(posts::Visibility::Public);
    // Both checks are reads of other services: run them together.
    let (author_ok, media_ok) = ::nova_runtime::codegen::tokio::join!(
        logic.require_active_author("author_id", author),
        logic.require_ready_media("media_ids", author, &media)
    );
    author_ok?;
    media_ok?;

    let mut tx = logic.db.begin().await?;
    let new = posts::New {
        id: None,
        author_id: author,
        body: Some(body),
        visibility: Some(visibility),
        like_count: None,
        comment_count: None,
        share_count: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    let row = posts::insert(&mut *tx, &new).await?;
    for (position, media_id) in (0_i16..).zip(media.iter()) {
        post_media::insert(&mut *tx, &post_media::New { post_id: row.id, position, media_id: *media_id }).await?;
    }
    publish_post(&mut tx, &row, ctx.principal.user_id()).await?;
    tx.commit().await?;
    // A new post changes no cached answer keyed by an id; author and feed lists expire by TTL.
    let media_map = std::iter::once((row.id, media)).collect();
    Ok(pb::CreatePostResponse { post: Some(convert::post(&row, &media_map)) })
}

pub async fn update_post(logic: &ContentLogic, ctx: &CallContext, request: pb::UpdatePostRequest) -> Result<pb::UpdatePostResponse, LogicError> {
    let id = parse_uuid("post_id", &request.post_id)?;
    let requester = parse_uuid("requester_id", &request.requester_id)?;
    let body = convert::bounded_text("body", request.body, MAX_TEXT_CHARS)?;
    let visibility = convert::visibility("visibility", request.visibility)?;
    // A post the requester may not see is NOT_FOUND (its existence is not revealed); one they
    // see but did not write is theirs to read, not to edit.
    let current = logic.visible_post("post_id", id, Viewer::User(requester)).await?;
    if current.author_id != requester {
        return Err(LogicError::PermissionDenied(format!("requester_id: {requester} is not the author of post {id}")));
    }
    if body.trim().is_empty() && queries::media_of(&logic.db, &[id]).await?.is_empty() {
        return Err(LogicError::invalid_argument("body: a post without media needs a body"));
    }
    let patch = posts::Patch { body: Some(body), visibility, ..posts::Patch::default() };
    let mut tx = logic.db.begin().await?;
    let row = match posts::update_if_version(&mut *tx, id, request.version, &patch).await {
        Ok(row) => row,
        Err(RepoError::NotFound { .. }) => return Err(LogicError::not_found(format!("post_id: no post {id}"))),
        Err(error) => return Err(error.into()),
    };
    publish_post(&mut tx, &row, ctx.principal.user_id()).await?;
    tx.commit().await?;
    logic.invalidate_post(id).await;
    Ok(pb::UpdatePostResponse { post: Some(logic.post_to_proto(&row).await?) })
}

pub async fn delete_post(logic: &ContentLogic, ctx: &CallContext, request: pb::DeletePostRequest) -> Result<pb::DeletePostResponse, LogicError> {
    let id = parse_uuid("post_id", &request.post_id)?;
    let requester = parse_uuid("requester_id", &request.requester_id)?;
    // Deleted or not: deleting twice answers with the first deletion time.
    let Some(author) = posts::get_including_deleted(&logic.db, id).await?.map(|p| p.author_id) else {
        return Err(LogicError::not_found(format!("post_id: no post {id}")));
    };
    if author != requester && !logic.has_permission(requester, MODERATE).await? {
        // Neither the author nor a moderator: a post the requester may not see (or a deleted
        // one) is NOT_FOUND, as every read says; one they see is refused.
        logic.visible_post("post_id", id, Viewer::User(requester)).await?;
        return Err(LogicError::PermissionDenied(format!("requester_id: {requester} is neither the author of post {id} nor holds {MODERATE}")));
    }
    // Deleting a deleted post changes nothing; the first deletion time is the answer either way.
    let mut tx = logic.db.begin().await?;
    let deleted = posts::delete(&mut *tx, id).await?;
    if deleted {
        // The row as deleted (the generated `get` skips it): what the event tells.
        if let Some(row) = posts::get_including_deleted(&mut *tx, id).await? {
            publish_post(&mut tx, &row, ctx.principal.user_id()).await?;
        }
    }
    tx.commit().await?;
    if deleted {
        logic.invalidate_post(id).await;
    }
    let deleted_at = posts::get_including_deleted(&logic.db, id).await?.and_then(|p| p.deleted_at);
    Ok(pb::DeletePostResponse { deleted_at: deleted_at.map(timestamp) })
}

pub async fn get_feed_posts(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::GetFeedPostsRequest,
) -> Result<pb::GetFeedPostsResponse, LogicError> {
    let authors = parse_uuids("author_ids", &request.author_ids, MAX_FEED_AUTHORS)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    // A position is meaningful in any author set, so the token names only the list.
    let list = "GetFeedPosts";
    let mut after: Option<posts::CreatedAtCursor> = decode_token(list, &request.page_token)?;
    let viewer = Viewer::caller(ctx);
    // The viewer's audience towards an author is asked only once a post of theirs comes up:
    // an unknown author's public and followers-only posts are read, then filtered; a known
    // one's are read exactly as far as the viewer sees them (a blocked author's not at all).
    // Each round either fills the page, reaches the end, or learns a new author.
    let mut known = Audiences::default();
    let mut shown: Vec<posts::Row> = Vec::new();
    loop {
        let groups = feed_groups(&authors, &known);
        if groups.iter().all(|g| g.authors.is_empty()) {
            break;
        }
        let rows = queries::feed_page(&logic.db, &groups, after.as_ref(), limit(size)).await?;
        let exhausted = i64::try_from(rows.len()).unwrap_or(i64::MAX) < limit(size);
        if let Some(last) = rows.last() {
            after = Some(last.into());
        }
        logic.learn_audiences(viewer, &mut known, rows.iter().map(|r| r.author_id)).await?;
        shown.extend(rows.into_iter().filter(|r| known.sees(r)));
        if exhausted || shown.len() > size {
            break;
        }
    }
    shown.truncate(size + 1);
    let (rows, next_page_token) = split_page(shown, size, list, |r| posts::CreatedAtCursor::from(r));
    Ok(pb::GetFeedPostsResponse { posts: logic.posts_to_proto(&rows).await?, next_page_token })
}

/// The visibilities a feed reads of each author, as far as the viewer's audience is known:
/// public and followers-only posts (never private ones) of the authors not asked yet and of
/// those whose followers-only posts the viewer sees; only public posts of the others; nothing
/// of blocked ones.
fn feed_groups(authors: &[Uuid], known: &Audiences) -> [queries::AuthorGroup; 2] {
    let (mut wide, mut public) = (Vec::new(), Vec::new());
    for author in authors {
        match known.of(*author) {
            None => wide.push(*author),
            Some(audience) if audience.sees(posts::Visibility::Followers) => wide.push(*author),
            Some(audience) if audience.sees(posts::Visibility::Public) => public.push(*author),
            Some(_) => {}
        }
    }
    [
        queries::AuthorGroup { authors: wide, visibilities: vec![posts::Visibility::Public, posts::Visibility::Followers] },
        queries::AuthorGroup { authors: public, visibilities: vec![posts::Visibility::Public] },
    ]
}

pub async fn check_post_exists(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::CheckPostExistsRequest,
) -> Result<pb::CheckPostExistsResponse, LogicError> {
    let id = parse_uuid("post_id", &request.post_id)?;
    // A post the caller may not see does not exist for them.
    let exists = match posts::get(&logic.db, id).await? {
        Some(row) => logic.audience(row.author_id, Viewer::caller(ctx)).await?.sees(row.visibility),
        None => false,
    };
    Ok(pb::CheckPostExistsResponse { exists })
}

/// Rows to fetch for a page of `size`: one more tells whether a next page exists.
pub fn limit(size: usize) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX - 1) + 1
}
