//! Verifying access tokens inside every service, with no call to the issuer on the hot path:
//! a background task polls the issuer ([`KeySource`]) every `refresh` for its public keys and
//! the revocations recorded since the last poll; a call checks its token against that state.
//!
//! Bounds, as documented in the README: a revocation (Logout, a password change, DeleteUser)
//! reaches a service within one `refresh` (1 s by default) plus one poll's round trip while the
//! issuer answers. When the issuer cannot be reached, tokens keep verifying by signature for at
//! most `max_staleness` (5 min) after the last successful poll; after that, calls carrying a
//! token fail `UNAVAILABLE` (fail closed) until a poll succeeds. A token naming a key the
//! service has not seen (just after a rotation) makes the call wait for one poll.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use uuid::Uuid;

use super::source::{KeySource, RevokedSubject, VerificationState};
use super::token::{self, Claims, Refusal};
use crate::config::{ConfigError, env_duration};

/// How a [`Verifier`] keeps up with the issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifierSettings {
    /// How often the issuer is polled: the bound on how late a revocation is applied.
    pub refresh: Duration,
    /// How long after the last successful poll tokens still verify when the issuer is
    /// unreachable; then calls with tokens fail `UNAVAILABLE`.
    pub max_staleness: Duration,
    /// How long a call with a token naming an unknown key waits for a poll to find it.
    pub unknown_key_wait: Duration,
}

impl Default for VerifierSettings {
    fn default() -> Self {
        VerifierSettings { refresh: Duration::from_secs(1), max_staleness: Duration::from_secs(300), unknown_key_wait: Duration::from_secs(2) }
    }
}

impl VerifierSettings {
    /// `NOVA_IDENTITY_REFRESH` (1s) and `NOVA_IDENTITY_MAX_STALENESS` (5m).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when either is set but is not a duration.
    pub fn from_env() -> Result<Self, ConfigError> {
        let defaults = VerifierSettings::default();
        Ok(VerifierSettings {
            refresh: env_duration("NOVA_IDENTITY_REFRESH", defaults.refresh)?,
            max_staleness: env_duration("NOVA_IDENTITY_MAX_STALENESS", defaults.max_staleness)?,
            ..defaults
        })
    }
}

/// Why a token did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The token is not good: `UNAUTHENTICATED`.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The service cannot tell (no recent answer from the issuer): `UNAVAILABLE`.
    #[error("{0}")]
    Unavailable(String),
}

/// What one poll brings: the keys, the revocations after the cursor, the next cursor, the issuer.
type Fetched = (HashMap<String, Key>, Vec<super::source::Revocation>, i64, String);

/// Never poll the issuer more often than this, however many unknown keys arrive.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Verified tokens remembered (so the signature is checked once per token, not per call).
const VERIFIED_CAPACITY: usize = 50_000;

#[derive(Debug)]
struct Key {
    public_key: Vec<u8>,
    not_after: Option<SystemTime>,
}

#[derive(Debug, Default)]
struct State {
    issuer: Option<String>,
    keys: HashMap<String, Key>,
    /// Revoked sessions, until their revocation expires.
    sessions: HashMap<Uuid, SystemTime>,
    /// Revoked users: tokens issued at or before the second stored are refused.
    users: HashMap<Uuid, (i64, SystemTime)>,
    cursor: i64,
    /// When the last successful poll started.
    fresh_since: Option<Instant>,
}

/// A token verified once, remembered by its digest.
#[derive(Debug, Clone)]
struct Remembered {
    kid: String,
    claims: Claims,
}

/// Verifies access tokens against the issuer's keys and revocations. Shared by every call of a
/// server behind an `Arc`; its poller stops when the last `Arc` is dropped.
///
/// No call waits for the issuer on the hot path: a background task ([`Verifier::start`])
/// polls it every `refresh` (1 s by default), so a revocation takes effect within about one
/// `refresh`. While the issuer is unreachable, tokens keep verifying by signature for at most
/// `max_staleness` (5 min) after the last successful poll; then calls carrying a token fail
/// `UNAVAILABLE` (fail closed) until a poll succeeds. A token naming a key not seen yet (just
/// after a rotation) makes its call wait for one poll, at most `unknown_key_wait`.
pub struct Verifier {
    source: Arc<dyn KeySource>,
    settings: VerifierSettings,
    state: RwLock<State>,
    verified: Mutex<HashMap<[u8; 32], Remembered>>,
    /// Numbers polls as they start.
    next_poll: AtomicU64,
    /// The number of the last poll that finished (successfully or not), for callers waiting.
    polls: watch::Sender<u64>,
    wake: Notify,
    started: AtomicBool,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("settings", &self.settings).finish_non_exhaustive()
    }
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

