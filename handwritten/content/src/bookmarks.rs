//! bookmarks: not implemented yet.

use nova_content::{LogicError, pb};

use crate::ContentLogic;

pub async fn create_bookmark_collection(_logic: &ContentLogic, _request: pb::CreateBookmarkCollectionRequest) -> Result<pb::CreateBookmarkCollectionResponse, LogicError> {
    Err(LogicError::Unimplemented("CreateBookmarkCollection"))
}

pub async fn list_bookmark_collections(_logic: &ContentLogic, _request: pb::ListBookmarkCollectionsRequest) -> Result<pb::ListBookmarkCollectionsResponse, LogicError> {
    Err(LogicError::Unimplemented("ListBookmarkCollections"))
}

pub async fn delete_bookmark_collection(_logic: &ContentLogic, _request: pb::DeleteBookmarkCollectionRequest) -> Result<pb::DeleteBookmarkCollectionResponse, LogicError> {
    Err(LogicError::Unimplemented("DeleteBookmarkCollection"))
}

pub async fn bookmark_post(_logic: &ContentLogic, _request: pb::BookmarkPostRequest) -> Result<pb::BookmarkPostResponse, LogicError> {
    Err(LogicError::Unimplemented("BookmarkPost"))
}

pub async fn remove_bookmark(_logic: &ContentLogic, _request: pb::RemoveBookmarkRequest) -> Result<pb::RemoveBookmarkResponse, LogicError> {
    Err(LogicError::Unimplemented("RemoveBookmark"))
}

pub async fn list_bookmarks(_logic: &ContentLogic, _request: pb::ListBookmarksRequest) -> Result<pb::ListBookmarksResponse, LogicError> {
    Err(LogicError::Unimplemented("ListBookmarks"))
}
