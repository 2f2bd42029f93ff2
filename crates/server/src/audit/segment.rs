//! The trail's files: how records and digests are laid out on disk, and how they are read.
//!
//! `DATA/audit/` holds
//! - `records-<first seq, 20 digits>.log`: segments of records, one per line,
//!   `<seq> <chain hash, 64 hex> <event JSON>\n`. A segment is closed once it passes
//!   [`SEGMENT_MAX_BYTES`] and the next one is named after its first record. JSON text never
//!   holds a raw newline, so a line is exactly one record.
//! - `digests.log`: the signed digests, one per line, `<Ed25519 signature, 128 hex> <digest
//!   JSON>\n` (the digest as [`Digest`] serialises it, which is also what is signed).
//!
//! Only the last line of the last file can be incomplete (a write cut short by a crash): it
//! was never acknowledged, so readers ignore it and the writer cuts it off at start-up. Any
//! other malformed line is damage, reported as such.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write as _};
use std::path::{Path, PathBuf};

use super::chain::{ChainHash, Digest, StoredDigest, StoredRecord, HASH_LEN_BYTES};
use super::AuditError;

/// The trail's directory in the data directory.
pub const AUDIT_DIR: &str = "audit";
/// The digests file in the trail's directory.
pub const DIGESTS_FILE: &str = "digests.log";
/// A segment is closed once it holds this many bytes.
pub const SEGMENT_MAX_BYTES: u64 = 64 * 1024 * 1024;

const SEGMENT_PREFIX: &str = "records-";
const SEGMENT_SUFFIX: &str = ".log";

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{first_seq:020}{SEGMENT_SUFFIX}")
}

/// The segments in `dir`, oldest first, with the number of their first record.
///
/// # Errors
/// [`AuditError::Storage`] if the directory cannot be listed.
pub fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_error(dir, &e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let name = entry.file_name();
        let first = name
            .to_str()
            .and_then(|n| n.strip_prefix(SEGMENT_PREFIX))
            .and_then(|n| n.strip_suffix(SEGMENT_SUFFIX))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first {
            out.push((first, entry.path()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// An I/O failure on `path`.
pub fn io_error(path: &Path, e: &io::Error) -> AuditError {
    AuditError::Storage(format!("{}: {e}", path.display()))
}

/// Appends the line of record `seq` to `out`.
pub fn push_record_line(out: &mut Vec<u8>, seq: u64, hash: &ChainHash, body: &[u8]) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{seq} ");
    let mut hex = [0u8; 2 * HASH_LEN_BYTES];
    // The buffer is exactly twice the hash length, so encoding cannot fail.
    let _ = hex::encode_to_slice(hash, &mut hex);
    out.extend_from_slice(&hex);
    out.push(b' ');
    out.extend_from_slice(body);
    out.push(b'\n');
}

/// Reads one record line (without its newline).
///
/// # Errors
/// [`AuditError::Storage`] naming what is malformed.
pub fn parse_record_line(line: &[u8]) -> Result<StoredRecord, AuditError> {
    let malformed =
        |what: &str| AuditError::Storage(format!("malformed audit record line: {what}"));
    let mut parts = line.splitn(3, |b| *b == b' ');
    let seq = parts
        .next()
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| malformed("bad sequence number"))?;
    let mut hash = [0u8; HASH_LEN_BYTES];
    parts
        .next()
        .and_then(|h| hex::decode_to_slice(h, &mut hash).ok())
        .ok_or_else(|| malformed("bad chain hash"))?;
    let body = parts.next().ok_or_else(|| malformed("no event"))?;
    Ok(StoredRecord { seq, body: body.to_vec(), hash })
}

/// Appends the line of a signed digest to `out`.
///
/// # Errors
/// [`AuditError::Storage`] if the digest cannot be serialised.
pub fn push_digest_line(
    out: &mut Vec<u8>,
    digest: &Digest,
    signature: &[u8],
) -> Result<(), AuditError> {
    out.extend_from_slice(hex::encode(signature).as_bytes());
    out.push(b' ');
    serde_json::to_writer(&mut *out, digest).map_err(|e| AuditError::Storage(e.to_string()))?;
    out.push(b'\n');
    Ok(())
}

/// Reads one digest line (without its newline).
///
/// # Errors
/// [`AuditError::Storage`] naming what is malformed.
pub fn parse_digest_line(line: &[u8]) -> Result<StoredDigest, AuditError> {
    let malformed =
        |what: &str| AuditError::Storage(format!("malformed audit digest line: {what}"));
    let space = line.iter().position(|b| *b == b' ').ok_or_else(|| malformed("no signature"))?;
    let signature = hex::decode(&line[..space]).map_err(|_| malformed("bad signature"))?;
    let digest = serde_json::from_slice(&line[space + 1..]).map_err(|_| malformed("bad digest"))?;
    Ok(StoredDigest { digest, signature })
}

/// The complete lines of `bytes`, and how many bytes they span (an incomplete last line, one
/// without its newline, is left out).
pub fn complete_lines(bytes: &[u8]) -> (impl DoubleEndedIterator<Item = &[u8]>, usize) {
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let lines = bytes[..complete].split(|b| *b == b'\n');
    // `split` yields an empty piece after the final newline; drop it.
    let lines = lines.filter(|line| !line.is_empty());
    (lines, complete)
}

/// Every stored digest, in order.
///
/// # Errors
/// [`AuditError::Storage`] if the file cannot be read or a line is malformed.
pub fn read_digests(dir: &Path) -> Result<Vec<StoredDigest>, AuditError> {
    let path = dir.join(DIGESTS_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&path, &e)),
    };
    let (lines, _) = complete_lines(&bytes);
    lines.map(parse_digest_line).collect()
}

