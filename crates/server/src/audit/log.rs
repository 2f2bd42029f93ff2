//! The trail's writer: one thread that owns the files (see [`super::segment`] for their
//! layout), numbers records, extends the hash chain, writes signed digests and makes every
//! batch durable with one `fdatasync` before anyone in it is answered.
//!
//! A batch is everything queued when the writer wakes (at most [`BATCH_MAX`]): under load
//! one `write` and one `fdatasync` cover many records. While other calls are being served
//! (see [`Serving`]) the writer holds a batch open for up to [`LINGER`] so that their records
//! share its sync: a sync costs the same CPU for one record as for fifty. A lone call is
//! synced at once. A digest is written after the records
//! it covers are durable, so a durable digest never names records that are not. After a
//! failed write or sync the writer refuses every later record (the server answers
//! `KMSInternalException`) until it is restarted, which re-reads the files and cuts off an
//! incomplete last line.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::chain::{record_hash, ChainHash, Digest, DigestSigner, GENESIS_HASH};
use super::lookup::{self, Filter, FoundEvent};
use super::segment::{self, io_error, DIGESTS_FILE, SEGMENT_MAX_BYTES};
use super::AuditError;

/// A digest is written at least every this many records.
pub const DIGEST_EVERY_RECORDS: u64 = 1_000;
/// Most requests handled by one batch.
const BATCH_MAX: usize = 1024;
/// Longest a batch is held open for records of calls still being served.
pub const LINGER: Duration = Duration::from_micros(500);
/// How often a held batch looks for newly queued records.
const LINGER_STEP: Duration = Duration::from_micros(100);

enum Op {
    Append { body: Vec<u8>, time_ms: i64 },
    Seal { now_ms: i64 },
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<(), AuditError>>,
    /// The call's [`Serving`] note, dropped by the writer as it takes the request.
    serving: Option<Serving>,
}

/// The append-only trail.
pub struct AuditLog {
    /// Unbounded, so that queuing a record is synchronous and cannot be cut short by a
    /// cancelled caller; the queue is bounded in practice by the calls in flight, each of
    /// which waits for its record.
    writer: mpsc::UnboundedSender<Request>,
    dir: PathBuf,
    /// Calls being served whose records are not queued yet.
    serving: Arc<AtomicUsize>,
}

/// A call being served whose record the writer has not taken yet (from
/// [`AuditLog::serving`]). While any exist, the writer holds its batch open a little for their
/// records.
#[must_use = "dropping it at once tells the writer no record is coming"]
pub struct Serving {
    count: Arc<AtomicUsize>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("dir", &self.dir).finish()
    }
}

impl AuditLog {
    /// Opens (or creates) the trail in directory `dir`; digests are signed by `signer`.
    ///
    /// # Errors
    /// [`AuditError::Storage`] if the files cannot be opened or their chain state read.
    pub fn open(dir: &Path, signer: DigestSigner) -> Result<Self, AuditError> {
        Self::open_with_segment_limit(dir, signer, SEGMENT_MAX_BYTES)
    }

    /// [`AuditLog::open`], closing segments once they pass `segment_max_bytes` (small in tests
    /// of segment changes).
    ///
    /// # Errors
    /// As [`AuditLog::open`].
    pub fn open_with_segment_limit(
        dir: &Path,
        signer: DigestSigner,
        segment_max_bytes: u64,
    ) -> Result<Self, AuditError> {
        let writer = Writer::open(dir, signer, segment_max_bytes)?;
        let (sender, requests) = mpsc::unbounded_channel();
        let serving = Arc::new(AtomicUsize::new(0));
        let others = Arc::clone(&serving);
        thread::Builder::new()
            .name("kms-audit-writer".to_owned())
            .spawn(move || writer.run(requests, &others))
            .map_err(|e| AuditError::Storage(e.to_string()))?;
        Ok(Self { writer: sender, dir: dir.to_owned(), serving })
    }

    /// Notes that a call is being served and will append its record: hand the result to
    /// [`AuditLog::append_served`].
    pub fn serving(&self) -> Serving {
        self.serving.fetch_add(1, Ordering::Relaxed);
        Serving { count: Arc::clone(&self.serving) }
    }

