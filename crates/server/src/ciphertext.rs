//! The KMS ciphertext blob: a versioned, self-describing binary format.
//!
//! ```text
//! offset  size  field
//!      0     1  format version (0x01)
//!      1     1  key id kind (0x00 = UUID key id, 0x01 = multi-Region `mrk-` key id)
//!      2    16  key id (UUID bytes, or the 16 bytes the 32 hex digits after `mrk-` spell)
//!     18     8  owning account id, big-endian integer
//!     26     4  key material version, big-endian
//!     30    12  AES-GCM IV (random)
//!     42     n  AES-256-GCM ciphertext
//!   42+n    16  AES-GCM tag
//! ```
//!
//! The additional authenticated data is the 42-byte header followed by the canonical
//! encryption context, so neither can be changed without failing authentication.
//!
//! Neither the header nor the AAD names a Region: a blob made under one key of a
//! multi-Region set opens under any other, since they share key id and material versions.

use std::collections::BTreeMap;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, NONCE_LEN};
use aws_lc_rs::rand;
use zeroize::Zeroizing;

/// The only format version written.
pub const FORMAT_V1: u8 = 0x01;
/// Key id kind: a UUID key id.
pub const KEY_ID_KIND_UUID: u8 = 0x00;
/// Key id kind: a multi-Region key id, `mrk-` + 32 lowercase hex digits.
pub const KEY_ID_KIND_MRK: u8 = 0x01;
/// The prefix of multi-Region key ids.
const MRK_PREFIX: &str = "mrk-";
/// Header length in bytes.
pub const HEADER_LEN_BYTES: usize = 42;
/// AES-GCM tag length in bytes.
pub const TAG_LEN_BYTES: usize = 16;
/// The shortest valid blob (one byte of plaintext).
pub const MIN_BLOB_LEN_BYTES: usize = HEADER_LEN_BYTES + 1 + TAG_LEN_BYTES;

/// Why a blob could not be used. Callers report all of these as `InvalidCiphertextException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// Too short, unknown version or kind, or a malformed field.
    #[error("malformed ciphertext blob")]
    Malformed,
    /// Authentication failed: wrong key, wrong context, or tampering.
    #[error("ciphertext failed to authenticate")]
    Authentication,
    /// The cipher or random generator failed.
    #[error("cryptographic failure")]
    Crypto,
}

/// The parsed header of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    /// The key id: a lowercase hyphenated UUID, or `mrk-` + 32 lowercase hex digits.
    pub key_id: String,
    /// The owning account, 12 digits.
    pub account: String,
    /// The key material version.
    pub material_version: u32,
    /// The IV.
    pub iv: [u8; NONCE_LEN],
}

impl BlobHeader {
    /// Serialises the header.
    ///
    /// # Errors
    /// [`BlobError::Malformed`] if the key id is neither a UUID nor a multi-Region key id,
    /// or the account is not 12 digits.
    pub fn encode(&self) -> Result<[u8; HEADER_LEN_BYTES], BlobError> {
        let (kind, id) = encode_key_id(&self.key_id).ok_or(BlobError::Malformed)?;
        let account: u64 = parse_account(&self.account).ok_or(BlobError::Malformed)?;
        let mut out = [0u8; HEADER_LEN_BYTES];
        out[0] = FORMAT_V1;
        out[1] = kind;
        out[2..18].copy_from_slice(&id);
        out[18..26].copy_from_slice(&account.to_be_bytes());
        out[26..30].copy_from_slice(&self.material_version.to_be_bytes());
        out[30..42].copy_from_slice(&self.iv);
        Ok(out)
    }

