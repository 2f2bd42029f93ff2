//! The shared state of a running server.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::auth::Accounts;
use crate::clock::Clock;
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
}

/// An in-memory cache of key records, so the cryptographic hot path does not read storage.
///
/// Every write made through this process updates it after the write is durable. With
/// several server processes on one database, entries written by another process are
/// seen only after they are evicted here.
#[derive(Debug, Default)]
pub struct KeyCache {
    map: RwLock<HashMap<KeyRef, Arc<KeyRecord>>>,
}

impl KeyCache {
    /// A cached record.
    pub fn get(&self, key: &KeyRef) -> Option<Arc<KeyRecord>> {
        // Single-map operations cannot leave the map inconsistent if a holder panicked.
        self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    /// Stores the newest record of a key.
    pub fn put(&self, record: Arc<KeyRecord>) {
        let mut map = self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get(&record.key) {
            Some(existing) if existing.revision > record.revision => {}
            _ => {
                map.insert(record.key.clone(), record);
            }
        }
    }

    /// Forgets a key.
    pub fn remove(&self, key: &KeyRef) {
        self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}
