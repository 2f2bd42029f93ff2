//! Master key descriptions (framework feature `0005-awses-master-key`) turned into keyrings.
//!
//! A test lists one or more master keys. To decrypt, each becomes a keyring and several are
//! combined in a multi-keyring without a generator, so any of them may unwrap a data key. To
//! encrypt, the first is the multi-keyring's generator and the others are its children.

use std::collections::HashMap;
use std::sync::Arc;

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey};
use serde_json::Value;

use crate::keyring::multi::MultiKeyring;
use crate::keyring::raw_aes::RawAesKeyring;
use crate::keyring::raw_rsa::{RawRsaKeyring, RsaPadding};
use crate::keyring::Keyring;
use crate::vectors::keys::{KeyKind, KeysManifest};

/// What the keyrings are for: an encrypting RSA keyring needs a public key, a decrypting
/// one a private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Purpose {
    Encrypt,
    Decrypt,
}

/// Why a list of master keys gave no keyring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// A master key lives in AWS KMS (a skip: it needs a real AWS account).
    NeedsKms(String),
    /// A master key type or option this crate does not implement (a skip).
    Unsupported(String),
    /// The description is wrong (a failure).
    Invalid(String),
}

/// Builds keyrings from master key descriptions, reusing each one (RSA key parsing is slow).
pub(crate) struct KeyringBuilder<'a> {
    keys: &'a KeysManifest,
    cache: HashMap<(Purpose, String), Arc<dyn Keyring>>,
}

impl<'a> KeyringBuilder<'a> {
    pub(crate) fn new(keys: &'a KeysManifest) -> Self {
        Self { keys, cache: HashMap::new() }
    }

    /// One keyring for all of `master_keys` (a multi-keyring when there are several).
    pub(crate) fn keyring(
        &mut self,
        master_keys: &Value,
        purpose: Purpose,
    ) -> Result<Arc<dyn Keyring>, Unusable> {
        let Some(specs) = master_keys.as_array().filter(|a| !a.is_empty()) else {
            return Err(Unusable::Invalid("master-keys must be a non-empty list".into()));
        };
        // Classify every entry first: a broken entry fails the test even next to a KMS one.
        let results: Vec<Result<Arc<dyn Keyring>, Unusable>> =
            specs.iter().map(|spec| self.one(spec, purpose)).collect();
        let first = |wanted: fn(&Unusable) -> bool| {
            results.iter().find_map(|r| r.as_ref().err().filter(|u| wanted(u)).cloned())
        };
        if let Some(unusable) = first(|u| matches!(u, Unusable::Invalid(_)))
            .or_else(|| first(|u| matches!(u, Unusable::NeedsKms(_))))
            .or_else(|| first(|u| matches!(u, Unusable::Unsupported(_))))
        {
            return Err(unusable);
        }
        let mut keyrings: Vec<Arc<dyn Keyring>> =
            results.into_iter().filter_map(Result::ok).collect();
        if keyrings.len() == 1 {
            return Ok(keyrings.remove(0));
        }
        let multi = match purpose {
            Purpose::Encrypt => {
                let generator = keyrings.remove(0);
                MultiKeyring::new(Some(generator), keyrings)
            }
            Purpose::Decrypt => MultiKeyring::new(None, keyrings),
        };
        multi.map(|m| Arc::new(m) as Arc<dyn Keyring>).map_err(|e| Unusable::Invalid(e.to_string()))
    }

    fn one(&mut self, spec: &Value, purpose: Purpose) -> Result<Arc<dyn Keyring>, Unusable> {
        let cache_key = (purpose, spec.to_string());
        if let Some(keyring) = self.cache.get(&cache_key) {
            return Ok(Arc::clone(keyring));
        }
        let keyring = self.build(spec, purpose)?;
        self.cache.insert(cache_key, Arc::clone(&keyring));
        Ok(keyring)
    }

    fn build(&self, spec: &Value, purpose: Purpose) -> Result<Arc<dyn Keyring>, Unusable> {
        let kind = spec["type"].as_str().ok_or_else(|| invalid("a master key has no type"))?;
        match kind {
            "raw" => self.raw(spec, purpose),
            "aws-kms" | "aws-kms-mrk-aware" => {
                let name = spec["key"].as_str().ok_or_else(|| invalid("aws-kms: no key"))?;
                let key = self
                    .keys
                    .get(name)
                    .ok_or_else(|| invalid(format!("key {name:?} is not in the keys manifest")))?;
                Err(Unusable::NeedsKms(format!("needs AWS KMS key {}", key.key_id)))
            }
            "aws-kms-mrk-aware-discovery" => Err(Unusable::NeedsKms(format!(
                "needs AWS KMS (MRK-aware discovery in {})",
                spec["default-mrk-region"].as_str().unwrap_or("an unnamed region")
            ))),
            other if other.starts_with("aws-kms") => {
                Err(Unusable::NeedsKms(format!("needs AWS KMS (master key type {other})")))
            }
            other => {
                Err(Unusable::Unsupported(format!("master key type {other:?} is not supported")))
            }
        }
    }

