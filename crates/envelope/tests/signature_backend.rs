//! An injected signature backend (what kms-wasm does with its EC module) carries every
//! asymmetric operation: signed-suite key generation, signing and verification, and KMS
//! signature verification. Its own test binary: a backend is installed once per process.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use kms_envelope::cmm::default::DefaultCmm;
use kms_envelope::der::NamedCurve;
use kms_envelope::keyring::raw_aes::RawAesKeyring;
use kms_envelope::public_key::{MessageType, PublicKey, SigningAlgorithm};
use kms_envelope::signature::{self, EcdsaSigner, RustCrypto, SignatureBackend};
use kms_envelope::{decrypt, encrypt, DecryptConfig, EncryptConfig, Error};

static GENERATED: AtomicUsize = AtomicUsize::new(0);
static SIGNED: AtomicUsize = AtomicUsize::new(0);
static VERIFIED: AtomicUsize = AtomicUsize::new(0);

/// RustCrypto, counting the calls.
struct Counting;

struct CountingSigner(Box<dyn EcdsaSigner>);

impl EcdsaSigner for CountingSigner {
    fn public_key(&self) -> &[u8] {
        self.0.public_key()
    }
    fn sign_prehash(&self, prehash: &[u8]) -> Result<Vec<u8>, Error> {
        SIGNED.fetch_add(1, Ordering::SeqCst);
        self.0.sign_prehash(prehash)
    }
}

impl SignatureBackend for Counting {
    fn generate_signing_key(&self, curve: NamedCurve) -> Result<Box<dyn EcdsaSigner>, Error> {
        GENERATED.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(CountingSigner(RustCrypto.generate_signing_key(curve)?)))
    }
    fn check_point(&self, curve: NamedCurve, point: &[u8]) -> Option<bool> {
        RustCrypto.check_point(curve, point)
    }
    fn verify_ecdsa(
        &self,
        curve: NamedCurve,
        point: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        VERIFIED.fetch_add(1, Ordering::SeqCst);
        RustCrypto.verify_ecdsa(curve, point, prehash, signature)
    }
    fn verify_rsa(
        &self,
        n: &[u8],
        e: &[u8],
        algorithm: SigningAlgorithm,
        digest: &[u8],
        signature: &[u8],
    ) -> Result<bool, Error> {
        VERIFIED.fetch_add(1, Ordering::SeqCst);
        RustCrypto.verify_rsa(n, e, algorithm, digest, signature)
    }
}

#[test]
fn the_installed_backend_does_every_signature_operation() {
    signature::install(Box::new(Counting)).unwrap();
    assert!(signature::install(Box::new(RustCrypto)).is_err(), "only the first install counts");

    let keyring = Arc::new(RawAesKeyring::new("ns", "name", &[7; 32]).unwrap());
    let cmm = DefaultCmm::new(keyring);
    // The default suite (0x0578) is signed with ECDSA P-384.
    let ct =
        common::block_on(encrypt(&cmm, b"hello", Default::default(), &EncryptConfig::default()))
            .unwrap();
    assert_eq!((GENERATED.load(Ordering::SeqCst), SIGNED.load(Ordering::SeqCst)), (1, 1));
    let out = common::block_on(decrypt(&cmm, &ct, &DecryptConfig::default())).unwrap();
    assert_eq!(out.plaintext, b"hello");
    assert_eq!(VERIFIED.load(Ordering::SeqCst), 1);

    // KMS DIGEST verification of an ECDSA P-256 signature goes through it too.
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    use p256::pkcs8::EncodePublicKey;
    use sha2::Digest;
    let key = p256::ecdsa::SigningKey::from_slice(&[5; 32]).unwrap();
    let spki = key.verifying_key().to_public_key_der().unwrap();
    let public = PublicKey::from_spki_der(spki.as_bytes()).unwrap();
    let digest = sha2::Sha256::digest(b"kms");
    let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
    let der = sig.to_der();
    let alg = SigningAlgorithm::EcdsaSha256;
    assert!(public.verify(&digest, der.as_bytes(), alg, MessageType::Digest).unwrap());
    assert!(!public.verify(&[0; 32], der.as_bytes(), alg, MessageType::Digest).unwrap());
    assert_eq!(VERIFIED.load(Ordering::SeqCst), 3);
}
