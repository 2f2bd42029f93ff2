//! The embedded SQLite backend: one group-committing writer thread, a few read connections.
//!
//! The database runs in WAL mode with `synchronous=FULL`, so a transaction is on disk once
//! `COMMIT` returns, and readers proceed while the writer writes. All writes go through
//! one thread that owns the only write connection (see [`writer`]); a write method
//! returns once the transaction holding its write has committed. Reads run on a small
//! pool of read-only connections on tokio's blocking threads.

mod migrate;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OpenFlags, OptionalExtension, ToSql};
use tokio::sync::{mpsc, oneshot};

use self::writer::{KeyRow, WriteOp, WriteRequest};
use super::{GrantRow, IamRow, Store, StoreError};
use crate::model::{AliasRecord, KeyRecord, KeyRef};

/// Read connections in the pool.
const READERS: usize = 4;

/// Write requests that may queue for the writer before callers wait to enqueue.
const QUEUE_MAX_REQUESTS: usize = 4096;

/// How long a connection waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Key and alias storage in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    readers: Arc<ReadPool>,
    writer: WriterHandle,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` and brings its schema up to date.
    ///
    /// This blocks while it opens files and migrates; call it before serving, or from
    /// `spawn_blocking`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] if the file cannot be opened or configured, if a migration
    /// fails, or if the database was migrated by a newer server than this one.
    #[tracing::instrument(skip_all)]
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let context = open_error(path);
        let mut conn = open_writer(path)?;
        migrate::migrate(&mut conn)?;

        let readers = (0..READERS)
            .map(|_| open_reader(path).map(Mutex::new).map_err(context))
            .collect::<Result<_, _>>()?;
        let (sender, requests) = mpsc::channel(QUEUE_MAX_REQUESTS);
        let thread = writer::spawn(conn, requests)
            .map_err(|e| StoreError::Backend(format!("cannot start sqlite writer thread: {e}")))?;
        tracing::info!(path = %path.display(), "opened sqlite store");
        Ok(SqliteStore {
            path: path.to_owned(),
            readers: Arc::new(ReadPool { conns: readers, next: AtomicUsize::new(0) }),
            writer: WriterHandle { sender: Some(sender), thread: Some(thread) },
        })
    }

    /// Sends a write to the writer thread and waits until it has committed.
    async fn write(&self, op: WriteOp) -> Result<(), StoreError> {
        let sender = self.writer.sender.as_ref().ok_or_else(writer_stopped)?;
        let (reply, outcome) = oneshot::channel();
        sender.send(WriteRequest { op, reply }).await.map_err(|_| writer_stopped())?;
        outcome.await.map_err(|_| writer_stopped())?
    }

    /// Runs `f` on a read connection on a blocking thread.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite read task failed: {e}")))?
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| {
            conn.prepare_cached("SELECT value FROM meta WHERE name = ?1")
                .and_then(|mut s| s.query_row(params![name], |row| row.get(0)).optional())
                .map_err(store_error)
        })
        .await
    }

    async fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write(WriteOp::PutMeta { name: name.to_owned(), value: value.to_vec() }).await
    }

    async fn insert_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        self.write(WriteOp::InsertKey(key_row(key)?)).await
    }

    async fn update_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        self.write(WriteOp::UpdateKey(key_row(key)?)).await
    }

    async fn write_keys(
        &self,
        inserts: &[KeyRecord],
        updates: &[KeyRecord],
        deletes: &[KeyRef],
        meta: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let rows = |records: &[KeyRecord]| -> Result<Vec<KeyRow>, StoreError> {
            records.iter().map(key_row).collect()
        };
        self.write(WriteOp::WriteKeys {
            inserts: rows(inserts)?,
            updates: rows(updates)?,
            deletes: deletes.to_vec(),
            meta: meta.to_vec(),
        })
        .await
    }

    async fn list_meta(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        // Names sort by bytes; every name starting with `prefix` lies in [prefix, prefix+0xFF).
        let (low, high) = (prefix.to_owned(), format!("{prefix}\u{10FFFF}"));
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT name, value FROM meta WHERE name >= ?1 AND name < ?2
                     ORDER BY name LIMIT ?3",
                )
                .map_err(store_error)?;
            let rows = stmt
                .query_map(params![low, high, sql_limit(limit)], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .map_err(store_error)?;
            rows.collect::<Result<_, _>>().map_err(store_error)
        })
        .await
    }

    async fn delete_meta(&self, name: &str) -> Result<(), StoreError> {
        self.write(WriteOp::DeleteMeta(name.to_owned())).await
    }

    async fn get_key(&self, key: &KeyRef) -> Result<Option<KeyRecord>, StoreError> {
        let key = key.clone();
        self.read(move |conn| {
            let row: Option<(i64, String)> = conn
                .prepare_cached(
                    "SELECT revision, doc FROM keys
                     WHERE account = ?1 AND region = ?2 AND key_id = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![key.account, key.region, key.key_id], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .optional()
                })
                .map_err(store_error)?;
            row.map(|(revision, doc)| decode_key(&key, revision, &doc)).transpose()
        })
        .await
    }

    async fn delete_key(&self, key: &KeyRef) -> Result<(), StoreError> {
        self.write(WriteOp::DeleteKey(key.clone())).await
    }

    async fn list_key_ids(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let (account, region) = (account.to_owned(), region.to_owned());
        let after = after.map(str::to_owned);
        self.read(move |conn| {
            // Both forms bind `after`; without one, `?3 IS NULL` is constant true.
            let sql = if after.is_some() {
                "SELECT key_id FROM keys WHERE account = ?1 AND region = ?2 AND key_id > ?3
                 ORDER BY key_id LIMIT ?4"
            } else {
                "SELECT key_id FROM keys WHERE account = ?1 AND region = ?2 AND ?3 IS NULL
                 ORDER BY key_id LIMIT ?4"
            };
            let mut stmt = conn.prepare_cached(sql).map_err(store_error)?;
            let rows = stmt
                .query_map(params![account, region, after, sql_limit(limit)], |row| row.get(0))
                .map_err(store_error)?;
            rows.collect::<Result<_, _>>().map_err(store_error)
        })
        .await
    }

    async fn count_keys(&self, account: &str, region: &str) -> Result<u64, StoreError> {
        let (account, region) = (account.to_owned(), region.to_owned());
        self.read(move |conn| {
            let count = conn
                .prepare_cached("SELECT COUNT(*) FROM keys WHERE account = ?1 AND region = ?2")
                .and_then(|mut s| s.query_row(params![account, region], |row| row.get(0)))
                .map_err(store_error)?;
            count_u64(count)
        })
        .await
    }

    async fn keys_due(&self, now_ms: i64, limit: usize) -> Result<Vec<KeyRef>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT account, region, key_id FROM keys WHERE due_ms <= ?1
                     ORDER BY due_ms, account, region, key_id LIMIT ?2",
                )
                .map_err(store_error)?;
            let rows = stmt
                .query_map(params![now_ms, sql_limit(limit)], |row| {
                    Ok(KeyRef { account: row.get(0)?, region: row.get(1)?, key_id: row.get(2)? })
                })
                .map_err(store_error)?;
            rows.collect::<Result<_, _>>().map_err(store_error)
        })
        .await
    }

    async fn insert_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.write(WriteOp::InsertAlias(alias.clone())).await
    }

    async fn update_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.write(WriteOp::UpdateAlias(alias.clone())).await
    }

    async fn delete_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        self.write(WriteOp::DeleteAlias {
            account: account.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
        })
        .await
    }

    async fn get_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError> {
        let (account, region, name) = (account.to_owned(), region.to_owned(), name.to_owned());
        self.read(move |conn| {
            let sql = format!("{ALIAS_SELECT} WHERE account = ?1 AND region = ?2 AND name = ?3");
            conn.prepare_cached(&sql)
                .and_then(|mut s| s.query_row(params![account, region, name], alias_row).optional())
                .map_err(store_error)
        })
        .await
    }

    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        target_key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>, StoreError> {
        let (account, region) = (account.to_owned(), region.to_owned());
        let target_key_id = target_key_id.map(str::to_owned);
        let after = after.map(str::to_owned);
        self.read(move |conn| {
            let mut sql = format!("{ALIAS_SELECT} WHERE account = ?1 AND region = ?2");
            let mut args: Vec<&dyn ToSql> = vec![&account, &region];
            if let Some(target) = &target_key_id {
                args.push(target);
                sql.push_str(&format!(" AND target_key_id = ?{}", args.len()));
            }
            if let Some(after) = &after {
                args.push(after);
                sql.push_str(&format!(" AND name > ?{}", args.len()));
            }
            let limit = sql_limit(limit);
            args.push(&limit);
            sql.push_str(&format!(" ORDER BY name LIMIT ?{}", args.len()));
            let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
            let rows = stmt.query_map(params_from_iter(args), alias_row).map_err(store_error)?;
            rows.collect::<Result<_, _>>().map_err(store_error)
        })
        .await
    }

    async fn count_aliases(&self, key: &KeyRef) -> Result<u64, StoreError> {
        let key = key.clone();
        self.read(move |conn| {
            let count = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM aliases
                     WHERE account = ?1 AND region = ?2 AND target_key_id = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![key.account, key.region, key.key_id], |row| row.get(0))
                })
                .map_err(store_error)?;
            count_u64(count)
        })
        .await
    }

    async fn insert_iam(&self, record: &IamRow) -> Result<(), StoreError> {
        self.write(WriteOp::InsertIam(record.clone())).await
    }

    async fn update_iam(&self, record: &IamRow) -> Result<(), StoreError> {
        self.write(WriteOp::UpdateIam(record.clone())).await
    }

    async fn delete_iam(&self, kind: &str, id: &str) -> Result<(), StoreError> {
        self.write(WriteOp::DeleteIam { kind: kind.to_owned(), id: id.to_owned() }).await
    }

    async fn list_iam(&self) -> Result<Vec<IamRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT kind, id, account, doc FROM iam_records ORDER BY kind, id")
                .map_err(store_error)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(IamRow {
                        kind: row.get(0)?,
                        id: row.get(1)?,
                        account: row.get(2)?,
                        doc: row.get(3)?,
                    })
                })
                .map_err(store_error)?;
            rows.collect::<Result<_, _>>().map_err(store_error)
        })
        .await
    }

    async fn insert_grant(&self, grant: &GrantRow) -> Result<(), StoreError> {
        self.write(WriteOp::InsertGrant(grant.clone())).await
    }

    async fn delete_grant(&self, grant_id: &str) -> Result<(), StoreError> {
        self.write(WriteOp::DeleteGrant(grant_id.to_owned())).await
    }

    async fn list_grants(&self) -> Result<Vec<GrantRow>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT grant_id, account, region, key_id, doc FROM grants ORDER BY grant_id",
                )
                .map_err(store_error)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(GrantRow {
                        grant_id: row.get(0)?,
                        key: KeyRef {
                            account: row.get(1)?,
                            region: row.get(2)?,
                            key_id: row.get(3)?,
                        },
                        doc: row.get(4)?,
                    })
                })
                .map_err(store_error)?;
            rows.collect::<Result<_, _>>().map_err(store_error)
        })
        .await
    }
}

/// The columns [`alias_row`] reads, in its order.
const ALIAS_SELECT: &str =
    "SELECT account, region, name, target_key_id, created_ms, updated_ms FROM aliases";

fn alias_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AliasRecord> {
    Ok(AliasRecord {
        account: row.get(0)?,
        region: row.get(1)?,
        name: row.get(2)?,
        target_key_id: row.get(3)?,
        created_ms: row.get(4)?,
        updated_ms: row.get(5)?,
    })
}

/// Encodes a key for the writer. Done on the caller's task, off the writer thread.
fn key_row(record: &KeyRecord) -> Result<KeyRow, StoreError> {
    let revision = i64::try_from(record.revision)
        .map_err(|_| StoreError::Backend("key revision exceeds the sqlite integer range".into()))?;
    // The error names the failure, never the record: the JSON holds sealed key material.
    let doc = serde_json::to_string(record)
        .map_err(|e| StoreError::Backend(format!("cannot encode key record: {e}")))?;
    Ok(KeyRow { key: record.key.clone(), revision, due_ms: record.due_ms(), doc })
}

/// Decodes a stored key and checks it against the row it came from.
fn decode_key(key: &KeyRef, revision: i64, doc: &str) -> Result<KeyRecord, StoreError> {
    // serde_json's message can quote the offending value; report only where it failed.
    let record: KeyRecord = serde_json::from_str(doc).map_err(|e| {
        StoreError::Corrupt(format!(
            "key {}: undecodable document ({:?} error at line {} column {})",
            key.arn(),
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    if record.key != *key || i64::try_from(record.revision).ok() != Some(revision) {
        return Err(StoreError::Corrupt(format!(
            "key {}: document does not match its row",
            key.arn()
        )));
    }
    Ok(record)
}

/// Opens the write connection: WAL, `synchronous=FULL`, foreign keys on, busy timeout.
fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let context = open_error(path);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(context)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(context)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(context)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "sqlite database {} cannot use WAL journal mode (got {mode})",
            path.display()
        )));
    }
    // With WAL, FULL syncs the log on every commit: a committed write survives power loss.
    conn.pragma_update(None, "synchronous", "FULL").map_err(context)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(context)?;
    Ok(conn)
}

fn open_error(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
    move |e| StoreError::Backend(format!("cannot open sqlite database {}: {e}", path.display()))
}

/// Opens one read-only connection for the pool.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// A `LIMIT` argument; SQLite has no unsigned integers.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn count_u64(count: i64) -> Result<u64, StoreError> {
    u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("negative row count {count}")))
}

/// Maps a SQLite error: unique and primary-key violations are
/// [`StoreError::AlreadyExists`], anything else [`StoreError::Backend`].
fn store_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                || failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
        {
            StoreError::AlreadyExists
        }
        _ => backend(e),
    }
}

/// Wraps any SQLite error as [`StoreError::Backend`]. SQLite's messages name tables and
/// columns, never bound values, so they carry no record contents.
fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn writer_stopped() -> StoreError {
    StoreError::Backend("the sqlite writer thread has stopped".into())
}

/// The read-only connections, each used by one blocking task at a time.
struct ReadPool {
    /// Never empty: [`SqliteStore::open`] fills it with [`READERS`] connections.
    conns: Vec<Mutex<Connection>>,
    /// Where the next read starts looking for a free connection.
    next: AtomicUsize,
}

impl ReadPool {
    /// Runs `f` on the first free connection, starting round-robin; if all are busy,
    /// waits for the one it started at.
    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.conns.len();
        for i in 0..n {
            if let Ok(conn) = self.conns[(start + i) % n].try_lock() {
                return f(&conn);
            }
        }
        // A panic while reading leaves the connection itself usable: take it back.
        let conn = self.conns[start % n].lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }
}

/// The writer thread and the channel that feeds it.
struct WriterHandle {
    /// `Some` until drop, which closes the channel first so the thread can finish.
    sender: Option<mpsc::Sender<WriteRequest>>,
    thread: Option<JoinHandle<u64>>,
}

impl Drop for WriterHandle {
    /// Closes the channel and waits for the writer to commit what is still queued and exit,
    /// so the file is closed once the store is gone. With no write in flight (none can be
    /// awaiting a dropped store) this returns almost at once.
    fn drop(&mut self) {
        drop(self.sender.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the sqlite writer thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests;
