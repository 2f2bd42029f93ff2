//! Helpers shared by the `cmm_*` tests: a counting test keyring, a tiny executor, builders.
#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::{OsRng, RngCore};

use kms_envelope::cmm::{DecryptMaterialsRequest, EncryptionMaterialsRequest};
use kms_envelope::keyring::Keyring;
use kms_envelope::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionContext, EncryptionMaterials, PlaintextDataKey,
};
use kms_envelope::suite::{AlgorithmSuite, CommitmentPolicy};
use kms_envelope::Error;

/// Runs a future to completion. Everything under test is synchronous behind `async`, so the
/// first poll finishes; the loop only guards against a future that yields.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// An encryption context from pairs.
pub(crate) fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A request for `context` with everything else defaulted.
pub(crate) fn enc_request(
    context: EncryptionContext,
    suite: Option<&'static AlgorithmSuite>,
    max_plaintext_length: Option<u64>,
) -> EncryptionMaterialsRequest {
    EncryptionMaterialsRequest {
        encryption_context: context,
        commitment_policy: CommitmentPolicy::default(),
        suite,
        max_plaintext_length,
        required_encryption_context_keys: Vec::new(),
    }
}

/// A decrypt request for materials produced by `materials`, storing the whole context.
pub(crate) fn dec_request<'a>(
    materials: &'a EncryptionMaterials,
    reproduced: Option<EncryptionContext>,
) -> DecryptMaterialsRequest<'a> {
    DecryptMaterialsRequest {
        suite: materials.suite,
        commitment_policy: CommitmentPolicy::RequireEncryptAllowDecrypt,
        encrypted_data_keys: &materials.encrypted_data_keys,
        encryption_context: materials.encryption_context.clone(),
        reproduced_encryption_context: reproduced,
    }
}

/// What is stored in a message for `materials`: the context minus the required keys.
pub(crate) fn stored_context(materials: &EncryptionMaterials) -> EncryptionContext {
    materials
        .encryption_context
        .iter()
        .filter(|(k, _)| !materials.required_encryption_context_keys.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The data key bytes of encryption materials.
pub(crate) fn data_key(materials: &EncryptionMaterials) -> Vec<u8> {
    materials.plaintext_data_key.as_ref().expect("a data key").expose_secret().to_vec()
}

/// The data key bytes of decryption materials.
pub(crate) fn decrypted_key(materials: &DecryptionMaterials) -> Vec<u8> {
    materials.plaintext_data_key.as_ref().expect("a data key").expose_secret().to_vec()
}

/// How a [`TestKeyring`] misbehaves, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Behaves.
    None,
    /// Returns the materials of `on_encrypt` without adding an encrypted data key.
    NoEncryptedDataKey,
    /// Returns the materials of `on_encrypt` without a plaintext data key.
    NoPlaintextDataKey,
}

pub(crate) const PROVIDER_ID: &str = "cmm-test";

/// Generates random data keys and "encrypts" them with a fixed AES-256-GCM key, binding the
/// whole encryption context as AAD, so a decryption with a different context fails. Counts its
/// calls.
pub(crate) struct TestKeyring {
    wrapping_key: [u8; 32],
    fault: Fault,
    encrypt_calls: AtomicUsize,
    decrypt_calls: AtomicUsize,
}

impl TestKeyring {
    pub(crate) fn new() -> Arc<Self> {
        Self::with_fault(Fault::None)
    }

    pub(crate) fn with_fault(fault: Fault) -> Arc<Self> {
        Arc::new(Self {
            wrapping_key: [0x42; 32],
            fault,
            encrypt_calls: AtomicUsize::new(0),
            decrypt_calls: AtomicUsize::new(0),
        })
    }

    pub(crate) fn encrypt_calls(&self) -> usize {
        self.encrypt_calls.load(Ordering::SeqCst)
    }

    pub(crate) fn decrypt_calls(&self) -> usize {
        self.decrypt_calls.load(Ordering::SeqCst)
    }

    pub(crate) fn calls(&self) -> usize {
        self.encrypt_calls() + self.decrypt_calls()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.wrapping_key).expect("32-byte key")
    }
}

/// A length-prefixed, sorted encoding of the context (the map is sorted already).
fn aad(context: &EncryptionContext) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

#[async_trait::async_trait]
impl Keyring for TestKeyring {
    async fn on_encrypt(
        &self,
        mut materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        self.encrypt_calls.fetch_add(1, Ordering::SeqCst);
        if self.fault == Fault::NoPlaintextDataKey {
            return Ok(materials);
        }
        if materials.plaintext_data_key.is_none() {
            let mut key = vec![0u8; materials.suite.data_key_len()];
            OsRng.fill_bytes(&mut key);
            materials.set_plaintext_data_key(PlaintextDataKey::new(key))?;
        }
        if self.fault == Fault::NoEncryptedDataKey {
            return Ok(materials);
        }
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let plaintext = materials.plaintext_data_key.as_ref().expect("set above").expose_secret();
        let aad = aad(&materials.encryption_context);
        let ciphertext = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| Error::Keyring("test wrap failed".into()))?;
        materials.encrypted_data_keys.push(EncryptedDataKey {
            provider_id: PROVIDER_ID.into(),
            provider_info: nonce.to_vec(),
            ciphertext,
        });
        Ok(materials)
    }

    async fn on_decrypt(
        &self,
        mut materials: DecryptionMaterials,
        encrypted_data_keys: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error> {
        self.decrypt_calls.fetch_add(1, Ordering::SeqCst);
        if materials.plaintext_data_key.is_some() {
            return Ok(materials);
        }
        let aad = aad(&materials.encryption_context);
        for edk in encrypted_data_keys {
            if edk.provider_id != PROVIDER_ID || edk.provider_info.len() != 12 {
                continue;
            }
            let nonce = Nonce::from_slice(&edk.provider_info);
            if let Ok(key) =
                self.cipher().decrypt(nonce, Payload { msg: &edk.ciphertext, aad: &aad })
            {
                materials.set_plaintext_data_key(PlaintextDataKey::new(key))?;
                return Ok(materials);
            }
        }
        Err(Error::NoDecryptableDataKey)
    }
}
