//! Keeping search's index of users up to date: a transactional outbox.
//!
//! Every write that changes what search holds of a user (a profile created, a profile edited)
//! adds a `profile_search_outbox` row **in the transaction (or statement) of the write**, with
//! the username when auth reported one (at creation). After the commit,
//! [`SearchPush::push_soon`] pushes in the background (the write never waits for search nor
//! fails when it is down): it reads the users' outbox rows, then their profiles' *current*
//! state, sends it to search (IndexDocuments for a live profile, RemoveDocuments for a deleted
//! one, with the profile's `version`) and deletes the rows it read once search acknowledged.
//! Failures are logged at warn and the rows stay; [`SearchPush::reconcile_once`], run every
//! `NOVA_USER_SEARCH_RECONCILE` by `start_with`, pushes whatever is left. Search applies
//! changes by version (and keeps the username it has when a change carries none), so
//! duplicates and late pushes change nothing there.

use std::collections::BTreeMap;
use std::time::Duration;

use nova_runtime::periodic::{self, Periodic};

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::{self, PgPool};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::timestamp;
use ::nova_runtime::repo::RepoError;
use nova_search_api::SearchClient;
use nova_search_api::pb as search_pb;
use nova_user::LogicError;

/// Outbox rows (oldest first) a reconcile pass reads at once; search takes 100 documents a call.
const BATCH: i64 = 100;

pub(crate) const SQL_OUTBOX_OF_USERS: &str = "SELECT id, user_id, username FROM profile_search_outbox WHERE user_id = ANY($1)";
pub(crate) const SQL_OUTBOX_OLDEST: &str = "SELECT id, user_id, username FROM profile_search_outbox ORDER BY id LIMIT $1";
pub(crate) const SQL_OUTBOX_DELETE: &str = "DELETE FROM profile_search_outbox WHERE id = ANY($1)";
/// Deleted profiles included (the generated `get` skips them): their removal is pushed too.
pub(crate) const SQL_PROFILES_FOR_SEARCH: &str =
    "SELECT user_id, display_name, bio, follower_count, created_at, deleted_at, version FROM profiles WHERE user_id = ANY($1)";

type ProfileState = (Uuid, String, String, i64, DateTime<Utc>, Option<DateTime<Utc>>, i64);

/// Pushes profile changes to search (see the module doc). Clones share the client.
#[derive(Debug, Clone)]
pub struct SearchPush {
    db: PgPool,
    search: SearchClient,
}

fn outbox_error(e: sqlx::Error) -> LogicError {
    RepoError::from_sqlx("profile_search_outbox", e).into()
}

impl SearchPush {
    pub fn new(db: PgPool, search: SearchClient) -> Self {
        SearchPush { db, search }
    }

    /// Pushes the pending changes of `users` in the background, after their write committed.
    pub fn push_soon(&self, users: Vec<Uuid>) {
        if users.is_empty() {
            return;
        }
        let push = self.clone();
        tokio::spawn(async move {
            let rows = sqlx::query_as(SQL_OUTBOX_OF_USERS).bind(&users).fetch_all(&push.db).await.map_err(outbox_error);
            if let Err(error) = async { push.push_rows(rows?).await }.await {
                tracing::warn!(users = users.len(), %error, "pushing profiles to search failed; the reconcile will retry");
            }
        });
    }

    /// Pushes the oldest pending changes until none is left; returns how many outbox rows
    /// were acknowledged. Stops at the first failure.
    pub async fn reconcile_once(&self) -> Result<usize, LogicError> {
        let mut pushed = 0;
        loop {
            let rows = sqlx::query_as(SQL_OUTBOX_OLDEST).bind(BATCH).fetch_all(&self.db).await.map_err(outbox_error)?;
            let done = self.push_rows(rows).await?;
            pushed += done;
            if done < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                return Ok(pushed);
            }
        }
    }

    /// Pushes the current state of the users of `rows` (outbox id, user id, username) and
    /// deletes those rows once search acknowledged; returns how many rows it deleted.
    async fn push_rows(&self, rows: Vec<(i64, Uuid, String)>) -> Result<usize, LogicError> {
        if rows.is_empty() {
            return Ok(0);
        }
        // Rows first, then the profiles: a change committed after this read has a row of its own.
        let mut usernames: BTreeMap<Uuid, String> = BTreeMap::new();
        for (_, user, username) in &rows {
            let known = usernames.entry(*user).or_default();
            if known.is_empty() {
                known.clone_from(username);
            }
        }
        let ids: Vec<Uuid> = usernames.keys().copied().collect();
        let states: Vec<ProfileState> =
            sqlx::query_as(SQL_PROFILES_FOR_SEARCH).bind(&ids).fetch_all(&self.db).await.map_err(|e| LogicError::from(RepoError::from_sqlx("profiles", e)))?;
        let mut documents = Vec::new();
        let mut removed = Vec::new();
        for (id, display_name, bio, followers, created_at, deleted_at, version) in states {
            if deleted_at.is_some() {
                removed.push(search_pb::RemovedDocument { kind: search_pb::DocumentKind::User as i32, id: id.to_string(), version });
                continue;
            }
            documents.push(search_pb::IndexedDocument {
                kind: search_pb::DocumentKind::User as i32,
                id: id.to_string(),
                title: display_name,
                body: bio,
                username: usernames.remove(&id).unwrap_or_default(),
                popularity: followers as f64,
                created_at: Some(timestamp(created_at)),
                version,
                ..Default::default()
            });
        }
        if !documents.is_empty() {
            self.search.index_documents(search_pb::IndexDocumentsRequest { documents }).await.map_err(LogicError::from_upstream)?;
        }
        if !removed.is_empty() {
            self.search.remove_documents(search_pb::RemoveDocumentsRequest { documents: removed }).await.map_err(LogicError::from_upstream)?;
        }
        let outbox: Vec<i64> = rows.iter().map(|(id, _, _)| *id).collect();
        sqlx::query(SQL_OUTBOX_DELETE).bind(&outbox).execute(&self.db).await.map_err(outbox_error)?;
        Ok(outbox.len())
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
                    Ok(pushed) => tracing::info!(pushed, "reconciled profile changes with search"),
                    Err(error) => tracing::warn!(%error, "reconciling profile changes with search failed; retrying at the next interval"),
                }
            }
        })
    }
}
