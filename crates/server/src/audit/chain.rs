//! The trail's integrity: a hash chain over every record and signed digests over the chain,
//! in the manner of CloudTrail log file integrity validation.
//!
//! Record `n` (numbered from 1) has hash `H(n) = SHA-256("kms-audit-record-v1" || H(n-1) ||
//! n as u64 big-endian || record bytes)`, with `H(0)` all zeros. Changing, removing or
//! reordering a record changes every later hash. A digest states "records `first..=last`
//! end in hash `H(last)`" and chains to the previous digest; it is signed with Ed25519 under
//! a key derived from the server's root key, so whoever can rewrite the database but does
//! not hold the root key cannot forge a consistent trail.

use aws_lc_rs::digest::{Context, SHA256};
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

/// Length of a chain hash.
pub const HASH_LEN_BYTES: usize = 32;
/// A chain hash.
pub type ChainHash = [u8; HASH_LEN_BYTES];
/// The hash before the first record.
pub const GENESIS_HASH: ChainHash = [0; HASH_LEN_BYTES];

const RECORD_DOMAIN: &[u8] = b"kms-audit-record-v1";
const DIGEST_DOMAIN: &[u8] = b"kms-audit-digest-v1";

/// The hash of record `seq` whose predecessor hashed to `previous`.
pub fn record_hash(previous: &ChainHash, seq: u64, record: &[u8]) -> ChainHash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(RECORD_DOMAIN);
    ctx.update(previous);
    ctx.update(&seq.to_be_bytes());
    ctx.update(record);
    finish(ctx)
}

fn finish(ctx: Context) -> ChainHash {
    let mut out = GENESIS_HASH;
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// A signed statement about a run of records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    /// First record covered (1 for the first digest; else the previous digest's `last_seq + 1`).
    pub first_seq: u64,
    /// Last record covered.
    pub last_seq: u64,
    /// `H(last_seq)`, hex.
    pub last_record_hash: String,
    /// SHA-256 of the previous digest's signed bytes and signature, hex; empty for the first.
    pub previous_digest_hash: String,
    /// When it was made, milliseconds since the epoch.
    pub created_ms: i64,
}

impl Digest {
    /// The bytes that are signed: a domain tag and the digest as JSON.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = DIGEST_DOMAIN.to_vec();
        // Serialising a struct of strings and integers cannot fail.
        out.extend_from_slice(&serde_json::to_vec(self).unwrap_or_default());
        out
    }

    /// What the next digest names as `previous_digest_hash`.
    pub fn link_hash(&self, signature: &[u8]) -> String {
        let mut ctx = Context::new(&SHA256);
        ctx.update(&self.signed_bytes());
        ctx.update(signature);
        hex::encode(finish(ctx))
    }
}

/// Signs digests. Holds the private key; it is derived again from the root key at each start.
pub struct DigestSigner {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for DigestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestSigner").field("public_key", &hex::encode(self.public_key())).finish()
    }
}

impl DigestSigner {
    /// A signer from a 32-byte seed (derived from the root key).
    ///
    /// # Errors
    /// [`ChainError::Key`] if aws-lc rejects the seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, ChainError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| ChainError::Key)?;
        Ok(Self { pair })
    }

    /// The Ed25519 public key that verifies this signer's digests.
    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    /// Signs `digest`.
    pub fn sign(&self, digest: &Digest) -> Vec<u8> {
        self.pair.sign(&digest.signed_bytes()).as_ref().to_vec()
    }
}

/// Why a trail failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The signing key could not be made.
    #[error("cannot make the digest signing key")]
    Key,
    /// Record numbers are not 1, 2, 3, … (a record was removed or inserted).
    #[error("record {found} follows record {previous}: records are missing or out of order")]
    Gap {
        /// The previous record number.
        previous: u64,
        /// The number found next.
        found: u64,
    },
    /// A record's stored hash does not match the chain (it or an earlier one was changed
    /// or reordered).
    #[error("record {0} does not match the hash chain: it or an earlier record was changed")]
    HashMismatch(u64),
    /// A digest's signature does not verify.
    #[error("digest {0} has an invalid signature")]
    BadSignature(usize),
    /// A digest does not chain to its predecessor or covers the wrong records.
    #[error("digest {0} does not follow the previous digest")]
    DigestOrder(usize),
    /// A digest names a hash the records do not have.
    #[error("digest {0} does not match the records it covers")]
    DigestMismatch(usize),
    /// A digest covers records that are not in the trail (they were deleted).
    #[error("digest {index} covers records up to {last_seq}, but the trail ends at {present}")]
    MissingRecords {
        /// Which digest.
        index: usize,
        /// The last record it covers.
        last_seq: u64,
        /// The last record present.
        present: u64,
    },
}

