//! Keeping search's index of posts up to date: a transactional outbox.
//!
//! Every write that changes what search should hold of a post (create, update, delete) adds a
//! `post_search_outbox` row naming the post **in the transaction of the write**, so a
//! committed change is never forgotten, whatever fails next. After the commit, the RPC hands
//! the post to [`SearchPush::push_post_soon`], which pushes in the background (the write never
//! waits for search, nor fails when search is down): it reads the post's outbox rows, then the
//! post's *current* state, sends it to search (IndexDocuments for a live public post,
//! RemoveDocuments for a deleted or no longer public one), and deletes the rows it read once
//! search acknowledged. A change committed meanwhile has its own row, read on a later pass.
//! Failures are logged at warn and the rows stay; [`SearchPush::reconcile_once`], run every
//! `NOVA_CONTENT_SEARCH_RECONCILE` by `start_with`, pushes whatever is left.
//!
//! **Versions.** Search applies a change only when its version is newer than the last one it
//! applied, and refuses versions more than a few minutes ahead of its own clock (so that no
//! push can freeze a document). A pushed version is therefore *the time of the state*: the
//! database's clock in microseconds since the Unix epoch, read while the post's row is locked
//! `FOR SHARE` (in one short transaction, see [`SQL_LOCK_FOR_PUSH`]). No write of the row can
//! commit while the lock is held, so a state read later carries a later time than any state
//! read before it, whichever replica pushes and in whatever order the pushes arrive; pushing
//! the same state twice, or an older one late, changes nothing in search. Rows locked by a
//! writer at that moment are skipped (`SKIP LOCKED`: no push waits for a write, nor deadlocks
//! with one) and their outbox rows stay for the writer's own push or the next reconcile. The
//! order holds as long as the database's clock does not step back.

use std::collections::BTreeSet;
use std::time::Duration;

use nova_runtime::periodic::{self, Periodic};

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::{self, PgPool};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::timestamp;
use ::nova_runtime::repo::RepoError;
use nova_content::LogicError;
use nova_content::repo::posts::Visibility;
use nova_search_api::SearchClient;
use nova_search_api::pb as search_pb;

/// Outbox rows (oldest first) a reconcile pass reads at once; search takes 100 documents a call.
const BATCH: i64 = 100;

const SQL_OUTBOX_OF_POST: &str = "SELECT id, post_id FROM post_search_outbox WHERE post_id = $1";
const SQL_OUTBOX_OLDEST: &str = "SELECT id, post_id FROM post_search_outbox ORDER BY id LIMIT $1";
const SQL_OUTBOX_DELETE: &str = "DELETE FROM post_search_outbox WHERE id = ANY($1)";
/// The posts to push, locked until the transaction reading them ends; those a writer holds are
/// skipped. Deleted posts included (the generated `get` skips them): their removal is pushed too.
const SQL_LOCK_FOR_PUSH: &str = "SELECT id FROM posts WHERE id = ANY($1) ORDER BY id FOR SHARE SKIP LOCKED";
/// The locked posts' current state, with the database's clock (microseconds since the epoch)
/// as the state's version.
const SQL_POSTS_FOR_SEARCH: &str = "SELECT id, author_id, body, visibility, like_count + comment_count + share_count, \
     created_at, deleted_at, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM posts WHERE id = ANY($1)";

type PostState = (Uuid, Uuid, String, Visibility, i64, DateTime<Utc>, Option<DateTime<Utc>>, i64);

/// Pushes post changes to search (see the module doc). Clones share the client.
#[derive(Debug, Clone)]
pub struct SearchPush {
    db: PgPool,
    search: SearchClient,
}

impl SearchPush {
    pub fn new(db: PgPool, search: SearchClient) -> Self {
        SearchPush { db, search }
    }

    /// Pushes `post`'s pending change in the background, after the write committed.
    pub fn push_post_soon(&self, post: Uuid) {
        let push = self.clone();
        tokio::spawn(async move {
            if let Err(error) = push.push_rows(sqlx::query_as(SQL_OUTBOX_OF_POST).bind(post)).await {
                tracing::warn!(%post, %error, "pushing a post to search failed; the reconcile will retry");
            }
        });
    }

