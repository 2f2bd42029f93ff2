//! The item format's cryptography: per-item and per-attribute key derivation, the header
//! commitment, attribute encryption, the canonical hash and the footer's HMAC and
//! signature (spec `structured-encryption/encrypt-path-structure.md`, `header.md`,
//! `footer.md`).
//!
//! Every verification failure is [`ItemError::DecryptionFailed`], whatever the cause.

use aes::cipher::{BlockEncrypt, KeyInit};
use kms_api::hash::{self, HashAlgorithm, Hasher, Hkdf};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::codec::put_u64;
use crate::crypto::ContentKey;
use crate::der;
use crate::item::header::{
    COMMITMENT_LEN_BYTES, MESSAGE_ID_LEN_BYTES, SIGNATURE_LEN_BYTES, TAG_LEN_BYTES,
};
use crate::item::ItemError;
use crate::materials::{SigningKey, VerifyingKey};
use crate::suite::SignatureAlgorithm;
use crate::suite::{IV_LEN_BYTES, TAG_LEN_BYTES as GCM_TAG_LEN_BYTES};

/// HKDF info label of the field root key (spec).
const DERIVE_KEY_LABEL: &[u8] = b"AWS_DBE_DERIVE_KEY";
/// HKDF info label of the commit key (spec).
const COMMIT_KEY_LABEL: &[u8] = b"AWS_DBE_COMMIT_KEY";
/// HKDF info label of the footer's MAC key (ours: the spec takes per-recipient symmetric
/// signing keys from the materials, which this crate's materials do not carry).
const MAC_KEY_LABEL: &[u8] = b"KMSENV_DBE_MAC_KEY";
/// The field key nonce prefix (spec): "AwsDbeField" then the field key length, 44.
const FIELD_NONCE_PREFIX: &[u8; 12] = b"AwsDbeField\x2c";
/// AES-256 key plus GCM nonce.
const FIELD_KEY_LEN_BYTES: usize = 44;
/// Literal of the canonical form of an encrypted attribute.
const ENCRYPTED_LABEL: &[u8] = b"ENCRYPTED";
/// Literal of the canonical form of a plaintext attribute.
const PLAINTEXT_LABEL: &[u8] = b"PLAINTEXT";

/// The per-item keys derived from the data key and the message id.
pub(crate) struct ItemKeys {
    field_root: Zeroizing<[u8; 32]>,
    commit: Zeroizing<[u8; 32]>,
    mac: Zeroizing<[u8; 48]>,
}

impl ItemKeys {
    /// HKDF-SHA512 with no salt, one expansion per key, info = label || message id.
    pub(crate) fn derive(
        data_key: &[u8],
        message_id: &[u8; MESSAGE_ID_LEN_BYTES],
    ) -> Result<Self, ItemError> {
        if data_key.len() != 32 {
            return Err(ItemError::Envelope(crate::Error::InvalidKey(
                "an item data key must be 32 bytes".into(),
            )));
        }
        let hk = Hkdf::extract(HashAlgorithm::Sha512, None, data_key);
        let mut keys = Self {
            field_root: Zeroizing::new([0; 32]),
            commit: Zeroizing::new([0; 32]),
            mac: Zeroizing::new([0; 48]),
        };
        // Invariant: each output is far below HKDF-SHA512's 255 * 64 byte limit.
        let expand = |label: &[u8], out: &mut [u8]| {
            hk.expand(&[label, message_id], out)
                .map_err(|_| ItemError::Envelope(crate::Error::InvalidKey("HKDF length".into())))
        };
        expand(DERIVE_KEY_LABEL, &mut keys.field_root[..])?;
        expand(COMMIT_KEY_LABEL, &mut keys.commit[..])?;
        expand(MAC_KEY_LABEL, &mut keys.mac[..])?;
        Ok(keys)
    }

    /// The header commitment: HMAC-SHA384(commit key, partial header), first 32 bytes.
    pub(crate) fn commitment(&self, partial_header: &[u8]) -> [u8; COMMITMENT_LEN_BYTES] {
        let full = hmac_sha384(&self.commit[..], partial_header);
        let mut out = [0; COMMITMENT_LEN_BYTES];
        out.copy_from_slice(&full[..COMMITMENT_LEN_BYTES]);
        out
    }

