//! Background work that falls due with time: deleting keys whose waiting period has
//! ended, rotating keys whose automatic rotation is due, deleting imported key material
//! whose `ValidTo` has passed, and removing expired STS session credentials.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::DAY_MS;
use crate::model::{KeyState, MaterialOrigin};
use crate::ops::import::remove_material;
use crate::ops::multi_region;
use crate::ops::rotation::{add_material, DEFAULT_ROTATION_DAYS};
use crate::state::AppState;
use crate::store::StoreError;

/// How many due keys one pass handles.
const BATCH: usize = 500;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobReport {
    /// Keys deleted.
    pub deleted: usize,
    /// Keys rotated.
    pub rotated: usize,
    /// Keys whose imported key material expired and was deleted.
    pub expired: usize,
    /// Expired STS session credentials removed.
    pub sessions_removed: usize,
}

/// Does every piece of work due at the clock's current time.
///
/// # Errors
/// A storage error; work done before it stays done.
pub async fn run_due(state: &AppState) -> Result<JobReport, StoreError> {
    let mut report = JobReport::default();
    let now = state.clock.now_ms();
    for access_key_id in state.accounts.iam.expired_sessions(now) {
        match state.accounts.iam.delete_key(&*state.store, &access_key_id).await {
            Ok(()) => report.sessions_removed += 1,
            Err(crate::iam::DirectoryError::Store(StoreError::NotFound)) => {}
            Err(crate::iam::DirectoryError::Store(e)) => return Err(e),
            Err(e) => return Err(StoreError::Backend(e.to_string())),
        }
    }
    loop {
        let now = state.clock.now_ms();
        let due = state.store.keys_due(now, BATCH).await?;
        let mut progressed = false;
        for key in &due {
            let Some(mut record) = state.store.get_key(key).await? else {
                continue;
            };
            match record.state {
                KeyState::PendingDeletion
                    if record.deletion_ms.is_some_and(|d| d <= now) && record.is_replica() =>
                {
                    // A replica leaves its set in the same write (and may start the
                    // primary's own waiting period).
                    let deleted =
                        multi_region::delete_replica(state, key, now).await.map_err(job_error)?;
                    if deleted {
                        tracing::info!(key = %key.arn(), "deleted replica key at the end of its waiting period");
                        report.deleted += 1;
                        progressed = true;
                    }
                }
                KeyState::PendingDeletion if record.deletion_ms.is_some_and(|d| d <= now) => {
                    state.store.delete_key(key).await?;
                    state.keys.remove_deleted(key);
                    state.grants.remove_key(key);
                    state.keystore.forget(key);
                    tracing::info!(key = %key.arn(), "deleted key at the end of its waiting period");
                    report.deleted += 1;
                    progressed = true;
                }
                KeyState::Enabled
                    if record.multi_region.is_some()
                        && record.rotation.enabled
                        && record.rotation.next_rotation_ms.is_some_and(|t| t <= now) =>
                {
                    // The primary rotates, and every replica gets the material with it.
                    let rotated =
                        multi_region::rotate_set(state, key, now).await.map_err(job_error)?;
                    if rotated {
                        tracing::info!(key = %key.arn(), "rotated multi-Region key material automatically");
                        report.rotated += 1;
                        progressed = true;
                    }
                }
                KeyState::Enabled
                    if record.rotation.enabled
                        && record.rotation.next_rotation_ms.is_some_and(|t| t <= now) =>
                {
                    if add_material(state, &mut record, MaterialOrigin::Automatic, now).is_err() {
                        continue;
                    }
                    let period = record.rotation.period_days.unwrap_or(DEFAULT_ROTATION_DAYS);
                    record.rotation.next_rotation_ms = Some(now + period * DAY_MS);
                    record.revision += 1;
                    match state.store.update_key(&record).await {
                        Ok(()) => {
                            tracing::info!(key = %key.arn(), "rotated key material automatically");
                            state.keys.put(Arc::new(record));
                            report.rotated += 1;
                            progressed = true;
                        }
                        // Changed or deleted meanwhile: the next pass sees the new record.
                        Err(StoreError::Conflict | StoreError::NotFound) => {}
                        Err(e) => return Err(e),
                    }
                }
                _ if record.material_expiry_ms().is_some_and(|t| t <= now) => {
                    remove_material(&mut record);
                    record.revision += 1;
                    match state.store.update_key(&record).await {
                        Ok(()) => {
                            state.keystore.forget(key);
                            tracing::info!(key = %key.arn(), "deleted expired imported key material");
                            state.keys.put(Arc::new(record));
                            report.expired += 1;
                            progressed = true;
                        }
                        // Changed or deleted meanwhile: the next pass sees the new record.
                        Err(StoreError::Conflict | StoreError::NotFound) => {}
                        Err(e) => return Err(e),
                    }
                }
                _ => {}
            }
        }
        if due.len() < BATCH || !progressed {
            return Ok(report);
        }
    }
}

/// A multi-Region change failed in a job: it is retried on the next pass.
fn job_error(e: kms_api::KmsError) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Runs [`run_due`] every `interval` until the returned task is aborted.
pub fn spawn(state: Arc<AppState>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = run_due(&state).await {
                tracing::error!(%error, "background job failed; will retry");
            }
            if let Err(error) = crate::replication::send::deliver(&state, false).await {
                tracing::error!(%error, "cannot deliver replication messages; will retry");
            }
            if let Some(audit) = &state.audit {
                // A signed digest over the records written since the last one.
                if let Err(error) = audit.seal(state.clock.now_ms()).await {
                    tracing::error!(%error, "cannot seal the audit trail; will retry");
                }
            }
        }
    })
}
