//! The raw RSA keyring (spec `framework/raw-rsa-keyring.md`): wraps data keys locally with
//! an RSA key pair the caller holds.

use std::fmt;
use std::sync::Arc;

use rand_core::OsRng;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::keyring::raw_aes::{check_raw_namespace, data_key_or_generate};
use crate::keyring::Keyring;
use crate::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionMaterials, PlaintextDataKey,
};
use crate::MaybeSendSync;

/// The RSA padding schemes the spec allows. OAEP always uses MGF1 with the same hash
/// and no label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RsaPadding {
    /// PKCS #1 v1.5 encryption padding.
    Pkcs1v15,
    /// OAEP with SHA-1 and MGF1 with SHA-1.
    OaepSha1Mgf1Sha1,
    /// OAEP with SHA-256 and MGF1 with SHA-256.
    OaepSha256Mgf1Sha256,
    /// OAEP with SHA-384 and MGF1 with SHA-384.
    OaepSha384Mgf1Sha384,
    /// OAEP with SHA-512 and MGF1 with SHA-512.
    OaepSha512Mgf1Sha512,
}

impl RsaPadding {
    /// Every supported padding scheme.
    pub const ALL: [RsaPadding; 5] = [
        RsaPadding::Pkcs1v15,
        RsaPadding::OaepSha1Mgf1Sha1,
        RsaPadding::OaepSha256Mgf1Sha256,
        RsaPadding::OaepSha384Mgf1Sha384,
        RsaPadding::OaepSha512Mgf1Sha512,
    ];

    /// RSA-encrypts `message` with this padding.
    fn encrypt(self, key: &RsaPublicKey, message: &[u8]) -> Result<Vec<u8>, Error> {
        let mut rng = OsRng;
        let result = match self {
            RsaPadding::Pkcs1v15 => key.encrypt(&mut rng, Pkcs1v15Encrypt, message),
            RsaPadding::OaepSha1Mgf1Sha1 => key.encrypt(&mut rng, Oaep::new::<Sha1>(), message),
            RsaPadding::OaepSha256Mgf1Sha256 => {
                key.encrypt(&mut rng, Oaep::new::<Sha256>(), message)
            }
            RsaPadding::OaepSha384Mgf1Sha384 => {
                key.encrypt(&mut rng, Oaep::new::<Sha384>(), message)
            }
            RsaPadding::OaepSha512Mgf1Sha512 => {
                key.encrypt(&mut rng, Oaep::new::<Sha512>(), message)
            }
        };
        // The rsa crate's errors say nothing secret, but keep the text fixed anyway.
        result.map_err(|_| Error::Keyring("RSA encryption of the data key failed".into()))
    }

    /// RSA-decrypts `ciphertext`, with blinding; `None` on any failure.
    fn decrypt(self, key: &RsaPrivateKey, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let mut rng = OsRng;
        let result = match self {
            RsaPadding::Pkcs1v15 => key.decrypt_blinded(&mut rng, Pkcs1v15Encrypt, ciphertext),
            RsaPadding::OaepSha1Mgf1Sha1 => {
                key.decrypt_blinded(&mut rng, Oaep::new::<Sha1>(), ciphertext)
            }
            RsaPadding::OaepSha256Mgf1Sha256 => {
                key.decrypt_blinded(&mut rng, Oaep::new::<Sha256>(), ciphertext)
            }
            RsaPadding::OaepSha384Mgf1Sha384 => {
                key.decrypt_blinded(&mut rng, Oaep::new::<Sha384>(), ciphertext)
            }
            RsaPadding::OaepSha512Mgf1Sha512 => {
                key.decrypt_blinded(&mut rng, Oaep::new::<Sha512>(), ciphertext)
            }
        };
        result.ok().map(Zeroizing::new)
    }
}

