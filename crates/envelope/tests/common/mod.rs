//! Test helpers: a tiny executor, a materials manager with a fixed data key, one that
//! unwraps the raw AES / raw RSA keys of the official test vectors, and a builder for
//! hand-made messages (to produce shapes our encryptor never writes).
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use kms_api::base64;
use kms_envelope::cmm::{
    CryptographicMaterialsManager, DecryptMaterialsRequest, EncryptionMaterialsRequest,
};
use kms_envelope::format::frame::{encode_frame_prefix, frame_iv, BodyAad, BodyAadContent};
use kms_envelope::format::{serialize_encryption_context, ContentType, MessageHeader, MessageId};
use kms_envelope::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionContext, EncryptionMaterials,
    PlaintextDataKey, SigningKey, VerifyingKey, PUBLIC_KEY_CONTEXT_KEY,
};
use kms_envelope::suite::{AlgorithmSuite, CommitmentPolicy};
use kms_envelope::Error;

/// Runs a future that never waits on anything outside itself (our materials managers
/// are synchronous underneath).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// The commitment policy under which `suite` may encrypt: committing suites require
/// commitment on both sides, the others need encryption without commitment allowed.
pub fn policy_for(suite: &AlgorithmSuite) -> CommitmentPolicy {
    if suite.committing {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    }
}

pub fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn unicode_ec() -> EncryptionContext {
    ec(&[
        ("purpose", "test"),
        ("clé", "välue ☃"),
        ("\u{10348}", "gothic"),
        ("\u{e000}", "pua"),
        ("", "empty key"),
    ])
}

/// The fixed data key, trimmed to the suite's length.
pub fn fixed_data_key(suite: &AlgorithmSuite) -> Vec<u8> {
    (0..suite.data_key_len() as u8).map(|i| i.wrapping_mul(37).wrapping_add(5)).collect()
}

pub const TEST_PROVIDER_ID: &str = "test-fixed";

/// A materials manager with one fixed data key and no real key wrapping. On encrypt it
/// generates a signing key for signed suites and stores the public key in the context;
/// on decrypt it parses it back. Reproduced context pairs that are not stored become
/// required keys, as the spec's default CMM does.
#[derive(Debug, Clone, Default)]
pub struct TestCmm {
    /// Keys to authenticate but not store (what the required-EC CMM would set).
    pub required_keys: Vec<String>,
    /// How many copies of the EDK to put in the materials (0 means 1).
    pub edk_copies: usize,
    /// Hand out a different data key on decrypt.
    pub wrong_key_on_decrypt: bool,
}

pub fn public_key_b64(key: &SigningKey) -> String {
    base64::encode(key.public_key())
}

pub fn verifying_key_from_context(
    suite: &AlgorithmSuite,
    ec: &EncryptionContext,
) -> Result<Option<VerifyingKey>, Error> {
    let value = ec.get(PUBLIC_KEY_CONTEXT_KEY);
    let bad = || Error::InvalidKey("bad public key in context".into());
    match (suite.signature, value) {
        (None, None) => Ok(None),
        (None, Some(_)) | (Some(_), None) => Err(Error::EncryptionContext("public key".into())),
        (Some(alg), Some(v)) => {
            let bytes = base64::decode(v).map_err(|_| bad())?;
            Ok(Some(VerifyingKey::from_sec1(alg, &bytes).map_err(|_| bad())?))
        }
    }
}

/// Decryption materials as the spec's default CMM builds them, before the data key.
pub fn decryption_materials(
    request: &DecryptMaterialsRequest<'_>,
) -> Result<DecryptionMaterials, Error> {
    if !request.commitment_policy.allows_decrypt(request.suite) {
        return Err(Error::CommitmentPolicy(request.suite.id));
    }
    let mut ec = request.encryption_context.clone();
    let mut required = Vec::new();
    if let Some(reproduced) = &request.reproduced_encryption_context {
        for (k, v) in reproduced {
            match ec.get(k) {
                Some(stored) if stored != v => {
                    return Err(Error::EncryptionContext(format!("{k} differs")))
                }
                Some(_) => {}
                None => {
                    ec.insert(k.clone(), v.clone());
                    required.push(k.clone());
                }
            }
        }
    }
    let verifying_key = verifying_key_from_context(request.suite, &ec)?;
    let mut m = DecryptionMaterials::new(request.suite, ec);
    m.required_encryption_context_keys = required;
    m.verifying_key = verifying_key;
    Ok(m)
}

