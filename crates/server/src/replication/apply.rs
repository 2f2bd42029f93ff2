//! The receiving side of replication: the `KmsInternal.*` operations a peer deployment
//! calls, and `FlushReplication`, which delivers this deployment's outbox now.
//!
//! A peer signs with the root credentials of the key's account here (`[[peers]]` on its
//! side) and authenticates the request as its own with [`MAC_HEADER`] (a key only the two
//! deployments can derive): the account's credentials alone cannot plant key material or
//! change a key set. The key's account must be the caller's, the key must be in the
//! request's Region, and a message may speak only for the sending deployment's Regions: a
//! replica follows the primary at the deployment that sent it, and an existing key here
//! whose primary is not there is refused. Applying a message twice changes nothing.

use axum::http::HeaderMap;
use kms_api::base64;
use kms_api::{ErrorCode, KmsError};
use serde::Serialize;

use super::messages::{ApplyReplica, ReplicaDeleted};
use super::{send, MAC_HEADER, PUBLIC_KEY_LEN_BYTES};
use crate::auth::{PrincipalKind, MAX_CLOCK_SKEW_MS};
use crate::authz;
use crate::model::{
    ImportInfo, KeyMaterial, KeyRecord, KeyRef, KeyState, MultiRegion, MultiRegionKeyType,
};
use crate::ops::multi_region::mutate_set;
use crate::ops::{internal, is_mrk_id, Ctx};
use crate::store::StoreError;

