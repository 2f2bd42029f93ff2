//! The caching materials manager (spec `framework/caching-cmm.md`): reuses data keys from a
//! [`CryptographicMaterialsCache`] so that a stream of small messages costs few keyring (KMS)
//! calls, within limits on age, messages and bytes per data key.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kms_api::hash::{HashAlgorithm, Hasher};

use crate::cache::{
    duplicate_decryption_materials, duplicate_encryption_materials, CacheEntry, CacheId,
    CachedMaterials, Clock, CryptographicMaterialsCache, UsageStats, CACHE_ID_LEN_BYTES,
};
use crate::cmm::default::DefaultCmm;
use crate::cmm::{
    CryptographicMaterialsManager, DecryptMaterialsRequest, EncryptionMaterialsRequest,
};
use crate::codec::Codec;
use crate::crypto::fill_random;
use crate::error::Error;
use crate::format::header::serialize_encryption_context;
use crate::keyring::Keyring;
use crate::materials::{
    DecryptionMaterials, EncryptedDataKey, EncryptionContext, EncryptionMaterials,
};
use crate::suite::{AlgorithmSuite, CommitmentPolicy, Kdf};

/// Default limit on messages per cached data key: 2^32.
pub const DEFAULT_LIMIT_MESSAGES: u64 = 1 << 32;
/// Largest accepted limit on messages per cached data key: 2^32.
pub const MAX_LIMIT_MESSAGES: u64 = 1 << 32;
/// Default (and largest accepted) limit on bytes per cached data key: 2^63 - 1.
pub const DEFAULT_LIMIT_BYTES: u64 = (1 << 63) - 1;

/// Counters of a [`CachingCmm`] since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Requests answered from the cache.
    pub hits: u64,
    /// Cacheable requests the cache could not answer (absent, expired, used up, or made for
    /// a different commitment policy, required keys or reproduced context).
    pub misses: u64,
    /// Requests that may not use the cache (identity-KDF suite, unknown or too large
    /// plaintext length).
    pub bypasses: u64,
    /// Calls to the underlying materials manager, i.e. to the keyring and so to KMS.
    pub underlying_calls: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    bypasses: AtomicU64,
    underlying_calls: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds a [`CachingCmm`]; see [`CachingCmm::builder`].
pub struct CachingCmmBuilder {
    underlying: Arc<dyn CryptographicMaterialsManager>,
    cache: Arc<dyn CryptographicMaterialsCache>,
    clock: Arc<dyn Clock>,
    max_age: Duration,
    partition_id: Option<String>,
    limit_messages: u64,
    limit_bytes: u64,
}

impl CachingCmmBuilder {
    /// Shares cache entries with every caching CMM on the same cache that uses the same
    /// partition id. Without it, the CMM gets a random partition id of its own.
    #[must_use]
    pub fn partition_id(mut self, partition_id: impl Into<String>) -> Self {
        self.partition_id = Some(partition_id.into());
        self
    }

    /// At most this many messages per data key (1 to 2^32; default 2^32).
    #[must_use]
    pub fn limit_messages(mut self, limit: u64) -> Self {
        self.limit_messages = limit;
        self
    }

    /// At most this many plaintext bytes per data key (0 to 2^63 - 1; default 2^63 - 1).
    #[must_use]
    pub fn limit_bytes(mut self, limit: u64) -> Self {
        self.limit_bytes = limit;
        self
    }

    /// The caching materials manager.
    ///
    /// # Errors
    /// [`Error::ApiMisuse`] if the max age is under one millisecond or a limit is out of
    /// range; [`Error::Random`] if no random partition id could be made.
    pub fn build(self) -> Result<CachingCmm, Error> {
        //= framework/caching-cmm.md#cache-limit-ttl
        //# This value must be greater than zero.
        let max_age_ms = u64::try_from(self.max_age.as_millis()).unwrap_or(u64::MAX);
        if max_age_ms == 0 {
            return Err(Error::ApiMisuse("the cache max age must be at least 1 ms".into()));
        }
        if self.limit_messages == 0 || self.limit_messages > MAX_LIMIT_MESSAGES {
            return Err(Error::ApiMisuse("the message limit must be between 1 and 2^32".into()));
        }
        if self.limit_bytes > DEFAULT_LIMIT_BYTES {
            return Err(Error::ApiMisuse("the byte limit must be at most 2^63 - 1".into()));
        }
        //= framework/caching-cmm.md#partition-id
        //# If this parameter is not set, the caching CMM MUST set a partition ID
        //# that uniquely identifies the respective caching CMM.
        let partition_id = match self.partition_id {
            Some(id) => id,
            None => random_uuid_v4()?,
        };
        let partition_hash = sha512(partition_id.as_bytes());
        Ok(CachingCmm {
            underlying: self.underlying,
            cache: self.cache,
            clock: self.clock,
            partition_id,
            partition_hash,
            max_age_ms,
            limit_messages: self.limit_messages,
            limit_bytes: self.limit_bytes,
            counters: Counters::default(),
        })
    }
}