#[async_trait::async_trait]
impl CryptographicMaterialsManager for TestCmm {
    async fn get_encryption_materials(
        &self,
        request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error> {
        let suite = request.suite.unwrap_or_else(|| request.commitment_policy.default_suite());
        if !request.commitment_policy.allows_encrypt(suite) {
            return Err(Error::CommitmentPolicy(suite.id));
        }
        let mut ec = request.encryption_context;
        if ec.contains_key(PUBLIC_KEY_CONTEXT_KEY) {
            return Err(Error::EncryptionContext("reserved key".into()));
        }
        let signing_key = suite.signature.map(|alg| SigningKey::generate(alg).unwrap());
        if let Some(key) = &signing_key {
            ec.insert(PUBLIC_KEY_CONTEXT_KEY.to_string(), public_key_b64(key));
        }
        let mut m = EncryptionMaterials::new(suite, ec);
        m.required_encryption_context_keys = self.required_keys.clone();
        m.set_plaintext_data_key(PlaintextDataKey::new(fixed_data_key(suite)))?;
        for _ in 0..self.edk_copies.max(1) {
            m.encrypted_data_keys.push(EncryptedDataKey {
                provider_id: TEST_PROVIDER_ID.into(),
                provider_info: b"fixed".to_vec(),
                ciphertext: vec![0xEE; 8],
            });
        }
        m.signing_key = signing_key;
        Ok(m)
    }

    async fn decrypt_materials(
        &self,
        request: DecryptMaterialsRequest<'_>,
    ) -> Result<DecryptionMaterials, Error> {
        let mut m = decryption_materials(&request)?;
        if !request.encrypted_data_keys.iter().any(|e| e.provider_id == TEST_PROVIDER_ID) {
            return Err(Error::NoDecryptableDataKey);
        }
        let mut key = fixed_data_key(request.suite);
        if self.wrong_key_on_decrypt {
            key[0] ^= 1;
        }
        m.set_plaintext_data_key(PlaintextDataKey::new(key))?;
        Ok(m)
    }
}

/// Unwraps the test vectors' raw AES (spec `framework/raw-aes-keyring.md`) and raw RSA
/// (OAEP with SHA-512) encrypted data keys.
pub struct VectorCmm {
    pub namespace: String,
    pub aes: Option<(String, Vec<u8>)>,
    pub rsa: Option<(String, rsa::RsaPrivateKey)>,
}

impl VectorCmm {
    fn unwrap_aes(&self, edk: &EncryptedDataKey, ec: &EncryptionContext) -> Option<Vec<u8>> {
        let (name, key) = self.aes.as_ref()?;
        let info = edk.provider_info.strip_prefix(name.as_bytes())?;
        if info.len() != 4 + 4 + 12 || info[..8] != [0, 0, 0, 128, 0, 0, 0, 12] {
            return None;
        }
        let iv = &info[8..];
        let (ct, tag) = edk.ciphertext.split_at(edk.ciphertext.len().checked_sub(16)?);
        let mut buf = ct.to_vec();
        let aad = serialize_encryption_context(ec).ok()?;
        Aes256Gcm::new_from_slice(key)
            .ok()?
            .decrypt_in_place_detached(Nonce::from_slice(iv), &aad, &mut buf, Tag::from_slice(tag))
            .ok()?;
        Some(buf)
    }

    fn unwrap_rsa(&self, edk: &EncryptedDataKey) -> Option<Vec<u8>> {
        let (name, key) = self.rsa.as_ref()?;
        if edk.provider_info != name.as_bytes() {
            return None;
        }
        key.decrypt(rsa::Oaep::new::<sha2::Sha512>(), &edk.ciphertext).ok()
    }
}

#[async_trait::async_trait]
impl CryptographicMaterialsManager for VectorCmm {
    async fn get_encryption_materials(
        &self,
        _request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error> {
        Err(Error::ApiMisuse("decrypt only".into()))
    }

    async fn decrypt_materials(
        &self,
        request: DecryptMaterialsRequest<'_>,
    ) -> Result<DecryptionMaterials, Error> {
        let mut m = decryption_materials(&request)?;
        for edk in request.encrypted_data_keys {
            if edk.provider_id != self.namespace {
                continue;
            }
            if let Some(key) =
                self.unwrap_aes(edk, &m.encryption_context).or_else(|| self.unwrap_rsa(edk))
            {
                m.set_plaintext_data_key(PlaintextDataKey::new(key))?;
                return Ok(m);
            }
        }
        Err(Error::NoDecryptableDataKey)
    }
}

/// Builds messages by hand with an identity-KDF 256-bit suite (`0x0078`), where the data
/// key is the content key, so tests can write shapes the encryptor never produces.
pub struct Handmade {
    pub suite: &'static AlgorithmSuite,
    pub key: Vec<u8>,
    pub header: MessageHeader,
}

impl Handmade {
    pub fn new(content_type: ContentType, frame_length: u32) -> Self {
        let suite = &kms_envelope::suite::AES_256_GCM_IV12_TAG16_NO_KDF;
        let header = MessageHeader {
            suite,
            message_id: MessageId::V1([0x5A; 16]),
            encryption_context: ec(&[("k", "v")]),
            encrypted_data_keys: vec![EncryptedDataKey {
                provider_id: TEST_PROVIDER_ID.into(),
                provider_info: b"fixed".to_vec(),
                ciphertext: vec![0xEE; 8],
            }],
            content_type,
            frame_length,
            commitment: None,
            header_iv: [0; 12],
            header_tag: [0; 16],
        };
        Self { suite, key: fixed_data_key(suite), header }
    }

