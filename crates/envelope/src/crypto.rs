//! The cryptography of the message format: key derivation (spec
//! `client-apis/key-derivation.md`), key commitment, AES-GCM with detached tags, and
//! the incremental ECDSA footer signature.
//!
//! Every failure while decrypting or verifying is [`Error::DecryptionFailed`], whatever
//! the cause. Derived key bytes live in [`Zeroizing`] buffers and the AES key
//! schedules are zeroized on drop (the `zeroize` features of `aes` and `aes-gcm`).

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{AesGcm, Nonce, Tag};
use kms_api::hash::{HashAlgorithm, Hasher, Hkdf};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::materials::{SigningKey, VerifyingKey};
use crate::suite::{
    AlgorithmSuite, Kdf, SignatureAlgorithm, COMMITMENT_LEN_BYTES, IV_LEN_BYTES, TAG_LEN_BYTES,
};

/// HKDF info suffix for the encryption key of committing suites.
const DERIVE_KEY_LABEL: &[u8] = b"DERIVEKEY";
/// HKDF info for the commit key of committing suites.
const COMMIT_KEY_LABEL: &[u8] = b"COMMITKEY";

mod any_aes;
#[cfg(test)]
mod gcm_tests;

use any_aes::AnyAes;

/// An AES-GCM key of 128, 192 or 256 bits: one AES-GCM over [`AnyAes`], so the GCM code
/// exists once whatever the key size.
pub(crate) struct ContentKey(Box<AesGcm<AnyAes, U12>>);

impl std::fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentKey(<redacted>)")
    }
}

impl ContentKey {
    /// A key from raw bytes (16, 24 or 32 of them).
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        match AnyAes::new(key) {
            Some(aes) => Ok(ContentKey(Box::new(AesGcm::from(aes)))),
            None => Err(Error::InvalidKey(format!("AES key of {} bytes", key.len()))),
        }
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn encrypt_in_place(
        &self,
        iv: &[u8; IV_LEN_BYTES],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN_BYTES], Error> {
        let nonce = Nonce::from_slice(iv);
        let tag = self
            .0
            .encrypt_in_place_detached(nonce, aad, buf)
            .map_err(|_| Error::ApiMisuse("AES-GCM input too long".into()))?;
        Ok(tag.into())
    }

    /// Checks `tag` and only then decrypts `buf` in place. On failure `buf` is left
    /// as it was (still ciphertext).
    pub(crate) fn decrypt_in_place(
        &self,
        iv: &[u8; IV_LEN_BYTES],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN_BYTES],
    ) -> Result<(), Error> {
        let nonce = Nonce::from_slice(iv);
        let tag = Tag::from_slice(tag);
        self.0.decrypt_in_place_detached(nonce, aad, buf, tag).map_err(|_| Error::DecryptionFailed)
    }

    /// The header authentication tag: AES-GCM over an empty plaintext.
    pub(crate) fn header_tag(
        &self,
        iv: &[u8; IV_LEN_BYTES],
        aad: &[u8],
    ) -> Result<[u8; TAG_LEN_BYTES], Error> {
        self.encrypt_in_place(iv, aad, &mut [])
    }

    /// Verifies a header authentication tag.
    pub(crate) fn verify_header_tag(
        &self,
        iv: &[u8; IV_LEN_BYTES],
        aad: &[u8],
        tag: &[u8; TAG_LEN_BYTES],
    ) -> Result<(), Error> {
        self.decrypt_in_place(iv, aad, &mut [], tag)
    }
}

/// The bytes of a message's derived content key, for an AES-GCM outside this crate (for
/// example WebCrypto, see [`crate::stream::external`]). Zeroized on drop; no `Clone`,
/// a redacted `Debug`, readable only through [`ContentKeyBytes::expose_secret`].
pub struct ContentKeyBytes(Zeroizing<Vec<u8>>);

