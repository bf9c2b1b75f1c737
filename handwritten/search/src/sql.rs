//! The statements the generated repositories do not offer, all on this service's own tables:
//! the order-safe upsert and removal of documents, hashtag bookkeeping, ranked full-text
//! queries and the aggregates over the query log. Kinds are bound as their DocumentKind
//! numbers (the column's stored values).
//!
//! Ranked lists (relevance, popularity) page by a bounded offset (see `paging`); the sort is
//! chosen by a parameter so each list is one prepared statement. Snippets are computed in an
//! outer query over the page only: `ts_headline` re-parses the text and must not run for
//! every match.

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::sqlx::{self, PgConnection, Row as _};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::repo::{RepoError, RepoResult};
use nova_search::repo::{hashtags, search_documents};

// The stored `search_documents.kind` literals come from the generated
// `search_documents::kind_sql!(..)`, so they cannot drift from what the repository stores.

/// Writes a post or user document unless a change of the same or a newer version was
/// applied (an upsert or a tombstone): the row lock taken by ON CONFLICT serialises
/// concurrent changes of one document. An empty username keeps the one indexed before.
/// Returns a row only when it wrote.
const UPSERT_DOCUMENT: &str = "INSERT INTO search_documents \
     (kind, source_id, author_id, title, body, hashtags, username, popularity, source_created_at, source_version, deleted_at, indexed_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, now()) \
     ON CONFLICT (kind, source_id) DO UPDATE SET author_id = EXCLUDED.author_id, title = EXCLUDED.title, body = EXCLUDED.body, \
     hashtags = EXCLUDED.hashtags, \
     username = CASE WHEN EXCLUDED.username = '' THEN search_documents.username ELSE EXCLUDED.username END, \
     popularity = EXCLUDED.popularity, source_created_at = EXCLUDED.source_created_at, \
     source_version = EXCLUDED.source_version, deleted_at = NULL, indexed_at = now() \
     WHERE search_documents.source_version < EXCLUDED.source_version \
     RETURNING id";
/// Turns a document into a tombstone at `version` (inserting one when the removal overtook
/// the first upsert). Applies over an older version, or over a live document of the same
/// version (the owner's delete need not bump it); a later upsert of that version then loses.
/// The text goes; a user's username stays (never shown from a tombstone; public in auth), so
/// that a profile made private and then public again, whose push carries no username, is
/// found by it again.
const REMOVE_DOCUMENT: &str = "INSERT INTO search_documents \
     (kind, source_id, source_created_at, source_version, deleted_at, indexed_at) VALUES ($1, $2, now(), $3, now(), now()) \
     ON CONFLICT (kind, source_id) DO UPDATE SET title = '', body = '', hashtags = '{}', popularity = 0, \
     source_version = EXCLUDED.source_version, deleted_at = now(), indexed_at = now() \
     WHERE search_documents.source_version < EXCLUDED.source_version \
     OR (search_documents.source_version = EXCLUDED.source_version AND search_documents.deleted_at IS NULL) \
     RETURNING id";
const POST_TAGS: &str = "SELECT h.tag FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id WHERE ph.post_id = $1";
const TAG_POST: &str = "INSERT INTO post_hashtags (hashtag_id, post_id, post_created_at) \
     SELECT h.id, $2, $3 FROM hashtags h WHERE h.tag = $1 ON CONFLICT (hashtag_id, post_id) DO NOTHING RETURNING hashtag_id";
const UNTAG_POST: &str = "DELETE FROM post_hashtags ph USING hashtags h \
     WHERE h.tag = $1 AND ph.hashtag_id = h.id AND ph.post_id = $2 RETURNING ph.hashtag_id";
/// One atomic step of a tag's count (the row lock serialises concurrent posts); a use also
/// moves `last_used_at`.
const COUNT_HASHTAG: &str = "UPDATE hashtags SET post_count = post_count + $2, \
     last_used_at = CASE WHEN $2 > 0 THEN now() ELSE last_used_at END WHERE id = $1";
