//! Stories: one media shown until `expires_at` to signed-in users (the RPCs that show them
//! admit users only), hidden from viewers the author blocked or who blocked the author; each
//! viewer counts once in `view_count` (a `story_views` row and the increment in one
//! transaction); who viewed a story is for its author only.

use ::nova_runtime::codegen::chrono::{Duration, Utc};
use ::nova_runtime::codegen::sqlx::Connection as _;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{from_timestamp, parse_uuid, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use ::nova_runtime::repo::RepoError;
use nova_content::repo::{stories, story_views};
use nova_content::{CallContext, LogicError, pb};

use crate::ContentLogic;
use crate::convert::{self, DEFAULT_PAGE, MAX_PAGE, MAX_TEXT_CHARS};
use crate::posts::limit;
use crate::queries;
use crate::viewers::{Audience, Viewer};

/// How long a story lives when the request does not say.
const DEFAULT_LIFETIME_HOURS: i64 = 24;
/// The longest a story may live.
const MAX_LIFETIME_DAYS: i64 = 7;

impl ContentLogic {
    /// The live, unexpired story as the user `viewer` may see it: NOT_FOUND naming `story_id`
    /// otherwise (the same answer whether it never existed, expired, was deleted or is hidden).
    async fn visible_story(&self, id: Uuid, viewer: Uuid) -> Result<stories::Row, LogicError> {
        let hidden = || LogicError::not_found(format!("story_id: no story {id}"));
        let row = stories::get(&self.db, id).await?.ok_or_else(hidden)?;
        if row.expires_at <= Utc::now() || self.audience(row.author_id, Viewer::User(viewer)).await? == Audience::Blocked {
            return Err(hidden());
        }
        Ok(row)
    }
}

pub async fn create_story(logic: &ContentLogic, _ctx: &CallContext, request: pb::CreateStoryRequest) -> Result<pb::CreateStoryResponse, LogicError> {
    let author = parse_uuid("author_id", &request.author_id)?;
    let media_id = parse_uuid("media_id", &request.media_id)?;
    let caption = convert::bounded_text("caption", request.caption, MAX_TEXT_CHARS)?;
    let now = Utc::now();
    let expires_at = match &request.expires_at {
        Some(at) => from_timestamp("expires_at", at)?,
        None => now + Duration::hours(DEFAULT_LIFETIME_HOURS),
    };
    if expires_at <= now {
        return Err(LogicError::invalid_argument("expires_at must be in the future"));
    }
    if expires_at > now + Duration::days(MAX_LIFETIME_DAYS) {
        return Err(LogicError::invalid_argument(format!("expires_at must be at most {MAX_LIFETIME_DAYS} days ahead")));
    }
    let media = [media_id];
    let (author_ok, media_ok) = ::nova_runtime::codegen::tokio::join!(
        logic.require_active_author("author_id", author),
        logic.require_ready_media("media_id", author, &media)
    );
    author_ok?;
    media_ok?;
    let new = stories::New {
        id: None,
        author_id: author,
        media_id,
        caption: Some(caption),
        view_count: None,
        created_at: None,
        expires_at,
        deleted_at: None,
    };
    let row = stories::insert(&logic.db, &new).await?;
    Ok(pb::CreateStoryResponse { story: Some(convert::story(&row)) })
}

pub async fn get_story(logic: &ContentLogic, _ctx: &CallContext, request: pb::GetStoryRequest) -> Result<pb::GetStoryResponse, LogicError> {
    let id = parse_uuid("story_id", &request.story_id)?;
    // Bound to the signed-in caller by the server (the RPC admits users only).
    let viewer = parse_uuid("viewer_id", &request.viewer_id)?;
    let row = logic.visible_story(id, viewer).await?;
    Ok(pb::GetStoryResponse { story: Some(convert::story(&row)) })
}

pub async fn list_active_stories(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::ListActiveStoriesRequest,
) -> Result<pb::ListActiveStoriesResponse, LogicError> {
    let author = parse_uuid("author_id", &request.author_id)?;
    // Bound to the signed-in caller by the server (the RPC admits users only).
    let viewer = parse_uuid("viewer_id", &request.viewer_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListActiveStories/{author}");
    let after: Option<stories::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
    if logic.audience(author, Viewer::User(viewer)).await? == Audience::Blocked {
        return Err(LogicError::not_found(format!("author_id: no user {author}")));
    }
    let rows = queries::active_stories(&logic.db, author, Utc::now(), after.as_ref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| stories::CreatedAtCursor::from(r));
    Ok(pb::ListActiveStoriesResponse { stories: rows.iter().map(convert::story).collect(), next_page_token })
}

pub async fn view_story(logic: &ContentLogic, _ctx: &CallContext, request: pb::ViewStoryRequest) -> Result<pb::ViewStoryResponse, LogicError> {
    let id = parse_uuid("story_id", &request.story_id)?;
    let viewer = parse_uuid("viewer_id", &request.viewer_id)?;
    let story = logic.visible_story(id, viewer).await?;
    if story.author_id == viewer {
        return Ok(pb::ViewStoryResponse { view_count: story.view_count });
    }
    let mut tx = logic.db.begin().await?;
    let mut savepoint = tx.begin().await?;
    let first_view = match story_views::insert(&mut *savepoint, &story_views::New { story_id: id, viewer_id: viewer, viewed_at: None }).await {
        Ok(_) => {
            savepoint.commit().await?;
            true
        }
        // Viewed before (or concurrently): counted once.
        Err(RepoError::UniqueViolation { .. }) => {
            savepoint.rollback().await?;
            false
        }
        Err(error) => return Err(error.into()),
    };
    // Adding 0 reads the current count under the row lock, in this transaction.
    let view_count = match stories::increment_view_count(&mut *tx, id, i64::from(first_view)).await {
        Ok(count) => count,
        Err(RepoError::NotFound { .. }) => return Err(LogicError::not_found(format!("story_id: no story {id}"))),
        Err(error) => return Err(error.into()),
    };
    tx.commit().await?;
    Ok(pb::ViewStoryResponse { view_count })
}

pub async fn list_story_viewers(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::ListStoryViewersRequest,
) -> Result<pb::ListStoryViewersResponse, LogicError> {
    let id = parse_uuid("story_id", &request.story_id)?;
    let requester = parse_uuid("requester_id", &request.requester_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListStoryViewers/{id}");
    let after: Option<Uuid> = decode_token(&list, &request.page_token)?;
    // The author may look back at an expired story's viewers; a deleted one is gone.
    let story = stories::get(&logic.db, id).await?.ok_or_else(|| LogicError::not_found(format!("story_id: no story {id}")))?;
    if story.author_id != requester {
        // Someone else: a story they may not see is not revealed; one they see is refused.
        logic.visible_story(id, requester).await?;
        return Err(LogicError::PermissionDenied(format!("requester_id: {requester} is not the author of story {id}")));
    }
    let rows = queries::story_viewers(&logic.db, id, after, limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| r.viewer_id);
    let viewers = rows.iter().map(|r| pb::StoryView { viewer_id: r.viewer_id.to_string(), viewed_at: Some(timestamp(r.viewed_at)) }).collect();
    Ok(pb::ListStoryViewersResponse { viewers, next_page_token })
}

pub async fn delete_story(logic: &ContentLogic, _ctx: &CallContext, request: pb::DeleteStoryRequest) -> Result<pb::DeleteStoryResponse, LogicError> {
    let id = parse_uuid("story_id", &request.story_id)?;
    let requester = parse_uuid("requester_id", &request.requester_id)?;
    // Deleted or not: deleting twice answers with the first deletion time.
    let Some(author) = stories::get_including_deleted(&logic.db, id).await?.map(|s| s.author_id) else {
        return Err(LogicError::not_found(format!("story_id: no story {id}")));
    };
    if author != requester {
        // Someone else: a story they may not see (or a deleted one) is not revealed.
        logic.visible_story(id, requester).await?;
        return Err(LogicError::PermissionDenied(format!("requester_id: {requester} is not the author of story {id}")));
    }
    // Deleting a deleted story changes nothing; the first deletion time is the answer.
    stories::delete(&logic.db, id).await?;
    let deleted_at = stories::get_including_deleted(&logic.db, id).await?.and_then(|s| s.deleted_at);
    Ok(pb::DeleteStoryResponse { deleted_at: deleted_at.map(timestamp) })
}
