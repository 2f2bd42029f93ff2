//! Multi-Region keys: ReplicateKey and UpdatePrimaryRegion, and the one write path that
//! keeps every key of a multi-Region set consistent (replication, rotation, primary
//! changes, replica deletion).
//!
//! The keys of a set live in one store here (one server serving several Regions). They
//! share key id, key spec, usage, origin, rotation settings and every material version;
//! each holds the material sealed under its own ARN. A change to the set locks every key
//! of it, re-reads them, applies the change and writes them in one transaction, so the
//! `Creating` and `Updating` states AWS shows briefly are never observable here.
//! `docs/multi-region.md` has the design, including the two-deployment replication that
//! is not built.

mod key_set;

use std::sync::Arc;

use kms_api::types::{
    MultiRegionConfiguration, MultiRegionKey, ReplicateKeyRequest, ReplicateKeyResponse, Tag,
    UpdatePrimaryRegionRequest,
};
use kms_api::{ErrorCode, KmsError};

use self::key_set::copy_material;
use super::keys::{metadata, require_key_id, DESCRIPTION_MAX_CHARS, MAX_KEYS_PER_REGION};
use super::rotation::{add_material, DEFAULT_ROTATION_DAYS};
use super::validate::{invalid, Validator};
use super::{key_not_found, policy, require_enabled, tags, Ctx, KeyIdForms};
use crate::authz::context::{NewKey, RequestFacts};
use crate::authz::{self, Action};
use crate::clock::DAY_MS;
use crate::config::is_region_name;
use crate::model::{
    ImportInfo, KeyRecord, KeyRef, KeyState, MaterialOrigin, MultiRegion, MultiRegionKeyType,
};
use crate::replication::messages::{Message, NewReplica, ReplicaDeleted};
use crate::state::AppState;

/// The prefix of multi-Region key ids.
pub const MRK_PREFIX: &str = "mrk-";