    /// Pushes the oldest pending changes until none is left; returns how many outbox rows
    /// were acknowledged. Stops at the first failure (logged by the caller).
    pub async fn reconcile_once(&self) -> Result<usize, LogicError> {
        let mut pushed = 0;
        loop {
            let done = self.push_rows(sqlx::query_as(SQL_OUTBOX_OLDEST).bind(BATCH)).await?;
            pushed += done;
            if done < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                return Ok(pushed);
            }
        }
    }

    /// Reads the outbox rows `rows` selects, pushes the current state of their posts, and
    /// deletes the rows of the posts pushed once search acknowledged; returns how many rows it
    /// deleted (the rows of posts a writer held stay, see the module doc).
    async fn push_rows<'q>(
        &self,
        rows: sqlx::query::QueryAs<'q, sqlx::Postgres, (i64, Uuid), sqlx::postgres::PgArguments>,
    ) -> Result<usize, LogicError> {
        let rows: Vec<(i64, Uuid)> = rows.fetch_all(&self.db).await.map_err(|e| RepoError::from_sqlx("post_search_outbox", e))?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Rows first, then the posts: a change committed after this read has a row of its own.
        let ids: Vec<Uuid> = rows.iter().map(|(_, post)| *post).collect::<BTreeSet<_>>().into_iter().collect();
        let states = self.current_states(&ids).await?;
        let pushed: BTreeSet<Uuid> = states.iter().map(|state| state.0).collect();
        let mut documents = Vec::new();
        let mut removed = Vec::new();
        for (id, author, body, visibility, engagement, created_at, deleted_at, version) in states {
            if deleted_at.is_some() || visibility != Visibility::Public {
                // Search shows posts to anyone: only public posts stay in its index.
                removed.push(search_pb::RemovedDocument { kind: search_pb::DocumentKind::Post as i32, id: id.to_string(), version });
            } else {
                documents.push(search_pb::IndexedDocument {
                    kind: search_pb::DocumentKind::Post as i32,
                    id: id.to_string(),
                    author_id: author.to_string(),
                    body,
                    popularity: engagement as f64,
                    created_at: Some(timestamp(created_at)),
                    version,
                    ..Default::default()
                });
            }
        }
        if !documents.is_empty() {
            let request = search_pb::IndexDocumentsRequest { documents };
            self.search.index_documents(request).await.map_err(LogicError::from_upstream)?;
        }
        if !removed.is_empty() {
            let request = search_pb::RemoveDocumentsRequest { documents: removed };
            self.search.remove_documents(request).await.map_err(LogicError::from_upstream)?;
        }
        let outbox: Vec<i64> = rows.iter().filter(|(_, post)| pushed.contains(post)).map(|(id, _)| *id).collect();
        sqlx::query(SQL_OUTBOX_DELETE).bind(&outbox).execute(&self.db).await.map_err(|e| RepoError::from_sqlx("post_search_outbox", e))?;
        Ok(outbox.len())
    }

    /// The current state of those of `ids` no writer holds, each with its version (see the
    /// module doc), read under a share lock released before anything is sent.
    async fn current_states(&self, ids: &[Uuid]) -> Result<Vec<PostState>, LogicError> {
        let posts_error = |e| LogicError::from(RepoError::from_sqlx("posts", e));
        let mut tx = self.db.begin().await.map_err(posts_error)?;
        let locked: Vec<Uuid> = sqlx::query_scalar(SQL_LOCK_FOR_PUSH).bind(ids).fetch_all(&mut *tx).await.map_err(posts_error)?;
        let states = sqlx::query_as(SQL_POSTS_FOR_SEARCH).bind(&locked).fetch_all(&mut *tx).await.map_err(posts_error)?;
        tx.commit().await.map_err(posts_error)?;
        Ok(states)
    }

    /// Runs [`Self::reconcile_once`] every `every` (first after one interval) while the
    /// returned guard lives; `None` when `every` is zero (reconciling turned off).
    pub fn reconcile_periodically(&self, every: Duration) -> Option<Periodic> {
        let push = self.clone();
        periodic::every(every, move || {
            let push = push.clone();
            async move {
                match push.reconcile_once().await {
                    Ok(0) => {}
                    Ok(pushed) => tracing::info!(pushed, "reconciled post changes with search"),
                    Err(error) => tracing::warn!(%error, "reconciling post changes with search failed; retrying at the next interval"),
                }
            }
        })
    }
}