    fn raw(&self, spec: &Value, purpose: Purpose) -> Result<Arc<dyn Keyring>, Unusable> {
        let name = spec["key"].as_str().ok_or_else(|| invalid("raw master key: no key"))?;
        let key = self
            .keys
            .get(name)
            .ok_or_else(|| invalid(format!("key {name:?} is not in the keys manifest")))?;
        let namespace = spec["provider-id"]
            .as_str()
            .ok_or_else(|| invalid(format!("raw master key {name:?}: no provider-id")))?;
        let key_name = spec["key-id"].as_str().unwrap_or(&key.key_id);
        match spec["encryption-algorithm"].as_str() {
            Some("aes") => {
                if key.kind != KeyKind::Symmetric {
                    return Err(invalid(format!("raw AES master key {name:?} is not symmetric")));
                }
                let bytes = key.base64_bytes().map_err(Unusable::Invalid)?;
                if key.bits.is_some_and(|bits| bits != bytes.len() as u64 * 8) {
                    return Err(invalid(format!("key {name:?}: bits does not match the material")));
                }
                let keyring = RawAesKeyring::new(namespace, key_name, &bytes)
                    .map_err(|e| invalid(format!("key {name:?}: {e}")))?;
                Ok(Arc::new(keyring))
            }
            Some("rsa") => {
                let padding = rsa_padding(spec)?;
                let pem = key.pem().map_err(Unusable::Invalid)?;
                let keyring = match key.kind {
                    KeyKind::Private => {
                        let keyring = private_key_keyring(namespace, key_name, padding, pem)?;
                        match purpose {
                            // The manifests encrypt with private-key entries too.
                            Purpose::Encrypt => keyring
                                .with_derived_public_key()
                                .map_err(|e| invalid(format!("key {name:?}: {e}")))?,
                            Purpose::Decrypt => keyring,
                        }
                    }
                    KeyKind::Public => public_key_keyring(namespace, key_name, padding, pem)?,
                    _ => {
                        return Err(invalid(format!(
                            "raw RSA master key {name:?} is neither private nor public"
                        )))
                    }
                };
                Ok(Arc::new(keyring))
            }
            Some(other) => Err(unsupported(format!("raw encryption-algorithm {other:?}"))),
            None => Err(invalid(format!("raw master key {name:?}: no encryption-algorithm"))),
        }
    }
}

fn unsupported(what: String) -> Unusable {
    Unusable::Unsupported(format!("{what} is not supported"))
}

fn invalid(message: impl Into<String>) -> Unusable {
    Unusable::Invalid(message.into())
}

fn rsa_padding(spec: &Value) -> Result<RsaPadding, Unusable> {
    match (spec["padding-algorithm"].as_str(), spec["padding-hash"].as_str()) {
        (Some("pkcs1"), _) => Ok(RsaPadding::Pkcs1v15),
        (Some("oaep-mgf1"), Some("sha1")) => Ok(RsaPadding::OaepSha1Mgf1Sha1),
        (Some("oaep-mgf1"), Some("sha256")) => Ok(RsaPadding::OaepSha256Mgf1Sha256),
        (Some("oaep-mgf1"), Some("sha384")) => Ok(RsaPadding::OaepSha384Mgf1Sha384),
        (Some("oaep-mgf1"), Some("sha512")) => Ok(RsaPadding::OaepSha512Mgf1Sha512),
        (Some("oaep-mgf1"), None) => Err(invalid("oaep-mgf1 needs a padding-hash")),
        (Some(algorithm), hash) => {
            Err(unsupported(format!("RSA padding {algorithm:?} with hash {hash:?}")))
        }
        (None, _) => Err(invalid("a raw RSA master key needs a padding-algorithm")),
    }
}

