//! The KMS operations, one module per family. Each takes a [`Ctx`] and a request and
//! returns a response or a [`KmsError`]; HTTP is handled elsewhere.

pub mod aliases;
pub mod asymmetric;
pub mod crypto;
pub mod data_key_pairs;
pub mod grants;
pub mod import;

pub mod key_agreement;
pub mod key_specs;
pub mod keys;
pub mod mac;
pub mod managed_keys;
pub mod multi_region;
pub mod policy;
pub mod rotation;
pub mod tags;
pub mod validate;

use std::sync::Arc;

use kms_api::base64;
use kms_api::{ErrorCode, KmsError};

use crate::auth::Principal;
use crate::authz::context::RequestFacts;
use crate::authz::evaluate::Decision;
use crate::authz::{self, Action};
use crate::model::{KeyRecord, KeyRef, KeyState};
use crate::state::AppState;
use crate::store::StoreError;

/// The context of one request: the server state, the authenticated caller and the Region.
pub struct Ctx<'a> {
    /// Server state.
    pub state: &'a AppState,
    /// The authenticated caller.
    pub caller: &'a Principal,
    /// The Region named in the request's credential scope.
    pub region: &'a str,
    /// The authorization decisions made for this request, for its audit record.
    pub decisions: &'a authz::record::DecisionLog,
}

/// Which key identifier forms an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyIdForms {
    /// Key id, key ARN, alias name or alias ARN.
    KeyOrAlias,
    /// Key id or key ARN only.
    KeyOnly,
}

/// Logs an internal failure and turns it into a `KMSInternalException` with a generic message.
pub fn internal(context: &str, error: impl std::fmt::Display) -> KmsError {
    tracing::error!(%error, "{context}");
    KmsError::new(ErrorCode::KMSInternalException, "internal error; see the server log")
}

impl From<StoreError> for KmsError {
    fn from(e: StoreError) -> Self {
        internal("storage failure", e)
    }
}

/// `NotFoundException: Key '<arn>' does not exist`.
pub fn key_not_found(key: &KeyRef) -> KmsError {
    KmsError::new(ErrorCode::NotFoundException, format!("Key '{}' does not exist", key.arn()))
}

