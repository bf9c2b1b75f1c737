//! Bookmarks (saved posts) and the named collections that group them. Deleting a collection
//! moves its bookmarks out (the foreign key's `ON DELETE SET NULL`, in the same statement).

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::Connection as _;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use ::nova_runtime::repo::RepoError;
use nova_content::repo::{bookmark_collections, bookmarks, posts};
use nova_content::{CallContext, LogicError, pb};

use crate::ContentLogic;
use crate::convert::{self, DEFAULT_PAGE, MAX_PAGE, optional_uuid};
use crate::posts::limit;
use crate::queries;
use crate::viewers::Viewer;

/// Longest collection name, in characters (documented in the proto).
const MAX_NAME_CHARS: usize = 100;
/// Default page of ListBookmarkCollections (documented in the proto).
const DEFAULT_COLLECTIONS_PAGE: u32 = 50;

impl ContentLogic {
    /// The collection, if `user` owns it: NOT_FOUND or PERMISSION_DENIED naming `collection_id`.
    async fn owned_collection(&self, id: Uuid, user: Uuid) -> Result<bookmark_collections::Row, LogicError> {
        let row =
            bookmark_collections::get(&self.db, id).await?.ok_or_else(|| LogicError::not_found(format!("collection_id: no collection {id}")))?;
        if row.user_id != user {
            return Err(LogicError::PermissionDenied(format!("collection_id: collection {id} belongs to another user")));
        }
        Ok(row)
    }
}

pub async fn create_bookmark_collection(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::CreateBookmarkCollectionRequest,
) -> Result<pb::CreateBookmarkCollectionResponse, LogicError> {
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let name = convert::bounded_text("name", request.name.trim().to_string(), MAX_NAME_CHARS)?;
    if name.is_empty() {
        return Err(LogicError::invalid_argument("name must not be empty"));
    }
    let new = bookmark_collections::New { id: None, user_id, name, created_at: None, updated_at: None };
    let row = match bookmark_collections::insert(&logic.db, &new).await {
        Ok(row) => row,
        Err(RepoError::UniqueViolation { .. }) => {
            return Err(LogicError::AlreadyExists(format!("name: the user has a collection named {:?}", new.name)));
        }
        Err(error) => return Err(error.into()),
    };
    Ok(pb::CreateBookmarkCollectionResponse { collection: Some(convert::collection(&row)) })
}

pub async fn list_bookmark_collections(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::ListBookmarkCollectionsRequest,
) -> Result<pb::ListBookmarkCollectionsResponse, LogicError> {
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let size = page_size(request.page_size, DEFAULT_COLLECTIONS_PAGE, MAX_PAGE)?;
    let list = format!("ListBookmarkCollections/{user_id}");
    let after: Option<String> = decode_token(&list, &request.page_token)?;
    let rows = queries::collections_page(&logic.db, user_id, after.as_deref(), limit(size)).await?;
    let (rows, next_page_token) = split_page(rows, size, &list, |r| r.name.clone());
    Ok(pb::ListBookmarkCollectionsResponse { collections: rows.iter().map(convert::collection).collect(), next_page_token })
}

pub async fn delete_bookmark_collection(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::DeleteBookmarkCollectionRequest,
) -> Result<pb::DeleteBookmarkCollectionResponse, LogicError> {
    let id = parse_uuid("collection_id", &request.collection_id)?;
    let user_id = parse_uuid("user_id", &request.user_id)?;
    logic.owned_collection(id, user_id).await?;
    // One statement: the row goes and `ON DELETE SET NULL` moves its bookmarks out with it.
    if !bookmark_collections::delete(&logic.db, id).await? {
        return Err(LogicError::not_found(format!("collection_id: no collection {id}")));
    }
    Ok(pb::DeleteBookmarkCollectionResponse {})
}