/// A decrypt-capable RSA keyring from PKCS #8 (`BEGIN PRIVATE KEY`) or PKCS #1
/// (`BEGIN RSA PRIVATE KEY`, as in the framework's early examples) PEM.
fn private_key_keyring(
    namespace: &str,
    key_name: &str,
    padding: RsaPadding,
    pem: &str,
) -> Result<RawRsaKeyring, Unusable> {
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        let der = rsa::RsaPrivateKey::from_pkcs1_pem(pem.trim())
            .ok()
            .and_then(|key| key.to_pkcs8_der().ok())
            .ok_or_else(|| invalid(format!("key {key_name:?}: bad PKCS #1 RSA private key")))?;
        return RawRsaKeyring::from_private_key_der(namespace, key_name, padding, der.as_bytes())
            .map_err(|e| invalid(format!("key {key_name:?}: {e}")));
    }
    RawRsaKeyring::from_private_key_pem(namespace, key_name, padding, pem)
        .map_err(|e| invalid(format!("key {key_name:?}: {e}")))
}

/// An encrypt-only RSA keyring from SPKI (`BEGIN PUBLIC KEY`) or PKCS #1
/// (`BEGIN RSA PUBLIC KEY`) PEM.
fn public_key_keyring(
    namespace: &str,
    key_name: &str,
    padding: RsaPadding,
    pem: &str,
) -> Result<RawRsaKeyring, Unusable> {
    if pem.contains("BEGIN RSA PUBLIC KEY") {
        let der = rsa::RsaPublicKey::from_pkcs1_pem(pem.trim())
            .ok()
            .and_then(|key| key.to_public_key_der().ok())
            .ok_or_else(|| invalid(format!("key {key_name:?}: bad PKCS #1 RSA public key")))?;
        return RawRsaKeyring::from_public_key_der(namespace, key_name, padding, der.as_bytes())
            .map_err(|e| invalid(format!("key {key_name:?}: {e}")));
    }
    RawRsaKeyring::from_public_key_pem(namespace, key_name, padding, pem)
        .map_err(|e| invalid(format!("key {key_name:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys() -> KeysManifest {
        KeysManifest::parse(&json!({
            "manifest": {"type": "keys", "version": 3},
            "keys": {
                "aes-256": {"type": "symmetric", "key-id": "aes-256", "bits": 256,
                            "encoding": "base64",
                            "material": "AAECAwQFBgcICRAREhMUFRYXGBkgISIjJCUmJygpMDE="},
                "kms": {"type": "aws-kms", "key-id": "arn:aws:kms:us-west-2:1:key/k"}
            }
        }))
        .unwrap()
    }

    #[test]
    fn kms_entries_are_skips_and_broken_entries_are_failures() {
        let keys = keys();
        let mut builder = KeyringBuilder::new(&keys);
        let aes = json!({"type": "raw", "key": "aes-256", "provider-id": "p",
                         "encryption-algorithm": "aes"});
        let kms = json!({"type": "aws-kms", "key": "kms"});
        assert!(builder.keyring(&json!([aes.clone()]), Purpose::Decrypt).is_ok());
        assert!(builder.keyring(&json!([aes.clone(), aes.clone()]), Purpose::Encrypt).is_ok());
        assert_eq!(
            builder.keyring(&json!([aes.clone(), kms.clone()]), Purpose::Decrypt).err(),
            Some(Unusable::NeedsKms("needs AWS KMS key arn:aws:kms:us-west-2:1:key/k".into()))
        );
        let missing = json!({"type": "raw", "key": "nope", "provider-id": "p",
                             "encryption-algorithm": "aes"});
        assert!(matches!(
            builder.keyring(&json!([kms, missing]), Purpose::Decrypt),
            Err(Unusable::Invalid(_))
        ));
        assert!(matches!(
            builder.keyring(&json!([{"type": "raw-ecdh"}]), Purpose::Decrypt),
            Err(Unusable::Unsupported(_))
        ));
        assert!(matches!(builder.keyring(&json!([]), Purpose::Decrypt), Err(Unusable::Invalid(_))));
    }

    #[test]
    fn rsa_paddings_follow_the_master_key_description() {
        let oaep = |hash: &str| json!({"padding-algorithm": "oaep-mgf1", "padding-hash": hash});
        assert_eq!(rsa_padding(&json!({"padding-algorithm": "pkcs1"})), Ok(RsaPadding::Pkcs1v15));
        assert_eq!(rsa_padding(&oaep("sha384")), Ok(RsaPadding::OaepSha384Mgf1Sha384));
        assert!(matches!(rsa_padding(&oaep("md5")), Err(Unusable::Unsupported(_))));
        assert!(matches!(
            rsa_padding(&json!({"padding-algorithm": "oaep-mgf1"})),
            Err(Unusable::Invalid(_))
        ));
    }
}
