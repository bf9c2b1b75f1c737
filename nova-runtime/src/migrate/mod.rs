//! Applying a service's migrations: the one code path used by a starting service and by
//! `nova-gen db up`, so that what a developer runs locally is what a replica runs in production.
//!
//! - **Owner's rights.** Schema changes run as the database's owner role,
//!   `<database>_owner` (created by `nova-gen db up`), when that role exists and the session
//!   may become it (a superuser, or a deploy role granted membership); the objects then belong
//!   to the owner, never to whoever happened to connect. Without such a role (a database made by
//!   a test or by a first local start) migrations run as the connecting user.
//! - **One migrator at a time.** Pending migrations are applied under a session-level advisory
//!   lock keyed by the database name ([`lock_key`]), and the ledger is read again once the lock
//!   is held, so two replicas starting together apply each migration exactly once. The lock is
//!   *polled* (`pg_try_advisory_lock`), never waited for inside a statement: a replica blocked
//!   in `pg_advisory_lock` holds a snapshot, and `CREATE INDEX CONCURRENTLY` in the replica
//!   holding the lock waits for every older snapshot — a deadlock PostgreSQL reports as such.
//! - **Transactions.** A file runs in one transaction with its ledger row, unless its first
//!   line is `-- no-transaction` (sqlx's marker): then each statement runs on its own (see
//!   [`split`]), which `CREATE INDEX CONCURRENTLY` and batched backfills need; such files are
//!   written to be re-runnable, since a failure leaves the earlier statements applied.
//! - **Integrity.** An applied migration whose text changed, or that this build no longer
//!   has, stops the run; applied migrations newer than every file of this build (the database
//!   was migrated by a newer release during a rolling deploy) are tolerated.

mod ledger;
pub mod split;

use std::time::{Duration, Instant};

use sqlx::{Connection as _, PgConnection};

pub use ledger::{AppliedMigration, checksum};

/// sqlx's marker for a migration that must not run inside a transaction, defined in
/// `nova-constants` (the generator records it without linking the runtime).
pub use nova_constants::migrate::NO_TRANSACTION_MARKER;

/// One file of `migrations/<service>/`, embedded with `include_str!` by generated code.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The number the file name starts with (`0003_...sql` -> 3): the order of application
    /// and the ledger's key.
    pub version: i64,
    /// The rest of the file name with `_` read as spaces (`0002_column_language.sql` ->
    /// `column language`), as sqlx records it.
    pub description: &'static str,
    /// The file's text.
    pub sql: &'static str,
    /// The file starts with [`NO_TRANSACTION_MARKER`]: run statement by statement.
    pub no_transaction: bool,
}

impl Migration {
    /// Whether migration text starts with the no-transaction marker (what the generator
    /// records in [`Migration::no_transaction`]).
    pub fn wants_no_transaction(sql: &str) -> bool {
        nova_constants::migrate::wants_no_transaction(sql)
    }
}

/// Where one migration stands in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Applied, with the same text as the file.
    Applied,
    /// A known file not applied yet.
    Pending,
    /// Applied, but the file's text has changed since.
    Edited,
    /// Recorded as started and never finished (by an older sqlx).
    Failed,
    /// Applied, but not among the known files, and older than the newest of them: removed or
    /// renamed after it ran.
    Unknown,
    /// Applied, newer than every known file: the database is ahead of this build.
    Ahead,
}

/// One line of a status report: a known file or a ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationEntry {
    /// The migration's version.
    pub version: i64,
    /// Its description (the file's, or the ledger's for a row without a file).
    pub description: String,
    /// Where it stands.
    pub state: MigrationState,
}

/// What [`apply_pending`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Versions applied by this call, in order.
    pub versions: Vec<i64>,
    /// The role the migrations ran as, when the session switched to the owner role.
    pub owner_role: Option<String>,
    /// Applied versions newer than every known file.
    pub ahead: Vec<i64>,
}

