//! The column language through the generated repositories of the torture spec's
//! `beta.everything` table (which declares every addition), against the real PostgreSQL: enums
//! in both storages, nullable columns with a default, expression defaults, identity keys,
//! arrays, intervals and times, soft delete with live-row uniques (also over `lower(title)`),
//! the generated full-text column and its GIN index, `set null` foreign keys, and `citext`
//! (case-insensitive uniques and lookups).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use nova_beta::repo::{everything, links, shelves};
use nova_runtime::RepoError;
use nova_runtime::codegen::chrono::{NaiveTime, Utc};
use nova_runtime::codegen::sqlx::{self, PgPool};
use nova_runtime::codegen::uuid::Uuid;
use nova_tests::TestDatabase;

async fn beta_database() -> (TestDatabase, PgPool) {
    let database = TestDatabase::new("columns");
    let pool = nova_runtime::db::connect_and_migrate(&database.config(), nova_beta::db::MIGRATIONS)
        .await
        .unwrap_or_else(|e| panic!("{}", nova_runtime::error::cause_chain(&e)));
    (database, pool)
}

fn new(title: &str) -> everything::New {
    everything::New {
        title: title.into(),
        state: None,
        mood: None,
        code: None,
        ratio: None,
        opens_at: None,
        ttl: None,
        tags: None,
        flags: None,
        scores: None,
        days: None,
        rank: None,
        expires_at: None,
        pinned: None,
        body: None,
        shelf_owner: None,
        shelf_name: None,
        link_id: None,
        created_at: None,
        deleted_at: None,
        price: None,
        client_ip: None,
        history: None,
        handle: None,
    }
}

fn constraint(error: RepoError) -> Option<String> {
    match error {
        RepoError::UniqueViolation { constraint, .. }
        | RepoError::ForeignKeyViolation { constraint, .. }
        | RepoError::CheckViolation { constraint, .. } => constraint,
        RepoError::Database { source, .. } => source.as_database_error().and_then(|e| e.constraint().map(str::to_string)),
        other => panic!("expected a constraint violation, got {other:?}"),
    }
}

