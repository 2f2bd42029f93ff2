//! Cryptographic materials caches (spec `framework/cryptographic-materials-cache.md` and
//! `framework/local-cryptographic-materials-cache.md`) and the injected [`Clock`].
//!
//! The crate reads no clock of its own: whoever builds a caching materials manager passes a
//! [`Clock`] (kms-wasm wraps `Date.now()`, tests use [`ManualClock`]). Cache entries hold
//! plaintext data keys and signing keys; both zeroize themselves when dropped, so an entry
//! that is evicted, replaced, deleted or dropped with the cache leaves no key bytes behind.
//! Callers always receive copies ([`CacheEntry::duplicate`]), never the stored keys.

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
        self.lock().slots.len()
    }

    /// Whether the cache stores no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether an entry is stored under `id` (expired or not); does not count as a use.
    pub fn contains(&self, id: &CacheId) -> bool {
        self.lock().slot_of(id).is_some()
    }

    /// Evicts every TTL-expired entry.
    pub fn remove_expired(&self, now_ms: u64) {
        let mut state = self.lock();
        let mut s = 0;
        while s < state.slots.len() {
            if state.slots[s].entry.is_expired(now_ms) {
                // The last slot moves into `s`: look at `s` again.
                state.remove_slot(s);
            } else {
                s += 1;
            }
        }
    }

    /// Evicts every entry.
    pub fn clear(&self) {
        *self.lock() = LruState::default();
    }

    fn lock(&self) -> MutexGuard<'_, LruState> {
        // A panic while the lock was held may have left the slots, the index and the recency
        // list out of step: recover from poison by starting empty (dropping the entries
        // zeroizes their keys) rather than trusting them.
        self.state.lock().unwrap_or_else(|poisoned| {
            let mut state = poisoned.into_inner();
            *state = LruState::default();
            // Recovered: later locks keep what is stored from here on.
            self.state.clear_poison();
            state
        })
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
        //= framework/local-cryptographic-materials-cache.md#put-cache-entry
        //# When performing a Put Cache Entry operation,
        //# the local CMC should not [prune TTL-expired cache entries](#pruning).
        // (An older revision of the spec said MUST; the current one prunes on get only.)
        state.insert(id, entry);
        //= framework/local-cryptographic-materials-cache.md#put-cache-entry
        //# However, before returning, the local CMC MUST evict least-recently used entries
        //# until the number of stored entries does not exceed the entry capacity.
        while state.slots.len() > self.capacity {
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
        let s = state.slot_of(id)?;
        if state.slots[s].entry.is_expired(now_ms) {
            //# The local CMC MUST NOT return any TTL-expired entry.
            state.remove_slot(s);
            return None;
        }
        state.touch(s);
        let entry = &mut state.slots[s].entry;
        entry.usage = entry.usage.saturating_add(add_usage);
        Some(entry.duplicate())
    }

    fn delete_cache_entry(&self, id: &CacheId) {
        self.lock().remove(id);
    }
}

/// The end of the recency list: no slot.
const NIL: usize = usize::MAX;

/// The stored entries, in plain vectors (the wasm client then carries no hash map and no
/// B-tree for them):
/// - `slots` holds the entries densely: removing one moves the last slot into its place, so
///   `slots.len()` is the number of entries;
/// - the slots form a doubly linked list by slot number, from the most recently used
///   (`head`) to the least recently used (`tail`): a use and an eviction are O(1), and
///   pruning walks the tail;
/// - `index` holds the slot numbers ordered by their slots' ids: a lookup is a binary
///   search; an insertion or a removal shifts the numbers after it, which happens only on a
///   cache miss, a delete or an eviction.
///
/// Moving a slot (when `slots` grows or fills a hole) copies no key bytes: the plaintext data
/// key and the signing key live on the heap, and zeroize when the entry is dropped.
struct LruState {
    slots: Vec<Slot>,
    index: Vec<usize>,
    head: usize,
    tail: usize,
}