/// The hashtag's own document, following its count (a tombstone while no post carries it).
/// Runs under the hashtag's row lock, taken by COUNT_HASHTAG in the same transaction.
const SYNC_HASHTAG_DOCUMENT: &str = concat!(
    "INSERT INTO search_documents \
     (kind, source_id, title, popularity, source_created_at, deleted_at) \
     SELECT ",
    search_documents::kind_sql!(hashtag),
    ", h.id, h.tag, h.post_count, h.first_used_at, CASE WHEN h.post_count > 0 THEN NULL ELSE now() END \
     FROM hashtags h WHERE h.id = $1 \
     ON CONFLICT (kind, source_id) DO UPDATE SET popularity = EXCLUDED.popularity, deleted_at = EXCLUDED.deleted_at, indexed_at = now()"
);

/// Order keys shared by the ranked lists: `$sort` 2 = newest, 3 = popular, else relevance.
const SEARCH_POSTS: &str = concat!(
    "SELECT d.source_id, d.author_id, ts_rank_cd(d.search_vector, q)::float8 AS score, d.source_created_at \
     FROM search_documents d, websearch_to_tsquery('simple', $1) q \
     WHERE d.kind = ",
    search_documents::kind_sql!(post),
    " AND d.deleted_at IS NULL AND d.search_vector @@ q \
     ORDER BY CASE $2::int WHEN 2 THEN extract(epoch FROM d.source_created_at)::float8 WHEN 3 THEN d.popularity \
     ELSE ts_rank_cd(d.search_vector, q)::float8 END DESC, d.source_id \
     LIMIT $3 OFFSET $4"
);
/// Display name and bio by words; the exact username (any case) ranks first.
const SEARCH_USERS: &str = concat!(
    "SELECT d.source_id, d.username, \
     (ts_rank_cd(d.search_vector, q) + CASE WHEN lower(d.username) = lower($1) THEN 1 ELSE 0 END)::float8 AS score \
     FROM search_documents d, websearch_to_tsquery('simple', $1) q \
     WHERE d.kind = ",
    search_documents::kind_sql!(user),
    " AND d.deleted_at IS NULL AND (d.search_vector @@ q OR lower(d.username) = lower($1)) \
     ORDER BY score DESC, d.source_id LIMIT $2 OFFSET $3"
);
/// Every kind at once (or those of `$2`, empty = all), best match first, with snippets.
const SEARCH_ALL: &str = concat!(
    "SELECT p.kind, p.source_id, p.score, \
     ts_headline('simple', p.title || ' ' || p.body, websearch_to_tsquery('simple', $1), \
     'StartSel=\"\",StopSel=\"\",MaxWords=30,MinWords=10,ShortWord=0') AS snippet \
     FROM (SELECT d.kind, d.source_id, d.title, d.body, \
     (ts_rank_cd(d.search_vector, q) + CASE WHEN d.kind = ",
    search_documents::kind_sql!(user),
    " AND lower(d.username) = lower($1) THEN 1 ELSE 0 END)::float8 AS score \
     FROM search_documents d, websearch_to_tsquery('simple', $1) q \
     WHERE d.deleted_at IS NULL AND (cardinality($2::smallint[]) = 0 OR d.kind = ANY($2::smallint[])) \
     AND (d.search_vector @@ q OR (d.kind = ",
    search_documents::kind_sql!(user),
    " AND lower(d.username) = lower($1))) \
     ORDER BY score DESC, d.kind, d.source_id LIMIT $3 OFFSET $4) p \
     ORDER BY p.score DESC, p.kind, p.source_id"
);
/// AdvancedSearch: an optional query ($1, '' for none) and filters; an empty array or NULL
/// bound means "no filter". Hashtag filters match posts only.
const SEARCH_ADVANCED: &str = concat!(
    "SELECT p.kind, p.source_id, p.score, \
     CASE WHEN $1 = '' THEN left(btrim(p.title || ' ' || p.body), 200) \
     ELSE ts_headline('simple', p.title || ' ' || p.body, websearch_to_tsquery('simple', $1), \
     'StartSel=\"\",StopSel=\"\",MaxWords=30,MinWords=10,ShortWord=0') END AS snippet \
     FROM (SELECT d.kind, d.source_id, d.title, d.body, d.source_created_at, d.popularity, \
     COALESCE(ts_rank_cd(d.search_vector, q), 0)::float8 AS score \
     FROM search_documents d LEFT JOIN LATERAL websearch_to_tsquery('simple', NULLIF($1, '')) q ON true \
     WHERE d.deleted_at IS NULL AND ($1 = '' OR d.search_vector @@ q) \
     AND (cardinality($2::smallint[]) = 0 OR d.kind = ANY($2::smallint[])) \
     AND (cardinality($3::uuid[]) = 0 OR d.author_id = ANY($3::uuid[])) \
     AND (cardinality($4::text[]) = 0 OR (d.kind = ",
    search_documents::kind_sql!(post),
    " AND d.hashtags @> $4::text[])) \
     AND ($5::timestamptz IS NULL OR d.source_created_at >= $5) \
     AND ($6::timestamptz IS NULL OR d.source_created_at < $6) \
     ORDER BY CASE $7::int WHEN 2 THEN extract(epoch FROM d.source_created_at)::float8 WHEN 3 THEN d.popularity \
     ELSE COALESCE(ts_rank_cd(d.search_vector, q), 0)::float8 END DESC, d.kind, d.source_id \
     LIMIT $8 OFFSET $9) p \
     ORDER BY CASE $7::int WHEN 2 THEN extract(epoch FROM p.source_created_at)::float8 WHEN 3 THEN p.popularity \
     ELSE p.score END DESC, p.kind, p.source_id"
);
/// Hashtags some live post carries, starting with `$1`, most used first.
const SEARCH_HASHTAGS: &str = "SELECT id, tag, post_count, last_used_at FROM hashtags \
     WHERE starts_with(tag, $1) AND post_count > 0 ORDER BY post_count DESC, tag LIMIT $2 OFFSET $3";
