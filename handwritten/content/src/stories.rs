//! stories: not implemented yet.

use nova_content::{LogicError, pb};

use crate::ContentLogic;

pub async fn create_story(_logic: &ContentLogic, _request: pb::CreateStoryRequest) -> Result<pb::CreateStoryResponse, LogicError> {
    Err(LogicError::Unimplemented("CreateStory"))
}

pub async fn get_story(_logic: &ContentLogic, _request: pb::GetStoryRequest) -> Result<pb::GetStoryResponse, LogicError> {
    Err(LogicError::Unimplemented("GetStory"))
}

pub async fn list_active_stories(_logic: &ContentLogic, _request: pb::ListActiveStoriesRequest) -> Result<pb::ListActiveStoriesResponse, LogicError> {
    Err(LogicError::Unimplemented("ListActiveStories"))
}

pub async fn view_story(_logic: &ContentLogic, _request: pb::ViewStoryRequest) -> Result<pb::ViewStoryResponse, LogicError> {
    Err(LogicError::Unimplemented("ViewStory"))
}

pub async fn list_story_viewers(_logic: &ContentLogic, _request: pb::ListStoryViewersRequest) -> Result<pb::ListStoryViewersResponse, LogicError> {
    Err(LogicError::Unimplemented("ListStoryViewers"))
}

pub async fn delete_story(_logic: &ContentLogic, _request: pb::DeleteStoryRequest) -> Result<pb::DeleteStoryResponse, LogicError> {
    Err(LogicError::Unimplemented("DeleteStory"))
}