struct Slot {
    id: CacheId,
    entry: CacheEntry,
    /// The next more recently used slot, or [`NIL`].
    newer: usize,
    /// The next less recently used slot, or [`NIL`].
    older: usize,
}

impl Default for LruState {
    fn default() -> Self {
        Self { slots: Vec::new(), index: Vec::new(), head: NIL, tail: NIL }
    }
}

impl LruState {
    /// The position of `id` in `index` (`Ok`), or where it belongs (`Err`).
    fn search(&self, id: &CacheId) -> Result<usize, usize> {
        self.index.binary_search_by(|&s| self.slots[s].id.0.cmp(&id.0))
    }

    /// The slot holding `id`.
    fn slot_of(&self, id: &CacheId) -> Option<usize> {
        self.search(id).ok().map(|pos| self.index[pos])
    }

    /// Stores `entry` under `id` as the most recently used entry, replacing (and so
    /// zeroizing) any entry stored there.
    fn insert(&mut self, id: CacheId, entry: CacheEntry) {
        match self.search(&id) {
            Ok(pos) => {
                let s = self.index[pos];
                self.slots[s].entry = entry;
                self.touch(s);
            }
            Err(pos) => {
                let s = self.slots.len();
                self.slots.push(Slot { id, entry, newer: NIL, older: NIL });
                self.index.insert(pos, s);
                self.link_newest(s);
            }
        }
    }

    /// Removes the entry under `id`, if any.
    fn remove(&mut self, id: &CacheId) {
        if let Some(s) = self.slot_of(id) {
            self.remove_slot(s);
        }
    }

    /// Removes slot `s` (dropping its entry zeroizes its keys); the last slot moves into `s`.
    fn remove_slot(&mut self, s: usize) {
        self.unlink(s);
        // Every slot's id is in `index` (the searches below cannot miss); `slots` is searched
        // before the move, while `index` still names the last slot by its old number.
        if let Ok(pos) = self.search(&self.slots[s].id) {
            self.index.remove(pos);
        }
        let last = self.slots.len() - 1;
        if s != last {
            if let Ok(pos) = self.search(&self.slots[last].id) {
                self.index[pos] = s;
            }
        }
        // The entry is dropped only once the list is whole again: dropping it may run code of
        // an installable signer, and a panic there must not leave the list naming a moved slot.
        let removed = self.slots.swap_remove(s);
        if s != last {
            // The moved slot's neighbours follow it to its new number.
            let (newer, older) = (self.slots[s].newer, self.slots[s].older);
            self.set_older_link(newer, s);
            self.set_newer_link(older, s);
        }
        drop(removed);
    }

    /// Takes slot `s` out of the recency list.
    fn unlink(&mut self, s: usize) {
        let (newer, older) = (self.slots[s].newer, self.slots[s].older);
        self.set_older_link(newer, older);
        self.set_newer_link(older, newer);
    }

    /// Points the `older` link of slot `s` at `to` (the head when `s` is [`NIL`]: a missing
    /// newer slot means `to` is now the most recently used).
    fn set_older_link(&mut self, s: usize, to: usize) {
        match s {
            NIL => self.head = to,
            n => self.slots[n].older = to,
        }
    }

    /// Points the `newer` link of slot `s` at `to` (the tail when `s` is [`NIL`]: a missing
    /// older slot means `to` is now the least recently used).
    fn set_newer_link(&mut self, s: usize, to: usize) {
        match s {
            NIL => self.tail = to,
            o => self.slots[o].newer = to,
        }
    }

    /// Puts the unlinked slot `s` at the most recently used end of the list.
    fn link_newest(&mut self, s: usize) {
        self.slots[s].newer = NIL;
        self.slots[s].older = self.head;
        match self.head {
            NIL => self.tail = s,
            h => self.slots[h].newer = s,
        }
        self.head = s;
    }

    /// Marks slot `s` as the most recently used.
    fn touch(&mut self, s: usize) {
        self.unlink(s);
        self.link_newest(s);
    }

