//! The searches: FullTextSearch, SearchPosts, SearchUsers, SearchHashtags,
//! GetPostsByHashtag and AdvancedSearch. Each validates its request, runs one statement of
//! `sql` and pages (ranked lists by bounded offset, see `paging`; posts by hashtag by keyset).
//! Ranking is `ts_rank_cd` (cover density: matches close together rank higher) of the
//! `websearch_to_tsquery('simple', query)` against the document's `search_vector`.

use ::nova_runtime::codegen::chrono::{DateTime, Utc};
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{from_timestamp, parse_uuids, timestamp};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_search::{LogicError, pb};

use crate::SearchLogic;
use crate::paging::{self, limit, sql_offset};
use crate::sql::{self, Filters};
use crate::text::{self, MAX_PREFIX, MAX_QUERY};

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;
/// Most authors one AdvancedSearch may filter on (documented in the proto).
const MAX_AUTHORS: usize = 50;
/// Most hashtags one AdvancedSearch may require.
const MAX_HASHTAGS: usize = 10;
/// Longest snippet, in characters (documented in the proto).
const MAX_SNIPPET: usize = 200;

/// The kinds to search as stored numbers; empty means all. INVALID_ARGUMENT for UNSPECIFIED or
/// an unknown value.
fn kinds(values: &[i32]) -> Result<Vec<i16>, LogicError> {
    let mut kinds = Vec::new();
    for value in values {
        match pb::DocumentKind::try_from(*value) {
            Ok(pb::DocumentKind::Unspecified) | Err(_) => {
                return Err(LogicError::invalid_argument(format!("kinds: {value} is not a document kind")));
            }
            Ok(kind) => {
                let number = kind as i16;
                if !kinds.contains(&number) {
                    kinds.push(number);
                }
            }
        }
    }
    Ok(kinds)
}

/// The sort asked for: RELEVANCE when unspecified.
fn sort(value: i32) -> Result<pb::SearchSort, LogicError> {
    match pb::SearchSort::try_from(value) {
        Ok(pb::SearchSort::Unspecified) => Ok(pb::SearchSort::Relevance),
        Ok(sort) => Ok(sort),
        Err(_) => Err(LogicError::invalid_argument(format!("sort: unknown value {value}"))),
    }
}

fn kind_of(number: i16) -> i32 {
    pb::DocumentKind::try_from(i32::from(number)).unwrap_or(pb::DocumentKind::Unspecified) as i32
}

fn hit((kind, id, score, snippet): sql::Hit) -> pb::SearchHit {
    pb::SearchHit { kind: kind_of(kind), id: id.to_string(), score, snippet: snippet.chars().take(MAX_SNIPPET).collect() }
}

fn post_hit((id, author, score, created_at): sql::PostHit) -> pb::PostHit {
    pb::PostHit {
        post_id: id.to_string(),
        author_id: author.map(|a| a.to_string()).unwrap_or_default(),
        score,
        created_at: Some(timestamp(created_at)),
    }
}

impl SearchLogic {
    pub(crate) async fn full_text(&self, request: pb::FullTextSearchRequest) -> Result<pb::FullTextSearchResponse, LogicError> {
        let query = text::required("query", &request.query, MAX_QUERY)?;
        let kinds = kinds(&request.kinds)?;
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let list = paging::list("FullTextSearch", &format!("{kinds:?}/{query}"));
        let offset = paging::offset(&list, &request.page_token)?;
        let mut conn = self.connection().await?;
        let rows = sql::search_all(&mut conn, query, &kinds, limit(size), sql_offset(offset)).await?;
        let (rows, next_page_token) = paging::split(rows, &list, offset, size);
        Ok(pb::FullTextSearchResponse { hits: rows.into_iter().map(hit).collect(), next_page_token })
    }

    pub(crate) async fn posts(&self, request: pb::SearchPostsRequest) -> Result<pb::SearchPostsResponse, LogicError> {
        let query = text::required("query", &request.query, MAX_QUERY)?;
        let sort = sort(request.sort)?;
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let list = paging::list("SearchPosts", &format!("{}/{query}", sort as i32));
        let offset = paging::offset(&list, &request.page_token)?;
        let mut conn = self.connection().await?;
        let rows = sql::search_posts(&mut conn, query, sort as i32, limit(size), sql_offset(offset)).await?;
        let (rows, next_page_token) = paging::split(rows, &list, offset, size);
        Ok(pb::SearchPostsResponse { posts: rows.into_iter().map(post_hit).collect(), next_page_token })
    }

    pub(crate) async fn users(&self, request: pb::SearchUsersRequest) -> Result<pb::SearchUsersResponse, LogicError> {
        let query = text::required("query", &request.query, MAX_QUERY)?;
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let list = paging::list("SearchUsers", query);
        let offset = paging::offset(&list, &request.page_token)?;
        let mut conn = self.connection().await?;
        let rows = sql::search_users(&mut conn, query, limit(size), sql_offset(offset)).await?;
        let (rows, next_page_token) = paging::split(rows, &list, offset, size);
        let users = rows.into_iter().map(|(id, username, score)| pb::UserHit { user_id: id.to_string(), username, score }).collect();
        Ok(pb::SearchUsersResponse { users, next_page_token })
    }

