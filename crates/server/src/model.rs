//! The server's records: keys, their key material, aliases, and key references.

use serde::{Deserialize, Serialize};

/// Identifies one key: the owning account, its Region and its key id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyRef {
    /// 12-digit account id.
    pub account: String,
    /// Region name, e.g. `us-east-1`.
    pub region: String,
    /// Key id (a lowercase UUID).
    pub key_id: String,
}

impl KeyRef {
    /// The key ARN, `arn:aws:kms:<region>:<account>:key/<key id>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:kms:{}:{}:key/{}", self.region, self.account, self.key_id)
    }
}

/// The lifecycle state of a key (the subset this server produces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    /// Usable.
    Enabled,
    /// Not usable for cryptography; manageable.
    Disabled,
    /// Scheduled for deletion; not usable.
    PendingDeletion,
    /// Origin `EXTERNAL` with no key material imported (or it expired or was deleted).
    PendingImport,
    /// A multi-Region primary key scheduled for deletion while it still has replicas; it
    /// becomes `PendingDeletion` when its last replica is deleted.
    PendingReplicaDeletion,
}

impl KeyState {
    /// The state name as AWS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
        }
    }

    /// `PendingDeletion` or `PendingReplicaDeletion`: scheduled for deletion, not usable.
    pub fn is_pending_deletion(self) -> bool {
        matches!(self, KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    }
}

/// The role of one key of a multi-Region set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MultiRegionKeyType {
    /// The primary key: replicas are made from it, and rotation happens there.
    Primary,
    /// A replica of the primary.
    Replica,
}

impl MultiRegionKeyType {
    /// The name AWS uses (`PRIMARY`, `REPLICA`).
    pub fn as_str(self) -> &'static str {
        match self {
            MultiRegionKeyType::Primary => "PRIMARY",
            MultiRegionKeyType::Replica => "REPLICA",
        }
    }
}

/// How a multi-Region key relates to the others of its set. Every related key carries the
/// whole configuration, as `DescribeKey` reports it on each of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiRegion {
    /// This key's role.
    pub key_type: MultiRegionKeyType,
    /// The Region of the primary key.
    pub primary_region: String,
    /// The Regions of the replicas, in the order they were created.
    pub replica_regions: Vec<String>,
    /// Incremented on every change of the configuration; a deployment receiving a
    /// replica's configuration from a peer never replaces a newer one with an older one.
    #[serde(default)]
    pub revision: u64,
}

impl MultiRegion {
    /// Every Region of the set, the primary's first.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.primary_region.as_str())
            .chain(self.replica_regions.iter().map(String::as_str))
    }
}

/// How a key material version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaterialOrigin {
    /// Created with the key.
    Original,
    /// Created by automatic rotation.
    Automatic,
    /// Created by `RotateKeyOnDemand`.
    OnDemand,
}

/// One version of a key's material, encrypted under the root key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMaterial {
    /// Version number, starting at 1; ciphertext blobs name it.
    pub version: u32,
    /// AWS-style key material id: 64 lowercase hex characters.
    pub material_id: String,
    /// The 32-byte AES key sealed by the keystore (never plaintext).
    #[serde(with = "hex_bytes")]
    pub sealed: Vec<u8>,
    /// When it was created, milliseconds since the epoch.
    pub created_ms: i64,
    /// How it was created.
    pub origin: MaterialOrigin,
    /// The public key (DER `SubjectPublicKeyInfo`) of an asymmetric key; empty otherwise.
    #[serde(default, with = "hex_bytes", skip_serializing_if = "Vec::is_empty")]
    pub public_key: Vec<u8>,
}

/// Automatic rotation settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Rotation {
    /// Whether automatic rotation is on.
    pub enabled: bool,
    /// Rotation period in days (kept when rotation is turned off).
    pub period_days: Option<i64>,
    /// When the next automatic rotation is due, milliseconds since the epoch.
    pub next_rotation_ms: Option<i64>,
}

/// A KMS key and everything stored with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Which key this is.
    pub key: KeyRef,
    /// Incremented on every write; used for optimistic concurrency.
    pub revision: u64,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
    /// Description (0 to 8192 characters).
    pub description: String,
    /// Key usage, e.g. `ENCRYPT_DECRYPT`.
    pub key_usage: String,
    /// Key spec, e.g. `SYMMETRIC_DEFAULT`.
    pub key_spec: String,
    /// Origin, e.g. `AWS_KMS`.
    pub origin: String,
    /// Lifecycle state.
    pub state: KeyState,
    /// When deletion is due (only while `PendingDeletion`), milliseconds since the epoch.
    pub deletion_ms: Option<i64>,
    /// The pending window chosen at `ScheduleKeyDeletion`.
    pub pending_window_days: Option<i64>,
    /// The key policy document, as given or as AWS writes the default.
    pub policy: String,
    /// Tags in the order they were first added.
    pub tags: Vec<(String, String)>,
    /// Automatic rotation settings.
    pub rotation: Rotation,
    /// Every material version, oldest first; the last one is current.
    pub materials: Vec<KeyMaterial>,
    /// Imported key material bookkeeping (origin `EXTERNAL` only).
    #[serde(default)]
    pub import: ImportInfo,
    /// The multi-Region configuration (multi-Region keys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_region: Option<MultiRegion>,
    /// Who manages the key: the customer, or AWS (the keys of `alias/aws/<service>`).
    #[serde(default)]
    pub key_manager: KeyManager,
}

