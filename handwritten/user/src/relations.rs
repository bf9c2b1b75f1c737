//! Follow, Unfollow, Block, Unblock and CheckUserRelationship.
//!
//! Every change between two users runs in one transaction that first locks both profiles
//! (in id order, so concurrent changes of one pair queue instead of deadlocking). Under that
//! lock "is there a block?" and "insert the follow" cannot interleave with a Block of the same
//! pair, so a follow never survives a block. Counters move by the generated atomic
//! increments, and only when this call really inserted or deleted the follow, which makes
//! every RPC here idempotent: a retry finds the row (or its absence) and changes nothing.
//! Each change publishes `profiles.relations_changed` in its transaction (about the acting
//! user, naming the other), so the services that cache answers per viewer (content, feed,
//! streaming) drop both users' answers. After the commit both users are invalidated here too:
//! their profiles (counts), follower and following lists and relationship answers all changed.

use ::nova_runtime::codegen::sqlx::{PgConnection, Postgres, Transaction};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, timestamp};
use nova_user::repo::{blocks, follows, profiles};
use nova_user::{LogicError, pb};

use crate::{UserLogic, sql};

/// Two distinct users from a request's fields, e.g. (`follower_id`, `followee_id`).
fn pair(first_field: &str, first: &str, second_field: &str, second: &str) -> Result<(Uuid, Uuid), LogicError> {
    let a = parse_uuid(first_field, first)?;
    let b = parse_uuid(second_field, second)?;
    if a == b {
        return Err(LogicError::invalid_argument(format!("{second_field} must differ from {first_field}")));
    }
    Ok((a, b))
}

impl UserLogic {
    pub(crate) async fn follow_user(&self, request: pb::FollowRequest) -> Result<pb::FollowResponse, LogicError> {
        let (follower, followee) = pair("follower_id", &request.follower_id, "followee_id", &request.followee_id)?;
        self.profile(follower, "follower_id").await?;
        self.profile(followee, "followee_id").await?;
        let mut tx = self.begin().await?;
        lock_pair(&mut tx, follower, "follower_id", followee, "followee_id").await?;
        if blocks::get(&mut *tx, follower, followee).await?.is_some() {
            return Err(LogicError::FailedPrecondition(format!("follower_id {follower} blocks followee_id {followee}")));
        }
        if blocks::get(&mut *tx, followee, follower).await?.is_some() {
            return Err(LogicError::FailedPrecondition(format!("followee_id {followee} blocks follower_id {follower}")));
        }
        if sql::insert_follow(&mut tx, follower, followee).await? {
            profiles::increment_following_count(&mut *tx, follower, 1).await?;
            profiles::increment_follower_count(&mut *tx, followee, 1).await?;
        }
        let edge =
            follows::get(&mut *tx, follower, followee).await?.ok_or_else(|| LogicError::internal("reading the follow just written", "no row"))?;
        self.commit(tx, [follower, followee]).await?;
        Ok(pb::FollowResponse { follow: Some(edge_to_proto(&edge)) })
    }

    pub(crate) async fn unfollow_user(&self, request: pb::UnfollowRequest) -> Result<pb::UnfollowResponse, LogicError> {
        let (follower, followee) = pair("follower_id", &request.follower_id, "followee_id", &request.followee_id)?;
        let mut tx = self.begin().await?;
        // A follow exists only between materialised profiles; without them there is nothing
        // to remove (and nothing to lock).
        sql::lock_profiles(&mut tx, &ordered(follower, followee)).await?;
        remove_follow(&mut tx, follower, followee).await?;
        self.commit(tx, [follower, followee]).await?;
        Ok(pb::UnfollowResponse {})
    }

    pub(crate) async fn block_user(&self, request: pb::BlockRequest) -> Result<pb::BlockResponse, LogicError> {
        let (blocker, blocked) = pair("blocker_id", &request.blocker_id, "blocked_id", &request.blocked_id)?;
        self.profile(blocker, "blocker_id").await?;
        self.profile(blocked, "blocked_id").await?;
        let mut tx = self.begin().await?;
        lock_pair(&mut tx, blocker, "blocker_id", blocked, "blocked_id").await?;
        sql::insert_block(&mut tx, blocker, blocked).await?;
        remove_follow(&mut tx, blocker, blocked).await?;
        remove_follow(&mut tx, blocked, blocker).await?;
        let block = blocks::get(&mut *tx, blocker, blocked).await?.ok_or_else(|| LogicError::internal("reading the block just written", "no row"))?;
        self.commit(tx, [blocker, blocked]).await?;
        Ok(pb::BlockResponse { blocked_at: Some(timestamp(block.created_at)) })
    }

