//! Every grant, held in memory and kept in step with storage.
//!
//! Grants are read from the store once at start; each CreateGrant, RetireGrant and
//! RevokeGrant writes durably first and then updates this index, and a key's grants go
//! when the key is deleted. Authorization asks [`GrantIndex::matching`] on every request
//! that names a key, so the check is a map lookup (skipped entirely while no grant exists).
//! Grants are therefore effective at once ("immediately consistent"). With several
//! server processes on one database, a process sees other processes' grants after restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use kms_api::types::EncryptionContext;

use crate::auth::Principal;
use crate::authz::context::GrantMatch;
use crate::authz::grant::{GrantRecord, GranteeMatch};
use crate::model::KeyRef;
use crate::store::{GrantRow, Store, StoreError};

/// The grants of every key, by key and by id.
#[derive(Debug, Default)]
pub struct GrantIndex {
    inner: RwLock<Inner>,
    /// How many grants exist, read without the lock by the hot path.
    count: AtomicUsize,
}

#[derive(Debug, Default)]
struct Inner {
    /// Each key's grants, oldest first.
    by_key: HashMap<KeyRef, Vec<Arc<GrantRecord>>>,
    by_id: HashMap<String, Arc<GrantRecord>>,
}

/// Encodes a grant for storage.
///
/// # Errors
/// [`StoreError::Backend`] if it cannot be encoded.
pub fn grant_row(grant: &GrantRecord) -> Result<GrantRow, StoreError> {
    let doc = serde_json::to_string(grant)
        .map_err(|e| StoreError::Backend(format!("cannot encode grant: {e}")))?;
    Ok(GrantRow { grant_id: grant.grant_id.clone(), key: grant.key.clone(), doc })
}

impl GrantIndex {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // The maps are updated in single steps; a panicking holder cannot leave them torn.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads every stored grant (at start).
    ///
    /// # Errors
    /// A storage error, or [`StoreError::Corrupt`] for a grant that does not decode.
    pub async fn load(&self, store: &dyn Store) -> Result<(), StoreError> {
        let rows = store.list_grants().await?;
        let mut grants = Vec::with_capacity(rows.len());
        for row in rows {
            let grant: GrantRecord = serde_json::from_str(&row.doc).map_err(|e| {
                StoreError::Corrupt(format!("grant {}: undecodable ({e})", row.grant_id))
            })?;
            if grant.grant_id != row.grant_id || grant.key != row.key {
                return Err(StoreError::Corrupt(format!(
                    "grant {}: document does not match its row",
                    row.grant_id
                )));
            }
            grants.push(grant);
        }
        grants.sort_by(|a, b| (a.created_ms, &a.grant_id).cmp(&(b.created_ms, &b.grant_id)));
        for grant in grants {
            self.insert(Arc::new(grant));
        }
        Ok(())
    }