/// Posts carrying `$1`, newest first, keyset-paged on (post_created_at, post_id).
const POSTS_BY_HASHTAG: &str = concat!(
    "SELECT ph.post_id, d.author_id, ph.post_created_at \
     FROM hashtags h JOIN post_hashtags ph ON ph.hashtag_id = h.id \
     JOIN search_documents d ON d.kind = ",
    search_documents::kind_sql!(post),
    " AND d.source_id = ph.post_id AND d.deleted_at IS NULL \
     WHERE h.tag = $1 AND ($2::timestamptz IS NULL OR (ph.post_created_at, ph.post_id) < ($2::timestamptz, $3::uuid)) \
     ORDER BY ph.post_created_at DESC, ph.post_id DESC LIMIT $4"
);

/// Logged queries completing `$1` that found something in the last 30 days and that either
/// the searcher `$3` ran, or at least `$4` distinct users ran (an aggregate that names nobody).
/// The score counts those users only above the threshold, so a query of the searcher's own
/// does not tell how many others (fewer than `$4`) ran it too; the searcher's own runs weigh 2.
const SUGGEST_QUERIES: &str = "SELECT normalized_query, \
     (CASE WHEN count(DISTINCT user_id) >= $4 THEN count(DISTINCT user_id) ELSE 0 END \
     + 2 * count(*) FILTER (WHERE user_id = $3))::float8 AS score FROM search_queries \
     WHERE created_at >= now() - interval '30 days' AND starts_with(normalized_query, $1) AND result_count > 0 \
     GROUP BY normalized_query HAVING count(DISTINCT user_id) >= $4 OR count(*) FILTER (WHERE user_id = $3) > 0 \
     ORDER BY score DESC, normalized_query LIMIT $2";