    /// Parses a header from the start of a blob.
    ///
    /// # Errors
    /// [`BlobError::Malformed`] if the bytes are not a version-1 header.
    pub fn decode(bytes: &[u8]) -> Result<Self, BlobError> {
        let header: &[u8; HEADER_LEN_BYTES] = bytes
            .get(..HEADER_LEN_BYTES)
            .and_then(|h| h.try_into().ok())
            .ok_or(BlobError::Malformed)?;
        if header[0] != FORMAT_V1 {
            return Err(BlobError::Malformed);
        }
        let id_bytes: [u8; 16] = take(header, 2);
        let key_id = match header[1] {
            KEY_ID_KIND_UUID => uuid::Uuid::from_bytes(id_bytes).hyphenated().to_string(),
            KEY_ID_KIND_MRK => format!("{MRK_PREFIX}{}", hex::encode(id_bytes)),
            _ => return Err(BlobError::Malformed),
        };
        let account = u64::from_be_bytes(take(header, 18));
        if account > 999_999_999_999 {
            return Err(BlobError::Malformed);
        }
        Ok(Self {
            key_id,
            account: format!("{account:012}"),
            material_version: u32::from_be_bytes(take(header, 26)),
            iv: take(header, 30),
        })
    }
}

/// The kind byte and 16 id bytes of a key id, or `None` if it is neither a lowercase
/// hyphenated UUID nor `mrk-` + 32 lowercase hex digits.
fn encode_key_id(key_id: &str) -> Option<(u8, [u8; 16])> {
    let mut bytes = [0u8; 16];
    if let Some(digits) = key_id.strip_prefix(MRK_PREFIX) {
        let lowercase = digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !lowercase {
            return None;
        }
        hex::decode_to_slice(digits, &mut bytes).ok()?;
        return Some((KEY_ID_KIND_MRK, bytes));
    }
    let id = uuid::Uuid::parse_str(key_id).ok()?;
    // Only the canonical spelling, so the id read back from a blob is the one written.
    (id.hyphenated().to_string() == key_id).then(|| (KEY_ID_KIND_UUID, *id.as_bytes()))
}

fn take<const N: usize>(header: &[u8; HEADER_LEN_BYTES], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&header[at..at + N]);
    out
}

fn parse_account(account: &str) -> Option<u64> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        account.parse().ok()
    } else {
        None
    }
}

/// The canonical serialisation of an encryption context: the pair count, then each pair
/// sorted by the UTF-8 bytes of its key, every field length-prefixed (u32, big-endian).
pub fn canonical_context(context: &BTreeMap<String, String>) -> Vec<u8> {
    // `BTreeMap<String, _>` iterates in byte order of the keys, which is UTF-8 byte order.
    let mut out = Vec::with_capacity(4 + context.len() * 16);
    out.extend_from_slice(&len_u32(context.len()));
    for (k, v) in context {
        out.extend_from_slice(&len_u32(k.len()));
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&len_u32(v.len()));
        out.extend_from_slice(v.as_bytes());
    }
    out
}

fn len_u32(len: usize) -> [u8; 4] {
    // Request bodies are capped far below 4 GiB, so lengths always fit.
    u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes()
}

