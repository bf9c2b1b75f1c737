//! GetUserFollowers and GetUserFollowing: keyset pages over the follows indexes
//! (`followee_id, created_at desc` and `follower_id, created_at desc`), most recent first.
//! Blocked users never appear: a block deletes the follows in both directions. The lists of a
//! private profile are PERMISSION_DENIED to whom does not see it in full (see `audience`).

use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_user::repo::follows;
use nova_user::{LogicError, pb};

use crate::UserLogic;
use crate::audience::Viewer;
use crate::relations::edge_to_proto;

/// Page size when the request asks for none, and the most a page holds (in the proto).
const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// Which side of the follows the list is about.
#[derive(Clone, Copy)]
enum Side {
    Followers,
    Following,
}

impl UserLogic {
    pub(crate) async fn followers(&self, viewer: Viewer, request: pb::GetUserFollowersRequest) -> Result<pb::GetUserFollowersResponse, LogicError> {
        let (edges, next_page_token) = self.follow_page(viewer, Side::Followers, &request.user_id, request.page_size, &request.page_token).await?;
        Ok(pb::GetUserFollowersResponse { followers: edges, next_page_token })
    }

    pub(crate) async fn following(&self, viewer: Viewer, request: pb::GetUserFollowingRequest) -> Result<pb::GetUserFollowingResponse, LogicError> {
        let (edges, next_page_token) = self.follow_page(viewer, Side::Following, &request.user_id, request.page_size, &request.page_token).await?;
        Ok(pb::GetUserFollowingResponse { following: edges, next_page_token })
    }

    async fn follow_page(
        &self,
        viewer: Viewer,
        side: Side,
        user_id: &str,
        requested: i32,
        token: &str,
    ) -> Result<(Vec<pb::FollowEdge>, String), LogicError> {
        let user = parse_uuid("user_id", user_id)?;
        let size = page_size(requested, DEFAULT_PAGE, MAX_PAGE)?;
        let list = match side {
            Side::Followers => format!("GetUserFollowers/{user}"),
            Side::Following => format!("GetUserFollowing/{user}"),
        };
        // The token holds the generated cursor of the last edge: its time and both ids.
        let after: Option<follows::CreatedAtCursor> = decode_token(&list, token)?;
        let profile = self.profile(user, "user_id").await?;
        let what = match side {
            Side::Followers => "followers",
            Side::Following => "follows",
        };
        self.require_full_view(viewer, &profile, what).await?;
        let limit = i64::try_from(size + 1).unwrap_or(i64::MAX);
        let rows = match side {
            Side::Followers => follows::list_by_followee_id(&self.db, user, after.as_ref(), limit).await?,
            Side::Following => follows::list_by_follower_id(&self.db, user, after.as_ref(), limit).await?,
        };
        let (rows, next) = split_page(rows, size, &list, |row| follows::CreatedAtCursor::from(row));
        Ok((rows.iter().map(edge_to_proto).collect(), next))
    }
}
