//! The one write path for changes to a multi-Region set: lock every key of the set, re-read
//! them, apply the change, and write every changed, new and deleted key (with the outbox
//! entries for peer deployments) in one transaction.

use std::sync::Arc;

use kms_api::{ErrorCode, KmsError};

use crate::authz::context::RequestFacts;
use crate::authz::Action;
use crate::model::{KeyMaterial, KeyRecord, KeyRef, MultiRegion, MultiRegionKeyType};
use crate::ops::{internal, key_not_found, Ctx};
use crate::replication::messages::{Message, NewReplica};
use crate::replication::outgoing;
use crate::state::AppState;
use crate::store::StoreError;

/// A multi-Region set loaded for one change: every key fresh from storage, under locks.
#[derive(Debug)]
pub struct KeySet {
    /// The keys of the set; the one the change names comes first.
    pub records: Vec<KeyRecord>,
    /// Keys to add to the set (a new replica).
    pub inserts: Vec<KeyRecord>,
    /// Keys to delete (a replica whose waiting period ended).
    pub deletes: Vec<KeyRef>,
    /// Replicas to create at peer deployments: their Region and own policy, description, tags.
    pub remote_creates: Vec<(String, NewReplica)>,
    /// Other messages to peers (a replica deleted here whose primary is elsewhere).
    pub messages: Vec<(String, Message)>,
}

impl KeySet {
    /// The key the change names.
    pub fn named(&mut self) -> &mut KeyRecord {
        // `mutate_set` always puts the named key first, and never empties `records`.
        &mut self.records[0]
    }

    /// The key of the set in `region`, if there is one.
    pub fn in_region(&mut self, region: &str) -> Option<&mut KeyRecord> {
        self.records.iter_mut().find(|r| r.key.region == region)
    }

    /// Gives every key (existing and new) of the set the configuration with this primary
    /// and these replicas.
    pub fn configure(&mut self, primary_region: &str, replica_regions: &[String]) {
        // Saturating: a revision comes from a peer's message too, and must not wrap to 0.
        let revision = self
            .records
            .iter()
            .filter_map(|r| r.multi_region.as_ref().map(|m| m.revision))
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        for record in self.records.iter_mut().chain(self.inserts.iter_mut()) {
            let key_type = if record.key.region == primary_region {
                MultiRegionKeyType::Primary
            } else {
                MultiRegionKeyType::Replica
            };
            record.multi_region = Some(MultiRegion {
                key_type,
                primary_region: primary_region.to_owned(),
                replica_regions: replica_regions.to_vec(),
                revision,
            });
        }
    }

    /// Copies the named key's rotation settings and any material version a related key
    /// lacks to every other key of the set (rotation happens at the primary only).
    ///
    /// # Errors
    /// `KMSInternalException` if material cannot be re-sealed.
    pub fn share_rotation(&mut self, state: &AppState) -> Result<(), KmsError> {
        let (source, others) = self.records.split_at_mut(1);
        let source = &source[0];
        for record in others {
            record.rotation = source.rotation.clone();
            if record.materials.is_empty() && record.origin != "AWS_KMS" {
                // An EXTERNAL replica imports its own (identical) material.
                continue;
            }
            for material in &source.materials {
                if record.material(material.version).is_none() {
                    let copy = copy_material(state, source, &record.key, material)?;
                    record.materials.push(copy);
                }
            }
        }
        Ok(())
    }
}

/// `material` of `source`, sealed for the key `to` of the same set.
pub(super) fn copy_material(
    state: &AppState,
    source: &KeyRecord,
    to: &KeyRef,
    material: &KeyMaterial,
) -> Result<KeyMaterial, KmsError> {
    let symmetric = source.key_spec == "SYMMETRIC_DEFAULT";
    let sealed = state
        .keystore
        .reseal_for(&source.key, to, material, symmetric)
        .map_err(|e| internal("cannot re-seal key material for a replica", e))?;
    Ok(KeyMaterial { sealed, ..material.clone() })
}

/// Who is asking, for changes made on behalf of a request (jobs pass `None`).
pub struct Asking<'c, 'a> {
    /// The request.
    pub ctx: &'c Ctx<'a>,
    /// The action authorized on the named key.
    pub action: Action,
    /// The request's condition-key values.
    pub facts: &'c RequestFacts<'c>,
}