/// Every record in order, oldest first; `on_record` sees each one. An incomplete last line of
/// the last segment (being written) is skipped; anywhere else it is damage.
///
/// # Errors
/// [`AuditError::Storage`] if a file cannot be read or a line is malformed, or what
/// `on_record` returns.
pub fn for_each_record(
    dir: &Path,
    mut on_record: impl FnMut(StoredRecord) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let segments = segments(dir)?;
    let count = segments.len();
    for (i, (_, path)) in segments.iter().enumerate() {
        let file = File::open(path).map_err(|e| io_error(path, &e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(|e| io_error(path, &e))?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                if i + 1 == count {
                    break;
                }
                return Err(AuditError::Storage(format!(
                    "{}: incomplete record line in a closed segment",
                    path.display()
                )));
            }
            line.pop();
            on_record(parse_record_line(&line)?)?;
        }
    }
    Ok(())
}

/// The whole content of `path`.
///
/// # Errors
/// [`AuditError::Storage`] if it cannot be read.
pub fn read_file(path: &Path) -> Result<Vec<u8>, AuditError> {
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| io_error(path, &e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_round_trip() {
        let mut out = Vec::new();
        push_record_line(&mut out, 42, &[0xab; 32], b"{\"a\":\"b c\"}");
        assert_eq!(out.last(), Some(&b'\n'));
        let record = parse_record_line(&out[..out.len() - 1]).unwrap();
        assert_eq!(
            (record.seq, record.hash, record.body.as_slice()),
            (42, [0xab; 32], &b"{\"a\":\"b c\"}"[..])
        );
        assert!(parse_record_line(b"x 00 {}").is_err());
        assert!(parse_record_line(b"1 00 {}").is_err());
    }

    #[test]
    fn an_incomplete_last_line_is_left_out() {
        let (lines, len) = complete_lines(b"a\nb\nc");
        assert_eq!(lines.collect::<Vec<_>>(), [&b"a"[..], b"b"]);
        assert_eq!(len, 4);
        let (lines, len) = complete_lines(b"");
        assert_eq!(lines.count(), 0);
        assert_eq!(len, 0);
    }

    #[test]
    fn segments_are_listed_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for first in [1001, 1, 99] {
            fs::write(dir.path().join(segment_name(first)), b"").unwrap();
        }
        fs::write(dir.path().join(DIGESTS_FILE), b"").unwrap();
        let firsts: Vec<u64> = segments(dir.path()).unwrap().into_iter().map(|s| s.0).collect();
        assert_eq!(firsts, [1, 99, 1001]);
    }
}
