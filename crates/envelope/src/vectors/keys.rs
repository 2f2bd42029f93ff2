//! Keys manifests (framework feature `0002-keys`, versions 1 to 3): named key material that
//! the tests of decrypt and encrypt manifests refer to.

use std::collections::BTreeMap;
use std::fmt;

use kms_api::base64;
use serde_json::Value;

/// The kind of a key in a keys manifest (`type`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// `symmetric`: AES key bytes.
    Symmetric,
    /// `private`: an RSA private key (it can also encrypt, with its public half).
    Private,
    /// `public`: an RSA public key (encrypt only).
    Public,
    /// `aws-kms`: a key in a real AWS account; `key-id` is its ARN.
    AwsKms,
    /// Any other type (e.g. `static-branch-key`), kept by name.
    Other(String),
}

/// One key of a keys manifest.
#[derive(Clone)]
pub struct KeyEntry {
    /// The kind of key.
    pub kind: KeyKind,
    /// `key-id`: for raw keys, the key name written into encrypted data keys; for AWS KMS
    /// keys, the key ARN. Defaults to the key's name in the manifest (versions 1 and 2).
    pub key_id: String,
    /// `algorithm` (`aes` or `rsa`), if given.
    pub algorithm: Option<String>,
    /// `bits`, if given (0 for AWS KMS keys in some manifests).
    pub bits: Option<u64>,
    /// `encoding` (`base64` or `pem`), if given.
    pub encoding: Option<String>,
    /// Whether the manifest says the key may encrypt.
    pub encrypt: bool,
    /// Whether the manifest says the key may decrypt.
    pub decrypt: bool,
    /// The encoded material (lines already joined for version 1).
    material: Option<String>,
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Test keys are public, but keep the habit: material is never printed.
        f.debug_struct("KeyEntry")
            .field("kind", &self.kind)
            .field("key_id", &self.key_id)
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits)
            .field("has_material", &self.material.is_some())
            .finish_non_exhaustive()
    }
}

impl KeyEntry {
    /// The decoded bytes of a `base64` key (AES keys).
    ///
    /// # Errors
    /// A message if the key has no material, another encoding, or bad base64.
    pub fn base64_bytes(&self) -> Result<Vec<u8>, String> {
        if self.encoding.as_deref() != Some("base64") {
            return Err(format!("key {:?} is not base64-encoded", self.key_id));
        }
        let material = self.material_text()?;
        base64::decode(material.trim())
            .map_err(|e| format!("key {:?}: bad base64 material: {e}", self.key_id))
    }

    /// The PEM text of a `pem` key (RSA keys).
    ///
    /// # Errors
    /// A message if the key has no material or another encoding.
    pub fn pem(&self) -> Result<&str, String> {
        if self.encoding.as_deref() != Some("pem") {
            return Err(format!("key {:?} is not PEM-encoded", self.key_id));
        }
        self.material_text()
    }

    fn material_text(&self) -> Result<&str, String> {
        self.material.as_deref().ok_or_else(|| format!("key {:?} has no material", self.key_id))
    }
}

/// A parsed keys manifest.
#[derive(Debug, Clone)]
pub struct KeysManifest {
    /// `manifest.version`.
    pub version: u64,
    keys: BTreeMap<String, KeyEntry>,
}

impl KeysManifest {
    /// The keys manifest versions this parser reads.
    pub const VERSIONS: std::ops::RangeInclusive<u64> = 1..=3;

    /// Parses a keys manifest.
    ///
    /// # Errors
    /// A message if it is not a keys manifest of a supported version or a key is malformed.
    pub fn parse(value: &Value) -> Result<Self, String> {
        if value["manifest"]["type"].as_str() != Some("keys") {
            return Err("manifest.type is not \"keys\"".into());
        }
        let version = match value["manifest"]["version"].as_u64() {
            Some(v) if Self::VERSIONS.contains(&v) => v,
            other => return Err(format!("keys manifest version {other:?} is not supported")),
        };
        let Some(entries) = value["keys"].as_object() else {
            return Err("the keys manifest has no \"keys\" object".into());
        };
        let mut keys = BTreeMap::new();
        for (name, entry) in entries {
            keys.insert(name.clone(), parse_entry(name, entry)?);
        }
        Ok(Self { version, keys })
    }

