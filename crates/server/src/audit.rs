//! The audit trail: every API call, allowed or denied, appends one record in CloudTrail's
//! event shape, durably, before the response is sent.
//!
//! - [`event`]: the record itself, with an allowlist that keeps secrets out.
//! - [`chain`]: the hash chain over records and the Ed25519-signed digests over the chain.
//! - [`segment`]: the files the trail lives in (`DATA/audit/`), their format and reading.
//! - [`log`]: the writer thread that group-commits records to those files.
//! - [`lookup`]: finding records by account, time and attributes, newest first.
//! - [`lookup_api`]: CloudTrail's `LookupEvents` over [`lookup`].
//! - [`ids`]: cheap unique ids for requests and events.
//! - [`migrate`]: moves a trail of earlier versions (`DATA/audit.sqlite3`) into the files.
//!
//! The digest signing key is derived from the root key, so `kms-server audit verify` needs
//! the root key, and whoever edits the trail without it cannot make it verify again.

pub mod chain;
pub mod event;
pub mod ids;
pub mod json_out;
pub mod log;
pub mod lookup;
pub mod lookup_api;
pub mod migrate;
pub mod segment;

use std::path::{Path, PathBuf};

use crate::keystore::Keystore;

pub use chain::{ChainError, VerifyReport};
pub use event::Call;
pub use log::AuditLog;
pub use lookup::{Filter, FoundEvent, Summary};

/// The trail's directory in the data directory.
pub const AUDIT_DIR: &str = segment::AUDIT_DIR;
/// The HKDF purpose of the digest signing key.
const SIGNING_KEY_PURPOSE: &[u8] = b"kms-server audit digest signing key v1";

/// An audit failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The trail's files could not be read or written.
    #[error("audit storage failed: {0}")]
    Storage(String),
    /// The writer has stopped (the server is shutting down).
    #[error("the audit writer has stopped")]
    Closed,
    /// The signing key could not be derived.
    #[error("cannot derive the audit signing key")]
    Key,
    /// The trail does not verify.
    #[error("the audit trail does not verify: {0}")]
    Tampered(#[from] ChainError),
}

/// The digest signer for a root key.
///
/// # Errors
/// [`AuditError::Key`] if derivation fails.
pub fn signer(keystore: &Keystore) -> Result<chain::DigestSigner, AuditError> {
    let seed = keystore.derive_secret(SIGNING_KEY_PURPOSE).map_err(|_| AuditError::Key)?;
    chain::DigestSigner::from_seed(&seed).map_err(|_| AuditError::Key)
}

fn trail_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(AUDIT_DIR)
}

/// Opens the trail in `data_dir`.
///
/// # Errors
/// [`AuditError`] if the key cannot be derived or the files opened.
pub fn open(data_dir: &Path, keystore: &Keystore) -> Result<AuditLog, AuditError> {
    let signer = signer(keystore)?;
    let dir = trail_dir(data_dir);
    let moved = migrate::migrate_legacy(data_dir, &dir)?;
    if moved > 0 {
        tracing::info!(
            records = moved,
            "moved the audit trail from audit.sqlite3 to {}",
            dir.display()
        );
    }
    AuditLog::open(&dir, signer)
}

/// Checks the trail in `data_dir`: the chain over every record, and every digest's signature
/// under the key derived from this root key.
///
/// # Errors
/// [`AuditError::Tampered`] with the first inconsistency, [`AuditError::Storage`] if the
/// files cannot be read or a line is malformed.
pub fn verify(data_dir: &Path, keystore: &Keystore) -> Result<VerifyReport, AuditError> {
    let signer = signer(keystore)?;
    let dir = trail_dir(data_dir);
    let digests = segment::read_digests(&dir)?;
    let mut verifier = chain::ChainVerifier::new(&digests, signer.public_key())?;
    segment::for_each_record(&dir, |record| Ok(verifier.push(&record)?))?;
    Ok(verifier.finish()?)
}

