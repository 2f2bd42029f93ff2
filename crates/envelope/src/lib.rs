//! `kms-envelope`: the AWS Encryption SDK message format, byte-compatible with the
//! official SDKs, with keyrings and cryptographic materials managers.
//!
//! Pure Rust with no I/O: a KMS is reached only through the [`kms::KmsClient`] trait.
//! Compiles for native targets and `wasm32-unknown-unknown`.
//!
//! Layers, bottom up:
//! - [`suite`]: the 11 algorithm suites and the commitment policies.
//! - [`materials`]: encryption context, encrypted data keys, encryption and decryption materials.
//! - [`keyring`]: the [`keyring::Keyring`] trait and its implementations.
//! - [`cmm`]: the [`cmm::CryptographicMaterialsManager`] trait: default, required encryption
//!   context, caching.
//! - `format`: header, frames and footer; `stream`: incremental encrypt and decrypt.
//! - [`item`]: DynamoDB item encryption after the AWS Database Encryption SDK
//!   (`docs/item-format.md`).
//! - [`signature`]: the ECDSA and RSA signature arithmetic behind a trait (RustCrypto by
//!   default natively; kms-wasm injects its lazily loaded EC module).

pub mod cache;
pub mod client;
pub mod cmm;
pub mod codec;
pub mod crypto;
pub mod der;
pub mod error;
pub mod format;
#[doc(hidden)]
pub mod fuzzing;
pub mod item;
pub mod keyring;
pub mod kms;
pub mod materials;
pub mod public_key;
pub mod signature;
pub mod stream;
pub mod suite;
pub mod vectors;

pub use client::{decrypt, encrypt, DecryptConfig, Decrypted, EncryptConfig};
pub use error::Error;
pub use stream::{Decryptor, Encryptor};

/// `Send + Sync` on native targets; nothing on wasm32, where JavaScript futures are not `Send`.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}

/// `Send + Sync` on native targets; nothing on wasm32, where JavaScript futures are not `Send`.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}