/// An RSA public key that encrypts data keys: [`RsaPublicKey`] (the `rsa` crate), or
/// WebCrypto in the kms-wasm package (which keeps the `rsa` crate out of its build).
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait RsaEncryptKey: MaybeSendSync {
    /// The modulus length in bits.
    fn modulus_bits(&self) -> usize;

    /// RSA-encrypts `message` with `padding`.
    ///
    /// # Errors
    /// [`Error::Keyring`] if encryption fails (e.g. the message is too long);
    /// [`Error::ApiMisuse`] for a padding this key cannot do.
    async fn encrypt(&self, padding: RsaPadding, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// An RSA private key that decrypts data keys: [`RsaPrivateKey`] (the `rsa` crate), or
/// WebCrypto in the kms-wasm package.
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
pub trait RsaDecryptKey: MaybeSendSync {
    /// RSA-decrypts `ciphertext` with `padding`; `None` on any failure (the cause is not
    /// revealed).
    async fn decrypt(&self, padding: RsaPadding, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>>;

    /// The public half of this key, if this implementation can derive it.
    fn public_key(&self) -> Option<Arc<dyn RsaEncryptKey>> {
        None
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl RsaEncryptKey for RsaPublicKey {
    fn modulus_bits(&self) -> usize {
        self.n().bits()
    }

    async fn encrypt(&self, padding: RsaPadding, message: &[u8]) -> Result<Vec<u8>, Error> {
        padding.encrypt(self, message)
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl RsaDecryptKey for RsaPrivateKey {
    async fn decrypt(&self, padding: RsaPadding, ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        padding.decrypt(self, ciphertext)
    }

    fn public_key(&self) -> Option<Arc<dyn RsaEncryptKey>> {
        Some(Arc::new(self.to_public_key()))
    }
}

/// Parses an X.509 `SubjectPublicKeyInfo` RSA public key from PEM (`BEGIN PUBLIC KEY`).
pub(crate) fn public_key_from_pem(pem: &str) -> Result<RsaPublicKey, Error> {
    RsaPublicKey::from_public_key_pem(pem.trim())
        .map_err(|_| Error::InvalidKey("not a PEM SubjectPublicKeyInfo RSA public key".into()))
}

/// Parses an X.509 `SubjectPublicKeyInfo` RSA public key from DER.
pub(crate) fn public_key_from_der(der: &[u8]) -> Result<RsaPublicKey, Error> {
    RsaPublicKey::from_public_key_der(der)
        .map_err(|_| Error::InvalidKey("not a DER SubjectPublicKeyInfo RSA public key".into()))
}

/// A keyring that wraps data keys with a local RSA key.
///
/// Encrypted data keys it writes: provider id = key namespace; provider info = key name;
/// ciphertext = the RSA ciphertext of the data key.
///
/// Public keys load from X.509 `SubjectPublicKeyInfo` and private keys from PKCS #8
/// `PrivateKeyInfo`, each as PEM or DER. A keyring with only a public key can encrypt but
/// not decrypt. A keyring with only a private key can decrypt; following the spec ("The
/// keyring MUST NOT derive a public key from a specified private key"), it encrypts only
/// after the caller opts in with [`RawRsaKeyring::with_derived_public_key`].
///
/// # Security
/// Decryption uses the `rsa` 0.9 crate, whose private-key operations are affected by
/// RUSTSEC-2023-0071 (the "Marvin" timing side channel): an attacker who can time many
/// decryptions with this key may recover plaintexts. Decryption here is blinded, which
/// does not close that channel. Do not expose decryption with a raw RSA keyring to
/// untrusted, remotely timed inputs; prefer the AWS KMS RSA keyring, where the private key
/// stays in KMS.
pub struct RawRsaKeyring {
    key_namespace: String,
    key_name: String,
    padding: RsaPadding,
    public_key: Option<Arc<dyn RsaEncryptKey>>,
    private_key: Option<Arc<dyn RsaDecryptKey>>,
}

impl fmt::Debug for RawRsaKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawRsaKeyring")
            .field("key_namespace", &self.key_namespace)
            .field("key_name", &self.key_name)
            .field("padding", &self.padding)
            .field("public_key_bits", &self.public_key.as_ref().map(|k| k.modulus_bits()))
            .field("has_private_key", &self.private_key.is_some())
            .finish()
    }
}

impl RawRsaKeyring {
    /// A keyring over caller-provided key operations (kms-wasm passes WebCrypto keys).
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the namespace starts with `aws-kms` or neither key is given.
    pub fn from_key_ops(
        key_namespace: impl Into<String>,
        key_name: impl Into<String>,
        padding: RsaPadding,
        public_key: Option<Arc<dyn RsaEncryptKey>>,
        private_key: Option<Arc<dyn RsaDecryptKey>>,
    ) -> Result<Self, Error> {
        if public_key.is_none() && private_key.is_none() {
            return Err(Error::ApiMisuse(
                "the raw RSA keyring needs a public or private key".into(),
            ));
        }
        let (key_namespace, key_name) = (key_namespace.into(), key_name.into());
        check_raw_namespace(&key_namespace)?;
        Ok(Self { key_namespace, key_name, padding, public_key, private_key })
    }

    fn with_keys(
        key_namespace: String,
        key_name: String,
        padding: RsaPadding,
        public_key: Option<RsaPublicKey>,
        private_key: Option<RsaPrivateKey>,
    ) -> Result<Self, Error> {
        let public_key = public_key.map(|k| Arc::new(k) as Arc<dyn RsaEncryptKey>);
        let private_key = private_key.map(|k| Arc::new(k) as Arc<dyn RsaDecryptKey>);
        Self::from_key_ops(key_namespace, key_name, padding, public_key, private_key)
    }

    /// An encrypt-only keyring from a PEM `SubjectPublicKeyInfo` (`BEGIN PUBLIC KEY`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the PEM is not an RSA public key;
    /// [`Error::ApiMisuse`] if the namespace starts with `aws-kms`.
    pub fn from_public_key_pem(
        key_namespace: impl Into<String>,
        key_name: impl Into<String>,
        padding: RsaPadding,
        pem: &str,
    ) -> Result<Self, Error> {
        let key = public_key_from_pem(pem)?;
        Self::with_keys(key_namespace.into(), key_name.into(), padding, Some(key), None)
    }

    /// An encrypt-only keyring from a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// As [`RawRsaKeyring::from_public_key_pem`].
    pub fn from_public_key_der(
        key_namespace: impl Into<String>,
        key_name: impl Into<String>,
        padding: RsaPadding,
        der: &[u8],
    ) -> Result<Self, Error> {
        let key = public_key_from_der(der)?;
        Self::with_keys(key_namespace.into(), key_name.into(), padding, Some(key), None)
    }

    /// A decrypt-only keyring from a PEM PKCS #8 `PrivateKeyInfo` (`BEGIN PRIVATE KEY`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the PEM is not an RSA private key;
    /// [`Error::ApiMisuse`] if the namespace starts with `aws-kms`.
    pub fn from_private_key_pem(
        key_namespace: impl Into<String>,
        key_name: impl Into<String>,
        padding: RsaPadding,
        pem: &str,
    ) -> Result<Self, Error> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem.trim())
            .map_err(|_| Error::InvalidKey("not a PEM PKCS #8 RSA private key".into()))?;
        Self::with_keys(key_namespace.into(), key_name.into(), padding, None, Some(key))
    }

    /// A decrypt-only keyring from a DER PKCS #8 `PrivateKeyInfo`.
    ///
    /// # Errors
    /// As [`RawRsaKeyring::from_private_key_pem`].
    pub fn from_private_key_der(
        key_namespace: impl Into<String>,
        key_name: impl Into<String>,
        padding: RsaPadding,
        der: &[u8],
    ) -> Result<Self, Error> {
        let key = RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|_| Error::InvalidKey("not a DER PKCS #8 RSA private key".into()))?;
        Self::with_keys(key_namespace.into(), key_name.into(), padding, None, Some(key))
    }

    /// Adds the public key of this keyring's private key, so that it can encrypt too. The
    /// caller's explicit choice: the keyring never derives it on its own.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the keyring has no private key.
    pub fn with_derived_public_key(mut self) -> Result<Self, Error> {
        let Some(private_key) = self.private_key.as_ref() else {
            return Err(Error::ApiMisuse("the raw RSA keyring has no private key".into()));
        };
        let Some(public_key) = private_key.public_key() else {
            return Err(Error::ApiMisuse("this private key cannot derive its public key".into()));
        };
        self.public_key = Some(public_key);
        Ok(self)
    }

    /// The key namespace (written as the provider id).
    pub fn key_namespace(&self) -> &str {
        &self.key_namespace
    }

    /// The key name (written as the provider info).
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The padding scheme.
    pub fn padding(&self) -> RsaPadding {
        self.padding
    }

    /// Whether the keyring can encrypt (it has a public key).
    pub fn can_encrypt(&self) -> bool {
        self.public_key.is_some()
    }

    /// Whether the keyring can decrypt (it has a private key).
    pub fn can_decrypt(&self) -> bool {
        self.private_key.is_some()
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Keyring for RawRsaKeyring {
    async fn on_encrypt(
        &self,
        mut materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        //= framework/raw-rsa-keyring.md#onencrypt
        //# OnEncrypt MUST fail if this keyring does not have a specified public key.
        let Some(public_key) = self.public_key.as_ref() else {
            return Err(Error::ApiMisuse(
                "the raw RSA keyring has no public key, so it cannot encrypt".into(),
            ));
        };
        let data_key = data_key_or_generate(&mut materials)?;
        let ciphertext = public_key.encrypt(self.padding, data_key.expose_secret()).await?;
        materials.encrypted_data_keys.push(EncryptedDataKey {
            provider_id: self.key_namespace.clone(),
            provider_info: self.key_name.as_bytes().to_vec(),
            ciphertext,
        });
        Ok(materials)
    }

    async fn on_decrypt(
        &self,
        mut materials: DecryptionMaterials,
        encrypted_data_keys: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error> {
        materials.require_no_data_key()?;
        //= framework/raw-rsa-keyring.md#ondecrypt
        //# OnDecrypt MUST fail if this keyring does not have a specified private key.
        let Some(private_key) = self.private_key.as_ref() else {
            return Err(Error::ApiMisuse(
                "the raw RSA keyring has no private key, so it cannot decrypt".into(),
            ));
        };
        for edk in encrypted_data_keys {
            //= framework/raw-rsa-keyring.md#ondecrypt
            //# For each encrypted data key, the keyring MUST attempt to decrypt the encrypted
            //# data key into plaintext using RSA if and only if the following is true:
            //# [provider info = key name; provider id = key namespace]
            if edk.provider_id != self.key_namespace
                || edk.provider_info != self.key_name.as_bytes()
            {
                continue;
            }
            let Some(mut key) = private_key.decrypt(self.padding, &edk.ciphertext).await else {
                continue;
            };
            if key.len() != materials.suite.data_key_len() {
                return Err(Error::Keyring(
                    "raw RSA keyring: the decrypted data key has the wrong length".into(),
                ));
            }
            materials.set_plaintext_data_key(PlaintextDataKey::new(std::mem::take(&mut *key)))?;
            return Ok(materials);
        }
        Err(Error::NoDecryptableDataKey)
    }
}
