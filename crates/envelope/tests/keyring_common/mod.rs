//! Helpers shared by the `keyring_*` test binaries: a tiny executor, the official key
//! vectors, an in-memory fake KMS, and a minimal message header reader.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use kms_api::base64;
use kms_envelope::kms::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, GenerateDataKeyRequest,
    GenerateDataKeyResponse, KmsClient, KmsClientError,
};
use kms_envelope::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionContext, EncryptionMaterials, PlaintextDataKey,
};
use kms_envelope::suite::AlgorithmSuite;
use rand_core::{OsRng, RngCore};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Oaep, RsaPrivateKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Runs a future that never waits on anything outside itself (everything here is
/// in-memory) to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

pub fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn enc_materials(
    suite: &'static AlgorithmSuite,
    context: EncryptionContext,
) -> EncryptionMaterials {
    EncryptionMaterials::new(suite, context)
}

pub fn dec_materials(
    suite: &'static AlgorithmSuite,
    context: EncryptionContext,
) -> DecryptionMaterials {
    DecryptionMaterials::new(suite, context)
}

pub fn key_bytes(key: &Option<PlaintextDataKey>) -> Vec<u8> {
    key.as_ref().expect("a plaintext data key").expose_secret().to_vec()
}

/// An encryption context serialised the way the message header does, written here
/// independently of the crate so the two check each other.
pub fn serialize_ec(context: &EncryptionContext) -> Vec<u8> {
    if context.is_empty() {
        return Vec::new();
    }
    let mut pairs: Vec<(&[u8], &[u8])> =
        context.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
    pairs.sort();
    let mut out = (pairs.len() as u16).to_be_bytes().to_vec();
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u16).to_be_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(v);
    }
    out
}

// ---------------------------------------------------------------------------------------
// The official decrypt vectors (`shared/esdk-vectors`, see its README).

/// `shared/esdk-vectors`, beside the repository (or `$ESDK_VECTORS_DIR`).
pub fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ESDK_VECTORS_DIR") {
        return PathBuf::from(dir);
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/esdk-vectors");
    assert!(dir.is_dir(), "test vectors not found at {} (set ESDK_VECTORS_DIR)", dir.display());
    dir
}

pub fn v4_dir() -> PathBuf {
    vectors_dir().join("v4-Net-4.0.1")
}

pub fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// One key of a `keys.json` manifest.
#[derive(Debug, Clone)]
pub struct VectorKey {
    pub key_type: String,
    pub encoding: String,
    /// The raw keyring key name.
    pub key_id: String,
    pub material: String,
}

impl VectorKey {
    pub fn symmetric_bytes(&self) -> Vec<u8> {
        assert_eq!((self.key_type.as_str(), self.encoding.as_str()), ("symmetric", "base64"));
        base64::decode(&self.material).expect("base64 key")
    }
}

pub fn v4_keys() -> HashMap<String, VectorKey> {
    let keys = read_json(v4_dir().join("keys.json"));
    keys["keys"]
        .as_object()
        .expect("keys object")
        .iter()
        .map(|(name, k)| {
            let s = |f: &str| k[f].as_str().unwrap_or_default().to_string();
            let key = VectorKey {
                key_type: s("type"),
                encoding: s("encoding"),
                key_id: s("key-id"),
                material: s("material"),
            };
            (name.clone(), key)
        })
        .collect()
}

pub fn rsa_private_pem() -> String {
    v4_keys()["rsa-4096-private"].material.clone()
}

pub fn rsa_public_pem() -> String {
    v4_keys()["rsa-4096-public"].material.clone()
}

// ---------------------------------------------------------------------------------------
// A minimal reader for the fields of a message header the keyring tests need.

pub struct Header {
    pub version: u8,
    pub suite_id: u16,
    pub message_id: Vec<u8>,
    pub stored_ec: EncryptionContext,
    pub edks: Vec<EncryptedDataKey>,
    /// The header body (everything the header authentication tag covers).
    pub body: Vec<u8>,
    /// v2: the key commitment.
    pub suite_data: Vec<u8>,
    /// v1: the header IV; v2: twelve zero bytes.
    pub header_iv: Vec<u8>,
    pub header_tag: Vec<u8>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        out
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.take(2).try_into().unwrap())
    }
    fn short_bytes(&mut self) -> &'a [u8] {
        let n = self.u16() as usize;
        self.take(n)
    }
}