    /// Adds a grant (after it is stored).
    pub fn insert(&self, grant: Arc<GrantRecord>) {
        let mut inner = self.write();
        if inner.by_id.insert(grant.grant_id.clone(), Arc::clone(&grant)).is_none() {
            inner.by_key.entry(grant.key.clone()).or_default().push(grant);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Removes a grant (after it is deleted from storage); returns it if it was there.
    pub fn remove(&self, grant_id: &str) -> Option<Arc<GrantRecord>> {
        let mut inner = self.write();
        let grant = inner.by_id.remove(grant_id)?;
        if let Some(list) = inner.by_key.get_mut(&grant.key) {
            list.retain(|g| g.grant_id != grant_id);
            if list.is_empty() {
                inner.by_key.remove(&grant.key);
            }
        }
        self.count.fetch_sub(1, Ordering::Relaxed);
        Some(grant)
    }

    /// Forgets every grant of a deleted key.
    pub fn remove_key(&self, key: &KeyRef) {
        let mut inner = self.write();
        if let Some(list) = inner.by_key.remove(key) {
            for grant in &list {
                inner.by_id.remove(&grant.grant_id);
            }
            self.count.fetch_sub(list.len(), Ordering::Relaxed);
        }
    }

    /// A grant by id.
    pub fn get(&self, grant_id: &str) -> Option<Arc<GrantRecord>> {
        self.read().by_id.get(grant_id).cloned()
    }

    /// A key's grants, oldest first.
    pub fn for_key(&self, key: &KeyRef) -> Vec<Arc<GrantRecord>> {
        self.read().by_key.get(key).cloned().unwrap_or_default()
    }

    /// How many grants a key has.
    pub fn count_for_key(&self, key: &KeyRef) -> usize {
        self.read().by_key.get(key).map_or(0, Vec::len)
    }

    /// Grants in `region` whose retiring principal is `principal`, ordered by key and age.
    pub fn retirable_by(&self, principal: &str, region: &str) -> Vec<Arc<GrantRecord>> {
        let inner = self.read();
        let mut keys: Vec<&KeyRef> = inner.by_key.keys().filter(|k| k.region == region).collect();
        keys.sort();
        keys.into_iter()
            .flat_map(|k| inner.by_key[k].iter())
            .filter(|g| g.retiring.as_deref() == Some(principal))
            .cloned()
            .collect()
    }

    /// A grant on `key` that lets `caller` perform `operation` (an IAM action name without
    /// `kms:`) with encryption context `context`. A grant naming the caller itself is
    /// preferred over one naming its account (which needs IAM too).
    pub fn matching(
        &self,
        caller: &Principal,
        operation: &str,
        key: &KeyRef,
        context: Option<&EncryptionContext>,
    ) -> Option<GrantMatch> {
        if self.count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let inner = self.read();
        let mut through_account = None;
        for grant in inner.by_key.get(key)? {
            match grant.covers(caller, operation, context) {
                GranteeMatch::Direct => {
                    return Some(GrantMatch {
                        grant_id: grant.grant_id.clone(),
                        through_account: false,
                    })
                }
                GranteeMatch::ThroughAccount if through_account.is_none() => {
                    through_account = Some(GrantMatch {
                        grant_id: grant.grant_id.clone(),
                        through_account: true,
                    });
                }
                _ => {}
            }
        }
        through_account
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PrincipalKind;

    fn key(id: &str) -> KeyRef {
        KeyRef { account: "111122223333".into(), region: "us-east-1".into(), key_id: id.into() }
    }

    fn grant(id: &str, key_id: &str, grantee: &str, ops: &[&str]) -> Arc<GrantRecord> {
        Arc::new(GrantRecord {
            grant_id: id.into(),
            key: key(key_id),
            name: None,
            grantee: grantee.into(),
            retiring: Some("arn:aws:iam::111122223333:user/ret".into()),
            operations: ops.iter().map(|s| (*s).to_owned()).collect(),
            constraint: None,
            issuing_account: "111122223333".into(),
            created_ms: 0,
        })
    }

    fn alice() -> Principal {
        Principal {
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            kind: PrincipalKind::User { name: "alice".into() },
            ..Principal::root("111122223333", "AKID", 0)
        }
    }

    #[test]
    fn matching_finds_the_callers_grant_for_the_operation() {
        let index = GrantIndex::default();
        assert!(index.matching(&alice(), "Decrypt", &key("k1"), None).is_none());
        index.insert(grant("g1", "k1", "arn:aws:iam::111122223333:root", &["Decrypt"]));
        index.insert(grant("g2", "k1", &alice().arn, &["Decrypt"]));
        let m = index.matching(&alice(), "Decrypt", &key("k1"), None).unwrap();
        assert_eq!((m.grant_id.as_str(), m.through_account), ("g2", false));
        assert!(index.matching(&alice(), "Encrypt", &key("k1"), None).is_none());
        assert!(index.matching(&alice(), "Decrypt", &key("k2"), None).is_none());
        index.remove("g2");
        let m = index.matching(&alice(), "Decrypt", &key("k1"), None).unwrap();
        assert_eq!((m.grant_id.as_str(), m.through_account), ("g1", true));
    }

    #[test]
    fn deleting_a_key_removes_its_grants() {
        let index = GrantIndex::default();
        index.insert(grant("g1", "k1", &alice().arn, &["Decrypt"]));
        index.insert(grant("g2", "k2", &alice().arn, &["Decrypt"]));
        index.remove_key(&key("k1"));
        assert!(index.get("g1").is_none());
        assert_eq!(index.count_for_key(&key("k2")), 1);
        assert_eq!(index.retirable_by("arn:aws:iam::111122223333:user/ret", "us-east-1").len(), 1);
        assert!(index.remove("g1").is_none());
    }
}
