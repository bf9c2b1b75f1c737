//! Likes: one per user and post; `like_count` moves only when a row really comes or goes.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use ::nova_runtime::repo::RepoError;
use nova_content::repo::{likes, posts};
use nova_content::{CallContext, LogicError, pb};

use crate::ContentLogic;
use crate::convert::{DEFAULT_PAGE, MAX_PAGE};
use crate::posts::limit;
use crate::queries;
use crate::viewers::Viewer;

pub async fn like_post(logic: &ContentLogic, _ctx: &CallContext, request: pb::LikePostRequest) -> Result<pb::LikePostResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let user_id = parse_uuid("user_id", &request.user_id)?;
    // Only what the user may see can be liked (and its count read): checked before the
    // transaction, which holds no lock meanwhile.
    logic.visible_post("post_id", post_id, Viewer::User(user_id)).await?;
    // Four round trips in the transaction: under 32 concurrent likes every transaction waits
    // for the post's row lock while holding a pooled connection, so each statement counts.
    let mut tx = logic.db.begin().await?;
    let inserted = queries::insert_like(&mut *tx, user_id, post_id).await.map_err(|e| missing_post(e, post_id))?;
    // Adding 0 reads the current count under the row lock, in this transaction; a missing or
    // deleted post is NOT_FOUND and rolls the insert back.
    let like_count = count_change(posts::increment_like_count(&mut *tx, post_id, i64::from(inserted)).await, post_id)?;
    tx.commit().await?;
    if inserted {
        logic.invalidate_post(post_id).await;
    }
    Ok(pb::LikePostResponse { like_count })
}

pub async fn unlike_post(logic: &ContentLogic, _ctx: &CallContext, request: pb::UnlikePostRequest) -> Result<pb::UnlikePostResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let user_id = parse_uuid("user_id", &request.user_id)?;
    // The count of a post the user may no longer see is not theirs to read.
    logic.visible_post("post_id", post_id, Viewer::User(user_id)).await?;
    let mut tx = logic.db.begin().await?;
    let deleted = likes::delete(&mut *tx, user_id, post_id).await?;
    let like_count = count_change(posts::increment_like_count(&mut *tx, post_id, -i64::from(deleted)).await, post_id)?;
    tx.commit().await?;
    if deleted {
        logic.invalidate_post(post_id).await;
    }
    Ok(pb::UnlikePostResponse { like_count })
}

pub async fn list_post_likes(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::ListPostLikesRequest,
) -> Result<pb::ListPostLikesResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListPostLikes/{post_id}");
    let after: Option<likes::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
    logic.visible_post("post_id", post_id, Viewer::caller(ctx)).await?;
    let rows = likes::list_by_post_id(&logic.db, post_id, after.as_ref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| likes::CreatedAtCursor::from(r));
    let likes = rows.iter().map(|r| pb::PostLike { user_id: r.user_id.to_string(), created_at: Some(timestamp(r.created_at)) }).collect();
    Ok(pb::ListPostLikesResponse { likes, next_page_token })
}

/// A like of a post that does not exist breaks the foreign key: NOT_FOUND naming the post.
fn missing_post(error: LogicError, post_id: Uuid) -> LogicError {
    match error {
        LogicError::FailedPrecondition(_) => LogicError::not_found(format!("post_id: no post {post_id}")),
        other => other,
    }
}

/// A counter change on a post: the post vanishing meanwhile (deleted) is NOT_FOUND.
pub fn count_change(result: Result<i64, RepoError>, post_id: Uuid) -> Result<i64, LogicError> {
    match result {
        Ok(count) => Ok(count),
        Err(RepoError::NotFound { .. }) => Err(LogicError::not_found(format!("post_id: no post {post_id}"))),
        Err(error) => Err(error.into()),
    }
}