    /// Appends one event (CloudTrail JSON as UTF-8, one line) made at `time_ms`; returns once
    /// it is durable.
    ///
    /// # Errors
    /// [`AuditError::Storage`] if the write failed, [`AuditError::Closed`] if the writer stopped.
    pub async fn append(&self, body: Vec<u8>, time_ms: i64) -> Result<(), AuditError> {
        self.send(Op::Append { body, time_ms }, None).await
    }

    /// [`AuditLog::append`] for the call `serving` notes; it stops counting once the writer
    /// takes the record.
    ///
    /// # Errors
    /// As [`AuditLog::append`].
    pub async fn append_served(
        &self,
        serving: Serving,
        body: Vec<u8>,
        time_ms: i64,
    ) -> Result<(), AuditError> {
        self.send(Op::Append { body, time_ms }, Some(serving)).await
    }

    /// Writes a digest over the records not yet covered by one (nothing if there are none).
    ///
    /// # Errors
    /// As [`AuditLog::append`].
    pub async fn seal(&self, now_ms: i64) -> Result<(), AuditError> {
        self.send(Op::Seal { now_ms }, None).await
    }

    async fn send(&self, op: Op, serving: Option<Serving>) -> Result<(), AuditError> {
        let (reply, outcome) = oneshot::channel();
        // Queued synchronously: once this future is first polled the record will be written,
        // even if the caller stops waiting.
        self.writer.send(Request { op, reply, serving }).map_err(|_| AuditError::Closed)?;
        outcome.await.map_err(|_| AuditError::Closed)?
    }

    /// The newest records matching `filter`, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`AuditError::Storage`] if the files cannot be read.
    pub fn lookup(&self, filter: &Filter, limit: usize) -> Result<Vec<FoundEvent>, AuditError> {
        lookup::lookup(&self.dir, filter, limit)
    }
}

/// Holds `batch` open while other calls being served may still add to it: until none is
/// left, the batch is full, or [`LINGER`] has passed. The calls in the batch stop counting
/// as they are taken.
fn linger(
    requests: &mut mpsc::UnboundedReceiver<Request>,
    batch: &mut Vec<Request>,
    serving: &AtomicUsize,
) {
    let opened = Instant::now();
    batch.iter_mut().for_each(|request| drop(request.serving.take()));
    while batch.len() < BATCH_MAX && serving.load(Ordering::Relaxed) > 0 {
        let left = LINGER.saturating_sub(opened.elapsed());
        if left.is_zero() {
            break;
        }
        thread::sleep(left.min(LINGER_STEP));
        while batch.len() < BATCH_MAX {
            match requests.try_recv() {
                Ok(mut request) => {
                    drop(request.serving.take());
                    batch.push(request);
                }
                Err(_) => break,
            }
        }
    }
}

/// Where the chain and the digests end; restored as a whole when a batch fails.
#[derive(Clone)]
struct ChainEnd {
    last_seq: u64,
    last_hash: ChainHash,
    digested_up_to: u64,
    previous_digest_link: String,
}

/// The writer thread's state.
struct Writer {
    dir: PathBuf,
    signer: DigestSigner,
    end: ChainEnd,
    segment: File,
    segment_path: PathBuf,
    segment_len: u64,
    segment_max_bytes: u64,
    digests: File,
    /// Why the writer stopped accepting records, after a failed write or sync.
    failed: Option<String>,
    records: Vec<u8>,
    digest_lines: Vec<u8>,
    stats: Stats,
}

/// What the writer did since the last seal, logged at each seal (group commit sizes and sync
/// times are what bound a durable trail's throughput).
#[derive(Default)]
struct Stats {
    records: u64,
    batches: u64,
    sync_time: std::time::Duration,
    slowest_sync: std::time::Duration,
}