    /// The key called `name`.
    pub fn get(&self, name: &str) -> Option<&KeyEntry> {
        self.keys.get(name)
    }

    /// Every key, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &KeyEntry)> {
        self.keys.iter().map(|(name, key)| (name.as_str(), key))
    }
}

fn parse_entry(name: &str, entry: &Value) -> Result<KeyEntry, String> {
    let kind = match entry["type"].as_str() {
        Some("symmetric") => KeyKind::Symmetric,
        Some("private") => KeyKind::Private,
        Some("public") => KeyKind::Public,
        Some("aws-kms") => KeyKind::AwsKms,
        Some(other) => KeyKind::Other(other.to_owned()),
        None => return Err(format!("key {name:?} has no type")),
    };
    let material = match &entry["material"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        // Version 1: a list of lines and the separator to join them with.
        Value::Array(lines) => {
            let separator = entry["line-separator"].as_str().unwrap_or("");
            let lines: Option<Vec<&str>> = lines.iter().map(Value::as_str).collect();
            match lines {
                Some(lines) => Some(lines.join(separator)),
                None => return Err(format!("key {name:?}: material lines must be strings")),
            }
        }
        _ => return Err(format!("key {name:?}: material must be a string or a list of lines")),
    };
    if kind == KeyKind::AwsKms && entry["key-id"].as_str().is_none() {
        return Err(format!("AWS KMS key {name:?} has no key-id"));
    }
    Ok(KeyEntry {
        kind,
        key_id: entry["key-id"].as_str().unwrap_or(name).to_owned(),
        algorithm: entry["algorithm"].as_str().map(str::to_owned),
        bits: entry["bits"].as_u64(),
        encoding: entry["encoding"].as_str().map(str::to_owned),
        encrypt: entry["encrypt"].as_bool().unwrap_or(true),
        decrypt: entry["decrypt"].as_bool().unwrap_or(true),
        material,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_joins_material_lines_and_names_keys_by_their_manifest_name() {
        let manifest = serde_json::json!({
            "manifest": {"type": "keys", "version": 1},
            "keys": {
                "aes-128": {"type": "symmetric", "algorithm": "aes", "bits": 128,
                            "encoding": "base64", "line-separator": "",
                            "material": ["AAECAwQFBgcI", "CRAREhMUFQ=="]},
                "kms": {"type": "aws-kms", "key-id": "arn:aws:kms:us-west-2:1:key/x"}
            }
        });
        let keys = KeysManifest::parse(&manifest).unwrap();
        let aes = keys.get("aes-128").unwrap();
        assert_eq!(aes.key_id, "aes-128");
        assert_eq!(aes.base64_bytes().unwrap().len(), 16);
        assert!(aes.pem().is_err());
        assert_eq!(keys.get("kms").unwrap().kind, KeyKind::AwsKms);
        assert!(!format!("{aes:?}").contains("AAEC"));
    }

    #[test]
    fn version_3_takes_the_key_id_and_rejects_unknown_versions() {
        let manifest = serde_json::json!({
            "manifest": {"type": "keys", "version": 3},
            "keys": {"a": {"type": "symmetric", "key-id": "other-name", "encoding": "base64",
                           "material": "AAECAwQFBgcICRAREhMUFQ=="}}
        });
        assert_eq!(KeysManifest::parse(&manifest).unwrap().get("a").unwrap().key_id, "other-name");
        let v9 = serde_json::json!({"manifest": {"type": "keys", "version": 9}, "keys": {}});
        assert!(KeysManifest::parse(&v9).is_err());
    }
}