    fn evict_least_recently_used(&mut self) -> bool {
        match self.tail {
            NIL => false,
            t => {
                self.remove_slot(t);
                true
            }
        }
    }

    //= framework/local-cryptographic-materials-cache.md#pruning
    //# To prune TTL-expired cache entries,
    //# the local CMC MUST evict all TTL-expired entries
    //# among the `N` least recently used entries,
    //# where `N` is the [Entry Pruning Tail Size](#entry-pruning-tail-size).
    fn prune(&mut self, now_ms: u64, tail_size: usize) {
        let mut s = self.tail;
        for _ in 0..tail_size {
            if s == NIL {
                break;
            }
            let mut newer = self.slots[s].newer;
            if self.slots[s].entry.is_expired(now_ms) {
                // Removing `s` moves the last slot into `s`: follow it there.
                if newer == self.slots.len() - 1 {
                    newer = s;
                }
                self.remove_slot(s);
            }
            s = newer;
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

    impl LruState {
        /// The stored ids, least recently used first, after checking that the slots, the
        /// index and the recency list agree.
        fn checked_recency_order(&self) -> Vec<CacheId> {
            let n = self.slots.len();
            assert_eq!(self.index.len(), n);
            let mut seen = vec![false; n];
            for &s in &self.index {
                assert!(!std::mem::replace(&mut seen[s], true), "slot {s} indexed twice");
            }
            assert!(self.index.windows(2).all(|w| self.slots[w[0]].id.0 < self.slots[w[1]].id.0));
            let mut order = Vec::with_capacity(n);
            let (mut s, mut newer) = (self.tail, NIL);
            while s != NIL {
                assert!(order.len() < n, "the recency list has a cycle");
                assert_eq!(self.slots[s].older, newer);
                order.push(self.slots[s].id);
                (newer, s) = (s, self.slots[s].newer);
            }
            assert_eq!(self.head, newer);
            assert_eq!(order.len(), n);
            order
        }
    }

    #[test]
    fn slots_index_and_list_stay_in_step() {
        let cache = LocalCryptographicMaterialsCache::new(3);
        for n in 0..10 {
            cache.put_cache_entry(id(n % 4), entry(100, n));
            let _ = cache.get_cache_entry(&id((n + 1) % 4), 0, UsageStats::default());
            let order = cache.lock().checked_recency_order();
            assert!(order.len() <= 3);
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
    /// One operation of the model test.
    #[derive(Debug, Clone)]
    enum Op {
        Put { id: u8, ttl_ms: u64 },
        Get { id: u8 },
        Delete { id: u8 },
        Advance { ms: u64 },
        RemoveExpired,
        Clear,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        // Few ids, so that puts replace and gets hit; short TTLs, so that entries expire.
        prop_oneof![
            6 => (0u8..16, 0u64..30).prop_map(|(id, ttl_ms)| Op::Put { id, ttl_ms }),
            6 => (0u8..16).prop_map(|id| Op::Get { id }),
            2 => (0u8..16).prop_map(|id| Op::Delete { id }),
            3 => (0u64..10).prop_map(|ms| Op::Advance { ms }),
            1 => Just(Op::RemoveExpired),
            1 => Just(Op::Clear),
        ]
    }

    /// The model's entry: its id, expiry, which put stored it, and its message count.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    struct ModelEntry {
        id: u8,
        expiry_ms: u64,
        put: u64,
        messages: u64,
    }

    /// The cache as a list, least recently used first, following the spec step by step.
    struct Model {
        capacity: usize,
        tail_size: usize,
        entries: Vec<ModelEntry>,
    }

    impl Model {
        fn position(&self, id: u8) -> Option<usize> {
            self.entries.iter().position(|e| e.id == id)
        }

        fn put(&mut self, e: ModelEntry) {
            self.entries.retain(|x| x.id != e.id);
            self.entries.push(e);
            while self.entries.len() > self.capacity {
                self.entries.remove(0);
            }
        }

        fn get(&mut self, id: u8, now_ms: u64) -> Option<ModelEntry> {
            let mut i = 0;
            for _ in 0..self.tail_size {
                if i >= self.entries.len() {
                    break;
                }
                if now_ms >= self.entries[i].expiry_ms {
                    self.entries.remove(i);
                } else {
                    i += 1;
                }
            }
            let i = self.position(id)?;
            let mut e = self.entries.remove(i);
            if now_ms >= e.expiry_ms {
                return None;
            }
            e.messages += 1;
            self.entries.push(e);
            Some(e)
        }
    }

    fn model_entry(e: &CacheEntry) -> (u64, u64, u64) {
        (e.expiry_time_ms, e.creation_time_ms, e.usage.messages_encrypted)
    }

    #[test]
    fn a_poisoned_lock_empties_the_cache_once_and_it_works_again() {
        let cache = LocalCryptographicMaterialsCache::new(4);
        cache.put_cache_entry(id(1), entry(100, 1));
        let poisoned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _held = cache.state.lock();
            panic!("a panic while the cache is locked");
        }));
        assert!(poisoned.is_err());
        // The state is not trusted after the panic: it starts empty ...
        assert!(cache.get_cache_entry(&id(1), 0, UsageStats::default()).is_none());
        // ... and from then on keeps what is put.
        cache.put_cache_entry(id(2), entry(100, 2));
        assert!(cache.get_cache_entry(&id(2), 0, UsageStats::default()).is_some());
        assert!(cache.get_cache_entry(&id(2), 0, UsageStats::default()).is_some());
        assert_eq!(cache.len(), 1);
    }