/// True for a lowercase, hyphenated UUID.
pub fn is_key_uuid(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// Whether `id` is a multi-Region key id: `mrk-` + 32 lowercase hex digits.
pub fn is_mrk_id(id: &str) -> bool {
    id.len() == 36
        && id.starts_with("mrk-")
        && id[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Ctx<'_> {
    /// Now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.state.clock.now_ms()
    }

    /// A key reference in the caller's account and the request's Region.
    pub fn own_key(&self, key_id: &str) -> KeyRef {
        KeyRef {
            account: self.caller.account.clone(),
            region: self.region.to_owned(),
            key_id: key_id.to_owned(),
        }
    }

    /// Resolves a `KeyId` member to a key reference (aliases are looked up).
    ///
    /// # Errors
    /// `NotFoundException` for malformed or unknown identifiers, `InvalidArnException` for
    /// an alias where only keys are accepted.
    pub async fn resolve(&self, key_id: &str, forms: KeyIdForms) -> Result<KeyRef, KmsError> {
        let invalid =
            || KmsError::new(ErrorCode::NotFoundException, format!("Invalid keyId '{key_id}'"));
        let alias_rejected = || {
            KmsError::new(
                ErrorCode::InvalidArnException,
                "Key Aliases are not supported for this operation",
            )
        };
        if let Some(rest) = key_id.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [partition, service, region, account, resource] = parts[..] else {
                return Err(invalid());
            };
            if partition != "aws" || service != "kms" || account.len() != 12 {
                return Err(invalid());
            }
            if region != self.region {
                return Err(KmsError::new(
                    ErrorCode::NotFoundException,
                    format!("Invalid arn {region}"),
                ));
            }
            if let Some(id) = resource.strip_prefix("key/") {
                let key =
                    KeyRef { account: account.into(), region: region.into(), key_id: id.into() };
                if is_key_uuid(id) || is_mrk_id(id) {
                    return Ok(key);
                }
                return Err(invalid());
            }
            if resource.starts_with("alias/") {
                if forms == KeyIdForms::KeyOnly {
                    return Err(alias_rejected());
                }
                return self.resolve_alias(account, resource).await;
            }
            return Err(invalid());
        }
        if key_id.starts_with("alias/") {
            if forms == KeyIdForms::KeyOnly {
                return Err(alias_rejected());
            }
            let account = self.caller.account.clone();
            return self.resolve_alias(&account, key_id).await;
        }
        if is_key_uuid(key_id) || is_mrk_id(key_id) {
            return Ok(self.own_key(key_id));
        }
        Err(invalid())
    }

    async fn resolve_alias(&self, account: &str, name: &str) -> Result<KeyRef, KmsError> {
        // Another account's alias is reachable by its ARN (authorization then decides).
        let found = self.state.store.get_alias(account, self.region, name).await?;
        match found {
            Some(alias) => Ok(alias.target()),
            None => Err(KmsError::new(
                ErrorCode::NotFoundException,
                format!("Alias arn:aws:kms:{}:{account}:{name} is not found.", self.region),
            )),
        }
    }

    /// Reads a key (from the cache when possible) and checks the caller may perform `action` on it.
    ///
    /// # Errors
    /// `NotFoundException` if the key does not exist or is not visible to the caller,
    /// `AccessDeniedException` if the policies do not allow the action.
    pub async fn load(&self, key: &KeyRef, action: Action) -> Result<Arc<KeyRecord>, KmsError> {
        self.load_with(key, action, &RequestFacts::default()).await
    }

    /// [`Ctx::load`] with the operation's parameters for condition keys.
    ///
    /// # Errors
    /// As [`Ctx::load`].
    pub async fn load_with(
        &self,
        key: &KeyRef,
        action: Action,
        facts: &RequestFacts<'_>,
    ) -> Result<Arc<KeyRecord>, KmsError> {
        self.load_decided(key, action, facts).await.map(|(record, _)| record)
    }

    /// [`Ctx::load_with`], also returning the authorization decision (CreateGrant needs to
    /// know whether a grant allowed it).
    ///
    /// # Errors
    /// As [`Ctx::load`].
    pub async fn load_decided(
        &self,
        key: &KeyRef,
        action: Action,
        facts: &RequestFacts<'_>,
    ) -> Result<(Arc<KeyRecord>, Decision), KmsError> {
        let record = match self.state.keys.get(key) {
            Some(record) => record,
            None => {
                let record =
                    self.state.store.get_key(key).await?.ok_or_else(|| key_not_found(key))?;
                let record = Arc::new(record);
                self.state.keys.put(Arc::clone(&record));
                record
            }
        };
        let decision = self.authorize(action, &record, facts).await?;
        Ok((record, decision))
    }

    /// Authorizes `action` on `record`, adding a grant that covers the request and, when a
    /// policy asks for `kms:ResourceAliases`, the key's aliases to the facts.
    async fn authorize(
        &self,
        action: Action,
        record: &KeyRecord,
        facts: &RequestFacts<'_>,
    ) -> Result<Decision, KmsError> {
        let grant = match (action.grant_operation(), &facts.grant) {
            (Some(operation), None) => self.state.grants.matching(
                self.caller,
                operation,
                &record.key,
                facts.encryption_context,
            ),
            _ => None,
        };
        let with_grant;
        let facts = match grant {
            Some(grant) => {
                with_grant = RequestFacts { grant: Some(grant), ..facts.clone() };
                &with_grant
            }
            None => facts,
        };
        let policy = authz::stored_key_policy(record)?;
        if facts.resource_aliases.is_none()
            && authz::policies_use_key(self.caller, &policy, "kms:resourcealiases")
        {
            let aliases = self
                .state
                .store
                .list_aliases(
                    &record.key.account,
                    &record.key.region,
                    Some(&record.key.key_id),
                    None,
                    51,
                )
                .await?;
            let mut facts = facts.clone();
            // AWS ignores the key when a key has more than 50 aliases.
            if aliases.len() <= 50 {
                facts.resource_aliases = Some(aliases.into_iter().map(|a| a.name).collect());
            }
            return authz::authorize_with_policy(
                self.caller,
                action,
                record,
                &policy,
                &facts,
                self.decisions,
            );
        }
        authz::authorize_with_policy(self.caller, action, record, &policy, facts, self.decisions)
    }

    /// Resolves and loads in one step.
    ///
    /// # Errors
    /// As [`Ctx::resolve`] and [`Ctx::load`].
    pub async fn find(
        &self,
        key_id: &str,
        forms: KeyIdForms,
        action: Action,
    ) -> Result<Arc<KeyRecord>, KmsError> {
        self.find_with(key_id, forms, action, &RequestFacts::default()).await
    }

    /// [`Ctx::find`] with the operation's parameters for condition keys; sets
    /// `kms:RequestAlias` when `key_id` is an alias.
    ///
    /// # Errors
    /// As [`Ctx::find`].
    pub async fn find_with(
        &self,
        key_id: &str,
        forms: KeyIdForms,
        action: Action,
        facts: &RequestFacts<'_>,
    ) -> Result<Arc<KeyRecord>, KmsError> {
        let key = self.resolve(key_id, forms).await?;
        match request_alias(key_id) {
            Some(alias) if facts.request_alias.is_none() => {
                let facts = RequestFacts { request_alias: Some(alias), ..facts.clone() };
                self.load_with(&key, action, &facts).await
            }
            _ => self.load_with(&key, action, facts).await,
        }
    }

    /// Resolves a `KeyId` member that must name a key (not an alias), then [`Ctx::mutate`]s it.
    ///
    /// # Errors
    /// As [`Ctx::resolve`] and [`Ctx::mutate`].
    pub async fn mutate_id<T>(
        &self,
        key_id: &str,
        action: Action,
        change: impl FnMut(&mut KeyRecord) -> Result<T, KmsError>,
    ) -> Result<(T, Arc<KeyRecord>), KmsError> {
        self.mutate_id_with(key_id, action, &RequestFacts::default(), change).await
    }

    /// [`Ctx::mutate_id`] with the operation's parameters for condition keys.
    ///
    /// # Errors
    /// As [`Ctx::mutate_id`].
    pub async fn mutate_id_with<T>(
        &self,
        key_id: &str,
        action: Action,
        facts: &RequestFacts<'_>,
        change: impl FnMut(&mut KeyRecord) -> Result<T, KmsError>,
    ) -> Result<(T, Arc<KeyRecord>), KmsError> {
        let key = self.resolve(key_id, KeyIdForms::KeyOnly).await?;
        self.mutate_with(&key, action, facts, change).await
    }

    /// Applies `change` to the freshest stored copy of a key and writes it durably,
    /// retrying when another writer got there first. Nothing is written if `change` fails.
    ///
    /// # Errors
    /// The error `change` returns, `NotFoundException`, `AccessDeniedException`, or an
    /// internal storage error.
    pub async fn mutate<T>(
        &self,
        key: &KeyRef,
        action: Action,
        change: impl FnMut(&mut KeyRecord) -> Result<T, KmsError>,
    ) -> Result<(T, Arc<KeyRecord>), KmsError> {
        self.mutate_with(key, action, &RequestFacts::default(), change).await
    }

    /// [`Ctx::mutate`] with the operation's parameters for condition keys.
    ///
    /// # Errors
    /// As [`Ctx::mutate`].
    pub async fn mutate_with<T>(
        &self,
        key: &KeyRef,
        action: Action,
        facts: &RequestFacts<'_>,
        mut change: impl FnMut(&mut KeyRecord) -> Result<T, KmsError>,
    ) -> Result<(T, Arc<KeyRecord>), KmsError> {
        const MAX_ATTEMPTS: usize = 16;
        let _guard = self.state.key_locks.lock(key).await;
        for _ in 0..MAX_ATTEMPTS {
            let mut record =
                self.state.store.get_key(key).await?.ok_or_else(|| key_not_found(key))?;
            self.authorize(action, &record, facts).await?;
            let out = change(&mut record)?;
            record.revision += 1;
            match self.state.store.update_key(&record).await {
                Ok(()) => {
                    let record = Arc::new(record);
                    self.state.keys.put(Arc::clone(&record));
                    return Ok((out, record));
                }
                Err(StoreError::Conflict) => continue,
                Err(StoreError::NotFound) => return Err(key_not_found(key)),
                Err(e) => return Err(e.into()),
            }
        }
        Err(internal("key update kept conflicting", key.arn()))
    }
}