/// A fresh multi-Region key id: `mrk-` + 32 lowercase hex digits.
pub fn new_key_id() -> String {
    format!("{MRK_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// The configuration of a new primary key in `region`, with no replicas yet.
pub fn new_primary(region: &str) -> MultiRegion {
    MultiRegion {
        key_type: MultiRegionKeyType::Primary,
        primary_region: region.to_owned(),
        replica_regions: Vec::new(),
        revision: 1,
    }
}

/// The `MultiRegionConfiguration` `DescribeKey` shows for a key of a set.
pub fn configuration(record: &KeyRecord) -> Option<MultiRegionConfiguration> {
    let config = record.multi_region.as_ref()?;
    let member = |region: &str| {
        let key = KeyRef { region: region.to_owned(), ..record.key.clone() };
        MultiRegionKey { arn: key.arn(), region: region.to_owned() }
    };
    Some(MultiRegionConfiguration {
        multi_region_key_type: config.key_type.as_str().to_owned(),
        primary_key: member(&config.primary_region),
        replica_keys: config.replica_regions.iter().map(|r| member(r)).collect(),
    })
}

/// The partition a Region belongs to (ARNs here always say `aws`).
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// `UnsupportedOperationException` for a key that is not a multi-Region primary.
pub fn not_primary(record: &KeyRecord) -> KmsError {
    let what = if record.multi_region.is_some() { "primary key" } else { "key" };
    KmsError::new(
        ErrorCode::UnsupportedOperationException,
        format!("{} is not a multi-region {what}.", record.key.arn()),
    )
}

pub use key_set::{mutate_set, Asking, KeySet};

/// Applies a rotation-settings or rotation change to a key: for a multi-Region primary,
/// every replica gets the same settings and any new material version in the same write;
/// a replica refuses (rotation is managed at the primary). Single-Region keys take the
/// ordinary path.
///
/// # Errors
/// As [`Ctx::mutate_with`], plus `UnsupportedOperationException` for a replica.
pub async fn mutate_rotation<T>(
    ctx: &Ctx<'_>,
    key_id: &str,
    action: Action,
    facts: &RequestFacts<'_>,
    mut change: impl FnMut(&mut KeyRecord) -> Result<T, KmsError>,
) -> Result<(T, Arc<KeyRecord>), KmsError> {
    let key = ctx.resolve(key_id, KeyIdForms::KeyOnly).await?;
    let stored = ctx.state.store.get_key(&key).await?;
    if stored.as_ref().is_none_or(|r| r.multi_region.is_none()) {
        return ctx.mutate_with(&key, action, facts, change).await;
    }
    let asking = Asking { ctx, action, facts };
    let (out, written) = mutate_set(ctx.state, &key, Some(asking), &[], |set| {
        if set.named().is_replica() {
            return Err(not_primary(set.named()));
        }
        let out = change(set.named())?;
        set.share_rotation(ctx.state)?;
        Ok(out)
    })
    .await?;
    let record = match written.into_iter().find(|r| r.key == key) {
        Some(record) => record,
        None => {
            ctx.state.store.get_key(&key).await?.map(Arc::new).ok_or_else(|| key_not_found(&key))?
        }
    };
    Ok((out, record))
}

/// ReplicateKey: a replica of a multi-Region primary key in another Region, with the same
/// key id and every material version (or, for imported key material, waiting for the same
/// material to be imported into it).
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `UnsupportedOperationException` (not a
/// primary), `AlreadyExistsException` (the Region has the key), `DisabledException`,
/// `KMSInvalidStateException`, `MalformedPolicyDocumentException`, `TagException`,
/// `LimitExceededException`, `AccessDeniedException`.
pub async fn replicate_key(
    ctx: &Ctx<'_>,
    req: ReplicateKeyRequest,
) -> Result<ReplicateKeyResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if v.required("replicaRegion", &req.replica_region) {
            check_region_member(v, "replicaRegion", req.replica_region.as_deref());
        }
        if let Some(p) = &req.policy {
            policy::validate_member(v, p);
        }
        if let Some(d) = &req.description {
            v.length("description", d, 0, DESCRIPTION_MAX_CHARS);
        }
        if let Some(t) = &req.tags {
            tags::validate_members(v, t);
        }
    })?;
    let replica_region = req.replica_region.as_deref().unwrap_or_default();
    let key = ctx.resolve(key_id, KeyIdForms::KeyOnly).await?;
    let facts = RequestFacts { replica_region: Some(replica_region), ..RequestFacts::default() };
    let primary = ctx.load_with(&key, Action::ReplicateKey, &facts).await?;
    check_replicable(&primary, replica_region, ctx.state)?;

    // The replica Region's authorization: kms:CreateKey there, and kms:TagResource when
    // tagging (identity policies).
    let key_tags = tags::merge(&[], req.tags.as_deref().unwrap_or_default())?;
    let tag_keys: Vec<&str> = key_tags.iter().map(|(k, _)| k.as_str()).collect();
    let bypass_lockout = req.bypass_policy_lockout_safety_check == Some(true);
    let mut in_replica_region = ctx.caller.clone();
    in_replica_region.env.region = replica_region.to_owned();
    let create_facts = RequestFacts {
        new_key: Some(NewKey {
            key_spec: &primary.key_spec,
            key_usage: &primary.key_usage,
            origin: &primary.origin,
            multi_region: true,
        }),
        new_key_type: Some(MultiRegionKeyType::Replica.as_str()),
        replica_region: Some(replica_region),
        request_tags: (!key_tags.is_empty()).then_some(key_tags.as_slice()),
        tag_keys: (!tag_keys.is_empty()).then_some(tag_keys),
        bypass_lockout: Some(bypass_lockout),
        ..RequestFacts::default()
    };
    authz::authorize_account(&in_replica_region, Action::CreateKey, &create_facts, ctx.decisions)?;
    if !key_tags.is_empty() {
        // Tags on the replica need kms:TagResource there as well (identity policies).
        authz::authorize_account(
            &in_replica_region,
            Action::TagResource,
            &create_facts,
            ctx.decisions,
        )?;
    }

    let replica_key = KeyRef { region: replica_region.to_owned(), ..key.clone() };
    let (policy_text, parsed) = match req.policy {
        Some(p) => {
            let parsed = policy::check_document(&p)?;
            policy::check_principals(ctx, &parsed)?;
            (p, Some(parsed))
        }
        None => (policy::default_policy(&key.account), None),
    };
    if ctx.state.store.count_keys(&key.account, replica_region).await? >= MAX_KEYS_PER_REGION {
        return Err(KmsError::new(
            ErrorCode::LimitExceededException,
            format!("You have reached the limit of {MAX_KEYS_PER_REGION} KMS keys in this Region"),
        ));
    }
    let now = ctx.now_ms();
    let description = req.description.unwrap_or_default();
    let asking = Asking { ctx, action: Action::ReplicateKey, facts: &facts };
    let (replica, _) =
        mutate_set(ctx.state, &key, Some(asking), std::slice::from_ref(&replica_key), |set| {
            let primary = set.named().clone();
            check_replicable(&primary, replica_region, ctx.state)?;
            let replica = new_replica(ctx.state, &primary, &replica_key, now, |r| {
                r.description.clone_from(&description);
                r.policy.clone_from(&policy_text);
                r.tags.clone_from(&key_tags);
            })?;
            if let (Some(parsed), false) = (&parsed, bypass_lockout) {
                authz::check_lockout(ctx.caller, &replica, parsed)?;
            }
            let config = primary.multi_region.clone().unwrap_or_else(|| new_primary(&key.region));
            let mut replicas = config.replica_regions.clone();
            replicas.push(replica_region.to_owned());
            if ctx.state.replication.peer(replica_region).is_some() {
                // Created at the peer deployment when the outbox delivers it.
                let new = NewReplica {
                    policy: replica.policy.clone(),
                    description: replica.description.clone(),
                    tags: replica.tags.clone(),
                };
                set.remote_creates.push((replica_region.to_owned(), new));
            } else {
                set.inserts.push(replica.clone());
            }
            set.configure(&config.primary_region, &replicas);
            let mut shown = replica;
            shown.multi_region = set.named().multi_region.clone().map(|mut m| {
                m.key_type = MultiRegionKeyType::Replica;
                m
            });
            Ok(shown)
        })
        .await?;
    let mut replica_metadata = metadata(&replica);
    if ctx.state.replication.peer(replica_region).is_some() {
        // AWS's replica is `Creating` until it exists; here that lasts until the peer applies it.
        replica_metadata.key_state = "Creating".to_owned();
        replica_metadata.enabled = false;
    }
    let replica_tags = replica
        .tags
        .iter()
        .map(|(k, v)| Tag { tag_key: Some(k.clone()), tag_value: Some(v.clone()) })
        .collect();
    Ok(ReplicateKeyResponse {
        replica_key_metadata: Some(replica_metadata),
        replica_policy: Some(replica.policy.clone()),
        replica_tags: Some(replica_tags),
    })
}