pub fn parse_header(bytes: &[u8]) -> Header {
    let mut c = Cursor { buf: bytes, pos: 0 };
    let version = c.u8();
    if version == 1 {
        assert_eq!(c.u8(), 0x80, "v1 message type");
    } else {
        assert_eq!(version, 2, "message format version");
    }
    let suite_id = c.u16();
    let message_id = c.take(if version == 1 { 16 } else { 32 }).to_vec();
    let aad = c.short_bytes();
    let mut stored_ec = EncryptionContext::new();
    if !aad.is_empty() {
        let mut a = Cursor { buf: aad, pos: 0 };
        for _ in 0..a.u16() {
            let k = String::from_utf8(a.short_bytes().to_vec()).unwrap();
            let v = String::from_utf8(a.short_bytes().to_vec()).unwrap();
            stored_ec.insert(k, v);
        }
    }
    let mut edks = Vec::new();
    for _ in 0..c.u16() {
        let provider_id = String::from_utf8(c.short_bytes().to_vec()).unwrap();
        let provider_info = c.short_bytes().to_vec();
        let ciphertext = c.short_bytes().to_vec();
        edks.push(EncryptedDataKey { provider_id, provider_info, ciphertext });
    }
    let _content_type = c.u8();
    let (suite_data, iv_len) = if version == 1 {
        let _reserved = c.take(4);
        let iv_len = c.u8() as usize;
        let _frame_len = c.take(4);
        (Vec::new(), iv_len)
    } else {
        let _frame_len = c.take(4);
        (c.take(32).to_vec(), 0)
    };
    let body = bytes[..c.pos].to_vec();
    let header_iv = if version == 1 { c.take(iv_len).to_vec() } else { vec![0; 12] };
    let header_tag = c.take(16).to_vec();
    Header {
        version,
        suite_id,
        message_id,
        stored_ec,
        edks,
        body,
        suite_data,
        header_iv,
        header_tag,
    }
}

// ---------------------------------------------------------------------------------------
// An in-memory KMS.

/// One call the fake KMS received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub operation: &'static str,
    pub key_id: Option<String>,
    pub grant_tokens: Vec<String>,
    pub encryption_context: EncryptionContext,
    pub encryption_algorithm: Option<String>,
}

enum FakeKey {
    /// AES-256-GCM with the encryption context as AAD.
    Symmetric([u8; 32]),
    Rsa(Box<RsaPrivateKey>),
}

/// A KMS that keeps its keys in memory and records every call.
///
/// Symmetric ciphertext blobs are `u16 len || key identity || IV || ciphertext || tag`,
/// where a multi-Region key's identity leaves out the region, so replicas share material.
#[derive(Default)]
pub struct FakeKms {
    keys: HashMap<String, FakeKey>,
    calls: Mutex<Vec<Call>>,
    /// When set, every response names this key id instead of the real one.
    pub lie_about_key_id: Mutex<Option<String>>,
    /// When set, decrypted plaintexts are cut to this length.
    pub truncate_plaintext: Mutex<Option<usize>>,
}

fn identity(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() == 6 && parts[5].starts_with("key/mrk-") {
        format!("{}:{}:{}", parts[1], parts[4], parts[5])
    } else {
        arn.to_string()
    }
}

fn kms_error(code: &str, message: &str) -> KmsClientError {
    KmsClientError { code: code.into(), message: message.into(), status: 400 }
}

impl FakeKms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a symmetric key; replicas of a multi-Region key get the same material.
    pub fn with_symmetric_key(mut self, arn: &str) -> Self {
        let material: [u8; 32] = Sha256::digest(identity(arn).as_bytes()).into();
        self.keys.insert(arn.to_string(), FakeKey::Symmetric(material));
        self
    }

    pub fn with_rsa_key(mut self, arn: &str, private_key_pem: &str) -> Self {
        let key = RsaPrivateKey::from_pkcs8_pem(private_key_pem).expect("RSA private key");
        self.keys.insert(arn.to_string(), FakeKey::Rsa(Box::new(key)));
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }

    fn response_key_id(&self, real: &str) -> String {
        self.lie_about_key_id.lock().unwrap().clone().unwrap_or_else(|| real.to_string())
    }

    fn seal(
        &self,
        key_id: &str,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsClientError> {
        let Some(FakeKey::Symmetric(material)) = self.keys.get(key_id) else {
            return Err(kms_error("NotFoundException", "no such symmetric key"));
        };
        let id = identity(key_id);
        let mut iv = [0u8; 12];
        OsRng.fill_bytes(&mut iv);
        let cipher = Aes256Gcm::new_from_slice(material).unwrap();
        let aad = serialize_ec(context);
        let sealed =
            cipher.encrypt(Nonce::from_slice(&iv), Payload { msg: plaintext, aad: &aad }).unwrap();
        let mut blob = (id.len() as u16).to_be_bytes().to_vec();
        blob.extend_from_slice(id.as_bytes());
        blob.extend_from_slice(&iv);
        blob.extend_from_slice(&sealed);
        Ok(blob)
    }
}