/// Why migrating stopped. Every variant but [`MigrateError::Ledger`], [`MigrateError::Lock`]
/// and a transient [`MigrateError::Apply`] needs a person: the run refuses to guess.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The ledger could not be read or created, or the session could not switch roles.
    #[error("cannot read the migration ledger ({})", ledger::TABLE)]
    Ledger(#[source] sqlx::Error),
    /// An applied migration's file changed since it ran: fix the file back, add a new one.
    #[error("migration {version} ({description}) was edited after it was applied: its checksum differs from the one recorded")]
    Edited {
        /// The migration's version.
        version: i64,
        /// Its description.
        description: String,
    },
    /// An applied migration has no file in this build (removed or renamed).
    #[error("migration {version} ({description}) was applied but is not among this build's migrations: was it removed or renamed?")]
    Unknown {
        /// The ledger row's version.
        version: i64,
        /// The ledger row's description.
        description: String,
    },
    /// The ledger records a migration as started and never finished.
    #[error("migration {version} ({description}) is recorded as failed: repair the database by hand, then delete its row from {}", ledger::TABLE)]
    Failed {
        /// The migration's version.
        version: i64,
        /// Its description.
        description: String,
    },
    /// An owner role exists but the session may not become it, so migrating would create
    /// objects owned by the wrong role.
    #[error(
        "{pending} pending migration(s) need the owner's rights, which role {role} does not have: migrate with a role that may \
         become {database}_owner (set NOVA_DATABASE_MIGRATION_URL), or run `nova-gen db up`"
    )]
    NoOwnerRights {
        /// The role the session runs as.
        role: String,
        /// The database (the owner role is `<database>_owner`).
        database: String,
        /// How many migrations are pending.
        pending: usize,
    },
    /// The advisory lock could not be taken or released.
    #[error("cannot take the migration lock")]
    Lock(#[source] sqlx::Error),
    /// A migration's SQL failed (its transaction, if any, rolled back).
    #[error("migration {version} ({description}) failed")]
    Apply {
        /// The migration's version.
        version: i64,
        /// Its description.
        description: String,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
}

/// The advisory-lock key every nova migrator of `database` takes (FNV-1a of the name, so that
/// it is stable across builds and processes).
pub fn lock_key(database: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"nova-migrate:".iter().chain(database.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Compares the known files with the ledger's rows: one entry per file and per unknown row,
/// by version.
pub fn compare(migrations: &[Migration], applied: &[AppliedMigration]) -> Vec<MigrationEntry> {
    let newest = migrations.iter().map(|m| m.version).max().unwrap_or(0);
    let mut entries: Vec<MigrationEntry> = migrations
        .iter()
        .map(|m| {
            let state = match applied.iter().find(|a| a.version == m.version) {
                None => MigrationState::Pending,
                Some(row) if !row.success => MigrationState::Failed,
                Some(row) if row.checksum != m.checksum() => MigrationState::Edited,
                Some(_) => MigrationState::Applied,
            };
            MigrationEntry { version: m.version, description: m.description.to_string(), state }
        })
        .collect();
    for row in applied.iter().filter(|a| !migrations.iter().any(|m| m.version == a.version)) {
        let state = if row.version > newest { MigrationState::Ahead } else { MigrationState::Unknown };
        entries.push(MigrationEntry { version: row.version, description: row.description.clone(), state });
    }
    entries.sort_by_key(|e| e.version);
    entries
}

/// Where every migration stands in the database `connection` is on (read only; takes no lock).
///
/// # Errors
///
/// [`MigrateError::Ledger`] when the ledger cannot be read.
pub async fn status(connection: &mut PgConnection, migrations: &[Migration]) -> Result<Vec<MigrationEntry>, MigrateError> {
    let applied = ledger::read(connection).await.map_err(MigrateError::Ledger)?;
    Ok(compare(migrations, &applied))
}

/// The entries that forbid migrating, as an error (the first, by version).
fn refuse_broken(entries: &[MigrationEntry]) -> Result<(), MigrateError> {
    for entry in entries {
        let (version, description) = (entry.version, entry.description.clone());
        match entry.state {
            MigrationState::Edited => return Err(MigrateError::Edited { version, description }),
            MigrationState::Unknown => return Err(MigrateError::Unknown { version, description }),
            MigrationState::Failed => return Err(MigrateError::Failed { version, description }),
            MigrationState::Applied | MigrationState::Pending | MigrationState::Ahead => {}
        }
    }
    Ok(())
}

fn pending_of(entries: &[MigrationEntry]) -> usize {
    entries.iter().filter(|e| e.state == MigrationState::Pending).count()
}

/// Applies the pending migrations on `connection`, as the owner role when there is one, under
/// the advisory lock. Use a connection of its own: its session settings are reset afterwards,
/// but statements of other users would run as the owner meanwhile.
///
/// # Errors
///
/// [`MigrateError::Edited`], [`MigrateError::Unknown`] or [`MigrateError::Failed`] before
/// anything runs when the ledger and the files disagree; [`MigrateError::NoOwnerRights`] when
/// the owner role exists but cannot be used; [`MigrateError::Lock`] or
/// [`MigrateError::Ledger`] on the database's failures; [`MigrateError::Apply`] for the first
/// migration that failed (the ones before it stay applied).
pub async fn apply_pending(connection: &mut PgConnection, migrations: &[Migration]) -> Result<Applied, MigrateError> {
    let entries = status(connection, migrations).await?;
    refuse_broken(&entries)?;
    let ahead: Vec<i64> = entries.iter().filter(|e| e.state == MigrationState::Ahead).map(|e| e.version).collect();
    if pending_of(&entries) == 0 {
        return Ok(Applied { versions: Vec::new(), owner_role: None, ahead });
    }
    let owner_role = become_owner(connection, pending_of(&entries)).await?;
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&mut *connection).await.map_err(MigrateError::Lock)?;
    let key = lock_key(&database);
    take_lock(connection, key).await?;
    let outcome = apply_locked(connection, migrations).await;
    // Release whatever happened; a broken connection releases the lock with its session.
    let released = release(connection, key).await;
    let versions = outcome?;
    released.map_err(MigrateError::Lock)?;
    Ok(Applied { versions, owner_role, ahead })
}

/// Switches to `<database>_owner` when it exists and the session may become it, then makes
/// sure the session may change the schema at all.
async fn become_owner(connection: &mut PgConnection, pending: usize) -> Result<Option<String>, MigrateError> {
    let owner: Option<String> =
        sqlx::query_scalar("SELECT rolname::text FROM pg_roles WHERE rolname = current_database() || '_owner' AND pg_has_role(oid, 'MEMBER')")
            .fetch_optional(&mut *connection)
            .await
            .map_err(MigrateError::Ledger)?;
    if let Some(role) = &owner {
        let statement = format!("SET ROLE {}", crate::db::quote_identifier(role));
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut *connection).await.map_err(MigrateError::Ledger)?;
    }
    let (may_create, role, database): (bool, String, String) =
        sqlx::query_as("SELECT has_schema_privilege('public', 'CREATE'), current_user::text, current_database()::text")
            .fetch_one(&mut *connection)
            .await
            .map_err(MigrateError::Ledger)?;
    if !may_create {
        return Err(MigrateError::NoOwnerRights { role, database, pending });
    }
    Ok(owner)
}

/// First and longest pause between two attempts at the lock.
const LOCK_POLL_FIRST: Duration = Duration::from_millis(20);
const LOCK_POLL_MAX: Duration = Duration::from_millis(500);

/// Polls the advisory lock until this session holds it (see the module docs for why it is not
/// waited for). The wait has no bound: the holder is applying migrations, which end.
async fn take_lock(connection: &mut PgConnection, key: i64) -> Result<(), MigrateError> {
    let mut pause = LOCK_POLL_FIRST;
    loop {
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *connection).await.map_err(MigrateError::Lock)?;
        if taken {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LOCK_POLL_MAX);
    }
}

