//! `ED25519_PH_SHA_512`: Ed25519ph (HashEdDSA, RFC 8032 §5.1) over a SHA-512 digest, with
//! an empty context.
//!
//! **The one exception to "server-side crypto uses aws-lc-rs".** aws-lc-rs's safe API
//! offers pure Ed25519 only, its Ed25519ph functions are reachable only through `unsafe`
//! FFI (forbidden in this workspace), so this algorithm alone uses the `ed25519-dalek`
//! crate. The key is the same KMS key: its 32-byte seed, read from the PKCS #8 that
//! aws-lc-rs parsed, builds an `ed25519-dalek` signing key for the one signature and is
//! zeroized with it. Verification reads the 32-byte point from the key's DER
//! `SubjectPublicKeyInfo` and uses the strict check (no small-order keys or malleable
//! signatures).
//!
//! KMS takes `ED25519_PH_SHA_512` with `MessageType` `DIGEST` only: the message is the
//! 64-byte SHA-512 digest of the data, which is exactly Ed25519ph's `PH(M)`.

use digest::consts::U64;
use digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use super::CryptoError;

/// Length of the SHA-512 digest Ed25519ph signs.
pub const DIGEST_LEN_BYTES: usize = 64;

/// The DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410): the 32-byte point follows.
const SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// A "hash" whose output is the SHA-512 digest it was given, so `ed25519-dalek`'s
/// prehashed API can take a digest computed elsewhere (by the KMS caller).
#[derive(Clone, Default)]
struct GivenSha512 {
    digest: Vec<u8>,
}

impl HashMarker for GivenSha512 {}

impl OutputSizeUser for GivenSha512 {
    type OutputSize = U64;
}

impl Update for GivenSha512 {
    fn update(&mut self, data: &[u8]) {
        self.digest.extend_from_slice(data);
    }
}

impl FixedOutput for GivenSha512 {
    fn finalize_into(self, out: &mut Output<Self>) {
        // Callers feed exactly 64 bytes (checked in `given`); anything else cannot happen.
        let len = self.digest.len().min(DIGEST_LEN_BYTES);
        out[..len].copy_from_slice(&self.digest[..len]);
    }
}

fn given(digest: &[u8]) -> Result<GivenSha512, CryptoError> {
    if digest.len() != DIGEST_LEN_BYTES {
        return Err(CryptoError::Invalid);
    }
    let mut hash = GivenSha512::default();
    hash.update(digest);
    Ok(hash)
}

/// Signs a 64-byte SHA-512 digest with Ed25519ph under the key with this 32-byte seed.
///
/// # Errors
/// [`CryptoError::Invalid`] for a wrong-length seed or digest; [`CryptoError::Internal`]
/// if signing fails.
pub fn sign(seed: &[u8], digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let seed: Zeroizing<[u8; 32]> =
        Zeroizing::new(seed.try_into().map_err(|_| CryptoError::Invalid)?);
    // `SigningKey` zeroizes its secret when dropped (the `zeroize` feature).
    let key = SigningKey::from_bytes(&seed);
    let signature = key.sign_prehashed(given(digest)?, None).map_err(|_| CryptoError::Internal)?;
    Ok(signature.to_bytes().to_vec())
}

/// Verifies an Ed25519ph signature over a 64-byte SHA-512 digest with a DER
/// `SubjectPublicKeyInfo`.
///
/// # Errors
/// [`CryptoError::Mismatch`] if it does not verify; [`CryptoError::Invalid`] for a
/// malformed public key or digest.
pub fn verify(public_key_spki: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
    let point = public_key_spki
        .strip_prefix(SPKI_PREFIX.as_slice())
        .and_then(|p| <&[u8; 32]>::try_from(p).ok())
        .ok_or(CryptoError::Invalid)?;
    let key = VerifyingKey::from_bytes(point).map_err(|_| CryptoError::Invalid)?;
    let signature = Signature::from_slice(signature).map_err(|_| CryptoError::Mismatch)?;
    key.verify_prehashed_strict(given(digest)?, None, &signature).map_err(|_| CryptoError::Mismatch)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest as _, Sha512};

    use super::*;

    /// RFC 8032 §7.3, test 1 (Ed25519ph, message "abc", empty context).
    const SEED: &str = "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42";
    const PUBLIC: &str = "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf";
    const SIGNATURE: &str = "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
                             31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406";

    fn spki(point: &[u8]) -> Vec<u8> {
        [SPKI_PREFIX.as_slice(), point].concat()
    }

    #[test]
    fn rfc_8032_ed25519ph_vector() {
        let seed = hex::decode(SEED).unwrap();
        let digest = Sha512::digest(b"abc");
        let signature = sign(&seed, &digest).unwrap();
        assert_eq!(hex::encode(&signature), SIGNATURE);
        let public = spki(&hex::decode(PUBLIC).unwrap());
        verify(&public, &digest, &signature).unwrap();
        let other = Sha512::digest(b"abd");
        assert_eq!(verify(&public, &other, &signature), Err(CryptoError::Mismatch));
    }

    #[test]
    fn wrong_lengths_and_keys_are_refused() {
        let seed = hex::decode(SEED).unwrap();
        assert_eq!(sign(&seed, &[0; 32]), Err(CryptoError::Invalid));
        assert_eq!(sign(&seed[..31], &[0; 64]), Err(CryptoError::Invalid));
        let digest = Sha512::digest(b"abc");
        let signature = sign(&seed, &digest).unwrap();
        let public = hex::decode(PUBLIC).unwrap();
        assert_eq!(verify(&public, &digest, &signature), Err(CryptoError::Invalid));
        assert_eq!(verify(&spki(&public), &digest, &signature[1..]), Err(CryptoError::Mismatch));
    }
}
