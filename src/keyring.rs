//! The keyring classes. Each holds a shared kms-envelope keyring; pass them to `encrypt`,
//! `decrypt`, the streams, `MultiKeyring` or `CachingMaterialsManager`.

use std::sync::Arc;

use js_sys::Array;
use kms_envelope::keyring::kms::{AwsKmsDiscoveryKeyring, AwsKmsKeyring, DiscoveryFilter};
use kms_envelope::keyring::kms_rsa::{AwsKmsRsaKeyring, KmsRsaEncryptionAlgorithm};
use kms_envelope::keyring::multi::MultiKeyring as EnvelopeMulti;
use kms_envelope::keyring::raw_aes::RawAesKeyring as EnvelopeRawAes;
use kms_envelope::keyring::raw_rsa::{
    RawRsaKeyring as EnvelopeRawRsa, RsaDecryptKey, RsaEncryptKey, RsaPadding,
};
use kms_envelope::keyring::Keyring;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::{
    bool_field, bytes_field, bytes_of, field, required_string, string_field, strings_field,
};
use crate::error::{from_envelope, invalid, kms_error};
use crate::handle::{client_of, hand_over, keyring_of, Shared};
use crate::subtle::{self, WebRsaPrivateKey, WebRsaPublicKey};

macro_rules! keyring_class {
    ($name:ident) => {
        #[wasm_bindgen]
        impl $name {
            #[doc(hidden)]
            #[wasm_bindgen(js_name = "__handle", skip_typescript)]
            pub fn handle(&self) {
                hand_over(Shared::Keyring(self.inner.clone()));
            }
        }
    };
}

/// The AWS KMS keyring: `new KmsKeyring({ client, generatorKeyId?, keyIds?, grantTokens?,
/// discovery?, discoveryFilter?: { partition, accountIDs } })`.
///
/// The generator makes each data key with `GenerateDataKey`; every `keyIds` key encrypts
/// it too. Decryption uses only the configured key ARNs, or with `discovery: true` any key
/// the credentials may use (optionally limited by `discoveryFilter`).
#[wasm_bindgen]
pub struct KmsKeyring {
    inner: Arc<dyn Keyring>,
}
keyring_class!(KmsKeyring);

#[wasm_bindgen]
impl KmsKeyring {
    /// Creates the keyring; throws a `KmsError` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "KmsKeyringOptions")] options: JsValue,
    ) -> Result<KmsKeyring, JsValue> {
        let client = client_of(&field(&options, "client").unwrap_or(JsValue::UNDEFINED), "client")?;
        let generator = string_field(&options, "generatorKeyId")?;
        let key_ids = strings_field(&options, "keyIds")?;
        let tokens = strings_field(&options, "grantTokens")?;
        let discovery = bool_field(&options, "discovery")?.unwrap_or(false);
        let inner: Arc<dyn Keyring> = if discovery {
            if generator.is_some() || !key_ids.is_empty() {
                return Err(invalid("a discovery keyring takes no generatorKeyId or keyIds"));
            }
            let filter = match field(&options, "discoveryFilter") {
                None => None,
                Some(f) => {
                    let partition = required_string(&f, "partition")?;
                    let mut accounts = strings_field(&f, "accountIDs")?;
                    accounts.extend(strings_field(&f, "accountIds")?);
                    Some(DiscoveryFilter::new(partition, accounts).map_err(from_envelope)?)
                }
            };
            Arc::new(AwsKmsDiscoveryKeyring::new(client, filter).with_grant_tokens(tokens))
        } else {
            let make = |id: String| -> Result<Arc<dyn Keyring>, JsValue> {
                let k = AwsKmsKeyring::new(client.clone(), id).map_err(from_envelope)?;
                Ok(Arc::new(k.with_grant_tokens(tokens.clone())))
            };
            let mut children = Vec::with_capacity(key_ids.len());
            for id in key_ids {
                children.push(make(id)?);
            }
            let generator = generator.map(make).transpose()?;
            match (generator, children.len()) {
                (Some(g), 0) => g,
                (None, 0) => {
                    return Err(invalid("a KMS keyring needs generatorKeyId, keyIds or discovery"))
                }
                (g, _) => Arc::new(EnvelopeMulti::new(g, children).map_err(from_envelope)?),
            }
        };
        Ok(KmsKeyring { inner })
    }
}

