//! The single writer: one thread owns the write connection and group-commits requests.
//!
//! The thread blocks for one request, takes whatever else is queued (up to
//! [`BATCH_MAX_OPS`]), and runs the lot in one `BEGIN IMMEDIATE` … `COMMIT`. Each
//! operation runs inside its own savepoint, so an operation that fails (a duplicate, a
//! stale revision) is rolled back alone and its neighbours still commit. Replies go out
//! only after `COMMIT` returns, so one fsync covers every request that was waiting.

use std::io;
use std::thread::{self, JoinHandle};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::store_error;
use crate::model::{AliasRecord, KeyRef};
use crate::store::{GrantRow, IamRow, StoreError};

/// Most operations committed by one transaction.
pub(super) const BATCH_MAX_OPS: usize = 256;

/// A key as stored: the columns besides its identity, ready to bind.
pub(super) struct KeyRow {
    /// Which key.
    pub(super) key: KeyRef,
    /// `KeyRecord::revision`.
    pub(super) revision: i64,
    /// `KeyRecord::due_ms()`.
    pub(super) due_ms: Option<i64>,
    /// The whole record as JSON. Holds sealed key material: never log it.
    pub(super) doc: String,
}

/// One write, as the [`Store`](crate::store::Store) method that asked for it.
pub(super) enum WriteOp {
    PutMeta {
        name: String,
        value: Vec<u8>,
    },
    InsertKey(KeyRow),
    UpdateKey(KeyRow),
    DeleteKey(KeyRef),
    /// Several keys at once, all or nothing (a multi-Region key set), with the named
    /// values (the replication outbox) written in the same transaction.
    WriteKeys {
        inserts: Vec<KeyRow>,
        updates: Vec<KeyRow>,
        deletes: Vec<KeyRef>,
        meta: Vec<(String, Vec<u8>)>,
    },
    DeleteMeta(String),
    InsertAlias(AliasRecord),
    UpdateAlias(AliasRecord),
    DeleteAlias {
        account: String,
        region: String,
        name: String,
    },
    InsertIam(IamRow),
    UpdateIam(IamRow),
    DeleteIam {
        kind: String,
        id: String,
    },
    InsertGrant(GrantRow),
    DeleteGrant(String),
}