    pub(crate) async fn unblock_user(&self, request: pb::UnblockRequest) -> Result<pb::UnblockResponse, LogicError> {
        let (blocker, blocked) = pair("blocker_id", &request.blocker_id, "blocked_id", &request.blocked_id)?;
        let mut tx = self.begin().await?;
        sql::lock_profiles(&mut tx, &ordered(blocker, blocked)).await?;
        blocks::delete(&mut *tx, blocker, blocked).await?;
        self.commit(tx, [blocker, blocked]).await?;
        Ok(pb::UnblockResponse {})
    }

    pub(crate) async fn relationship(&self, request: pb::CheckUserRelationshipRequest) -> Result<pb::CheckUserRelationshipResponse, LogicError> {
        let user = parse_uuid("user_id", &request.user_id)?;
        let other = parse_uuid("other_user_id", &request.other_user_id)?;
        if user == other {
            // One's own content: no follow or block relates a user to themselves.
            return Ok(pb::CheckUserRelationshipResponse::default());
        }
        let mut conn = self.db.acquire().await.map_err(|e| LogicError::internal("acquiring a connection", e))?;
        Ok(pb::CheckUserRelationshipResponse {
            following: follows::get(&mut *conn, user, other).await?.is_some(),
            followed_by: follows::get(&mut *conn, other, user).await?.is_some(),
            blocking: blocks::get(&mut *conn, user, other).await?.is_some(),
            blocked_by: blocks::get(&mut *conn, other, user).await?.is_some(),
        })
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, LogicError> {
        self.db.begin().await.map_err(|e| LogicError::internal("starting a transaction", e))
    }

    /// Publishes `profiles.relations_changed` (the acting user first), commits, then
    /// invalidates the cached answers about both users.
    async fn commit(&self, mut tx: Transaction<'static, Postgres>, users: [Uuid; 2]) -> Result<(), LogicError> {
        let [actor, other] = users;
        let message = pb::RelationChanged { other_user_id: other.to_string() };
        nova_user::events::publish::profiles_relations_changed(&mut tx, &actor, &message, Some(actor)).await?;
        tx.commit().await.map_err(|e| LogicError::internal("committing a relationship change", e))?;
        self.invalidator.entities(users.iter().map(Uuid::to_string)).await;
        Ok(())
    }
}

/// The two ids in the order their rows are locked.
fn ordered(a: Uuid, b: Uuid) -> [Uuid; 2] {
    if a < b { [a, b] } else { [b, a] }
}

/// Locks both live profiles; NOT_FOUND naming the field of one deleted since it was read.
async fn lock_pair(tx: &mut PgConnection, a: Uuid, a_field: &str, b: Uuid, b_field: &str) -> Result<(), LogicError> {
    let locked = sql::lock_profiles(tx, &ordered(a, b)).await?;
    for (id, field) in [(a, a_field), (b, b_field)] {
        if !locked.contains(&id) {
            return Err(LogicError::not_found(format!("{field}: no user {id}")));
        }
    }
    Ok(())
}

/// Deletes the follow if it exists, and then only, moves both counters back.
async fn remove_follow(tx: &mut PgConnection, follower: Uuid, followee: Uuid) -> Result<(), LogicError> {
    if follows::delete(&mut *tx, follower, followee).await? {
        profiles::increment_following_count(&mut *tx, follower, -1).await?;
        profiles::increment_follower_count(&mut *tx, followee, -1).await?;
    }
    Ok(())
}

/// The proto of a stored follow.
pub fn edge_to_proto(row: &follows::Row) -> pb::FollowEdge {
    pb::FollowEdge { follower_id: row.follower_id.to_string(), followee_id: row.followee_id.to_string(), created_at: Some(timestamp(row.created_at)) }
}
