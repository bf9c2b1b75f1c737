//! Generated repositories under concurrent writers, against the real PostgreSQL (issue 8,
//! item 4): read-modify-write through `update_if_version` loses no update, `increment_<c>`
//! loses no increment, and patches that change different columns never undo each other, so
//! the seed's race (login bookkeeping overwriting profile edits) cannot happen.
//!
//! Every assertion counts; none measures time. Each test has its own databases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_content::repo::posts;
use nova_runtime::RepoError;
use nova_runtime::codegen::chrono::Utc;
use nova_runtime::codegen::sqlx::PgPool;
use nova_runtime::codegen::uuid::Uuid;
use nova_runtime::db::{DatabaseConfig, Migration};
use nova_tests::TestDatabase;

/// Concurrent writers, as the issue asks.
const TASKS: usize = 32;
/// Read-modify-write update attempts in the lost-update test, all on one row. A conflict
/// (another task wrote since the read) is answered by reading again and trying again, which
/// is the next attempt; so the test's cost is bounded by this number, not by how often the
/// tasks collide (32 writers on one row collide on most attempts).
const ATTEMPTS: usize = 10_000;
/// Increments per task in the increment tests.
const INCREMENTS_PER_TASK: usize = 100;

/// A pool for many writers on a loaded box: fewer connections than tasks (the server is
/// shared) and a long acquire timeout, as a safety net only; nothing asserts on time.
/// Commits do not wait for the disk (`synchronous_commit = off`, this test database only):
/// what other transactions see, and so every race under test, is unchanged, but thousands of
/// commits stop costing an fsync each.
async fn pool(database: &TestDatabase, migrations: &'static [Migration]) -> PgPool {
    let mut config = DatabaseConfig::for_url(format!("{}?options=-c%20synchronous_commit%3Doff", database.url));
    config.max_connections = 12;
    config.acquire_timeout = Duration::from_secs(120);
    nova_runtime::db::connect_and_migrate(&config, migrations).await.unwrap()
}

