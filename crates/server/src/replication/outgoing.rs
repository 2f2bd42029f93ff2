//! Building the messages a change to a multi-Region set sends to peer deployments, and
//! the outbox entries that carry them (written in the same transaction as the change).

use std::sync::atomic::{AtomicU64, Ordering};

use kms_api::KmsError;

use super::messages::{
    outbox_name, ApplyReplica, Message, NewReplica, OutboxEntry, SealedMaterial,
};
use super::seal_for_peer;
use crate::model::{KeyRecord, KeyRef, MultiRegionKeyType};
use crate::ops::internal;
use crate::ops::multi_region::KeySet;
use crate::state::AppState;

/// Orders outbox entries written in the same millisecond by this process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The `ApplyReplica` messages for every replica at a peer deployment, when the change
/// touched what replicas share (configuration, material, rotation settings) and the
/// primary is here. `originals` are the set's records before the change.
///
/// # Errors
/// `KMSInternalException` if material cannot be opened or sealed for a peer.
pub fn to_remote_replicas(
    state: &AppState,
    originals: &[KeyRecord],
    set: &KeySet,
) -> Result<Vec<(String, Message)>, KmsError> {
    let primary = set.records.iter().chain(&set.inserts).find(|r| {
        r.multi_region.as_ref().is_some_and(|m| m.key_type == MultiRegionKeyType::Primary)
            && !set.deletes.contains(&r.key)
    });
    let Some(primary) = primary else {
        return Ok(Vec::new());
    };
    let before = originals.iter().find(|r| r.key == primary.key);
    let shared_changed = before.is_none_or(|b| {
        b.multi_region != primary.multi_region
            || b.materials != primary.materials
            || b.rotation != primary.rotation
            || b.import.fingerprint != primary.import.fingerprint
    });
    if !shared_changed && set.remote_creates.is_empty() {
        return Ok(Vec::new());
    }
    let Some(config) = &primary.multi_region else {
        return Ok(Vec::new());
    };
    let mut messages = Vec::new();
    for region in &config.replica_regions {
        let Some(peer) = state.replication.peer(region) else {
            continue;
        };
        let create = set.remote_creates.iter().find(|(r, _)| r == region).map(|(_, c)| c.clone());
        let replica = KeyRef { region: region.clone(), ..primary.key.clone() };
        let message = apply_replica(state, primary, &replica, &peer.public_key, create)?;
        messages.push((region.clone(), Message::ApplyReplica(Box::new(message))));
    }
    Ok(messages)
}

/// The whole state `replica` (at a peer) should have, with every material version sealed
/// for the peer's key (none for `EXTERNAL` keys: the replica imports its own).
fn apply_replica(
    state: &AppState,
    primary: &KeyRecord,
    replica: &KeyRef,
    peer_key: &[u8; super::PUBLIC_KEY_LEN_BYTES],
    create: Option<NewReplica>,
) -> Result<ApplyReplica, KmsError> {
    let arn = replica.arn();
    let symmetric = primary.key_spec == "SYMMETRIC_DEFAULT";
    let mut materials = Vec::new();
    if primary.origin == "AWS_KMS" {
        for material in &primary.materials {
            let plain = state
                .keystore
                .open_material(&primary.key, material, symmetric)
                .map_err(|e| internal("cannot open key material for a peer", e))?;
            let sealed = seal_for_peer(peer_key, &arn, material.version, &plain)
                .map_err(|e| internal("cannot seal key material for a peer", e))?;
            materials.push(SealedMaterial::new(material, &sealed));
        }
    }
    let config = primary
        .multi_region
        .clone()
        .unwrap_or_else(|| crate::ops::multi_region::new_primary(&primary.key.region));
    Ok(ApplyReplica {
        key_arn: arn,
        key_spec: primary.key_spec.clone(),
        key_usage: primary.key_usage.clone(),
        origin: primary.origin.clone(),
        primary_region: config.primary_region,
        replica_regions: config.replica_regions,
        config_revision: config.revision,
        rotation: primary.rotation.clone(),
        materials,
        import_fingerprint: primary.import.fingerprint.clone(),
        create,
    })
}

/// The `meta` entries (outbox) for `messages`, in order.
///
/// # Errors
/// `KMSInternalException` if a message cannot be encoded.
pub fn outbox_entries(
    now_ms: i64,
    messages: Vec<(String, Message)>,
) -> Result<Vec<(String, Vec<u8>)>, KmsError> {
    messages
        .into_iter()
        .map(|(region, message)| {
            let entry = OutboxEntry { message, attempts: 0, next_attempt_ms: now_ms };
            let value = serde_json::to_vec(&entry)
                .map_err(|e| internal("cannot encode a replication message", e))?;
            let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
            Ok((outbox_name(&region, now_ms, sequence), value))
        })
        .collect()
}