async fn apply_locked(connection: &mut PgConnection, migrations: &[Migration]) -> Result<Vec<i64>, MigrateError> {
    ledger::ensure(connection).await.map_err(MigrateError::Ledger)?;
    // Another migrator may have finished while this one waited for the lock.
    let entries = status(connection, migrations).await?;
    refuse_broken(&entries)?;
    let mut pending: Vec<&Migration> =
        migrations.iter().filter(|m| entries.iter().any(|e| e.version == m.version && e.state == MigrationState::Pending)).collect();
    pending.sort_by_key(|m| m.version);
    let mut applied = Vec::new();
    for migration in pending {
        apply_one(connection, migration).await?;
        tracing::info!(
            version = migration.version,
            description = migration.description,
            no_transaction = migration.no_transaction,
            "applied migration"
        );
        applied.push(migration.version);
    }
    Ok(applied)
}

async fn apply_one(connection: &mut PgConnection, migration: &Migration) -> Result<(), MigrateError> {
    let failed = |source| MigrateError::Apply { version: migration.version, description: migration.description.to_string(), source };
    let started = Instant::now();
    if migration.no_transaction {
        for statement in split::statements(migration.sql) {
            sqlx::raw_sql(statement).execute(&mut *connection).await.map_err(failed)?;
        }
        ledger::record(connection, migration, elapsed_nanos(started)).await.map_err(failed)?;
        return Ok(());
    }
    let mut transaction = connection.begin().await.map_err(failed)?;
    sqlx::raw_sql(migration.sql).execute(&mut *transaction).await.map_err(failed)?;
    ledger::record(&mut transaction, migration, elapsed_nanos(started)).await.map_err(failed)?;
    transaction.commit().await.map_err(failed)
}

fn elapsed_nanos(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)
}

async fn release(connection: &mut PgConnection, key: i64) -> Result<(), sqlx::Error> {
    // A no-transaction file that failed inside its own BEGIN leaves the session in an aborted
    // transaction; outside one, ROLLBACK only warns.
    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *connection).await;
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *connection).await?;
    // Migration files set timeouts; the role is not part of RESET ALL.
    sqlx::raw_sql("RESET ALL; RESET ROLE").execute(&mut *connection).await?;
    Ok(())
}
