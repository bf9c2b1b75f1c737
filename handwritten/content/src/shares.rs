//! shares: not implemented yet.

use nova_content::{LogicError, pb};

use crate::ContentLogic;

pub async fn share_post(_logic: &ContentLogic, _request: pb::SharePostRequest) -> Result<pb::SharePostResponse, LogicError> {
    Err(LogicError::Unimplemented("SharePost"))
}

pub async fn list_post_shares(_logic: &ContentLogic, _request: pb::ListPostSharesRequest) -> Result<pb::ListPostSharesResponse, LogicError> {
    Err(LogicError::Unimplemented("ListPostShares"))
}