/// The `kms:RequestAlias` value of a `KeyId` member: its `alias/…` name, if it is an alias.
pub fn request_alias(key_id: &str) -> Option<String> {
    if key_id.starts_with("alias/") {
        return Some(key_id.to_owned());
    }
    let resource = key_id.strip_prefix("arn:")?.splitn(5, ':').nth(4)?;
    resource.starts_with("alias/").then(|| resource.to_owned())
}

/// Cryptographic use requires `Enabled`.
///
/// # Errors
/// `DisabledException` when disabled, `KMSInvalidStateException` when pending deletion.
pub fn require_enabled(record: &KeyRecord) -> Result<(), KmsError> {
    match record.state {
        KeyState::Enabled => Ok(()),
        KeyState::Disabled => Err(KmsError::new(
            ErrorCode::DisabledException,
            format!("{} is disabled.", record.key.arn()),
        )),
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => {
            Err(pending_deletion(record))
        }
        KeyState::PendingImport => Err(pending_import(record)),
    }
}

/// `KMSInvalidStateException: <arn> is pending import.`
pub fn pending_import(record: &KeyRecord) -> KmsError {
    KmsError::new(
        ErrorCode::KMSInvalidStateException,
        format!("{} is pending import.", record.key.arn()),
    )
}

/// Management operations refuse keys pending deletion.
///
/// # Errors
/// `KMSInvalidStateException` when pending deletion.
pub fn require_not_pending_deletion(record: &KeyRecord) -> Result<(), KmsError> {
    if record.state.is_pending_deletion() {
        return Err(pending_deletion(record));
    }
    Ok(())
}