async fn new_post(pool: &PgPool, body: &str) -> posts::Row {
    let new = posts::New {
        id: None,
        author_id: Uuid::new_v4(),
        body: Some(body.into()),
        visibility: None,
        like_count: None,
        comment_count: None,
        share_count: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    posts::insert(pool, &new).await.unwrap()
}

/// Reads the post, adds one to the number in its body and writes it back if nobody wrote in
/// between. `true` when the update was acknowledged, `false` on a version conflict.
async fn try_add_one(pool: &PgPool, id: Uuid) -> bool {
    let current = posts::get(pool, id).await.unwrap().expect("the post exists");
    let value: usize = current.body.parse().unwrap();
    let patch = posts::Patch { body: Some((value + 1).to_string()), ..Default::default() };
    match posts::update_if_version(pool, id, current.version, &patch).await {
        Ok(_) => true,
        Err(RepoError::VersionConflict { .. }) => false,
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_modify_write_with_versions_loses_no_update() {
    let database = TestDatabase::new("lost_updates");
    let pool = pool(&database, nova_content::db::MIGRATIONS).await;
    let post = new_post(&pool, "0").await;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let pool = pool.clone();
        // The attempts split as evenly as they go: the first ATTEMPTS % TASKS tasks make one more.
        let share = ATTEMPTS / TASKS + usize::from(task < ATTEMPTS % TASKS);
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = 0;
            for _ in 0..share {
                acknowledged += usize::from(try_add_one(&pool, post.id).await);
            }
            (acknowledged, share - acknowledged)
        }));
    }
    let (mut acknowledged, mut conflicts) = (0, 0);
    for task in tasks {
        let (done, lost) = task.await.unwrap();
        acknowledged += done;
        conflicts += lost;
    }
    let stored = posts::get(&pool, post.id).await.unwrap().unwrap();
    assert_eq!(acknowledged + conflicts, ATTEMPTS);
    assert!(acknowledged > 0, "some updates went through");
    assert_eq!(stored.body, acknowledged.to_string(), "every acknowledged update is in the row, no other ({conflicts} attempts met a conflict)");
    assert_eq!(stored.version, i64::try_from(acknowledged).unwrap(), "one version per acknowledged update");
    eprintln!("lost-update test: {ATTEMPTS} attempts by {TASKS} tasks: {acknowledged} acknowledged, {conflicts} version conflicts");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn atomic_increments_lose_nothing_and_patches_do_not_undo_them() {
    let database = TestDatabase::new("increments");
    let pool = pool(&database, nova_content::db::MIGRATIONS).await;
    let post = new_post(&pool, "draft").await;
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..INCREMENTS_PER_TASK {
                // Every fourth task also unlikes now and then: increments may be negative.
                let by = if task % 4 == 0 && i % 5 == 4 { -1 } else { 1 };
                posts::increment_like_count(&pool, post.id, by).await.unwrap();
                // Meanwhile the author edits the post: a patch of other columns.
                if i % 10 == 0 {
                    let patch = posts::Patch { body: Some(format!("edit {task}.{i}")), ..Default::default() };
                    posts::update(&pool, post.id, &patch).await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let unlikes = TASKS.div_ceil(4) * (INCREMENTS_PER_TASK / 5);
    let expected = i64::try_from(TASKS * INCREMENTS_PER_TASK - 2 * unlikes).unwrap();
    let stored = posts::get(&pool, post.id).await.unwrap().unwrap();
    assert_eq!(stored.like_count, expected, "no increment lost, none undone by the concurrent edits");
    assert!(stored.body.starts_with("edit "), "the edits landed too: {}", stored.body);
    assert_eq!(stored.version, i64::try_from(TASKS * INCREMENTS_PER_TASK.div_ceil(10)).unwrap(), "increments do not bump the version; edits do");
    assert_eq!(stored.created_at, post.created_at, "created_at is never written by an update");
    assert!(matches!(posts::increment_like_count(&pool, Uuid::new_v4(), 1).await, Err(RepoError::NotFound { table: "posts" })));
    pool.close().await;
}

/// The seed's race: auth's login bookkeeping and user's profile edits used to write the same
/// `users` row, each from what it had read, so one undid the other. Now they live in two
/// databases, and within each, writers of different columns meet only in patches and
/// increments that leave other columns alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_bookkeeping_and_profile_edits_both_survive() {
    let auth_database = TestDatabase::new("race_auth");
    let user_database = TestDatabase::new("race_user");
    let auth = pool(&auth_database, nova_auth::db::MIGRATIONS).await;
    let user = pool(&user_database, nova_user::db::MIGRATIONS).await;
    let account = nova_auth::repo::users::insert(
        &auth,
        &nova_auth::repo::users::New {
            id: None,
            email: "ada@example.com".into(),
            username: "ada".into(),
            password_hash: "hash".into(),
            email_verified: None,
            status: None,
            failed_login_attempts: None,
            locked_until: None,
            last_login_at: None,
            created_at: None,
            updated_at: None,
            deleted_at: None,
        },
    )
    .await
    .unwrap();
    let profile = nova_user::repo::profiles::New {
        user_id: account.id,
        display_name: Some("Ada".into()),
        bio: None,
        avatar_media_id: None,
        avatar_url: None,
        location: None,
        website_url: None,
        visibility: None,
        follower_count: None,
        following_count: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    nova_user::repo::profiles::insert(&user, &profile).await.unwrap();

    let rounds = 200;
    let id = account.id;
    let mut tasks = Vec::new();
    // auth: failed attempts counted, then a successful login stamps last_login_at.
    for _ in 0..TASKS / 4 {
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..rounds {
                nova_auth::repo::users::increment_failed_login_attempts(&auth, id, 1).await.unwrap();
                let login = nova_auth::repo::users::Patch { last_login_at: Some(Some(Utc::now())), ..Default::default() };
                nova_auth::repo::users::update(&auth, id, &login).await.unwrap();
            }
        }));
    }
    // auth, same row: the user verifies the email and changes the password meanwhile.
    {
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..rounds {
                let edit =
                    nova_auth::repo::users::Patch { email_verified: Some(true), password_hash: Some(format!("hash {i}")), ..Default::default() };
                nova_auth::repo::users::update(&auth, id, &edit).await.unwrap();
            }
        }));
    }
    // user: profile edits (read-modify-write under the version) and new followers.
    for task in 0..TASKS / 4 {
        let user = user.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..rounds {
                loop {
                    let current = nova_user::repo::profiles::get(&user, id).await.unwrap().unwrap();
                    let edit = nova_user::repo::profiles::Patch { bio: Some(format!("{}|{task}.{i}", current.bio)), ..Default::default() };
                    match nova_user::repo::profiles::update_if_version(&user, id, current.version, &edit).await {
                        Ok(_) => break,
                        Err(RepoError::VersionConflict { .. }) => continue,
                        Err(other) => panic!("unexpected error: {other}"),
                    }
                }
                nova_user::repo::profiles::increment_follower_count(&user, id, 1).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let logins = i32::try_from(TASKS / 4 * rounds).unwrap();
    let stored = nova_auth::repo::users::get(&auth, id).await.unwrap().unwrap();
    assert_eq!(stored.failed_login_attempts, logins, "every failed attempt counted");
    assert!(stored.last_login_at.is_some(), "the login bookkeeping landed");
    assert!(stored.email_verified && stored.password_hash == format!("hash {}", rounds - 1), "the user's own edits survived the bookkeeping");
    assert_eq!((stored.email.as_str(), stored.username.as_str()), ("ada@example.com", "ada"), "columns nobody patched are untouched");

    let stored = nova_user::repo::profiles::get(&user, id).await.unwrap().unwrap();
    let edits = stored.bio.split('|').filter(|part| !part.is_empty()).count();
    assert_eq!(edits, TASKS / 4 * rounds, "every profile edit is in the bio, none overwritten");
    assert_eq!(stored.follower_count, i64::try_from(TASKS / 4 * rounds).unwrap());
    assert_eq!(stored.display_name, "Ada", "the profile's other columns are untouched");
    auth.close().await;
    user.close().await;
}
