//! Indexing: every change of the index goes through [`apply_change`], whichever way it
//! arrives: the owners' events (content's `posts.changed`, user's `profiles.changed`, see
//! `consumer`) or an operator's repair (IndexDocuments, RemoveDocuments, `search.index`).
//!
//! **Order safety.** Each change carries its owner's version. A document is written only when
//! the change is newer than the last one applied to it, and a removal leaves a tombstone at
//! its version (see `sql::UPSERT_DOCUMENT` and `sql::REMOVE_DOCUMENT`), so retries, duplicates
//! and late deliveries change nothing, and a late upsert never resurrects a removed post.
//!
//! **Who may change what.** Each owner's events change only its own kind ([`Producer`]):
//! content's posts (and, through their text, hashtags), user's profiles; an event of one
//! carrying the other's kind cannot be built. The RPCs are for holders of `search.index` (the
//! spec's permission, checked before the call reaches here), who may repair either kind.
//!
//! **Versions are times.** An owner's version is the time of the state it tells, in
//! microseconds since the Unix epoch: the event's time, which the owner's database clock gives
//! under the row's event lock (see `nova_runtime::events::publish`). A version more than
//! [`MAX_VERSION_AHEAD`] ahead of search's clock is refused (`INVALID_ARGUMENT`): a bad push
//! can hold a document against the owner's real changes for at most those few minutes, never
//! freeze it (before, `version: i64::MAX` rewrote a post for good).
//!
//! **Hashtags** are extracted here from post text (lowercase, without '#'). While a change of a
//! post holds that post's document row (the upsert's lock), its tags are compared with those
//! it is filed under: each tag gained or lost is filed or unfiled and its `post_count` moved
//! by one atomic increment, only when the filing row really appeared or went, so the counts
//! stay exact under retries and concurrent posts. Tags are visited in sorted order in every
//! transaction, so two posts sharing tags never wait on each other in a cycle.

use std::collections::BTreeMap;

use ::nova_runtime::codegen::chrono::{DateTime, TimeDelta, Utc};
use ::nova_runtime::codegen::sqlx::{PgConnection, PgPool};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{from_timestamp, parse_uuid, text};
use nova_search::{LogicError, pb};

use crate::sql::{self, Document};
use crate::text::hashtags;

/// Most documents one call may carry (documented in the proto).
pub const MAX_BATCH: usize = 100;
/// Longest title (a display name), in characters.
pub const MAX_TITLE: usize = 200;
/// Longest body (post text or bio), in characters.
pub const MAX_BODY: usize = 10_000;
/// Longest username, in characters.
pub const MAX_USERNAME: usize = 64;
/// How far a version may be ahead of search's clock (documented in the proto): room for the
/// owners' clocks to run ahead of ours, not for a push to outlive the owner's next change.
pub const MAX_VERSION_AHEAD: TimeDelta = TimeDelta::minutes(5);

/// The owner of a kind of document: the publisher of the event that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    /// content: posts (hashtags are derived from their text).
    Content,
    /// user: profiles.
    User,
}

/// Who a batch of changes comes from, which decides the kinds it may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An owner's event: its own kind only.
    Owner(Producer),
    /// An operator holding `search.index` (the RPCs): any kind.
    Operator,
}

impl Source {
    /// `kind` (of the document at `field`) if this source may write it; PERMISSION_DENIED
    /// otherwise.
    fn owns(self, field: &str, kind: i16) -> Result<i16, LogicError> {
        match self {
            Source::Operator => Ok(kind),
            Source::Owner(producer) => producer.owns(field, kind),
        }
    }
}

impl Producer {
    fn name(self) -> &'static str {
        match self {
            Producer::Content => "content",
            Producer::User => "user",
        }
    }

    /// The kind it owns, as stored.
    fn kind(self) -> i16 {
        match self {
            Producer::Content => KIND_POST,
            Producer::User => KIND_USER,
        }
    }

    /// `kind` (of the document at `field`) if this producer owns it; PERMISSION_DENIED otherwise.
    fn owns(self, field: &str, kind: i16) -> Result<i16, LogicError> {
        if kind == self.kind() {
            return Ok(kind);
        }
        let owned = if self == Producer::Content { "DOCUMENT_KIND_POST" } else { "DOCUMENT_KIND_USER" };
        Err(LogicError::PermissionDenied(format!("{field}: the service {} may write only {owned} documents", self.name())))
    }
}