impl ContentKeyBytes {
    /// The raw key: 16, 24 or 32 bytes. Copies of it are the caller's to zeroize.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ContentKeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContentKeyBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// What key derivation produces for one message.
pub(crate) struct DerivedKeys {
    /// The key that encrypts the header tag and the body.
    pub(crate) content: ContentKey,
    /// The same key as bytes, for an external AES-GCM.
    pub(crate) content_bytes: ContentKeyBytes,
    /// The commit key (committing suites only).
    pub(crate) commitment: Option<Zeroizing<[u8; COMMITMENT_LEN_BYTES]>>,
}

/// Derives the message's encryption key (and commit key) from the data key.
///
/// - Identity KDF: the data key itself.
/// - Non-committing HKDF suites: salt of zeros (HKDF's default), info = suite id
///   (2 bytes, big-endian) followed by the message id.
/// - Committing suites: salt = the 32-byte message id; one extract, then expand with
///   info = suite id followed by `DERIVEKEY` for the encryption key, and with info =
///   `COMMITKEY` for the 32-byte commit key.
pub(crate) fn derive_keys(
    suite: &AlgorithmSuite,
    data_key: &[u8],
    message_id: &[u8],
) -> Result<DerivedKeys, Error> {
    if data_key.len() != suite.data_key_len() {
        return Err(Error::InvalidKey("data key length does not match the suite".into()));
    }
    let id = suite.id.to_be_bytes();
    let key_len = suite.encryption_key_len;
    let mut okm = Zeroizing::new([0u8; 32]);
    let mut commit = Zeroizing::new([0u8; COMMITMENT_LEN_BYTES]);
    let bad_len = |_| Error::InvalidKey("HKDF output length".into());
    let hash = match suite.kdf {
        Kdf::Identity => None,
        Kdf::HkdfSha256 => Some(HashAlgorithm::Sha256),
        Kdf::HkdfSha384 => Some(HashAlgorithm::Sha384),
        Kdf::HkdfSha512 => Some(HashAlgorithm::Sha512),
    };
    match hash {
        None => okm[..key_len].copy_from_slice(data_key),
        Some(hash) if suite.committing => {
            let hk = Hkdf::extract(hash, Some(message_id), data_key);
            hk.expand(&[&id, DERIVE_KEY_LABEL], &mut okm[..key_len]).map_err(bad_len)?;
            hk.expand(&[COMMIT_KEY_LABEL], &mut commit[..]).map_err(bad_len)?;
        }
        Some(hash) => {
            let hk = Hkdf::extract(hash, None, data_key);
            hk.expand(&[&id, message_id], &mut okm[..key_len]).map_err(bad_len)?;
        }
    }
    Ok(DerivedKeys {
        content: ContentKey::new(&okm[..key_len])?,
        content_bytes: ContentKeyBytes(Zeroizing::new(okm[..key_len].to_vec())),
        commitment: suite.committing.then_some(commit),
    })
}

/// Compares a derived commit key with the header's, in constant time.
pub(crate) fn verify_commitment(
    derived: &[u8; COMMITMENT_LEN_BYTES],
    stored: &[u8; COMMITMENT_LEN_BYTES],
) -> Result<(), Error> {
    if bool::from(derived.ct_eq(stored)) {
        Ok(())
    } else {
        Err(Error::DecryptionFailed)
    }
}

/// The running hash of a message's header and body, fed as bytes go by, then signed
/// or verified; memory stays constant whatever the message length.
#[derive(Clone)]
pub(crate) struct SignatureHasher {
    algorithm: SignatureAlgorithm,
    hasher: Hasher,
}

impl std::fmt::Debug for SignatureHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => "SignatureHasher::P256",
            SignatureAlgorithm::EcdsaP384Sha384 => "SignatureHasher::P384",
        })
    }
}

impl SignatureHasher {
    pub(crate) fn new(algorithm: SignatureAlgorithm) -> Self {
        let hash = match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => HashAlgorithm::Sha256,
            SignatureAlgorithm::EcdsaP384Sha384 => HashAlgorithm::Sha384,
        };
        SignatureHasher { algorithm, hasher: Hasher::new(hash) }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    /// The algorithm this hash is for.
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The finalized hash.
    fn finish(self) -> Vec<u8> {
        self.hasher.finalize().as_bytes().to_vec()
    }

    /// Signs the hashed bytes with the signature backend's key; returns the DER-encoded
    /// signature.
    pub(crate) fn sign(self, key: &SigningKey) -> Result<Vec<u8>, Error> {
        if key.algorithm() != self.algorithm() {
            return Err(Error::InvalidKey("the signing key does not match the suite".into()));
        }
        key.sign_prehash(&self.finish())
    }

    /// Verifies a DER-encoded signature over the hashed bytes.
    pub(crate) fn verify(self, key: &VerifyingKey, signature: &[u8]) -> Result<(), Error> {
        let ok =
            key.algorithm() == self.algorithm() && key.verify_prehash(&self.finish(), signature)?;
        if ok {
            Ok(())
        } else {
            Err(Error::DecryptionFailed)
        }
    }
}