    /// Checks a stored commitment in constant time.
    pub(crate) fn verify_commitment(
        &self,
        partial_header: &[u8],
        stored: &[u8; COMMITMENT_LEN_BYTES],
    ) -> Result<(), ItemError> {
        ct_check(&self.commitment(partial_header), stored)
    }

    /// The footer tag: HMAC-SHA384(MAC key, canonical hash).
    pub(crate) fn tag(&self, canonical_hash: &[u8]) -> [u8; TAG_LEN_BYTES] {
        hmac_sha384(&self.mac[..], canonical_hash)
    }

    /// Checks a footer tag in constant time.
    pub(crate) fn verify_tag(
        &self,
        canonical_hash: &[u8],
        stored: &[u8; TAG_LEN_BYTES],
    ) -> Result<(), ItemError> {
        ct_check(&self.tag(canonical_hash), stored)
    }

    /// The key and nonce of the attribute at `offset` (its zero-based position among the
    /// encrypted attributes in canonical-path order): the first 44 bytes of the AES-256-CTR
    /// keystream under the field root key, from the counter block
    /// `"AwsDbeField" || 0x2c || u32(3 * offset)`.
    fn field_key(&self, offset: u32) -> Result<(ContentKey, [u8; IV_LEN_BYTES]), ItemError> {
        let cipher = aes::Aes256::new_from_slice(&self.field_root[..])
            .map_err(|_| ItemError::Envelope(crate::Error::InvalidKey("field root key".into())))?;
        let start = offset
            .checked_mul(3)
            .ok_or(ItemError::InvalidItem("too many encrypted attributes".into()))?;
        let mut stream = Zeroizing::new([0u8; 48]);
        for (i, chunk) in stream.chunks_exact_mut(16).enumerate() {
            let mut block = aes::Block::default();
            block[..12].copy_from_slice(FIELD_NONCE_PREFIX);
            // i < 3, and `start` + 2 cannot overflow: offsets stay far below 2^32 / 3.
            block[12..].copy_from_slice(&start.wrapping_add(i as u32).to_be_bytes());
            cipher.encrypt_block(&mut block);
            chunk.copy_from_slice(&block);
            zeroize::Zeroize::zeroize(block.as_mut_slice());
        }
        let key = ContentKey::new(&stream[..32]).map_err(ItemError::Envelope)?;
        let mut nonce = [0u8; IV_LEN_BYTES];
        nonce.copy_from_slice(&stream[32..FIELD_KEY_LEN_BYTES]);
        Ok((key, nonce))
    }