/// Checks a `Region` member: 1 to 32 characters of AWS's Region pattern.
fn check_region_member(v: &mut Validator, member: &str, region: Option<&str>) {
    let region = region.unwrap_or_default();
    v.length(member, region, 1, 32);
    v.pattern(member, region, is_region_name(region), "^([a-z]+-){2,3}\\d+$");
}

/// The key's multi-Region configuration, if it is an enabled primary key.
fn enabled_primary(primary: &KeyRecord) -> Result<&MultiRegion, KmsError> {
    let Some(config) = &primary.multi_region else {
        return Err(not_primary(primary));
    };
    if config.key_type != MultiRegionKeyType::Primary {
        return Err(not_primary(primary));
    }
    require_enabled(primary)?;
    Ok(config)
}

/// The primary may be replicated into `region`.
fn check_replicable(primary: &KeyRecord, region: &str, state: &AppState) -> Result<(), KmsError> {
    let config = enabled_primary(primary)?;
    if region == primary.key.region {
        return Err(invalid(format!(
            "The replica Region must differ from the Region of the primary key ({region})."
        )));
    }
    if partition(region) != partition(&primary.key.region) {
        return Err(invalid(format!(
            "{region} is not in the partition of the primary key's Region ({}).",
            primary.key.region
        )));
    }
    if !state.serves_region(region) && state.replication.peer(region).is_none() {
        return Err(invalid(format!(
            "{region} is not a Region this server or one of its peers serves."
        )));
    }
    if config.regions().any(|r| r == region) {
        let existing = KeyRef { region: region.to_owned(), ..primary.key.clone() };
        return Err(KmsError::new(
            ErrorCode::AlreadyExistsException,
            format!("Key '{}' already exists", existing.arn()),
        ));
    }
    Ok(())
}

/// A new replica of `primary` at `key`: same spec, usage, origin, rotation settings and
/// material (re-sealed for the replica); an `EXTERNAL` replica starts `PendingImport`
/// and accepts only the material imported into the primary.
fn new_replica(
    state: &AppState,
    primary: &KeyRecord,
    key: &KeyRef,
    now_ms: i64,
    personalise: impl FnOnce(&mut KeyRecord),
) -> Result<KeyRecord, KmsError> {
    let mut replica = KeyRecord::new_symmetric(key.clone(), now_ms, String::new());
    replica.key_usage.clone_from(&primary.key_usage);
    replica.key_spec.clone_from(&primary.key_spec);
    replica.origin.clone_from(&primary.origin);
    replica.rotation = primary.rotation.clone();
    if primary.origin == "EXTERNAL" {
        replica.state = KeyState::PendingImport;
        replica.import =
            ImportInfo { fingerprint: primary.import.fingerprint.clone(), ..ImportInfo::default() };
    } else {
        for material in &primary.materials {
            replica.materials.push(copy_material(state, primary, key, material)?);
        }
    }
    personalise(&mut replica);
    Ok(replica)
}

