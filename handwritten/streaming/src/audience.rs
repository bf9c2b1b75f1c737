//! Who may see a stream, watch it and chat, and who may run it.
//!
//! - The **creator** sees everything of their streams and alone may edit, rotate the key, end
//!   them and read their analytics.
//! - Anyone else (signed in or not; a service calling as itself counts as nobody signed in) is
//!   in the stream's **audience** unless the creator blocks them, or the stream is
//!   FOLLOWERS_ONLY and they do not follow the creator (signed out: not a follower).
//! - Outside the audience a stream does not exist: reads answer NOT_FOUND (GetLiveStream,
//!   GetChatMessages, GetStreamViewers), lists leave it out (GetActiveStreams,
//!   GetCreatorStreams), the creator's operations answer NOT_FOUND rather than
//!   PERMISSION_DENIED. Joining and chatting keep their documented PERMISSION_DENIED.
//! - Lists also leave out what is not listed: UNLISTED streams (anyone with the id may watch)
//!   appear only in their creator's GetCreatorStreams.
//!
//! The relationship comes from user's CheckUserRelationship, fail-closed (see `calls`): when
//! user cannot answer, nothing beyond what needs no relationship is shown.

use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::identity::Principal;
use nova_streaming::LogicError;
use nova_streaming::repo::streams::{self, Visibility};

use crate::{StreamingLogic, convert};

/// How a viewer stands towards one creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The viewer is the creator.
    Creator,
    /// The creator blocks the viewer.
    Blocked,
    /// Signed in, a follower of the creator, not blocked.
    Follower,
    /// Signed in, not a follower, not blocked.
    Stranger,
    /// Nobody signed in (or a service as itself).
    SignedOut,
}

impl Standing {
    /// Whether a stream of the creator with `visibility` is the viewer's to watch.
    pub(crate) fn may_watch(self, visibility: Visibility) -> bool {
        match self {
            Standing::Creator | Standing::Follower => true,
            Standing::Blocked => false,
            Standing::Stranger | Standing::SignedOut => visibility != Visibility::FollowersOnly,
        }
    }

    /// The visibilities of the creator's streams that the viewer's lists show.
    pub(crate) fn listed(self) -> &'static [Visibility] {
        match self {
            Standing::Creator => &[Visibility::Public, Visibility::FollowersOnly, Visibility::Unlisted],
            Standing::Follower => &[Visibility::Public, Visibility::FollowersOnly],
            Standing::Stranger | Standing::SignedOut => &[Visibility::Public],
            Standing::Blocked => &[],
        }
    }
}

/// The end user a call is for, if any: a service calling as itself is no viewer.
pub(crate) fn viewer(principal: &Principal) -> Option<Uuid> {
    principal.user_id()
}

impl StreamingLogic {
    /// How `viewer` stands towards `creator` (one CheckUserRelationship when signed in and not
    /// the creator; fail-closed: its failure is the call's).
    pub(crate) async fn standing(&self, creator: Uuid, viewer: Option<Uuid>) -> Result<Standing, LogicError> {
        let Some(viewer) = viewer else { return Ok(Standing::SignedOut) };
        if viewer == creator {
            return Ok(Standing::Creator);
        }
        let relation = self.relation(creator, viewer).await?;
        Ok(if relation.blocking {
            Standing::Blocked
        } else if relation.followed_by {
            Standing::Follower
        } else {
            Standing::Stranger
        })
    }

    /// The stream `id`, if `principal`'s user may watch it; NOT_FOUND naming stream_id, the
    /// same as for no stream, otherwise.
    pub(crate) async fn visible_stream(&self, principal: &Principal, id: Uuid) -> Result<streams::Row, LogicError> {
        let stream = self.stream(id).await?;
        if self.standing(stream.creator_id, viewer(principal)).await?.may_watch(stream.visibility) { Ok(stream) } else { Err(convert::no_stream(id)) }
    }

    /// The stream `id`, if `principal`'s user is its creator: PERMISSION_DENIED naming stream_id
    /// (saying that only the creator may `what`) when they may watch it, NOT_FOUND when not.
    pub(crate) async fn creators_stream(&self, principal: &Principal, id: Uuid, what: &str) -> Result<streams::Row, LogicError> {
        let stream = self.stream(id).await?;
        match self.standing(stream.creator_id, viewer(principal)).await? {
            Standing::Creator => Ok(stream),
            standing if standing.may_watch(stream.visibility) => {
                Err(LogicError::PermissionDenied(format!("stream_id: only the creator of stream {id} may {what}")))
            }
            _ => Err(convert::no_stream(id)),
        }
    }

    /// Whether `viewer` (None: signed out) may watch and chat on `stream`: PERMISSION_DENIED
    /// naming `field` when the creator blocks them, or the stream is for followers and they
    /// are signed out or not one. The creator always may.
    pub(crate) async fn require_audience(&self, field: &str, stream: &streams::Row, viewer: Option<Uuid>) -> Result<(), LogicError> {
        let standing = self.standing(stream.creator_id, viewer).await?;
        if standing.may_watch(stream.visibility) {
            return Ok(());
        }
        let reason = match (standing, viewer) {
            (Standing::Blocked, Some(viewer)) => format!("the creator of stream {} blocks {viewer}", stream.id),
            (Standing::SignedOut, _) => format!("stream {} is for the creator's followers; sign in", stream.id),
            _ => format!("stream {} is for the creator's followers", stream.id),
        };
        Err(LogicError::PermissionDenied(format!("{field}: {reason}")))
    }
}

#[cfg(test)]
mod tests {
    use super::Standing::*;
    use super::*;

    #[test]
    fn who_watches_and_what_lists_show() {
        for visibility in [Visibility::Public, Visibility::FollowersOnly, Visibility::Unlisted] {
            assert!(Creator.may_watch(visibility) && Follower.may_watch(visibility));
            assert!(!Blocked.may_watch(visibility));
            let open = visibility != Visibility::FollowersOnly;
            assert_eq!((Stranger.may_watch(visibility), SignedOut.may_watch(visibility)), (open, open));
            // A list never shows what its reader may not watch.
            for standing in [Creator, Blocked, Follower, Stranger, SignedOut] {
                assert!(!standing.listed().contains(&visibility) || standing.may_watch(visibility), "{standing:?} {visibility:?}");
            }
        }
        assert!(!Follower.listed().contains(&Visibility::Unlisted) && Creator.listed().contains(&Visibility::Unlisted));
    }
}
