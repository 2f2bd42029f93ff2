//! Delivering the outbox: each entry is POSTed to its peer as a SigV4-signed
//! `KmsInternal.<operation>` request; an acknowledged entry is deleted. Entries of one peer
//! go strictly in order: the first one that fails (or must wait) holds back the rest of
//! that peer's, and waits with exponential backoff.

use std::collections::HashSet;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::messages::{outbox_peer, Message, OutboxEntry, OUTBOX_PREFIX};
use super::{Peer, Replication, MAC_HEADER};
use crate::state::AppState;
use crate::store::StoreError;

/// Prefix of the internal operations' `X-Amz-Target`.
pub const INTERNAL_TARGET_PREFIX: &str = "KmsInternal.";
/// Longest wait for one peer request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// First retry delay; doubles with every failure up to [`BACKOFF_MAX_MS`].
const BACKOFF_FIRST_MS: i64 = 1_000;
/// Longest retry delay.
const BACKOFF_MAX_MS: i64 = 300_000;
/// Entries read per pass.
const BATCH: usize = 1000;

/// What one delivery pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Entries the peers acknowledged.
    pub delivered: usize,
    /// Entries whose delivery failed this pass (they wait and are retried).
    pub failed: usize,
    /// Entries still in the outbox after the pass.
    pub pending: usize,
}

/// The delay before retry number `attempts` (1 = the first retry).
pub fn backoff_ms(attempts: u32) -> i64 {
    let doublings = attempts.saturating_sub(1).min(20);
    (BACKOFF_FIRST_MS << doublings).min(BACKOFF_MAX_MS)
}

/// Delivers every due outbox entry (every entry when `force`, ignoring backoff).
///
/// # Errors
/// A storage error; entries delivered before it stay delivered.
pub async fn deliver(state: &AppState, force: bool) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    let entries = state.store.list_meta(OUTBOX_PREFIX, BATCH).await?;
    if entries.is_empty() {
        return Ok(report);
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut held: HashSet<String> = HashSet::new();
    for (name, value) in entries {
        let Some(region) = outbox_peer(&name).map(str::to_owned) else {
            continue;
        };
        if held.contains(&region) {
            report.pending += 1;
            continue;
        }
        let mut entry: OutboxEntry = match serde_json::from_slice(&value) {
            Ok(entry) => entry,
            Err(error) => {
                tracing::error!(%error, entry = %name, "dropping an unreadable replication message");
                state.store.delete_meta(&name).await?;
                continue;
            }
        };
        let now = state.clock.now_ms();
        let peer = state.replication.peer(&region);
        let (Some(peer), true) = (peer, force || entry.next_attempt_ms <= now) else {
            if peer.is_none() {
                tracing::warn!(region = %region, "replication message for a Region with no configured peer waits");
            }
            held.insert(region);
            report.pending += 1;
            continue;
        };
        match post(&client, &state.replication, peer, &entry.message, now).await {
            Ok(()) => {
                state.store.delete_meta(&name).await?;
                report.delivered += 1;
            }
            Err(error) => {
                entry.attempts += 1;
                entry.next_attempt_ms = now + backoff_ms(entry.attempts);
                tracing::warn!(region = %region, attempts = entry.attempts, %error, "replication message not delivered; will retry");
                let value =
                    serde_json::to_vec(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                state.store.put_meta(&name, &value).await?;
                held.insert(region);
                report.failed += 1;
                report.pending += 1;
            }
        }
    }
    Ok(report)
}

/// Sends one message to its peer, authenticated as coming from this deployment
/// ([`Replication::request_mac`]) and signed with the peer's account credentials; `Ok` once
/// the peer answers 200.
async fn post(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    replication: &Replication,
    peer: &Peer,
    message: &Message,
    now_ms: i64,
) -> Result<(), String> {
    let body = match message {
        Message::ApplyReplica(m) => serde_json::to_vec(m),
        Message::ReplicaDeleted(m) => serde_json::to_vec(m),
    }
    .map_err(|e| e.to_string())?;
    let host = peer.endpoint.strip_prefix("http://").unwrap_or(&peer.endpoint).to_owned();
    let target = format!("{INTERNAL_TARGET_PREFIX}{}", message.operation());
    // The same date SigV4 signs with (and the peer checks for clock skew).
    let amz_date = kms_api::sigv4::format_amz_date(now_ms / 1000);
    let mac = replication
        .request_mac(&peer.public_key, &amz_date, message.operation(), &body)
        .map_err(|e| e.to_string())?;
    let base = vec![
        ("host".to_owned(), host),
        ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
        ("x-amz-target".to_owned(), target),
        (MAC_HEADER.to_owned(), mac),
    ];
    let creds = kms_api::sigv4::Credentials {
        access_key_id: &peer.access_key_id,
        secret_access_key: peer.secret_access_key.expose_secret(),
        session_token: None,
    };
    let headers = kms_api::sigv4::sign(
        "POST",
        "/",
        "",
        &base,
        &body,
        &creds,
        &peer.region,
        "kms",
        now_ms / 1000,
    )
    .map_err(|e| e.to_string())?;
    let mut request = hyper::Request::builder().method("POST").uri(format!("{}/", peer.endpoint));
    for (k, v) in headers {
        request = request.header(k, v);
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(REQUEST_TIMEOUT, client.request(request))
        .await
        .map_err(|_| "the peer did not answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    Err(format!("peer answered {status}: {}", text.chars().take(300).collect::<String>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff_ms(1), 1_000);
        assert_eq!(backoff_ms(2), 2_000);
        assert_eq!(backoff_ms(5), 16_000);
        assert_eq!(backoff_ms(9), 256_000);
        assert_eq!(backoff_ms(10), 300_000);
        assert_eq!(backoff_ms(u32::MAX), 300_000);
    }
}
