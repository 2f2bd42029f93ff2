//! Schema migrations, embedded in the binary and applied in order at open.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, TransactionBehavior};

use super::backend;
use crate::store::StoreError;

/// One schema change: its version (the file's `NNNN` prefix) and its SQL.
pub(super) struct Migration {
    /// Strictly increasing, starting at 1.
    pub(super) version: i64,
    /// The SQL, run as one batch inside a transaction.
    pub(super) sql: &'static str,
}

/// Every migration this code knows, oldest first.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../../migrations/sqlite/0001_init.sql") },
    Migration { version: 2, sql: include_str!("../../../migrations/sqlite/0002_iam.sql") },
    Migration { version: 3, sql: include_str!("../../../migrations/sqlite/0003_grants.sql") },
];

/// Records which migrations have been applied.
const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    applied_ms INTEGER NOT NULL
)";

/// Brings the schema up to date, applying each missing migration in its own transaction.
///
/// # Errors
///
/// [`StoreError::Backend`] if the database records a version newer than [`MIGRATIONS`]
/// knows (it was written by a newer server), or if SQLite fails.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(CREATE_SCHEMA_MIGRATIONS).map_err(backend)?;
    check_not_newer(conn)?;
    for migration in MIGRATIONS {
        // Another process may be migrating the same file: decide inside the write lock.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(backend)?;
        if !applied_versions(&tx)?.contains(&migration.version) {
            tx.execute_batch(migration.sql).map_err(backend)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES (?1, ?2)",
                params![migration.version, now_ms()],
            )
            .map_err(backend)?;
            tracing::info!(version = migration.version, "applied sqlite schema migration");
        }
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

/// Refuses a database that a newer server has migrated past what this code knows.
fn check_not_newer(conn: &Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    match applied_versions(conn)?.last() {
        Some(&recorded) if recorded > known => Err(StoreError::Backend(format!(
            "database schema version {recorded} is newer than this server supports \
             (latest known: {known}); upgrade the server"
        ))),
        _ => Ok(()),
    }
}

fn applied_versions(conn: &Connection) -> Result<BTreeSet<i64>, StoreError> {
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations").map_err(backend)?;
    let rows = stmt.query_map([], |row| row.get(0)).map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

/// Wall-clock time for `applied_ms`; bookkeeping only, so it does not use the injected clock.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
