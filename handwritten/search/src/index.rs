//! Indexing: every change of the index goes through [`apply`], whichever way it arrives
//! (the IndexDocuments and RemoveDocuments RPCs today, an event consumer later).
//!
//! **Order safety.** Each change carries its owner's version. A document is written only when
//! the change is newer than the last one applied to it, and a removal leaves a tombstone at
//! its version (see `sql::UPSERT_DOCUMENT` and `sql::REMOVE_DOCUMENT`), so retries, duplicates
//! and late deliveries change nothing, and a late upsert never resurrects a removed post.
//!
//! **Hashtags** are extracted here from post text (lowercase, without '#'). While a change of a
//! post holds that post's document row (the upsert's lock), its tags are compared with those
//! it is filed under: each tag gained or lost is filed or unfiled and its `post_count` moved
//! by one atomic increment, only when the filing row really appeared or went, so the counts
//! stay exact under retries and concurrent posts. Tags are visited in sorted order in every
//! transaction, so two posts sharing tags never wait on each other in a cycle.

use std::collections::BTreeMap;

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
        let written = match change {
            Change::Upsert(doc) => {
                let written = sql::upsert_document(&mut tx, doc).await?;
                if written && doc.kind == KIND_POST {
                    file_post(&mut tx, doc.id, &doc.hashtags, doc.created_at).await?;
                }
                written
            }
            Change::Remove { kind, id, version } => {
                let written = sql::remove_document(&mut tx, *kind, *id, *version).await?;
                if written && *kind == KIND_POST {
                    file_post(&mut tx, *id, &[], ::nova_runtime::codegen::chrono::Utc::now()).await?;
                }
                written
            }
        };
        tx.commit().await?;
        if written {
            outcome.applied += 1;
        } else {
            outcome.skipped += 1;
        }
    }
    Ok(outcome)
}

/// Files `post` under exactly `tags`: unfiles the tags it lost, files those it gained.
async fn file_post(
    db: &mut PgConnection,
    post: Uuid,
    tags: &[String],
    created_at: ::nova_runtime::codegen::chrono::DateTime<::nova_runtime::codegen::chrono::Utc>,
) -> Result<(), LogicError> {
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

fn version(field: &str, value: i64) -> Result<i64, LogicError> {
    if value < 0 {
        return Err(LogicError::invalid_argument(format!("{field} must not be negative, got {value}")));
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

/// An IndexDocuments request as changes; errors name the document's index.
pub fn upserts(request: pb::IndexDocumentsRequest) -> Result<Vec<Change>, LogicError> {
    batch_size(request.documents.len())?;
    request
        .documents
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let field = |name: &str| format!("documents[{i}].{name}");
            let kind = kind(&field("kind"), d.kind)?;
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
                version: version(&field("version"), d.version)?,
            }))
        })
        .collect()
}

/// A RemoveDocuments request as changes; errors name the document's index.
pub fn removals(request: pb::RemoveDocumentsRequest) -> Result<Vec<Change>, LogicError> {
    batch_size(request.documents.len())?;
    request
        .documents
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let field = |name: &str| format!("documents[{i}].{name}");
            Ok(Change::Remove {
                kind: kind(&field("kind"), d.kind)?,
                id: parse_uuid(&field("id"), &d.id)?,
                version: version(&field("version"), d.version)?,
            })
        })
        .collect()
}

impl crate::SearchLogic {
    pub(crate) async fn index_changes(&self, request: pb::IndexDocumentsRequest) -> Result<pb::IndexDocumentsResponse, LogicError> {
        let changes = upserts(request)?;
        let done = apply(&self.db, &changes).await?;
        Ok(pb::IndexDocumentsResponse { applied: done.applied, skipped: done.skipped })
    }

    pub(crate) async fn remove_changes(&self, request: pb::RemoveDocumentsRequest) -> Result<pb::RemoveDocumentsResponse, LogicError> {
        let changes = removals(request)?;
        let done = apply(&self.db, &changes).await?;
        Ok(pb::RemoveDocumentsResponse { removed: done.applied, skipped: done.skipped })
    }
}
