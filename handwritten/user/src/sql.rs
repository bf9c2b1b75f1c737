//! The few statements the generated repositories do not offer, all on this service's own
//! tables: the default profiles inserted in one statement (`ON CONFLICT DO NOTHING`, so a
//! retry or a concurrent first call never fails), the row locks that serialise relationship
//! changes between two users, and the prefix search. Everything else goes through
//! `nova_user::repo`, including the other inserts that tolerate an existing row
//! (`insert_if_absent`: the caller learns whether it really inserted).

use ::nova_runtime::codegen::sqlx::{self, PgConnection, Row as _};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::repo::{RepoError, RepoResult};
use nova_user::repo::profiles::Visibility;
use nova_user::repo::{blocks, follows, user_settings};

/// The default profiles; returns the ids of those really inserted.
const INSERT_DEFAULT_PROFILES: &str = "INSERT INTO profiles (user_id, display_name) \
     SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT (user_id) DO NOTHING RETURNING user_id";
const LOCK_PROFILES: &str = "SELECT user_id FROM profiles WHERE user_id = ANY($1) AND deleted_at IS NULL ORDER BY user_id FOR UPDATE";
/// Which of `$2` the user `$1` follows (whose private profiles they see in full).
const FOLLOWED_AMONG: &str = "SELECT followee_id FROM follows WHERE follower_id = $1 AND followee_id = ANY($2)";
/// The search key: the lowered display name in byte order (`ucs_basic`), the expression of
/// `profiles_lower_display_name_collate_ucs_basic_user_id_idx`. The prefix is also given as a
/// byte-order range (`$4 <= key < $5`), so the index range holds in a generic plan too, where
/// PostgreSQL cannot derive it from the `LIKE` pattern; `LIKE` stays for exactness. Private
/// profiles are listed only to whom sees them in full (`$6` public, `$7` a trusted caller, or
/// the searcher `$2` is the user or a follower; see `audience`).
const SEARCH_FIRST: &str = "SELECT p.user_id, lower(p.display_name) FROM profiles p \
     WHERE lower(p.display_name) COLLATE ucs_basic >= $4 AND lower(p.display_name) COLLATE ucs_basic < $5 \
     AND lower(p.display_name) COLLATE ucs_basic LIKE $1 ESCAPE '\\' AND p.deleted_at IS NULL \
     AND ($2::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = p.user_id AND b.blocked_id = $2)) \
     AND (p.visibility = $6 OR $7 OR p.user_id = $2 \
          OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = p.user_id)) \
     ORDER BY lower(p.display_name) COLLATE ucs_basic, p.user_id LIMIT $3";
const SEARCH_AFTER: &str = "SELECT p.user_id, lower(p.display_name) FROM profiles p \
     WHERE lower(p.display_name) COLLATE ucs_basic >= $4 AND lower(p.display_name) COLLATE ucs_basic < $5 \
     AND lower(p.display_name) COLLATE ucs_basic LIKE $1 ESCAPE '\\' AND p.deleted_at IS NULL \
     AND ($2::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = p.user_id AND b.blocked_id = $2)) \
     AND (p.visibility = $6 OR $7 OR p.user_id = $2 \
          OR EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = p.user_id)) \
     AND (lower(p.display_name) COLLATE ucs_basic, p.user_id) > ($8, $9) \
     ORDER BY lower(p.display_name) COLLATE ucs_basic, p.user_id LIMIT $3";

fn error(table: &'static str) -> impl Fn(sqlx::Error) -> RepoError {
    move |e| RepoError::from_sqlx(table, e)
}

/// A new profile: user id, display name, username.
pub type DefaultProfile = (Uuid, String, String);

/// Inserts the default profiles of users auth reported live, in one statement; an existing
/// row (live or deleted) is left alone. Returns the ids it inserted (whose creation others
/// must learn).
pub async fn insert_default_profiles(db: &mut PgConnection, profiles: &[DefaultProfile]) -> RepoResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = profiles.iter().map(|p| p.0).collect();
    let names: Vec<&str> = profiles.iter().map(|p| p.1.as_str()).collect();
    sqlx::query_scalar(INSERT_DEFAULT_PROFILES).bind(ids).bind(names).fetch_all(db).await.map_err(error("profiles"))
}

/// Makes sure the user has a settings row (the defaults), so that a full update can follow.
pub async fn insert_default_settings(db: &mut PgConnection, user_id: Uuid) -> RepoResult<()> {
    let new = user_settings::New {
        user_id,
        email_notifications: None,
        push_notifications: None,
        direct_message_policy: None,
        show_online_status: None,
        language: None,
        time_zone: None,
        updated_at: None,
    };
    user_settings::insert_if_absent(db, &new).await?;
    Ok(())
}