const SUGGEST_USERS: &str = concat!(
    "SELECT source_id, CASE WHEN title = '' THEN username ELSE title END, \
     (ts_rank_cd(search_vector, to_tsquery('simple', $1)) + CASE WHEN starts_with(lower(username), $2) THEN 1 ELSE 0 END)::float8 AS score \
     FROM search_documents WHERE kind = ",
    search_documents::kind_sql!(user),
    " AND deleted_at IS NULL \
     AND (search_vector @@ to_tsquery('simple', $1) OR starts_with(lower(username), $2)) \
     ORDER BY score DESC, source_id LIMIT $3"
);
const SUGGEST_HASHTAGS: &str = "SELECT id, tag, post_count::float8 FROM hashtags \
     WHERE starts_with(tag, $1) AND post_count > 0 ORDER BY post_count DESC, tag LIMIT $2";

/// Distinct users per normalised query in the window ending now ($1 seconds long) and the
/// window before it, for the queries at least `$3` distinct users ran in the window.
const TRENDING: &str = "SELECT normalized_query, \
     count(DISTINCT user_id) FILTER (WHERE created_at >= now() - make_interval(secs => $1)) AS current, \
     count(DISTINCT user_id) FILTER (WHERE created_at < now() - make_interval(secs => $1)) AS previous \
     FROM search_queries WHERE created_at >= now() - make_interval(secs => 2 * $1) AND created_at <= now() \
     GROUP BY normalized_query HAVING count(DISTINCT user_id) FILTER (WHERE created_at >= now() - make_interval(secs => $1)) >= $3 \
     ORDER BY current DESC, normalized_query LIMIT $2";
const ANALYTICS_TOTALS: &str = "SELECT count(*), count(DISTINCT user_id), count(*) FILTER (WHERE result_count = 0) \
     FROM search_queries WHERE created_at >= $1 AND created_at < $2";
const ANALYTICS_TOP: &str = "SELECT normalized_query, count(*) FROM search_queries \
     WHERE created_at >= $1 AND created_at < $2 AND (NOT $3 OR result_count = 0) \
     GROUP BY normalized_query ORDER BY count(*) DESC, normalized_query LIMIT $4";

fn error(table: &'static str) -> impl Fn(sqlx::Error) -> RepoError {
    move |e| RepoError::from_sqlx(table, e)
}

/// A post or user document as pushed, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub kind: i16,
    pub id: Uuid,
    pub author_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub hashtags: Vec<String>,
    pub username: String,
    pub popularity: f64,
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

/// Writes `doc` unless it is not newer than what was applied; true when it wrote.
pub async fn upsert_document(db: &mut PgConnection, doc: &Document) -> RepoResult<bool> {
    let row = sqlx::query(UPSERT_DOCUMENT)
        .bind(doc.kind)
        .bind(doc.id)
        .bind(doc.author_id)
        .bind(&doc.title)
        .bind(&doc.body)
        .bind(&doc.hashtags)
        .bind(&doc.username)
        .bind(doc.popularity)
        .bind(doc.created_at)
        .bind(doc.version)
        .fetch_optional(db)
        .await
        .map_err(error("search_documents"))?;
    Ok(row.is_some())
}

/// Leaves a tombstone at `version` unless a newer change was applied; true when it wrote.
pub async fn remove_document(db: &mut PgConnection, kind: i16, id: Uuid, version: i64) -> RepoResult<bool> {
    let row = sqlx::query(REMOVE_DOCUMENT).bind(kind).bind(id).bind(version).fetch_optional(db).await.map_err(error("search_documents"))?;
    Ok(row.is_some())
}

/// The tags `post` is filed under now.
pub async fn post_tags(db: &mut PgConnection, post: Uuid) -> RepoResult<Vec<String>> {
    sqlx::query_scalar(POST_TAGS).bind(post).fetch_all(db).await.map_err(error("post_hashtags"))
}

