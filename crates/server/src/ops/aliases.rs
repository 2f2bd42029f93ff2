//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use kms_api::types::{AliasListEntry, AliasRequest, ListAliasesResponse, ListRequest};
use kms_api::{ErrorCode, KmsError};

use super::validate::{invalid, Validator};
use super::{encode_marker, page_params, require_not_pending_deletion, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::{self, Action};
use crate::clock::to_epoch_seconds;
use crate::model::{AliasRecord, KeyRef};
use crate::store::StoreError;

/// Most aliases on one key.
pub const MAX_ALIASES_PER_KEY: u64 = 50;
const ALIAS_PATTERN: &str = "^[a-zA-Z0-9:/_-]+$";

fn validate_alias_name(v: &mut Validator, name: &Option<String>) {
    if v.required("aliasName", name) {
        if let Some(name) = name {
            v.length("aliasName", name, 1, 256);
            let ok = name.bytes().all(|b| b.is_ascii_alphanumeric() || b":/_-".contains(&b));
            v.pattern("aliasName", name, ok, ALIAS_PATTERN);
        }
    }
}

/// Checks the `alias/` prefix and the reserved `alias/aws/` namespace.
fn check_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") {
        return Err(invalid(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    }
    if name == "alias/" {
        return Err(KmsError::new(
            ErrorCode::InvalidAliasNameException,
            "Alias name must not be empty",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::new(
            ErrorCode::InvalidAliasNameException,
            "Alias names that begin with alias/aws/ are reserved for AWS managed keys",
        ));
    }
    Ok(())
}

fn alias_not_found(ctx: &Ctx<'_>, name: &str) -> KmsError {
    KmsError::new(
        ErrorCode::NotFoundException,
        format!("Alias arn:aws:kms:{}:{}:{name} is not found.", ctx.region, ctx.caller.account),
    )
}

/// Alias operations need permission on the alias ARN in an identity policy (account
/// roots have it), besides permission on the key(s).
fn authorize_alias(ctx: &Ctx<'_>, action: Action, name: &str) -> Result<(), KmsError> {
    let arn = format!("arn:aws:kms:{}:{}:{name}", ctx.region, ctx.caller.account);
    authz::authorize_identity(ctx.caller, action, &arn, &RequestFacts::default()).map(drop)
}

async fn check_target(
    ctx: &Ctx<'_>,
    target_key_id: &str,
    action: Action,
) -> Result<String, KmsError> {
    let record = ctx.find(target_key_id, KeyIdForms::KeyOnly, action).await?;
    require_not_pending_deletion(&record)?;
    if ctx.state.store.count_aliases(&record.key).await? >= MAX_ALIASES_PER_KEY {
        return Err(KmsError::new(
            ErrorCode::LimitExceededException,
            format!(
                "Key {} has reached the limit of {MAX_ALIASES_PER_KEY} aliases",
                record.key.arn()
            ),
        ));
    }
    Ok(record.key.key_id.clone())
}

fn validate_request(req: &AliasRequest) -> Result<(&str, &str), KmsError> {
    let mut v = Validator::new();
    validate_alias_name(&mut v, &req.alias_name);
    if v.required("targetKeyId", &req.target_key_id) {
        if let Some(t) = &req.target_key_id {
            v.length("targetKeyId", t, 1, 2048);
        }
    }
    v.finish()?;
    let name = req.alias_name.as_deref().unwrap_or_default();
    check_alias_name(name)?;
    Ok((name, req.target_key_id.as_deref().unwrap_or_default()))
}

/// CreateAlias.
///
/// # Errors
/// `AlreadyExistsException`, `InvalidAliasNameException`, `NotFoundException`,
/// `KMSInvalidStateException`, `LimitExceededException`, `ValidationException`.
pub async fn create_alias(ctx: &Ctx<'_>, req: AliasRequest) -> Result<(), KmsError> {
    let (name, target) = validate_request(&req)?;
    authorize_alias(ctx, Action::CreateAlias, name)?;
    let target_key = ctx.resolve(target, KeyIdForms::KeyOnly).await?;
    // Count and insert under the key's lock so concurrent calls cannot pass the quota.
    let _guard = ctx.state.key_locks.lock(&target_key).await;
    let target_key_id = check_target(ctx, target, Action::CreateAlias).await?;
    let now = ctx.now_ms();
    let alias = AliasRecord {
        account: ctx.caller.account.clone(),
        region: ctx.region.to_owned(),
        name: name.to_owned(),
        target_key_id,
        created_ms: now,
        updated_ms: now,
    };
    match ctx.state.store.insert_alias(&alias).await {
        Ok(()) => Ok(()),
        Err(StoreError::AlreadyExists) => Err(KmsError::new(
            ErrorCode::AlreadyExistsException,
            format!("An alias with the name {} already exists", alias.arn()),
        )),
        Err(StoreError::NotFound) => Err(super::key_not_found(&alias.target())),
        Err(e) => Err(e.into()),
    }
}

/// The caller's alias `name`, after checking that `action` is allowed on the alias and on the
/// key it points to now.
async fn existing_alias(
    ctx: &Ctx<'_>,
    action: Action,
    name: &str,
) -> Result<AliasRecord, KmsError> {
    authorize_alias(ctx, action, name)?;
    let existing = ctx
        .state
        .store
        .get_alias(&ctx.caller.account, ctx.region, name)
        .await?
        .ok_or_else(|| alias_not_found(ctx, name))?;
    ctx.load(&existing.target(), action).await?;
    Ok(existing)
}

/// UpdateAlias.
///
/// # Errors
/// `NotFoundException`, `KMSInvalidStateException`, `LimitExceededException`, `ValidationException`.
pub async fn update_alias(ctx: &Ctx<'_>, req: AliasRequest) -> Result<(), KmsError> {
    let (name, target) = validate_request(&req)?;
    // Both the key the alias leaves and the key it moves to must allow UpdateAlias.
    let existing = existing_alias(ctx, Action::UpdateAlias, name).await?;
    let target_key = ctx.resolve(target, KeyIdForms::KeyOnly).await?;
    let _guard = ctx.state.key_locks.lock(&target_key).await;
    let target_key_id = check_target(ctx, target, Action::UpdateAlias).await?;
    check_same_kind(ctx, &existing, &target_key).await?;
    let alias = AliasRecord { target_key_id, updated_ms: ctx.now_ms(), ..existing };
    match ctx.state.store.update_alias(&alias).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(alias_not_found(ctx, name)),
        Err(e) => Err(e.into()),
    }
}

/// An alias may only move to a key of the same type (symmetric, asymmetric or HMAC) and
/// key usage as the key it points to, so callers of the alias keep working.
async fn check_same_kind(
    ctx: &Ctx<'_>,
    existing: &AliasRecord,
    new_target: &KeyRef,
) -> Result<(), KmsError> {
    let Some(old) = ctx.state.store.get_key(&existing.target()).await? else {
        return Ok(());
    };
    let new = ctx.load(new_target, Action::UpdateAlias).await?;
    let family = |spec: &str| match spec {
        "SYMMETRIC_DEFAULT" => "symmetric",
        s if s.starts_with("HMAC_") => "HMAC",
        _ => "asymmetric",
    };
    if family(&old.key_spec) != family(&new.key_spec) || old.key_usage != new.key_usage {
        return Err(KmsError::new(
            ErrorCode::ValidationException,
            format!(
                "{} cannot point to {}: the new key must have the same key type and key usage ({} {}) as the current one ({} {})",
                existing.name,
                new.key.arn(),
                family(&new.key_spec),
                new.key_usage,
                family(&old.key_spec),
                old.key_usage
            ),
        ));
    }
    Ok(())
}

/// DeleteAlias.
///
/// # Errors
/// `NotFoundException`, `ValidationException`.
pub async fn delete_alias(ctx: &Ctx<'_>, req: AliasRequest) -> Result<(), KmsError> {
    let mut v = Validator::new();
    validate_alias_name(&mut v, &req.alias_name);
    v.finish()?;
    let name = req.alias_name.as_deref().unwrap_or_default();
    check_alias_name(name)?;
    existing_alias(ctx, Action::DeleteAlias, name).await?;
    match ctx.state.store.delete_alias(&ctx.caller.account, ctx.region, name).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(alias_not_found(ctx, name)),
        Err(e) => Err(e.into()),
    }
}