pub async fn bookmark_post(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::BookmarkPostRequest,
) -> Result<pb::BookmarkPostResponse, LogicError> {
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let post_id = parse_uuid("post_id", &request.post_id)?;
    let collection_id = optional_uuid("collection_id", &request.collection_id)?;
    if let Some(id) = collection_id {
        logic.owned_collection(id, user_id).await?;
    }
    // Saving a post returns it: only what the user may see can be saved.
    let post = logic.visible_post("post_id", post_id, Viewer::User(user_id)).await?;
    let mut tx = logic.db.begin().await?;
    let new = bookmarks::New { user_id, post_id, collection_id, created_at: None };
    // A savepoint confines the unique violation of a post saved already: then it moves to
    // the collection asked for.
    let mut savepoint = tx.begin().await?;
    let row = match bookmarks::insert(&mut *savepoint, &new).await {
        Ok(row) => {
            savepoint.commit().await?;
            row
        }
        Err(RepoError::UniqueViolation { .. }) => {
            savepoint.rollback().await?;
            bookmarks::update(&mut *tx, user_id, post_id, &bookmarks::Patch { collection_id: Some(collection_id) }).await?
        }
        Err(error) => return Err(error.into()),
    };
    tx.commit().await?;
    let bookmark = bookmark(logic.post_to_proto(&post).await?, row.collection_id, row.created_at);
    Ok(pb::BookmarkPostResponse { bookmark: Some(bookmark) })
}

pub async fn remove_bookmark(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::RemoveBookmarkRequest,
) -> Result<pb::RemoveBookmarkResponse, LogicError> {
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let post_id = parse_uuid("post_id", &request.post_id)?;
    Ok(pb::RemoveBookmarkResponse { removed: bookmarks::delete(&logic.db, user_id, post_id).await? })
}

pub async fn list_bookmarks(
    logic: &ContentLogic,
    _ctx: &CallContext,
    request: pb::ListBookmarksRequest,
) -> Result<pb::ListBookmarksResponse, LogicError> {
    let user_id = parse_uuid("user_id", &request.user_id)?;
    let collection_id = optional_uuid("collection_id", &request.collection_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("ListBookmarks/{user_id}/{collection_id:?}");
    // A collection pages in key order, all of a user's bookmarks newest first: each token holds
    // the generated cursor of its ordering (the list name keeps the two apart).
    let (rows, next_page_token) = match collection_id {
        Some(id) => {
            let after: Option<bookmarks::KeyCursor> = decode_token(&list, &request.page_token)?;
            logic.owned_collection(id, user_id).await?;
            let rows = bookmarks::list_by_collection_id(&logic.db, Some(id), after.as_ref(), limit(size)).await?;
            split_page(rows, size, &list, |r| bookmarks::KeyCursor::from(r))
        }
        None => {
            let after: Option<bookmarks::CreatedAtCursor> = decode_token(&list, &request.page_token)?;
            let rows = bookmarks::list_by_user_id(&logic.db, user_id, after.as_ref(), limit(size)).await?;
            split_page(rows, size, &list, |r| bookmarks::CreatedAtCursor::from(r))
        }
    };
    // Deleted posts disappear, and so do posts the user may no longer see (the author made
    // one private, or blocked them since): the page keeps only bookmarks of posts shown.
    let post_ids: Vec<Uuid> = rows.iter().map(|r| r.post_id).collect();
    let live = posts::get_many(&logic.db, &post_ids).await?;
    let audiences = logic.audiences(Viewer::User(user_id), live.iter().map(|r| r.author_id)).await?;
    let live: Vec<posts::Row> = live.into_iter().filter(|r| audiences.sees(r)).collect();
    let protos = logic.posts_to_proto(&live).await?;
    let bookmarks = rows
        .iter()
        .filter_map(|r| {
            let id = r.post_id.to_string();
            protos.iter().find(|p| p.id == id).map(|p| bookmark(p.clone(), r.collection_id, r.created_at))
        })
        .collect();
    Ok(pb::ListBookmarksResponse { bookmarks, next_page_token })
}

fn bookmark(post: pb::Post, collection_id: Option<Uuid>, created_at: DateTime<Utc>) -> pb::Bookmark {
    pb::Bookmark {
        post: Some(post),
        collection_id: collection_id.map(|id| id.to_string()).unwrap_or_default(),
        created_at: Some(timestamp(created_at)),
    }
}