/// Runs internal operation `operation` (the part after `KmsInternal.`).
///
/// # Errors
/// `UnknownOperationException`, `SerializationException`, `AccessDeniedException`,
/// `ValidationException`, `NotFoundException`, or an internal error.
pub async fn handle(
    ctx: &Ctx<'_>,
    operation: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<u8>, KmsError> {
    match operation {
        "ApplyReplica" => {
            let sender = require_peer(ctx, operation, headers, body)?;
            apply_replica(ctx, &sender, decode(body)?).await?;
            Ok(Vec::new())
        }
        "ReplicaDeleted" => {
            let sender = require_peer(ctx, operation, headers, body)?;
            replica_deleted(ctx, &sender, decode(body)?).await?;
            Ok(Vec::new())
        }
        "FlushReplication" => {
            if ctx.caller.kind != PrincipalKind::Root {
                return Err(authz::access_denied(format!(
                    "User: {} is not authorized to perform: KmsInternal.FlushReplication (account root only)",
                    ctx.caller.arn
                )));
            }
            let report = send::deliver(ctx.state, true).await?;
            encode(&FlushResponse {
                delivered: report.delivered,
                failed: report.failed,
                pending: report.pending,
            })
        }
        _ => Err(KmsError::bare(ErrorCode::UnknownOperationException)),
    }
}

/// `FlushReplication` output.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FlushResponse {
    delivered: usize,
    failed: usize,
    pending: usize,
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, KmsError> {
    serde_json::from_slice(body).map_err(|e| {
        KmsError::new(
            ErrorCode::SerializationException,
            format!("invalid replication message: {e}"),
        )
    })
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, KmsError> {
    serde_json::to_vec(value).map_err(|e| internal("cannot encode response", e))
}

/// The key an ARN names, if it is a multi-Region key of the caller's account in the
/// request's Region.
fn own_key(ctx: &Ctx<'_>, arn: &str) -> Result<KeyRef, KmsError> {
    let bad = || KmsError::new(ErrorCode::ValidationException, format!("invalid key ARN '{arn}'"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", "aws", "kms", region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let key_id = resource.strip_prefix("key/").filter(|id| is_mrk_id(id));
    let Some(key_id) = key_id else {
        return Err(bad());
    };
    if region != ctx.region || account != ctx.caller.account {
        return Err(bad());
    }
    Ok(KeyRef { account: account.into(), region: region.into(), key_id: key_id.into() })
}

/// The peer deployment that sent a request, by its replication public key.
struct Sender([u8; PUBLIC_KEY_LEN_BYTES]);

/// Internal operations come from the account's root credentials (what a peer's
/// `[[peers]]` entry signs with) and carry a peer deployment's authenticator over the
/// request's date, operation and body. The replication key's public half is public and
/// the account root is not the peer, so neither alone lets anyone (even the account root
/// or a principal allowed `kms:CreateKey`) plant material in a key or change its set.
fn require_peer(
    ctx: &Ctx<'_>,
    operation: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Sender, KmsError> {
    let denied = |why: &str| {
        authz::access_denied(format!(
            "User: {} is not authorized to perform: KmsInternal.{operation} ({why})",
            ctx.caller.arn
        ))
    };
    if ctx.caller.kind != PrincipalKind::Root {
        return Err(denied("account root only"));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(amz_date), Some(mac)) = (header("x-amz-date"), header(MAC_HEADER)) else {
        return Err(denied("not authenticated as a peer deployment"));
    };
    // The authenticator covers the date; only a current one is accepted (as for SigV4).
    let fresh = kms_api::sigv4::parse_amz_date(amz_date).is_ok_and(|s| {
        s.saturating_mul(1000).abs_diff(ctx.now_ms()) <= MAX_CLOCK_SKEW_MS.unsigned_abs()
    });
    let sender = ctx.state.replication.authenticate(mac, amz_date, operation, body);
    match sender {
        Some(sender) if fresh => Ok(Sender(sender)),
        _ => Err(denied("not authenticated as a peer deployment")),
    }
}

/// `region` must be one the sending deployment serves.
fn require_sent_from(ctx: &Ctx<'_>, sender: &Sender, region: &str) -> Result<(), KmsError> {
    if ctx.state.replication.sender_serves(&sender.0, region) {
        return Ok(());
    }
    Err(KmsError::new(
        ErrorCode::ValidationException,
        format!("{region} is not a Region of the peer deployment that sent this message"),
    ))
}

/// Creates or updates a replica from the primary's deployment.
async fn apply_replica(
    ctx: &Ctx<'_>,
    sender: &Sender,
    message: ApplyReplica,
) -> Result<(), KmsError> {
    let key = own_key(ctx, &message.key_arn)?;
    require_sent_from(ctx, sender, &message.primary_region)?;
    let state = ctx.state;
    let _guard = state.key_locks.lock(&key).await;
    const MAX_ATTEMPTS: usize = 16;
    for _ in 0..MAX_ATTEMPTS {
        let outcome = match state.store.get_key(&key).await? {
            None => {
                let Some(record) = new_replica(ctx, &key, &message)? else {
                    // Not created here, or deleted since: nothing to update.
                    return Ok(());
                };
                let written = state.store.insert_key(&record).await;
                written.map(|()| record)
            }
            Some(mut record) => {
                // Only the deployment of the key's current primary speaks for its set.
                let primary = record.multi_region.as_ref().map(|m| m.primary_region.as_str());
                if !primary.is_some_and(|r| ctx.state.replication.sender_serves(&sender.0, r)) {
                    return Err(authz::access_denied(format!(
                        "{} is not a replica of a primary key at the peer deployment that sent this message",
                        key.arn()
                    )));
                }
                if !update_replica(ctx, &mut record, &message)? {
                    return Ok(());
                }
                record.revision += 1;
                state.store.update_key(&record).await.map(|()| record)
            }
        };
        match outcome {
            Ok(record) => {
                tracing::info!(key = %key.arn(), "applied replica state from the primary's deployment");
                state.keys.put(std::sync::Arc::new(record));
                return Ok(());
            }
            Err(StoreError::Conflict | StoreError::AlreadyExists | StoreError::NotFound) => {
                continue
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(internal("replica update kept conflicting", key.arn()))
}

/// A new replica, when the message creates one.
fn new_replica(
    ctx: &Ctx<'_>,
    key: &KeyRef,
    message: &ApplyReplica,
) -> Result<Option<KeyRecord>, KmsError> {
    let Some(create) = &message.create else {
        return Ok(None);
    };
    let mut record = KeyRecord::new_symmetric(key.clone(), ctx.now_ms(), create.policy.clone());
    record.description.clone_from(&create.description);
    record.tags.clone_from(&create.tags);
    record.key_spec.clone_from(&message.key_spec);
    record.key_usage.clone_from(&message.key_usage);
    record.origin.clone_from(&message.origin);
    record.import =
        ImportInfo { fingerprint: message.import_fingerprint.clone(), ..ImportInfo::default() };
    record.multi_region = Some(config_of(key, message));
    record.rotation = message.rotation.clone();
    add_materials(ctx, &mut record, message)?;
    record.state =
        if record.materials.is_empty() { KeyState::PendingImport } else { KeyState::Enabled };
    Ok(Some(record))
}

/// Brings an existing replica up to the message; false if nothing changed.
fn update_replica(
    ctx: &Ctx<'_>,
    record: &mut KeyRecord,
    message: &ApplyReplica,
) -> Result<bool, KmsError> {
    let before = record.clone();
    let current = record.multi_region.as_ref().map_or(0, |m| m.revision);
    if record.multi_region.is_none() || message.config_revision >= current {
        record.multi_region = Some(config_of(&record.key, message));
        record.rotation = message.rotation.clone();
    }
    if record.import.fingerprint.is_none() {
        record.import.fingerprint.clone_from(&message.import_fingerprint);
    }
    add_materials(ctx, record, message)?;
    Ok(*record != before)
}

fn config_of(key: &KeyRef, message: &ApplyReplica) -> MultiRegion {
    let key_type = if message.primary_region == key.region {
        MultiRegionKeyType::Primary
    } else {
        MultiRegionKeyType::Replica
    };
    MultiRegion {
        key_type,
        primary_region: message.primary_region.clone(),
        replica_regions: message.replica_regions.clone(),
        revision: message.config_revision,
    }
}

/// Opens every material version the replica lacks and seals it under this deployment's root key.
fn add_materials(
    ctx: &Ctx<'_>,
    record: &mut KeyRecord,
    message: &ApplyReplica,
) -> Result<(), KmsError> {
    let symmetric = record.key_spec == "SYMMETRIC_DEFAULT";
    let arn = record.key.arn();
    let undecodable =
        || KmsError::new(ErrorCode::ValidationException, "replicated material is not base64");
    for sealed in &message.materials {
        if record.material(sealed.version).is_some() {
            continue;
        }
        let bytes = base64::decode(&sealed.sealed).map_err(|_| undecodable())?;
        let plain =
            ctx.state.replication.open_from_peer(&arn, sealed.version, &bytes).map_err(|_| {
                KmsError::new(
                    ErrorCode::InvalidCiphertextException,
                    "replicated key material did not open with this deployment's replication key",
                )
            })?;
        let resealed = ctx
            .state
            .keystore
            .seal_received_material(&record.key, sealed.version, &plain, symmetric)
            .map_err(|e| internal("cannot seal replicated key material", e))?;
        record.materials.push(KeyMaterial {
            version: sealed.version,
            material_id: sealed.material_id.clone(),
            sealed: resealed,
            created_ms: sealed.created_ms,
            origin: sealed.origin,
            public_key: base64::decode(&sealed.public_key).map_err(|_| undecodable())?,
        });
    }
    record.materials.sort_by_key(|m| m.version);
    Ok(())
}

/// A replica at the peer was deleted: the primary here leaves it out of its set (and may
/// start its own waiting period).
async fn replica_deleted(
    ctx: &Ctx<'_>,
    sender: &Sender,
    message: ReplicaDeleted,
) -> Result<(), KmsError> {
    let key = own_key(ctx, &message.primary_arn)?;
    require_sent_from(ctx, sender, &message.region)?;
    let now = ctx.now_ms();
    let gone = message.region;
    let outcome = mutate_set(ctx.state, &key, None, &[], |set| {
        let Some(config) = set.named().multi_region.clone() else {
            return Ok(());
        };
        if !config.replica_regions.contains(&gone) {
            return Ok(());
        }
        let replicas: Vec<String> =
            config.replica_regions.iter().filter(|r| **r != gone).cloned().collect();
        set.configure(&config.primary_region, &replicas);
        let primary = set.named();
        if replicas.is_empty() && primary.state == KeyState::PendingReplicaDeletion {
            let days = primary.pending_window_days.unwrap_or(30);
            primary.state = KeyState::PendingDeletion;
            primary.deletion_ms = Some(now + days * crate::clock::DAY_MS);
        }
        Ok(())
    })
    .await;
    match outcome {
        Ok(_) => Ok(()),
        // The primary is gone already: nothing left to update.
        Err(e) if e.code == ErrorCode::NotFoundException => {
            tracing::info!(key = %key.arn(), "replica deletion reported for a key that no longer exists");
            Ok(())
        }
        Err(e) => Err(e),
    }
}