/// A write and where to send its outcome.
pub(super) struct WriteRequest {
    /// What to write.
    pub(super) op: WriteOp,
    /// Receives the outcome once the transaction holding the write has committed.
    pub(super) reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Starts the writer thread. It stops once every sender of `requests` is dropped.
pub(super) fn spawn(
    conn: Connection,
    requests: mpsc::Receiver<WriteRequest>,
) -> io::Result<JoinHandle<u64>> {
    thread::Builder::new().name("kms-sqlite-writer".to_owned()).spawn(move || run(conn, requests))
}

/// Serves write requests until the channel closes; returns how many batches it ran.
pub(super) fn run(mut conn: Connection, mut requests: mpsc::Receiver<WriteRequest>) -> u64 {
    let mut batch = Vec::with_capacity(BATCH_MAX_OPS);
    let mut batches = 0;
    while requests.blocking_recv_many(&mut batch, BATCH_MAX_OPS) > 0 {
        batches += 1;
        let (ops, replies): (Vec<_>, Vec<_>) = batch.drain(..).map(|r| (r.op, r.reply)).unzip();
        match apply_batch(&mut conn, &ops) {
            Ok(outcomes) => {
                tracing::trace!(ops = ops.len(), "sqlite batch committed");
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // The caller may have gone away; the write stands regardless.
                    let _ = reply.send(outcome);
                }
            }
            Err(message) => {
                tracing::error!(ops = ops.len(), error = %message, "sqlite batch failed");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }
    tracing::debug!(batches, "sqlite writer stopped");
    batches
}

/// Runs `ops` in one transaction, each in its own savepoint, and commits.
///
/// Returns one outcome per op, or the message of an error that sank the whole batch
/// (the transaction could not begin or commit, or SQLite rolled it back itself).
pub(super) fn apply_batch(
    conn: &mut Connection,
    ops: &[WriteOp],
) -> Result<Vec<Result<(), StoreError>>, String> {
    let fatal = |e: rusqlite::Error| e.to_string();
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fatal)?;
    let mut outcomes = Vec::with_capacity(ops.len());
    for op in ops {
        let savepoint = tx.savepoint().map_err(fatal)?;
        let outcome = apply(&savepoint, op);
        match &outcome {
            Ok(()) => savepoint.commit().map_err(fatal)?,
            Err(e) => {
                // Some errors (I/O, disk full) make SQLite roll back the whole transaction.
                if savepoint.is_autocommit() {
                    return Err(match e {
                        StoreError::Backend(message) => message.clone(),
                        other => other.to_string(),
                    });
                }
                // Rolls back to the savepoint, then releases it.
                savepoint.finish().map_err(fatal)?;
            }
        }
        outcomes.push(outcome);
    }
    tx.commit().map_err(fatal)?;
    Ok(outcomes)
}

/// Applies one op; on error the caller rolls back to the savepoint around it.
fn apply(conn: &Connection, op: &WriteOp) -> Result<(), StoreError> {
    match op {
        WriteOp::PutMeta { name, value } => put_meta(conn, name, value)?,
        WriteOp::DeleteMeta(name) => {
            conn.prepare_cached("DELETE FROM meta WHERE name = ?1")
                .and_then(|mut s| s.execute(params![name]))
                .map_err(store_error)?;
        }
        WriteOp::InsertKey(row) => insert_key(conn, row)?,
        WriteOp::UpdateKey(row) => update_key(conn, row)?,
        WriteOp::DeleteKey(key) => delete_key(conn, key)?,
        WriteOp::WriteKeys { inserts, updates, deletes, meta } => {
            // One savepoint surrounds the whole op, so a failure undoes every part.
            for row in inserts {
                insert_key(conn, row)?;
            }
            for row in updates {
                update_key(conn, row)?;
            }
            for key in deletes {
                delete_key(conn, key)?;
            }
            for (name, value) in meta {
                put_meta(conn, name, value)?;
            }
        }
        WriteOp::InsertAlias(alias) => {
            require_target_key(conn, alias)?;
            conn.prepare_cached(
                "INSERT INTO aliases (account, region, name, target_key_id, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    alias.account,
                    alias.region,
                    alias.name,
                    alias.target_key_id,
                    alias.created_ms,
                    alias.updated_ms
                ])
            })
            .map_err(store_error)?;
        }
        WriteOp::UpdateAlias(alias) => {
            require_target_key(conn, alias)?;
            let changed = conn
                .prepare_cached(
                    "UPDATE aliases SET target_key_id = ?4, updated_ms = ?5
                     WHERE account = ?1 AND region = ?2 AND name = ?3",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        alias.account,
                        alias.region,
                        alias.name,
                        alias.target_key_id,
                        alias.updated_ms
                    ])
                })
                .map_err(store_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
        }
        WriteOp::InsertIam(row) => {
            conn.prepare_cached(
                "INSERT INTO iam_records (kind, id, account, doc) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![row.kind, row.id, row.account, row.doc]))
            .map_err(store_error)?;
        }
        WriteOp::UpdateIam(row) => {
            let changed = conn
                .prepare_cached("UPDATE iam_records SET doc = ?3 WHERE kind = ?1 AND id = ?2")
                .and_then(|mut s| s.execute(params![row.kind, row.id, row.doc]))
                .map_err(store_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
        }
        WriteOp::DeleteIam { kind, id } => {
            let changed = conn
                .prepare_cached("DELETE FROM iam_records WHERE kind = ?1 AND id = ?2")
                .and_then(|mut s| s.execute(params![kind, id]))
                .map_err(store_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
        }
        WriteOp::InsertGrant(row) => {
            let key = &row.key;
            let exists = conn
                .prepare_cached(
                    "SELECT 1 FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3",
                )
                .and_then(|mut s| s.exists(params![key.account, key.region, key.key_id]))
                .map_err(store_error)?;
            if !exists {
                return Err(StoreError::NotFound);
            }
            conn.prepare_cached(
                "INSERT INTO grants (grant_id, account, region, key_id, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| {
                s.execute(params![row.grant_id, key.account, key.region, key.key_id, row.doc])
            })
            .map_err(store_error)?;
        }
        WriteOp::DeleteGrant(grant_id) => {
            let changed = conn
                .prepare_cached("DELETE FROM grants WHERE grant_id = ?1")
                .and_then(|mut s| s.execute(params![grant_id]))
                .map_err(store_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
        }
        WriteOp::DeleteAlias { account, region, name } => {
            let changed = conn
                .prepare_cached(
                    "DELETE FROM aliases WHERE account = ?1 AND region = ?2 AND name = ?3",
                )
                .and_then(|mut s| s.execute(params![account, region, name]))
                .map_err(store_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound);
            }
        }
    }
    Ok(())
}