/// ListAliases, optionally only those of one key.
///
/// # Errors
/// `ValidationException`, `InvalidMarkerException`, `NotFoundException` for the key filter.
pub async fn list_aliases(
    ctx: &Ctx<'_>,
    req: ListRequest,
) -> Result<ListAliasesResponse, KmsError> {
    let (limit, after) = page_params(req.limit, req.marker.as_deref(), 100, 50)?;
    authz::authorize_account(
        ctx.caller,
        Action::ListAliases,
        &RequestFacts::default(),
        ctx.decisions,
    )?;
    let target = match &req.key_id {
        Some(key_id) => {
            let mut v = Validator::new();
            v.length("keyId", key_id, 1, 2048);
            v.finish()?;
            // ListAliases is authorized by identity policies only (above), not by the
            // key policy; the key must still exist in the caller's account.
            let key = ctx.resolve(key_id, KeyIdForms::KeyOnly).await?;
            if key.account != ctx.caller.account || ctx.state.store.get_key(&key).await?.is_none() {
                return Err(super::key_not_found(&key));
            }
            Some(key.key_id)
        }
        None => None,
    };
    let mut found = ctx
        .state
        .store
        .list_aliases(
            &ctx.caller.account,
            ctx.region,
            target.as_deref(),
            after.as_deref(),
            limit + 1,
        )
        .await?;
    let truncated = found.len() > limit;
    found.truncate(limit);
    let next_marker = if truncated { found.last().map(|a| encode_marker(&a.name)) } else { None };
    let aliases = found
        .into_iter()
        .map(|a| AliasListEntry {
            alias_arn: a.arn(),
            creation_date: Some(to_epoch_seconds(a.created_ms)),
            last_updated_date: Some(to_epoch_seconds(a.updated_ms)),
            target_key_id: Some(a.target_key_id),
            alias_name: a.name,
        })
        .collect();
    Ok(ListAliasesResponse { aliases: Some(aliases), next_marker, truncated: Some(truncated) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_follow_aws_rules() {
        assert!(check_alias_name("alias/my-key").is_ok());
        assert_eq!(check_alias_name("my-key").unwrap_err().code, ErrorCode::ValidationException);
        assert_eq!(
            check_alias_name("alias/aws/s3").unwrap_err().code,
            ErrorCode::InvalidAliasNameException
        );
        assert_eq!(
            check_alias_name("alias/").unwrap_err().code,
            ErrorCode::InvalidAliasNameException
        );
        let mut v = Validator::new();
        validate_alias_name(&mut v, &Some("alias/bad name".into()));
        assert!(v.finish().unwrap_err().message.unwrap().contains("regular expression pattern"));
    }
}
