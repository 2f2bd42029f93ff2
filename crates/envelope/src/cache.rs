//! Cryptographic materials caches (spec `framework/cryptographic-materials-cache.md` and
//! `framework/local-cryptographic-materials-cache.md`) and the injected [`Clock`].
//!
//! The crate reads no clock of its own: whoever builds a caching materials manager passes a
//! [`Clock`] (kms-wasm wraps `Date.now()`, tests use [`ManualClock`]). Cache entries hold
//! plaintext data keys and signing keys; both zeroize themselves when dropped, so an entry
//! that is evicted, replaced, deleted or dropped with the cache leaves no key bytes behind.
//! Callers always receive copies ([`CacheEntry::duplicate`]), never the stored keys.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::materials::{DecryptionMaterials, EncryptionMaterials};
use crate::MaybeSendSync;

/// A wall clock, injected by the caller: milliseconds since the Unix epoch.
///
/// Only differences between readings matter, so any monotonic millisecond counter works.
pub trait Clock: MaybeSendSync {
    /// The current time in milliseconds.
    fn now_ms(&self) -> u64;
}

/// A [`Clock`] that moves only when told to: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: u64) -> Self {
        Self { now_ms: AtomicU64::new(start_ms) }
    }

    /// Sets the time.
    pub fn set_ms(&self, now_ms: u64) {
        self.now_ms.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let by_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self
            .now_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| Some(t.saturating_add(by_ms)));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

/// Length of a [`CacheId`] in bytes (a SHA-512 digest).
pub const CACHE_ID_LEN_BYTES: usize = 64;

/// Identifies one cache entry (spec "cache identifier"). The caching materials manager derives
/// it with the formulas of `framework/caching-cmm.md`, appendix A.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheId([u8; CACHE_ID_LEN_BYTES]);

impl CacheId {
    /// Wraps identifier bytes.
    pub fn new(bytes: [u8; CACHE_ID_LEN_BYTES]) -> Self {
        Self(bytes)
    }

    /// The identifier bytes.
    pub fn as_bytes(&self) -> &[u8; CACHE_ID_LEN_BYTES] {
        &self.0
    }
}

impl fmt::Debug for CacheId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheId({})", hex::encode(self.0))
    }
}

/// How much one cached set of encryption materials has been used (spec "usage metadata").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageStats {
    /// Messages encrypted with the materials.
    pub messages_encrypted: u64,
    /// Plaintext bytes encrypted with the materials (as announced by the callers).
    pub bytes_encrypted: u64,
}

impl UsageStats {
    /// Field-wise saturating sum.
    pub fn saturating_add(self, other: UsageStats) -> UsageStats {
        UsageStats {
            messages_encrypted: self.messages_encrypted.saturating_add(other.messages_encrypted),
            bytes_encrypted: self.bytes_encrypted.saturating_add(other.bytes_encrypted),
        }
    }
}

/// The materials a cache entry holds.
#[derive(Debug)]
#[non_exhaustive]
pub enum CachedMaterials {
    /// Materials to encrypt messages.
    Encryption(EncryptionMaterials),
    /// Materials to decrypt messages.
    Decryption(DecryptionMaterials),
}

impl CachedMaterials {
    /// An independent copy; secret keys are copied explicitly and zeroize on their own.
    pub fn duplicate(&self) -> Self {
        match self {
            CachedMaterials::Encryption(m) => {
                CachedMaterials::Encryption(duplicate_encryption_materials(m))
            }
            CachedMaterials::Decryption(m) => {
                CachedMaterials::Decryption(duplicate_decryption_materials(m))
            }
        }
    }
}

/// An explicit copy of encryption materials (plaintext data key and signing key included).
pub fn duplicate_encryption_materials(m: &EncryptionMaterials) -> EncryptionMaterials {
    EncryptionMaterials {
        suite: m.suite,
        encryption_context: m.encryption_context.clone(),
        required_encryption_context_keys: m.required_encryption_context_keys.clone(),
        encrypted_data_keys: m.encrypted_data_keys.clone(),
        plaintext_data_key: m.plaintext_data_key.as_ref().map(|k| k.duplicate()),
        signing_key: m.signing_key.clone(),
    }
}

/// An explicit copy of decryption materials (plaintext data key included).
pub fn duplicate_decryption_materials(m: &DecryptionMaterials) -> DecryptionMaterials {
    DecryptionMaterials {
        suite: m.suite,
        encryption_context: m.encryption_context.clone(),
        required_encryption_context_keys: m.required_encryption_context_keys.clone(),
        plaintext_data_key: m.plaintext_data_key.as_ref().map(|k| k.duplicate()),
        verifying_key: m.verifying_key.clone(),
    }
}

/// One cache entry (spec "cache entry").
#[derive(Debug)]
pub struct CacheEntry {
    /// The cached materials.
    pub materials: CachedMaterials,
    /// When the entry was created, in [`Clock`] milliseconds.
    pub creation_time_ms: u64,
    /// When the entry stops being served (its TTL), in [`Clock`] milliseconds.
    pub expiry_time_ms: u64,
    /// How much the materials have been used.
    pub usage: UsageStats,
    /// A digest of the request inputs that shaped the materials but are not part of the cache
    /// id (commitment policy, required keys, reproduced context). The caching materials
    /// manager serves an entry only to a request with the same binding.
    pub request_binding: [u8; CACHE_ID_LEN_BYTES],
}