/// Inserts the follow unless it exists; true when this call inserted it.
pub async fn insert_follow(db: &mut PgConnection, follower_id: Uuid, followee_id: Uuid) -> RepoResult<bool> {
    let new = follows::New { follower_id, followee_id, created_at: None };
    Ok(follows::insert_if_absent(db, &new).await?.is_some())
}

/// Inserts the block unless it exists; true when this call inserted it.
pub async fn insert_block(db: &mut PgConnection, blocker_id: Uuid, blocked_id: Uuid) -> RepoResult<bool> {
    let new = blocks::New { blocker_id, blocked_id, created_at: None };
    Ok(blocks::insert_if_absent(db, &new).await?.is_some())
}

/// Locks the live profiles of `ids` until the transaction ends, always in id order (so two
/// transactions locking the same pair never deadlock); returns the ids it locked.
pub async fn lock_profiles(db: &mut PgConnection, ids: &[Uuid]) -> RepoResult<Vec<Uuid>> {
    let rows = sqlx::query(LOCK_PROFILES).bind(ids).fetch_all(db).await.map_err(error("profiles"))?;
    rows.iter().map(|row| row.try_get::<Uuid, _>(0)).collect::<Result<_, _>>().map_err(error("profiles"))
}

/// Which of `others` `follower` follows.
pub async fn followed_among(db: &mut PgConnection, follower: Uuid, others: &[Uuid]) -> RepoResult<Vec<Uuid>> {
    sqlx::query_scalar(FOLLOWED_AMONG).bind(follower).bind(others).fetch_all(db).await.map_err(error("follows"))
}

/// Where a search page continues: the lowered display name and the user id of its last hit.
pub type SearchPosition = (String, Uuid);

/// Who searches: the end user (`None` when nobody signed in), or a trusted service.
#[derive(Debug, Clone, Copy)]
pub struct Searcher {
    pub user: Option<Uuid>,
    pub trusted: bool,
}

/// One page of the ids of live profiles whose lowered display name starts with `prefix`
/// (already lowered), in `(lower(display_name), user_id)` order, leaving out users who block
/// the searcher and private profiles the searcher does not see in full.
pub async fn search(
    db: &mut PgConnection,
    prefix: &str,
    searcher: Searcher,
    after: Option<&SearchPosition>,
    limit: i64,
) -> RepoResult<Vec<SearchPosition>> {
    let pattern = format!("{}%", escape_like(prefix));
    let statement = if after.is_some() { SEARCH_AFTER } else { SEARCH_FIRST };
    let mut query = sqlx::query(statement)
        .bind(pattern)
        .bind(searcher.user)
        .bind(limit)
        .bind(prefix)
        .bind(upper_bound(prefix))
        .bind(Visibility::Public)
        .bind(searcher.trusted);
    if let Some((name, id)) = after {
        query = query.bind(name.as_str()).bind(*id);
    }
    let rows = query.fetch_all(db).await.map_err(error("profiles"))?;
    rows.iter()
        .map(|row| Ok((row.try_get::<String, _>(1)?, row.try_get::<Uuid, _>(0)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(error("profiles"))
}

/// The least string above every string that starts with `prefix`, in byte (= code point)
/// order: the prefix with its last character incremented (dropping trailing U+10FFFF, which
/// has no successor). Only a prefix made of U+10FFFF alone has none; then a string of one more
/// U+10FFFF than it serves, which leaves out only names continuing with further U+10FFFF.
pub fn upper_bound(prefix: &str) -> String {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return chars.into_iter().collect();
        }
    }
    char::MAX.to_string().repeat(prefix.chars().count() + 1)
}

/// `value` with the LIKE wildcards and the escape character escaped, so it matches literally.
pub fn escape_like(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::{escape_like, upper_bound};

    #[test]
    fn upper_bounds_follow_every_string_with_the_prefix() {
        assert_eq!(upper_bound("ab"), "ac");
        assert_eq!(upper_bound("a\u{D7FF}"), "a\u{E000}");
        assert_eq!(upper_bound("a\u{10FFFF}"), "b");
        assert_eq!(upper_bound("é"), "ê");
        for name in ["ab", "abz", "ab\u{10FFFF}", "abé"] {
            assert!(name >= "ab" && name < upper_bound("ab").as_str(), "{name}");
        }
    }

    #[test]
    fn like_wildcards_match_literally() {
        assert_eq!(escape_like("a_b%c\\d"), "a\\_b\\%c\\\\d");
        assert_eq!(escape_like("plain"), "plain");
    }
}
