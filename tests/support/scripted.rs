//! A real auth server (the generated crate's server, over real gRPC) whose business logic is
//! a script the test controls (RPCs it does not script answer UNIMPLEMENTED, the default of
//! `nova_auth::testing::LogicDouble`): how often to fail and with which code, how long to take,
//! whether to hold calls at a gate until the test opens it, whether to panic, and whether to
//! call another service first. It counts every call that reaches it (and lets a test wait for
//! a count) and records the deadline each call arrived with.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nova_auth::testing::{Double, LogicDouble};
use nova_auth::{AuthClient, CallContext, LogicError, pb};
use tokio::sync::{Semaphore, watch};
use tonic::Code;

/// Holds calls until the test opens it: the deterministic way to keep a call "in flight".
#[derive(Debug, Clone)]
pub struct Gate {
    permits: Arc<Semaphore>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate { permits: Arc::new(Semaphore::new(0)) }
    }
}

impl Gate {
    /// Lets every held call, and every later one, through.
    pub fn open(&self) {
        self.permits.close();
    }

    async fn pass(&self) {
        // Closed means open: `acquire` fails at once for everyone.
        let _ = self.permits.acquire().await;
    }
}

/// Which calls wait at a gate: those numbered (from 0, in arrival order) below `first`, and,
/// if set, only those that arrive with less than `left_under` before their deadline.
#[derive(Debug, Clone, Default)]
pub struct Hold {
    pub gate: Gate,
    pub first: u64,
    pub left_under: Option<Duration>,
}

impl Hold {
    /// Holds every call until `gate` opens.
    pub fn all(gate: &Gate) -> Self {
        Hold { gate: gate.clone(), first: u64::MAX, left_under: None }
    }

    /// Holds the calls that arrive with less than `left` before their deadline (whatever
    /// order they arrive in); others pass.
    pub fn deadlines_under(left: Duration, gate: &Gate) -> Self {
        Hold { gate: gate.clone(), first: u64::MAX, left_under: Some(left) }
    }

    /// Holds the first `n` calls until `gate` opens; later calls pass.
    pub fn first(n: u64, gate: &Gate) -> Self {
        Hold { gate: gate.clone(), first: n, left_under: None }
    }
}

/// What the scripted server does on each call.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Fail with this code...
    pub fail_with: Option<Code>,
    /// ...on this share of calls (1.0: all), spread evenly (every 10th call for 0.1).
    pub fail_ratio: f64,
    /// Fail only the first N calls (then succeed), when set.
    pub fail_first: Option<u64>,
    /// Take this long before answering.
    pub delay: Duration,
    /// Wait at a gate before answering (after the call is counted).
    pub hold: Option<Hold>,
    pub panic: bool,
    /// Call this service's GetUser first (to observe deadline propagation).
    pub forward_to: Option<AuthClient>,
    /// Refuse (INVALID_ARGUMENT) a GetUsersByIds that asks for this id, as auth refuses a
    /// malformed one.
    pub refuse_id: Option<String>,
}

#[derive(Debug)]
pub struct Observed {
    pub calls: AtomicU64,
    /// The same count, for tests that wait for calls to arrive.
    arrived: watch::Sender<u64>,
    /// Time left (from `grpc-timeout`) when each call arrived.
    pub deadlines: Mutex<Vec<Option<Duration>>>,
    /// The ids of each GetUsersByIds call, in arrival order.
    pub batches: Mutex<Vec<Vec<String>>>,
}

impl Default for Observed {
    fn default() -> Self {
        Observed { calls: AtomicU64::new(0), arrived: watch::Sender::new(0), deadlines: Mutex::default(), batches: Mutex::default() }
    }
}

/// Shared between the test and the server it started.
#[derive(Debug, Clone, Default)]
pub struct Scripted {
    pub script: Arc<Mutex<Script>>,
    pub observed: Arc<Observed>,
    /// Users by id; the display name is what tests change to see fresh vs cached data.
    pub users: Arc<Mutex<HashMap<String, String>>>,
}

impl Scripted {
    pub fn set(&self, script: Script) {
        *self.script.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = script;
    }

    pub fn calls(&self) -> u64 {
        self.observed.calls.load(Ordering::SeqCst)
    }

