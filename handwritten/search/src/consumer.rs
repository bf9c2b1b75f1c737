//! What search does when other services' events arrive (the generated
//! `nova_search::events::Consumer`). Each method runs in the transaction that records the event
//! (inbox and per-aggregate version guard), so it applies once and never an older state over a
//! newer one; the index changes through `index::apply_change` like every other change.
//!
//! - `content.posts.changed`: a searchable post is indexed (its hashtags filed), any other
//!   removed (a tombstone at the event's version).
//! - `user.profiles.changed`: the same for a user's profile document.
//! - `auth.users.deleted`: this unfiles the user's posts from their hashtags (the counts move)
//!   and removes their profile document; then the generated cascade deletes the documents the
//!   user wrote and clears their queries.
//!
//! **Versions.** A document's version is the event's time: the owner's database clock read
//! under the row's event lock, so it grows along one row's events and is comparable with an
//! operator's repair (IndexDocuments takes times too).
//!
//! **A deleted author stays deleted.** The deletion comes from auth, the changes of the
//! author's posts and profile from content and user, on separate streams: a change published
//! before the deletion may arrive after it. Once the deletion is applied here, such a late
//! change is acknowledged without effect (search consumes no other event about auth's users,
//! so an applied version of the user means the deletion).

use ::nova_runtime::RepoError;
use ::nova_runtime::codegen::chrono::Utc;
use ::nova_runtime::codegen::sqlx;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::events::{self, Received, Tx};
use nova_search::events::{Consumer, content, user};
use nova_search::{LogicError, pb};

use crate::SearchLogic;
use crate::index::{self, KIND_POST, KIND_USER, Producer, Source};

/// The deleted user's profile document.
const SQL_DELETE_USER_DOCUMENTS: &str = "DELETE FROM search_documents WHERE kind = $2 AND source_id = $1";

/// Whether auth's deletion of `user` was applied here already.
async fn deleted_user(tx: &mut Tx, user: Uuid) -> Result<bool, LogicError> {
    Ok(events::applied_version(tx, "auth.users", &user.to_string()).await?.is_some())
}

/// Applies `document` (searchable) or a removal of (`kind`, `id`) at the event's version,
/// validated like an operator's call, as `producer`'s change.
async fn apply(
    tx: &mut Tx,
    event: &Received,
    producer: Producer,
    kind: i16,
    id: Uuid,
    document: Option<pb::IndexedDocument>,
) -> Result<(), LogicError> {
    let version = event.envelope.occurred_at_micros;
    let source = Source::Owner(producer);
    let mut changes = match document {
        Some(mut document) => {
            document.version = version;
            index::upserts(pb::IndexDocumentsRequest { documents: vec![document] }, source, Utc::now())?
        }
        None => {
            let removal = pb::RemovedDocument { kind: i32::from(kind), id: id.to_string(), version };
            index::removals(pb::RemoveDocumentsRequest { documents: vec![removal] }, source, Utc::now())?
        }
    };
    if let Some(change) = changes.pop() {
        index::apply_change(tx, &change).await?;
    }
    Ok(())
}

impl Consumer for SearchLogic {
    async fn on_auth_users_deleted(&self, tx: &mut Tx, _event: &Received, user: Uuid) -> Result<(), LogicError> {
        index::unfile_posts_of(tx, user).await?;
        // The user's own document names them as its source, not as its author.
        sqlx::query(SQL_DELETE_USER_DOCUMENTS)
            .bind(user)
            .bind(KIND_USER)
            .execute(&mut **tx)
            .await
            .map_err(|e| RepoError::from_sqlx("search_documents", e))?;
        Ok(())
    }

    async fn on_content_posts_changed(&self, tx: &mut Tx, event: &Received, post: Uuid, message: content::PostChanged) -> Result<(), LogicError> {
        let author = parse_uuid("author_id", &message.author_id)?;
        if deleted_user(tx, author).await? {
            return Ok(());
        }
        let document = message.searchable.then(|| pb::IndexedDocument {
            kind: pb::DocumentKind::Post as i32,
            id: post.to_string(),
            author_id: author.to_string(),
            body: message.body,
            popularity: message.engagement as f64,
            created_at: message.created_at,
            ..Default::default()
        });
        apply(tx, event, Producer::Content, KIND_POST, post, document).await
    }

    async fn on_user_profiles_changed(&self, tx: &mut Tx, event: &Received, profile: Uuid, message: user::ProfileChanged) -> Result<(), LogicError> {
        if deleted_user(tx, profile).await? {
            return Ok(());
        }
        let document = message.searchable.then(|| pb::IndexedDocument {
            kind: pb::DocumentKind::User as i32,
            id: profile.to_string(),
            title: message.display_name,
            body: message.bio,
            username: message.username,
            popularity: message.follower_count as f64,
            created_at: message.created_at,
            ..Default::default()
        });
        apply(tx, event, Producer::User, KIND_USER, profile, document).await
    }
}
