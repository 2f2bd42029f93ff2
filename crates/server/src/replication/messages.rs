//! What one deployment asks of a peer, and the outbox entries that carry it.
//!
//! Only the primary's deployment sends `ApplyReplica` (the whole state of the set as the
//! replica should hold it), so per-peer delivery in order is enough for consistency;
//! applying a message twice changes nothing. A replica's deployment sends
//! `ReplicaDeleted` to the primary's when the replica's waiting period ends.

use kms_api::base64;
use serde::{Deserialize, Serialize};

use crate::model::{KeyMaterial, MaterialOrigin, Rotation};

/// Prefix of outbox entries in the store's `meta` table: `outbox/<peer Region>/<order>`.
pub const OUTBOX_PREFIX: &str = "outbox/";

/// One message to a peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Kind")]
pub enum Message {
    /// Create or update a replica at the peer (boxed: it is much the larger variant).
    ApplyReplica(Box<ApplyReplica>),
    /// A replica at the sender was deleted; the primary is at the peer.
    ReplicaDeleted(ReplicaDeleted),
}

impl Message {
    /// The internal operation that carries it (`KmsInternal.<name>`).
    pub fn operation(&self) -> &'static str {
        match self {
            Message::ApplyReplica(_) => "ApplyReplica",
            Message::ReplicaDeleted(_) => "ReplicaDeleted",
        }
    }
}

/// The state a replica at the peer should have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplyReplica {
    /// The replica's ARN at the peer.
    pub key_arn: String,
    /// Key spec, usage and origin (as the primary's).
    pub key_spec: String,
    /// Key usage.
    pub key_usage: String,
    /// Origin.
    pub origin: String,
    /// The primary's Region.
    pub primary_region: String,
    /// Every replica Region.
    pub replica_regions: Vec<String>,
    /// The configuration's revision; older configurations never replace newer ones.
    pub config_revision: u64,
    /// The shared rotation settings.
    pub rotation: Rotation,
    /// Every material version, sealed for the peer (empty for `EXTERNAL` keys).
    pub materials: Vec<SealedMaterial>,
    /// The fingerprint imported material must match (`EXTERNAL` keys).
    pub import_fingerprint: Option<String>,
    /// Present only on the message that creates the replica.
    pub create: Option<NewReplica>,
}

/// What only the creation of a replica carries: its own policy, description and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewReplica {
    /// The key policy.
    pub policy: String,
    /// The description.
    pub description: String,
    /// The tags.
    pub tags: Vec<(String, String)>,
}

/// One material version sealed for the receiving key (see `replication::seal_for_peer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SealedMaterial {
    /// The version.
    pub version: u32,
    /// The material id (shared by every key of the set).
    pub material_id: String,
    /// When it was created, milliseconds since the epoch.
    pub created_ms: i64,
    /// How it was created.
    pub origin: MaterialOrigin,
    /// The public key of an asymmetric key (base64 DER SPKI), empty otherwise.
    pub public_key: String,
    /// The material, sealed for the receiving key (base64).
    pub sealed: String,
}

impl SealedMaterial {
    /// The entry for `material`, with `sealed` already sealed for the peer.
    pub fn new(material: &KeyMaterial, sealed: &[u8]) -> Self {
        Self {
            version: material.version,
            material_id: material.material_id.clone(),
            created_ms: material.created_ms,
            origin: material.origin,
            public_key: base64::encode(&material.public_key),
            sealed: base64::encode(sealed),
        }
    }
}

/// A replica was deleted at the end of its waiting period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaDeleted {
    /// The primary key's ARN (at the receiving peer).
    pub primary_arn: String,
    /// The Region of the deleted replica.
    pub region: String,
}

/// An outbox entry: the message and its delivery bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The message.
    pub message: Message,
    /// Failed deliveries so far.
    pub attempts: u32,
    /// Not before this time, milliseconds since the epoch.
    pub next_attempt_ms: i64,
}

/// The `meta` name of an outbox entry: ordered by time, then by a counter, per peer.
pub fn outbox_name(peer_region: &str, now_ms: i64, sequence: u64) -> String {
    format!("{OUTBOX_PREFIX}{peer_region}/{now_ms:015}/{sequence:012}")
}

/// The peer Region an outbox entry name is for.
pub fn outbox_peer(name: &str) -> Option<&str> {
    name.strip_prefix(OUTBOX_PREFIX)?.split('/').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_names_sort_in_delivery_order_per_peer() {
        let a = outbox_name("eu-west-1", 5, 2);
        let b = outbox_name("eu-west-1", 5, 10);
        let c = outbox_name("eu-west-1", 40, 1);
        assert!(a < b && b < c);
        assert_eq!(outbox_peer(&c), Some("eu-west-1"));
        assert_eq!(outbox_peer("root-check"), None);
    }

    #[test]
    fn messages_round_trip_as_json() {
        let message = Message::ReplicaDeleted(ReplicaDeleted {
            primary_arn: "arn:aws:kms:us-east-1:111122223333:key/mrk-1".into(),
            region: "eu-west-1".into(),
        });
        let text = serde_json::to_string(&message).unwrap();
        assert!(text.contains("\"Kind\":\"ReplicaDeleted\""));
        assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), message);
    }
}
