//! Key material protection: every key material version is sealed under a root key
//! (AES-256-GCM) before it reaches storage, and unsealed material is cached in memory.
//!
//! The root key is never stored in the database. It comes from, in order of precedence:
//! a file named on the command line, the `KMS_ROOT_KEY` environment variable (64 hex
//! characters), or `root.key` in the data directory, created with mode 0600 on first start.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand;
use zeroize::Zeroizing;

use crate::keypairs::{KeyKind, SecretKey};
use crate::model::{KeyMaterial, KeyRef};

/// Name of the root key file in the data directory.
pub const ROOT_KEY_FILE: &str = "root.key";
/// Environment variable that may carry the root key as 64 hex characters.
pub const ROOT_KEY_ENV: &str = "KMS_ROOT_KEY";
/// Length of a key material version and of the root key.
pub const KEY_LEN_BYTES: usize = 32;
/// Length of sealed material: nonce + key + tag.
pub const SEALED_LEN_BYTES: usize = NONCE_LEN + KEY_LEN_BYTES + 16;
/// HKDF salt for subkeys derived from the root key.
const SUBKEY_SALT: &[u8] = b"kms-server root key subkeys v1";
/// A value sealed under the root key at first start, to detect a wrong root key at the next.
const ROOT_CHECK_PLAINTEXT: &[u8; 32] = b"kms-server root key check v1....";

/// A keystore failure. Deliberately says nothing about which check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// The root key could not be read, created or parsed.
    #[error("root key: {0}")]
    RootKey(String),
    /// Sealed material failed authentication (wrong root key or corrupt record).
    #[error("sealed key material failed to authenticate")]
    Unseal,
    /// The system random generator or cipher failed.
    #[error("cryptographic failure")]
    Crypto,
}

/// Where the root key comes from.
#[derive(Debug, Clone)]
pub enum RootKeySource {
    /// A file holding 64 hex characters (whitespace around them is ignored).
    File(PathBuf),
    /// The value itself, 64 hex characters (from the environment).
    Hex(Zeroizing<String>),
    /// `root.key` in the data directory, created if missing.
    DataDir(PathBuf),
}

impl RootKeySource {
    /// Picks the source: an explicit file, else `KMS_ROOT_KEY`, else the data directory.
    pub fn choose(explicit_file: Option<&Path>, data_dir: &Path) -> Self {
        if let Some(file) = explicit_file {
            return RootKeySource::File(file.to_owned());
        }
        match std::env::var(ROOT_KEY_ENV) {
            Ok(value) if !value.is_empty() => RootKeySource::Hex(Zeroizing::new(value)),
            _ => RootKeySource::DataDir(data_dir.to_owned()),
        }
    }
}

/// What a sealed secret other than symmetric key material is for. It is bound into the
/// sealing's additional data, so a sealed secret of one purpose cannot stand in for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretPurpose {
    /// Asymmetric private key (PKCS #8) or HMAC key material of a KMS key.
    KeyMaterial,
    /// The RSA private key that unwraps imported key material.
    ImportWrappingKey,
}

impl SecretPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            SecretPurpose::KeyMaterial => b"kms-server secret key material v1\0",
            SecretPurpose::ImportWrappingKey => b"kms-server import wrapping key v1\0",
        }
    }
}

type SecretCache = HashMap<(KeyRef, u32), Arc<SecretKey>>;

/// Seals and unseals key material, and caches unsealed material.
pub struct Keystore {
    root: LessSafeKey,
    /// HKDF-SHA256 pseudorandom key extracted from the root key, for purpose-bound subkeys.
    subkeys: aws_lc_rs::hkdf::Prk,
    cache: RwLock<HashMap<(KeyRef, u32), Arc<LessSafeKey>>>,
    secrets: RwLock<SecretCache>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keystore(<root key redacted>)")
    }
}

impl Keystore {
    /// Loads (or creates) the root key.
    ///
    /// # Errors
    /// [`KeystoreError::RootKey`] if the key cannot be read, is malformed, or cannot be created.
    pub fn open(source: &RootKeySource) -> Result<Self, KeystoreError> {
        let bytes = match source {
            RootKeySource::File(path) => read_hex_file(path)?,
            RootKeySource::Hex(text) => parse_hex_key(text)?,
            RootKeySource::DataDir(dir) => {
                let path = dir.join(ROOT_KEY_FILE);
                if path.exists() {
                    read_hex_file(&path)?
                } else {
                    create_root_key_file(&path)?
                }
            }
        };
        Self::from_bytes(&bytes)
    }

