//! What content tells other services about its posts: the `posts.changed` event (see
//! `nova_content::events`), written in the transaction of every create, edit and deletion of a
//! post, so a committed change is always told and a rolled-back one never. Search keeps its
//! index from it.
//!
//! The event carries what *anyone* may find of the post: a live public post's text, author,
//! engagement and creation time; for a deleted, FOLLOWERS or PRIVATE post only its author and
//! `searchable = false`, so nothing only some users may see ever travels on the bus. The
//! envelope's time is content's database clock read under the post's event lock, which search
//! uses as the state's version.

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::timestamp;
use ::nova_runtime::events::Tx;
use nova_content::events::publish;
use nova_content::repo::posts::{self, Visibility};
use nova_content::{LogicError, pb};

/// What `posts.changed` says of `row`, as it stands in this transaction.
pub fn post_changed(row: &posts::Row) -> pb::PostChanged {
    let searchable = row.deleted_at.is_none() && row.visibility == Visibility::Public;
    if !searchable {
        return pb::PostChanged { searchable, author_id: row.author_id.to_string(), ..Default::default() };
    }
    pb::PostChanged {
        searchable,
        author_id: row.author_id.to_string(),
        body: row.body.clone(),
        engagement: row.like_count + row.comment_count + row.share_count,
        created_at: Some(timestamp(row.created_at)),
    }
}

/// Writes `posts.changed` for `row` in `tx` (before its commit); `actor` is the user whose call
/// made the change.
pub async fn publish_post(tx: &mut Tx, row: &posts::Row, actor: Option<Uuid>) -> Result<(), LogicError> {
    publish::posts_changed(tx, &row.id, &post_changed(row), actor).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ::nova_runtime::codegen::chrono::Utc;
    use ::nova_runtime::codegen::uuid::Uuid;
    use nova_content::repo::posts::{Row, Visibility};

    use super::post_changed;

    fn row(visibility: Visibility, deleted: bool) -> Row {
        let now = Utc::now();
        Row {
            id: Uuid::new_v4(),
            author_id: Uuid::new_v4(),
            body: "only for some eyes".into(),
            visibility,
            like_count: 1,
            comment_count: 2,
            share_count: 3,
            created_at: now,
            updated_at: now,
            deleted_at: deleted.then_some(now),
            version: 1,
        }
    }

    #[test]
    fn only_a_live_public_post_travels_with_its_text() {
        let public = post_changed(&row(Visibility::Public, false));
        assert!(public.searchable);
        assert_eq!((public.body.as_str(), public.engagement), ("only for some eyes", 6));
        for (visibility, deleted) in [(Visibility::Followers, false), (Visibility::Private, false), (Visibility::Public, true)] {
            let hidden = post_changed(&row(visibility, deleted));
            assert!(!hidden.searchable, "{visibility:?} deleted={deleted}");
            assert_eq!((hidden.body.as_str(), hidden.engagement, hidden.created_at), ("", 0, None), "{visibility:?} deleted={deleted}");
        }
    }
}