#[tokio::test]
async fn defaults_enums_and_new_types_round_trip() {
    let (_database, pool) = beta_database().await;
    let plain = everything::insert(&pool, &new("Plain")).await.unwrap();
    // Identity numbers rows; defaults (expression ones too) fill what was not given.
    assert!(plain.id >= 1);
    assert_eq!((plain.state, plain.mood, plain.rank, plain.ratio), (everything::State::Draft, None, Some(5), 1.5));
    assert_eq!(plain.ttl.days, 1);
    assert!(plain.expires_at > Utc::now() + nova_runtime::codegen::chrono::Duration::hours(23));
    // A nullable column with a default can still be given NULL.
    let mut unranked = new("Unranked");
    unranked.rank = Some(None);
    unranked.state = Some(everything::State::Archived);
    unranked.mood = Some(everything::Mood::Busy);
    unranked.opens_at = Some(NaiveTime::from_hms_opt(9, 30, 0).unwrap());
    unranked.flags = Some(vec![true, false]);
    unranked.scores = Some(vec![0.5, 2.0]);
    unranked.code = Some("A-1".into());
    unranked.price = Some("1234.50".parse().unwrap());
    unranked.client_ip = Some("2001:db8::1".parse().unwrap());
    unranked.history = Some(vec!["7".parse().unwrap()]);
    let stored = everything::insert(&pool, &unranked).await.unwrap();
    assert_eq!(stored.rank, None);
    assert_eq!((stored.state, stored.mood), (everything::State::Archived, Some(everything::Mood::Busy)));
    assert_eq!((stored.flags.clone(), stored.scores.clone()), (vec![true, false], Some(vec![0.5, 2.0])));
    assert_eq!(stored.opens_at, NaiveTime::from_hms_opt(9, 30, 0));
    assert_eq!((stored.price.to_string(), stored.client_ip.map(|ip| ip.to_string())), ("1234.50".to_string(), Some("2001:db8::1".to_string())));
    assert!(plain.price.is_zero(), "the default, 0: {}", plain.price);
    // numeric(12, 2) rounds to its scale; a value beyond its precision is refused.
    let mut huge = new("Huge");
    huge.price = Some("12345678901.5".parse().unwrap());
    assert!(matches!(everything::insert(&pool, &huge).await, Err(RepoError::InvalidValue { .. })));
    // Numbered enums store numbers, text enums names.
    let (state, mood): (i16, String) =
        sqlx::query_as("SELECT state, mood FROM everything WHERE id = $1").bind(stored.id).fetch_one(&pool).await.unwrap();
    assert_eq!((state, mood.as_str()), (3, "busy"));
    // Checks guard what the types cannot: a negative ratio is refused, nothing written.
    let mut negative = new("Negative");
    negative.ratio = Some(-1.0);
    assert_eq!(constraint(everything::insert(&pool, &negative).await.unwrap_err()).as_deref(), Some("everything_ratio_check"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM everything").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 2);
}

#[tokio::test]
async fn soft_delete_frees_live_uniques_and_full_text_search_uses_the_generated_column() {
    let (_database, pool) = beta_database().await;
    let mut first = new("Rust Notes");
    first.body = Some("ownership and borrowing".into());
    let first = everything::insert(&pool, &first).await.unwrap();
    // lower(title) is unique among live rows: another case of the same title is refused.
    assert_eq!(constraint(everything::insert(&pool, &new("rust notes")).await.unwrap_err()).as_deref(), Some("everything_lower_title_live_key"));
    assert_eq!(everything::find_by_lower_title(&pool, "RUST notes").await.unwrap().map(|r| r.id), Some(first.id));
    let found: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM everything WHERE search @@ to_tsquery('simple', 'borrowing')").fetch_all(&pool).await.unwrap();
    assert_eq!(found, [first.id]);
    assert!(everything::delete(&pool, first.id).await.unwrap());
    assert!(everything::get(&pool, first.id).await.unwrap().is_none());
    assert!(everything::find_by_title(&pool, "Rust Notes").await.unwrap().is_none());
    // Deleted, its title is free again.
    let second = everything::insert(&pool, &new("rust notes")).await.unwrap();
    assert_eq!(everything::find_by_lower_title(&pool, "Rust Notes").await.unwrap().map(|r| r.id), Some(second.id));
    assert_eq!(everything::list(&pool, None, 10).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [second.id]);
    assert!(everything::purge(&pool, first.id).await.unwrap());
}

#[tokio::test]
async fn citext_uniques_and_lookups_ignore_case_and_keep_what_was_written() {
    let (_database, pool) = beta_database().await;
    let mut ada = new("Ada");
    ada.handle = Some("ada@x.io".into());
    let ada = everything::insert(&pool, &ada).await.unwrap();
    // The unique (live rows) holds case-insensitively: another spelling is refused.
    let mut shout = new("Shout");
    shout.handle = Some("Ada@X.io".into());
    assert_eq!(constraint(everything::insert(&pool, &shout).await.unwrap_err()).as_deref(), Some("everything_handle_live_key"));
    // The lookup casts its text parameter to citext: any case finds the row.
    assert_eq!(everything::find_by_handle(&pool, "ADA@X.IO").await.unwrap().map(|r| r.id), Some(ada.id));
    assert!(everything::find_by_handle(&pool, "bob@x.io").await.unwrap().is_none());
    // The value keeps the case it was written in, and a patch can change it.
    let patch = everything::Patch { handle: Some(Some("Ada@X.io".into())), ..everything::Patch::default() };
    let updated = everything::update(&pool, ada.id, &patch).await.unwrap();
    assert_eq!(updated.handle.as_deref(), Some("Ada@X.io"));
    assert_eq!(everything::find_by_handle(&pool, "ada@x.io").await.unwrap().and_then(|r| r.handle).as_deref(), Some("Ada@X.io"));
}

#[tokio::test]
async fn set_null_foreign_keys_simple_and_composite() {
    let (_database, pool) = beta_database().await;
    let owner = Uuid::new_v4();
    let shelf = shelves::insert(&pool, &shelves::New { owner_id: owner, name: "reading".into(), kind: Some(shelves::Kind::Private) }).await.unwrap();
    assert_eq!(shelf.kind, shelves::Kind::Private);
    let link = links::insert(&pool, &links::New { id: 7, item_id: Uuid::new_v4(), note: None }).await.unwrap();
    let mut shelved = new("Shelved");
    shelved.shelf_owner = Some(owner);
    shelved.shelf_name = Some("reading".into());
    shelved.link_id = Some(link.id);
    let row = everything::insert(&pool, &shelved).await.unwrap();
    // A shelf that does not exist is refused by the composite key.
    let mut lost = new("Lost");
    lost.shelf_owner = Some(owner);
    lost.shelf_name = Some("missing".into());
    assert_eq!(constraint(everything::insert(&pool, &lost).await.unwrap_err()).as_deref(), Some("everything_shelf_owner_shelf_name_fkey"));
    // Deleting what a row points to clears the reference instead of failing.
    assert!(shelves::delete(&pool, owner, "reading").await.unwrap());
    assert!(links::delete(&pool, link.id).await.unwrap());
    let after = everything::get(&pool, row.id).await.unwrap().unwrap();
    assert_eq!((after.shelf_owner, after.shelf_name, after.link_id), (None, None, None));
}

/// Upserts and insert-if-absent over the column language: a citext live-rows unique as the
/// conflict target (another spelling is the same key), a nullable column with a default (its
/// "use the default" flag keeps the stored value on update, `Some(None)` stores NULL), and a
/// text enum written in SQL by name.
#[tokio::test]
async fn upserts_by_a_citext_unique_keep_defaulted_columns_and_text_enums_have_sql_names() {
    let (_database, pool) = beta_database().await;
    let mut ada = new("Ada");
    ada.handle = Some("ada@x.io".into());
    ada.rank = Some(Some(9));
    let (stored, inserted) = everything::upsert_by_handle(&pool, &ada).await.unwrap();
    assert!(inserted);
    assert_eq!(stored.rank, Some(9));

    let mut again = new("Ada again");
    again.handle = Some("ADA@X.IO".into());
    again.mood = Some(everything::Mood::Busy);
    assert_eq!(everything::insert_if_absent_by_handle(&pool, &again).await.unwrap(), None, "citext: the same handle");
    let (updated, inserted) = everything::upsert_by_handle(&pool, &again).await.unwrap();
    assert!(!inserted);
    assert_eq!((updated.id, updated.title.as_str(), updated.rank, updated.mood), (stored.id, "Ada again", Some(9), Some(everything::Mood::Busy)));
    assert_eq!(updated.version, stored.version + 1);
    again.rank = Some(None);
    let (cleared, _) = everything::upsert_by_handle(&pool, &again).await.unwrap();
    assert_eq!(cleared.rank, None, "Some(None) stores NULL");

    // Soft delete frees the live unique: the next upsert inserts.
    everything::delete(&pool, stored.id).await.unwrap();
    let (fresh, inserted) = everything::upsert_by_handle(&pool, &again).await.unwrap();
    assert!(inserted && fresh.id != stored.id);

    assert_eq!(everything::mood_sql!(busy), "'busy'");
    const BUSY: &str = concat!("SELECT count(*) FROM everything WHERE mood = ", everything::mood_sql!(busy), " AND deleted_at IS NULL");
    let busy: i64 = sqlx::query_scalar(BUSY).fetch_one(&pool).await.unwrap();
    assert_eq!(busy, 1);
    const ROWS: &str = concat!("SELECT ", everything::columns!(), " FROM everything WHERE id = $1");
    let row: everything::Row = sqlx::query_as(ROWS).bind(fresh.id).fetch_one(&pool).await.unwrap();
    assert_eq!(row, fresh);
}