    /// The same with the committing suite `0x0478` (v2 header); the content and commit
    /// keys are derived here with the spec's formulas, independently of the crate.
    pub fn new_v2(content_type: ContentType, frame_length: u32) -> Self {
        let suite = &kms_envelope::suite::AES_256_GCM_HKDF_SHA512_COMMIT_KEY;
        let mut h = Self::new(content_type, frame_length);
        let id = [0x5Au8; 32];
        let hk = hkdf::Hkdf::<sha2::Sha512>::new(Some(&id), &fixed_data_key(suite));
        let mut key = vec![0u8; 32];
        hk.expand(b"\x04\x78DERIVEKEY", &mut key).unwrap();
        let mut commit = [0u8; 32];
        hk.expand(b"COMMITKEY", &mut commit).unwrap();
        h.suite = suite;
        h.key = key;
        h.header.suite = suite;
        h.header.message_id = MessageId::V2(id);
        h.header.commitment = Some(commit);
        h
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.key).unwrap()
    }

    /// The header with a correct tag.
    pub fn header_bytes(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        self.header.encode_body(&mut body).unwrap();
        let tag = self
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&self.header.header_iv), &body, &mut [])
            .unwrap();
        self.header.header_tag = tag.into();
        let mut out = Vec::new();
        self.header.encode(&mut out).unwrap();
        out
    }

    /// A frame with a valid tag for the given (possibly wrong) IV and sequence number.
    pub fn frame(
        &self,
        seq: u32,
        is_final: bool,
        plaintext: &[u8],
        iv: Option<[u8; 12]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame_prefix(&mut out, seq, is_final, plaintext.len());
        let iv = iv.unwrap_or_else(|| frame_iv(seq));
        out[if is_final { 8 } else { 4 }..][..12].copy_from_slice(&iv);
        let content = if is_final { BodyAadContent::FinalFrame } else { BodyAadContent::Frame };
        let aad =
            BodyAad::new(self.header.message_id.as_bytes(), content, seq, plaintext.len() as u64);
        let mut buf = plaintext.to_vec();
        let tag = self
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&iv), aad.as_bytes(), &mut buf)
            .unwrap();
        out.extend_from_slice(&buf);
        out.extend_from_slice(&tag);
        out
    }

    /// A non-framed body with a valid tag for the given IV.
    pub fn non_framed_body(&self, plaintext: &[u8], iv: [u8; 12]) -> Vec<u8> {
        let aad = BodyAad::new(
            self.header.message_id.as_bytes(),
            BodyAadContent::SingleBlock,
            1,
            plaintext.len() as u64,
        );
        let mut buf = plaintext.to_vec();
        let tag = self
            .cipher()
            .encrypt_in_place_detached(Nonce::from_slice(&iv), aad.as_bytes(), &mut buf)
            .unwrap();
        let mut out = iv.to_vec();
        out.extend_from_slice(&(plaintext.len() as u64).to_be_bytes());
        out.extend_from_slice(&buf);
        out.extend_from_slice(&tag);
        out
    }
}

/// Splits `data` into chunks whose sizes cycle through `sizes`.
pub fn chunks<'a>(data: &'a [u8], sizes: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut at = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        if at >= data.len() {
            return None;
        }
        let n = sizes[i % sizes.len()].max(1).min(data.len() - at);
        i += 1;
        let c = &data[at..at + n];
        at += n;
        Some(c)
    })
}