/// `KeyManager` as `DescribeKey` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KeyManager {
    /// A customer managed key.
    #[default]
    Customer,
    /// An AWS managed key (see [`crate::ops::managed_keys`]).
    Aws,
}

impl KeyManager {
    /// The name AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "CUSTOMER",
            Self::Aws => "AWS",
        }
    }
}

/// What an `EXTERNAL` key remembers about its imported material and pending import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImportInfo {
    /// `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`, once material is imported.
    pub expiration_model: Option<String>,
    /// When the imported material expires, milliseconds since the epoch.
    pub valid_to_ms: Option<i64>,
    /// SHA-256 fingerprint (hex) of the first material imported; later imports must match it.
    pub fingerprint: Option<String>,
    /// The outstanding import parameters from the latest `GetParametersForImport`.
    pub pending: Option<ImportParameters>,
}

/// One set of import parameters: an RSA wrapping key pair and its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportParameters {
    /// Random id carried inside the import token (hex).
    pub token_id: String,
    /// The wrapping algorithm chosen, e.g. `RSAES_OAEP_SHA_256`.
    pub wrapping_algorithm: String,
    /// The wrapping key spec, e.g. `RSA_4096`.
    pub wrapping_key_spec: String,
    /// The wrapping private key (PKCS #8) sealed by the keystore (never plaintext).
    #[serde(with = "hex_bytes")]
    pub sealed_wrapping_key: Vec<u8>,
    /// When the parameters expire, milliseconds since the epoch.
    pub expires_ms: i64,
}

impl KeyRecord {
    /// An enabled symmetric `AWS_KMS` key at revision 1 with `policy`, created at
    /// `created_ms`, with no description, tags or material yet.
    pub fn new_symmetric(key: KeyRef, created_ms: i64, policy: String) -> Self {
        Self {
            key,
            revision: 1,
            created_ms,
            description: String::new(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            origin: "AWS_KMS".into(),
            state: KeyState::Enabled,
            deletion_ms: None,
            pending_window_days: None,
            policy,
            tags: Vec::new(),
            rotation: Rotation::default(),
            materials: Vec::new(),
            import: ImportInfo::default(),
            key_manager: KeyManager::Customer,
            multi_region: None,
        }
    }

    /// Whether this is a replica of a multi-Region key.
    pub fn is_replica(&self) -> bool {
        self.multi_region.as_ref().is_some_and(|m| m.key_type == MultiRegionKeyType::Replica)
    }

    /// The other keys of this key's multi-Region set (none for a single-Region key).
    pub fn related_keys(&self) -> Vec<KeyRef> {
        let Some(config) = &self.multi_region else {
            return Vec::new();
        };
        config
            .regions()
            .filter(|r| *r != self.key.region)
            .map(|region| KeyRef { region: region.to_owned(), ..self.key.clone() })
            .collect()
    }

    /// The material that encrypts new data.
    pub fn current_material(&self) -> Option<&KeyMaterial> {
        self.materials.last()
    }

    /// The material of a given version.
    pub fn material(&self, version: u32) -> Option<&KeyMaterial> {
        self.materials.iter().find(|m| m.version == version)
    }

    /// How many on-demand rotations this key has had.
    pub fn on_demand_rotations(&self) -> usize {
        self.materials.iter().filter(|m| m.origin == MaterialOrigin::OnDemand).count()
    }

    /// When a background job next has work on this key (deletion, rotation, or the
    /// expiry of imported key material).
    pub fn due_ms(&self) -> Option<i64> {
        let scheduled = match self.state {
            KeyState::PendingDeletion => self.deletion_ms,
            // Replicas rotate with their primary, never on their own.
            KeyState::Enabled if self.rotation.enabled && !self.is_replica() => {
                self.rotation.next_rotation_ms
            }
            _ => None,
        };
        scheduled.into_iter().chain(self.material_expiry_ms()).min()
    }

    /// When imported key material expires, if the key holds expiring material and is
    /// not pending deletion (deletion removes the material anyway).
    pub fn material_expiry_ms(&self) -> Option<i64> {
        match self.state {
            KeyState::Enabled | KeyState::Disabled if !self.materials.is_empty() => {
                self.import.valid_to_ms
            }
            _ => None,
        }
    }
}

/// An alias and the key it points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasRecord {
    /// Owning account.
    pub account: String,
    /// Region.
    pub region: String,
    /// `alias/…`.
    pub name: String,
    /// The key id it points to.
    pub target_key_id: String,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
    /// Last update time, milliseconds since the epoch.
    pub updated_ms: i64,
}

impl AliasRecord {
    /// The alias ARN.
    pub fn arn(&self) -> String {
        format!("arn:aws:kms:{}:{}:{}", self.region, self.account, self.name)
    }

    /// The key the alias points to.
    pub fn target(&self) -> KeyRef {
        KeyRef {
            account: self.account.clone(),
            region: self.region.clone(),
            key_id: self.target_key_id.clone(),
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}