/// The caching materials manager.
///
/// Encryption materials are cached only for requests that state a maximum plaintext length
/// (at most the byte limit) and do not ask for an identity-KDF suite; decryption materials are
/// cached for every suite except the identity-KDF ones.
pub struct CachingCmm {
    underlying: Arc<dyn CryptographicMaterialsManager>,
    cache: Arc<dyn CryptographicMaterialsCache>,
    clock: Arc<dyn Clock>,
    partition_id: String,
    partition_hash: [u8; CACHE_ID_LEN_BYTES],
    max_age_ms: u64,
    limit_messages: u64,
    limit_bytes: u64,
    counters: Counters,
}

impl CachingCmm {
    /// Starts a caching CMM over `underlying`, storing entries in `cache` for at most
    /// `max_age` as measured by `clock`.
    pub fn builder(
        underlying: Arc<dyn CryptographicMaterialsManager>,
        cache: Arc<dyn CryptographicMaterialsCache>,
        clock: Arc<dyn Clock>,
        max_age: Duration,
    ) -> CachingCmmBuilder {
        CachingCmmBuilder {
            underlying,
            cache,
            clock,
            max_age,
            partition_id: None,
            limit_messages: DEFAULT_LIMIT_MESSAGES,
            limit_bytes: DEFAULT_LIMIT_BYTES,
        }
    }

    //= framework/caching-cmm.md#initialization
    //# If the caller provides a keyring,
    //# then the caching CMM MUST set its underlying CMM
    //# to a default CMM initialized with the keyring.
    /// Like [`CachingCmm::builder`], over a [`DefaultCmm`] with `keyring`.
    // On wasm32 `dyn Keyring` is not `Send + Sync` by design (see `MaybeSendSync`).
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    pub fn builder_with_keyring(
        keyring: Arc<dyn Keyring>,
        cache: Arc<dyn CryptographicMaterialsCache>,
        clock: Arc<dyn Clock>,
        max_age: Duration,
    ) -> CachingCmmBuilder {
        Self::builder(Arc::new(DefaultCmm::new(keyring)), cache, clock, max_age)
    }

    /// The partition id (random unless one was set).
    pub fn partition_id(&self) -> &str {
        &self.partition_id
    }

    /// How long an entry is served, in milliseconds.
    pub fn max_age_ms(&self) -> u64 {
        self.max_age_ms
    }

    /// The limit on messages per data key.
    pub fn limit_messages(&self) -> u64 {
        self.limit_messages
    }

    /// The limit on plaintext bytes per data key.
    pub fn limit_bytes(&self) -> u64 {
        self.limit_bytes
    }

    /// Hits, misses, bypasses and underlying calls so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.counters.hits.load(Ordering::Relaxed),
            misses: self.counters.misses.load(Ordering::Relaxed),
            bypasses: self.counters.bypasses.load(Ordering::Relaxed),
            underlying_calls: self.counters.underlying_calls.load(Ordering::Relaxed),
        }
    }

    async fn encrypt_bypass(
        &self,
        request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error> {
        Counters::bump(&self.counters.bypasses);
        Counters::bump(&self.counters.underlying_calls);
        self.underlying.get_encryption_materials(request).await
    }

    fn exceeds_limits(&self, usage: UsageStats) -> bool {
        usage.messages_encrypted > self.limit_messages || usage.bytes_encrypted > self.limit_bytes
    }
}