    pub fn put_user(&self, id: &str, username: &str) {
        self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.to_string(), username.to_string());
    }

    /// Waits until at least `n` calls have reached the server (a 60 s safety net turns a hang
    /// into a failure; it is not a timing assumption).
    pub async fn wait_for_calls(&self, n: u64) {
        let mut arrived = self.observed.arrived.subscribe();
        let waited = tokio::time::timeout(Duration::from_secs(60), arrived.wait_for(|count| *count >= n)).await;
        assert!(waited.is_ok(), "{n} calls never reached the server ({} did)", self.calls());
    }

    /// The ids each GetUsersByIds call asked for, in arrival order.
    pub fn batches(&self) -> Vec<Vec<String>> {
        self.observed.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn deadlines(&self) -> Vec<Option<Duration>> {
        self.observed.deadlines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Counts the call, records its deadline, and plays the script.
    async fn play(&self, ctx: &CallContext) -> Result<(), LogicError> {
        let n = self.observed.calls.fetch_add(1, Ordering::SeqCst);
        self.observed.deadlines.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(ctx.remaining());
        self.observed.arrived.send_modify(|count| *count += 1);
        let script = self.script.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        if let Some(hold) = &script.hold
            && n < hold.first
            && hold.left_under.is_none_or(|under| ctx.remaining().is_some_and(|left| left < under))
        {
            hold.gate.pass().await;
        }
        if !script.delay.is_zero() {
            tokio::time::sleep(script.delay).await;
        }
        if let Some(next) = &script.forward_to {
            next.get_user(pb::GetUserRequest { user_id: "forwarded".into() }).await.map_err(LogicError::from_upstream)?;
        }
        assert!(!script.panic, "scripted panic");
        let Some(code) = script.fail_with else { return Ok(()) };
        let fails = match script.fail_first {
            Some(first) => n < first,
            None => ((n + 1) as f64 * script.fail_ratio).floor() > (n as f64 * script.fail_ratio).floor(),
        };
        if fails { Err(error_with(code)) } else { Ok(()) }
    }

    fn user(&self, id: &str) -> Option<pb::User> {
        let users = self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        users.get(id).map(|name| pb::User { id: id.to_string(), username: name.clone(), ..pb::User::default() })
    }
}

/// A `LogicError` that the server maps to exactly `code`.
pub fn error_with(code: Code) -> LogicError {
    match code {
        Code::NotFound => LogicError::NotFound("scripted".into()),
        Code::InvalidArgument => LogicError::InvalidArgument("scripted".into()),
        Code::AlreadyExists => LogicError::AlreadyExists("scripted".into()),
        Code::Aborted => LogicError::Aborted("scripted".into()),
        Code::FailedPrecondition => LogicError::FailedPrecondition("scripted".into()),
        Code::PermissionDenied => LogicError::PermissionDenied("scripted".into()),
        Code::Unauthenticated => LogicError::Unauthenticated("scripted".into()),
        Code::ResourceExhausted => LogicError::ResourceExhausted("scripted".into()),
        Code::Unavailable => LogicError::Unavailable("scripted".into()),
        Code::DeadlineExceeded => LogicError::DeadlineExceeded,
        Code::Unimplemented => LogicError::Unimplemented("scripted"),
        _ => LogicError::internal("scripted", std::io::Error::other(format!("{code:?}"))),
    }
}

/// The codes a `LogicError` can carry (the server maps everything else to INTERNAL).
pub const SERVER_CODES: [Code; 12] = [
    Code::NotFound,
    Code::InvalidArgument,
    Code::AlreadyExists,
    Code::Aborted,
    Code::FailedPrecondition,
    Code::PermissionDenied,
    Code::Unauthenticated,
    Code::ResourceExhausted,
    Code::Unavailable,
    Code::DeadlineExceeded,
    Code::Unimplemented,
    Code::Internal,
];

impl LogicDouble for Scripted {
    async fn register(&self, ctx: &CallContext, request: pb::RegisterRequest) -> Result<pb::RegisterResponse, LogicError> {
        self.play(ctx).await?;
        Ok(pb::RegisterResponse { user: Some(pb::User { username: request.username, ..pb::User::default() }) })
    }

    async fn get_user(&self, ctx: &CallContext, request: pb::GetUserRequest) -> Result<pb::GetUserResponse, LogicError> {
        // Read first, then take the scripted time: like a query whose answer is on its way.
        let user = self.user(&request.user_id).unwrap_or_else(|| pb::User { id: request.user_id.clone(), ..pb::User::default() });
        self.play(ctx).await?;
        Ok(pb::GetUserResponse { user: Some(user) })
    }

    /// As auth answers: the known users in the order asked, the others listed as missing.
    async fn get_users_by_ids(&self, ctx: &CallContext, request: pb::GetUsersByIdsRequest) -> Result<pb::GetUsersByIdsResponse, LogicError> {
        self.observed.batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(request.user_ids.clone());
        self.play(ctx).await?;
        let refused = self.script.lock().unwrap_or_else(std::sync::PoisonError::into_inner).refuse_id.clone();
        if let Some(bad) = refused.filter(|bad| request.user_ids.contains(bad)) {
            return Err(LogicError::InvalidArgument(format!("user_ids: {bad} is not a UUID")));
        }
        let (mut users, mut missing_user_ids) = (Vec::new(), Vec::new());
        for id in &request.user_ids {
            match self.user(id) {
                Some(user) => users.push(user),
                None => missing_user_ids.push(id.clone()),
            }
        }
        Ok(pb::GetUsersByIdsResponse { users, missing_user_ids })
    }

    async fn verify_token(&self, ctx: &CallContext, request: pb::VerifyTokenRequest) -> Result<pb::VerifyTokenResponse, LogicError> {
        self.play(ctx).await?;
        Ok(pb::VerifyTokenResponse { valid: true, user_id: request.access_token, ..pb::VerifyTokenResponse::default() })
    }

    async fn check_user_exists(&self, ctx: &CallContext, request: pb::CheckUserExistsRequest) -> Result<pb::CheckUserExistsResponse, LogicError> {
        self.play(ctx).await?;
        Ok(pb::CheckUserExistsResponse { exists: self.user(&request.user_id).is_some() })
    }

    async fn record_failed_login(
        &self,
        ctx: &CallContext,
        _request: pb::RecordFailedLoginRequest,
    ) -> Result<pb::RecordFailedLoginResponse, LogicError> {
        self.play(ctx).await?;
        Ok(pb::RecordFailedLoginResponse::default())
    }
}

/// Starts the generated auth server around a [`Scripted`] logic on loopback ports, in plaintext
/// with no token issuer: these tests are about the call path (deadlines, retries, breakers,
/// caches), and every caller is anonymous to it (a public RPC such as GetUser is admitted).
pub async fn start_scripted(scripted: &Scripted) -> crate::RunningService {
    let logic = scripted.clone();
    let options = || nova_runtime::server::ServeOptions::insecure_local(nova_runtime::server::ShutdownConfig::default());
    let service =
        crate::RunningService::start(move |listeners, shutdown| nova_auth::server::serve_with(Double(logic), options(), listeners, shutdown)).await;
    crate::wait_until_serving(service.addr, nova_auth::PROTO_SERVICE, Duration::from_secs(10)).await;
    service
}
