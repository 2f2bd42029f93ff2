//! The trail's storage: its own SQLite database beside the key database, appended to by
//! one writer thread that group-commits (one fsync covers every record waiting), numbers
//! records, extends the hash chain and writes signed digests.
//!
//! The trail has its own file so that recording a hot-path call never waits behind key
//! writes, and so it can be copied or shipped on its own.

use std::path::Path;
use std::sync::Mutex;
use std::thread;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::chain::{
    record_hash, ChainHash, Digest, DigestSigner, StoredDigest, StoredRecord, GENESIS_HASH,
};
use super::event::EventIndex;
use super::AuditError;

/// A digest is written at least every this many records.
pub const DIGEST_EVERY_RECORDS: u64 = 1_000;
/// Most records committed by one transaction.
const BATCH_MAX: usize = 512;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_records (
    seq           INTEGER NOT NULL PRIMARY KEY,
    time_ms       INTEGER NOT NULL,
    event_name    TEXT    NOT NULL,
    key_arn       TEXT    NULL,
    principal_arn TEXT    NULL,
    account       TEXT    NULL,
    access_key_id TEXT    NOT NULL,
    event_id      TEXT    NOT NULL,
    read_only     INTEGER NOT NULL,
    body          TEXT    NOT NULL,
    hash          BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_time ON audit_records (time_ms);
CREATE INDEX IF NOT EXISTS audit_records_key ON audit_records (key_arn, time_ms);
CREATE INDEX IF NOT EXISTS audit_records_principal ON audit_records (principal_arn, time_ms);
CREATE INDEX IF NOT EXISTS audit_records_name ON audit_records (event_name, time_ms);
CREATE TABLE IF NOT EXISTS audit_digests (
    idx       INTEGER NOT NULL PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    body      TEXT    NOT NULL,
    signature BLOB    NOT NULL
);
";

enum Op {
    Append { body: String, index: EventIndex },
    Seal { now_ms: i64 },
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<(), AuditError>>,
}

/// Which records a look-up wants. Every field narrows; `account` is always required.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only records of this account (the key's, else the caller's).
    pub account: String,
    /// At or after, milliseconds since the epoch.
    pub start_ms: Option<i64>,
    /// At or before, milliseconds since the epoch.
    pub end_ms: Option<i64>,
    /// Only this operation.
    pub event_name: Option<String>,
    /// Only calls about this key ARN.
    pub key_arn: Option<String>,
    /// Only calls by this principal ARN.
    pub principal_arn: Option<String>,
    /// Only calls signed with this access key.
    pub access_key_id: Option<String>,
    /// Only this event id.
    pub event_id: Option<String>,
    /// Only records numbered below this (paging backwards from the newest).
    pub before_seq: Option<u64>,
    /// Only read-only (true) or only mutating (false) calls.
    pub read_only: Option<bool>,
}

/// A record returned by a look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundEvent {
    /// Its number in the trail.
    pub seq: u64,
    /// The CloudTrail event JSON.
    pub body: String,
}

/// The append-only trail.
pub struct AuditLog {
    writer: mpsc::Sender<Request>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

fn db(e: rusqlite::Error) -> AuditError {
    AuditError::Storage(e.to_string())
}

fn open_connection(path: &Path) -> Result<Connection, AuditError> {
    let conn = Connection::open(path).map_err(db)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(db)?;
    Ok(conn)
}

impl AuditLog {
    /// Opens (or creates) the trail at `path`; digests are signed by `signer`.
    ///
    /// # Errors
    /// [`AuditError::Storage`] if the database cannot be opened or its chain state read.
    pub fn open(path: &Path, signer: DigestSigner) -> Result<Self, AuditError> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        let state = WriterState::load(&conn, signer)?;
        let reader = open_connection(path)?;
        let (writer, requests) = mpsc::channel(4 * BATCH_MAX);
        thread::Builder::new()
            .name("kms-audit-writer".to_owned())
            .spawn(move || run(conn, state, requests))
            .map_err(|e| AuditError::Storage(e.to_string()))?;
        Ok(Self { writer, reader: Mutex::new(reader) })
    }

    /// Appends one event; returns once it is durable.
    ///
    /// # Errors
    /// [`AuditError::Storage`] if the write failed, [`AuditError::Closed`] if the writer stopped.
    pub async fn append(&self, body: String, index: EventIndex) -> Result<(), AuditError> {
        self.send(Op::Append { body, index }).await
    }

    /// Writes a digest over the records not yet covered by one (nothing if there are none).
    ///
    /// # Errors
    /// As [`AuditLog::append`].
    pub async fn seal(&self, now_ms: i64) -> Result<(), AuditError> {
        self.send(Op::Seal { now_ms }).await
    }