/// One change of the index.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Upsert(Document),
    Remove { kind: i16, id: Uuid, version: i64 },
}

/// What [`apply`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Changes written.
    pub applied: i32,
    /// Changes left out: the document had a change of the same or a newer version.
    pub skipped: i32,
}

/// Applies `changes` in order, each in a transaction of its own: a transaction holds one
/// document and then its tags in sorted order, never two documents, so concurrent batches
/// cannot deadlock. A failure part way leaves the earlier changes applied; retrying the whole
/// batch is safe, as applied changes are then skipped.
pub async fn apply(db: &PgPool, changes: &[Change]) -> Result<Applied, LogicError> {
    let mut outcome = Applied::default();
    for change in changes {
        let mut tx = db.begin().await?;
        let written = apply_change(&mut tx, change).await?;
        tx.commit().await?;
        if written {
            outcome.applied += 1;
        } else {
            outcome.skipped += 1;
        }
    }
    Ok(outcome)
}

/// Applies one change in `db` (a transaction: the document, then its tags in sorted order);
/// whether it was written (false: the document had a change of the same or a newer version).
pub async fn apply_change(db: &mut PgConnection, change: &Change) -> Result<bool, LogicError> {
    match change {
        Change::Upsert(doc) => {
            let written = sql::upsert_document(db, doc).await?;
            if written && doc.kind == KIND_POST {
                file_post(db, doc.id, &doc.hashtags, doc.created_at).await?;
            }
            Ok(written)
        }
        Change::Remove { kind, id, version } => {
            let written = sql::remove_document(db, *kind, *id, *version).await?;
            if written && *kind == KIND_POST {
                file_post(db, *id, &[], Utc::now()).await?;
            }
            Ok(written)
        }
    }
}

/// The live post documents of `author`, to unfile before they go with the author's account.
const SQL_POSTS_OF_AUTHOR: &str =
    "SELECT source_id FROM search_documents WHERE kind = $2 AND author_id = $1 AND deleted_at IS NULL ORDER BY source_id";

/// Unfiles every live post of `author` from its hashtags (their counts move), in `db`: what a
/// removal of each would do to the tags, before the author's documents are deleted.
pub async fn unfile_posts_of(db: &mut PgConnection, author: Uuid) -> Result<(), LogicError> {
    let posts: Vec<Uuid> = ::nova_runtime::codegen::sqlx::query_scalar(SQL_POSTS_OF_AUTHOR)
        .bind(author)
        .bind(KIND_POST)
        .fetch_all(&mut *db)
        .await
        .map_err(|e| ::nova_runtime::RepoError::from_sqlx("search_documents", e))?;
    for post in posts {
        file_post(db, post, &[], Utc::now()).await?;
    }
    Ok(())
}

/// Files `post` under exactly `tags`: unfiles the tags it lost, files those it gained.
async fn file_post(db: &mut PgConnection, post: Uuid, tags: &[String], created_at: DateTime<Utc>) -> Result<(), LogicError> {
    // tag -> true to file, false to unfile; a BTreeMap visits them in sorted order.
    let mut moves: BTreeMap<String, bool> = BTreeMap::new();
    let current = sql::post_tags(db, post).await?;
    for tag in &current {
        if !tags.contains(tag) {
            moves.insert(tag.clone(), false);
        }
    }
    for tag in tags {
        if !current.contains(tag) {
            moves.insert(tag.clone(), true);
        }
    }
    for (tag, file) in moves {
        let moved = if file { sql::tag_post(db, &tag, post, created_at).await? } else { sql::untag_post(db, &tag, post).await? };
        if let Some(hashtag) = moved {
            sql::count_hashtag(db, hashtag, if file { 1 } else { -1 }).await?;
        }
    }
    Ok(())
}

pub const KIND_POST: i16 = pb::DocumentKind::Post as i16;
pub const KIND_USER: i16 = pb::DocumentKind::User as i16;

/// The kind of a pushed document: POST or USER (hashtags are derived, never pushed).
fn kind(field: &str, value: i32) -> Result<i16, LogicError> {
    match pb::DocumentKind::try_from(value) {
        Ok(pb::DocumentKind::Post) => Ok(KIND_POST),
        Ok(pb::DocumentKind::User) => Ok(KIND_USER),
        _ => Err(LogicError::invalid_argument(format!("{field} must be DOCUMENT_KIND_POST or DOCUMENT_KIND_USER, got {value}"))),
    }
}

