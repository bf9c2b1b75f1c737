//! Who is looking, and what a private profile shows them.
//!
//! A profile is PUBLIC or PRIVATE (`profiles.visibility`, set by UpdateUserProfile). A public
//! profile shows everything to everyone. A private one shows **in full** (bio, location,
//! website, and its follower and following lists) only to
//! - the user themself,
//! - their followers (a follow is never refused for visibility: the user sees who follows
//!   them and can block),
//! - a nova service calling as itself, with no end user (it is trusted with more where the
//!   RPC's policy admits services; it must not show what it read to end users).
//!
//! Everyone else (another user, an anonymous caller, a service serving another user) sees its
//! **outline**: user id, display name, avatar, visibility, follower and following counts,
//! times and version, so that posts and messages can still name their author. The username
//! lives in auth and stays public there. The lists are `PERMISSION_DENIED` for them (the
//! profile itself is visible, so hiding its existence would be pointless), and searches do
//! not list the profile at all: user's SearchUsers lists private profiles only to those who
//! see them in full, and search's index, whose answers are shared by every caller, never holds
//! them (see `changes`). A private user still appears in the lists of public users they
//! follow or who follow them: that edge belongs to both.

use std::collections::HashSet;

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::identity::Principal;
use nova_user::repo::profiles::{Row, Visibility};
use nova_user::{LogicError, pb};

use crate::profiles::to_proto;
use crate::{UserLogic, sql};

/// Whose eyes a read answers for (the audience rule: the end user when there is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// Nobody signed in.
    Anonymous,
    /// This end user, in person or through a service serving them.
    User(Uuid),
    /// A nova service calling as itself.
    Trusted,
}

impl Viewer {
    pub fn of(principal: &Principal) -> Self {
        match principal {
            Principal::Anonymous => Viewer::Anonymous,
            Principal::User(user) => Viewer::User(user.id),
            Principal::Service(_) => Viewer::Trusted,
        }
    }

    /// The end user looking, if any.
    pub fn user(self) -> Option<Uuid> {
        match self {
            Viewer::User(id) => Some(id),
            Viewer::Anonymous | Viewer::Trusted => None,
        }
    }

    /// Whether this viewer sees `row` in full without asking who follows whom.
    fn sees_without_follow(self, row: &Row) -> bool {
        row.visibility == Visibility::Public || self == Viewer::Trusted || self.user() == Some(row.user_id)
    }
}

/// What everyone may see of a private profile: its outline (see the module doc).
pub fn outline(profile: pb::UserProfile) -> pb::UserProfile {
    pb::UserProfile { bio: String::new(), location: String::new(), website_url: String::new(), ..profile }
}

impl UserLogic {
    /// The ids among `rows` whose profile `viewer` sees in full: one query for the follows of
    /// the private profiles of others, none when there are no such profiles.
    pub(crate) async fn seen_in_full(&self, viewer: Viewer, rows: &[&Row]) -> Result<HashSet<Uuid>, LogicError> {
        let mut full: HashSet<Uuid> = rows.iter().filter(|row| viewer.sees_without_follow(row)).map(|row| row.user_id).collect();
        let others: Vec<Uuid> = rows.iter().map(|row| row.user_id).filter(|id| !full.contains(id)).collect();
        if let (Some(user), false) = (viewer.user(), others.is_empty()) {
            let mut conn = self.db.acquire().await.map_err(|e| LogicError::internal("acquiring a connection", e))?;
            full.extend(sql::followed_among(&mut conn, user, &others).await?);
        }
        Ok(full)
    }

    /// `row` as `viewer` may see it.
    pub(crate) async fn profile_for(&self, viewer: Viewer, row: &Row) -> Result<pb::UserProfile, LogicError> {
        let full = self.seen_in_full(viewer, &[row]).await?;
        Ok(if full.contains(&row.user_id) { to_proto(row) } else { outline(to_proto(row)) })
    }

    /// PERMISSION_DENIED unless `viewer` sees `row` in full: the follower and following lists
    /// of a private profile (`what` names the list).
    pub(crate) async fn require_full_view(&self, viewer: Viewer, row: &Row, what: &str) -> Result<(), LogicError> {
        if self.seen_in_full(viewer, &[row]).await?.contains(&row.user_id) {
            return Ok(());
        }
        Err(LogicError::PermissionDenied(format!(
            "user_id: {} has a private profile; its {what} are visible only to the user and their followers",
            row.user_id
        )))
    }
}
