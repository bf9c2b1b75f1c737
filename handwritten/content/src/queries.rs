//! The few reads the generated repositories do not offer: batch and filtered keyset pages
//! (several authors at once, visibilities per group of authors, expiry filters, top-level
//! comments only), media of many posts in one statement, and the state of soft-deleted rows
//! (the generated `get` skips them, but an idempotent delete must tell "already deleted" from
//! "never existed").
//! Each runs on an index of the spec; each is exercised by tests/services/content_rpcs.rs.

use std::collections::HashMap;

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::{self, PgExecutor};
use ::nova_runtime::codegen::uuid::Uuid;
use nova_content::LogicError;
use nova_content::repo::posts::Visibility;
use nova_content::repo::{bookmark_collections, comments, likes, posts, stories, story_views};

// The column lists of the rows decoded below (through the generated `FromRow`) are the
// generated repositories' `columns!()`, so they cannot drift from what `Row` reads.
const SQL_DELETE_COMMENT_THREAD: &str = "WITH RECURSIVE thread AS (\
    SELECT id FROM comments WHERE id = $1 AND deleted_at IS NULL \
    UNION ALL SELECT c.id FROM comments c JOIN thread t ON c.parent_comment_id = t.id WHERE c.deleted_at IS NULL) \
    UPDATE comments SET deleted_at = now() WHERE id IN (SELECT id FROM thread) AND deleted_at IS NULL";
const SQL_MEDIA_OF: &str = "SELECT post_id, media_id FROM post_media WHERE post_id = ANY($1) ORDER BY post_id, position";
const SQL_POSTS_PAGE: &str = concat!(
    "SELECT ",
    posts::columns!(),
    " FROM posts WHERE author_id = ANY($1) AND visibility = ANY($2) AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $3"
);
const SQL_POSTS_PAGE_AFTER: &str = concat!(
    "SELECT ",
    posts::columns!(),
    " FROM posts WHERE author_id = ANY($1) AND visibility = ANY($2) AND deleted_at IS NULL AND (created_at, id) < ($3, $4) \
    ORDER BY created_at DESC, id DESC LIMIT $5"
);
const SQL_FEED_PAGE: &str = concat!(
    "SELECT ",
    posts::columns!(),
    " FROM posts WHERE deleted_at IS NULL AND ((author_id = ANY($1) AND visibility = ANY($2)) OR (author_id = ANY($3) AND visibility = ANY($4))) \
    ORDER BY created_at DESC, id DESC LIMIT $5"
);
const SQL_FEED_PAGE_AFTER: &str = concat!(
    "SELECT ",
    posts::columns!(),
    " FROM posts WHERE deleted_at IS NULL AND ((author_id = ANY($1) AND visibility = ANY($2)) OR (author_id = ANY($3) AND visibility = ANY($4))) \
    AND (created_at, id) < ($5, $6) ORDER BY created_at DESC, id DESC LIMIT $7"
);
const SQL_TOP_LEVEL_COMMENTS: &str = concat!(
    "SELECT ",
    comments::columns!(),
    " FROM comments WHERE post_id = $1 AND parent_comment_id IS NULL AND deleted_at IS NULL ORDER BY created_at, id LIMIT $2"
);
const SQL_TOP_LEVEL_COMMENTS_AFTER: &str = concat!(
    "SELECT ",
    comments::columns!(),
    " FROM comments WHERE post_id = $1 AND parent_comment_id IS NULL AND deleted_at IS NULL AND (created_at, id) > ($2, $3) \
    ORDER BY created_at, id LIMIT $4"
);
const SQL_COLLECTIONS: &str =
    concat!("SELECT ", bookmark_collections::columns!(), " FROM bookmark_collections WHERE user_id = $1 ORDER BY name LIMIT $2");
const SQL_COLLECTIONS_AFTER: &str =
    concat!("SELECT ", bookmark_collections::columns!(), " FROM bookmark_collections WHERE user_id = $1 AND name > $2 ORDER BY name LIMIT $3");