/// A raw AES keyring: `new RawAesKeyring({ keyNamespace, keyName, wrappingKey })` with a
/// 16, 24 or 32 byte `wrappingKey` (copied into wasm memory; zeroized when freed).
#[wasm_bindgen]
pub struct RawAesKeyring {
    inner: Arc<dyn Keyring>,
}
keyring_class!(RawAesKeyring);

#[wasm_bindgen]
impl RawAesKeyring {
    /// Creates the keyring; throws a `KmsError` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(
            unchecked_param_type = "{ keyNamespace: string, keyName: string, wrappingKey: Uint8Array }"
        )]
        options: JsValue,
    ) -> Result<RawAesKeyring, JsValue> {
        let namespace = required_string(&options, "keyNamespace")?;
        let name = required_string(&options, "keyName")?;
        let key = bytes_field(&options, "wrappingKey")?
            .ok_or_else(|| invalid("wrappingKey is required"))?;
        let keyring = EnvelopeRawAes::new(namespace, name, &key).map_err(from_envelope)?;
        Ok(RawAesKeyring { inner: Arc::new(keyring) })
    }
}

/// A raw RSA keyring: `new RawRsaKeyring({ keyNamespace, keyName, publicKey?, privateKey?,
/// padding? })`. Keys are PEM strings or DER `Uint8Array`s (SPKI / PKCS #8). `padding`:
/// `OAEP_SHA256_MGF1` (default), `OAEP_SHA1_MGF1`, `OAEP_SHA384_MGF1` or
/// `OAEP_SHA512_MGF1`; RSA runs in WebCrypto, which has no PKCS #1 v1.5 encryption, so
/// `PKCS1` is refused (as in `@aws-crypto/client-browser`). With only a private key the
/// keyring decrypts only; pass `publicKey` too to encrypt.
#[wasm_bindgen]
pub struct RawRsaKeyring {
    inner: Arc<dyn Keyring>,
}
keyring_class!(RawRsaKeyring);

fn padding_of(name: Option<String>) -> Result<RsaPadding, JsValue> {
    let padding = match name.as_deref().unwrap_or("OAEP_SHA256_MGF1") {
        "PKCS1" => RsaPadding::Pkcs1v15,
        "OAEP_SHA1_MGF1" => RsaPadding::OaepSha1Mgf1Sha1,
        "OAEP_SHA256_MGF1" => RsaPadding::OaepSha256Mgf1Sha256,
        "OAEP_SHA384_MGF1" => RsaPadding::OaepSha384Mgf1Sha384,
        "OAEP_SHA512_MGF1" => RsaPadding::OaepSha512Mgf1Sha512,
        other => return Err(invalid(&format!("unknown RSA padding \"{other}\""))),
    };
    subtle::check_padding(padding)
        .map_err(|e| kms_error("UnsupportedOperationException", &e.to_string(), 0))?;
    Ok(padding)
}

/// A WebCrypto RSA public key from a PEM string or DER bytes.
fn web_public_key(value: &JsValue, what: &str) -> Result<Arc<dyn RsaEncryptKey>, JsValue> {
    let key = match value.as_string() {
        Some(pem) => WebRsaPublicKey::from_pem(&pem),
        None => WebRsaPublicKey::from_spki(&bytes_of(value, what)?),
    };
    Ok(Arc::new(key.map_err(from_envelope)?))
}

