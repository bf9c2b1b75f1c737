//! SearchUsers: live profiles whose display name starts with the query, ignoring case, in
//! `(lower(display_name), user_id)` order (byte order of the lowered name) over the index
//! `profiles_lower_display_name_collate_ucs_basic_user_id_idx`, whose range the prefix
//! bounds; users who block the searcher are left out, and so are private profiles the searcher
//! does not see in full (see `audience`): a private profile is found only by the user and
//! their followers.
//! Only materialised profiles are found: a user nobody ever looked up has no row yet (see the
//! crate docs); full-text search over every user belongs to the search service.

use std::collections::HashMap;

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::{parse_uuid, text};
use ::nova_runtime::paging::{decode_token, page_size, split_page};
use nova_user::repo::profiles;
use nova_user::{LogicError, pb};

use crate::audience::Viewer;
use crate::profiles::{MAX_DISPLAY_NAME, to_proto};
use crate::{UserLogic, sql};

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 50;

impl UserLogic {
    /// `searcher_id` is bound to the caller (empty without a user); the viewer decides which
    /// private profiles are listed, so the token binds the page to both.
    pub(crate) async fn search(&self, viewer: Viewer, request: pb::SearchUsersRequest) -> Result<pb::SearchUsersResponse, LogicError> {
        let query = text("query", &request.query)?;
        if query.trim().is_empty() {
            return Err(LogicError::invalid_argument("query must not be empty"));
        }
        if query.chars().count() > MAX_DISPLAY_NAME {
            return Err(LogicError::invalid_argument(format!("query holds more than {MAX_DISPLAY_NAME} characters")));
        }
        let searcher = match request.searcher_id.as_str() {
            "" => None,
            id => Some(parse_uuid("searcher_id", id)?),
        };
        let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
        // PostgreSQL's lower() and Rust's agree on the characters a display name holds in
        // practice; the token binds the page to the exact query and searcher.
        let prefix = query.to_lowercase();
        // The caller's user, whatever the field says (the policy bound it to them already).
        let searcher = sql::Searcher { user: viewer.user().or(searcher), trusted: viewer == Viewer::Trusted };
        let list = format!("SearchUsers/{}/{}/{prefix}", searcher.user.map(|s| s.to_string()).unwrap_or_default(), searcher.trusted);
        let after = decode_token::<(String, String)>(&list, &request.page_token)?
            .map(|(name, id)| Uuid::parse_str(&id).map(|id| (name, id)))
            .transpose()
            .map_err(|_| LogicError::invalid_argument("page_token is not a token this list returned; start again with an empty page_token"))?;
        let limit = i64::try_from(size + 1).unwrap_or(i64::MAX);
        let mut conn = self.db.acquire().await.map_err(|e| LogicError::internal("acquiring a connection", e))?;
        let hits = sql::search(&mut conn, &prefix, searcher, after.as_ref(), limit).await?;
        let (hits, next_page_token) = split_page(hits, size, &list, |(name, id)| (name.clone(), id.to_string()));
        let ids: Vec<Uuid> = hits.iter().map(|(_, id)| *id).collect();
        let mut rows: HashMap<Uuid, profiles::Row> = profiles::get_many(&mut *conn, &ids).await?.into_iter().map(|r| (r.user_id, r)).collect();
        // A profile deleted between the two reads is simply left out of the page.
        let found = ids.iter().filter_map(|id| rows.remove(id)).map(|row| to_proto(&row)).collect();
        Ok(pb::SearchUsersResponse { profiles: found, next_page_token })
    }
}