impl CacheEntry {
    /// Whether the entry's TTL has elapsed at `now_ms` ("TTL-expired").
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expiry_time_ms
    }

    /// An independent copy of the entry.
    pub fn duplicate(&self) -> Self {
        Self {
            materials: self.materials.duplicate(),
            creation_time_ms: self.creation_time_ms,
            expiry_time_ms: self.expiry_time_ms,
            usage: self.usage,
            request_binding: self.request_binding,
        }
    }
}

/// A cryptographic materials cache (spec `framework/cryptographic-materials-cache.md`).
///
/// Implementations must be safe to share between materials managers (they take `&self`).
pub trait CryptographicMaterialsCache: MaybeSendSync {
    /// Stores `entry` under `id`, replacing any entry already there.
    fn put_cache_entry(&self, id: CacheId, entry: CacheEntry);

    /// A copy of the entry under `id`, unless there is none or it is TTL-expired at `now_ms`.
    ///
    /// `add_usage` is added to the stored entry's usage atomically before the copy is taken,
    /// so the returned [`CacheEntry::usage`] includes this use.
    fn get_cache_entry(
        &self,
        id: &CacheId,
        now_ms: u64,
        add_usage: UsageStats,
    ) -> Option<CacheEntry>;

    /// Removes the entry under `id`, if any.
    fn delete_cache_entry(&self, id: &CacheId);
}

/// The default number of least recently used entries checked for expiry on each get.
pub const DEFAULT_ENTRY_PRUNING_TAIL_SIZE: usize = 1;

/// The local cryptographic materials cache: in memory, least recently used eviction
/// (spec `framework/local-cryptographic-materials-cache.md`).
///
/// Thread safe through one [`Mutex`], which is never held across an `.await` (the methods are
/// synchronous).
pub struct LocalCryptographicMaterialsCache {
    capacity: usize,
    pruning_tail_size: usize,
    state: Mutex<LruState>,
}

impl LocalCryptographicMaterialsCache {
    /// A cache holding at most `entry_capacity` entries (0 stores nothing).
    pub fn new(entry_capacity: usize) -> Self {
        Self {
            capacity: entry_capacity,
            pruning_tail_size: DEFAULT_ENTRY_PRUNING_TAIL_SIZE,
            state: Mutex::new(LruState::default()),
        }
    }

    /// Sets how many least recently used entries each get checks for TTL expiry.
    #[must_use]
    pub fn with_entry_pruning_tail_size(mut self, tail_size: usize) -> Self {
        self.pruning_tail_size = tail_size;
        self
    }

    /// The entry capacity.
    pub fn entry_capacity(&self) -> usize {
        self.capacity
    }

    /// The entry pruning tail size.
    pub fn entry_pruning_tail_size(&self) -> usize {
        self.pruning_tail_size
    }

    /// The number of stored entries (expired ones included until they are pruned).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache stores no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an entry is stored under `id` (expired or not); does not count as a use.
    pub fn contains(&self, id: &CacheId) -> bool {
        self.lock().entries.contains_key(id)
    }

    /// Evicts every TTL-expired entry.
    pub fn remove_expired(&self, now_ms: u64) {
        let mut state = self.lock();
        let expired: Vec<CacheId> = state
            .entries
            .iter()
            .filter(|(_, slot)| slot.entry.is_expired(now_ms))
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            state.remove(&id);
        }
    }

    /// Evicts every entry.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.entries.clear();
        state.order.clear();
    }

    fn lock(&self) -> MutexGuard<'_, LruState> {
        // A panic while the lock was held cannot leave the map and the order out of step in a
        // way that matters for safety (at worst an entry is missed), so recover from poison.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for LocalCryptographicMaterialsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCryptographicMaterialsCache")
            .field("capacity", &self.capacity)
            .field("pruning_tail_size", &self.pruning_tail_size)
            .field("len", &self.len())
            .finish()
    }
}

impl CryptographicMaterialsCache for LocalCryptographicMaterialsCache {
    fn put_cache_entry(&self, id: CacheId, entry: CacheEntry) {
        let mut state = self.lock();
        //= framework/cryptographic-materials-cache.md#put-cache-entry
        //# If a cache entry for the given cache ID exists in the cache, it must be removed.
        state.remove(&id);
        state.insert(id, entry);
        //= framework/local-cryptographic-materials-cache.md#put-cache-entry
        //# However, before returning, the local CMC MUST evict least-recently used entries
        //# until the number of stored entries does not exceed the entry capacity.
        while state.entries.len() > self.capacity {
            if !state.evict_least_recently_used() {
                break;
            }
        }
    }

