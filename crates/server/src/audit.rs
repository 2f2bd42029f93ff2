//! The audit trail: every API call, allowed or denied, appends one record in CloudTrail's
//! event shape, durably, before the response is sent.
//!
//! - [`event`]: the record itself, with an allowlist that keeps secrets out.
//! - [`chain`]: the hash chain over records and the Ed25519-signed digests over the chain.
//! - [`log`]: the SQLite file the trail lives in, its writer thread and look-ups.
//!
//! The digest signing key is derived from the root key, so `kms-server audit verify` needs
//! the root key, and whoever edits the trail without it cannot make it verify again.

pub mod chain;
pub mod event;
pub mod log;

use std::path::Path;

use crate::keystore::Keystore;

pub use chain::{ChainError, VerifyReport};
pub use event::{Call, EventIndex};
pub use log::{AuditLog, Filter, FoundEvent};

/// Name of the trail's database in the data directory.
pub const AUDIT_FILE: &str = "audit.sqlite3";
/// The HKDF purpose of the digest signing key.
const SIGNING_KEY_PURPOSE: &[u8] = b"kms-server audit digest signing key v1";

/// An audit failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The trail's database failed.
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

/// Opens the trail in `data_dir`.
///
/// # Errors
/// [`AuditError`] if the key cannot be derived or the database opened.
pub fn open(data_dir: &Path, keystore: &Keystore) -> Result<AuditLog, AuditError> {
    AuditLog::open(&data_dir.join(AUDIT_FILE), signer(keystore)?)
}

/// Checks the trail in `data_dir`: the chain over every record, and every digest's signature
/// under the key derived from this root key.
///
/// # Errors
/// [`AuditError::Tampered`] with the first inconsistency, [`AuditError::Storage`] if the
/// file cannot be read.
pub fn verify(data_dir: &Path, keystore: &Keystore) -> Result<VerifyReport, AuditError> {
    let signer = signer(keystore)?;
    let conn = log::open_read_only(&data_dir.join(AUDIT_FILE))?;
    let digests = log::digests(&conn)?;
    let mut verifier = chain::ChainVerifier::new(&digests, signer.public_key())?;
    log::for_each_record(&conn, |record| Ok(verifier.push(&record)?))?;
    Ok(verifier.finish()?)
}

