// Scaffolded once by nova-gen; yours to edit. nova-gen never overwrites this file.

//! Business logic of the auth service: identity, credentials (a bounded Argon2id pool,
//! sign-in throttling), sessions, tokens and the keys that sign them (sealed at rest), the
//! revocations every service applies, and permissions. `impl Logic` only dispatches; each
//! concern lives in its own module.

mod accounts;
mod input;
mod issuer;
mod kek;
mod keys;
mod login;
mod maintenance;
mod password_change;
mod passwords;
mod permissions;
mod revocations;
mod sessions;
mod settings;
pub mod sql;
mod throttle;
mod tokens;
mod users;
mod verification;

use std::sync::Arc;

use ::nova_runtime::client::Invalidator;
use ::nova_runtime::codegen::sqlx::PgPool;
use ::nova_runtime::server::{Listeners, ServiceConfig, Shutdown, StartError};
use nova_auth::{CallContext, Dependencies, Logic, LogicError, Wiring, pb};

pub use kek::KeyEncryptionKey;
pub use keys::MAX_RETIRED_KEYS;
pub use settings::AuthSettings;
pub use verification::LocalKeySource;

/// How many ids one `GetUsersByIds` call may ask for (documented in the proto).
pub const MAX_BATCH: usize = 100;

/// The business logic of the auth service.
#[derive(Debug, Clone)]
pub struct AuthLogic {
    db: PgPool,
    settings: AuthSettings,
    keys: Arc<keys::KeyStore>,
    hashing: Arc<passwords::HashPool>,
    invalidator: Invalidator,
}

impl AuthLogic {
    /// The logic over the spec's dependencies, sealing signing keys under `kek`.
    pub fn new(dependencies: Dependencies, settings: AuthSettings, kek: KeyEncryptionKey) -> Self {
        let Dependencies { db, invalidator } = dependencies;
        let keys = Arc::new(keys::KeyStore::new(db.clone(), kek, settings.key_grace, settings.key_cache_ttl));
        let hashing = Arc::new(passwords::HashPool::new(settings.hash_concurrency, settings.hash_queue));
        AuthLogic { db, settings, keys, hashing, invalidator }
    }

    /// Keys and revocations as every verifier sees them, read from this service's own database:
    /// what the runtime's verifier uses inside auth instead of calling GetTokenVerification.
    pub fn key_source(&self) -> LocalKeySource {
        LocalKeySource::new(self.db.clone(), self.settings.key_grace)
    }

    /// The service's own database.
    pub fn db(&self) -> &PgPool {
        &self.db
    }

    fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    fn keys(&self) -> &keys::KeyStore {
        &self.keys
    }

    /// Where passwords are hashed and checked, a bounded number at a time.
    fn hashing(&self) -> &passwords::HashPool {
        &self.hashing
    }

    /// Drops callers' cached reads of an entity (a user id) after a write commits.
    fn invalidator(&self) -> &Invalidator {
        &self.invalidator
    }

    /// Drops callers' cached reads of user `id` after a change of the user's account, sessions
    /// or permissions commits: everything they cache by the user's id (GetUser,
    /// CheckUserExists, the permission reads), every answer computed for the user (clients tag
    /// per-user answers with the viewer, so GetUserPermissions asked with an empty `user_id`
    /// goes too), and VerifyToken's answers about the user's tokens (tagged by the token's
    /// subject).
    async fn forget_user(&self, id: ::nova_runtime::codegen::uuid::Uuid) {
        self.invalidator.entity(&id.to_string()).await;
    }
}

impl Logic for AuthLogic {
    async fn register(&self, ctx: &CallContext, request: pb::RegisterRequest) -> Result<pb::RegisterResponse, LogicError> {
        users::register(self, ctx, request).await
    }

    async fn login(&self, ctx: &CallContext, request: pb::LoginRequest) -> Result<pb::LoginResponse, LogicError> {
        login::login(self, ctx, request).await
    }

    async fn refresh(&self, _ctx: &CallContext, request: pb::RefreshRequest) -> Result<pb::RefreshResponse, LogicError> {
        sessions::refresh(self, request).await
    }

    async fn logout(&self, ctx: &CallContext, request: pb::LogoutRequest) -> Result<pb::LogoutResponse, LogicError> {
        sessions::logout(self, ctx, request).await
    }

    async fn get_user(&self, ctx: &CallContext, request: pb::GetUserRequest) -> Result<pb::GetUserResponse, LogicError> {
        accounts::get_user(self, ctx, request).await
    }

    async fn get_users_by_ids(&self, ctx: &CallContext, request: pb::GetUsersByIdsRequest) -> Result<pb::GetUsersByIdsResponse, LogicError> {
        accounts::get_users_by_ids(self, ctx, request).await
    }