/// A version at most [`MAX_VERSION_AHEAD`] ahead of `now`, not negative.
fn version(field: &str, value: i64, now: DateTime<Utc>) -> Result<i64, LogicError> {
    if value < 0 {
        return Err(LogicError::invalid_argument(format!("{field} must not be negative, got {value}")));
    }
    let latest = (now + MAX_VERSION_AHEAD).timestamp_micros();
    if value > latest {
        return Err(LogicError::invalid_argument(format!(
            "{field} is {value}, more than {} minutes ahead of search's clock ({} microseconds since the Unix epoch): a version is the time of the change, in microseconds",
            MAX_VERSION_AHEAD.num_minutes(),
            now.timestamp_micros()
        )));
    }
    Ok(value)
}

fn bounded(field: &str, value: &str, max: usize) -> Result<String, LogicError> {
    let value = text(field, value)?;
    let chars = value.chars().count();
    if chars > max {
        return Err(LogicError::invalid_argument(format!("{field} holds {chars} characters; at most {max} are allowed")));
    }
    Ok(value.to_string())
}

fn batch_size(len: usize) -> Result<(), LogicError> {
    if len == 0 {
        return Err(LogicError::invalid_argument("documents must not be empty"));
    }
    if len > MAX_BATCH {
        return Err(LogicError::invalid_argument(format!("documents holds {len} entries; at most {MAX_BATCH} are allowed")));
    }
    Ok(())
}

/// An IndexDocuments request of `source` as changes, at search's time `now`; errors name the
/// document's index.
pub fn upserts(request: pb::IndexDocumentsRequest, source: Source, now: DateTime<Utc>) -> Result<Vec<Change>, LogicError> {
    batch_size(request.documents.len())?;
    request
        .documents
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let field = |name: &str| format!("documents[{i}].{name}");
            let kind = source.owns(&field("kind"), kind(&field("kind"), d.kind)?)?;
            let id = parse_uuid(&field("id"), &d.id)?;
            let author_id = match (kind, d.author_id.as_str()) {
                // A user is the author of their own profile (AdvancedSearch's author filter).
                (KIND_USER, "") => Some(id),
                (_, "") => return Err(LogicError::invalid_argument(format!("{} must not be empty for a post", field("author_id")))),
                (_, author) => Some(parse_uuid(&field("author_id"), author)?),
            };
            let created_at = d.created_at.as_ref().ok_or_else(|| LogicError::invalid_argument(format!("{} is required", field("created_at"))))?;
            if !d.popularity.is_finite() || d.popularity < 0.0 {
                return Err(LogicError::invalid_argument(format!("{} must be a finite number, not negative", field("popularity"))));
            }
            let body = bounded(&field("body"), &d.body, MAX_BODY)?;
            Ok(Change::Upsert(Document {
                kind,
                id,
                author_id,
                title: bounded(&field("title"), &d.title, MAX_TITLE)?,
                hashtags: if kind == KIND_POST { hashtags(&body) } else { Vec::new() },
                body,
                username: bounded(&field("username"), d.username.trim(), MAX_USERNAME)?,
                popularity: d.popularity,
                created_at: from_timestamp(&field("created_at"), created_at)?,
                version: version(&field("version"), d.version, now)?,
            }))
        })
        .collect()
}

/// A RemoveDocuments request of `source` as changes, at search's time `now`; errors name
/// the document's index.
pub fn removals(request: pb::RemoveDocumentsRequest, source: Source, now: DateTime<Utc>) -> Result<Vec<Change>, LogicError> {
    batch_size(request.documents.len())?;
    request
        .documents
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let field = |name: &str| format!("documents[{i}].{name}");
            Ok(Change::Remove {
                kind: source.owns(&field("kind"), kind(&field("kind"), d.kind)?)?,
                id: parse_uuid(&field("id"), &d.id)?,
                version: version(&field("version"), d.version, now)?,
            })
        })
        .collect()
}

impl crate::SearchLogic {
    /// IndexDocuments: the spec admits holders of `search.index` only.
    pub(crate) async fn index_changes(&self, request: pb::IndexDocumentsRequest) -> Result<pb::IndexDocumentsResponse, LogicError> {
        let changes = upserts(request, Source::Operator, Utc::now())?;
        let done = apply(&self.db, &changes).await?;
        Ok(pb::IndexDocumentsResponse { applied: done.applied, skipped: done.skipped })
    }

