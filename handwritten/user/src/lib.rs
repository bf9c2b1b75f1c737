//! Business logic of the user service: profiles, settings, follows and blocks.
//!
//! # How profiles come to exist
//!
//! Auth owns identities, this service owns profiles, and no transaction spans the two
//! databases. Profiles are therefore **materialised lazily**: whenever an RPC needs the
//! profile of an id that has no row, it asks auth (`GetUser`, or `GetUsersByIds` once for a
//! batch; both cached by the client). A live user gets its default profile inserted with
//! `INSERT ... ON CONFLICT DO NOTHING` (display name from the username), then read back, so
//! concurrent first calls all succeed and one row results; an unknown or deleted user is
//! `NOT_FOUND`. Every registered user thus has a profile from the first time anyone looks,
//! without auth ever writing here or Register waiting for this service. A profile row that
//! exists is trusted without asking auth again, so reads stay local: a user deleted in auth
//! after its profile was materialised keeps the profile until this service is told of the
//! deletion (a soft delete of the row; no RPC or event carries it yet). Consequence of
//! laziness: SearchUsers finds only profiles materialised so far.
//!
//! # Relationships
//!
//! Follow, Unfollow, Block and Unblock are idempotent and lock both profiles for their
//! transaction (see [`relations`]). Following someone who blocked you, or whom you blocked,
//! is `FAILED_PRECONDITION`; a block removes follows both ways.
//!
//! # Who sees what
//!
//! The writes act for the caller only (the generated server binds their acting fields to the
//! token's user). The reads answer for the caller too (the audience rule, see [`audience`]):
//! a private profile shows in full to the user, their followers and a service calling as
//! itself, its outline to everyone else, and its lists to the former only.
//!
//! # Caches
//!
//! Every cached read names a user in its `entity` field (`user_id`, or `user_ids` for the
//! batch), and callers cache each answer for whoever asked (nothing here is `shared`, but
//! CheckUserRelationship, which only services ask). Each write invalidates, after its commit,
//! every user whose answers it changed: the edited user for profile and settings edits (which
//! also drops what others saw of a profile turned private), both users for follows and blocks
//! (which changes what one sees of the other's private profile).
//!
//! # Search
//!
//! Every profile created or edited publishes `profiles.changed` in its transaction (see
//! `changes`); search indexes from it. A private profile's event carries nothing but that it
//! is not searchable, as search's answers are the same for everyone.

mod audience;
mod auth;
mod changes;
mod consumer;
mod lists;
mod profiles;
mod relations;
mod search;
mod settings;
mod sql;

use ::nova_runtime::client::Invalidator;
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
use nova_user::wiring::Users;
use nova_user::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};

use crate::audience::Viewer;

/// The business logic of the user service.
#[derive(Debug, Clone)]
pub struct UserLogic {
    db: PgPool,
    /// Whether users exist (built once per process: L1 + L2 cache, endpoint from configuration).
    users: Users,
    /// Drops this service's cached answers about a user, in every caller, after a write.
    invalidator: Invalidator,
}

impl UserLogic {
    pub fn new(dependencies: Dependencies) -> Self {
        let Dependencies { db, invalidator, users, auth: _ } = dependencies;
        UserLogic { db, users, invalidator }
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }
}

impl Logic for UserLogic {
    async fn get_user_profile(&self, ctx: &CallContext, request: pb::GetUserProfileRequest) -> Result<pb::GetUserProfileResponse, LogicError> {
        self.get_profile(Viewer::of(&ctx.principal), request).await
    }

    async fn get_user_profiles_by_ids(
        &self,
        ctx: &CallContext,
        request: pb::GetUserProfilesByIdsRequest,
    ) -> Result<pb::GetUserProfilesByIdsResponse, LogicError> {
        self.get_profiles(Viewer::of(&ctx.principal), request).await
    }

    async fn update_user_profile(
        &self,
        ctx: &CallContext,
        request: pb::UpdateUserProfileRequest,
    ) -> Result<pb::UpdateUserProfileResponse, LogicError> {
        self.update_profile(ctx.principal.user_id(), request).await
    }

    async fn get_user_settings(&self, _ctx: &CallContext, request: pb::GetUserSettingsRequest) -> Result<pb::GetUserSettingsResponse, LogicError> {
        self.get_settings(request).await
    }

    async fn update_user_settings(
        &self,
        _ctx: &CallContext,
        request: pb::UpdateUserSettingsRequest,
    ) -> Result<pb::UpdateUserSettingsResponse, LogicError> {
        self.update_settings(request).await
    }

    async fn follow(&self, _ctx: &CallContext, request: pb::FollowRequest) -> Result<pb::FollowResponse, LogicError> {
        self.follow_user(request).await
    }

    async fn unfollow(&self, _ctx: &CallContext, request: pb::UnfollowRequest) -> Result<pb::UnfollowResponse, LogicError> {
        self.unfollow_user(request).await
    }

    async fn block(&self, _ctx: &CallContext, request: pb::BlockRequest) -> Result<pb::BlockResponse, LogicError> {
        self.block_user(request).await
    }

    async fn unblock(&self, _ctx: &CallContext, request: pb::UnblockRequest) -> Result<pb::UnblockResponse, LogicError> {
        self.unblock_user(request).await
    }

    async fn get_user_followers(&self, ctx: &CallContext, request: pb::GetUserFollowersRequest) -> Result<pb::GetUserFollowersResponse, LogicError> {
        self.followers(Viewer::of(&ctx.principal), request).await
    }

    async fn get_user_following(&self, ctx: &CallContext, request: pb::GetUserFollowingRequest) -> Result<pb::GetUserFollowingResponse, LogicError> {
        self.following(Viewer::of(&ctx.principal), request).await
    }

    async fn check_user_relationship(
        &self,
        _ctx: &CallContext,
        request: pb::CheckUserRelationshipRequest,
    ) -> Result<pb::CheckUserRelationshipResponse, LogicError> {
        self.relationship(request).await
    }

    async fn search_users(&self, ctx: &CallContext, request: pb::SearchUsersRequest) -> Result<pb::SearchUsersResponse, LogicError> {
        self.search(Viewer::of(&ctx.principal), request).await
    }
}

/// Starts the service: builds its auth client and its invalidator once, opens its database
/// (the server waits for it and applies migrations), then serves on `listeners`, with its
/// events relay and consumers when `config.events` is set, until `shutdown` is requested.
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let wiring = Wiring::from_config(&config)?;
    let logic = UserLogic::new(wiring.dependencies.clone());
    wiring.serve(logic, listeners, shutdown).await
}