    async fn verify_token(&self, _ctx: &CallContext, request: pb::VerifyTokenRequest) -> Result<pb::VerifyTokenResponse, LogicError> {
        sessions::verify(self, request).await
    }

    async fn check_user_exists(&self, _ctx: &CallContext, request: pb::CheckUserExistsRequest) -> Result<pb::CheckUserExistsResponse, LogicError> {
        accounts::check_user_exists(self, request).await
    }

    async fn get_user_by_email(&self, _ctx: &CallContext, request: pb::GetUserByEmailRequest) -> Result<pb::GetUserByEmailResponse, LogicError> {
        accounts::get_user_by_email(self, request).await
    }

    async fn list_users(&self, ctx: &CallContext, request: pb::ListUsersRequest) -> Result<pb::ListUsersResponse, LogicError> {
        accounts::list_users(self, ctx, request).await
    }

    async fn check_permission(&self, _ctx: &CallContext, request: pb::CheckPermissionRequest) -> Result<pb::CheckPermissionResponse, LogicError> {
        permissions::check(self, request).await
    }

    async fn get_user_permissions(
        &self,
        _ctx: &CallContext,
        request: pb::GetUserPermissionsRequest,
    ) -> Result<pb::GetUserPermissionsResponse, LogicError> {
        permissions::list(self, request).await
    }

    async fn grant_permission(&self, _ctx: &CallContext, request: pb::GrantPermissionRequest) -> Result<pb::GrantPermissionResponse, LogicError> {
        permissions::grant(self, request).await
    }

    async fn revoke_permission(&self, _ctx: &CallContext, request: pb::RevokePermissionRequest) -> Result<pb::RevokePermissionResponse, LogicError> {
        permissions::revoke(self, request).await
    }

    async fn record_failed_login(
        &self,
        ctx: &CallContext,
        request: pb::RecordFailedLoginRequest,
    ) -> Result<pb::RecordFailedLoginResponse, LogicError> {
        login::record_failed_login(self, ctx, request).await
    }

    async fn delete_user(&self, ctx: &CallContext, request: pb::DeleteUserRequest) -> Result<pb::DeleteUserResponse, LogicError> {
        accounts::delete_user(self, ctx, request).await
    }

    async fn rotate_signing_key(
        &self,
        _ctx: &CallContext,
        _request: pb::RotateSigningKeyRequest,
    ) -> Result<pb::RotateSigningKeyResponse, LogicError> {
        let (kid, retired) = self.keys.rotate().await?;
        Ok(pb::RotateSigningKeyResponse { kid, retired_kid: retired.unwrap_or_default() })
    }

    async fn get_token_verification(
        &self,
        _ctx: &CallContext,
        request: pb::GetTokenVerificationRequest,
    ) -> Result<pb::GetTokenVerificationResponse, LogicError> {
        verification::get(self, request).await
    }

    async fn change_password(&self, ctx: &CallContext, request: pb::ChangePasswordRequest) -> Result<pb::ChangePasswordResponse, LogicError> {
        password_change::change_password(self, ctx, request).await
    }
}

/// Starts the service: opens its database (the server waits for it and applies
/// migrations), then serves on `listeners` until `shutdown` is requested.
/// Settings come from the environment ([`AuthSettings::from_env`]).
pub async fn start(config: ServiceConfig, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    start_with(config, AuthSettings::from_env()?, listeners, shutdown).await
}

/// [`start`] with explicit settings (tests shorten lifetimes and lockouts through this).
/// The key-encryption key comes from `NOVA_AUTH_KEY_ENCRYPTION_KEY`, else from
/// `<data_dir>/jwt-kek` (see [`KeyEncryptionKey::load`]); a malformed one fails the start.
/// The first signing key is created on first use (the schema exists only once the server
/// has applied the migrations), race-free across replicas.
pub async fn start_with(config: ServiceConfig, settings: AuthSettings, listeners: Listeners, shutdown: Shutdown) -> Result<(), StartError> {
    let kek = KeyEncryptionKey::load(&config.data_dir)?;
    let mut wiring = Wiring::from_config(&config)?;
    let prune_interval = settings.prune_interval;
    let logic = AuthLogic::new(wiring.dependencies.clone(), settings, kek);
    let pruned = logic.clone();
    // Stops with the server: dropped when this function returns.
    let _pruning = ::nova_runtime::periodic::every(prune_interval, move || {
        let logic = pruned.clone();
        async move { maintenance::prune(&logic).await }
    });
    passwords::prewarm().await;
    // auth is the token issuer: it verifies tokens with its own keys and revocations, and
    // checks permissions in its own table, read in process.
    let permissions = std::sync::Arc::new(issuer::LocalPermissions(logic.clone()));
    wiring.options = wiring.options.with_identity(std::sync::Arc::new(logic.key_source()), permissions);
    wiring.serve(logic, listeners, shutdown).await
}