    /// Encrypts one attribute: returns `type id || ciphertext || tag`, the stored `B` value.
    pub(crate) fn encrypt_attribute(
        &self,
        offset: u32,
        canonical_path: &[u8],
        type_id: u16,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, ItemError> {
        let (key, nonce) = self.field_key(offset)?;
        let mut out = Vec::with_capacity(2 + plaintext.len() + GCM_TAG_LEN_BYTES);
        out.extend_from_slice(&type_id.to_be_bytes());
        out.extend_from_slice(plaintext);
        let tag = key.encrypt_in_place(&nonce, canonical_path, &mut out[2..])?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Decrypts one stored attribute value; returns its type id and plaintext.
    pub(crate) fn decrypt_attribute(
        &self,
        offset: u32,
        canonical_path: &[u8],
        stored: &[u8],
    ) -> Result<(u16, Zeroizing<Vec<u8>>), ItemError> {
        if stored.len() < 2 + GCM_TAG_LEN_BYTES {
            return Err(ItemError::DecryptionFailed);
        }
        let (key, nonce) = self.field_key(offset)?;
        let type_id = u16::from_be_bytes([stored[0], stored[1]]);
        let body_end = stored.len() - GCM_TAG_LEN_BYTES;
        let mut tag = [0u8; GCM_TAG_LEN_BYTES];
        tag.copy_from_slice(&stored[body_end..]);
        let mut plaintext = Zeroizing::new(stored[2..body_end].to_vec());
        key.decrypt_in_place(&nonce, canonical_path, &mut plaintext, &tag)
            .map_err(|_| ItemError::DecryptionFailed)?;
        Ok((type_id, plaintext))
    }
}

/// The canonical path of a top-level attribute: the table name, the depth (1), then `$`,
/// the name's length and the name; numbers are 8-byte big-endian.
pub(crate) fn canonical_path(table_name: &str, attribute: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(table_name.len() + attribute.len() + 17);
    out.extend_from_slice(table_name.as_bytes());
    put_u64(&mut out, 1);
    out.push(b'$');
    put_u64(&mut out, attribute.len() as u64);
    out.extend_from_slice(attribute.as_bytes());
    out
}

/// The canonical record, hashed as it is built: the full header, the length and bytes of
/// the serialised encryption context, then every signed attribute in canonical-path order.
#[derive(Clone)]
pub(crate) struct CanonicalRecord(Hasher);

impl CanonicalRecord {
    pub(crate) fn new(header: &[u8], serialized_context: &[u8]) -> Self {
        let mut hash = Hasher::new(HashAlgorithm::Sha384);
        hash.update(header);
        hash.update(&(serialized_context.len() as u64).to_be_bytes());
        hash.update(serialized_context);
        Self(hash)
    }

    /// Adds an encrypted attribute: path, plaintext length, `ENCRYPTED`, stored value.
    pub(crate) fn add_encrypted(&mut self, path: &[u8], stored: &[u8]) {
        self.0.update(path);
        self.0.update(&(stored.len().saturating_sub(2) as u64).to_be_bytes());
        self.0.update(ENCRYPTED_LABEL);
        self.0.update(stored);
    }

    /// Adds a plaintext attribute: path, value length, `PLAINTEXT`, type id, value.
    pub(crate) fn add_plaintext(&mut self, path: &[u8], type_id: u16, value: &[u8]) {
        self.0.update(path);
        self.0.update(&(value.len() as u64).to_be_bytes());
        self.0.update(PLAINTEXT_LABEL);
        self.0.update(&type_id.to_be_bytes());
        self.0.update(value);
    }

    /// The canonical hash (SHA-384 of the record).
    pub(crate) fn hash(&self) -> [u8; 48] {
        self.0.clone().finalize().to_array()
    }

    /// ECDSA P-384 over the record (through the signature backend); the fixed-length
    /// `r || s` form.
    pub(crate) fn sign(self, key: &SigningKey) -> Result<[u8; SIGNATURE_LEN_BYTES], ItemError> {
        let fail = |what: &str| ItemError::Envelope(crate::Error::InvalidKey(what.into()));
        if key.algorithm() != SignatureAlgorithm::EcdsaP384Sha384 {
            return Err(fail("items are signed with ECDSA P-384"));
        }
        let der = key.sign_prehash(&self.hash()).map_err(ItemError::Envelope)?;
        let r_s = der::parse_ecdsa_signature(&der, SIGNATURE_LEN_BYTES / 2)
            .ok_or_else(|| fail("ECDSA signing failed"))?;
        let mut out = [0u8; SIGNATURE_LEN_BYTES];
        out.copy_from_slice(&r_s);
        Ok(out)
    }

    /// Verifies a fixed-length ECDSA P-384 signature over the record.
    pub(crate) fn verify(
        self,
        key: Option<&VerifyingKey>,
        signature: &[u8; SIGNATURE_LEN_BYTES],
    ) -> Result<(), ItemError> {
        let Some(key) = key.filter(|k| k.algorithm() == SignatureAlgorithm::EcdsaP384Sha384) else {
            return Err(ItemError::DecryptionFailed);
        };
        let der = der::encode_ecdsa_signature(signature);
        match key.verify_prehash(&self.hash(), &der) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ItemError::DecryptionFailed),
            Err(e) => Err(ItemError::Envelope(e)),
        }
    }
}