/// UpdatePrimaryRegion: the replica in `PrimaryRegion` becomes the primary key and the
/// current primary becomes a replica.
///
/// # Errors
/// `ValidationException`, `NotFoundException` (no replica in that Region),
/// `UnsupportedOperationException` (not a primary), `DisabledException`,
/// `KMSInvalidStateException`, `AccessDeniedException`.
pub async fn update_primary_region(
    ctx: &Ctx<'_>,
    req: UpdatePrimaryRegionRequest,
) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        if v.required("primaryRegion", &req.primary_region) {
            check_region_member(v, "primaryRegion", req.primary_region.as_deref());
        }
    })?;
    let new_region = req.primary_region.as_deref().unwrap_or_default();
    let key = ctx.resolve(key_id, KeyIdForms::KeyOnly).await?;
    let facts = RequestFacts { primary_region: Some(new_region), ..RequestFacts::default() };
    let primary = ctx.load_with(&key, Action::UpdatePrimaryRegion, &facts).await?;
    check_promotable(&primary, new_region)?;
    if ctx.state.replication.peer(new_region).is_some() {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!("{new_region} is served by another deployment; moving the primary key there is not supported by this server yet"),
        ));
    }
    // Both keys must allow kms:UpdatePrimaryRegion.
    let replica_key = KeyRef { region: new_region.to_owned(), ..key.clone() };
    let replica = ctx.load_with(&replica_key, Action::UpdatePrimaryRegion, &facts).await?;
    check_new_primary(&replica)?;
    let asking = Asking { ctx, action: Action::UpdatePrimaryRegion, facts: &facts };
    mutate_set(ctx.state, &key, Some(asking), &[], |set| {
        let primary = set.named().clone();
        check_promotable(&primary, new_region)?;
        let Some(replica) = set.in_region(new_region) else {
            return Err(key_not_found(&replica_key));
        };
        check_new_primary(replica)?;
        let config = primary.multi_region.clone().unwrap_or_else(|| new_primary(&key.region));
        let mut replicas: Vec<String> =
            config.replica_regions.iter().filter(|r| *r != new_region).cloned().collect();
        replicas.push(primary.key.region.clone());
        set.configure(new_region, &replicas);
        Ok(())
    })
    .await?;
    Ok(())
}

/// The key is a usable primary with a replica in `region`.
fn check_promotable(primary: &KeyRecord, region: &str) -> Result<(), KmsError> {
    let config = enabled_primary(primary)?;
    if region == primary.key.region {
        return Err(invalid(format!("{region} is already the primary Region of this key.")));
    }
    if !config.replica_regions.iter().any(|r| r == region) {
        let missing = KeyRef { region: region.to_owned(), ..primary.key.clone() };
        return Err(key_not_found(&missing));
    }
    Ok(())
}

/// The replica that becomes primary must hold the material and not be leaving.
fn check_new_primary(replica: &KeyRecord) -> Result<(), KmsError> {
    match replica.state {
        KeyState::PendingImport => Err(super::pending_import(replica)),
        state if state.is_pending_deletion() => Err(KmsError::new(
            ErrorCode::KMSInvalidStateException,
            format!("{} is pending deletion.", replica.key.arn()),
        )),
        _ => Ok(()),
    }
}

/// The state a key scheduled for deletion enters: a primary that still has replicas waits
/// in `PendingReplicaDeletion` (no deletion date yet); any other key is `PendingDeletion`.
pub fn deletion_state(record: &KeyRecord) -> KeyState {
    match &record.multi_region {
        Some(c) if c.key_type == MultiRegionKeyType::Primary && !c.replica_regions.is_empty() => {
            KeyState::PendingReplicaDeletion
        }
        _ => KeyState::PendingDeletion,
    }
}