impl fmt::Debug for CachingCmm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingCmm")
            .field("partition_id", &self.partition_id)
            .field("max_age_ms", &self.max_age_ms)
            .field("limit_messages", &self.limit_messages)
            .field("limit_bytes", &self.limit_bytes)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl CryptographicMaterialsManager for CachingCmm {
    async fn get_encryption_materials(
        &self,
        request: EncryptionMaterialsRequest,
    ) -> Result<EncryptionMaterials, Error> {
        //= framework/caching-cmm.md#get-encryption-materials
        //# If the algorithm suite requested contains a Identity KDF
        //# or if the request does not include a Max Plaintext Length value,
        //# the caching CMM MUST obtain the encryption materials by making a call to the
        //# underlying CMM's Get Encryption Materials function.
        if request.suite.is_some_and(is_identity_kdf) {
            return self.encrypt_bypass(request).await;
        }
        let Some(plaintext_len) = request.max_plaintext_length else {
            return self.encrypt_bypass(request).await;
        };
        // Materials used for more bytes than the limit at once can never come from the cache.
        if plaintext_len > self.limit_bytes {
            return self.encrypt_bypass(request).await;
        }

        //# The caching CMM MUST use the formulas specified in Appendix A
        //# in order to compute the cache entry identifier.
        let id = encryption_id(&self.partition_hash, request.suite, &request.encryption_context)?;
        let binding = encryption_binding(&request);
        let this_use = UsageStats { messages_encrypted: 1, bytes_encrypted: plaintext_len };

        //# When the caching CMM obtains encryption materials from the cryptographic materials
        //# cache, the caching CMM MUST update the usage stats for the cache entry retrieved.
        if let Some(entry) = self.cache.get_cache_entry(&id, self.clock.now_ms(), this_use) {
            if self.exceeds_limits(entry.usage) {
                self.cache.delete_cache_entry(&id);
            } else if entry.request_binding == binding {
                if let CachedMaterials::Encryption(materials) = entry.materials {
                    //# If a cache entry is found, the caching CMM MUST return the encryption
                    //# materials retrieved.
                    Counters::bump(&self.counters.hits);
                    return Ok(materials);
                }
            }
        }
        Counters::bump(&self.counters.misses);

        //# If the caching CMM makes a call to the underlying CMM's Get Encryption Materials
        //# operation, then the request MUST include a Max Plaintext Length
        //# with a value equal to its Limit Bytes value.
        let mut inner = request;
        inner.max_plaintext_length = Some(self.limit_bytes);
        Counters::bump(&self.counters.underlying_calls);
        let materials = self.underlying.get_encryption_materials(inner).await?;

        // The request named no suite, but the underlying manager may still have chosen an
        // identity-KDF one: never cache that either.
        if !is_identity_kdf(materials.suite) {
            //= framework/caching-cmm.md#usage-stats
            //# When the caching CMM stores encryption materials into the cryptographic
            //# materials cache, the caching CMM MUST set the initial usage stats for the
            //# cache entry.
            let now = self.clock.now_ms();
            self.cache.put_cache_entry(
                id,
                CacheEntry {
                    materials: CachedMaterials::Encryption(duplicate_encryption_materials(
                        &materials,
                    )),
                    creation_time_ms: now,
                    expiry_time_ms: now.saturating_add(self.max_age_ms),
                    usage: this_use,
                    request_binding: binding,
                },
            );
        }
        Ok(materials)
    }

    async fn decrypt_materials(
        &self,
        request: DecryptMaterialsRequest<'_>,
    ) -> Result<DecryptionMaterials, Error> {
        //= framework/caching-cmm.md#decrypt-materials
        //# If the algorithm suite requested contains a Identity KDF,
        //# the caching CMM MUST obtain the decryption materials by making a call to the
        //# underlying CMM's Decrypt Materials function.
        if is_identity_kdf(request.suite) {
            Counters::bump(&self.counters.bypasses);
            Counters::bump(&self.counters.underlying_calls);
            return self.underlying.decrypt_materials(request).await;
        }

        let id = decryption_id(
            &self.partition_hash,
            request.suite,
            request.encrypted_data_keys,
            &request.encryption_context,
        )?;
        let binding = decryption_binding(&request);
        if let Some(entry) =
            self.cache.get_cache_entry(&id, self.clock.now_ms(), UsageStats::default())
        {
            if entry.request_binding == binding {
                if let CachedMaterials::Decryption(materials) = entry.materials {
                    //# If a cache entry is found, the caching CMM MUST return the decryption
                    //# materials retrieved.
                    Counters::bump(&self.counters.hits);
                    return Ok(materials);
                }
            }
        }
        Counters::bump(&self.counters.misses);

        Counters::bump(&self.counters.underlying_calls);
        let materials = self.underlying.decrypt_materials(request).await?;
        //# If the algorithm suite requested does not contain an Identity KDF,
        //# the caching CMM MUST add the decryption materials obtained from the underlying CMM
        //# into the underlying CMC.
        let now = self.clock.now_ms();
        self.cache.put_cache_entry(
            id,
            CacheEntry {
                materials: CachedMaterials::Decryption(duplicate_decryption_materials(&materials)),
                creation_time_ms: now,
                expiry_time_ms: now.saturating_add(self.max_age_ms),
                usage: UsageStats::default(),
                request_binding: binding,
            },
        );
        Ok(materials)
    }
}