/// Files `post` under `tag` (creating the tag); the tag's id when this call filed it.
pub async fn tag_post(db: &mut PgConnection, tag: &str, post: Uuid, post_created_at: DateTime<Utc>) -> RepoResult<Option<Uuid>> {
    let new = hashtags::New { id: None, tag: tag.to_owned(), post_count: None, first_used_at: None, last_used_at: None };
    hashtags::insert_if_absent_by_tag(&mut *db, &new).await?;
    sqlx::query_scalar(TAG_POST).bind(tag).bind(post).bind(post_created_at).fetch_optional(db).await.map_err(error("post_hashtags"))
}

/// Takes `post` off `tag`; the tag's id when this call removed it.
pub async fn untag_post(db: &mut PgConnection, tag: &str, post: Uuid) -> RepoResult<Option<Uuid>> {
    sqlx::query_scalar(UNTAG_POST).bind(tag).bind(post).fetch_optional(db).await.map_err(error("post_hashtags"))
}

/// Moves the tag's post count by `by` and its document along.
pub async fn count_hashtag(db: &mut PgConnection, hashtag: Uuid, by: i64) -> RepoResult<()> {
    sqlx::query(COUNT_HASHTAG).bind(hashtag).bind(by).execute(&mut *db).await.map_err(error("hashtags"))?;
    sqlx::query(SYNC_HASHTAG_DOCUMENT).bind(hashtag).execute(db).await.map_err(error("search_documents"))?;
    Ok(())
}

/// A post hit: id, author, score, creation time.
pub type PostHit = (Uuid, Option<Uuid>, f64, DateTime<Utc>);

pub async fn search_posts(db: &mut PgConnection, query: &str, sort: i32, limit: i64, offset: i64) -> RepoResult<Vec<PostHit>> {
    let rows = sqlx::query(SEARCH_POSTS).bind(query).bind(sort).bind(limit).bind(offset).fetch_all(db).await.map_err(error("search_documents"))?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(error("search_documents"))
}

/// A user hit: id, username, score.
pub async fn search_users(db: &mut PgConnection, query: &str, limit: i64, offset: i64) -> RepoResult<Vec<(Uuid, String, f64)>> {
    let rows = sqlx::query(SEARCH_USERS).bind(query).bind(limit).bind(offset).fetch_all(db).await.map_err(error("search_documents"))?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>().map_err(error("search_documents"))
}

/// A mixed hit: kind, id, score, snippet.
pub type Hit = (i16, Uuid, f64, String);

fn hits(rows: Vec<sqlx::postgres::PgRow>) -> RepoResult<Vec<Hit>> {
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(error("search_documents"))
}

pub async fn search_all(db: &mut PgConnection, query: &str, kinds: &[i16], limit: i64, offset: i64) -> RepoResult<Vec<Hit>> {
    hits(sqlx::query(SEARCH_ALL).bind(query).bind(kinds).bind(limit).bind(offset).fetch_all(db).await.map_err(error("search_documents"))?)
}

/// AdvancedSearch's filters, validated.
#[derive(Debug, Default)]
pub struct Filters {
    pub query: String,
    pub kinds: Vec<i16>,
    pub authors: Vec<Uuid>,
    pub hashtags: Vec<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub sort: i32,
}

pub async fn search_advanced(db: &mut PgConnection, f: &Filters, limit: i64, offset: i64) -> RepoResult<Vec<Hit>> {
    let rows = sqlx::query(SEARCH_ADVANCED)
        .bind(&f.query)
        .bind(&f.kinds)
        .bind(&f.authors)
        .bind(&f.hashtags)
        .bind(f.created_after)
        .bind(f.created_before)
        .bind(f.sort)
        .bind(limit)
        .bind(offset)
        .fetch_all(db)
        .await
        .map_err(error("search_documents"))?;
    hits(rows)
}