    /// A keystore over raw root key bytes (tests).
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if the cipher cannot be keyed.
    pub fn from_bytes(root: &[u8; KEY_LEN_BYTES]) -> Result<Self, KeystoreError> {
        let unbound = UnboundKey::new(&AES_256_GCM, root).map_err(|_| KeystoreError::Crypto)?;
        let subkeys =
            aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, SUBKEY_SALT).extract(root);
        Ok(Self {
            root: LessSafeKey::new(unbound),
            subkeys,
            cache: RwLock::new(HashMap::new()),
            secrets: RwLock::new(HashMap::new()),
        })
    }

    /// A 32-byte secret for one purpose, derived from the root key with HKDF-SHA256
    /// (`info` = `purpose`): the same root key always gives the same secret, and no
    /// purpose's secret says anything about the root key or another purpose's.
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if the derivation fails.
    pub fn derive_secret(&self, purpose: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
        let info = [purpose];
        let okm = self
            .subkeys
            .expand(&info, aws_lc_rs::hkdf::HKDF_SHA256)
            .map_err(|_| KeystoreError::Crypto)?;
        let mut out = Zeroizing::new([0u8; 32]);
        okm.fill(out.as_mut()).map_err(|_| KeystoreError::Crypto)?;
        Ok(out)
    }

    /// A value to store at first start; [`Keystore::verify_check_value`] detects a different root key later.
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if sealing fails.
    pub fn check_value(&self) -> Result<Vec<u8>, KeystoreError> {
        self.seal(ROOT_CHECK_PLAINTEXT, b"root-check")
    }

    /// Checks a stored check value.
    ///
    /// # Errors
    /// [`KeystoreError::Unseal`] if it was made under another root key.
    pub fn verify_check_value(&self, sealed: &[u8]) -> Result<(), KeystoreError> {
        let opened = self.unseal(sealed, b"root-check")?;
        if opened.as_slice() == ROOT_CHECK_PLAINTEXT {
            Ok(())
        } else {
            Err(KeystoreError::Unseal)
        }
    }

    /// Generates new key material for `key` version `version` and returns it sealed.
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if the random generator or cipher fails.
    pub fn new_sealed_material(
        &self,
        key: &KeyRef,
        version: u32,
    ) -> Result<Vec<u8>, KeystoreError> {
        let mut material = Zeroizing::new([0u8; KEY_LEN_BYTES]);
        rand::fill(material.as_mut_slice()).map_err(|_| KeystoreError::Crypto)?;
        self.seal(material.as_slice(), &material_aad(key, version))
    }

    /// The AES-256-GCM key of one material version, unsealed once and then cached.
    ///
    /// # Errors
    /// [`KeystoreError::Unseal`] if the sealed material does not authenticate.
    pub fn material_key(
        &self,
        key: &KeyRef,
        material: &KeyMaterial,
    ) -> Result<Arc<LessSafeKey>, KeystoreError> {
        let cache_key = (key.clone(), material.version);
        if let Some(found) = self.read_cache().get(&cache_key) {
            return Ok(Arc::clone(found));
        }
        let opened = self.unseal(&material.sealed, &material_aad(key, material.version))?;
        if opened.len() != KEY_LEN_BYTES {
            return Err(KeystoreError::Unseal);
        }
        let unbound = UnboundKey::new(&AES_256_GCM, &opened).map_err(|_| KeystoreError::Crypto)?;
        let aead = Arc::new(LessSafeKey::new(unbound));
        self.write_cache().insert(cache_key, Arc::clone(&aead));
        Ok(aead)
    }

    /// Seals given (imported) 256-bit symmetric key material for `key` version `version`.
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if the material is not 32 bytes or sealing fails.
    pub fn seal_material(
        &self,
        key: &KeyRef,
        version: u32,
        material: &[u8],
    ) -> Result<Vec<u8>, KeystoreError> {
        if material.len() != KEY_LEN_BYTES {
            return Err(KeystoreError::Crypto);
        }
        self.seal(material, &material_aad(key, version))
    }

    /// Re-seals one material version of key `from` for key `to`: the keys of a multi-Region
    /// set hold the same material, each sealed under its own ARN. `symmetric` says how the
    /// material was sealed: as AES key material ([`Keystore::seal_material`]) or as a
    /// secret key ([`Keystore::seal_secret`] with [`SecretPurpose::KeyMaterial`]).
    ///
    /// # Errors
    /// [`KeystoreError::Unseal`] if the material does not authenticate for `from`.
    pub fn reseal_for(
        &self,
        from: &KeyRef,
        to: &KeyRef,
        material: &KeyMaterial,
        symmetric: bool,
    ) -> Result<Vec<u8>, KeystoreError> {
        let opened = self.open_material(from, material, symmetric)?;
        self.seal(&opened, &Self::material_binding(to, material.version, symmetric))
    }

    /// The plaintext of one material version of `key` (to send it, sealed again, to a peer
    /// deployment). `symmetric` as for [`Keystore::reseal_for`].
    ///
    /// # Errors
    /// [`KeystoreError::Unseal`] if the material does not authenticate for `key`.
    pub fn open_material(
        &self,
        key: &KeyRef,
        material: &KeyMaterial,
        symmetric: bool,
    ) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.unseal(&material.sealed, &Self::material_binding(key, material.version, symmetric))
    }

    /// Seals material received from a peer for `key` version `version`, as
    /// [`Keystore::open_material`] would open it.
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if sealing fails.
    pub fn seal_received_material(
        &self,
        key: &KeyRef,
        version: u32,
        material: &[u8],
        symmetric: bool,
    ) -> Result<Vec<u8>, KeystoreError> {
        self.seal(material, &Self::material_binding(key, version, symmetric))
    }

    fn material_binding(key: &KeyRef, version: u32, symmetric: bool) -> Vec<u8> {
        if symmetric {
            material_aad(key, version)
        } else {
            secret_aad(key, SecretPurpose::KeyMaterial, version)
        }
    }

    /// Seals a secret (asymmetric private key, HMAC key, import wrapping key) of `key`.
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if sealing fails.
    pub fn seal_secret(
        &self,
        key: &KeyRef,
        purpose: SecretPurpose,
        version: u32,
        secret: &[u8],
    ) -> Result<Vec<u8>, KeystoreError> {
        self.seal(secret, &secret_aad(key, purpose, version))
    }

    /// Unseals a secret sealed by [`Keystore::seal_secret`].
    ///
    /// # Errors
    /// [`KeystoreError::Unseal`] if it does not authenticate for this key, purpose and version.
    pub fn unseal_secret(
        &self,
        key: &KeyRef,
        purpose: SecretPurpose,
        version: u32,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.unseal(sealed, &secret_aad(key, purpose, version))
    }

    /// The parsed asymmetric or HMAC key of one material version, unsealed and parsed once
    /// and then cached. `agreement` selects ECDH rather than ECDSA for elliptic-curve keys.
    ///
    /// # Errors
    /// [`KeystoreError::Unseal`] if the sealed material does not authenticate or parse.
    pub fn secret_key(
        &self,
        key: &KeyRef,
        material: &KeyMaterial,
        kind: KeyKind,
        agreement: bool,
    ) -> Result<Arc<SecretKey>, KeystoreError> {
        let cache_key = (key.clone(), material.version);
        let cached = self
            .secrets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&cache_key)
            .cloned();
        if let Some(found) = cached {
            return Ok(found);
        }
        let opened = self.unseal_secret(
            key,
            SecretPurpose::KeyMaterial,
            material.version,
            &material.sealed,
        )?;
        let parsed =
            Arc::new(SecretKey::load(kind, agreement, &opened).map_err(|_| KeystoreError::Unseal)?);
        self.secrets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(cache_key, Arc::clone(&parsed));
        Ok(parsed)
    }

    /// Seals a credential secret (IAM access keys, STS sessions) for storage, bound to
    /// `label` (for example the access key id).
    ///
    /// # Errors
    /// [`KeystoreError::Crypto`] if sealing fails.
    pub fn seal_credential(&self, secret: &[u8], label: &str) -> Result<Vec<u8>, KeystoreError> {
        self.seal(secret, format!("credential:{label}").as_bytes())
    }

    /// Opens a secret sealed by [`Keystore::seal_credential`] with the same label.
    ///
    /// # Errors
    /// [`KeystoreError::Unseal`] if it does not authenticate.
    pub fn unseal_credential(
        &self,
        sealed: &[u8],
        label: &str,
    ) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        self.unseal(sealed, format!("credential:{label}").as_bytes())
    }

    /// Drops every cached material of a key (after deletion).
    pub fn forget(&self, key: &KeyRef) {
        self.write_cache().retain(|(cached, _), _| cached != key);
        self.secrets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(cached, _), _| cached != key);
    }

    fn read_cache(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<(KeyRef, u32), Arc<LessSafeKey>>> {
        // A panic while holding the lock cannot leave the map inconsistent (single inserts).
        self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_cache(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<(KeyRef, u32), Arc<LessSafeKey>>> {
        self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeystoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce).map_err(|_| KeystoreError::Crypto)?;
        let mut buf = Zeroizing::new(plaintext.to_vec());
        let tag = self
            .root
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                buf.as_mut_slice(),
            )
            .map_err(|_| KeystoreError::Crypto)?;
        let mut out = Vec::with_capacity(NONCE_LEN + buf.len() + tag.as_ref().len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn unseal(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(KeystoreError::Unseal);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeystoreError::Unseal)?;
        let mut buf = Zeroizing::new(rest.to_vec());
        let len = self
            .root
            .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
            .map_err(|_| KeystoreError::Unseal)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

fn material_aad(key: &KeyRef, version: u32) -> Vec<u8> {
    let mut aad = b"kms-server key material v1\0".to_vec();
    aad.extend_from_slice(key.arn().as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn secret_aad(key: &KeyRef, purpose: SecretPurpose, version: u32) -> Vec<u8> {
    let mut aad = purpose.label().to_vec();
    aad.extend_from_slice(key.arn().as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn parse_hex_key(text: &str) -> Result<Zeroizing<[u8; KEY_LEN_BYTES]>, KeystoreError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN_BYTES]);
    hex::decode_to_slice(text.trim(), key.as_mut_slice()).map_err(|_| {
        KeystoreError::RootKey(format!("root key must be {} hex characters", KEY_LEN_BYTES * 2))
    })?;
    Ok(key)
}

fn read_hex_file(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN_BYTES]>, KeystoreError> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| KeystoreError::RootKey(format!("cannot read {}: {e}", path.display())))?,
    );
    parse_hex_key(&text)
}

fn create_root_key_file(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN_BYTES]>, KeystoreError> {
    use std::os::unix::fs::OpenOptionsExt as _;

    let mut key = Zeroizing::new([0u8; KEY_LEN_BYTES]);
    rand::fill(key.as_mut_slice()).map_err(|_| KeystoreError::Crypto)?;
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.as_slice())));
    let fail = |e: std::io::Error| {
        KeystoreError::RootKey(format!("cannot create {}: {e}", path.display()))
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(fail)?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MaterialOrigin;

    fn key_ref() -> KeyRef {
        KeyRef {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
        }
    }

    fn material(sealed: Vec<u8>) -> KeyMaterial {
        KeyMaterial {
            version: 1,
            material_id: "00".repeat(32),
            sealed,
            created_ms: 0,
            origin: MaterialOrigin::Original,
            public_key: Vec::new(),
        }
    }

    #[test]
    fn root_key_file_is_created_with_mode_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let source = RootKeySource::DataDir(dir.path().to_owned());
        let first = Keystore::open(&source).unwrap();
        let mode = std::fs::metadata(dir.path().join(ROOT_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let check = first.check_value().unwrap();
        let second = Keystore::open(&source).unwrap();
        second.verify_check_value(&check).unwrap();
    }

    #[test]
    fn a_different_root_key_is_detected() {
        let a = Keystore::from_bytes(&[1; 32]).unwrap();
        let b = Keystore::from_bytes(&[2; 32]).unwrap();
        let check = a.check_value().unwrap();
        assert!(matches!(b.verify_check_value(&check), Err(KeystoreError::Unseal)));
        let sealed = a.new_sealed_material(&key_ref(), 1).unwrap();
        assert!(b.material_key(&key_ref(), &material(sealed)).is_err());
    }

    #[test]
    fn sealed_material_is_bound_to_key_and_version() {
        let ks = Keystore::from_bytes(&[7; 32]).unwrap();
        let sealed = ks.new_sealed_material(&key_ref(), 1).unwrap();
        assert_eq!(sealed.len(), SEALED_LEN_BYTES);
        assert!(ks.material_key(&key_ref(), &material(sealed.clone())).is_ok());
        let mut other = key_ref();
        other.key_id = "00000000-0000-0000-0000-000000000000".into();
        assert!(ks.material_key(&other, &material(sealed.clone())).is_err());
        let mut tampered = sealed;
        tampered[20] ^= 1;
        ks.forget(&key_ref());
        assert!(ks.material_key(&key_ref(), &material(tampered)).is_err());
    }

    #[test]
    fn resealed_material_opens_for_the_replica_only() {
        let ks = Keystore::from_bytes(&[7; 32]).unwrap();
        let primary = key_ref();
        let replica = KeyRef { region: "eu-west-1".into(), ..key_ref() };
        let original = material(ks.new_sealed_material(&primary, 1).unwrap());
        let copy = material(ks.reseal_for(&primary, &replica, &original, true).unwrap());
        assert!(ks.material_key(&replica, &copy).is_ok());
        ks.forget(&primary);
        assert!(ks.material_key(&primary, &copy).is_err());
        assert!(ks.reseal_for(&replica, &primary, &original, true).is_err());
        let secret = ks.seal_secret(&primary, SecretPurpose::KeyMaterial, 1, b"pkcs8").unwrap();
        let moved = ks.reseal_for(&primary, &replica, &material(secret), false).unwrap();
        let opened = ks.unseal_secret(&replica, SecretPurpose::KeyMaterial, 1, &moved).unwrap();
        assert_eq!(opened.as_slice(), b"pkcs8");
    }

    #[test]
    fn hex_root_key_must_be_64_hex_chars() {
        assert!(Keystore::open(&RootKeySource::Hex(Zeroizing::new("ab".into()))).is_err());
        let good = Zeroizing::new("11".repeat(32));
        assert!(Keystore::open(&RootKeySource::Hex(good)).is_ok());
    }
}