/// What a successful verification saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// Digests checked.
    pub digests: usize,
    /// Records after the last digest: chained, but not yet covered by a signature.
    pub unsigned_tail: u64,
}

/// One stored record, as verification reads it.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// Its number.
    pub seq: u64,
    /// The record bytes (the event JSON).
    pub body: Vec<u8>,
    /// The hash stored with it.
    pub hash: ChainHash,
}

/// One stored digest with its signature.
#[derive(Debug, Clone)]
pub struct StoredDigest {
    /// The digest.
    pub digest: Digest,
    /// Its Ed25519 signature.
    pub signature: Vec<u8>,
}

/// Checks a trail record by record, so a trail of any length needs no more memory than its
/// digests: every digest's signature and order up front, then each record against the chain
/// and against the digest that ends at it.
#[derive(Debug)]
pub struct ChainVerifier<'a> {
    digests: &'a [StoredDigest],
    hash: ChainHash,
    last_seq: u64,
    next_digest: usize,
}

impl<'a> ChainVerifier<'a> {
    /// Checks the digests' signatures (under `public_key`) and their own chain.
    ///
    /// # Errors
    /// [`ChainError::BadSignature`] or [`ChainError::DigestOrder`].
    pub fn new(digests: &'a [StoredDigest], public_key: &[u8]) -> Result<Self, ChainError> {
        let verifier = UnparsedPublicKey::new(&signature::ED25519, public_key);
        let mut previous_link = String::new();
        let mut expected_first = 1;
        for (index, stored) in digests.iter().enumerate() {
            verifier
                .verify(&stored.digest.signed_bytes(), &stored.signature)
                .map_err(|_| ChainError::BadSignature(index))?;
            let d = &stored.digest;
            if d.previous_digest_hash != previous_link
                || d.first_seq != expected_first
                || d.last_seq < d.first_seq
            {
                return Err(ChainError::DigestOrder(index));
            }
            previous_link = d.link_hash(&stored.signature);
            expected_first = d.last_seq + 1;
        }
        Ok(Self { digests, hash: GENESIS_HASH, last_seq: 0, next_digest: 0 })
    }

    /// Checks the next record.
    ///
    /// # Errors
    /// [`ChainError::Gap`], [`ChainError::HashMismatch`] or [`ChainError::DigestMismatch`].
    pub fn push(&mut self, record: &StoredRecord) -> Result<(), ChainError> {
        if record.seq != self.last_seq + 1 {
            return Err(ChainError::Gap { previous: self.last_seq, found: record.seq });
        }
        self.hash = record_hash(&self.hash, record.seq, &record.body);
        if self.hash != record.hash {
            return Err(ChainError::HashMismatch(record.seq));
        }
        self.last_seq = record.seq;
        if let Some(stored) = self.digests.get(self.next_digest) {
            if stored.digest.last_seq == self.last_seq {
                if stored.digest.last_record_hash != hex::encode(self.hash) {
                    return Err(ChainError::DigestMismatch(self.next_digest));
                }
                self.next_digest += 1;
            }
        }
        Ok(())
    }

    /// Checks that every digest met its records.
    ///
    /// # Errors
    /// [`ChainError::MissingRecords`] if a digest covers records the trail no longer has.
    pub fn finish(self) -> Result<VerifyReport, ChainError> {
        if let Some(stored) = self.digests.get(self.next_digest) {
            return Err(ChainError::MissingRecords {
                index: self.next_digest,
                last_seq: stored.digest.last_seq,
                present: self.last_seq,
            });
        }
        let signed_up_to = self.digests.last().map_or(0, |d| d.digest.last_seq);
        Ok(VerifyReport {
            records: self.last_seq,
            digests: self.digests.len(),
            unsigned_tail: self.last_seq - signed_up_to,
        })
    }
}