/// Deletes a replica whose waiting period has ended, and takes it out of its set. A
/// primary waiting in `PendingReplicaDeletion` for its last replica starts its own
/// waiting period (`PendingDeletion`) now.
///
/// # Errors
/// A storage error.
pub async fn delete_replica(state: &AppState, key: &KeyRef, now_ms: i64) -> Result<bool, KmsError> {
    let (deleted, _) = mutate_set(state, key, None, &[], |set| {
        let named = set.named();
        if named.state != KeyState::PendingDeletion || named.deletion_ms.is_none_or(|d| d > now_ms)
        {
            return Ok(false);
        }
        let gone = named.key.clone();
        let Some(config) = named.multi_region.clone() else {
            return Ok(false);
        };
        let replicas: Vec<String> =
            config.replica_regions.iter().filter(|r| **r != gone.region).cloned().collect();
        if state.replication.peer(&config.primary_region).is_some() {
            let primary = KeyRef { region: config.primary_region.clone(), ..gone.clone() };
            let message =
                ReplicaDeleted { primary_arn: primary.arn(), region: gone.region.clone() };
            set.messages.push((config.primary_region.clone(), Message::ReplicaDeleted(message)));
        }
        set.deletes.push(gone);
        set.configure(&config.primary_region, &replicas);
        if replicas.is_empty() {
            if let Some(primary) = set.in_region(&config.primary_region) {
                if primary.state == KeyState::PendingReplicaDeletion {
                    let days = primary.pending_window_days.unwrap_or(30);
                    primary.state = KeyState::PendingDeletion;
                    primary.deletion_ms = Some(now_ms + days * DAY_MS);
                }
            }
        }
        Ok(true)
    })
    .await?;
    Ok(deleted)
}

/// Automatic rotation of a multi-Region primary whose rotation is due: new material at
/// the primary and every replica in one write. Returns whether it rotated.
///
/// # Errors
/// A storage error, or `KMSInternalException` if material cannot be created.
pub async fn rotate_set(state: &AppState, key: &KeyRef, now_ms: i64) -> Result<bool, KmsError> {
    let (rotated, _) = mutate_set(state, key, None, &[], |set| {
        let named = set.named();
        let due = named.rotation.enabled
            && named.rotation.next_rotation_ms.is_some_and(|t| t <= now_ms)
            && named.state == KeyState::Enabled
            && !named.is_replica();
        if !due {
            return Ok(false);
        }
        add_material(state, named, MaterialOrigin::Automatic, now_ms)?;
        let period = named.rotation.period_days.unwrap_or(DEFAULT_ROTATION_DAYS);
        named.rotation.next_rotation_ms = Some(now_ms + period * DAY_MS);
        set.share_rotation(state)?;
        Ok(true)
    })
    .await?;
    Ok(rotated)
}

/// Resolves ReEncrypt's `DestinationKeyId`: a key or alias ARN may name another Region
/// this server serves (cross-Region ReEncrypt); other forms resolve in the request's Region.
///
/// # Errors
/// As [`Ctx::resolve`]; `NotFoundException` (`Invalid arn <region>`) for a Region this
/// server does not serve.
pub async fn resolve_destination(ctx: &Ctx<'_>, key_id: &str) -> Result<KeyRef, KmsError> {
    let region = key_id
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').nth(2))
        .filter(|region| *region != ctx.region);
    let Some(region) = region else {
        return ctx.resolve(key_id, KeyIdForms::KeyOrAlias).await;
    };
    if !is_region_name(region) || !ctx.state.serves_region(region) {
        return Err(KmsError::new(ErrorCode::NotFoundException, format!("Invalid arn {region}")));
    }
    let there = Ctx { state: ctx.state, caller: ctx.caller, region, decisions: ctx.decisions };
    there.resolve(key_id, KeyIdForms::KeyOrAlias).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_mrk_ids() {
        let id = new_key_id();
        assert_eq!(id.len(), 36);
        assert!(id.starts_with("mrk-"));
        assert!(id[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(id, new_key_id());
    }

    #[test]
    fn partitions_follow_region_prefixes() {
        assert_eq!(partition("us-east-1"), "aws");
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn a_primary_with_replicas_waits_for_them() {
        let key = KeyRef {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            key_id: new_key_id(),
        };
        let mut record = KeyRecord::new_symmetric(key, 0, String::new());
        assert_eq!(deletion_state(&record), KeyState::PendingDeletion);
        record.multi_region = Some(new_primary("us-east-1"));
        assert_eq!(deletion_state(&record), KeyState::PendingDeletion);
        record.multi_region.as_mut().unwrap().replica_regions.push("eu-west-1".into());
        assert_eq!(deletion_state(&record), KeyState::PendingReplicaDeletion);
        let config = configuration(&record).unwrap();
        assert_eq!(config.multi_region_key_type, "PRIMARY");
        assert_eq!(config.replica_keys[0].region, "eu-west-1");
        assert!(config.replica_keys[0]
            .arn
            .starts_with("arn:aws:kms:eu-west-1:111122223333:key/mrk-"));
    }
}