    pub(crate) async fn hashtags(&self, request: pb::SearchHashtagsRequest) -> Result<pb::SearchHashtagsResponse, LogicError> {
        let prefix = text::tag(text::required("query", &request.query, MAX_PREFIX)?);
        if prefix.is_empty() {
            return Err(LogicError::invalid_argument("query must hold more than '#'"));
        }
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let list = paging::list("SearchHashtags", &prefix);
        let offset = paging::offset(&list, &request.page_token)?;
        let mut conn = self.connection().await?;
        let rows = sql::search_hashtags(&mut conn, &prefix, limit(size), sql_offset(offset)).await?;
        let (rows, next_page_token) = paging::split(rows, &list, offset, size);
        let hashtags = rows
            .into_iter()
            .map(|(id, tag, post_count, last_used_at)| pb::Hashtag {
                id: id.to_string(),
                tag,
                post_count,
                last_used_at: Some(timestamp(last_used_at)),
            })
            .collect();
        Ok(pb::SearchHashtagsResponse { hashtags, next_page_token })
    }

    pub(crate) async fn posts_by_hashtag(&self, request: pb::GetPostsByHashtagRequest) -> Result<pb::GetPostsByHashtagResponse, LogicError> {
        let tag = text::tag(text::required("tag", &request.tag, MAX_PREFIX)?);
        if tag.is_empty() {
            return Err(LogicError::invalid_argument("tag must hold more than '#'"));
        }
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let list = paging::list("GetPostsByHashtag", &tag);
        let after: Option<(DateTime<Utc>, Uuid)> = decode_token(&list, &request.page_token)?;
        let mut conn = self.connection().await?;
        let rows = sql::posts_by_hashtag(&mut conn, &tag, after, limit(size)).await?;
        let (rows, next_page_token) = split_page(rows, size, &list, |row| (row.3, row.0));
        Ok(pb::GetPostsByHashtagResponse { posts: rows.into_iter().map(post_hit).collect(), next_page_token })
    }

    pub(crate) async fn advanced(&self, request: pb::AdvancedSearchRequest) -> Result<pb::AdvancedSearchResponse, LogicError> {
        let query = text::optional("query", &request.query, MAX_QUERY)?.to_string();
        let kinds = kinds(&request.kinds)?;
        let authors = parse_uuids("author_ids", &request.author_ids, MAX_AUTHORS)?;
        if request.hashtags.len() > MAX_HASHTAGS {
            return Err(LogicError::invalid_argument(format!(
                "hashtags holds {} entries; at most {MAX_HASHTAGS} are allowed",
                request.hashtags.len()
            )));
        }
        let mut hashtags = Vec::new();
        for (i, value) in request.hashtags.iter().enumerate() {
            let tag = text::tag(text::required(&format!("hashtags[{i}]"), value, MAX_PREFIX)?);
            if tag.is_empty() {
                return Err(LogicError::invalid_argument(format!("hashtags[{i}] must hold more than '#'")));
            }
            if !hashtags.contains(&tag) {
                hashtags.push(tag);
            }
        }
        let created_after = request.created_after.as_ref().map(|t| from_timestamp("created_after", t)).transpose()?;
        let created_before = request.created_before.as_ref().map(|t| from_timestamp("created_before", t)).transpose()?;
        if let (Some(after), Some(before)) = (created_after, created_before)
            && after >= before
        {
            return Err(LogicError::invalid_argument("created_after must be before created_before"));
        }
        let no_filter = kinds.is_empty() && authors.is_empty() && hashtags.is_empty() && created_after.is_none() && created_before.is_none();
        if query.is_empty() && no_filter {
            return Err(LogicError::invalid_argument("query: give a query or at least one filter"));
        }
        let mut sort = sort(request.sort)?;
        // Without a query every match is equally relevant: newest first then.
        if query.is_empty() && sort == pb::SearchSort::Relevance {
            sort = pb::SearchSort::Newest;
        }
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        let filters = Filters { query, kinds, authors, hashtags, created_after, created_before, sort: sort as i32 };
        let list = paging::list("AdvancedSearch", &format!("{filters:?}"));
        let offset = paging::offset(&list, &request.page_token)?;
        let mut conn = self.connection().await?;
        let rows = sql::search_advanced(&mut conn, &filters, limit(size), sql_offset(offset)).await?;
        let (rows, next_page_token) = paging::split(rows, &list, offset, size);
        Ok(pb::AdvancedSearchResponse { hits: rows.into_iter().map(hit).collect(), next_page_token })
    }
}