/// Checks a whole trail held in memory (see [`ChainVerifier`]).
///
/// # Errors
/// The first [`ChainError`] found.
pub fn verify(
    records: impl IntoIterator<Item = StoredRecord>,
    digests: &[StoredDigest],
    public_key: &[u8],
) -> Result<VerifyReport, ChainError> {
    let mut verifier = ChainVerifier::new(digests, public_key)?;
    for record in records {
        verifier.push(&record)?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> DigestSigner {
        DigestSigner::from_seed(&[7; 32]).unwrap()
    }

    /// A trail of `n` records with a digest after every `every` records.
    fn trail(n: u64, every: u64) -> (Vec<StoredRecord>, Vec<StoredDigest>) {
        let signer = signer();
        let mut records = Vec::new();
        let mut digests: Vec<StoredDigest> = Vec::new();
        let mut hash = GENESIS_HASH;
        let mut first = 1;
        for seq in 1..=n {
            let body = format!("{{\"eventName\":\"Encrypt\",\"n\":{seq}}}").into_bytes();
            hash = record_hash(&hash, seq, &body);
            records.push(StoredRecord { seq, body, hash });
            if seq % every == 0 {
                let previous_digest_hash =
                    digests.last().map(|d| d.digest.link_hash(&d.signature)).unwrap_or_default();
                let digest = Digest {
                    first_seq: first,
                    last_seq: seq,
                    last_record_hash: hex::encode(hash),
                    previous_digest_hash,
                    created_ms: seq as i64,
                };
                let signature = signer.sign(&digest);
                digests.push(StoredDigest { digest, signature });
                first = seq + 1;
            }
        }
        (records, digests)
    }

    fn check(
        records: &[StoredRecord],
        digests: &[StoredDigest],
    ) -> Result<VerifyReport, ChainError> {
        verify(records.iter().cloned(), digests, signer().public_key())
    }

    #[test]
    fn an_untouched_trail_verifies() {
        let (records, digests) = trail(10, 4);
        let report = check(&records, &digests).unwrap();
        assert_eq!(report, VerifyReport { records: 10, digests: 2, unsigned_tail: 2 });
        assert_eq!(check(&[], &[]).unwrap().records, 0);
    }

    #[test]
    fn a_changed_record_is_caught() {
        let (mut records, digests) = trail(10, 4);
        records[5].body[3] ^= 1;
        assert_eq!(check(&records, &digests), Err(ChainError::HashMismatch(6)));
    }

    #[test]
    fn a_changed_record_with_a_rebuilt_chain_is_caught_by_the_digest() {
        let (mut records, digests) = trail(8, 4);
        records[1].body[3] ^= 1;
        let mut hash = GENESIS_HASH;
        for r in &mut records {
            hash = record_hash(&hash, r.seq, &r.body);
            r.hash = hash;
        }
        assert_eq!(check(&records, &digests), Err(ChainError::DigestMismatch(0)));
    }

    #[test]
    fn a_deleted_record_is_caught() {
        let (mut records, digests) = trail(10, 4);
        records.remove(2);
        assert_eq!(check(&records, &digests), Err(ChainError::Gap { previous: 2, found: 4 }));
        let (mut records, digests) = trail(8, 4);
        records.truncate(6);
        assert!(matches!(check(&records, &digests), Err(ChainError::MissingRecords { .. })));
    }

    #[test]
    fn two_swapped_records_are_caught() {
        let (mut records, digests) = trail(10, 4);
        let (a, b) = (records[3].body.clone(), records[4].body.clone());
        records[3].body = b;
        records[4].body = a;
        assert_eq!(check(&records, &digests), Err(ChainError::HashMismatch(4)));
    }

    #[test]
    fn a_forged_or_dropped_digest_is_caught() {
        let (records, mut digests) = trail(12, 4);
        digests[1].digest.created_ms += 1;
        assert_eq!(check(&records, &digests), Err(ChainError::BadSignature(1)));
        let (records, mut digests) = trail(12, 4);
        digests.remove(1);
        assert_eq!(check(&records, &digests), Err(ChainError::DigestOrder(1)));
        let (records, digests) = trail(12, 4);
        let other = DigestSigner::from_seed(&[8; 32]).unwrap();
        assert_eq!(
            verify(records.iter().cloned(), &digests, other.public_key()),
            Err(ChainError::BadSignature(0))
        );
    }
}
