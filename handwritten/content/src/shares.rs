//! Shares of a post, with an optional quote; the post's `share_count` counts them.

use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_content::repo::{posts, shares};
use nova_content::{CallContext, LogicError, pb};

use crate::ContentLogic;
use crate::convert::{self, DEFAULT_PAGE, MAX_PAGE, MAX_TEXT_CHARS};
use crate::likes::count_change;
use crate::posts::limit;
use crate::viewers::Viewer;

pub async fn share_post(logic: &ContentLogic, _ctx: &CallContext, request: pb::SharePostRequest) -> Result<pb::SharePostResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let quote = convert::bounded_text("quote", request.quote, MAX_TEXT_CHARS)?;
    // Only what the user may see can be shared.
    logic.visible_post("post_id", post_id, Viewer::User(user_id)).await?;
    let mut tx = logic.db.begin().await?;
    let row = shares::insert(&mut *tx, &shares::New { id: None, post_id, user_id, quote: Some(quote), created_at: None }).await?;
    let share_count = count_change(posts::increment_share_count(&mut *tx, post_id, 1).await, post_id)?;
    tx.commit().await?;
    logic.invalidate_post(post_id).await;
    Ok(pb::SharePostResponse { share: Some(convert::share(&row)), share_count })
}

pub async fn list_post_shares(
    logic: &ContentLogic,
    ctx: &CallContext,
    request: pb::ListPostSharesRequest,
) -> Result<pb::ListPostSharesResponse, LogicError> {
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListPostShares/{post_id}");
    let after: Option<shares::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
    logic.visible_post("post_id", post_id, Viewer::caller(ctx)).await?;
    let rows = shares::list_by_post_id(&logic.db, post_id, after.as_ref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| shares::CreatedAtCursor::from(r));
    Ok(pb::ListPostSharesResponse { shares: rows.iter().map(convert::share).collect(), next_page_token })
}
