//! Likes: one per user and post; `like_count` moves only when a row really comes or goes.

use ::nova_runtime::codegen::sqlx::{Connection as _, PgConnection};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use ::nova_runtime::repo::RepoError;
use nova_content::repo::{likes, posts};
use nova_content::{LogicError, pb};

use crate::ContentLogic;
use crate::convert::{DEFAULT_PAGE, MAX_PAGE};
use crate::posts::limit;

pub async fn like_post(logic: &ContentLogic, request: pb::LikePostRequest) -> Result<pb::LikePostResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let user_id = parse_uuid("user_id", &request.user_id)?;
    logic.live_post("post_id", post_id).await?;
    let mut tx = logic.db.begin().await?;
    let new = likes::New { user_id, post_id, created_at: None };
    // Adding 0 reads the current count under the row lock, in this transaction.
    let by = if insert_once(&mut tx, &new).await? { 1 } else { 0 };
    let like_count = count_change(posts::increment_like_count(&mut *tx, post_id, by).await, post_id)?;
    tx.commit().await?;
    logic.invalidate_post(post_id).await;
    Ok(pb::LikePostResponse { like_count })
}

pub async fn unlike_post(logic: &ContentLogic, request: pb::UnlikePostRequest) -> Result<pb::UnlikePostResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let user_id = parse_uuid("user_id", &request.user_id)?;
    logic.live_post("post_id", post_id).await?;
    let mut tx = logic.db.begin().await?;
    let by = if likes::delete(&mut *tx, user_id, post_id).await? { -1 } else { 0 };
    let like_count = count_change(posts::increment_like_count(&mut *tx, post_id, by).await, post_id)?;
    tx.commit().await?;
    logic.invalidate_post(post_id).await;
    Ok(pb::UnlikePostResponse { like_count })
}

pub async fn list_post_likes(logic: &ContentLogic, request: pb::ListPostLikesRequest) -> Result<pb::ListPostLikesResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListPostLikes/{post_id}");
    let after: Option<(::nova_runtime::codegen::chrono::DateTime<::nova_runtime::codegen::chrono::Utc>, Uuid)> =
        decode_token(&list, &request.page_token)?;
    logic.live_post("post_id", post_id).await?;
    // The keyset reads only (created_at, user_id, post_id) of the row it continues after.
    let cursor = after.map(|(created_at, user_id)| likes::Row { user_id, post_id, created_at });
    let rows = likes::list_by_post_id(&logic.db, post_id, cursor.as_ref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| (r.created_at, r.user_id));
    let likes = rows.iter().map(|r| pb::PostLike { user_id: r.user_id.to_string(), created_at: Some(timestamp(r.created_at)) }).collect();
    Ok(pb::ListPostLikesResponse { likes, next_page_token })
}

/// Inserts the like unless the user already likes the post; `true` when a row was inserted.
/// A savepoint confines the unique violation of a repeated (or concurrent) like, so the
/// transaction goes on and the count is not touched.
async fn insert_once(tx: &mut PgConnection, new: &likes::New) -> Result<bool, LogicError> {
    let mut savepoint = tx.begin().await?;
    match likes::insert(&mut *savepoint, new).await {
        Ok(_) => {
            savepoint.commit().await?;
            Ok(true)
        }
        Err(RepoError::UniqueViolation { .. }) => {
            savepoint.rollback().await?;
            Ok(false)
        }
        Err(error) => Err(error.into()),
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