    proptest::proptest! {
        /// The cache and the model agree after every operation: what get returns, and the
        /// stored entries in recency order (so evictions and pruning took the same entries).
        #[test]
        fn agrees_with_a_list_model(
            capacity in 0usize..12,
            tail_size in 0usize..4,
            ops in proptest::collection::vec(op(), 0..160),
        ) {
            let cache = LocalCryptographicMaterialsCache::new(capacity)
                .with_entry_pruning_tail_size(tail_size);
            let mut model = Model { capacity, tail_size, entries: Vec::new() };
            let mut now_ms = 0;
            let one = UsageStats { messages_encrypted: 1, bytes_encrypted: 0 };
            for (n, op) in ops.into_iter().enumerate() {
                let put = n as u64;
                match op {
                    Op::Put { id: i, ttl_ms } => {
                        let mut e = entry(now_ms + ttl_ms, i);
                        e.creation_time_ms = put;
                        cache.put_cache_entry(id(i), e);
                        model.put(ModelEntry { id: i, expiry_ms: now_ms + ttl_ms, put, messages: 0 });
                    }
                    Op::Get { id: i } => {
                        let got = cache.get_cache_entry(&id(i), now_ms, one);
                        let want = model.get(i, now_ms);
                        proptest::prop_assert_eq!(
                            got.as_ref().map(model_entry),
                            want.map(|e| (e.expiry_ms, e.put, e.messages))
                        );
                    }
                    Op::Delete { id: i } => {
                        cache.delete_cache_entry(&id(i));
                        model.entries.retain(|e| e.id != i);
                    }
                    Op::Advance { ms } => now_ms += ms,
                    Op::RemoveExpired => {
                        cache.remove_expired(now_ms);
                        model.entries.retain(|e| now_ms < e.expiry_ms);
                    }
                    Op::Clear => {
                        cache.clear();
                        model.entries.clear();
                    }
                }
                let state = cache.lock();
                let order = state.checked_recency_order();
                let stored: Vec<(CacheId, (u64, u64, u64))> = order
                    .iter()
                    .map(|cid| (*cid, model_entry(&state.slots[state.slot_of(cid).unwrap()].entry)))
                    .collect();
                let want: Vec<(CacheId, (u64, u64, u64))> = model
                    .entries
                    .iter()
                    .map(|e| (id(e.id), (e.expiry_ms, e.put, e.messages)))
                    .collect();
                proptest::prop_assert_eq!(stored, want);
                proptest::prop_assert!(order.len() <= capacity);
            }
        }
    }
}
