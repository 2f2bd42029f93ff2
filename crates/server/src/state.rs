//! The shared state of a running server.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use crate::audit::AuditLog;
use crate::auth::Accounts;
use crate::clock::Clock;
use crate::grants::GrantIndex;
use crate::keystore::Keystore;
use crate::model::{KeyRecord, KeyRef};
use crate::store::Store;

/// Everything a request handler needs.
pub struct AppState {
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Key material protection.
    pub keystore: Keystore,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Known accounts and access keys.
    pub accounts: Accounts,
    /// Recently read keys, updated on every write made through this server.
    pub keys: KeyCache,
    /// Serialises read-modify-write operations on one key within this process.
    pub key_locks: KeyLocks,
    /// The audit trail; every API call is recorded here before it is answered.
    pub audit: Option<Arc<AuditLog>>,
    /// Every grant, in memory (written through to the store).
    pub grants: GrantIndex,
    /// The Regions this server serves (empty: every valid Region name but the peers').
    pub regions: Vec<String>,
    /// Other deployments holding replicas, and this deployment's replication key.
    pub replication: crate::replication::Replication,
}

impl AppState {
    /// Whether this server serves `region`: any Region when no `regions` list is
    /// configured, except the Regions its peers serve.
    pub fn serves_region(&self, region: &str) -> bool {
        (self.regions.is_empty() || self.regions.iter().any(|r| r == region))
            && self.replication.peer(region).is_none()
    }
}

/// A fixed set of async locks, one picked per key by hash (lock striping).
///
/// Writers of the same key queue here instead of racing on the store's revision check,
/// so concurrent updates of one key all succeed. Several server processes on one
/// database still fall back on the revision check.
#[derive(Debug)]
pub struct KeyLocks {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Default for KeyLocks {
    fn default() -> Self {
        Self { stripes: (0..256).map(|_| tokio::sync::Mutex::new(())).collect() }
    }
}

impl KeyLocks {
    /// Waits for and holds the lock covering `key`.
    pub async fn lock(&self, key: &KeyRef) -> tokio::sync::MutexGuard<'_, ()> {
        self.stripes[self.stripe(key)].lock().await
    }

    /// Waits for and holds the locks covering every key of `keys` (a multi-Region set).
    /// Stripes are taken once each and in ascending order, so two callers locking
    /// overlapping sets cannot deadlock.
    pub async fn lock_many(&self, keys: &[KeyRef]) -> Vec<tokio::sync::MutexGuard<'_, ()>> {
        let mut indexes: Vec<usize> = keys.iter().map(|k| self.stripe(k)).collect();
        indexes.sort_unstable();
        indexes.dedup();
        let mut guards = Vec::with_capacity(indexes.len());
        for index in indexes {
            guards.push(self.stripes[index].lock().await);
        }
        guards
    }

    fn stripe(&self, key: &KeyRef) -> usize {
        use std::hash::{Hash as _, Hasher as _};
        // `DefaultHasher::new()` has fixed keys, so one key always maps to one stripe.
        let mut fixed = std::hash::DefaultHasher::new();
        key.hash(&mut fixed);
        usize::try_from(fixed.finish() % self.stripes.len() as u64).unwrap_or(0)
    }
}

/// An in-memory cache of key records, so the cryptographic hot path does not read storage.
///
/// Every write made through this process updates it after the write is durable. With
/// several server processes on one database, entries written by another process are
/// seen only after they are evicted here.
///
/// Deleted keys are remembered (key ids are never reused), so a read that raced with the
/// deletion cannot put the key back into the cache.
#[derive(Debug, Default)]
pub struct KeyCache {
    inner: RwLock<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    records: HashMap<KeyRef, Arc<KeyRecord>>,
    deleted: HashSet<KeyRef>,
}

impl KeyCache {
    /// A cached record.
    pub fn get(&self, key: &KeyRef) -> Option<Arc<KeyRecord>> {
        // Single-map operations cannot leave the map inconsistent if a holder panicked.
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .records
            .get(key)
            .cloned()
    }

    /// Stores the newest record of a key.
    pub fn put(&self, record: Arc<KeyRecord>) {
        let mut inner = self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.deleted.contains(&record.key) {
            return;
        }
        match inner.records.get(&record.key) {
            Some(existing) if existing.revision > record.revision => {}
            _ => {
                inner.records.insert(record.key.clone(), record);
            }
        }
    }

    /// Forgets a deleted key for good.
    pub fn remove_deleted(&self, key: &KeyRef) {
        let mut inner = self.inner.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.records.remove(key);
        inner.deleted.insert(key.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(revision: u64) -> Arc<KeyRecord> {
        let key = KeyRef { account: "1".into(), region: "r".into(), key_id: "k".into() };
        Arc::new(KeyRecord { revision, ..KeyRecord::new_symmetric(key, 0, String::new()) })
    }

    #[test]
    fn older_revisions_never_replace_newer_ones() {
        let cache = KeyCache::default();
        cache.put(record(3));
        cache.put(record(2));
        assert_eq!(cache.get(&record(1).key).unwrap().revision, 3);
    }

    #[test]
    fn deleted_keys_cannot_come_back() {
        let cache = KeyCache::default();
        cache.put(record(1));
        cache.remove_deleted(&record(1).key);
        cache.put(record(1));
        assert!(cache.get(&record(1).key).is_none());
    }
}
