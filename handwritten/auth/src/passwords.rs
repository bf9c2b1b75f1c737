//! Passwords: the rule a new one must meet, and Argon2id hashing and verification through a
//! bounded pool.
//!
//! One Argon2id hash with the crate's defaults (m = 19 MiB, t = 2, p = 1) holds 19 MiB and a
//! core for tens of milliseconds. Unbounded, a burst of sign-ins would take every blocking
//! thread and `n x 19 MiB` of a 512 Mi pod: so hashes run on `spawn_blocking` behind a
//! semaphore of `hash_concurrency` permits, at most `hash_queue` callers wait for one, and
//! anyone beyond that is refused at once (RESOURCE_EXHAUSTED: retry shortly), as is a waiter
//! whose deadline passes before its turn (DEADLINE_EXCEEDED, nothing hashed). A permit is held
//! by the blocking job itself, so a caller that gives up mid-hash does not free memory that
//! is still in use.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::nova_runtime::LogicError;
use ::nova_runtime::codegen::tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use ::nova_runtime::codegen::tokio::time::Instant;
use ::nova_runtime::convert::text;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

/// The answer when the pool and its queue are full.
pub const BUSY: &str = "too many sign-ins in progress; retry shortly";

/// A password a user chooses (Register, ChangePassword): 8 to 128 characters, no NUL;
/// INVALID_ARGUMENT naming `field` otherwise.
pub fn check_new(field: &str, password: &str) -> Result<(), LogicError> {
    text(field, password)?;
    if !(8..=128).contains(&password.chars().count()) {
        return Err(LogicError::invalid_argument(format!("{field} must be 8 to 128 characters")));
    }
    Ok(())
}

/// Runs password hashes and verifications, a bounded number at a time.
#[derive(Debug)]
pub struct HashPool {
    permits: Arc<Semaphore>,
    /// Callers allowed to wait for a permit.
    queue: usize,
    /// Callers waiting for a permit now.
    waiting: AtomicUsize,
}

/// A caller's place in the queue, given back when it stops waiting (permit or not).
struct QueuePlace<'a>(&'a AtomicUsize);

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashPool {
    /// `concurrency` hashes at a time (at least one), `queue` callers waiting at most.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        HashPool { permits: Arc::new(Semaphore::new(concurrency.max(1))), queue, waiting: AtomicUsize::new(0) }
    }

    /// Runs `job` on a blocking thread once a permit is free: at once if one is, after waiting
    /// in the queue otherwise. RESOURCE_EXHAUSTED ([`BUSY`]) when the queue is full,
    /// DEADLINE_EXCEEDED when `deadline` passes first; `job` does not run then.
    pub async fn run<T, F>(&self, deadline: Option<Instant>, job: F) -> Result<T, LogicError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
            return Err(LogicError::DeadlineExceeded);
        }
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::NoPermits) => self.wait(deadline).await?,
            Err(TryAcquireError::Closed) => return Err(closed()),
        };
        ::nova_runtime::codegen::tokio::task::spawn_blocking(move || {
            let _held_until_the_job_ends = permit;
            job()
        })
        .await
        .map_err(|e| LogicError::internal("password hashing task failed", e))
    }

    /// Waits in the queue for a permit, if there is room in it.
    async fn wait(&self, deadline: Option<Instant>) -> Result<OwnedSemaphorePermit, LogicError> {
        let _place = self.enqueue().ok_or_else(|| LogicError::ResourceExhausted(BUSY.to_string()))?;
        let acquire = self.permits.clone().acquire_owned();
        let acquired = match deadline {
            Some(deadline) => ::nova_runtime::codegen::tokio::time::timeout_at(deadline, acquire).await.map_err(|_| LogicError::DeadlineExceeded)?,
            None => acquire.await,
        };
        acquired.map_err(|_| closed())
    }

    fn enqueue(&self) -> Option<QueuePlace<'_>> {
        let queue = self.queue;
        self.waiting.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < queue).then_some(n + 1)).ok()?;
        Some(QueuePlace(&self.waiting))
    }

    /// Argon2id of `password` with a random salt.
    pub async fn hash(&self, deadline: Option<Instant>, password: String) -> Result<String, LogicError> {
        let hashed = self
            .run(deadline, move || {
                let salt = SaltString::generate(&mut OsRng);
                Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
            })
            .await?;
        hashed.map_err(|e| LogicError::internal("hashing the password", std::io::Error::other(e.to_string())))
    }

    /// Checks `password` against `hash`. With no hash (an unknown email) it verifies against a
    /// fixed dummy hash, so that an unknown email costs the same time as a wrong password and
    /// the two cannot be told apart.
    pub async fn verify(&self, deadline: Option<Instant>, hash: Option<String>, password: String) -> Result<bool, LogicError> {
        self.run(deadline, move || {
            let (hash, real) = match &hash {
                Some(hash) => (hash.as_str(), true),
                None => (dummy_hash(), false),
            };
            let matches = PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
            matches && real
        })
        .await
    }
}

fn closed() -> LogicError {
    LogicError::internal("the password hashing pool is closed", std::io::Error::other("semaphore closed"))
}