    async fn send(&self, op: Op) -> Result<(), AuditError> {
        let (reply, outcome) = oneshot::channel();
        self.writer.send(Request { op, reply }).await.map_err(|_| AuditError::Closed)?;
        outcome.await.map_err(|_| AuditError::Closed)?
    }

    /// The newest records matching `filter`, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`AuditError::Storage`] if the query fails.
    pub fn lookup(&self, filter: &Filter, limit: usize) -> Result<Vec<FoundEvent>, AuditError> {
        let conn = self.reader.lock().map_err(|_| AuditError::Storage("reader poisoned".into()))?;
        lookup(&conn, filter, limit)
    }
}

/// The newest records matching `filter` on `conn`, newest first, at most `limit`.
///
/// # Errors
/// [`AuditError::Storage`] if the query fails.
pub fn lookup(
    conn: &Connection,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<FoundEvent>, AuditError> {
    let mut sql = String::from("SELECT seq, body FROM audit_records WHERE account = ?1");
    let mut args: Vec<rusqlite::types::Value> = vec![filter.account.clone().into()];
    let mut add = |clause: &str, value: rusqlite::types::Value| {
        args.push(value);
        sql.push_str(&format!(" AND {clause} ?{}", args.len()));
    };
    if let Some(v) = filter.start_ms {
        add("time_ms >=", v.into());
    }
    if let Some(v) = filter.end_ms {
        add("time_ms <=", v.into());
    }
    if let Some(v) = &filter.event_name {
        add("event_name =", v.clone().into());
    }
    if let Some(v) = &filter.key_arn {
        add("key_arn =", v.clone().into());
    }
    if let Some(v) = &filter.principal_arn {
        add("principal_arn =", v.clone().into());
    }
    if let Some(v) = &filter.access_key_id {
        add("access_key_id =", v.clone().into());
    }
    if let Some(v) = &filter.event_id {
        add("event_id =", v.clone().into());
    }
    if let Some(v) = filter.before_seq {
        add("seq <", i64::try_from(v).unwrap_or(i64::MAX).into());
    }
    if let Some(v) = filter.read_only {
        add("read_only =", i64::from(v).into());
    }
    sql.push_str(" ORDER BY seq DESC LIMIT ");
    sql.push_str(&limit.to_string());
    let mut stmt = conn.prepare(&sql).map_err(db)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), |row| {
            Ok(FoundEvent {
                seq: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                body: row.get(1)?,
            })
        })
        .map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// What the writer keeps between batches: the end of the chain and of the digests.
struct WriterState {
    signer: DigestSigner,
    end: ChainEnd,
}

/// Where the chain and the digests end; restored as a whole when a batch fails.
#[derive(Clone)]
struct ChainEnd {
    last_seq: u64,
    last_hash: ChainHash,
    digests: u64,
    digested_up_to: u64,
    previous_digest_link: String,
}