/// Encrypts `plaintext` under one key material version.
///
/// # Errors
/// [`BlobError`] if the header fields are invalid or the cipher fails.
pub fn seal(
    key: &LessSafeKey,
    key_id: &str,
    account: &str,
    material_version: u32,
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> Result<Vec<u8>, BlobError> {
    let mut iv = [0u8; NONCE_LEN];
    rand::fill(&mut iv).map_err(|_| BlobError::Crypto)?;
    let header =
        BlobHeader { key_id: key_id.to_owned(), account: account.to_owned(), material_version, iv }
            .encode()?;
    let mut aad = header.to_vec();
    aad.extend_from_slice(&canonical_context(context));
    let mut out = Vec::with_capacity(HEADER_LEN_BYTES + plaintext.len() + TAG_LEN_BYTES);
    out.extend_from_slice(&header);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(aad),
            &mut out[HEADER_LEN_BYTES..],
        )
        .map_err(|_| BlobError::Crypto)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Decrypts a blob whose header was already parsed and whose key material was found.
/// The plaintext is released only after the tag verifies.
///
/// # Errors
/// [`BlobError::Authentication`] for a wrong key, wrong context or any tampering.
pub fn open(
    key: &LessSafeKey,
    blob: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Zeroizing<Vec<u8>>, BlobError> {
    let header = BlobHeader::decode(blob)?;
    if blob.len() < MIN_BLOB_LEN_BYTES {
        return Err(BlobError::Malformed);
    }
    let mut aad = blob[..HEADER_LEN_BYTES].to_vec();
    aad.extend_from_slice(&canonical_context(context));
    let mut buf = Zeroizing::new(blob[HEADER_LEN_BYTES..].to_vec());
    let len = key
        .open_in_place(Nonce::assume_unique_for_key(header.iv), Aad::from(aad), buf.as_mut_slice())
        .map_err(|_| BlobError::Authentication)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

/// Fuzzing and property-test entry points.
#[doc(hidden)]
pub mod fuzzing {
    /// Parses arbitrary bytes as a blob header; must never panic.
    pub fn parse_header(data: &[u8]) -> bool {
        super::BlobHeader::decode(data).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::aead::{UnboundKey, AES_256_GCM};
    use proptest::prelude::*;

    use super::*;

    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const ACCOUNT: &str = "111122223333";

    fn aes(byte: u8) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[byte; 32]).unwrap())
    }

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn round_trip_with_context() {
        let c = ctx(&[("purpose", "test"), ("a", "b")]);
        let blob = seal(&aes(1), KEY_ID, ACCOUNT, 3, &c, b"secret").unwrap();
        assert_eq!(blob.len(), HEADER_LEN_BYTES + 6 + TAG_LEN_BYTES);
        let header = BlobHeader::decode(&blob).unwrap();
        assert_eq!(header.key_id, KEY_ID);
        assert_eq!(header.account, ACCOUNT);
        assert_eq!(header.material_version, 3);
        assert_eq!(open(&aes(1), &blob, &c).unwrap().as_slice(), b"secret");
    }

    #[test]
    fn wrong_context_wrong_key_and_tampering_fail() {
        let c = ctx(&[("k", "v")]);
        let blob = seal(&aes(1), KEY_ID, ACCOUNT, 1, &c, b"secret").unwrap();
        assert_eq!(open(&aes(1), &blob, &ctx(&[])), Err(BlobError::Authentication));
        assert_eq!(open(&aes(1), &blob, &ctx(&[("k", "V")])), Err(BlobError::Authentication));
        assert_eq!(open(&aes(2), &blob, &c), Err(BlobError::Authentication));
        let mut changed_version = blob.clone();
        changed_version[29] ^= 1;
        assert_eq!(open(&aes(1), &changed_version, &c), Err(BlobError::Authentication));
        assert_eq!(open(&aes(1), &blob[..blob.len() - 1], &c), Err(BlobError::Authentication));
        assert_eq!(
            open(&aes(1), &blob[..HEADER_LEN_BYTES + TAG_LEN_BYTES], &c),
            Err(BlobError::Malformed)
        );
    }

    #[test]
    fn unknown_version_and_kind_are_malformed() {
        let blob = seal(&aes(1), KEY_ID, ACCOUNT, 1, &ctx(&[]), b"x").unwrap();
        let mut v2 = blob.clone();
        v2[0] = 2;
        assert_eq!(BlobHeader::decode(&v2), Err(BlobError::Malformed));
        let mut kind = blob;
        kind[1] = 9;
        assert_eq!(BlobHeader::decode(&kind), Err(BlobError::Malformed));
        assert_eq!(BlobHeader::decode(&[]), Err(BlobError::Malformed));
    }

    #[test]
    fn multi_region_key_ids_use_their_own_kind_byte() {
        let mrk = "mrk-1234abcd12ab34cd56ef1234567890ab";
        let blob = seal(&aes(1), mrk, ACCOUNT, 2, &ctx(&[]), b"x").unwrap();
        assert_eq!(blob[1], KEY_ID_KIND_MRK);
        assert_eq!(BlobHeader::decode(&blob).unwrap().key_id, mrk);
        assert_eq!(open(&aes(1), &blob, &ctx(&[])).unwrap().as_slice(), b"x");
        // The kind byte is authenticated: a UUID key of the same 16 bytes is another key.
        let mut as_uuid = blob.clone();
        as_uuid[1] = KEY_ID_KIND_UUID;
        assert_eq!(open(&aes(1), &as_uuid, &ctx(&[])), Err(BlobError::Authentication));
        for bad in [
            "mrk-1234ABCD12ab34cd56ef1234567890ab",
            "mrk-1234",
            "1234ABCD-12ab-34cd-56ef-1234567890ab",
        ] {
            let header = BlobHeader {
                key_id: bad.into(),
                account: ACCOUNT.into(),
                material_version: 1,
                iv: [0; 12],
            };
            assert_eq!(header.encode(), Err(BlobError::Malformed), "{bad}");
        }
    }

    #[test]
    fn canonical_context_is_length_prefixed_and_sorted() {
        let c = ctx(&[("b", "2"), ("a", "1")]);
        assert_eq!(
            canonical_context(&c),
            [
                &[0, 0, 0, 2][..],
                &[0, 0, 0, 1],
                b"a",
                &[0, 0, 0, 1],
                b"1",
                &[0, 0, 0, 1],
                b"b",
                &[0, 0, 0, 1],
                b"2"
            ]
            .concat()
        );
    }

    proptest! {
        #[test]
        fn header_round_trips(id in any::<[u8; 16]>(), account in 0u64..=999_999_999_999, version: u32, iv: [u8; 12]) {
            let header = BlobHeader {
                key_id: uuid::Uuid::from_bytes(id).hyphenated().to_string(),
                account: format!("{account:012}"),
                material_version: version,
                iv,
            };
            let encoded = header.encode().unwrap();
            prop_assert_eq!(BlobHeader::decode(&encoded).unwrap(), header);
        }

        #[test]
        fn mrk_header_round_trips(id in any::<[u8; 16]>(), version: u32) {
            let header = BlobHeader {
                key_id: format!("mrk-{}", hex::encode(id)),
                account: ACCOUNT.to_owned(),
                material_version: version,
                iv: [7; 12],
            };
            let encoded = header.encode().unwrap();
            prop_assert_eq!(BlobHeader::decode(&encoded).unwrap(), header);
        }

        #[test]
        fn parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = fuzzing::parse_header(&data);
            let _ = open(&aes(1), &data, &BTreeMap::new());
        }

        #[test]
        fn any_flipped_bit_fails(plaintext in proptest::collection::vec(any::<u8>(), 1..64), bit in 0usize..1024) {
            let blob = seal(&aes(1), KEY_ID, ACCOUNT, 1, &BTreeMap::new(), &plaintext).unwrap();
            let bit = bit % (blob.len() * 8);
            let mut tampered = blob.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(open(&aes(1), &tampered, &BTreeMap::new()).is_err());
        }

        #[test]
        fn canonical_context_is_injective(
            a in proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..4),
            b in proptest::collection::btree_map(".{0,6}", ".{0,6}", 0..4),
        ) {
            prop_assert_eq!(a == b, canonical_context(&a) == canonical_context(&b));
        }

        #[test]
        fn canonical_context_ignores_insertion_order(pairs in proptest::collection::vec((".{0,6}", ".{0,6}"), 0..5)) {
            let forward: BTreeMap<String, String> = pairs.iter().cloned().collect();
            let mut dedup = std::collections::HashMap::new();
            for (k, v) in &pairs { dedup.insert(k.clone(), v.clone()); }
            let backward: BTreeMap<String, String> = dedup.into_iter().collect();
            prop_assert_eq!(canonical_context(&forward), canonical_context(&backward));
        }
    }
}
