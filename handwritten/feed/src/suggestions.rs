//! GetSuggestedUsers: accounts followed by the accounts the user follows (more mutual follows
//! first), then authors of the week's best-scored posts; never the user, whom they follow, or
//! anyone blocked either way.

use std::collections::HashMap;

use ::nova_runtime::codegen::chrono::Utc;
use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::convert::parse_uuid;
use ::nova_runtime::paging::page_size;
use futures_util::future::join_all;
use nova_feed::repo::trending_scores::TimeWindow;
use nova_feed::{LogicError, pb};

use crate::FeedLogic;
use crate::decay;
use crate::paging;
use crate::queries;

/// Default and largest page (documented in the proto).
const DEFAULT_PAGE: u32 = 10;
const MAX_PAGE: u32 = 50;
/// Whose follows are looked at: the accounts the user followed most recently (one cached
/// GetUserFollowing page of each, concurrently).
const SAMPLED_FOLLOWEES: usize = 20;
/// How many popular authors complete the list.
const POPULAR_AUTHORS: i64 = 50;

struct Suggestion {
    user_id: Uuid,
    score: f64,
    reason: pb::SuggestionReason,
    mutual: i32,
}

/// Scores: a mutual-follows suggestion scores its count of mutual follows (1 or more); a
/// popular author `1 / (2 + rank)` (below 1), so every mutual suggestion comes first. The
/// list is computed afresh for each page (bounded by the constants above) and paged by
/// `(score, user id)`; blocked accounts are dropped from a page after it is cut.
pub async fn get_suggested_users(logic: &FeedLogic, request: pb::GetSuggestedUsersRequest) -> Result<pb::GetSuggestedUsersResponse, LogicError> {
    let user = parse_uuid("user_id", &request.user_id)?;
    let size = page_size(request.page_size, DEFAULT_PAGE, MAX_PAGE)?;
    let list = format!("GetSuggestedUsers/{user}");
    let after = paging::decode_position(&list, &request.page_token)?;
    let followed = logic.followed("user_id", user).await?;
    let excluded = |id: &Uuid| *id == user || followed.contains(id);

    let mut mutual: HashMap<Uuid, i32> = HashMap::new();
    let samples = join_all(followed.iter().take(SAMPLED_FOLLOWEES).map(|followee| logic.following_sample(*followee))).await;
    for sample in samples {
        for candidate in sample? {
            if !excluded(&candidate) {
                *mutual.entry(candidate).or_default() += 1;
            }
        }
    }
    let mut suggestions: Vec<Suggestion> = mutual
        .into_iter()
        .map(|(user_id, count)| Suggestion { user_id, score: f64::from(count), reason: pb::SuggestionReason::MutualFollows, mutual: count })
        .collect();
    let since = Utc::now() - decay::span(TimeWindow::Week);
    let popular = queries::popular_authors(&logic.db, TimeWindow::Week, since, POPULAR_AUTHORS).await?;
    for (rank, author) in popular.into_iter().enumerate() {
        if !excluded(&author) && !suggestions.iter().any(|s| s.user_id == author) {
            let score = 1.0 / (2.0 + rank as f64);
            suggestions.push(Suggestion { user_id: author, score, reason: pb::SuggestionReason::Popular, mutual: 0 });
        }
    }

    paging::sort_best_first(&mut suggestions, |s| (s.score, s.user_id));
    let (page, next_page_token) = paging::window(suggestions, after, size, &list, |s| (s.score, s.user_id));
    let ids: Vec<Uuid> = page.iter().map(|s| s.user_id).collect();
    let blocked = logic.blocked_either_way(user, &ids).await?;
    let users = page
        .into_iter()
        .filter(|s| !blocked.contains(&s.user_id))
        .map(|s| pb::SuggestedUser { user_id: s.user_id.to_string(), score: s.score, reason: s.reason as i32, mutual_follow_count: s.mutual })
        .collect();
    Ok(pb::GetSuggestedUsersResponse { users, next_page_token })
}