/// Writes every record of the trail in `data_dir`, oldest first, as JSON lines.
///
/// # Errors
/// [`AuditError::Storage`] if the file cannot be read or the output written.
pub fn export(data_dir: &Path, out: &mut impl std::io::Write) -> Result<u64, AuditError> {
    let conn = log::open_read_only(&data_dir.join(AUDIT_FILE))?;
    let mut count = 0;
    log::for_each_record(&conn, |record| {
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
/// [`AuditError::Storage`] if the file cannot be read.
pub fn lookup_file(
    data_dir: &Path,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<FoundEvent>, AuditError> {
    let conn = log::open_read_only(&data_dir.join(AUDIT_FILE))?;
    log::lookup(&conn, filter, limit)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn keystore() -> Keystore {
        Keystore::from_bytes(&[9; 32]).unwrap()
    }

    fn index(n: i64, key: &str) -> EventIndex {
        EventIndex {
            time_ms: n,
            event_name: if n % 2 == 0 { "Encrypt" } else { "Decrypt" }.into(),
            key_arn: Some(key.into()),
            principal_arn: Some("arn:aws:iam::000000000000:root".into()),
            account: Some("000000000000".into()),
            event_id: format!("e-{n}"),
            access_key_id: "test".into(),
            read_only: false,
        }
    }

    /// A trail of `n` records in a fresh directory, sealed at the end.
    async fn trail(n: i64) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &keystore()).unwrap();
        for i in 1..=n {
            log.append(format!("{{\"n\":{i}}}"), index(i, "arn:k1")).await.unwrap();
        }
        log.seal(n).await.unwrap();
        dir
    }

    fn tamper(dir: &tempfile::TempDir, sql: &str) {
        Connection::open(dir.path().join(AUDIT_FILE)).unwrap().execute_batch(sql).unwrap();
    }

    #[tokio::test]
    async fn appended_records_verify_and_reopening_continues_the_chain() {
        let dir = trail(5).await;
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report, VerifyReport { records: 5, digests: 1, unsigned_tail: 0 });
        let log = open(dir.path(), &keystore()).unwrap();
        log.append("{\"n\":6}".into(), index(6, "arn:k2")).await.unwrap();
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report, VerifyReport { records: 6, digests: 1, unsigned_tail: 1 });
        let other_root = Keystore::from_bytes(&[1; 32]).unwrap();
        assert!(matches!(verify(dir.path(), &other_root), Err(AuditError::Tampered(_))));
    }

    #[tokio::test]
    async fn audit_verify_catches_a_changed_record() {
        let dir = trail(5).await;
        tamper(&dir, "UPDATE audit_records SET body = '{\"n\":99}' WHERE seq = 3");
        assert!(matches!(
            verify(dir.path(), &keystore()),
            Err(AuditError::Tampered(ChainError::HashMismatch(3)))
        ));
    }

    #[tokio::test]
    async fn audit_verify_catches_a_deleted_record() {
        let dir = trail(5).await;
        tamper(&dir, "DELETE FROM audit_records WHERE seq = 2");
        assert!(matches!(
            verify(dir.path(), &keystore()),
            Err(AuditError::Tampered(ChainError::Gap { previous: 1, found: 3 }))
        ));
        let dir = trail(5).await;
        tamper(&dir, "DELETE FROM audit_records WHERE seq = 5");
        assert!(matches!(
            verify(dir.path(), &keystore()),
            Err(AuditError::Tampered(ChainError::MissingRecords { .. }))
        ));
    }

    #[tokio::test]
    async fn audit_verify_catches_two_reordered_records() {
        let dir = trail(5).await;
        tamper(
            &dir,
            "UPDATE audit_records SET body = CASE seq WHEN 2 THEN (SELECT body FROM audit_records WHERE seq = 3) \
             ELSE (SELECT body FROM audit_records WHERE seq = 2) END WHERE seq IN (2, 3)",
        );
        assert!(matches!(verify(dir.path(), &keystore()), Err(AuditError::Tampered(_))));
    }

    #[tokio::test]
    async fn lookup_filters_by_account_key_name_and_time_newest_first() {
        let dir = trail(6).await;
        let log = open(dir.path(), &keystore()).unwrap();
        log.append("{\"n\":7}".into(), index(7, "arn:k2")).await.unwrap();
        let base = Filter { account: "000000000000".into(), ..Filter::default() };
        let seqs = |f: &Filter, limit| {
            log.lookup(f, limit).unwrap().into_iter().map(|e| e.seq).collect::<Vec<_>>()
        };
        assert_eq!(seqs(&base, 3), [7, 6, 5]);
        assert_eq!(seqs(&Filter { key_arn: Some("arn:k2".into()), ..base.clone() }, 10), [7]);
        assert_eq!(
            seqs(&Filter { event_name: Some("Encrypt".into()), ..base.clone() }, 10),
            [6, 4, 2]
        );
        assert_eq!(
            seqs(&Filter { start_ms: Some(3), end_ms: Some(4), ..base.clone() }, 10),
            [4, 3]
        );
        assert_eq!(seqs(&Filter { before_seq: Some(3), ..base.clone() }, 10), [2, 1]);
        assert!(seqs(&Filter { account: "111122223333".into(), ..base }, 10).is_empty());
        let mut out = Vec::new();
        assert_eq!(export(dir.path(), &mut out).unwrap(), 7);
        assert!(String::from_utf8(out).unwrap().starts_with("{\"n\":1}\n{\"n\":2}\n"));
    }

    #[tokio::test]
    async fn a_digest_is_written_every_thousand_records() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path(), &keystore()).unwrap();
        for i in 1..=log::DIGEST_EVERY_RECORDS as i64 + 1 {
            log.append(format!("{{\"n\":{i}}}"), index(i, "arn:k1")).await.unwrap();
        }
        let report = verify(dir.path(), &keystore()).unwrap();
        assert_eq!(report.digests, 1);
        assert_eq!(report.unsigned_tail, 1);
    }
}