/// Replaces a key only if its stored revision is the one before `row.revision`.
fn put_meta(conn: &Connection, name: &str, value: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO meta (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![name, value]))
    .map_err(store_error)?;
    Ok(())
}

fn insert_key(conn: &Connection, row: &KeyRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO keys (account, region, key_id, revision, due_ms, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.key.account,
            row.key.region,
            row.key.key_id,
            row.revision,
            row.due_ms,
            row.doc
        ])
    })
    .map_err(store_error)?;
    Ok(())
}

fn delete_key(conn: &Connection, key: &KeyRef) -> Result<(), StoreError> {
    let params = params![key.account, key.region, key.key_id];
    conn.prepare_cached(
        "DELETE FROM aliases WHERE account = ?1 AND region = ?2 AND target_key_id = ?3",
    )
    .and_then(|mut s| s.execute(params))
    .map_err(store_error)?;
    conn.prepare_cached("DELETE FROM grants WHERE account = ?1 AND region = ?2 AND key_id = ?3")
        .and_then(|mut s| s.execute(params))
        .map_err(store_error)?;
    conn.prepare_cached("DELETE FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3")
        .and_then(|mut s| s.execute(params))
        .map_err(store_error)?;
    Ok(())
}

fn update_key(conn: &Connection, row: &KeyRow) -> Result<(), StoreError> {
    let key = &row.key;
    // `revision` came from a u64, so it is at least 0 and this cannot overflow. A revision
    // of 0 expects -1, which no stored key has: the update reports a conflict.
    let expected = row.revision - 1;
    let changed = conn
        .prepare_cached(
            "UPDATE keys SET revision = ?4, due_ms = ?5, doc = ?6
             WHERE account = ?1 AND region = ?2 AND key_id = ?3 AND revision = ?7",
        )
        .and_then(|mut s| {
            s.execute(params![
                key.account,
                key.region,
                key.key_id,
                row.revision,
                row.due_ms,
                row.doc,
                expected
            ])
        })
        .map_err(store_error)?;
    if changed > 0 {
        return Ok(());
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3")
        .and_then(|mut s| {
            s.query_row(params![key.account, key.region, key.key_id], |_| Ok(())).optional()
        })
        .map_err(store_error)?;
    Err(if exists.is_some() { StoreError::Conflict } else { StoreError::NotFound })
}

/// An alias may only point at a key that exists (checked in the same transaction, so a
/// concurrent key deletion cannot leave a dangling alias).
fn require_target_key(conn: &Connection, alias: &AliasRecord) -> Result<(), StoreError> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM keys WHERE account = ?1 AND region = ?2 AND key_id = ?3")
        .and_then(|mut s| s.exists(params![alias.account, alias.region, alias.target_key_id]))
        .map_err(store_error)?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
