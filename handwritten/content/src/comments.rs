//! comments: not implemented yet.

use nova_content::{LogicError, pb};

use crate::ContentLogic;

pub async fn create_comment(_logic: &ContentLogic, _request: pb::CreateCommentRequest) -> Result<pb::CreateCommentResponse, LogicError> {
    Err(LogicError::Unimplemented("CreateComment"))
}

pub async fn list_comments(_logic: &ContentLogic, _request: pb::ListCommentsRequest) -> Result<pb::ListCommentsResponse, LogicError> {
    Err(LogicError::Unimplemented("ListComments"))
}

pub async fn list_comment_replies(_logic: &ContentLogic, _request: pb::ListCommentRepliesRequest) -> Result<pb::ListCommentRepliesResponse, LogicError> {
    Err(LogicError::Unimplemented("ListCommentReplies"))
}

pub async fn delete_comment(_logic: &ContentLogic, _request: pb::DeleteCommentRequest) -> Result<pb::DeleteCommentResponse, LogicError> {
    Err(LogicError::Unimplemented("DeleteComment"))
}