/// Appends `bytes` to `buffer`, which holds secret bytes (plaintext, keys). When `buffer`
/// must grow, its content moves to a new allocation and the old one is wiped before it is
/// freed: `Vec`'s own growth hands the old block back to the allocator unwiped, and an
/// allocator that moves a block to grow it (kms-wasm's TLSF does, every time) would keep a
/// copy of every earlier size in freed memory. Grows to at least twice the capacity.
pub fn extend_secret(buffer: &mut Vec<u8>, bytes: &[u8]) {
    let needed = buffer.len().saturating_add(bytes.len());
    if needed > buffer.capacity() {
        let mut grown = Vec::with_capacity(needed.max(buffer.capacity().saturating_mul(2)));
        grown.extend_from_slice(buffer);
        let mut old = std::mem::replace(buffer, grown);
        wipe_vec(&mut old);
    }
    buffer.extend_from_slice(bytes);
}

/// Wipes `bytes`, its spare capacity too (which may hold bytes of an earlier, longer
/// content), and empties it. A slice is wiped several bytes per volatile store, where
/// `Zeroize` on a `Vec` stores one byte at a time.
pub fn wipe_vec(bytes: &mut Vec<u8>) {
    bytes.resize(bytes.capacity(), 0);
    zeroize::Zeroize::zeroize(bytes.as_mut_slice());
    bytes.clear();
}

/// Fills `buf` from the operating system's generator: getrandom natively, and in wasm
/// `globalThis.crypto.getRandomValues` (browsers and Node 20+).
///
/// Natively this calls getrandom, as rand_core's `OsRng` does, but without `OsRng`'s error
/// type, which boxes the cause as a `dyn Error` and so keeps its formatting code in the wasm
/// client. In wasm one direct import replaces getrandom's detection of the JS environment
/// (its `process`/`require`/`msCrypto` imports and their glue).
///
/// # Errors
/// [`Error::Random`] if the generator fails; in wasm also when `globalThis.crypto` is missing
/// (the buffer is then never used as if it were random).
pub fn fill_random(buf: &mut [u8]) -> Result<(), Error> {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        for chunk in buf.chunks_mut(web_random::MAX_CALL_BYTES) {
            web_random::get_random_values(chunk).map_err(|_| Error::Random)?;
        }
        Ok(())
    }
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    {
        getrandom::getrandom(buf).map_err(|_| Error::Random)
    }
}