/// Applies `change` to the key `key` and every key of its multi-Region set, and writes
/// all of them (and any keys the change adds or deletes) in one transaction. The keys are
/// locked meanwhile, together with `also_lock` (keys the change may create). Retries when
/// another writer got there first; nothing is written if `change` fails.
///
/// # Errors
/// The error `change` returns, `NotFoundException`, `AccessDeniedException` (when
/// `asking` is given), or an internal storage error.
pub async fn mutate_set<T>(
    state: &AppState,
    key: &KeyRef,
    asking: Option<Asking<'_, '_>>,
    also_lock: &[KeyRef],
    mut change: impl FnMut(&mut KeySet) -> Result<T, KmsError>,
) -> Result<(T, Vec<Arc<KeyRecord>>), KmsError> {
    const MAX_ATTEMPTS: usize = 16;
    for _ in 0..MAX_ATTEMPTS {
        let first = state.store.get_key(key).await?.ok_or_else(|| key_not_found(key))?;
        let mut lock: Vec<KeyRef> = vec![key.clone()];
        lock.extend(first.related_keys());
        lock.extend(also_lock.iter().cloned());
        let _guards = state.key_locks.lock_many(&lock).await;
        let named = state.store.get_key(key).await?.ok_or_else(|| key_not_found(key))?;
        if named.related_keys() != first.related_keys() {
            // The set changed before the locks were taken: lock the new set.
            continue;
        }
        if let Some(asking) = &asking {
            asking.ctx.authorize(asking.action, &named, asking.facts).await?;
        }
        let mut records = vec![named];
        for related in records[0].related_keys() {
            if let Some(record) = state.store.get_key(&related).await? {
                records.push(record);
            }
        }
        let originals = records.clone();
        let mut set = KeySet {
            records,
            inserts: Vec::new(),
            deletes: Vec::new(),
            remote_creates: Vec::new(),
            messages: Vec::new(),
        };
        let out = change(&mut set)?;
        // Replicas at peer deployments follow the primary (if it is here).
        let mut messages = outgoing::to_remote_replicas(state, &originals, &set)?;
        messages.append(&mut set.messages);
        let now_ms = state.clock.now_ms();
        let outbox = outgoing::outbox_entries(now_ms, messages)?;
        let mut updates = Vec::new();
        for (record, original) in set.records.into_iter().zip(originals) {
            if set.deletes.contains(&record.key) || record == original {
                continue;
            }
            let mut record = record;
            record.revision += 1;
            updates.push(record);
        }
        match state.store.write_keys(&set.inserts, &updates, &set.deletes, &outbox).await {
            Ok(()) => {
                for gone in &set.deletes {
                    state.keys.remove_deleted(gone);
                    state.grants.remove_key(gone);
                    state.keystore.forget(gone);
                }
                let written: Vec<Arc<KeyRecord>> =
                    set.inserts.into_iter().chain(updates).map(Arc::new).collect();
                for record in &written {
                    state.keys.put(Arc::clone(record));
                }
                return Ok((out, written));
            }
            Err(StoreError::Conflict) => continue,
            Err(StoreError::AlreadyExists) => {
                return Err(KmsError::new(
                    ErrorCode::AlreadyExistsException,
                    "a key with this id already exists in the replica Region",
                ))
            }
            Err(StoreError::NotFound) => return Err(key_not_found(key)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(internal("multi-Region key update kept conflicting", key.arn()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_revision_does_not_wrap() {
        let key = KeyRef {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            key_id: "mrk-00112233445566778899aabbccddeeff".into(),
        };
        let mut record = KeyRecord::new_symmetric(key, 0, String::new());
        record.multi_region = Some(MultiRegion {
            key_type: MultiRegionKeyType::Replica,
            primary_region: "us-east-1".into(),
            replica_regions: vec!["eu-west-1".into()],
            revision: u64::MAX,
        });
        let mut set = KeySet {
            records: vec![record],
            inserts: Vec::new(),
            deletes: Vec::new(),
            remote_creates: Vec::new(),
            messages: Vec::new(),
        };
        set.configure("us-east-1", &[]);
        assert_eq!(set.named().multi_region.as_ref().map(|m| m.revision), Some(u64::MAX));
    }
}