fn is_identity_kdf(suite: &AlgorithmSuite) -> bool {
    suite.kdf == Kdf::Identity
}

/// The cache entry id of an encryption materials request (spec `framework/caching-cmm.md`,
/// appendix A, "Encryption Materials, Without/With Algorithm Suite").
///
/// # Errors
/// [`Error::EncryptionContext`] if the context is too large to serialize.
pub fn encryption_materials_cache_id(
    partition_id: &str,
    suite: Option<&AlgorithmSuite>,
    encryption_context: &EncryptionContext,
) -> Result<CacheId, Error> {
    let partition_hash = sha512(partition_id.as_bytes());
    encryption_id(&partition_hash, suite, encryption_context)
}

/// The cache entry id of a decrypt materials request (spec `framework/caching-cmm.md`,
/// appendix A, "Decryption Materials").
///
/// # Errors
/// [`Error::EncryptionContext`] if the context is too large to serialize;
/// [`Error::ApiMisuse`] if an encrypted data key field is longer than 65,535 bytes.
pub fn decryption_materials_cache_id(
    partition_id: &str,
    suite: &AlgorithmSuite,
    encrypted_data_keys: &[EncryptedDataKey],
    encryption_context: &EncryptionContext,
) -> Result<CacheId, Error> {
    let partition_hash = sha512(partition_id.as_bytes());
    decryption_id(&partition_hash, suite, encrypted_data_keys, encryption_context)
}

//= framework/caching-cmm.md#encryption-materials-without-algorithm-suite
//# ENTRY_ID = SHA512(
//#     SHA512(UTF8Encode(cachingCMM.partitionId))
//#     + 0x00
//#     + SHA512(SerializeEncryptionContext(getEncryptionMaterialsRequest.encryptionContext))
//# )
//= framework/caching-cmm.md#encryption-materials-with-algorithm-suite
//# ENTRY_ID = SHA512(
//#     SHA512(UTF8Encode(cachingCMM.partitionId))
//#     + 0x01
//#     + AlgorithmSuiteId(getEncryptionMaterialsRequest.algorithmSuite)
//#     + SHA512(SerializeEncryptionContext(getEncryptionMaterialsRequest.encryptionContext))
//# )
fn encryption_id(
    partition_hash: &[u8; CACHE_ID_LEN_BYTES],
    suite: Option<&AlgorithmSuite>,
    encryption_context: &EncryptionContext,
) -> Result<CacheId, Error> {
    let context_hash = sha512(&serialize_encryption_context(encryption_context)?);
    let mut h = Hasher::new(HashAlgorithm::Sha512);
    h.update(partition_hash);
    match suite {
        None => h.update(&[0x00]),
        Some(suite) => {
            h.update(&[0x01]);
            h.update(&suite.id.to_be_bytes());
        }
    }
    h.update(&context_hash);
    Ok(CacheId::new(h.finalize().to_array()))
}

//= framework/caching-cmm.md#decryption-materials
//# EDK_HASHES = [SHA512(SerializeEncryptedDataKey(key)) for key in decryptMaterialsRequest.encryptedDataKeys]
//# ENTRY_ID = SHA512(
//#     SHA512(UTF8Encode(cachingCMM.partitionId))
//#     + AlgorithmSuiteId(decryptMaterialsRequest.algorithmSuite)
//#     + CONCATENATE(SORTED(EDK_HASHES))
//#     + PADDING_OF_512_ZERO_BITS
//#     + SHA512(SerializeEncryptionContext(decryptMaterialsRequest.encryptionContext))
//# )
fn decryption_id(
    partition_hash: &[u8; CACHE_ID_LEN_BYTES],
    suite: &AlgorithmSuite,
    encrypted_data_keys: &[EncryptedDataKey],
    encryption_context: &EncryptionContext,
) -> Result<CacheId, Error> {
    let mut edk_hashes = Vec::with_capacity(encrypted_data_keys.len());
    for edk in encrypted_data_keys {
        let bytes = serialize_encrypted_data_key(edk)?;
        edk_hashes.push(sha512(&bytes));
    }
    kms_api::sort::sort_with(&mut edk_hashes, Ord::cmp);
    let context_hash = sha512(&serialize_encryption_context(encryption_context)?);
    let mut h = Hasher::new(HashAlgorithm::Sha512);
    h.update(partition_hash);
    h.update(&suite.id.to_be_bytes());
    for edk_hash in &edk_hashes {
        h.update(edk_hash);
    }
    h.update(&[0u8; 64]);
    h.update(&context_hash);
    Ok(CacheId::new(h.finalize().to_array()))
}