    fn get_cache_entry(
        &self,
        id: &CacheId,
        now_ms: u64,
        add_usage: UsageStats,
    ) -> Option<CacheEntry> {
        let mut state = self.lock();
        //= framework/local-cryptographic-materials-cache.md#get-cache-entry
        //# When performing a Get Cache Entry operation,
        //# the local CMC MUST [prune TTL-expired cache entries](#pruning).
        state.prune(now_ms, self.pruning_tail_size);
        let expired = state.entries.get(id)?.entry.is_expired(now_ms);
        if expired {
            //# The local CMC MUST NOT return any TTL-expired entry.
            state.remove(id);
            return None;
        }
        state.touch(id);
        let slot = state.entries.get_mut(id)?;
        slot.entry.usage = slot.entry.usage.saturating_add(add_usage);
        Some(slot.entry.duplicate())
    }

    fn delete_cache_entry(&self, id: &CacheId) {
        self.lock().remove(id);
    }
}

/// The map plus a recency order: `order` maps a strictly increasing use counter to the id
/// last used at that count, so its first element is the least recently used entry.
#[derive(Default)]
struct LruState {
    entries: HashMap<CacheId, Slot>,
    order: BTreeMap<u64, CacheId>,
    next_tick: u64,
}

struct Slot {
    entry: CacheEntry,
    tick: u64,
}

impl LruState {
    fn tick(&mut self) -> u64 {
        let t = self.next_tick;
        self.next_tick += 1;
        t
    }

    fn insert(&mut self, id: CacheId, entry: CacheEntry) {
        let tick = self.tick();
        self.order.insert(tick, id);
        self.entries.insert(id, Slot { entry, tick });
    }

    /// Removes `id`; dropping the entry zeroizes its keys.
    fn remove(&mut self, id: &CacheId) {
        if let Some(slot) = self.entries.remove(id) {
            self.order.remove(&slot.tick);
        }
    }

    fn touch(&mut self, id: &CacheId) {
        let tick = self.tick();
        if let Some(slot) = self.entries.get_mut(id) {
            self.order.remove(&slot.tick);
            slot.tick = tick;
            self.order.insert(tick, *id);
        }
    }

    fn evict_least_recently_used(&mut self) -> bool {
        match self.order.pop_first() {
            Some((_, id)) => {
                self.entries.remove(&id);
                true
            }
            None => false,
        }
    }

    //= framework/local-cryptographic-materials-cache.md#pruning
    //# To prune TTL-expired cache entries,
    //# the local CMC MUST evict all TTL-expired entries
    //# among the `N` least recently used entries,
    //# where `N` is the [Entry Pruning Tail Size](#entry-pruning-tail-size).
    fn prune(&mut self, now_ms: u64, tail_size: usize) {
        let expired: Vec<CacheId> = self
            .order
            .values()
            .take(tail_size)
            .filter(|id| self.entries.get(*id).is_some_and(|s| s.entry.is_expired(now_ms)))
            .copied()
            .collect();
        for id in expired {
            self.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::materials::{EncryptionContext, PlaintextDataKey};
    use crate::suite::AES_256_GCM_HKDF_SHA512_COMMIT_KEY;

    fn entry(expiry_ms: u64, key_byte: u8) -> CacheEntry {
        let mut m =
            EncryptionMaterials::new(&AES_256_GCM_HKDF_SHA512_COMMIT_KEY, EncryptionContext::new());
        m.set_plaintext_data_key(PlaintextDataKey::new(vec![key_byte; 32])).unwrap();
        CacheEntry {
            materials: CachedMaterials::Encryption(m),
            creation_time_ms: 0,
            expiry_time_ms: expiry_ms,
            usage: UsageStats::default(),
            request_binding: [0; CACHE_ID_LEN_BYTES],
        }
    }

    fn id(n: u8) -> CacheId {
        CacheId::new([n; CACHE_ID_LEN_BYTES])
    }

    #[test]
    fn order_and_map_stay_in_step() {
        let cache = LocalCryptographicMaterialsCache::new(3);
        for n in 0..10 {
            cache.put_cache_entry(id(n % 4), entry(100, n));
            let _ = cache.get_cache_entry(&id((n + 1) % 4), 0, UsageStats::default());
            let state = cache.lock();
            assert_eq!(state.entries.len(), state.order.len());
            assert!(state.entries.len() <= 3);
            for (tick, cid) in &state.order {
                assert_eq!(state.entries[cid].tick, *tick);
            }
        }
    }

    #[test]
    fn pruning_checks_only_the_tail() {
        let cache = LocalCryptographicMaterialsCache::new(10);
        cache.put_cache_entry(id(1), entry(10, 1));
        cache.put_cache_entry(id(2), entry(10, 2));
        cache.put_cache_entry(id(3), entry(1000, 3));
        // Tail size 1: only the least recently used entry (id 1) is pruned.
        assert!(cache.get_cache_entry(&id(3), 50, UsageStats::default()).is_some());
        assert!(!cache.contains(&id(1)));
        assert!(cache.contains(&id(2)));
    }

    #[test]
    fn cache_id_debug_is_hex() {
        assert!(format!("{:?}", id(0xab)).starts_with("CacheId(abab"));
    }
}