const SQL_ACTIVE_STORIES: &str = concat!(
    "SELECT ",
    stories::columns!(),
    " FROM stories WHERE author_id = $1 AND expires_at > $2 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $3"
);
const SQL_ACTIVE_STORIES_AFTER: &str = concat!(
    "SELECT ",
    stories::columns!(),
    " FROM stories WHERE author_id = $1 AND expires_at > $2 AND deleted_at IS NULL AND (created_at, id) < ($3, $4) \
    ORDER BY created_at DESC, id DESC LIMIT $5"
);
const SQL_STORY_VIEWERS: &str = concat!("SELECT ", story_views::columns!(), " FROM story_views WHERE story_id = $1 ORDER BY viewer_id LIMIT $2");
const SQL_STORY_VIEWERS_AFTER: &str =
    concat!("SELECT ", story_views::columns!(), " FROM story_views WHERE story_id = $1 AND viewer_id > $2 ORDER BY viewer_id LIMIT $3");

/// Records a like unless the user likes the post already; `true` when a row was inserted.
/// (The generated `insert` would fail on the repeat, aborting the transaction; a savepoint
/// around it costs two more round trips while the post's row lock is contended.)
pub async fn insert_like<'e>(db: impl PgExecutor<'e>, user_id: Uuid, post_id: Uuid) -> Result<bool, LogicError> {
    let new = likes::New { user_id, post_id, created_at: None };
    Ok(likes::insert_if_absent(db, &new).await?.is_some())
}

/// Soft-deletes a live comment and every live reply below it (index
/// `comments (parent_comment_id, created_at)`); how many comments that deleted.
pub async fn delete_comment_thread<'e>(db: impl PgExecutor<'e>, id: Uuid) -> Result<i64, LogicError> {
    let deleted = sqlx::query(SQL_DELETE_COMMENT_THREAD).bind(id).execute(db).await?.rows_affected();
    Ok(i64::try_from(deleted).unwrap_or(i64::MAX))
}

/// Media ids of each of `post_ids`, in display order (one statement on the primary key).
pub async fn media_of<'e>(db: impl PgExecutor<'e>, post_ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, LogicError> {
    let mut media: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(media);
    }
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(SQL_MEDIA_OF).bind(post_ids).fetch_all(db).await?;
    for (post_id, media_id) in rows {
        media.entry(post_id).or_default().push(media_id);
    }
    Ok(media)
}

/// Live posts of any of `authors` with one of `visibilities`, newest first, after `after`
/// (index `posts (author_id, created_at desc)`).
pub async fn posts_page<'e>(
    db: impl PgExecutor<'e>,
    authors: &[Uuid],
    visibilities: &[Visibility],
    after: Option<&posts::CreatedAtCursor>,
    limit: i64,
) -> Result<Vec<posts::Row>, LogicError> {
    let numbers: Vec<i16> = visibilities.iter().map(|v| v.number()).collect();
    let rows: Vec<posts::Row> = match after {
        None => sqlx::query_as(SQL_POSTS_PAGE).bind(authors).bind(&numbers).bind(limit).fetch_all(db).await?,
        Some(after) => {
            sqlx::query_as(SQL_POSTS_PAGE_AFTER).bind(authors).bind(&numbers).bind(after.created_at).bind(after.id).bind(limit).fetch_all(db).await?
        }
    };
    Ok(rows)
}

/// Authors whose posts of these visibilities a feed page reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorGroup {
    pub authors: Vec<Uuid>,
    pub visibilities: Vec<Visibility>,
}