/// Writes every record of the trail in `data_dir`, oldest first, as JSON lines.
///
/// # Errors
/// [`AuditError::Storage`] if the files cannot be read or the output written.
pub fn export(data_dir: &Path, out: &mut impl std::io::Write) -> Result<u64, AuditError> {
    let mut count = 0;
    segment::for_each_record(&trail_dir(data_dir), |record| {
        out.write_all(&record.body)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| AuditError::Storage(e.to_string()))?;
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

/// The newest records of the trail in `data_dir` that match `filter`, newest first.
///
/// # Errors
/// [`AuditError::Storage`] if the files cannot be read.
pub fn lookup_file(
    data_dir: &Path,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<FoundEvent>, AuditError> {
    lookup::lookup(&trail_dir(data_dir), filter, limit)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn keystore() -> Keystore {
        Keystore::from_bytes(&[9; 32]).unwrap()
    }

    const ACCOUNT: &str = "000000000000";

    /// An event of second `n`, about key `key`.
    fn event(n: i64, key: &str) -> Vec<u8> {
        let mut time = Vec::new();
        json_out::rfc3339(&mut time, n * 1000);
        let time = String::from_utf8(time).unwrap();
        serde_json::json!({
            "userIdentity": {"type": "Root", "arn": format!("arn:aws:iam::{ACCOUNT}:root"),
                "accountId": ACCOUNT, "accessKeyId": "test"},
            "eventTime": time,
            "eventSource": "kms.amazonaws.com",
            "eventName": if n % 2 == 0 { "Encrypt" } else { "Decrypt" },
            "eventID": format!("e-{n}"),
            "readOnly": false,
            "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key}],
            "recipientAccountId": ACCOUNT,
        })
        .to_string()
        .into_bytes()
    }

    /// A trail of `n` records in a fresh directory, sealed at the end.
    async fn trail(n: i64) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &keystore()).unwrap();
        for i in 1..=n {
            log.append(event(i, "arn:k1"), i * 1000).await.unwrap();
        }
        log.seal(n * 1000).await.unwrap();
        dir
    }

    fn segment_path(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join(AUDIT_DIR).join(segment::segment_name(1))
    }

    /// Rewrites the records file line by line.
    fn tamper(dir: &tempfile::TempDir, edit: impl FnOnce(&mut Vec<String>)) {
        let path = segment_path(dir);
        let mut lines: Vec<String> =
            fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
        edit(&mut lines);
        fs::write(&path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    }

    #[tokio::test]
    async fn appended_records_verify_and_reopening_continues_the_chain() {
        let dir = trail(5).await;
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report, VerifyReport { records: 5, digests: 1, unsigned_tail: 0 });
        let log = open(dir.path(), &keystore()).unwrap();
        log.append(event(6, "arn:k2"), 6000).await.unwrap();
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report, VerifyReport { records: 6, digests: 1, unsigned_tail: 1 });
        let other_root = Keystore::from_bytes(&[1; 32]).unwrap();
        assert!(matches!(verify(dir.path(), &other_root), Err(AuditError::Tampered(_))));
    }

    #[tokio::test]
    async fn records_of_served_calls_are_written_while_other_calls_are_still_served() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &keystore()).unwrap();
        // A call that never appends (a client that stopped mid-call) holds batches open only
        // for the bounded linger: the others' records are still written.
        let stalled = log.serving();
        for i in 1..=3 {
            log.append_served(log.serving(), event(i, "arn:k1"), i * 1000).await.unwrap();
        }
        let abandoned = log.serving();
        drop(abandoned);
        drop(stalled);
        log.seal(4000).await.unwrap();
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report, VerifyReport { records: 3, digests: 1, unsigned_tail: 0 });
    }

    #[tokio::test]
    async fn an_incomplete_last_line_is_cut_off_at_start_and_ignored_by_readers() {
        let dir = trail(3).await;
        let path = segment_path(&dir);
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(b"4 abcdef {\"torn");
        fs::write(&path, &bytes).unwrap();
        assert_eq!(verify(dir.path(), &keystore()).unwrap().records, 3);
        let log = open(dir.path(), &keystore()).unwrap();
        log.append(event(4, "arn:k1"), 4000).await.unwrap();
        assert_eq!(verify(dir.path(), &keystore()).unwrap().records, 4);
    }

    #[tokio::test]
    async fn audit_verify_catches_a_changed_record() {
        let dir = trail(5).await;
        tamper(&dir, |lines| lines[2] = lines[2].replace("Decrypt", "Encrypt"));
        assert!(matches!(
            verify(dir.path(), &keystore()),
            Err(AuditError::Tampered(ChainError::HashMismatch(3)))
        ));
    }

    #[tokio::test]
    async fn audit_verify_catches_a_deleted_record() {
        let dir = trail(5).await;
        tamper(&dir, |lines| {
            lines.remove(1);
        });
        assert!(matches!(
            verify(dir.path(), &keystore()),
            Err(AuditError::Tampered(ChainError::Gap { previous: 1, found: 3 }))
        ));
        let dir = trail(5).await;
        tamper(&dir, |lines| {
            lines.pop();
        });
        assert!(matches!(
            verify(dir.path(), &keystore()),
            Err(AuditError::Tampered(ChainError::MissingRecords { .. }))
        ));
    }

    #[tokio::test]
    async fn audit_verify_catches_two_reordered_records() {
        let dir = trail(5).await;
        // Swap the events of records 2 and 3, keeping their numbers and hashes.
        tamper(&dir, |lines| {
            let split = |l: &str| {
                let (head, body) = l.split_at(l.find(" {").unwrap());
                (head.to_owned(), body.to_owned())
            };
            let ((h2, b2), (h3, b3)) = (split(&lines[1]), split(&lines[2]));
            lines[1] = format!("{h2}{b3}");
            lines[2] = format!("{h3}{b2}");
        });
        assert!(matches!(verify(dir.path(), &keystore()), Err(AuditError::Tampered(_))));
        // Swapping whole lines breaks the numbering instead.
        let dir = trail(5).await;
        tamper(&dir, |lines| lines.swap(1, 2));
        assert!(matches!(verify(dir.path(), &keystore()), Err(AuditError::Tampered(_))));
    }

    #[tokio::test]
    async fn a_forged_digest_is_caught() {
        let dir = trail(5).await;
        let path = dir.path().join(AUDIT_DIR).join(segment::DIGESTS_FILE);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replace("\"lastSeq\":5", "\"lastSeq\":4")).unwrap();
        assert!(matches!(
            verify(dir.path(), &keystore()),
            Err(AuditError::Tampered(ChainError::BadSignature(0)))
        ));
    }

    #[tokio::test]
    async fn lookup_filters_by_account_key_name_and_time_newest_first() {
        let dir = trail(6).await;
        let log = open(dir.path(), &keystore()).unwrap();
        log.append(event(7, "arn:aws:kms:us-east-1:000000000000:key/k2"), 7000).await.unwrap();
        let base = Filter { account: ACCOUNT.into(), ..Filter::default() };
        let seqs = |f: &Filter, limit| {
            log.lookup(f, limit).unwrap().into_iter().map(|e| e.seq).collect::<Vec<_>>()
        };
        assert_eq!(seqs(&base, 3), [7, 6, 5]);
        let k2 = "arn:aws:kms:us-east-1:000000000000:key/k2";
        assert_eq!(seqs(&Filter { key_arn: Some(k2.into()), ..base.clone() }, 10), [7]);
        assert_eq!(seqs(&Filter { key_arn: Some("k2".into()), ..base.clone() }, 10), [7]);
        assert_eq!(
            seqs(&Filter { event_name: Some("Encrypt".into()), ..base.clone() }, 10),
            [6, 4, 2]
        );
        assert_eq!(
            seqs(&Filter { start_ms: Some(3000), end_ms: Some(4500), ..base.clone() }, 10),
            [4, 3]
        );
        assert_eq!(seqs(&Filter { before_seq: Some(3), ..base.clone() }, 10), [2, 1]);
        assert_eq!(seqs(&Filter { username: Some("root".into()), ..base.clone() }, 2), [7, 6]);
        assert_eq!(seqs(&Filter { event_id: Some("e-5".into()), ..base.clone() }, 10), [5]);
        assert!(seqs(&Filter { read_only: Some(true), ..base.clone() }, 10).is_empty());
        assert!(seqs(&Filter { account: "111122223333".into(), ..base }, 10).is_empty());
        let found =
            log.lookup(&Filter { account: ACCOUNT.into(), ..Filter::default() }, 1).unwrap();
        assert_eq!(found[0].summary.event_name, "Decrypt");
        assert_eq!(found[0].summary.event_time_secs, 7);
        assert_eq!(found[0].summary.username.as_deref(), Some("root"));
        let mut out = Vec::new();
        assert_eq!(export(dir.path(), &mut out).unwrap(), 7);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().next().unwrap().as_bytes(), event(1, "arn:k1"));
    }

    #[tokio::test]
    async fn records_span_segments_and_verify_reopen_and_look_up_across_them() {
        let dir = tempfile::tempdir().unwrap();
        let trail = dir.path().join(AUDIT_DIR);
        let open_small =
            || AuditLog::open_with_segment_limit(&trail, signer(&keystore()).unwrap(), 1024);
        let log = open_small().unwrap();
        for i in 1..=8 {
            log.append(event(i, "arn:k1"), i * 1000).await.unwrap();
        }
        log.seal(8000).await.unwrap();
        drop(log);
        let log = open_small().unwrap();
        for i in 9..=12 {
            log.append(event(i, "arn:k1"), i * 1000).await.unwrap();
        }
        let segments = segment::segments(&trail).unwrap();
        assert!(segments.len() >= 4, "{segments:?}");
        assert_eq!(segments[0].0, 1);
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report, VerifyReport { records: 12, digests: 1, unsigned_tail: 4 });
        let base = Filter { account: ACCOUNT.into(), ..Filter::default() };
        let seqs: Vec<u64> = log.lookup(&base, 20).unwrap().into_iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=12).rev().collect::<Vec<_>>());
        let older: Vec<u64> = log
            .lookup(&Filter { before_seq: Some(6), ..base }, 2)
            .unwrap()
            .into_iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(older, [5, 4]);
        // Removing a whole segment in the middle is caught.
        fs::remove_file(&segments[1].1).unwrap();
        assert!(matches!(verify(dir.path(), &keystore()), Err(AuditError::Tampered(_))));
    }

    #[tokio::test]
    async fn a_digest_is_written_every_thousand_records() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &keystore()).unwrap();
        for i in 1..=log::DIGEST_EVERY_RECORDS as i64 + 1 {
            log.append(event(i, "arn:k1"), i).await.unwrap();
        }
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report.digests, 1);
        assert_eq!(report.unsigned_tail, 1);
    }
}