impl Verifier {
    /// A verifier with no keys yet, fed by `source`: call [`Verifier::start`] (or
    /// [`Verifier::refresh`]) before it can verify anything.
    pub fn new(source: Arc<dyn KeySource>, settings: VerifierSettings) -> Arc<Self> {
        Arc::new(Verifier {
            source,
            settings,
            state: RwLock::new(State::default()),
            verified: Mutex::new(HashMap::new()),
            next_poll: AtomicU64::new(0),
            polls: watch::channel(0).0,
            wake: Notify::new(),
            started: AtomicBool::new(false),
        })
    }

    /// The settings it was created with.
    pub fn settings(&self) -> VerifierSettings {
        self.settings
    }

    /// Starts polling the issuer in the background (once; later calls do nothing). The task
    /// ends when the verifier is dropped.
    pub fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(poll_forever(weak));
    }

    /// Polls the issuer now, until it has nothing more to say; the state changes only on
    /// success.
    ///
    /// # Errors
    ///
    /// The status of the failed fetch (the issuer unreachable or answering nonsense); the
    /// verifier keeps its previous state.
    pub async fn refresh(&self) -> Result<(), tonic::Status> {
        let started = Instant::now();
        let number = self.next_poll.fetch_add(1, Ordering::SeqCst) + 1;
        let outcome = self.fetch_all().await.map(|fetched| self.apply(fetched, started));
        // Announced only once the state holds what the poll found: a call waiting for this
        // poll (a token naming a key it did not know) looks the key up as soon as it wakes,
        // and announcing first let it look before the write and refuse a key the poll had
        // just brought (seen once: a fresh `nova-gen dev --seed` refused its first token).
        self.polls.send_modify(|last| *last = (*last).max(number));
        outcome
    }

    /// Replaces the keys and adds the revocations of a successful poll that started at `started`.
    fn apply(&self, (keys, revocations, cursor, issuer): Fetched, started: Instant) {
        let now = SystemTime::now();
        let mut state = self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.issuer = Some(issuer);
        state.keys = keys;
        for revocation in revocations {
            match revocation.subject {
                RevokedSubject::Session(session) => {
                    state.sessions.insert(session, revocation.expires_at);
                }
                RevokedSubject::User(user) => {
                    let at = unix_seconds(revocation.revoked_at);
                    let entry = state.users.entry(user).or_insert((at, revocation.expires_at));
                    *entry = (entry.0.max(at), entry.1.max(revocation.expires_at));
                }
            }
        }
        state.sessions.retain(|_, expires| *expires > now);
        state.users.retain(|_, (_, expires)| *expires > now);
        state.cursor = cursor;
        state.fresh_since = Some(started);
    }

    async fn fetch_all(&self) -> Result<Fetched, tonic::Status> {
        let mut cursor = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner).cursor;
        let mut revocations = Vec::new();
        // A bounded number of pages per poll, so a flood of revocations cannot stall it.
        for _ in 0..100 {
            let VerificationState { issuer, keys, revocations: page, cursor: next, more } = self.source.fetch(cursor).await?;
            revocations.extend(page);
            cursor = next;
            if !more {
                let keys = keys.into_iter().map(|k| (k.kid, Key { public_key: k.public_key, not_after: k.not_after })).collect();
                return Ok((keys, revocations, cursor, issuer));
            }
        }
        Err(tonic::Status::unavailable("the issuer keeps reporting more revocations; will continue at the next poll"))
    }

    /// Wakes the poller and waits until a poll that started after now has finished, at most
    /// `wait`.
    async fn await_poll(&self, wait: Duration) {
        let mut polls = self.polls.subscribe();
        let wanted = self.next_poll.load(Ordering::SeqCst) + 1;
        self.wake.notify_one();
        let _ = tokio::time::timeout(wait, polls.wait_for(|last| *last >= wanted)).await;
    }

    /// The user and session `token` proves, or why not.
    ///
    /// # Errors
    ///
    /// [`VerifyError::Refused`] when the token is not good (malformed, forged, expired,
    /// revoked, ...); [`VerifyError::Unavailable`] when the verifier has had no answer from the
    /// issuer for longer than `max_staleness` and cannot tell.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        if self.stale().is_some() {
            self.await_poll(self.settings.unknown_key_wait).await;
        }
        if let Some(why) = self.stale() {
            return Err(VerifyError::Unavailable(why));
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let remembered = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&digest).cloned();
        let remembered = match remembered {
            Some(remembered) => remembered,
            None => {
                let parsed = token::parse(token)?;
                let public_key = match self.public_key(&parsed.kid) {
                    Some(key) => key,
                    None => {
                        // Perhaps a key rotated in since the last poll.
                        self.await_poll(self.settings.unknown_key_wait).await;
                        self.public_key(&parsed.kid).ok_or(Refusal::UnknownKey)?
                    }
                };
                let claims = parsed.verify(&public_key)?;
                let remembered = Remembered { kid: parsed.kid, claims };
                let mut verified = self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if verified.len() >= VERIFIED_CAPACITY {
                    verified.clear();
                }
                verified.insert(digest, remembered.clone());
                remembered
            }
        };
        self.check(&remembered, SystemTime::now())?;
        Ok(remembered.claims)
    }

    /// What may change between two calls with the same token: its key's retirement, expiry and
    /// revocations, and the issuer.
    fn check(&self, remembered: &Remembered, now: SystemTime) -> Result<(), Refusal> {
        let state = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let claims = &remembered.claims;
        if state.issuer.as_deref() != Some(claims.issuer.as_str()) {
            return Err(Refusal::Issuer);
        }
        match state.keys.get(&remembered.kid) {
            None => return Err(Refusal::UnknownKey),
            Some(Key { not_after: Some(end), .. }) if *end <= now => return Err(Refusal::RetiredKey),
            Some(_) => {}
        }
        if claims.expires_at <= unix_seconds(now) {
            return Err(Refusal::Expired);
        }
        if state.sessions.contains_key(&claims.session) {
            return Err(Refusal::Revoked);
        }
        if state.users.get(&claims.user).is_some_and(|(revoked_at, _)| claims.issued_at <= *revoked_at) {
            return Err(Refusal::Revoked);
        }
        Ok(())
    }

    fn public_key(&self, kid: &str) -> Option<Vec<u8>> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner).keys.get(kid).map(|k| k.public_key.clone())
    }

    /// Why the state cannot be trusted now, if it cannot.
    fn stale(&self) -> Option<String> {
        let state = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        match state.fresh_since {
            None => Some("cannot verify access tokens yet: the token issuer has not answered; retry shortly".to_string()),
            Some(since) if since.elapsed() > self.settings.max_staleness => Some(format!(
                "cannot verify access tokens: no answer from the token issuer for {:?} (revocations may be missed); retry later",
                since.elapsed()
            )),
            Some(_) => None,
        }
    }
}