fn pending_deletion(record: &KeyRecord) -> KmsError {
    KmsError::new(
        ErrorCode::KMSInvalidStateException,
        format!("{} is pending deletion.", record.key.arn()),
    )
}

/// Encodes a pagination marker (opaque to clients).
pub fn encode_marker(last: &str) -> String {
    base64::encode_url(format!("m1:{last}"))
}

/// Decodes a pagination marker.
///
/// # Errors
/// `InvalidMarkerException` if it was not made by [`encode_marker`].
pub fn decode_marker(marker: &str) -> Result<String, KmsError> {
    let bad = || KmsError::new(ErrorCode::InvalidMarkerException, "Invalid marker");
    let bytes = base64::decode_url(marker).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("m1:").map(str::to_owned).ok_or_else(bad)
}

/// Applies `Limit`/`Marker` conventions: validates the limit and decodes the marker.
///
/// # Errors
/// `ValidationException` for a limit out of range, `InvalidMarkerException` for a bad marker.
pub fn page_params(
    limit: Option<i64>,
    marker: Option<&str>,
    max: i64,
    default: i64,
) -> Result<(usize, Option<String>), KmsError> {
    let mut v = validate::Validator::new();
    if let Some(limit) = limit {
        v.range("limit", limit, 1, max);
    }
    if let Some(marker) = marker {
        v.length("marker", marker, 1, 1024);
    }
    v.finish()?;
    let after = marker.map(decode_marker).transpose()?;
    let limit = usize::try_from(limit.unwrap_or(default)).unwrap_or(1);
    Ok((limit, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_check_is_strict() {
        assert!(is_key_uuid("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(!is_key_uuid("1234ABCD-12ab-34cd-56ef-1234567890ab"));
        assert!(!is_key_uuid("1234abcd12ab34cd56ef1234567890ab"));
        assert!(is_mrk_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
    }

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        assert_eq!(decode_marker(&encode_marker("abc")).unwrap(), "abc");
        assert_eq!(decode_marker("!!").unwrap_err().code, ErrorCode::InvalidMarkerException);
        assert_eq!(
            decode_marker(&base64::encode_url("zz")).unwrap_err().code,
            ErrorCode::InvalidMarkerException
        );
        // URL-safe base64 without padding only: "m1:~~~" is "bTE6fn5-" ("bTE6fn5+" in the
        // standard alphabet), "m1:~~" is "bTE6fn4" ("bTE6fn4=" padded).
        assert_eq!(decode_marker("bTE6fn5-").unwrap(), "~~~");
        assert_eq!(decode_marker("bTE6fn4").unwrap(), "~~");
        for refused in ["bTE6fn5+", "bTE6fn4="] {
            assert_eq!(decode_marker(refused).unwrap_err().code, ErrorCode::InvalidMarkerException);
        }
    }
}