fn hmac_sha384(key: &[u8], message: &[u8]) -> [u8; 48] {
    hash::hmac(HashAlgorithm::Sha384, key, message).to_array()
}

fn ct_check<const N: usize>(computed: &[u8; N], stored: &[u8; N]) -> Result<(), ItemError> {
    if bool::from(computed.ct_eq(stored)) {
        Ok(())
    } else {
        Err(ItemError::DecryptionFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::BlockDecrypt;
    use hkdf::Hkdf;
    use hmac::{Hmac, Mac};
    use sha2::{Sha384, Sha512};

    #[test]
    fn field_keys_follow_the_spec_counter_layout() {
        let keys = ItemKeys::derive(&[1; 32], &[2; 32]).unwrap();
        // Recompute the keystream block for offset 2, block 1 and check by decrypting it.
        let cipher = aes::Aes256::new_from_slice(&keys.field_root[..]).unwrap();
        let ct = keys.encrypt_attribute(2, b"path", 1, b"hello").unwrap();
        let (id, pt) = keys.decrypt_attribute(2, b"path", &ct).unwrap();
        assert_eq!((id, pt.as_slice()), (1, &b"hello"[..]));
        assert!(keys.decrypt_attribute(1, b"path", &ct).is_err());
        assert!(keys.decrypt_attribute(2, b"other", &ct).is_err());
        let (_, nonce) = keys.field_key(2).unwrap();
        // The nonce is keystream bytes 32..44, the start of the third block (counter 3*2+2).
        let mut counter = aes::Block::default();
        counter[..12].copy_from_slice(FIELD_NONCE_PREFIX);
        counter[12..].copy_from_slice(&8u32.to_be_bytes());
        let mut expected = counter;
        cipher.encrypt_block(&mut expected);
        assert_eq!(&expected[..12], &nonce);
        cipher.decrypt_block(&mut expected);
        assert_eq!(expected, counter);
    }

    /// The commit and field root keys are the spec's HKDF-SHA512 expansions, computed here
    /// independently; the commitment is the first 32 bytes of HMAC-SHA384 under the commit key.
    #[test]
    fn derivations_follow_the_spec_formulas() {
        let (dk, id) = ([0x11u8; 32], [0x22u8; 32]);
        let keys = ItemKeys::derive(&dk, &id).unwrap();
        let hk = Hkdf::<Sha512>::new(None, &dk);
        let mut commit = [0u8; 32];
        hk.expand(&[&b"AWS_DBE_COMMIT_KEY"[..], &id].concat(), &mut commit).unwrap();
        let mut root = [0u8; 32];
        hk.expand(&[&b"AWS_DBE_DERIVE_KEY"[..], &id].concat(), &mut root).unwrap();
        assert_eq!(*keys.commit, commit);
        assert_eq!(*keys.field_root, root);
        let mut mac = <Hmac<Sha384> as Mac>::new_from_slice(&commit).unwrap();
        mac.update(b"partial header");
        let full = mac.finalize().into_bytes();
        assert_eq!(keys.commitment(b"partial header")[..], full[..32]);
        assert!(ItemKeys::derive(&dk[..16], &id).is_err());
    }

    #[test]
    fn canonical_path_layout() {
        let path = canonical_path("t", "ab");
        assert_eq!(path, [b't', 0, 0, 0, 0, 0, 0, 0, 1, b'$', 0, 0, 0, 0, 0, 0, 0, 2, b'a', b'b']);
    }

    #[test]
    fn commitment_and_tag_reject_changes() {
        let keys = ItemKeys::derive(&[3; 32], &[4; 32]).unwrap();
        let c = keys.commitment(b"header");
        keys.verify_commitment(b"header", &c).unwrap();
        assert!(keys.verify_commitment(b"headeR", &c).is_err());
        let other = ItemKeys::derive(&[3; 32], &[5; 32]).unwrap();
        assert!(other.verify_commitment(b"header", &c).is_err());
        let t = keys.tag(b"hash");
        keys.verify_tag(b"hash", &t).unwrap();
        assert!(keys.verify_tag(b"hasH", &t).is_err());
    }
}