impl WriterState {
    fn load(conn: &Connection, signer: DigestSigner) -> Result<Self, AuditError> {
        let last: Option<(i64, Vec<u8>)> = conn
            .query_row("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(db)?;
        let (last_seq, last_hash) = match last {
            Some((seq, hash)) => (
                u64::try_from(seq).unwrap_or(0),
                hash.try_into().map_err(|_| AuditError::Storage("bad stored hash".into()))?,
            ),
            None => (0, GENESIS_HASH),
        };
        // Only the newest digest matters here: start-up reads one row, not the whole list.
        let newest: Option<(i64, String, Vec<u8>)> = conn
            .query_row(
                "SELECT idx, body, signature FROM audit_digests ORDER BY idx DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(db)?;
        let (digests, digested_up_to, previous_digest_link) = match newest {
            Some((idx, body, signature)) => {
                let digest: Digest = serde_json::from_str(&body)
                    .map_err(|e| AuditError::Storage(format!("unreadable digest: {e}")))?;
                let count = u64::try_from(idx).unwrap_or(0) + 1;
                (count, digest.last_seq, digest.link_hash(&signature))
            }
            None => (0, 0, String::new()),
        };
        let end = ChainEnd { last_seq, last_hash, digests, digested_up_to, previous_digest_link };
        Ok(Self { signer, end })
    }
}

fn run(mut conn: Connection, mut state: WriterState, mut requests: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while requests.blocking_recv_many(&mut batch, BATCH_MAX) > 0 {
        let saved = state.end.clone();
        let outcome = write_batch(&mut conn, &mut state, &batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "audit batch failed");
            // Nothing of the batch was committed: continue the chain from where it was.
            state.end = saved;
        }
        for request in batch.drain(..) {
            let _ = request.reply.send(outcome.clone());
        }
    }
}

fn write_batch(
    conn: &mut Connection,
    state: &mut WriterState,
    batch: &[Request],
) -> Result<(), AuditError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let mut seal_at = None;
    for request in batch {
        match &request.op {
            Op::Append { body, index } => {
                let seq = state.end.last_seq + 1;
                let hash = record_hash(&state.end.last_hash, seq, body.as_bytes());
                // Cached: the statement is parsed once per connection, not once per record.
                tx.prepare_cached(
                    "INSERT INTO audit_records (seq, time_ms, event_name, key_arn, principal_arn, \
                     account, access_key_id, event_id, read_only, body, hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        i64::try_from(seq).unwrap_or(i64::MAX),
                        index.time_ms,
                        index.event_name,
                        index.key_arn,
                        index.principal_arn,
                        index.account,
                        index.access_key_id,
                        index.event_id,
                        index.read_only,
                        body,
                        hash.as_slice(),
                    ])
                })
                .map_err(db)?;
                state.end.last_seq = seq;
                state.end.last_hash = hash;
                if state.end.last_seq - state.end.digested_up_to >= DIGEST_EVERY_RECORDS {
                    write_digest(&tx, state, index.time_ms)?;
                }
            }
            Op::Seal { now_ms } => seal_at = Some(*now_ms),
        }
    }
    if let Some(now_ms) = seal_at {
        if state.end.last_seq > state.end.digested_up_to {
            write_digest(&tx, state, now_ms)?;
        }
    }
    tx.commit().map_err(db)
}

fn write_digest(
    tx: &rusqlite::Transaction<'_>,
    state: &mut WriterState,
    now_ms: i64,
) -> Result<(), AuditError> {
    let digest = Digest {
        first_seq: state.end.digested_up_to + 1,
        last_seq: state.end.last_seq,
        last_record_hash: hex::encode(state.end.last_hash),
        previous_digest_hash: state.end.previous_digest_link.clone(),
        created_ms: now_ms,
    };
    let signature = state.signer.sign(&digest);
    let body = serde_json::to_string(&digest).map_err(|e| AuditError::Storage(e.to_string()))?;
    tx.execute(
        "INSERT INTO audit_digests (idx, last_seq, body, signature) VALUES (?1, ?2, ?3, ?4)",
        params![
            i64::try_from(state.end.digests).unwrap_or(i64::MAX),
            i64::try_from(digest.last_seq).unwrap_or(i64::MAX),
            body,
            signature
        ],
    )
    .map_err(db)?;
    state.end.digests += 1;
    state.end.digested_up_to = digest.last_seq;
    state.end.previous_digest_link = digest.link_hash(&signature);
    Ok(())
}

fn read_digests(conn: &Connection) -> Result<Vec<StoredDigest>, AuditError> {
    let mut stmt =
        conn.prepare("SELECT body, signature FROM audit_digests ORDER BY idx").map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(db)?;
    let mut out = Vec::new();
    for row in rows {
        let (body, signature) = row.map_err(db)?;
        let digest = serde_json::from_str(&body)
            .map_err(|e| AuditError::Storage(format!("unreadable digest: {e}")))?;
        out.push(StoredDigest { digest, signature });
    }
    Ok(out)
}

/// Opens a trail file read-only for verification and export.
///
/// # Errors
/// [`AuditError::Storage`] if it cannot be opened.
pub fn open_read_only(path: &Path) -> Result<Connection, AuditError> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db)
}

/// Every record in order, for verification; `on_record` sees each one.
///
/// # Errors
/// [`AuditError::Storage`] if reading fails.
pub fn for_each_record(
    conn: &Connection,
    mut on_record: impl FnMut(StoredRecord) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let mut stmt =
        conn.prepare("SELECT seq, body, hash FROM audit_records ORDER BY seq").map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let seq: i64 = row.get(0).map_err(db)?;
        let body: String = row.get(1).map_err(db)?;
        let hash: Vec<u8> = row.get(2).map_err(db)?;
        let hash: ChainHash = hash.try_into().unwrap_or([0xff; 32]);
        on_record(StoredRecord {
            seq: u64::try_from(seq).unwrap_or(0),
            body: body.into_bytes(),
            hash,
        })?;
    }
    Ok(())
}

/// The stored digests, in order.
///
/// # Errors
/// [`AuditError::Storage`] if reading fails.
pub fn digests(conn: &Connection) -> Result<Vec<StoredDigest>, AuditError> {
    read_digests(conn)
}