    /// RemoveDocuments: the spec admits holders of `search.index` only.
    pub(crate) async fn remove_changes(&self, request: pb::RemoveDocumentsRequest) -> Result<pb::RemoveDocumentsResponse, LogicError> {
        let changes = removals(request, Source::Operator, Utc::now())?;
        let done = apply(&self.db, &changes).await?;
        Ok(pb::RemoveDocumentsResponse { removed: done.applied, skipped: done.skipped })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ::nova_runtime::codegen::chrono::{DateTime, TimeDelta, Utc};
    use ::nova_runtime::codegen::tonic::Code;
    use ::nova_runtime::convert::timestamp;
    use nova_search::pb;

    use super::{Change, MAX_VERSION_AHEAD, Producer, Source, removals, upserts};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn doc(kind: pb::DocumentKind, version: i64) -> pb::IndexedDocument {
        pb::IndexedDocument {
            kind: kind as i32,
            id: "0b9e3c52-6d0e-4d4c-9a55-0d2f7f3c3b11".into(),
            author_id: "5a1f0f7e-4f42-4a0c-8d0e-0f6f7d7f7a22".into(),
            body: "text".into(),
            created_at: Some(timestamp(now())),
            version,
            ..Default::default()
        }
    }

    fn code<T>(result: Result<T, nova_search::LogicError>) -> Option<Code> {
        result.err().map(|e| e.code())
    }

    #[test]
    fn versions_may_run_ahead_of_the_clock_by_a_few_minutes_only() {
        let at_limit = (now() + MAX_VERSION_AHEAD).timestamp_micros();
        for version in [0, now().timestamp_micros(), at_limit] {
            let request = pb::IndexDocumentsRequest { documents: vec![doc(pb::DocumentKind::Post, version)] };
            assert!(matches!(upserts(request, Source::Owner(Producer::Content), now()).unwrap()[..], [Change::Upsert(_)]), "{version}");
        }
        for version in [at_limit + 1, (now() + TimeDelta::hours(1)).timestamp_micros(), i64::MAX] {
            let request = pb::IndexDocumentsRequest { documents: vec![doc(pb::DocumentKind::Post, version)] };
            let error = upserts(request, Source::Owner(Producer::Content), now()).unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument, "{version}");
            assert!(error.to_string().contains("documents[0].version"), "{error}");
            let removal = pb::RemovedDocument { kind: pb::DocumentKind::Post as i32, id: doc(pb::DocumentKind::Post, 0).id, version };
            let request = pb::RemoveDocumentsRequest { documents: vec![removal] };
            assert_eq!(code(removals(request, Source::Owner(Producer::Content), now())), Some(Code::InvalidArgument), "{version}");
        }
    }

    #[test]
    fn each_producer_writes_only_its_own_kind() {
        let posts = || pb::IndexDocumentsRequest { documents: vec![doc(pb::DocumentKind::Post, 1)] };
        let users = || pb::IndexDocumentsRequest { documents: vec![doc(pb::DocumentKind::Post, 1), doc(pb::DocumentKind::User, 1)] };
        assert!(upserts(posts(), Source::Owner(Producer::Content), now()).is_ok());
        assert_eq!(code(upserts(posts(), Source::Owner(Producer::User), now())), Some(Code::PermissionDenied));
        let mixed = upserts(users(), Source::Owner(Producer::Content), now()).unwrap_err();
        assert_eq!(mixed.code(), Code::PermissionDenied);
        assert!(mixed.to_string().contains("documents[1].kind"), "{mixed}");
        let user_removal = pb::RemovedDocument { kind: pb::DocumentKind::User as i32, id: doc(pb::DocumentKind::User, 0).id, version: 1 };
        let request = || pb::RemoveDocumentsRequest { documents: vec![user_removal.clone()] };
        assert!(removals(request(), Source::Owner(Producer::User), now()).is_ok());
        assert_eq!(code(removals(request(), Source::Owner(Producer::Content), now())), Some(Code::PermissionDenied));

        // An operator (holding search.index) repairs either kind.
        assert!(upserts(users(), Source::Operator, now()).is_ok());
        assert!(removals(request(), Source::Operator, now()).is_ok());
    }
}
