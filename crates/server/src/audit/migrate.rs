//! Moves a trail kept by earlier versions in `DATA/audit.sqlite3` (one row per record with
//! its number, event and chain hash; one row per digest) into the segment files.
//!
//! Numbers, events, hashes and digests are copied unchanged, so the chain and the signed
//! digests verify as before. The new files are written and synced in a temporary directory
//! that is then renamed into place, and the database is renamed to
//! `audit.sqlite3.migrated`, so an interrupted migration starts again from the database.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::segment::{self, io_error, DIGESTS_FILE};
use super::AuditError;

/// The database of earlier versions, in the data directory.
pub const LEGACY_FILE: &str = "audit.sqlite3";

fn db(e: &rusqlite::Error) -> AuditError {
    AuditError::Storage(format!("{LEGACY_FILE}: {e}"))
}

/// Migrates `data_dir/audit.sqlite3` into `trail_dir` if the database exists and the trail
/// directory does not. Returns how many records were moved.
///
/// # Errors
/// [`AuditError::Storage`] if the database cannot be read or the files written.
pub fn migrate_legacy(data_dir: &Path, trail_dir: &Path) -> Result<u64, AuditError> {
    let legacy = data_dir.join(LEGACY_FILE);
    if !legacy.is_file() || trail_dir.exists() {
        return Ok(0);
    }
    let conn = Connection::open_with_flags(&legacy, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| db(&e))?;
    let tmp = data_dir.join(format!("{}.migrating", segment::AUDIT_DIR));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_error(&tmp, &e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_error(&tmp, &e))?;

    let records_path = tmp.join(segment::segment_name(1));
    let mut records = fs::File::create(&records_path).map_err(|e| io_error(&records_path, &e))?;
    let mut stmt = conn
        .prepare("SELECT seq, body, hash FROM audit_records ORDER BY seq")
        .map_err(|e| db(&e))?;
    let mut rows = stmt.query([]).map_err(|e| db(&e))?;
    let mut line = Vec::new();
    let mut count = 0;
    while let Some(row) = rows.next().map_err(|e| db(&e))? {
        let seq: i64 = row.get(0).map_err(|e| db(&e))?;
        let body: String = row.get(1).map_err(|e| db(&e))?;
        let hash: Vec<u8> = row.get(2).map_err(|e| db(&e))?;
        // A damaged row is carried over as damage: verification will report it.
        let hash: [u8; 32] = hash.try_into().unwrap_or([0xff; 32]);
        line.clear();
        segment::push_record_line(
            &mut line,
            u64::try_from(seq).unwrap_or(0),
            &hash,
            body.as_bytes(),
        );
        records.write_all(&line).map_err(|e| io_error(&records_path, &e))?;
        count += 1;
    }
    records.sync_all().map_err(|e| io_error(&records_path, &e))?;

    let digests_path = tmp.join(DIGESTS_FILE);
    let mut out = Vec::new();
    let mut stmt = conn
        .prepare("SELECT body, signature FROM audit_digests ORDER BY idx")
        .map_err(|e| db(&e))?;
    let mut rows = stmt.query([]).map_err(|e| db(&e))?;
    while let Some(row) = rows.next().map_err(|e| db(&e))? {
        let body: String = row.get(0).map_err(|e| db(&e))?;
        let signature: Vec<u8> = row.get(1).map_err(|e| db(&e))?;
        let digest = serde_json::from_str(&body)
            .map_err(|e| AuditError::Storage(format!("{LEGACY_FILE}: unreadable digest: {e}")))?;
        segment::push_digest_line(&mut out, &digest, &signature)?;
    }
    fs::write(&digests_path, &out)
        .and_then(|()| fs::File::open(&digests_path)?.sync_all())
        .map_err(|e| io_error(&digests_path, &e))?;

    fs::rename(&tmp, trail_dir).map_err(|e| io_error(trail_dir, &e))?;
    fs::rename(&legacy, data_dir.join(format!("{LEGACY_FILE}.migrated")))
        .map_err(|e| io_error(&legacy, &e))?;
    fs::File::open(data_dir).and_then(|d| d.sync_all()).map_err(|e| io_error(data_dir, &e))?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::chain::{record_hash, Digest, DigestSigner, GENESIS_HASH};

    #[test]
    fn a_legacy_database_becomes_a_trail_that_verifies() {
        let data = tempfile::tempdir().unwrap();
        let conn = Connection::open(data.path().join(LEGACY_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE audit_records (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, hash BLOB NOT NULL);
             CREATE TABLE audit_digests (idx INTEGER PRIMARY KEY, last_seq INTEGER, body TEXT, signature BLOB);",
        )
        .unwrap();
        let signer = DigestSigner::from_seed(&[3; 32]).unwrap();
        let mut hash = GENESIS_HASH;
        for seq in 1..=3u64 {
            let body = format!("{{\"n\":{seq}}}");
            hash = record_hash(&hash, seq, body.as_bytes());
            conn.execute(
                "INSERT INTO audit_records VALUES (?1, ?2, ?3)",
                rusqlite::params![seq as i64, body, hash.as_slice()],
            )
            .unwrap();
        }
        let digest = Digest {
            first_seq: 1,
            last_seq: 3,
            last_record_hash: hex::encode(hash),
            previous_digest_hash: String::new(),
            created_ms: 5,
        };
        let signature = signer.sign(&digest);
        conn.execute(
            "INSERT INTO audit_digests VALUES (0, 3, ?1, ?2)",
            rusqlite::params![serde_json::to_string(&digest).unwrap(), signature],
        )
        .unwrap();
        drop(conn);

        let trail = data.path().join(segment::AUDIT_DIR);
        assert_eq!(migrate_legacy(data.path(), &trail).unwrap(), 3);
        assert!(data.path().join("audit.sqlite3.migrated").is_file());
        let mut records = Vec::new();
        segment::for_each_record(&trail, |r| {
            records.push(r);
            Ok(())
        })
        .unwrap();
        let digests = segment::read_digests(&trail).unwrap();
        let report = crate::audit::chain::verify(records, &digests, signer.public_key()).unwrap();
        assert_eq!((report.records, report.digests), (3, 1));
        assert_eq!(migrate_legacy(data.path(), &trail).unwrap(), 0);
    }
}