/// The Web Crypto generator, imported straight from the global object (wasm32 in a JS host:
/// `unknown` OS; WASI keeps getrandom).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod web_random {
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    /// `getRandomValues` refuses views longer than this (a `QuotaExceededError`).
    pub(super) const MAX_CALL_BYTES: usize = 65_536;

    #[wasm_bindgen]
    extern "C" {
        /// Fills the view of wasm memory in place; throws (caught as `Err`) when
        /// `globalThis.crypto` is missing or refuses the call.
        #[wasm_bindgen(catch, js_namespace = ["globalThis", "crypto"], js_name = getRandomValues)]
        pub(super) fn get_random_values(buf: &mut [u8]) -> Result<(), JsValue>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{
        AES_128_GCM_IV12_TAG16_NO_KDF, AES_192_GCM_IV12_TAG16_HKDF_SHA256,
        AES_256_GCM_HKDF_SHA512_COMMIT_KEY, ALL_SUITES,
    };
    use hkdf::Hkdf;
    use sha2::{Sha256, Sha512};

    #[test]
    fn extend_secret_appends_and_grows_at_least_twofold() {
        let mut buffer = Vec::new();
        let mut expected = Vec::new();
        for round in 0..40u8 {
            let piece = vec![round; usize::from(round) * 7 + 1];
            let capacity = buffer.capacity();
            extend_secret(&mut buffer, &piece);
            expected.extend_from_slice(&piece);
            assert_eq!(buffer, expected);
            if buffer.capacity() != capacity {
                assert!(buffer.capacity() >= 2 * capacity, "{capacity} -> {}", buffer.capacity());
            }
        }
        wipe_vec(&mut buffer);
        assert!(buffer.is_empty());
        assert!(buffer.capacity() >= expected.len());
    }
    #[test]
    fn fill_random_fills_the_whole_buffer_afresh() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        fill_random(&mut a).unwrap();
        fill_random(&mut b).unwrap();
        assert_ne!(a, [0; 32]);
        assert_ne!(a, b);
        fill_random(&mut []).unwrap();
    }

    fn tag_of(keys: &DerivedKeys) -> [u8; 16] {
        keys.content.header_tag(&[0; 12], b"aad").unwrap()
    }

    /// The derivations must match an independent computation of the spec's formulas.
    #[test]
    fn key_derivation_follows_the_spec_formulas() {
        let dk = [0x11u8; 32];
        let id = [0x22u8; 32];
        // Committing: PRK = HMAC-SHA512(salt = message id, dk); T1 = HMAC(PRK, info || 1).
        let keys = derive_keys(&AES_256_GCM_HKDF_SHA512_COMMIT_KEY, &dk, &id).unwrap();
        let hk = Hkdf::<Sha512>::new(Some(&id), &dk);
        let mut enc = [0u8; 32];
        hk.expand(b"\x04\x78DERIVEKEY", &mut enc).unwrap();
        let mut commit = [0u8; 32];
        hk.expand(b"COMMITKEY", &mut commit).unwrap();
        assert_eq!(keys.commitment.as_deref(), Some(&commit));
        assert_eq!(
            tag_of(&keys),
            ContentKey::new(&enc).unwrap().header_tag(&[0; 12], b"aad").unwrap()
        );

        // Non-committing: salt None, info = suite id || message id.
        let id16 = [0x33u8; 16];
        let keys = derive_keys(&AES_192_GCM_IV12_TAG16_HKDF_SHA256, &dk[..24], &id16).unwrap();
        let mut info = vec![0x01, 0x46];
        info.extend_from_slice(&id16);
        let mut enc = [0u8; 24];
        Hkdf::<Sha256>::new(Some(&[0u8; 32]), &dk[..24]).expand(&info, &mut enc).unwrap();
        assert!(keys.commitment.is_none());
        assert_eq!(
            tag_of(&keys),
            ContentKey::new(&enc).unwrap().header_tag(&[0; 12], b"aad").unwrap()
        );

        // Identity.
        let keys = derive_keys(&AES_128_GCM_IV12_TAG16_NO_KDF, &dk[..16], &id16).unwrap();
        assert_eq!(
            tag_of(&keys),
            ContentKey::new(&dk[..16]).unwrap().header_tag(&[0; 12], b"aad").unwrap()
        );
        assert!(derive_keys(&AES_128_GCM_IV12_TAG16_NO_KDF, &dk, &id16).is_err());
    }

    #[test]
    fn every_suite_derives_a_working_key() {
        for suite in ALL_SUITES {
            let dk = vec![7u8; suite.data_key_len()];
            let id = vec![1u8; suite.message_id_len()];
            let keys = derive_keys(suite, &dk, &id).unwrap();
            let mut buf = *b"hello world";
            let tag = keys.content.encrypt_in_place(&[0; 12], b"a", &mut buf).unwrap();
            assert_ne!(&buf, b"hello world");
            keys.content.decrypt_in_place(&[0; 12], b"a", &mut buf, &tag).unwrap();
            assert_eq!(&buf, b"hello world");
            assert_eq!(keys.commitment.is_some(), suite.committing);
        }
    }

    #[test]
    fn failed_decryption_leaves_the_ciphertext() {
        let key = ContentKey::new(&[1; 32]).unwrap();
        let mut buf = *b"secret";
        let mut tag = key.encrypt_in_place(&[0; 12], b"", &mut buf).unwrap();
        let ct = buf;
        tag[0] ^= 1;
        assert!(matches!(
            key.decrypt_in_place(&[0; 12], b"", &mut buf, &tag),
            Err(Error::DecryptionFailed)
        ));
        assert_eq!(buf, ct);
    }

    #[test]
    fn commitment_comparison() {
        assert!(verify_commitment(&[1; 32], &[1; 32]).is_ok());
        let mut other = [1; 32];
        other[31] = 0;
        assert!(matches!(verify_commitment(&[1; 32], &other), Err(Error::DecryptionFailed)));
    }

    #[test]
    fn signatures_verify_and_reject_changes() {
        let sk = SigningKey::generate(SignatureAlgorithm::EcdsaP384Sha384).unwrap();
        let vk = sk.verifying_key();
        let mut h = SignatureHasher::new(SignatureAlgorithm::EcdsaP384Sha384);
        h.update(b"header");
        h.update(b"body");
        let sig = h.clone().sign(&sk).unwrap();
        let p256 = SigningKey::generate(SignatureAlgorithm::EcdsaP256Sha256).unwrap();
        assert!(h.clone().sign(&p256).is_err());
        assert!(h.clone().verify(&p256.verifying_key(), &sig).is_err());
        assert_eq!(sig[0], 0x30);
        h.clone().verify(&vk, &sig).unwrap();
        let mut other = h.clone();
        other.update(b"!");
        assert!(other.verify(&vk, &sig).is_err());
        let mut bad = sig.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(h.clone().verify(&vk, &bad).is_err());
        assert!(h.verify(&vk, &sig[..sig.len() - 1]).is_err());
    }
}