/// Live posts of the authors of either group with one of that group's visibilities, newest
/// first, after `after` (index `posts (author_id, created_at desc)`).
pub async fn feed_page<'e>(
    db: impl PgExecutor<'e>,
    groups: &[AuthorGroup; 2],
    after: Option<&posts::CreatedAtCursor>,
    limit: i64,
) -> Result<Vec<posts::Row>, LogicError> {
    let numbers = |group: &AuthorGroup| group.visibilities.iter().map(|v| v.number()).collect::<Vec<i16>>();
    let [first, second] = groups;
    let (first_visibilities, second_visibilities) = (numbers(first), numbers(second));
    let rows: Vec<posts::Row> = match after {
        None => {
            sqlx::query_as(SQL_FEED_PAGE)
                .bind(&first.authors)
                .bind(&first_visibilities)
                .bind(&second.authors)
                .bind(&second_visibilities)
                .bind(limit)
                .fetch_all(db)
                .await?
        }
        Some(after) => {
            sqlx::query_as(SQL_FEED_PAGE_AFTER)
                .bind(&first.authors)
                .bind(&first_visibilities)
                .bind(&second.authors)
                .bind(&second_visibilities)
                .bind(after.created_at)
                .bind(after.id)
                .bind(limit)
                .fetch_all(db)
                .await?
        }
    };
    Ok(rows)
}

/// Live top-level comments of a post, oldest first, after `after` (index
/// `comments (post_id, created_at)`).
pub async fn top_level_comments<'e>(
    db: impl PgExecutor<'e>,
    post_id: Uuid,
    after: Option<&comments::CreatedAtCursor>,
    limit: i64,
) -> Result<Vec<comments::Row>, LogicError> {
    let rows: Vec<comments::Row> = match after {
        None => sqlx::query_as(SQL_TOP_LEVEL_COMMENTS).bind(post_id).bind(limit).fetch_all(db).await?,
        Some(after) => {
            sqlx::query_as(SQL_TOP_LEVEL_COMMENTS_AFTER).bind(post_id).bind(after.created_at).bind(after.id).bind(limit).fetch_all(db).await?
        }
    };
    Ok(rows)
}

/// A user's bookmark collections by name, after `after` (unique index `(user_id, name)`).
pub async fn collections_page<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<bookmark_collections::Row>, LogicError> {
    let rows: Vec<bookmark_collections::Row> = match after {
        None => sqlx::query_as(SQL_COLLECTIONS).bind(user_id).bind(limit).fetch_all(db).await?,
        Some(name) => sqlx::query_as(SQL_COLLECTIONS_AFTER).bind(user_id).bind(name).bind(limit).fetch_all(db).await?,
    };
    Ok(rows)
}

/// An author's live stories that expire after `now`, newest first, after `after` (index
/// `stories (author_id, created_at desc)`).
pub async fn active_stories<'e>(
    db: impl PgExecutor<'e>,
    author_id: Uuid,
    now: DateTime<Utc>,
    after: Option<&stories::CreatedAtCursor>,
    limit: i64,
) -> Result<Vec<stories::Row>, LogicError> {
    let rows: Vec<stories::Row> = match after {
        None => sqlx::query_as(SQL_ACTIVE_STORIES).bind(author_id).bind(now).bind(limit).fetch_all(db).await?,
        Some(after) => {
            sqlx::query_as(SQL_ACTIVE_STORIES_AFTER).bind(author_id).bind(now).bind(after.created_at).bind(after.id).bind(limit).fetch_all(db).await?
        }
    };
    Ok(rows)
}

/// Viewers of a story by viewer id, after `after` (primary key `(story_id, viewer_id)`).
pub async fn story_viewers<'e>(
    db: impl PgExecutor<'e>,
    story_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<story_views::Row>, LogicError> {
    let rows: Vec<story_views::Row> = match after {
        None => sqlx::query_as(SQL_STORY_VIEWERS).bind(story_id).bind(limit).fetch_all(db).await?,
        Some(viewer) => sqlx::query_as(SQL_STORY_VIEWERS_AFTER).bind(story_id).bind(viewer).bind(limit).fetch_all(db).await?,
    };
    Ok(rows)
}
