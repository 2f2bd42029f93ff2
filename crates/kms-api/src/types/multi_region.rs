//! Shapes of the multi-Region key operations: `ReplicateKey` and `UpdatePrimaryRegion`,
//! and the `MultiRegionConfiguration` that `DescribeKey` reports.

use serde::{Deserialize, Serialize};

use super::{KeyMetadata, Tag};

/// A key of a multi-Region set: its ARN and Region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    /// The key ARN.
    pub arn: String,
    /// The Region it is in.
    pub region: String,
}

/// How a multi-Region key relates to its primary and replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    /// `PRIMARY` or `REPLICA`.
    pub multi_region_key_type: String,
    /// The primary key.
    pub primary_key: MultiRegionKey,
    /// Every replica key.
    pub replica_keys: Vec<MultiRegionKey>,
}

shape!(/// `ReplicateKey` input.
ReplicateKeyRequest {
    /// The primary key: key id or key ARN.
    key_id: String,
    /// The Region to create the replica in.
    replica_region: String,
    /// The replica's key policy (JSON); the default key policy when absent.
    policy: String,
    /// Skip the policy lockout check.
    bypass_policy_lockout_safety_check: bool,
    /// The replica's description.
    description: String,
    /// The replica's tags.
    tags: Vec<Tag>,
});

shape!(/// `ReplicateKey` output.
ReplicateKeyResponse {
    /// The replica's properties.
    replica_key_metadata: KeyMetadata,
    /// The replica's key policy.
    replica_policy: String,
    /// The replica's tags.
    replica_tags: Vec<Tag>,
});

shape!(/// `UpdatePrimaryRegion` input.
UpdatePrimaryRegionRequest {
    /// The current primary key: key id or key ARN.
    key_id: String,
    /// The Region of the replica that becomes the primary.
    primary_region: String,
});
