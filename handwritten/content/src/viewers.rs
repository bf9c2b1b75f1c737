//! Who sees what. The viewer of a call comes from the caller the server established (its
//! token, its certificate), never from a request field alone: a `viewer_id` is an acting field,
//! bound to the caller before the handler runs, and an empty one with nobody signed in is the
//! anonymous audience, never a trusted read. Only a service calling as itself that the RPC's
//! policy lists in `services` (feed, for the feed reads) is trusted with every live post.
//!
//! How a viewer relates to an author (follower, blocked either way) is asked of the user
//! service, fail-closed: when it cannot answer, the call fails UNAVAILABLE and shows nothing.

use std::collections::{HashMap, HashSet};

use ::nova_runtime::codegen::uuid::Uuid;
use ::nova_runtime::identity::Principal;
use futures_util::future::try_join_all;
use nova_content::repo::posts::{self, Visibility};
use nova_content::{CallContext, LogicError};

use crate::ContentLogic;
use crate::convert::optional_uuid;

/// Who a read is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// A service calling as itself that the RPC's policy lists (`services`): sees every live
    /// post. Never an end user, never a service serving one.
    Trusted,
    /// Nobody signed in, or a service calling as itself that the RPC does not list: sees what
    /// anyone may see (public posts of authors).
    Anonymous,
    /// An end user, in person or through a service serving them.
    User(Uuid),
}

impl Viewer {
    /// The viewer of a call whose request names it in the acting field `field` (holding
    /// `value`, already bound to the caller by the generated server): that user when set,
    /// otherwise who calls (see [`Viewer::caller`]). INVALID_ARGUMENT naming `field` when it
    /// is not a UUID.
    pub fn named(ctx: &CallContext, field: &str, value: &str) -> Result<Viewer, LogicError> {
        Ok(match optional_uuid(field, value)? {
            Some(user) => Viewer::User(user),
            None => Viewer::caller(ctx),
        })
    }

    /// The viewer of a call whose request names none: the end user the call acts for, a
    /// service the RPC's policy lists calling as itself (trusted), or else anonymous.
    pub fn caller(ctx: &CallContext) -> Viewer {
        match (&ctx.principal, ctx.listed_service()) {
            (Principal::User(user), _) => Viewer::User(user.id),
            (_, Some(_)) => Viewer::Trusted,
            (Principal::Service(_) | Principal::Anonymous, None) => Viewer::Anonymous,
        }
    }
}

/// How a viewer stands towards one author, as far as visibility goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A trusted service as itself (see [`Viewer::Trusted`]).
    Trusted,
    Author,
    Follower,
    /// Anyone else: a signed-in user who does not follow the author, or nobody signed in.
    Anyone,
    /// The author blocked the viewer or the viewer blocked the author: sees nothing.
    Blocked,
}

impl Audience {
    /// Whether this audience sees a post of this visibility.
    pub fn sees(self, visibility: Visibility) -> bool {
        match self {
            Audience::Trusted | Audience::Author => true,
            Audience::Follower => visibility != Visibility::Private,
            Audience::Anyone => visibility == Visibility::Public,
            Audience::Blocked => false,
        }
    }

    /// The visibilities this audience sees.
    pub fn visible(self) -> Vec<Visibility> {
        Visibility::ALL.into_iter().filter(|v| self.sees(*v)).collect()
    }
}

/// The audiences of one viewer towards several authors.
#[derive(Debug, Clone, Default)]
pub struct Audiences(HashMap<Uuid, Audience>);

impl Audiences {
    /// The audience towards `author`, if it was asked.
    pub fn of(&self, author: Uuid) -> Option<Audience> {
        self.0.get(&author).copied()
    }

    /// Whether the viewer sees `post`; an author that was not asked sees nothing (fail-closed).
    pub fn sees(&self, post: &posts::Row) -> bool {
        self.of(post.author_id).is_some_and(|audience| audience.sees(post.visibility))
    }

    /// Authors of `authors` not asked yet, once each, in the order given.
    pub fn unknown(&self, authors: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
        let mut seen = HashSet::new();
        authors.into_iter().filter(|a| !self.0.contains_key(a) && seen.insert(*a)).collect()
    }

    fn extend(&mut self, other: Audiences) {
        self.0.extend(other.0);
    }
}

impl ContentLogic {
    /// How `viewer` stands towards `author` (user CheckUserRelationship for a user who is not
    /// the author, fail-closed: UNAVAILABLE when user cannot answer).
    pub(crate) async fn audience(&self, author: Uuid, viewer: Viewer) -> Result<Audience, LogicError> {
        let user = match viewer {
            Viewer::Trusted => return Ok(Audience::Trusted),
            Viewer::User(user) if user == author => return Ok(Audience::Author),
            Viewer::User(user) => user,
            // Nobody to block or to follow: what anyone may see.
            Viewer::Anonymous => return Ok(Audience::Anyone),
        };
        let relation = self.relationship(author, user).await?;
        Ok(if relation.blocking || relation.blocked_by {
            Audience::Blocked
        } else if relation.followed_by {
            Audience::Follower
        } else {
            Audience::Anyone
        })
    }

    /// How `viewer` stands towards each of `authors`, asked concurrently (each answer cached
    /// by content's client of user); any failure fails the whole call (fail-closed).
    pub(crate) async fn audiences(&self, viewer: Viewer, authors: impl IntoIterator<Item = Uuid>) -> Result<Audiences, LogicError> {
        let authors = Audiences::default().unknown(authors);
        let answers = try_join_all(authors.iter().map(|author| self.audience(*author, viewer))).await?;
        Ok(Audiences(authors.into_iter().zip(answers).collect()))
    }

    /// Asks for the audiences towards the authors of `authors` not in `known` yet, and adds
    /// them there.
    pub(crate) async fn learn_audiences(
        &self,
        viewer: Viewer,
        known: &mut Audiences,
        authors: impl IntoIterator<Item = Uuid>,
    ) -> Result<(), LogicError> {
        let unknown = known.unknown(authors);
        if !unknown.is_empty() {
            known.extend(self.audiences(viewer, unknown).await?);
        }
        Ok(())
    }

    /// The live post `id` as `viewer` may see it: NOT_FOUND naming `field` when it does not
    /// exist, was deleted or is hidden from the viewer (the same answer for all three, so a
    /// hidden post's existence is not revealed).
    pub(crate) async fn visible_post(&self, field: &str, id: Uuid, viewer: Viewer) -> Result<posts::Row, LogicError> {
        let hidden = || LogicError::not_found(format!("{field}: no post {id}"));
        let row = posts::get(&self.db, id).await?.ok_or_else(hidden)?;
        if self.audience(row.author_id, viewer).await?.sees(row.visibility) { Ok(row) } else { Err(hidden()) }
    }
}
