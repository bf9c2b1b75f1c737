//! Threaded comments: top-level comments of a post and replies to a comment of the same post;
//! the post's `comment_count` counts every live comment, kept by atomic increments. Deleting a
//! comment deletes the replies below it.

use ::nova_runtime::convert::{parse_uuid, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_content::repo::{comments, posts};
use nova_content::{CallContext, LogicError, pb};

use crate::ContentLogic;
use crate::calls::MODERATE;
use crate::convert::{self, DEFAULT_PAGE, MAX_PAGE, MAX_TEXT_CHARS, optional_uuid};
use crate::likes::count_change;
use crate::posts::limit;
use crate::queries;
use crate::viewers::Viewer;

pub async fn create_comment(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::CreateCommentRequest,
) -> Result<pb::CreateCommentResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let author = parse_uuid("author_id", &request.author_id)?;
    let body = convert::bounded_text("body", request.body, MAX_TEXT_CHARS)?;
    if body.trim().is_empty() {
        return Err(LogicError::invalid_argument("body must not be empty"));
    }
    let parent = optional_uuid("parent_comment_id", &request.parent_comment_id)?;
    // A commenter the author blocked (or who blocked the author) does not see the post.
    logic.visible_post("post_id", post_id, Viewer::User(author)).await?;
    if let Some(parent_id) = parent {
        let parent_row =
            comments::get(&logic.db, parent_id).await?.ok_or_else(|| LogicError::not_found(format!("parent_comment_id: no comment {parent_id}")))?;
        if parent_row.post_id != post_id {
            return Err(LogicError::invalid_argument(format!("parent_comment_id: comment {parent_id} is on another post")));
        }
    }
    let mut tx = logic.db.begin().await?;
    let new = comments::New {
        id: None,
        post_id,
        author_id: author,
        parent_comment_id: parent,
        body,
        like_count: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    let row = comments::insert(&mut *tx, &new).await?;
    count_change(posts::increment_comment_count(&mut *tx, post_id, 1).await, post_id)?;
    tx.commit().await?;
    logic.invalidate_post(post_id).await;
    Ok(pb::CreateCommentResponse { comment: Some(convert::comment(&row)) })
}

pub async fn list_comments(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::ListCommentsRequest,
) -> Result<pb::ListCommentsResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let viewer = Viewer::named(ctx, "viewer_id", &request.viewer_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListComments/{post_id}");
    let after: Option<comments::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
    logic.visible_post("post_id", post_id, viewer).await?;
    let rows = queries::top_level_comments(&logic.db, post_id, after.as_ref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| comments::CreatedAtCursor::from(r));
    Ok(pb::ListCommentsResponse { comments: rows.iter().map(convert::comment).collect(), next_page_token })
}

pub async fn list_comment_replies(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::ListCommentRepliesRequest,
) -> Result<pb::ListCommentRepliesResponse, LogicError> {
    let comment_id = parse_uuid("comment_id", &request.comment_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListCommentReplies/{comment_id}");
    let after: Option<comments::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
    let parent = comments::get(&logic.db, comment_id).await?.ok_or_else(|| LogicError::not_found(format!("comment_id: no comment {comment_id}")))?;
    let Some(post) = posts::get(&logic.db, parent.post_id).await? else {
        return Err(LogicError::not_found(format!("comment_id: no comment {comment_id} (its post was deleted)")));
    };
    // The thread of a post the caller may not see is hidden with the post.
    if !logic.audience(post.author_id, Viewer::caller(ctx)).await?.sees(post.visibility) {
        return Err(LogicError::not_found(format!("comment_id: no comment {comment_id}")));
    }
    let rows = comments::list_by_parent_comment_id(&logic.db, Some(comment_id), after.as_ref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| comments::CreatedAtCursor::from(r));
    Ok(pb::ListCommentRepliesResponse { comments: rows.iter().map(convert::comment).collect(), next_page_token })
}

pub async fn delete_comment(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::DeleteCommentRequest,
) -> Result<pb::DeleteCommentResponse, LogicError> {
    let comment_id = parse_uuid("comment_id", &request.comment_id)?;
    let requester = parse_uuid("requester_id", &request.requester_id)?;
    // Deleted or not: deleting twice answers with the first deletion time.
    let Some(comments::Row { author_id: author, post_id, deleted_at, .. }) = comments::get_including_deleted(&logic.db, comment_id).await? else {
        return Err(LogicError::not_found(format!("comment_id: no comment {comment_id}")));
    };
    let post = posts::get(&logic.db, post_id)
        .await?
        .ok_or_else(|| LogicError::not_found(format!("comment_id: no comment {comment_id} (its post was deleted)")))?;
    if requester != author && requester != post.author_id && !logic.has_permission(requester, MODERATE).await? {
        // A comment on a post the requester may not see is not revealed.
        if !logic.audience(post.author_id, Viewer::User(requester)).await?.sees(post.visibility) {
            return Err(LogicError::not_found(format!("comment_id: no comment {comment_id}")));
        }
        return Err(LogicError::PermissionDenied(format!(
            "requester_id: {requester} wrote neither comment {comment_id} nor its post, and does not hold {MODERATE}"
        )));
    }
    if let Some(at) = deleted_at {
        return Ok(pb::DeleteCommentResponse { deleted_at: Some(timestamp(at)) });
    }
    // The replies below go with it (they could no longer be reached), and the post's count
    // loses them all, in one transaction.
    let mut tx = logic.db.begin().await?;
    let deleted = queries::delete_comment_thread(&mut *tx, comment_id).await?;
    if deleted > 0 {
        count_change(posts::increment_comment_count(&mut *tx, post_id, -deleted).await, post_id)?;
    }
    tx.commit().await?;
    logic.invalidate_post(post_id).await;
    let deleted_at = comments::get_including_deleted(&logic.db, comment_id).await?.and_then(|c| c.deleted_at);
    Ok(pb::DeleteCommentResponse { deleted_at: deleted_at.map(timestamp) })
}
