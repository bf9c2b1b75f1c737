//! Generated migrations and repositories against the real PostgreSQL: every service's schema
//! applies to its own fresh database, and the repository functions do what their docs say
//! (defaults, unique and foreign-key errors, optimistic concurrency, keyset pages, cascades).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_auth::repo::{auth_logs, sessions, users};
use nova_runtime::codegen::chrono::{Duration, Utc};
use nova_runtime::codegen::sqlx::{self, PgPool};
use nova_runtime::codegen::tonic::Code;
use nova_runtime::codegen::{serde_json, uuid::Uuid};
use nova_runtime::db::{DbError, Migration};
use nova_runtime::{LogicError, RepoError};
use nova_tests::TestDatabase;

async fn tables_of(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' ORDER BY 1")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_service_schema_applies_to_its_own_database() {
    let services: [(&str, &[Migration], &[&str]); 8] = [
        ("auth", nova_auth::db::MIGRATIONS, nova_auth::repo::TABLES),
        ("user", nova_user::db::MIGRATIONS, nova_user::repo::TABLES),
        ("messaging", nova_messaging::db::MIGRATIONS, nova_messaging::repo::TABLES),
        ("content", nova_content::db::MIGRATIONS, nova_content::repo::TABLES),
        ("media", nova_media::db::MIGRATIONS, nova_media::repo::TABLES),
        ("feed", nova_feed::db::MIGRATIONS, nova_feed::repo::TABLES),
        ("search", nova_search::db::MIGRATIONS, nova_search::repo::TABLES),
        ("streaming", nova_streaming::db::MIGRATIONS, nova_streaming::repo::TABLES),
    ];
    for (service, migrations, tables) in services {
        let database = TestDatabase::new(service);
        let pool = nova_runtime::db::connect_and_migrate(&database.config(), migrations)
            .await
            .unwrap_or_else(|e: DbError| panic!("{service}: {}", nova_runtime::error::cause_chain(&e)));
        let mut expected: Vec<String> = tables.iter().map(|t| t.to_string()).collect();
        expected.sort();
        // The events tables (outbox, inbox, versions) come from the spec's events, without
        // repositories; tests/events checks what is in them.
        let (events, own): (Vec<String>, Vec<String>) = tables_of(&pool).await.into_iter().partition(|t| t.starts_with("nova_"));
        assert_eq!(own, expected, "{service} owns exactly its tables");
        for table in events {
            assert!(
                ["nova_outbox", "nova_aggregate_versions", "nova_event_inbox", "nova_consumed_versions"].contains(&table.as_str()),
                "{service}: unexpected table {table}"
            );
        }
        // Foreign keys only ever point at tables of the same database.
        let foreign: Vec<String> = sqlx::query_scalar(
            "SELECT ccu.table_name::text FROM information_schema.table_constraints tc \
             JOIN information_schema.constraint_column_usage ccu ON tc.constraint_name = ccu.constraint_name \
             WHERE tc.constraint_type = 'FOREIGN KEY'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(foreign.iter().all(|t| tables.contains(&t.as_str())), "{service}: {foreign:?}");
        pool.close().await;
    }
}

fn new_user(email: &str) -> users::New {
    users::New {
        id: None,
        email: email.to_string(),
        username: email.split('@').next().unwrap().to_string(),
        password_hash: "hash".into(),
        email_verified: None,
        status: None,
        failed_login_attempts: None,
        locked_until: None,
        last_login_at: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    }
}

async fn auth_database() -> (TestDatabase, PgPool) {
    let database = TestDatabase::new("repo");
    let pool = nova_auth::db::connect(&database.config()).await.unwrap();
    (database, pool)
}

#[tokio::test]
async fn insert_fills_defaults_and_lookups_find_rows() {
    let (_database, pool) = auth_database().await;
    let ada = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    assert!(!ada.email_verified && ada.status == users::Status::Active && ada.failed_login_attempts == 0 && ada.version == 0);
    assert!(Utc::now() - ada.created_at < Duration::seconds(60));
    assert_eq!(users::get(&pool, ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(users::find_by_email(&pool, "ada@example.com").await.unwrap(), Some(ada.clone()));
    assert_eq!(users::find_by_username(&pool, "nobody").await.unwrap(), None);
    let bob = users::insert(&pool, &new_user("bob@example.com")).await.unwrap();
    let found: Vec<Uuid> = users::get_many(&pool, &[bob.id, Uuid::new_v4(), ada.id]).await.unwrap().iter().map(|u| u.id).collect();
    let mut known = vec![bob.id, ada.id];
    known.sort();
    assert_eq!(found, known, "known keys, in key order");

    let detail = serde_json::json!({"ip": "10.0.0.1", "attempt": 3});
    let log = auth_logs::New {
        id: None,
        user_id: Some(ada.id),
        event: "login_failed".into(),
        ip_address: None,
        detail: Some(detail.clone()),
        created_at: None,
    };
    assert_eq!(auth_logs::insert(&pool, &log).await.unwrap().detail, detail);
}

#[tokio::test]
async fn constraint_violations_are_classified() {
    let (_database, pool) = auth_database().await;
    users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    match users::insert(&pool, &new_user("ada@example.com")).await {
        Err(RepoError::UniqueViolation { table: "users", constraint }) => assert_eq!(constraint.as_deref(), Some("users_email_live_key")),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    let orphan = sessions::New {
        id: None,
        user_id: Uuid::new_v4(),
        device: None,
        ip_address: None,
        created_at: None,
        expires_at: Utc::now(),
        revoked_at: None,
    };
    match sessions::insert(&pool, &orphan).await {
        Err(RepoError::ForeignKeyViolation { table: "sessions", constraint }) => assert_eq!(constraint.as_deref(), Some("sessions_user_id_fkey")),
        other => panic!("expected a foreign-key violation, got {other:?}"),
    }
}

#[tokio::test]
async fn updates_check_and_bump_the_version() {
    let (_database, pool) = auth_database().await;
    let original = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    let verified = users::Patch { email_verified: Some(true), ..Default::default() };
    let stored = users::update_if_version(&pool, original.id, original.version, &verified).await.unwrap();
    assert_eq!((stored.version, stored.email_verified), (1, true));
    assert!(stored.updated_at >= original.updated_at, "updated_at (declared `touch`) is stamped by the update");
    assert_eq!(stored.created_at, original.created_at, "created_at (declared `immutable`) is never written");

    // A writer still holding version 0 loses instead of overwriting (the lost-update fix).
    let stale = users::Patch { password_hash: Some("other".into()), ..Default::default() };
    match users::update_if_version(&pool, original.id, original.version, &stale).await {
        Err(RepoError::VersionConflict { table: "users", expected: 0, .. }) => {}
        other => panic!("expected a version conflict, got {other:?}"),
    }
    assert_eq!(users::get(&pool, original.id).await.unwrap().unwrap().password_hash, "hash");

    assert!(users::delete(&pool, original.id).await.unwrap());
    assert!(!users::delete(&pool, original.id).await.unwrap());
    assert!(matches!(users::update(&pool, stored.id, &verified).await, Err(RepoError::NotFound { table: "users" })));
    assert!(matches!(users::update_if_version(&pool, stored.id, 1, &verified).await, Err(RepoError::NotFound { table: "users" })));
}

#[tokio::test]
async fn pages_walk_every_row_once_in_order() {
    let (_database, pool) = auth_database().await;
    for i in 0..7 {
        users::insert(&pool, &new_user(&format!("user{i}@example.com"))).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after: Option<users::KeyCursor> = None;
    loop {
        let page = users::list(&pool, after.as_ref(), 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last().map(users::KeyCursor::from) else { break };
        assert_eq!(last, users::KeyCursor { id: page[page.len() - 1].id }, "a key cursor is the key");
        seen.extend(page.into_iter().map(|u| u.id));
        after = Some(last);
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 7);

    // Sessions of one user, newest first, through the (user_id, created_at desc) index.
    let owner = users::get_many(&pool, &seen[..1]).await.unwrap().remove(0);
    let now = Utc::now();
    for minutes in [5, 1, 3, 2, 4] {
        let session = sessions::New {
            id: None,
            user_id: owner.id,
            device: Some(format!("device {minutes}")),
            ip_address: None,
            created_at: Some(now - Duration::minutes(minutes)),
            expires_at: now + Duration::hours(1),
            revoked_at: None,
        };
        sessions::insert(&pool, &session).await.unwrap();
    }
    let first = sessions::list_by_user_id(&pool, owner.id, None, 2).await.unwrap();
    let second = sessions::list_by_user_id(&pool, owner.id, first.last().map(Into::into).as_ref(), 10).await.unwrap();
    let devices: Vec<String> = first.iter().chain(&second).map(|s| s.device.clone()).collect();
    assert_eq!(devices, ["device 1", "device 2", "device 3", "device 4", "device 5"]);

    // In-service foreign keys cascade (a soft delete keeps the row: purge removes it).
    assert!(users::purge(&pool, owner.id).await.unwrap());
    assert!(sessions::list_by_user_id(&pool, owner.id, None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn soft_deleted_users_are_hidden_and_their_email_can_register_again() {
    let (_database, pool) = auth_database().await;
    let first = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    assert_eq!(users::find_by_email(&pool, "ada@example.com").await.unwrap().map(|u| u.id), Some(first.id));
    assert!(users::delete(&pool, first.id).await.unwrap());
    // Every read hides the deleted row; the row itself is still there.
    assert!(users::get(&pool, first.id).await.unwrap().is_none());
    assert!(users::get_many(&pool, &[first.id]).await.unwrap().is_empty());
    assert!(users::find_by_email(&pool, "ada@example.com").await.unwrap().is_none());
    assert!(users::list(&pool, None, 10).await.unwrap().is_empty());
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE deleted_at IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(kept, 1);
    // Uniques hold among live rows only: the same email and username register again...
    let second = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(users::find_by_email(&pool, "ada@example.com").await.unwrap().map(|u| u.id), Some(second.id));
    // ...but not twice among live rows.
    match users::insert(&pool, &new_user("ada@example.com")).await {
        Err(RepoError::UniqueViolation { constraint, .. }) => assert_eq!(constraint.as_deref(), Some("users_email_live_key")),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    // A deleted row cannot be updated or deleted again.
    let patch = users::Patch { email_verified: Some(true), ..Default::default() };
    assert!(matches!(users::update(&pool, first.id, &patch).await, Err(RepoError::NotFound { table: "users" })));
    assert!(!users::delete(&pool, first.id).await.unwrap());
    assert!(users::purge(&pool, first.id).await.unwrap());
}

#[tokio::test]
async fn enums_round_trip_and_out_of_range_values_are_refused_by_the_database() {
    let (_database, pool) = auth_database().await;
    let mut new = new_user("grace@example.com");
    new.status = Some(users::Status::Locked);
    let locked = users::insert(&pool, &new).await.unwrap();
    assert_eq!(locked.status, users::Status::Locked);
    let stored: i16 = sqlx::query_scalar("SELECT status FROM users WHERE id = $1").bind(locked.id).fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 2, "numbered enums store their number");
    assert_eq!(users::Status::from_number(3), Some(users::Status::Deleted));
    assert_eq!(users::Status::from_number(9), None);
    // The proto enum with the same names converts both ways; UNSPECIFIED has no column value.
    assert_eq!(nova_auth::pb::AccountStatus::from(users::Status::Locked), nova_auth::pb::AccountStatus::Locked);
    assert_eq!(users::Status::try_from(nova_auth::pb::AccountStatus::Deleted), Ok(users::Status::Deleted));
    assert_eq!(users::Status::try_from(nova_auth::pb::AccountStatus::Unspecified), Err(nova_auth::pb::AccountStatus::Unspecified));
    // Another writer cannot store a number outside the enum: the CHECK refuses it, nothing written.
    let error = sqlx::query("UPDATE users SET status = 9 WHERE id = $1").bind(locked.id).execute(&pool).await.unwrap_err();
    assert_eq!(error.as_database_error().and_then(|e| e.code()).as_deref(), Some("23514"), "a check violation: {error}");
    assert_eq!(users::get(&pool, locked.id).await.unwrap().unwrap().status, users::Status::Locked);
    // Table checks too: usernames are 3 to 32 characters.
    let mut short = new_user("al@example.com");
    short.username = "al".into();
    match users::insert(&pool, &short).await {
        Err(RepoError::CheckViolation { constraint, .. }) => assert_eq!(constraint.as_deref(), Some("users_username_check")),
        other => panic!("expected a check violation, got {other:?}"),
    }
}

/// Walks every page of a list function and returns the rows in the order they came.
async fn walk<F, Fut, R: Clone>(page_size: i64, mut page: F) -> Vec<R>
where
    F: FnMut(Option<R>, i64) -> Fut,
    Fut: std::future::Future<Output = Vec<R>>,
{
    let mut seen = Vec::new();
    let mut after: Option<R> = None;
    loop {
        let rows = page(after.clone(), page_size).await;
        assert!(rows.len() as i64 <= page_size);
        let Some(last) = rows.last().cloned() else { return seen };
        seen.extend(rows);
        after = Some(last);
    }
}

#[tokio::test]
async fn null_filters_match_null_rows() {
    use nova_content::repo::comments;
    let database = TestDatabase::new("repo_nulls");
    let pool = nova_content::db::connect(&database.config()).await.unwrap();
    let post = nova_content::repo::posts::New {
        id: None,
        author_id: Uuid::new_v4(),
        body: None,
        visibility: None,
        like_count: None,
        comment_count: None,
        share_count: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    let post_id = nova_content::repo::posts::insert(&pool, &post).await.unwrap().id;
    let comment = |parent: Option<Uuid>, body: &str| comments::New {
        id: None,
        post_id,
        author_id: Uuid::new_v4(),
        parent_comment_id: parent,
        body: body.into(),
        like_count: None,
        created_at: None,
        updated_at: None,
        deleted_at: None,
    };
    let mut top = Vec::new();
    for i in 0..5 {
        top.push(comments::insert(&pool, &comment(None, &format!("top {i}"))).await.unwrap().id);
    }
    let reply = comments::insert(&pool, &comment(Some(top[0]), "reply")).await.unwrap();

    // `None` matches the top-level comments (parent_comment_id IS NULL), a page at a time.
    let found = walk(2, |after: Option<comments::Row>, limit| {
        let pool = pool.clone();
        async move { comments::list_by_parent_comment_id(&pool, None, after.as_ref().map(Into::into).as_ref(), limit).await.unwrap() }
    })
    .await;
    let mut found: Vec<Uuid> = found.iter().map(|c| c.id).collect();
    found.sort();
    top.sort();
    assert_eq!(found, top, "every top-level comment, once");
    let replies = comments::list_by_parent_comment_id(&pool, Some(reply.parent_comment_id.unwrap()), None, 10).await.unwrap();
    assert_eq!(replies, std::slice::from_ref(&reply));

    // A patch can set a nullable column to NULL (Some(None)) or leave it (None).
    let moved = comments::update(&pool, reply.id, &comments::Patch { parent_comment_id: Some(None), ..Default::default() }).await.unwrap();
    assert_eq!(moved.parent_comment_id, None);
    let kept = comments::update(&pool, reply.id, &comments::Patch { body: Some("edited".into()), ..Default::default() }).await.unwrap();
    assert_eq!((kept.parent_comment_id, kept.body.as_str()), (None, "edited"));
    assert_eq!(comments::list_by_parent_comment_id(&pool, None, None, 100).await.unwrap().len(), 6);
}

#[tokio::test]
async fn pages_over_a_nullable_sort_column_do_not_stop_at_null() {
    use nova_streaming::repo::streams;
    let database = TestDatabase::new("repo_null_cursor");
    let pool = nova_streaming::db::connect(&database.config()).await.unwrap();
    let now = Utc::now();
    // Streams by status, newest start first: three never started (NULL), four started.
    let starts = [None, Some(3), None, Some(1), Some(4), None, Some(2)];
    for (i, minutes) in starts.iter().enumerate() {
        let stream = streams::New {
            id: None,
            creator_id: Uuid::new_v4(),
            title: format!("stream {i}"),
            description: None,
            status: Some(streams::Status::Scheduled),
            visibility: None,
            chat_enabled: None,
            thumbnail_media_id: None,
            scheduled_start_at: None,
            started_at: minutes.map(|m| now - Duration::minutes(m)),
            ended_at: None,
            created_at: None,
            updated_at: None,
            current_viewer_count: None,
            peak_viewer_count: None,
        };
        streams::insert(&pool, &stream).await.unwrap();
    }
    for page_size in [1, 2, 3, 10] {
        let seen = walk(page_size, |after: Option<streams::Row>, limit| {
            let pool = pool.clone();
            async move { streams::list_by_status(&pool, streams::Status::Scheduled, after.as_ref().map(Into::into).as_ref(), limit).await.unwrap() }
        })
        .await;
        assert_eq!(seen.len(), starts.len(), "pages of {page_size} reach every row, past the NULLs");
        let unstarted = seen.iter().take_while(|s| s.started_at.is_none()).count();
        assert_eq!(unstarted, 3, "NULLs first in a descending order, as the index keeps them");
        let started: Vec<_> = seen[unstarted..].iter().map(|s| s.started_at.unwrap()).collect();
        let mut newest_first = started.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(started, newest_first);
        let mut ids: Vec<Uuid> = seen.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), starts.len(), "no row twice");
    }
}

#[tokio::test]
async fn a_timestamp_index_gives_a_time_range() {
    let (_database, pool) = auth_database().await;
    let base = Utc::now() - Duration::days(1);
    for hours in 0..10 {
        let mut user = new_user(&format!("user{hours}@example.com"));
        user.created_at = Some(base + Duration::hours(hours));
        users::insert(&pool, &user).await.unwrap();
    }
    // [base + 2h, base + 7h): five users, oldest first, whatever the page size.
    let since = base + Duration::hours(2);
    let until = base + Duration::hours(7);
    let seen = walk(2, |after: Option<users::Row>, limit| {
        let pool = pool.clone();
        async move { users::list_by_created_at_between(&pool, since, until, after.as_ref().map(Into::into).as_ref(), limit).await.unwrap() }
    })
    .await;
    let names: Vec<&str> = seen.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["user2", "user3", "user4", "user5", "user6"]);
    assert!(users::list_by_created_at_between(&pool, until, since, None, 10).await.unwrap().is_empty(), "an empty range is empty");
}

#[tokio::test]
async fn check_and_range_violations_are_invalid_arguments() {
    let (_database, pool) = auth_database().await;
    // The spec's `checks = ["length(username) between 3 and 32", ...]` on users.
    let error = users::insert(&pool, &new_user("ab@example.com")).await.unwrap_err();
    match &error {
        RepoError::CheckViolation { table: "users", constraint } => assert_eq!(constraint.as_deref(), Some("users_username_check")),
        other => panic!("expected a check violation, got {other:?}"),
    }
    assert_eq!(LogicError::from(error).code(), Code::InvalidArgument);
    assert_eq!(users::list(&pool, None, 10).await.unwrap(), [], "nothing was written");

    // A counter pushed past its type's range is the caller's mistake, not an internal error.
    let ada = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    users::increment_failed_login_attempts(&pool, ada.id, i32::MAX).await.unwrap();
    let error = users::increment_failed_login_attempts(&pool, ada.id, 1).await.unwrap_err();
    assert!(matches!(error, RepoError::InvalidValue { table: "users", .. }), "{error:?}");
    assert_eq!(LogicError::from(error).code(), Code::InvalidArgument);
    assert_eq!(users::get(&pool, ada.id).await.unwrap().unwrap().failed_login_attempts, i32::MAX);
}

/// A hand-written query over an owned table decodes through the generated `Row`: `COLUMNS`
/// (or `columns!()` in static SQL) is the select list in the order `Row` reads it.
#[tokio::test]
async fn hand_written_queries_decode_through_the_generated_row() {
    let (_database, pool) = auth_database().await;
    let ada = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    assert_eq!(users::COLUMNS, users::columns!());
    assert!(users::COLUMNS.starts_with("id, email, "), "{}", users::COLUMNS);

    // Static SQL built with the macro, decoded with `FromRow`.
    const BY_EMAIL: &str = concat!("SELECT ", users::columns!(), " FROM users WHERE email = $1");
    let found: users::Row = sqlx::query_as(BY_EMAIL).bind("ada@example.com").fetch_one(&pool).await.unwrap();
    assert_eq!(found, ada);

    // Something selected before the columns: `Row::decode` at an offset.
    const COUNTED: &str = concat!("SELECT count(*) OVER (), ", users::columns!(), " FROM users");
    let row = sqlx::query(COUNTED).fetch_one(&pool).await.unwrap();
    assert_eq!(users::Row::decode(&row, 1).unwrap(), ada);
    // A list that does not match the order fails to decode instead of mixing fields up.
    let swapped = sqlx::query("SELECT email, id FROM users").fetch_one(&pool).await.unwrap();
    assert!(users::Row::decode(&swapped, 0).is_err());
}

/// Enum values in SQL text by name: `status_sql!(locked)` is the stored number; a name the
/// column does not have would not compile. The enum's `number()` is usable in constants.
#[tokio::test]
async fn enum_values_are_written_in_sql_by_name() {
    use nova_streaming::repo::streams;
    assert_eq!(users::status_sql!(locked), "2");
    assert_eq!(streams::status_sql!(live), "2");
    const LIVE: i16 = streams::Status::Live.number();
    assert_eq!(streams::Status::from_number(LIVE), Some(streams::Status::Live));
    assert_eq!(users::status_sql!(active), users::Status::Active.number().to_string());

    let (_database, pool) = auth_database().await;
    let ada = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    users::insert(&pool, &new_user("bob@example.com")).await.unwrap();
    const LOCK: &str = concat!("UPDATE users SET status = ", users::status_sql!(locked), " WHERE id = $1 AND status = ", users::status_sql!(active));
    assert_eq!(sqlx::query(LOCK).bind(ada.id).execute(&pool).await.unwrap().rows_affected(), 1);
    assert_eq!(users::get(&pool, ada.id).await.unwrap().unwrap().status, users::Status::Locked);
    const LOCKED: &str = concat!("SELECT count(*) FROM users WHERE status = ", users::status_sql!(locked));
    let locked: i64 = sqlx::query_scalar(LOCKED).fetch_one(&pool).await.unwrap();
    assert_eq!(locked, 1);
}

/// Whether another session could lock the row right now (`NOWAIT` fails on a held lock).
async fn lockable(pool: &PgPool, id: Uuid) -> bool {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '50ms'").execute(&mut *tx).await.unwrap();
    let locked = sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE NOWAIT").bind(id).fetch_optional(&mut *tx).await;
    match locked {
        Ok(_) => true,
        Err(error) => {
            let code = error.as_database_error().and_then(|e| e.code().map(|c| c.to_string()));
            assert_eq!(code.as_deref(), Some("55P03"), "lock_not_available, got {error}");
            false
        }
    }
}

#[tokio::test]
async fn rows_locked_for_update_stay_locked_until_the_transaction_ends() {
    let (_database, pool) = auth_database().await;
    let ada = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    let bob = users::insert(&pool, &new_user("bob@example.com")).await.unwrap();
    let gone = users::insert(&pool, &new_user("gone@example.com")).await.unwrap();
    users::delete(&pool, gone.id).await.unwrap();

    let mut tx = pool.begin().await.unwrap();
    assert_eq!(users::get_for_update(&mut tx, ada.id).await.unwrap(), Some(ada.clone()));
    assert!(users::get_for_update(&mut tx, gone.id).await.unwrap().is_none(), "a soft-deleted row is not found");
    assert!(!lockable(&pool, ada.id).await, "held by the transaction");
    assert!(lockable(&pool, bob.id).await);
    tx.commit().await.unwrap();
    assert!(lockable(&pool, ada.id).await, "released at commit");

    let mut tx = pool.begin().await.unwrap();
    let mut expected = vec![ada.id, bob.id];
    expected.sort();
    let locked: Vec<Uuid> =
        users::get_many_for_update(&mut tx, &[bob.id, gone.id, Uuid::new_v4(), ada.id]).await.unwrap().iter().map(|u| u.id).collect();
    assert_eq!(locked, expected, "live rows, in key order");
    assert!(!lockable(&pool, ada.id).await && !lockable(&pool, bob.id).await);
    tx.rollback().await.unwrap();
    assert!(lockable(&pool, ada.id).await && lockable(&pool, bob.id).await);
}

/// Transactions that lock the same rows, asked for in opposite orders, wait for each other
/// instead of deadlocking: both lock in key order.
#[tokio::test]
async fn locking_many_rows_in_opposite_orders_does_not_deadlock() {
    let (_database, pool) = auth_database().await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(users::insert(&pool, &new_user(&format!("user{i}@example.com"))).await.unwrap().id);
    }
    let rounds = (0..8).map(|round| {
        let pool = pool.clone();
        let mut ids = ids.clone();
        if round % 2 == 1 {
            ids.reverse();
        }
        async move {
            let mut tx = pool.begin().await.unwrap();
            let rows = users::get_many_for_update(&mut tx, &ids).await.unwrap();
            for row in &rows {
                let patch = users::Patch { password_hash: Some(format!("round {round}")), ..Default::default() };
                users::update(&mut *tx, row.id, &patch).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    });
    futures_util::future::join_all(rounds).await;
    // What makes the order hold whatever the plan: the rows are sorted before they are locked.
    let statement = users::STATEMENTS.iter().find(|(name, _)| *name == "get_many_for_update").map(|(_, sql)| *sql).unwrap();
    assert!(statement.ends_with(" ORDER BY id FOR UPDATE"), "{statement}");
    for id in ids {
        assert_eq!(users::get(&pool, id).await.unwrap().unwrap().version, 8, "every round updated every row");
    }
}

#[tokio::test]
async fn insert_if_absent_inserts_once_by_any_unique_key() {
    let (_database, pool) = auth_database().await;
    let ada = users::insert_if_absent_by_email(&pool, &new_user("ada@example.com")).await.unwrap().expect("inserted");
    let mut again = new_user("ada@example.com");
    again.username = "other".into();
    assert_eq!(users::insert_if_absent_by_email(&pool, &again).await.unwrap(), None, "the email is taken");
    let mut same_username = new_user("other@example.com");
    same_username.username = "ada".into();
    assert_eq!(users::insert_if_absent_by_username(&pool, &same_username).await.unwrap(), None);
    let mut same_id = new_user("third@example.com");
    same_id.id = Some(ada.id);
    assert_eq!(users::insert_if_absent(&pool, &same_id).await.unwrap(), None, "the key is taken");
    // Another unique than the target still fails as a violation: only the target is tolerated.
    assert!(matches!(users::insert_if_absent_by_username(&pool, &again).await, Err(RepoError::UniqueViolation { .. })));
    // A soft-deleted row frees its live-rows unique (the target's partial index).
    users::delete(&pool, ada.id).await.unwrap();
    let ada2 = users::insert_if_absent_by_email(&pool, &new_user("ada@example.com")).await.unwrap().expect("inserted again");
    assert_ne!(ada2.id, ada.id);
    // A deleted row still holds its primary key.
    let mut deleted_id = new_user("fourth@example.com");
    deleted_id.id = Some(ada.id);
    assert_eq!(users::insert_if_absent(&pool, &deleted_id).await.unwrap(), None);

    // Concurrent first writers: exactly one inserts, none fails.
    let writers = (0..8).map(|_| {
        let pool = pool.clone();
        async move { users::insert_if_absent_by_email(&pool, &new_user("race@example.com")).await.unwrap() }
    });
    let inserted = futures_util::future::join_all(writers).await.into_iter().flatten().count();
    assert_eq!(inserted, 1);
}

#[tokio::test]
async fn upsert_inserts_then_updates_and_says_which() {
    let (_database, pool) = auth_database().await;
    let (ada, inserted) = users::upsert_by_email(&pool, &new_user("ada@example.com")).await.unwrap();
    assert!(inserted && ada.version == 0);
    users::update(&pool, ada.id, &users::Patch { status: Some(users::Status::Locked), ..Default::default() }).await.unwrap();

    let mut changed = new_user("ada@example.com");
    changed.id = Some(Uuid::new_v4());
    changed.password_hash = "new hash".into();
    changed.created_at = Some(Utc::now() - Duration::days(3));
    let (stored, inserted) = users::upsert_by_email(&pool, &changed).await.unwrap();
    assert!(!inserted);
    assert_eq!(stored.id, ada.id, "the key is not changed");
    assert_eq!(stored.password_hash, "new hash");
    assert_eq!(stored.status, users::Status::Locked, "a column left to its default keeps its value");
    assert_eq!(stored.created_at, ada.created_at, "immutable");
    assert_eq!(stored.version, 2, "bumped like an update");
    assert!(stored.updated_at >= ada.updated_at);

    // By the primary key, on a table without soft delete.
    let database = TestDatabase::new("repo_feed");
    let feed = nova_feed::db::connect(&database.config()).await.unwrap();
    use nova_feed::repo::user_feed_preferences as preferences;
    let user = Uuid::new_v4();
    let new = preferences::New {
        user_id: user,
        default_feed_kind: None,
        preferred_categories: Some(vec!["rust".into()]),
        muted_author_ids: None,
        created_at: None,
        updated_at: None,
    };
    let (first, inserted) = preferences::upsert(&feed, &new).await.unwrap();
    assert!(inserted && first.default_feed_kind == preferences::DefaultFeedKind::Personalized);
    let following = preferences::New { default_feed_kind: Some(preferences::DefaultFeedKind::Following), preferred_categories: None, ..new.clone() };
    let (second, inserted) = preferences::upsert(&feed, &following).await.unwrap();
    assert!(!inserted);
    assert_eq!(
        (second.default_feed_kind, second.preferred_categories.clone(), second.version),
        (preferences::DefaultFeedKind::Following, vec!["rust".to_string()], 1)
    );
    assert_eq!(preferences::insert_if_absent(&feed, &new).await.unwrap(), None);

    // Concurrent upserts of one new key: one inserts, the others update, none fails.
    let other = preferences::New { user_id: Uuid::new_v4(), ..new.clone() };
    let writers = (0..8).map(|_| {
        let feed = feed.clone();
        let other = other.clone();
        async move { preferences::upsert(&feed, &other).await.unwrap().1 }
    });
    let inserts = futures_util::future::join_all(writers).await.into_iter().filter(|inserted| *inserted).count();
    assert_eq!(inserts, 1);
    assert_eq!(preferences::get(&feed, other.user_id).await.unwrap().unwrap().version, 7);
    feed.close().await;
}

#[tokio::test]
async fn typed_cursors_continue_a_page_without_the_row_and_survive_a_page_token() {
    use nova_runtime::paging::{decode_token, encode_token};
    let (_database, pool) = auth_database().await;
    let base = Utc::now() - Duration::days(1);
    let mut ids = Vec::new();
    for hours in 0..5 {
        let mut user = new_user(&format!("user{hours}@example.com"));
        user.created_at = Some(base + Duration::hours(hours));
        ids.push(users::insert(&pool, &user).await.unwrap().id);
    }
    let (since, until) = (base - Duration::hours(1), base + Duration::hours(10));
    let first = users::list_by_created_at_between(&pool, since, until, None, 2).await.unwrap();
    let cursor: users::CreatedAtCursor = first.last().unwrap().into();
    assert_eq!(cursor, users::CreatedAtCursor { created_at: first[1].created_at, id: ids[1] }, "exactly the ordering columns");

    // Through a page token and back, the cursor is the same value.
    let token = encode_token("ListUsers", &cursor);
    let decoded: users::CreatedAtCursor = decode_token("ListUsers", &token).unwrap().unwrap();
    assert_eq!(decoded, cursor);
    assert!(decode_token::<users::CreatedAtCursor>("ListOtherUsers", &token).is_err(), "another list's token is refused");

    // The row the cursor came from may be gone: the page still continues after its position.
    assert!(users::purge(&pool, ids[1]).await.unwrap());
    let rest = users::list_by_created_at_between(&pool, since, until, Some(&decoded), 10).await.unwrap();
    assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), ids[2..]);

    // A cursor built by hand (no row at all) starts where its values say.
    let by_hand = users::CreatedAtCursor { created_at: base + Duration::hours(3), id: Uuid::nil() };
    let tail = users::list_by_created_at_between(&pool, since, until, Some(&by_hand), 10).await.unwrap();
    assert_eq!(tail.iter().map(|u| u.id).collect::<Vec<_>>(), ids[3..], "(created_at, nil id) sorts before the row at that time");
}

#[tokio::test]
async fn get_including_deleted_sees_soft_deleted_rows_that_get_hides() {
    let (_database, pool) = auth_database().await;
    let ada = users::insert(&pool, &new_user("ada@example.com")).await.unwrap();
    assert_eq!(users::get_including_deleted(&pool, ada.id).await.unwrap().as_ref(), Some(&ada), "a live row, as get reads it");
    assert!(users::delete(&pool, ada.id).await.unwrap());
    assert_eq!(users::get(&pool, ada.id).await.unwrap(), None);
    let deleted = users::get_including_deleted(&pool, ada.id).await.unwrap().expect("the deleted row is still readable");
    assert_eq!(deleted.id, ada.id);
    assert!(deleted.deleted_at.is_some(), "and says it is deleted");
    // A row that never existed, or one purged for good, is None.
    assert_eq!(users::get_including_deleted(&pool, Uuid::new_v4()).await.unwrap(), None);
    assert!(users::purge(&pool, ada.id).await.unwrap());
    assert_eq!(users::get_including_deleted(&pool, ada.id).await.unwrap(), None);
}

#[tokio::test]
async fn insert_idempotent_returns_the_first_row_for_a_repeated_request_id() {
    use nova_search::repo::search_queries as queries;
    let database = TestDatabase::new("repo_idempotent");
    let pool = nova_search::db::connect(&database.config()).await.unwrap();
    let new = |request_id: Uuid, query: &str| queries::New {
        id: None,
        request_id,
        user_id: None,
        query: query.into(),
        normalized_query: query.to_lowercase(),
        scope: None,
        result_count: Some(3),
        created_at: None,
    };
    let request = Uuid::new_v4();
    let (first, created) = queries::insert_idempotent(&pool, &new(request, "Rust")).await.unwrap();
    assert!(created);
    assert_eq!((first.query.as_str(), first.scope, first.result_count), ("Rust", queries::Scope::All, 3), "defaults filled in");

    // The same request id again, even with other values: the first row, not created, nothing written.
    let (again, created) = queries::insert_idempotent(&pool, &new(request, "Go")).await.unwrap();
    assert!(!created);
    assert_eq!(again, first);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM search_queries").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 1);

    // A conflict on another unique (the primary key) is still an error.
    let mut same_id = new(Uuid::new_v4(), "Zig");
    same_id.id = Some(first.id);
    assert!(matches!(queries::insert_idempotent(&pool, &same_id).await, Err(RepoError::UniqueViolation { .. })));

    // Concurrent requests with one new id: exactly one creates, every one gets that row.
    let racing = Uuid::new_v4();
    let writers = (0..8).map(|i| {
        let pool = pool.clone();
        let new = new(racing, &format!("query {i}"));
        async move { queries::insert_idempotent(&pool, &new).await.unwrap() }
    });
    let results = futures_util::future::join_all(writers).await;
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let winner = results.iter().find(|(_, created)| *created).map(|(row, _)| row.clone()).unwrap();
    assert!(results.iter().all(|(row, _)| *row == winner));
    pool.close().await;
}