/// A hashtag: id, tag, post count, last use.
pub type HashtagRow = (Uuid, String, i64, DateTime<Utc>);

pub async fn search_hashtags(db: &mut PgConnection, prefix: &str, limit: i64, offset: i64) -> RepoResult<Vec<HashtagRow>> {
    let rows = sqlx::query(SEARCH_HASHTAGS).bind(prefix).bind(limit).bind(offset).fetch_all(db).await.map_err(error("hashtags"))?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(error("hashtags"))
}

/// Posts tagged `tag` after the keyset position `after` (creation time, post id).
pub async fn posts_by_hashtag(db: &mut PgConnection, tag: &str, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> RepoResult<Vec<PostHit>> {
    let rows = sqlx::query(POSTS_BY_HASHTAG)
        .bind(tag)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1))
        .bind(limit)
        .fetch_all(db)
        .await
        .map_err(error("post_hashtags"))?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, 0.0, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>().map_err(error("post_hashtags"))
}

/// Logged queries starting with `prefix` that `user` ran or at least `min_users` distinct
/// users ran, the searcher's own weighing more.
pub async fn suggest_queries(db: &mut PgConnection, prefix: &str, limit: i64, user: Option<Uuid>, min_users: i64) -> RepoResult<Vec<(String, f64)>> {
    let rows =
        sqlx::query(SUGGEST_QUERIES).bind(prefix).bind(limit).bind(user).bind(min_users).fetch_all(db).await.map_err(error("search_queries"))?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, sqlx::Error>>().map_err(error("search_queries"))
}

/// Users whose names complete `tsquery` (see `text::prefix_tsquery`) or whose username starts
/// with `prefix`: id, shown text, score.
pub async fn suggest_users(db: &mut PgConnection, tsquery: &str, prefix: &str, limit: i64) -> RepoResult<Vec<(Uuid, String, f64)>> {
    let rows = sqlx::query(SUGGEST_USERS).bind(tsquery).bind(prefix).bind(limit).fetch_all(db).await.map_err(error("search_documents"))?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>().map_err(error("search_documents"))
}

pub async fn suggest_hashtags(db: &mut PgConnection, prefix: &str, limit: i64) -> RepoResult<Vec<(Uuid, String, f64)>> {
    let rows = sqlx::query(SUGGEST_HASHTAGS).bind(prefix).bind(limit).fetch_all(db).await.map_err(error("hashtags"))?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>().map_err(error("hashtags"))
}

/// Normalised queries at least `min_users` distinct users ran in the window, with their
/// distinct users in the current and the previous window.
pub async fn trending(db: &mut PgConnection, window_seconds: f64, limit: i64, min_users: i64) -> RepoResult<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(TRENDING).bind(window_seconds).bind(limit).bind(min_users).fetch_all(db).await.map_err(error("search_queries"))?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect::<Result<_, sqlx::Error>>().map_err(error("search_queries"))
}

/// Total queries, distinct signed-in users, queries without results in `[start, end)`.
pub async fn analytics_totals(db: &mut PgConnection, start: DateTime<Utc>, end: DateTime<Utc>) -> RepoResult<(i64, i64, i64)> {
    let row = sqlx::query(ANALYTICS_TOTALS).bind(start).bind(end).fetch_one(db).await.map_err(error("search_queries"))?;
    (|| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))().map_err(error("search_queries"))
}

/// The most frequent normalised queries in `[start, end)`, only those without results when
/// `zero_only`.
pub async fn analytics_top(
    db: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zero_only: bool,
    limit: i64,
) -> RepoResult<Vec<(String, i64)>> {
    let rows = sqlx::query(ANALYTICS_TOP).bind(start).bind(end).bind(zero_only).bind(limit).fetch_all(db).await.map_err(error("search_queries"))?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect::<Result<_, sqlx::Error>>().map_err(error("search_queries"))
}