async fn poll_forever(weak: Weak<Verifier>) {
    let mut failing = false;
    loop {
        let Some(verifier) = weak.upgrade() else { return };
        let polled = Instant::now();
        match verifier.refresh().await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("token issuer answers again: keys and revocations are current");
            }
            Ok(()) => {}
            Err(status) if !failing => {
                failing = true;
                tracing::warn!(code = ?status.code(), message = status.message(), "cannot poll the token issuer: keys and revocations are getting stale");
            }
            Err(_) => {}
        }
        let refresh = verifier.settings.refresh;
        let wake = async { verifier.wake.notified().await };
        tokio::select! {
            () = tokio::time::sleep(refresh) => {}
            () = wake => {}
        }
        // However often woken, poll at most every MIN_POLL_INTERVAL.
        tokio::time::sleep_until(polled + MIN_POLL_INTERVAL).await;
        drop(verifier);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicI64;

    use super::*;
    use crate::identity::source::{Revocation, SourceFuture, VerificationKey};
    use crate::identity::token::tests::TestSigner;

    /// An issuer in memory: its keys and revocations as a test sets them; counts fetches.
    #[derive(Default)]
    struct Issuer {
        keys: Mutex<Vec<VerificationKey>>,
        revocations: Mutex<Vec<Revocation>>,
        fetches: AtomicI64,
        down: AtomicBool,
    }

    impl KeySource for Issuer {
        fn fetch(&self, after: i64) -> SourceFuture<'_> {
            Box::pin(async move {
                self.fetches.fetch_add(1, Ordering::SeqCst);
                if self.down.load(Ordering::SeqCst) {
                    return Err(tonic::Status::unavailable("down"));
                }
                let revocations = self.revocations.lock().unwrap().clone();
                let cursor = i64::try_from(revocations.len()).unwrap();
                let newer = revocations.into_iter().skip(usize::try_from(after).unwrap()).collect();
                Ok(VerificationState { issuer: "nova-auth".into(), keys: self.keys.lock().unwrap().clone(), revocations: newer, cursor, more: false })
            })
        }
    }

    fn now() -> i64 {
        unix_seconds(SystemTime::now())
    }

    fn setup() -> (Arc<Issuer>, Arc<Verifier>, TestSigner) {
        let signer = TestSigner::new("k1");
        let issuer = Arc::new(Issuer::default());
        issuer.keys.lock().unwrap().push(VerificationKey { kid: "k1".into(), public_key: signer.public_key(), not_after: None });
        let verifier = Verifier::new(issuer.clone(), VerifierSettings::default());
        (issuer, verifier, signer)
    }

    #[tokio::test]
    async fn tokens_verify_until_revoked_or_expired() {
        let (issuer, verifier, signer) = setup();
        verifier.refresh().await.unwrap();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = signer.token(user, session, now() - 1, now() + 60);
        let claims = verifier.verify(&token).await.unwrap();
        assert_eq!((claims.user, claims.session), (user, session));
        // Again: from memory, same answer.
        assert_eq!(verifier.verify(&token).await.unwrap(), claims);

        let expired = signer.token(user, session, now() - 100, now() - 1);
        assert_eq!(verifier.verify(&expired).await, Err(VerifyError::Refused(Refusal::Expired)));

        let far = SystemTime::now() + Duration::from_secs(600);
        issuer.revocations.lock().unwrap().push(Revocation {
            subject: RevokedSubject::Session(session),
            revoked_at: SystemTime::now(),
            expires_at: far,
        });
        // Not seen until the next poll: the documented bound.
        assert!(verifier.verify(&token).await.is_ok());
        verifier.refresh().await.unwrap();
        assert_eq!(verifier.verify(&token).await, Err(VerifyError::Refused(Refusal::Revoked)));

        // A user revocation covers tokens issued up to its second, not later ones.
        let other_session = Uuid::new_v4();
        let before = signer.token(user, other_session, now() - 5, now() + 60);
        issuer.revocations.lock().unwrap().push(Revocation {
            subject: RevokedSubject::User(user),
            revoked_at: SystemTime::now() - Duration::from_secs(2),
            expires_at: far,
        });
        verifier.refresh().await.unwrap();
        assert_eq!(verifier.verify(&before).await, Err(VerifyError::Refused(Refusal::Revoked)));
        let after = signer.token(user, other_session, now(), now() + 60);
        assert!(verifier.verify(&after).await.is_ok());
        assert_eq!(issuer.fetches.load(Ordering::SeqCst), 3, "polls only when asked: no call on the hot path");
    }

    #[tokio::test]
    async fn forged_and_foreign_tokens_are_refused() {
        let (_issuer, verifier, signer) = setup();
        verifier.refresh().await.unwrap();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let other = TestSigner::new("k1");
        assert_eq!(verifier.verify(&other.token(user, session, now(), now() + 60)).await, Err(VerifyError::Refused(Refusal::Signature)));
        let foreign = signer
            .sign(serde_json::json!({ "iss": "someone", "sub": user.to_string(), "sid": session.to_string(), "iat": now(), "exp": now() + 60 }));
        assert_eq!(verifier.verify(&foreign).await, Err(VerifyError::Refused(Refusal::Issuer)));
    }

    #[tokio::test]
    async fn a_new_key_is_fetched_once_and_a_retired_one_stops_verifying() {
        let (issuer, verifier, signer) = setup();
        verifier.start();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(verifier.verify(&signer.token(user, session, now(), now() + 60)).await.is_ok());
        let rotated = TestSigner::new("k2");
        issuer.keys.lock().unwrap().push(VerificationKey { kid: "k2".into(), public_key: rotated.public_key(), not_after: None });
        // The poller has not seen k2; the call waits for one poll instead of failing.
        assert!(verifier.verify(&rotated.token(user, session, now(), now() + 60)).await.is_ok());
        let unknown = TestSigner::new("k3");
        assert_eq!(verifier.verify(&unknown.token(user, session, now(), now() + 60)).await, Err(VerifyError::Refused(Refusal::UnknownKey)));
        issuer.keys.lock().unwrap()[0].not_after = Some(SystemTime::now() - Duration::from_secs(1));
        verifier.refresh().await.unwrap();
        assert_eq!(verifier.verify(&signer.token(user, session, now(), now() + 60)).await, Err(VerifyError::Refused(Refusal::RetiredKey)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_issuer_fails_closed_after_the_staleness_bound() {
        let (issuer, verifier, signer) = setup();
        let token = signer.token(Uuid::new_v4(), Uuid::new_v4(), now(), now() + 3600);
        issuer.down.store(true, Ordering::SeqCst);
        // Never answered: nothing can be verified.
        assert!(matches!(verifier.verify(&token).await, Err(VerifyError::Unavailable(_))));
        issuer.down.store(false, Ordering::SeqCst);
        verifier.refresh().await.unwrap();
        assert!(verifier.verify(&token).await.is_ok());
        issuer.down.store(true, Ordering::SeqCst);
        tokio::time::advance(verifier.settings().max_staleness - Duration::from_secs(1)).await;
        assert!(verifier.verify(&token).await.is_ok(), "within the bound, tokens still verify by signature");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(matches!(verifier.verify(&token).await, Err(VerifyError::Unavailable(_))));
    }
}