/// Computes the dummy hash now (off the async workers, outside the pool: once per process),
/// so that even the first sign-in with an unknown email costs what a wrong password costs.
pub async fn prewarm() {
    let _ = ::nova_runtime::codegen::tokio::task::spawn_blocking(dummy_hash).await;
}

/// An Argon2id hash of a random password nobody knows, made once per process with the same
/// parameters as real hashes (so verifying against it takes as long).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(secret.as_str().as_bytes(), &salt).map(|hash| hash.to_string()).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use ::nova_runtime::codegen::tokio::sync::oneshot;
    use ::nova_runtime::codegen::tonic::Code;

    use super::*;

    /// A job that says when it started and then holds its permit until the test releases it.
    fn gated(ran: &Arc<AtomicUsize>) -> (impl FnOnce() + Send + 'static, oneshot::Receiver<()>, mpsc::Sender<()>) {
        let (entered, started) = oneshot::channel();
        let (release, gate) = mpsc::channel::<()>();
        let ran = Arc::clone(ran);
        let job = move || {
            let _ = entered.send(());
            let _ = gate.recv();
            ran.fetch_add(1, Ordering::SeqCst);
        };
        (job, started, release)
    }

    fn counted(ran: &Arc<AtomicUsize>) -> impl FnOnce() + Send + 'static {
        let ran = Arc::clone(ran);
        move || {
            ran.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits until `count` callers wait in the pool's queue.
    async fn queued(pool: &HashPool, count: usize) {
        while pool.waiting.load(Ordering::SeqCst) != count {
            ::nova_runtime::codegen::tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn beyond_the_running_hash_and_the_queue_callers_are_refused_at_once() {
        let pool = Arc::new(HashPool::new(1, 1));
        let ran = Arc::new(AtomicUsize::new(0));
        let (job, started, release) = gated(&ran);
        let first = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.run(None, job).await }
        });
        started.await.unwrap();
        let second = tokio::spawn({
            let pool = Arc::clone(&pool);
            let job = counted(&ran);
            async move { pool.run(None, job).await }
        });
        queued(&pool, 1).await;

        let third = pool.run(None, counted(&ran)).await.unwrap_err();
        assert_eq!(third.code(), Code::ResourceExhausted);
        assert_eq!(third.to_string(), BUSY);
        assert_eq!(ran.load(Ordering::SeqCst), 0, "nothing finished, the refused job never ran");

        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 2, "the held job and the queued one, not the refused one");
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_waiter_whose_deadline_passes_gets_deadline_exceeded_without_hashing() {
        let pool = HashPool::new(1, 4);
        let ran = Arc::new(AtomicUsize::new(0));
        let (job, started, release) = gated(&ran);
        let held = pool.run(None, job);
        let waiter = async {
            started.await.unwrap();
            // The only permit is held until after this call returns, so only the deadline ends it.
            let result = pool.run(Some(Instant::now() + Duration::from_millis(20)), counted(&ran)).await;
            release.send(()).unwrap();
            result
        };
        let (held, waited) = tokio::join!(held, waiter);
        held.unwrap();
        assert_eq!(waited.unwrap_err().code(), Code::DeadlineExceeded);
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the waiter's job never ran");
        assert_eq!(pool.waiting.load(Ordering::SeqCst), 0, "its place in the queue was given back");
        let past = pool.run(Some(Instant::now()), counted(&ran)).await.unwrap_err();
        assert_eq!(past.code(), Code::DeadlineExceeded, "a deadline already passed hashes nothing");
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_mid_hash_keeps_its_permit_until_the_hash_ends() {
        let pool = Arc::new(HashPool::new(1, 1));
        let ran = Arc::new(AtomicUsize::new(0));
        let (job, started, release) = gated(&ran);
        let abandoned = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move { pool.run(None, job).await }
        });
        started.await.unwrap();
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());

        let next = tokio::spawn({
            let pool = Arc::clone(&pool);
            let job = counted(&ran);
            async move { pool.run(None, job).await }
        });
        queued(&pool, 1).await;
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the next job waits for the abandoned hash");
        release.send(()).unwrap();
        next.await.unwrap().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn passwords_are_hashed_with_argon2id_salted_and_verified() {
        let pool = HashPool::new(2, 2);
        let first = pool.hash(None, "correct horse".into()).await.unwrap();
        let second = pool.hash(None, "correct horse".into()).await.unwrap();
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second);
        assert!(pool.verify(None, Some(first.clone()), "correct horse".into()).await.unwrap());
        assert!(!pool.verify(None, Some(first), "wrong horse".into()).await.unwrap());
        assert!(!pool.verify(None, None, "correct horse".into()).await.unwrap(), "no account: never a match");
    }

    #[test]
    fn new_passwords_are_8_to_128_characters() {
        assert!(check_new("password", "long enough").is_ok());
        for bad in ["short", "nul\0inside", &"x".repeat(129)] {
            let error = check_new("new_password", bad).unwrap_err();
            assert_eq!(error.code(), Code::InvalidArgument);
            assert!(error.to_string().contains("new_password"), "{error}");
        }
    }
}
