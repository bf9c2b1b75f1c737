//! Request fields to values (with errors naming the field) and rows to protos.

use std::collections::HashMap;

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, text, timestamp};
use nova_content::repo::{bookmark_collections, comments, posts, shares, stories};
use nova_content::{LogicError, pb};

/// Longest post body, comment, quote or caption, in characters (documented in the proto).
pub const MAX_TEXT_CHARS: usize = 2200;
/// Most media one post may carry.
pub const MAX_MEDIA: usize = 10;
/// Default and largest page of every list.
pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 100;

/// An optional id field: empty means absent, anything else must be a UUID.
pub fn optional_uuid(field: &str, value: &str) -> Result<Option<Uuid>, LogicError> {
    if value.is_empty() { Ok(None) } else { parse_uuid(field, value).map(Some) }
}

/// A free-text field of at most `max` characters, storable by the database.
pub fn bounded_text(field: &str, value: String, max: usize) -> Result<String, LogicError> {
    text(field, &value)?;
    let chars = value.chars().count();
    if chars > max {
        return Err(LogicError::invalid_argument(format!("{field} holds {chars} characters; at most {max} are allowed")));
    }
    Ok(value)
}

/// The stored visibility for a request's; `None` for UNSPECIFIED.
pub fn visibility(field: &str, value: i32) -> Result<Option<posts::Visibility>, LogicError> {
    match pb::PostVisibility::try_from(value) {
        Ok(pb::PostVisibility::Unspecified) => Ok(None),
        Ok(known) => posts::Visibility::try_from(known).map(Some).map_err(|_| unknown_visibility(field, value)),
        Err(_) => Err(unknown_visibility(field, value)),
    }
}

fn unknown_visibility(field: &str, value: i32) -> LogicError {
    LogicError::invalid_argument(format!("{field}: {value} is not a PostVisibility"))
}

/// A post as callers see it, with its media ids in display order.
pub fn post(row: &posts::Row, media: &HashMap<Uuid, Vec<Uuid>>) -> pb::Post {
    pb::Post {
        id: row.id.to_string(),
        author_id: row.author_id.to_string(),
        body: row.body.clone(),
        media_ids: media.get(&row.id).map(|ids| ids.iter().map(Uuid::to_string).collect()).unwrap_or_default(),
        visibility: pb::PostVisibility::from(row.visibility) as i32,
        like_count: row.like_count,
        comment_count: row.comment_count,
        share_count: row.share_count,
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
        version: row.version,
    }
}

pub fn comment(row: &comments::Row) -> pb::Comment {
    pb::Comment {
        id: row.id.to_string(),
        post_id: row.post_id.to_string(),
        author_id: row.author_id.to_string(),
        parent_comment_id: row.parent_comment_id.map(|id| id.to_string()).unwrap_or_default(),
        body: row.body.clone(),
        created_at: Some(timestamp(row.created_at)),
    }
}

pub fn share(row: &shares::Row) -> pb::Share {
    pb::Share {
        id: row.id.to_string(),
        post_id: row.post_id.to_string(),
        user_id: row.user_id.to_string(),
        quote: row.quote.clone(),
        created_at: Some(timestamp(row.created_at)),
    }
}

pub fn collection(row: &bookmark_collections::Row) -> pb::BookmarkCollection {
    pb::BookmarkCollection {
        id: row.id.to_string(),
        user_id: row.user_id.to_string(),
        name: row.name.clone(),
        created_at: Some(timestamp(row.created_at)),
    }
}

pub fn story(row: &stories::Row) -> pb::Story {
    pb::Story {
        id: row.id.to_string(),
        author_id: row.author_id.to_string(),
        media_id: row.media_id.to_string(),
        caption: row.caption.clone(),
        view_count: row.view_count,
        created_at: Some(timestamp(row.created_at)),
        expires_at: Some(timestamp(row.expires_at)),
    }
}