#[wasm_bindgen]
impl RawRsaKeyring {
    /// Creates the keyring; throws a `KmsError` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(
            unchecked_param_type = "{ keyNamespace: string, keyName: string, publicKey?: string | Uint8Array, privateKey?: string | Uint8Array, padding?: string }"
        )]
        options: JsValue,
    ) -> Result<RawRsaKeyring, JsValue> {
        let ns = required_string(&options, "keyNamespace")?;
        let name = required_string(&options, "keyName")?;
        let padding = padding_of(string_field(&options, "padding")?)?;
        let public = field(&options, "publicKey").map(|p| web_public_key(&p, "publicKey"));
        let private = match field(&options, "privateKey") {
            None => None,
            Some(private) => {
                let key = match private.as_string() {
                    Some(pem) => WebRsaPrivateKey::from_pem(&pem),
                    None => WebRsaPrivateKey::from_pkcs8(bytes_of(&private, "privateKey")?),
                };
                Some(Arc::new(key.map_err(from_envelope)?) as Arc<dyn RsaDecryptKey>)
            }
        };
        if public.is_none() && private.is_none() {
            return Err(invalid("publicKey or privateKey is required"));
        }
        let keyring = EnvelopeRawRsa::from_key_ops(ns, name, padding, public.transpose()?, private)
            .map_err(from_envelope)?;
        Ok(RawRsaKeyring { inner: Arc::new(keyring) })
    }
}

/// A multi-keyring: `new MultiKeyring({ generator?, children? })`. The generator makes the
/// data key and every child encrypts it too; any of them can decrypt.
#[wasm_bindgen]
pub struct MultiKeyring {
    inner: Arc<dyn Keyring>,
}
keyring_class!(MultiKeyring);

#[wasm_bindgen]
impl MultiKeyring {
    /// Creates the keyring; throws a `KmsError` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "{ generator?: Keyring, children?: Keyring[] }")]
        options: JsValue,
    ) -> Result<MultiKeyring, JsValue> {
        let generator = field(&options, "generator").map(|g| keyring_of(&g, "generator"));
        let mut children = Vec::new();
        if let Some(list) = field(&options, "children") {
            let list = list
                .dyn_into::<Array>()
                .map_err(|_| invalid("children must be an array of keyrings"))?;
            for child in list.iter() {
                children.push(keyring_of(&child, "each child")?);
            }
        }
        let multi = EnvelopeMulti::new(generator.transpose()?, children).map_err(from_envelope)?;
        Ok(MultiKeyring { inner: Arc::new(multi) })
    }
}

/// The AWS KMS RSA keyring: `new KmsRsaKeyring({ keyId, publicKey?, encryptionAlgorithm,
/// client?, grantTokens? })`. With only the public key (DER SPKI from `GetPublicKey`, or
/// PEM) it encrypts any amount of data to a KMS RSA key without credentials; with a
/// client it decrypts through KMS `Decrypt`. Signed suites are refused (use
/// `suiteId: 0x0478` or another unsigned suite).
#[wasm_bindgen]
pub struct KmsRsaKeyring {
    inner: Arc<dyn Keyring>,
}
keyring_class!(KmsRsaKeyring);

#[wasm_bindgen]
impl KmsRsaKeyring {
    /// Creates the keyring; throws a `KmsError` for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(
            unchecked_param_type = "{ keyId: string, publicKey?: string | Uint8Array, encryptionAlgorithm: \"RSAES_OAEP_SHA_256\" | \"RSAES_OAEP_SHA_1\", client?: KmsClient, grantTokens?: string[] }"
        )]
        options: JsValue,
    ) -> Result<KmsRsaKeyring, JsValue> {
        let key_id = required_string(&options, "keyId")?;
        let algorithm = match required_string(&options, "encryptionAlgorithm")?.as_str() {
            "RSAES_OAEP_SHA_1" => KmsRsaEncryptionAlgorithm::RsaesOaepSha1,
            "RSAES_OAEP_SHA_256" => KmsRsaEncryptionAlgorithm::RsaesOaepSha256,
            other => return Err(invalid(&format!("unsupported encryptionAlgorithm \"{other}\""))),
        };
        let mut keyring = AwsKmsRsaKeyring::new(key_id, algorithm).map_err(from_envelope)?;
        if let Some(public) = field(&options, "publicKey") {
            let key = web_public_key(&public, "publicKey")?;
            keyring = keyring.with_public_key_ops(key).map_err(from_envelope)?;
        }
        if let Some(client) = field(&options, "client") {
            keyring = keyring.with_client(client_of(&client, "client")?);
        }
        let keyring = keyring.with_grant_tokens(strings_field(&options, "grantTokens")?);
        Ok(KmsRsaKeyring { inner: Arc::new(keyring) })
    }
}
