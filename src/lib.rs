//! `kms-wasm`: the JavaScript-facing WebAssembly module (npm package `kms-wasm`).
//!
//! Translation only: every class wraps a kms-envelope type, every byte goes in and out as a
//! `Uint8Array`, every failure is a `KmsError` (an `Error` with `code` and `status`). The
//! glue exists only on wasm32; natively this crate is just [`version`].
//!
//! - `KmsClient` (client.rs, over `fetch` in transport.rs): GenerateDataKey, Encrypt,
//!   Decrypt, GetPublicKey, GenerateRandom.
//! - Keyrings (keyring.rs), `CachingMaterialsManager` (cache.rs).
//! - `encrypt` / `decrypt` (message.rs), `encryptStream` / `decryptStream` (stream.rs); their
//!   bulk AES-GCM runs in WebCrypto when that is faster (subtle_aead.rs).
//! - With feature `full` only (the `kms-wasm/full` build, scripts/build-wasm):
//!   `ItemEncryptor` (item.rs), DynamoDB item encryption, and the `KmsClient` key set-up
//!   calls (admin.rs): CreateKey, CreateAlias, DescribeKey, ListAliases, EnableKey,
//!   DisableKey. The client build leaves them out (42 KB gzipped).
//! - `PublicKey`, `publicKeyEncrypt`, `verify` (public_key.rs), with WebCrypto for RSA-OAEP
//!   and `RAW` verification (subtle.rs).
//! - WebCrypto ECDSA for the footers of signed one-shot messages (websign.rs).
//! - The EC module (ec.rs): a second WebAssembly module (`kms_wasm_ec`, crate
//!   `kms-wasm-ec`) with the ECDSA and RSA arithmetic, loaded only for signed suites and
//!   `DIGEST` verification; `ecModuleLoaded()` tells whether it has been.

// kms-envelope shares keyrings and materials managers as `Arc<dyn ..>`; on wasm32 they are
// deliberately not `Send + Sync` (JavaScript is single-threaded), which this lint flags.
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

use wasm_bindgen::prelude::wasm_bindgen;

#[cfg(all(target_arch = "wasm32", feature = "full"))]
mod admin;
#[cfg(target_arch = "wasm32")]
mod cache;
#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(target_arch = "wasm32")]
mod ec;
#[cfg(target_arch = "wasm32")]
mod error;
#[cfg(target_arch = "wasm32")]
mod handle;
#[cfg(all(target_arch = "wasm32", feature = "full"))]
mod item;
#[cfg(target_arch = "wasm32")]
mod js_bytes;
#[cfg(target_arch = "wasm32")]
mod keyring;
#[cfg(target_arch = "wasm32")]
mod message;
#[cfg(target_arch = "wasm32")]
mod public_key;
#[cfg(target_arch = "wasm32")]
mod stream;
#[cfg(target_arch = "wasm32")]
mod subtle;
#[cfg(target_arch = "wasm32")]
mod subtle_aead;
#[cfg(target_arch = "wasm32")]
mod transport;
#[cfg(target_arch = "wasm32")]
mod typings;
#[cfg(target_arch = "wasm32")]
mod websign;

#[cfg(all(target_arch = "wasm32", feature = "full"))]
pub use crate::item::ItemEncryptor;
#[cfg(target_arch = "wasm32")]
pub use crate::{
    cache::CachingMaterialsManager,
    client::KmsClient,
    ec::ec_module_loaded,
    keyring::{KmsKeyring, KmsRsaKeyring, MultiKeyring, RawAesKeyring, RawRsaKeyring},
    message::{decrypt, encrypt},
    public_key::{public_key_encrypt, verify, PublicKey},
    stream::{decrypt_stream, encrypt_stream, TransformStream},
};

/// The heap: TLSF (constant-time allocation and freeing, free neighbours merged) instead of the
/// default dlmalloc, for 3 KB gzipped less code. rlsf's smallest options: no reallocation
/// routine of its own (a growing buffer is moved, as by most allocators; measured no slower)
/// and no merging of a `memory.grow` into the previous pool, which rlsf 0.2.3 never manages
/// on wasm32 anyway (it compares the pool's first page with the memory's end; a review found
/// it, and measured memory growth as with dlmalloc). A buffer moved to grow leaves its old
/// block unwiped: buffers of secrets grow through `kms_envelope::crypto::extend_secret`,
/// which wipes it.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: rlsf::SmallGlobalTlsf = rlsf::SmallGlobalTlsf::new();

/// The version of this package, as declared in `Cargo.toml`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_manifest() {
        assert_eq!(version(), env!("CARGO_PKG_VERSION"));
        assert!(!version().is_empty());
    }
}