impl Stats {
    fn log_and_reset(&mut self) {
        if self.batches > 0 {
            #[allow(clippy::cast_precision_loss)] // statistics
            let per_batch = self.records as f64 / self.batches as f64;
            tracing::info!(
                records = self.records,
                batches = self.batches,
                records_per_batch = %format_args!("{per_batch:.1}"),
                mean_sync_us = (self.sync_time / u32::try_from(self.batches).unwrap_or(u32::MAX))
                    .as_micros(),
                slowest_sync_us = self.slowest_sync.as_micros(),
                "audit writer: group commits since the last seal"
            );
        }
        *self = Self::default();
    }
}

impl Writer {
    fn open(dir: &Path, signer: DigestSigner, segment_max_bytes: u64) -> Result<Self, AuditError> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        let (last_seq, last_hash) = last_record(dir)?;
        let segments = segment::segments(dir)?;
        let (segment, segment_path, segment_len) = match segments.last() {
            Some((_, path)) => {
                let (file, len) = open_append(path)?;
                (file, path.clone(), len)
            }
            None => create_segment(dir, last_seq + 1)?,
        };
        let digests_path = dir.join(DIGESTS_FILE);
        let (digests, newest) = open_digests(&digests_path)?;
        let (digested_up_to, previous_digest_link) = match newest {
            Some(stored) => (stored.digest.last_seq, stored.digest.link_hash(&stored.signature)),
            None => (0, String::new()),
        };
        if digested_up_to > last_seq {
            return Err(AuditError::Storage(format!(
                "the newest digest covers records up to {digested_up_to}, but the trail ends at \
                 {last_seq}: records are missing (run `kms-server audit verify`)"
            )));
        }
        Ok(Self {
            dir: dir.to_owned(),
            signer,
            end: ChainEnd { last_seq, last_hash, digested_up_to, previous_digest_link },
            segment,
            segment_path,
            segment_len,
            segment_max_bytes,
            digests,
            failed: None,
            records: Vec::with_capacity(1 << 20),
            digest_lines: Vec::new(),
            stats: Stats::default(),
        })
    }

    fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>, serving: &AtomicUsize) {
        let mut batch = Vec::with_capacity(BATCH_MAX);
        while requests.blocking_recv_many(&mut batch, BATCH_MAX) > 0 {
            linger(&mut requests, &mut batch, serving);
            let outcome = match &self.failed {
                Some(why) => Err(AuditError::Storage(format!("the audit writer failed: {why}"))),
                None => self.write_batch(&batch),
            };
            for request in batch.drain(..) {
                let _ = request.reply.send(outcome.clone());
            }
        }
    }

    fn write_batch(&mut self, batch: &[Request]) -> Result<(), AuditError> {
        let saved = self.end.clone();
        let outcome = self.try_write_batch(batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "audit batch failed; no further records are accepted");
            self.failed = Some(e.to_string());
            self.end = saved;
            // Best effort: take the unacknowledged bytes back off the segment.
            let _ = self.segment.set_len(self.segment_len);
        }
        outcome
    }

    fn try_write_batch(&mut self, batch: &[Request]) -> Result<(), AuditError> {
        let saved_seq = self.end.last_seq;
        self.records.clear();
        self.digest_lines.clear();
        let mut seal_at = None;
        for request in batch {
            match &request.op {
                Op::Append { body, time_ms } => {
                    let seq = self.end.last_seq + 1;
                    let hash = record_hash(&self.end.last_hash, seq, body);
                    segment::push_record_line(&mut self.records, seq, &hash, body);
                    self.end.last_seq = seq;
                    self.end.last_hash = hash;
                    if seq - self.end.digested_up_to >= DIGEST_EVERY_RECORDS {
                        self.push_digest(*time_ms)?;
                    }
                }
                Op::Seal { now_ms } => seal_at = Some(*now_ms),
            }
        }
        if let Some(now_ms) = seal_at {
            if self.end.last_seq > self.end.digested_up_to {
                self.push_digest(now_ms)?;
            }
            self.stats.log_and_reset();
        }
        if !self.records.is_empty() {
            let path = &self.segment_path;
            let started = std::time::Instant::now();
            self.segment.write_all(&self.records).map_err(|e| io_error(path, &e))?;
            self.segment.sync_data().map_err(|e| io_error(path, &e))?;
            let took = started.elapsed();
            self.segment_len += self.records.len() as u64;
            self.stats.batches += 1;
            self.stats.records += self.end.last_seq - saved_seq;
            self.stats.sync_time += took;
            self.stats.slowest_sync = self.stats.slowest_sync.max(took);
        }
        if !self.digest_lines.is_empty() {
            // Only now that the records are durable may a digest name them.
            let path = self.dir.join(DIGESTS_FILE);
            self.digests.write_all(&self.digest_lines).map_err(|e| io_error(&path, &e))?;
            self.digests.sync_data().map_err(|e| io_error(&path, &e))?;
        }
        if self.segment_len >= self.segment_max_bytes {
            let (segment, path, len) = create_segment(&self.dir, self.end.last_seq + 1)?;
            self.segment = segment;
            self.segment_path = path;
            self.segment_len = len;
        }
        Ok(())
    }

    fn push_digest(&mut self, now_ms: i64) -> Result<(), AuditError> {
        let digest = Digest {
            first_seq: self.end.digested_up_to + 1,
            last_seq: self.end.last_seq,
            last_record_hash: hex::encode(self.end.last_hash),
            previous_digest_hash: self.end.previous_digest_link.clone(),
            created_ms: now_ms,
        };
        let signature = self.signer.sign(&digest);
        segment::push_digest_line(&mut self.digest_lines, &digest, &signature)?;
        self.end.digested_up_to = digest.last_seq;
        self.end.previous_digest_link = digest.link_hash(&signature);
        Ok(())
    }
}

