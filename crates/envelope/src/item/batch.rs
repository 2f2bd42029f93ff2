//! Many items at once, with a report of what they cost: keyring calls (with a KMS keyring
//! over one key, one KMS request each), materials requests, and cache hits.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::item::{value, ItemEncryptor, ItemError};
use crate::keyring::Keyring;
use crate::materials::{DecryptionMaterials, EncryptedDataKey, EncryptionMaterials};

/// A shared count of keyring calls; clones count together.
#[derive(Debug, Clone, Default)]
pub struct KeyringCalls(Arc<AtomicU64>);

impl KeyringCalls {
    /// Calls so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A keyring that counts the `OnEncrypt` and `OnDecrypt` calls it passes on to another.
pub struct CountingKeyring {
    inner: Arc<dyn Keyring>,
    calls: KeyringCalls,
}

impl CountingKeyring {
    /// Counts the calls made to `inner`.
    pub fn new(inner: Arc<dyn Keyring>) -> Self {
        Self { inner, calls: KeyringCalls::default() }
    }

    /// A handle on the count.
    pub fn calls(&self) -> KeyringCalls {
        self.calls.clone()
    }
}

impl fmt::Debug for CountingKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingKeyring").field("calls", &self.calls.get()).finish_non_exhaustive()
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl Keyring for CountingKeyring {
    async fn on_encrypt(
        &self,
        materials: EncryptionMaterials,
    ) -> Result<EncryptionMaterials, Error> {
        self.calls.bump();
        self.inner.on_encrypt(materials).await
    }

    async fn on_decrypt(
        &self,
        materials: DecryptionMaterials,
        encrypted_data_keys: &[EncryptedDataKey],
    ) -> Result<DecryptionMaterials, Error> {
        self.calls.bump();
        self.inner.on_decrypt(materials, encrypted_data_keys).await
    }
}

/// What a batch cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchStats {
    /// Items processed.
    pub items: u64,
    /// Keyring calls the batch made, if the encryptor counts them.
    pub keyring_calls: Option<u64>,
    /// Materials served from the cache, if the encryptor caches.
    pub cache_hits: Option<u64>,
    /// Materials the cache had to fetch, if the encryptor caches.
    pub cache_misses: Option<u64>,
}

/// The items of a batch, in input order, and what they cost.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutput {
    /// The encrypted (or decrypted) items, as DynamoDB JSON.
    pub items: Vec<Value>,
    /// The cost.
    pub stats: BatchStats,
}

/// A batch stopped at the item at `index`.
#[derive(Debug, thiserror::Error)]
#[error("item {index} of the batch: {error}")]
pub struct BatchError {
    /// The position of the failing item.
    pub index: usize,
    /// Why it failed.
    #[source]
    pub error: ItemError,
}

impl ItemEncryptor {
    /// Encrypts `items` in order, each with its own data key from the materials manager
    /// (which a caching manager may share between items).
    ///
    /// # Errors
    /// [`BatchError`] at the first item that fails; nothing is returned for the others.
    pub async fn encrypt_items(&self, items: &[Value]) -> Result<BatchOutput, BatchError> {
        let parsed = items.iter().map(value::item_from_json);
        let (items, stats) = self.run_batch(parsed, true).await?;
        Ok(BatchOutput { items: items.iter().map(value::item_to_json).collect(), stats })
    }

    /// Decrypts `items` in order. Nothing is returned unless every item verifies.
    ///
    /// # Errors
    /// [`BatchError`] at the first item that fails.
    pub async fn decrypt_items(&self, items: &[Value]) -> Result<BatchOutput, BatchError> {
        let parsed = items.iter().map(value::item_from_json);
        let (items, stats) = self.run_batch(parsed, false).await?;
        Ok(BatchOutput { items: items.iter().map(value::item_to_json).collect(), stats })
    }

    /// [`ItemEncryptor::encrypt_items`] (`encrypt`) or [`ItemEncryptor::decrypt_items`] on
    /// items as JSON text; returns the output items as JSON text.
    ///
    /// # Errors
    /// As those, and [`ItemError::InvalidItem`] (at its index) for bad JSON.
    pub async fn process_items_json(
        &self,
        items: &[String],
        encrypt: bool,
    ) -> Result<(Vec<String>, BatchStats), BatchError> {
        let parsed = items.iter().map(|text| value::item_from_json_text(text));
        let (items, stats) = self.run_batch(parsed, encrypt).await?;
        Ok((items.iter().map(value::item_to_json_text).collect(), stats))
    }

    /// Encrypts or decrypts parsed items in order, stopping at the first failure.
    async fn run_batch(
        &self,
        items: impl Iterator<Item = Result<value::Item, ItemError>>,
        encrypt: bool,
    ) -> Result<(Vec<value::Item>, BatchStats), BatchError> {
        let before = self.snapshot();
        let mut out = Vec::with_capacity(items.size_hint().0);
        for (index, item) in items.enumerate() {
            let done = async {
                if encrypt {
                    self.encrypt_parsed(item?).await
                } else {
                    self.decrypt_parsed(item?).await
                }
            }
            .await
            .map_err(|error| BatchError { index, error })?;
            out.push(done);
        }
        let stats = self.stats_since(before, out.len());
        Ok((out, stats))
    }

    fn snapshot(&self) -> BatchStats {
        let cache = self.cache_stats();
        BatchStats {
            items: 0,
            keyring_calls: self.keyring_calls(),
            cache_hits: cache.map(|c| c.hits),
            cache_misses: cache.map(|c| c.misses),
        }
    }

    fn stats_since(&self, before: BatchStats, items: usize) -> BatchStats {
        let now = self.snapshot();
        let delta = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a.saturating_sub(b));
        BatchStats {
            items: items as u64,
            keyring_calls: delta(now.keyring_calls, before.keyring_calls),
            cache_hits: delta(now.cache_hits, before.cache_hits),
            cache_misses: delta(now.cache_misses, before.cache_misses),
        }
    }
}
