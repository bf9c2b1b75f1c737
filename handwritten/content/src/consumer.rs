//! What content does when other services' events arrive (the generated
//! `nova_content::events::Consumer`). Each method runs before the generated cascade deletes or
//! clears the rows the spec's references name, in the same transaction: a deleted user's likes,
//! shares, comments and story views are still there to be uncounted from other users' posts
//! and stories.
//!
//! content caches answers per viewer (who follows or blocks whom decides what they see), so once
//! an account deletion or a follow, unfollow, block or unblock has committed, every answer
//! computed for the users concerned is dropped in every caller (their cache entries carry the
//! viewer's id, see `nova_runtime::client`).

use ::nova_runtime::RepoError;
use ::nova_runtime::codegen::sqlx;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::events::{Received, Tx};
use nova_content::LogicError;
use nova_content::events::{Consumer, user};

use crate::ContentLogic;

/// The counters the deleted user's rows are part of, moved before the cascade deletes the rows
/// (`$1` the user): posts lose the user's likes and shares; posts lose the live comments the
/// cascade removes (the user's, and the replies under them, which go with their parent);
/// stories lose the user's views. The user's own posts and stories go too; moving their counts
/// first is harmless.
const SQL_UNCOUNT: [(&str, &str); 4] = [
    ("posts", "UPDATE posts SET like_count = like_count - 1 WHERE id IN (SELECT post_id FROM likes WHERE user_id = $1)"),
    (
        "posts",
        "UPDATE posts p SET share_count = p.share_count - s.n \
         FROM (SELECT post_id, count(*) AS n FROM shares WHERE user_id = $1 GROUP BY post_id) s WHERE p.id = s.post_id",
    ),
    (
        "posts",
        "WITH RECURSIVE gone AS (SELECT id FROM comments WHERE author_id = $1 \
         UNION SELECT c.id FROM comments c JOIN gone g ON c.parent_comment_id = g.id) \
         UPDATE posts p SET comment_count = p.comment_count - n.n \
         FROM (SELECT post_id, count(*) AS n FROM comments WHERE id IN (SELECT id FROM gone) AND deleted_at IS NULL GROUP BY post_id) n \
         WHERE p.id = n.post_id",
    ),
    ("stories", "UPDATE stories SET view_count = view_count - 1 WHERE id IN (SELECT story_id FROM story_views WHERE viewer_id = $1)"),
];

impl Consumer for ContentLogic {
    async fn on_auth_users_deleted(&self, tx: &mut Tx, _event: &Received, user: Uuid) -> Result<(), LogicError> {
        // The generated cascade then deletes the user's posts, comments, likes, shares,
        // bookmarks, stories and story views.
        for (table, statement) in SQL_UNCOUNT {
            sqlx::query(statement).bind(user).execute(&mut **tx).await.map_err(|e| RepoError::from_sqlx(table, e))?;
        }
        Ok(())
    }

    async fn on_user_profiles_relations_changed(
        &self,
        _tx: &mut Tx,
        _event: &Received,
        _user: Uuid,
        _change: user::RelationChanged,
    ) -> Result<(), LogicError> {
        // Nothing stored here changes; the cached answers go once this commits.
        Ok(())
    }

    async fn committed(&self, event: &Received) {
        let mut users = vec![event.envelope.aggregate_id.clone()];
        if event.is("user", "profiles.relations_changed") {
            users.extend(event.message::<user::RelationChanged>().map(|change| change.other_user_id));
        }
        self.invalidator.entities(users).await;
    }
}