/// The SHA-512 of `data`.
fn sha512(data: &[u8]) -> [u8; CACHE_ID_LEN_BYTES] {
    kms_api::hash::digest(HashAlgorithm::Sha512, data).to_array()
}

/// What an encryption entry depends on beyond its id: the commitment policy (an entry made
/// without a named suite under one policy must not serve another) and the required keys (they
/// decide what the message stores).
fn encryption_binding(request: &EncryptionMaterialsRequest) -> [u8; CACHE_ID_LEN_BYTES] {
    let mut keys: Vec<&str> =
        request.required_encryption_context_keys.iter().map(String::as_str).collect();
    kms_api::sort::sort_with(&mut keys, Ord::cmp);
    keys.dedup();
    let mut h = Hasher::new(HashAlgorithm::Sha512);
    h.update(b"encrypt");
    h.update(&[policy_tag(request.commitment_policy)]);
    h.update(&(keys.len() as u64).to_be_bytes());
    for key in keys {
        h.update(&(key.len() as u64).to_be_bytes());
        h.update(key.as_bytes());
    }
    h.finalize().to_array()
}

/// What a decryption entry depends on beyond its id: the commitment policy and the reproduced
/// context (an entry must not let a later caller skip the checks of the reproduced context).
fn decryption_binding(request: &DecryptMaterialsRequest<'_>) -> [u8; CACHE_ID_LEN_BYTES] {
    let mut h = Hasher::new(HashAlgorithm::Sha512);
    h.update(b"decrypt");
    h.update(&[policy_tag(request.commitment_policy)]);
    let reproduced = request.reproduced_encryption_context.iter().flatten();
    h.update(&(reproduced.clone().count() as u64).to_be_bytes());
    for (key, value) in reproduced {
        h.update(&(key.len() as u64).to_be_bytes());
        h.update(key.as_bytes());
        h.update(&(value.len() as u64).to_be_bytes());
        h.update(value.as_bytes());
    }
    h.finalize().to_array()
}

fn policy_tag(policy: CommitmentPolicy) -> u8 {
    match policy {
        CommitmentPolicy::ForbidEncryptAllowDecrypt => 0,
        CommitmentPolicy::RequireEncryptAllowDecrypt => 1,
        CommitmentPolicy::RequireEncryptRequireDecrypt => 2,
    }
}

/// One entry of the header's encrypted data keys (spec `data-format/message-header.md`).
fn serialize_encrypted_data_key(edk: &EncryptedDataKey) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    edk.encode(&mut out)?;
    Ok(out)
}

/// A random version 4 UUID in its usual text form (what the official SDKs use as a default
/// partition id).
fn random_uuid_v4() -> Result<String, Error> {
    let mut b = [0u8; 16];
    fill_random(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    // 8-4-4-4-12 hex digits, the dashes pushed in passing (no String slicing).
    let mut id = String::with_capacity(36);
    for (i, digit) in hex::encode(b).chars().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            id.push('-');
        }
        id.push(digit);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant_bits() {
        let id = random_uuid_v4().unwrap();
        assert_eq!(id.len(), 36);
        for (i, c) in id.char_indices() {
            if matches!(i, 8 | 13 | 18 | 23) {
                assert_eq!(c, '-', "{id}");
            } else {
                assert!(matches!(c, '0'..='9' | 'a'..='f'), "{id}");
            }
        }
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, random_uuid_v4().unwrap());
    }

    #[test]
    fn edk_serialization_matches_the_format() {
        let edk = EncryptedDataKey {
            provider_id: "p".into(),
            provider_info: vec![1, 2],
            ciphertext: vec![3],
        };
        assert_eq!(serialize_encrypted_data_key(&edk).unwrap(), [0, 1, b'p', 0, 2, 1, 2, 0, 1, 3]);
    }
}