/// The number and hash of the newest record, from the newest non-empty segment. An
/// incomplete last line there (a write cut short by a crash; never acknowledged) is cut off.
fn last_record(dir: &Path) -> Result<(u64, ChainHash), AuditError> {
    for (_, path) in segment::segments(dir)?.iter().rev() {
        let bytes = segment::read_file(path)?;
        let (mut lines, complete) = segment::complete_lines(&bytes);
        if complete < bytes.len() {
            tracing::warn!(path = %path.display(), "cutting off an incomplete audit record");
            cut(path, complete as u64)?;
        }
        if let Some(line) = lines.next_back() {
            let record = segment::parse_record_line(line)?;
            return Ok((record.seq, record.hash));
        }
    }
    Ok((0, GENESIS_HASH))
}

fn cut(path: &Path, len: u64) -> Result<(), AuditError> {
    let file = OpenOptions::new().write(true).open(path).map_err(|e| io_error(path, &e))?;
    file.set_len(len).and_then(|()| file.sync_all()).map_err(|e| io_error(path, &e))
}

fn open_append(path: &Path) -> Result<(File, u64), AuditError> {
    let mut file = OpenOptions::new().append(true).open(path).map_err(|e| io_error(path, &e))?;
    let len = file.seek(SeekFrom::End(0)).map_err(|e| io_error(path, &e))?;
    Ok((file, len))
}

/// Creates the segment whose first record will be `first_seq`, durably (its directory entry
/// too).
fn create_segment(dir: &Path, first_seq: u64) -> Result<(File, PathBuf, u64), AuditError> {
    let path = dir.join(segment::segment_name(first_seq));
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| io_error(&path, &e))?;
    sync_dir(dir)?;
    let len = file.metadata().map_err(|e| io_error(&path, &e))?.len();
    Ok((file, path, len))
}

fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_error(dir, &e))
}

/// Opens the digests file for appending (cutting off an incomplete last line) and reads its
/// newest digest.
fn open_digests(path: &Path) -> Result<(File, Option<super::chain::StoredDigest>), AuditError> {
    let existed = path.exists();
    let file =
        OpenOptions::new().append(true).create(true).open(path).map_err(|e| io_error(path, &e))?;
    if !existed {
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        return Ok((file, None));
    }
    let bytes = segment::read_file(path)?;
    let (mut lines, complete) = segment::complete_lines(&bytes);
    if complete < bytes.len() {
        tracing::warn!(path = %path.display(), "cutting off an incomplete audit digest");
        cut(path, complete as u64)?;
    }
    let newest = lines.next_back().map(segment::parse_digest_line).transpose()?;
    Ok((file, newest))
}
