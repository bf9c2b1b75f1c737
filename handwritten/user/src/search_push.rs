//! Keeping search's index of users up to date: a transactional outbox.
//!
//! Every write that changes what search holds of a user (a profile created, a profile edited)
//! adds a `profile_search_outbox` row **in the transaction (or statement) of the write**, with
//! the username when auth reported one (at creation). After the commit,
//! [`SearchPush::push_soon`] pushes in the background (the write never waits for search nor
//! fails when it is down): it reads the users' outbox rows, then their profiles' *current*
//! state, sends it to search and deletes the rows it read once search acknowledged: an upsert
//! (IndexDocuments) for a live public profile, a removal (RemoveDocuments) for a deleted or
//! **private** one. Search's answers are shared by every caller, so its index holds only what
//! everyone may see: a private profile shows only its outline to others (see `audience`), and
//! its bio must not be searchable. Failures are logged at warn and the rows stay;
//! [`SearchPush::reconcile_once`], run every `NOVA_USER_SEARCH_RECONCILE` by `start_with`,
//! pushes whatever is left.
//!
//! **Versions.** Search applies a change only when its version is newer than the last one it
//! applied, and refuses versions more than a few minutes ahead of its own clock (so that no
//! push can freeze a document). A pushed version is therefore *the time of the state*: the
//! database's clock in microseconds since the Unix epoch, read while the profile's row is
//! locked `FOR SHARE` (in one short transaction, see [`SQL_LOCK_FOR_PUSH`]). No write of the
//! row can commit while the lock is held, so a state read later carries a later time than any
//! state read before it, whichever replica pushes and in whatever order the pushes arrive.
//! Rows locked by a writer at that moment are skipped (`SKIP LOCKED`: no push ever waits for a
//! write, nor deadlocks with one) and their outbox rows stay for the writer's own push or the
//! next reconcile. The order holds as long as the database's clock does not step back; search
//! keeps the username it has when a change carries none.

use std::collections::{BTreeMap, BTreeSet};
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
use nova_user::repo::profiles::Visibility;

/// Outbox rows (oldest first) a reconcile pass reads at once; search takes 100 documents a call.
const BATCH: i64 = 100;

const SQL_OUTBOX_OF_USERS: &str = "SELECT id, user_id, username FROM profile_search_outbox WHERE user_id = ANY($1)";
const SQL_OUTBOX_OLDEST: &str = "SELECT id, user_id, username FROM profile_search_outbox ORDER BY id LIMIT $1";
const SQL_OUTBOX_DELETE: &str = "DELETE FROM profile_search_outbox WHERE id = ANY($1)";
/// The profiles to push, locked until the transaction reading them ends; those a writer holds
/// are skipped. Deleted profiles included (the generated `get` skips them): their removal is
/// pushed too.
const SQL_LOCK_FOR_PUSH: &str = "SELECT user_id FROM profiles WHERE user_id = ANY($1) ORDER BY user_id FOR SHARE SKIP LOCKED";
/// The locked profiles' current state, with the database's clock (microseconds since the
/// epoch) as the state's version.
const SQL_PROFILES_FOR_SEARCH: &str = "SELECT user_id, display_name, bio, follower_count, visibility, created_at, deleted_at, \
     (extract(epoch FROM clock_timestamp()) * 1000000)::bigint FROM profiles WHERE user_id = ANY($1)";

type ProfileState = (Uuid, String, String, i64, Visibility, DateTime<Utc>, Option<DateTime<Utc>>, i64);

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
    /// deletes the rows of the users pushed once search acknowledged; returns how many rows it
    /// deleted (the rows of profiles a writer held stay, see the module doc).
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
        let states = self.current_states(&ids).await?;
        let pushed: BTreeSet<Uuid> = states.iter().map(|state| state.0).collect();
        let mut documents = Vec::new();
        let mut removed = Vec::new();
        for (id, display_name, bio, followers, visibility, created_at, deleted_at, version) in states {
            if deleted_at.is_some() || visibility != Visibility::Public {
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
        let outbox: Vec<i64> = rows.iter().filter(|(_, user, _)| pushed.contains(user)).map(|(id, _, _)| *id).collect();
        sqlx::query(SQL_OUTBOX_DELETE).bind(&outbox).execute(&self.db).await.map_err(outbox_error)?;
        Ok(outbox.len())
    }

    /// The current state of those of `ids` no writer holds, each with its version (see the
    /// module doc), read under a share lock released before anything is sent.
    async fn current_states(&self, ids: &[Uuid]) -> Result<Vec<ProfileState>, LogicError> {
        let profiles_error = |e| LogicError::from(RepoError::from_sqlx("profiles", e));
        let mut tx = self.db.begin().await.map_err(profiles_error)?;
        let locked: Vec<Uuid> = sqlx::query_scalar(SQL_LOCK_FOR_PUSH).bind(ids).fetch_all(&mut *tx).await.map_err(profiles_error)?;
        let states = sqlx::query_as(SQL_PROFILES_FOR_SEARCH).bind(&locked).fetch_all(&mut *tx).await.map_err(profiles_error)?;
        tx.commit().await.map_err(profiles_error)?;
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
                    Ok(pushed) => tracing::info!(pushed, "reconciled profile changes with search"),
                    Err(error) => tracing::warn!(%error, "reconciling profile changes with search failed; retrying at the next interval"),
                }
            }
        })
    }
}