#[async_trait::async_trait]
impl KmsClient for FakeKms {
    async fn generate_data_key(
        &self,
        request: GenerateDataKeyRequest<'_>,
    ) -> Result<GenerateDataKeyResponse, KmsClientError> {
        self.record(Call {
            operation: "GenerateDataKey",
            key_id: Some(request.key_id.to_string()),
            grant_tokens: request.grant_tokens.to_vec(),
            encryption_context: request.encryption_context.clone(),
            encryption_algorithm: None,
        });
        let mut plaintext = vec![0u8; request.number_of_bytes];
        OsRng.fill_bytes(&mut plaintext);
        let ciphertext_blob = self.seal(request.key_id, &plaintext, request.encryption_context)?;
        if let Some(n) = *self.truncate_plaintext.lock().unwrap() {
            plaintext.truncate(n);
        }
        Ok(GenerateDataKeyResponse {
            key_id: self.response_key_id(request.key_id),
            plaintext: PlaintextDataKey::new(plaintext),
            ciphertext_blob,
        })
    }

    async fn encrypt(
        &self,
        request: EncryptRequest<'_>,
    ) -> Result<EncryptResponse, KmsClientError> {
        self.record(Call {
            operation: "Encrypt",
            key_id: Some(request.key_id.to_string()),
            grant_tokens: request.grant_tokens.to_vec(),
            encryption_context: request.encryption_context.clone(),
            encryption_algorithm: None,
        });
        let ciphertext_blob =
            self.seal(request.key_id, request.plaintext, request.encryption_context)?;
        Ok(EncryptResponse { key_id: self.response_key_id(request.key_id), ciphertext_blob })
    }

    async fn decrypt(
        &self,
        request: DecryptRequest<'_>,
    ) -> Result<DecryptResponse, KmsClientError> {
        self.record(Call {
            operation: "Decrypt",
            key_id: request.key_id.map(str::to_string),
            grant_tokens: request.grant_tokens.to_vec(),
            encryption_context: request.encryption_context.clone(),
            encryption_algorithm: request.encryption_algorithm.map(str::to_string),
        });
        let key_id = request.key_id.ok_or_else(|| kms_error("ValidationException", "no key id"))?;
        let mut plaintext = match self.keys.get(key_id) {
            None => return Err(kms_error("NotFoundException", "no such key")),
            Some(FakeKey::Rsa(private_key)) => {
                let padding = match request.encryption_algorithm {
                    Some("RSAES_OAEP_SHA_1") => Oaep::new::<sha1::Sha1>(),
                    Some("RSAES_OAEP_SHA_256") => Oaep::new::<Sha256>(),
                    _ => return Err(kms_error("InvalidCiphertextException", "bad algorithm")),
                };
                private_key
                    .decrypt(padding, request.ciphertext_blob)
                    .map_err(|_| kms_error("InvalidCiphertextException", "RSA decryption failed"))?
            }
            Some(FakeKey::Symmetric(material)) => {
                let blob = request.ciphertext_blob;
                let bad = || kms_error("InvalidCiphertextException", "bad ciphertext");
                if blob.len() < 2 {
                    return Err(bad());
                }
                let id_len = u16::from_be_bytes([blob[0], blob[1]]) as usize;
                if blob.len() < 2 + id_len + 12 + 16 {
                    return Err(bad());
                }
                if &blob[2..2 + id_len] != identity(key_id).as_bytes() {
                    return Err(kms_error(
                        "IncorrectKeyException",
                        "ciphertext is for another key",
                    ));
                }
                let (iv, sealed) = blob[2 + id_len..].split_at(12);
                let aad = serialize_ec(request.encryption_context);
                Aes256Gcm::new_from_slice(material)
                    .unwrap()
                    .decrypt(Nonce::from_slice(iv), Payload { msg: sealed, aad: &aad })
                    .map_err(|_| bad())?
            }
        };
        if let Some(n) = *self.truncate_plaintext.lock().unwrap() {
            plaintext.truncate(n);
        }
        Ok(DecryptResponse {
            key_id: self.response_key_id(key_id),
            plaintext: PlaintextDataKey::new(plaintext),
        })
    }
}
