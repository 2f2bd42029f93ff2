//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.
//!
//! Who may call what, as AWS documents it:
//! - CreateGrant: `kms:CreateGrant` by key policy (+ IAM), or by a grant that lists
//!   CreateGrant, which may only create grants with a subset of its operations and
//!   constraints at least as strict as its own.
//! - ListGrants, RevokeGrant: `kms:ListGrants` / `kms:RevokeGrant` by key policy (+ IAM).
//! - ListRetirableGrants: `kms:ListRetirableGrants` by IAM, for a principal of the caller's
//!   own account.
//! - RetireGrant: the grant's retiring principal, its grantee when the grant lists
//!   RetireGrant, and the account that created the grant (its principals through IAM
//!   `kms:RetireGrant`). A key policy has no say; an IAM Deny still wins.
//!
//! `kms:GrantIsForAWSResource` is true when the caller is an IAM user or role tagged
//! `kms-server:aws-service` with a service (e.g. `ec2.amazonaws.com`): this server's way of
//! marking the principals through which an integrated service calls
//! ([`crate::auth::AWS_SERVICE_TAG`]; only an account's root user can set the tag).

use std::sync::Arc;

use kms_api::types::{
    CreateGrantRequest, CreateGrantResponse, GrantListEntry, ListGrantsRequest, ListGrantsResponse,
    ListRetirableGrantsRequest, RetireGrantRequest, RevokeGrantRequest,
};
use kms_api::{ErrorCode, KmsError};

use super::crypto::dry_run_succeeded;
use super::validate::{invalid, invalid_grant_token, Validator};
use super::{
    encode_marker, internal, key_not_found, page_params, require_enabled, Ctx, KeyIdForms,
};
use crate::authz::context::{GrantRequest, RequestFacts};
use crate::authz::evaluate::{evaluate_named, Reason};
use crate::authz::grant::{
    self, principal_match, Constraint, GrantRecord, GranteeMatch, CONSTRAINT_MAX_PAIRS,
    CONSTRAINT_MAX_VALUE_CHARS, GRANT_OPERATIONS,
};
use crate::authz::{self, Action};
use crate::grants::grant_row;
use crate::model::KeyRecord;
use crate::store::StoreError;

/// Most grants on one key (AWS's default quota).
pub const GRANTS_PER_KEY_MAX: usize = 50_000;

const PRINCIPAL_PATTERN: &str = "^[\\w+=,.@:/-]+$";
const GRANT_NAME_PATTERN: &str = "^[a-zA-Z0-9:/_-]+$";

fn principal_chars_ok(p: &str) -> bool {
    p.chars().all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c))
}

/// The service, account and resource parts of a principal ARN
/// (`arn:aws:<service>::<account>:<resource>`), the account being 12 digits.
fn principal_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:aws:")?;
    let (service, rest) = rest.split_once("::")?;
    let (account, resource) = rest.split_once(':')?;
    let digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    digits.then_some((service, account, resource))
}

/// Whether `arn` names a principal a grant can name: an account, user, role, assumed-role
/// session or federated user.
fn is_principal_arn(arn: &str) -> bool {
    let Some((service, _, resource)) = principal_parts(arn) else { return false };
    let named = |prefix: &str| resource.strip_prefix(prefix).is_some_and(|n| !n.is_empty());
    match service {
        "iam" => resource == "root" || named("user/") || named("role/"),
        "sts" => {
            resource.strip_prefix("assumed-role/").is_some_and(|r| {
                r.split_once('/').is_some_and(|(role, s)| !role.is_empty() && !s.is_empty())
            }) || named("federated-user/")
        }
        _ => false,
    }
}

fn check_principal(v: &mut Validator, member: &str, value: &str) {
    v.length(member, value, 1, 256);
    v.pattern(member, value, principal_chars_ok(value), PRINCIPAL_PATTERN);
}

fn invalid_principal(member: &str, value: &str) -> KmsError {
    invalid(format!("Invalid {member}: {value} is not the ARN of an AWS account, IAM user, IAM role, federated user or assumed-role user"))
}

fn unsupported_service_principal() -> KmsError {
    KmsError::new(
        ErrorCode::UnsupportedOperationException,
        "Service principals (GranteeServicePrincipal, RetiringServicePrincipal) are not supported by this server",
    )
}

/// `kms:GrantIsForAWSResource` for the caller.
fn for_aws_resource(ctx: &Ctx<'_>) -> bool {
    ctx.caller.is_integrated_service()
}

fn invalid_grant_id(grant_id: &str) -> KmsError {
    KmsError::new(ErrorCode::InvalidGrantIdException, format!("Invalid grant ID {grant_id}"))
}

fn grant_not_found(grant_id: &str) -> KmsError {
    KmsError::new(ErrorCode::NotFoundException, format!("Grant ID {grant_id} not found"))
}

/// The operations of a CreateGrant request, deduplicated, in AWS's enum order.
fn normalized_operations(operations: &[String]) -> Vec<String> {
    GRANT_OPERATIONS
        .iter()
        .filter(|op| operations.iter().any(|o| o == *op))
        .map(|op| (*op).to_owned())
        .collect()
}

fn validate_constraint(v: &mut Validator, constraint: Option<&Constraint>) {
    let Some(constraint) = constraint else { return };
    let (member, pairs) = match constraint {
        Constraint::Subset(m) => ("constraints.encryptionContextSubset", m),
        Constraint::Equals(m) => ("constraints.encryptionContextEquals", m),
    };
    v.list_length(member, pairs.len(), 1, CONSTRAINT_MAX_PAIRS);
    for (key, value) in pairs {
        v.length(&format!("{member}.{key}"), value, 0, CONSTRAINT_MAX_VALUE_CHARS);
    }
}

/// The checks of a CreateGrant request that need no key.
struct NewGrant {
    key_id: String,
    grantee: String,
    retiring: Option<String>,
    operations: Vec<String>,
    constraint: Option<Constraint>,
    name: Option<String>,
}

fn validate_create(req: &CreateGrantRequest) -> Result<NewGrant, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", &req.key_id) {
        v.length("keyId", req.key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    if req.grantee_service_principal.is_none() {
        v.required("granteePrincipal", &req.grantee_principal);
    }
    if let Some(p) = &req.grantee_principal {
        check_principal(&mut v, "granteePrincipal", p);
    }
    if let Some(p) = &req.retiring_principal {
        check_principal(&mut v, "retiringPrincipal", p);
    }
    if v.required("operations", &req.operations) {
        let operations = req.operations.as_deref().unwrap_or_default();
        v.list_length("operations", operations.len(), 1, GRANT_OPERATIONS.len());
        for (i, op) in operations.iter().enumerate() {
            v.one_of(&format!("operations.{}.member", i + 1), op, GRANT_OPERATIONS);
        }
    }
    if let Some(name) = &req.name {
        v.length("name", name, 1, 256);
        let ok = name.chars().all(|c| c.is_ascii_alphanumeric() || ":/_-".contains(c));
        v.pattern("name", name, ok, GRANT_NAME_PATTERN);
    }
    v.grant_tokens(&req.grant_tokens);
    let constraint = Constraint::from_api(req.constraints.as_ref()).map_err(invalid)?;
    validate_constraint(&mut v, constraint.as_ref());
    v.finish()?;
    if req.grantee_service_principal.is_some() || req.retiring_service_principal.is_some() {
        return Err(unsupported_service_principal());
    }
    let grantee = req.grantee_principal.clone().unwrap_or_default();
    if !is_principal_arn(&grantee) {
        return Err(invalid_principal("GranteePrincipal", &grantee));
    }
    if let Some(retiring) = req.retiring_principal.as_deref().filter(|r| !is_principal_arn(r)) {
        return Err(invalid_principal("RetiringPrincipal", retiring));
    }
    let operations = normalized_operations(req.operations.as_deref().unwrap_or_default());
    if operations == ["CreateGrant"] {
        return Err(invalid("Grants must not contain only the CreateGrant operation."));
    }
    Ok(NewGrant {
        key_id: req.key_id.clone().unwrap_or_default(),
        grantee,
        retiring: req.retiring_principal.clone(),
        operations,
        constraint,
        name: req.name.clone(),
    })
}

/// The key must support every operation; constraints only on symmetric encryption keys.
fn check_against_key(grant: &NewGrant, record: &KeyRecord) -> Result<(), KmsError> {
    let unsupported: Vec<&str> = grant
        .operations
        .iter()
        .map(String::as_str)
        .filter(|op| !grant::key_supports(&record.key_spec, &record.key_usage, op))
        .collect();
    if !unsupported.is_empty() {
        return Err(invalid(format!(
            "Grant operations [{}] are not valid for {} (KeySpec {}, KeyUsage {}).",
            unsupported.join(", "),
            record.key.arn(),
            record.key_spec,
            record.key_usage
        )));
    }
    if grant.constraint.is_some() && record.key_spec != "SYMMETRIC_DEFAULT" {
        return Err(invalid(format!(
            "Encryption context grant constraints are only valid for symmetric encryption KMS keys; {} has KeySpec {}.",
            record.key.arn(),
            record.key_spec
        )));
    }
    Ok(())
}

/// A grant that gave the caller CreateGrant may only make grants with a subset of its
/// operations and constraints at least as strict as its own.
fn check_child_of(
    ctx: &Ctx<'_>,
    grant: &NewGrant,
    parent_id: &str,
    key_arn: &str,
) -> Result<(), KmsError> {
    let Some(parent) = ctx.state.grants.get(parent_id) else {
        return Err(grant_not_found(parent_id));
    };
    let subset = grant.operations.iter().all(|op| parent.allows_operation(op));
    let strict = match (&parent.constraint, &grant.constraint) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(p), Some(c)) => c.at_least_as_strict_as(p),
    };
    if subset && strict {
        return Ok(());
    }
    Err(authz::access_denied(format!(
        "User: {} is not authorized to perform: kms:CreateGrant on resource: {key_arn} because grant {parent_id} allows only grants with a subset of its operations and equally strict or stricter constraints",
        ctx.caller.arn
    )))
}

/// CreateGrant.
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `DisabledException`,
/// `KMSInvalidStateException`, `AccessDeniedException`, `InvalidGrantTokenException`,
/// `LimitExceededException`, `DryRunOperationException`.
pub async fn create_grant(
    ctx: &Ctx<'_>,
    req: CreateGrantRequest,
) -> Result<CreateGrantResponse, KmsError> {
    let new = validate_create(&req)?;
    let key = ctx.resolve(&new.key_id, KeyIdForms::KeyOnly).await?;
    let facts = RequestFacts {
        grant_request: Some(GrantRequest {
            operations: Some(&new.operations),
            grantee: Some(&new.grantee),
            retiring: new.retiring.as_deref(),
            constraint_type: new.constraint.as_ref().map(Constraint::type_name),
        }),
        grant_is_for_aws_resource: Some(for_aws_resource(ctx)),
        ..RequestFacts::default()
    };
    let (record, decision) = ctx.load_decided(&key, Action::CreateGrant, &facts).await?;
    if decision.reason == Reason::Grant {
        if let Some(parent) = &decision.grant_id {
            check_child_of(ctx, &new, parent, &record.key.arn())?;
        }
    }
    require_enabled(&record)?;
    check_against_key(&new, &record)?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    let _guard = ctx.state.key_locks.lock(&key).await;
    let existing = ctx.state.grants.for_key(&key);
    if let Some(name) = &new.name {
        // Same name and same parameters: the original grant, with a new token.
        let same = existing.iter().find(|g| {
            g.name.as_deref() == Some(name.as_str())
                && g.grantee == new.grantee
                && g.retiring == new.retiring
                && g.operations == new.operations
                && g.constraint == new.constraint
        });
        if let Some(grant) = same {
            return Ok(CreateGrantResponse {
                grant_token: Some(grant.new_token()),
                grant_id: Some(grant.grant_id.clone()),
            });
        }
    }
    if existing.len() >= GRANTS_PER_KEY_MAX {
        return Err(KmsError::new(
            ErrorCode::LimitExceededException,
            format!(
                "The maximum number of grants ({GRANTS_PER_KEY_MAX}) for {} has been reached.",
                record.key.arn()
            ),
        ));
    }
    let grant_id = grant::new_grant_id().map_err(|e| internal("random generator failed", e))?;
    let grant = GrantRecord {
        grant_id,
        key: key.clone(),
        name: new.name,
        grantee: new.grantee,
        retiring: new.retiring,
        operations: new.operations,
        constraint: new.constraint,
        issuing_account: ctx.caller.account.clone(),
        created_ms: ctx.now_ms(),
    };
    match ctx.state.store.insert_grant(&grant_row(&grant)?).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(key_not_found(&key)),
        Err(e) => return Err(e.into()),
    }
    let grant = Arc::new(grant);
    ctx.state.grants.insert(Arc::clone(&grant));
    Ok(CreateGrantResponse {
        grant_token: Some(grant.new_token()),
        grant_id: Some(grant.grant_id.clone()),
    })
}

fn list_entry(grant: &GrantRecord) -> GrantListEntry {
    GrantListEntry {
        key_id: grant.key.arn(),
        grant_id: grant.grant_id.clone(),
        name: grant.name.clone(),
        // Milliseconds to fractional seconds; exact for any realistic time.
        #[allow(clippy::cast_precision_loss)]
        creation_date: grant.created_ms as f64 / 1000.0,
        grantee_principal: grant.grantee.clone(),
        retiring_principal: grant.retiring.clone(),
        issuing_account: format!("arn:aws:iam::{}:root", grant.issuing_account),
        operations: grant.operations.clone(),
        constraints: grant.constraint.as_ref().map(Constraint::to_api),
    }
}

/// The marker position of a grant: creation time, then id.
fn position(grant: &GrantRecord) -> String {
    format!("{:016x}/{}", grant.created_ms, grant.grant_id)
}

/// One page of `grants` (already in marker order) after `after`.
fn page(grants: &[Arc<GrantRecord>], limit: usize, after: Option<&str>) -> ListGrantsResponse {
    let start = after.map_or(0, |a| grants.partition_point(|g| position(g).as_str() <= a));
    let rest = &grants[start.min(grants.len())..];
    let shown = &rest[..limit.min(rest.len())];
    let truncated = rest.len() > shown.len();
    ListGrantsResponse {
        grants: Some(shown.iter().map(|g| list_entry(g)).collect()),
        next_marker: truncated.then(|| shown.last().map(|g| encode_marker(&position(g)))).flatten(),
        truncated: Some(truncated),
    }
}

fn check_grant_id(v: &mut Validator, grant_id: &Option<String>) {
    if let Some(id) = grant_id {
        v.length("grantId", id, 1, 128);
    }
}

/// ListGrants.
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `InvalidMarkerException`,
/// `InvalidGrantIdException`, `AccessDeniedException`.
pub async fn list_grants(
    ctx: &Ctx<'_>,
    req: ListGrantsRequest,
) -> Result<ListGrantsResponse, KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", &req.key_id) {
        v.length("keyId", req.key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    check_grant_id(&mut v, &req.grant_id);
    if let Some(p) = &req.grantee_principal {
        check_principal(&mut v, "granteePrincipal", p);
    }
    v.finish()?;
    let (limit, after) = page_params(req.limit, req.marker.as_deref(), 100, 50)?;
    let key = ctx.resolve(req.key_id.as_deref().unwrap_or_default(), KeyIdForms::KeyOnly).await?;
    let facts = RequestFacts {
        grant_is_for_aws_resource: Some(for_aws_resource(ctx)),
        ..RequestFacts::default()
    };
    ctx.load_with(&key, Action::ListGrants, &facts).await?;
    if let Some(id) = req.grant_id.as_deref().filter(|id| !grant::is_grant_id(id)) {
        return Err(invalid_grant_id(id));
    }
    let grants: Vec<Arc<GrantRecord>> = ctx
        .state
        .grants
        .for_key(&key)
        .into_iter()
        .filter(|g| req.grant_id.as_ref().is_none_or(|id| *id == g.grant_id))
        .filter(|g| req.grantee_principal.as_ref().is_none_or(|p| *p == g.grantee))
        // This server makes no service-principal grants.
        .filter(|_| req.grantee_service_principal.is_none())
        .collect();
    Ok(page(&grants, limit, after.as_deref()))
}

/// ListRetirableGrants.
///
/// # Errors
/// `ValidationException`, `InvalidMarkerException`, `AccessDeniedException`.
pub async fn list_retirable_grants(
    ctx: &Ctx<'_>,
    req: ListRetirableGrantsRequest,
) -> Result<ListGrantsResponse, KmsError> {
    let mut v = Validator::new();
    if req.retiring_service_principal.is_none() {
        v.required("retiringPrincipal", &req.retiring_principal);
    }
    if let Some(p) = &req.retiring_principal {
        check_principal(&mut v, "retiringPrincipal", p);
    }
    v.finish()?;
    let (limit, after) = page_params(req.limit, req.marker.as_deref(), 100, 50)?;
    authz::authorize_account(
        ctx.caller,
        Action::ListRetirableGrants,
        &RequestFacts::default(),
        ctx.decisions,
    )?;
    let Some(principal) = req.retiring_principal.as_deref() else {
        // Service principals never retire grants here: there is nothing to list.
        return Ok(page(&[], limit, None));
    };
    // The ARN's account field, not any `::<account>:` inside it (`user/x::<account>:`).
    let account = principal_parts(principal).map(|(_, account, _)| account);
    if account != Some(ctx.caller.account.as_str()) {
        return Err(authz::access_denied(format!(
            "User: {} is not authorized to perform: kms:ListRetirableGrants for {principal}: the retiring principal must be in the caller's account",
            ctx.caller.arn
        )));
    }
    let mut grants = ctx.state.grants.retirable_by(principal, ctx.region);
    grants.sort_by_key(|g| position(g));
    Ok(page(&grants, limit, after.as_deref()))
}

/// Whether the caller may retire `grant`: its retiring principal, its grantee when it
/// lists RetireGrant, or the issuing account; an account named as retiring principal or
/// grantee, like the issuing account, delegates to its IAM principals through
/// `kms:RetireGrant`. An explicit Deny of `kms:RetireGrant` in IAM wins. The decision is
/// recorded for the audit trail.
fn authorize_retire(ctx: &Ctx<'_>, grant: &GrantRecord) -> Result<(), KmsError> {
    let key_arn = grant.key.arn();
    // kms:GrantConstraintType applies to RetireGrant too.
    let facts = RequestFacts {
        grant_request: Some(GrantRequest {
            constraint_type: grant.constraint.as_ref().map(Constraint::type_name),
            ..GrantRequest::default()
        }),
        ..RequestFacts::default()
    };
    let iam = evaluate_named(ctx.caller, "kms:RetireGrant", &key_arn, None, None, &facts);
    let retiring =
        grant.retiring.as_deref().map_or(GranteeMatch::No, |r| principal_match(r, ctx.caller));
    let grantee = if grant.allows_operation("RetireGrant") {
        principal_match(&grant.grantee, ctx.caller)
    } else {
        GranteeMatch::No
    };
    let explicit_deny = iam.reason == Reason::ExplicitDenyInIdentityPolicy;
    let through = |m: GranteeMatch| {
        m == GranteeMatch::Direct || (m == GranteeMatch::ThroughAccount && iam.allowed)
    };
    let by_grant = !explicit_deny && (through(retiring) || through(grantee));
    let by_account = iam.allowed && ctx.caller.account == grant.issuing_account;
    let mut decision = iam.clone();
    if by_grant {
        decision.allowed = true;
        decision.reason = Reason::Grant;
        decision.grant_id = Some(grant.grant_id.clone());
    } else if !by_account {
        decision.allowed = false;
    }
    ctx.decisions.note(Action::RetireGrant, &key_arn, &decision);
    if decision.allowed {
        return Ok(());
    }
    let head = format!(
        "User: {} is not authorized to perform: kms:RetireGrant on resource: {key_arn}",
        ctx.caller.arn
    );
    Err(authz::access_denied(if explicit_deny {
        format!("{head} with an explicit deny in an identity-based policy")
    } else {
        format!("{head} because it is not the grant's retiring principal, a grantee allowed to retire it, or in the account that created it")
    }))
}

/// RetireGrant.
///
/// # Errors
/// `ValidationException`, `InvalidGrantTokenException`, `InvalidGrantIdException`,
/// `NotFoundException`, `AccessDeniedException`, `DryRunOperationException`.
pub async fn retire_grant(ctx: &Ctx<'_>, req: RetireGrantRequest) -> Result<(), KmsError> {
    let mut v = Validator::new();
    if let Some(token) = &req.grant_token {
        v.length("grantToken", token, 1, 8192);
    }
    if let Some(key_id) = &req.key_id {
        v.length("keyId", key_id, 1, 2048);
    }
    check_grant_id(&mut v, &req.grant_id);
    v.finish()?;
    let grant = match (&req.grant_token, &req.key_id, &req.grant_id) {
        (Some(token), _, _) => {
            let id = grant::token::decode(token).ok_or_else(invalid_grant_token)?;
            let grant = ctx.state.grants.get(&id).ok_or_else(|| grant_not_found(&id))?;
            if let Some(other) = req.grant_id.as_deref().filter(|g| *g != id) {
                return Err(invalid_grant_id(other));
            }
            grant
        }
        (None, Some(key_id), Some(grant_id)) => {
            let key = ctx.resolve(key_id, KeyIdForms::KeyOnly).await?;
            if !grant::is_grant_id(grant_id) {
                return Err(invalid_grant_id(grant_id));
            }
            ctx.state
                .grants
                .get(grant_id)
                .filter(|g| g.key == key)
                .ok_or_else(|| grant_not_found(grant_id))?
        }
        _ => {
            return Err(invalid("Either GrantToken, or both KeyId and GrantId, must be specified."))
        }
    };
    authorize_retire(ctx, &grant)?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    delete(ctx, &grant.grant_id).await
}

/// Deletes a grant durably, then from memory.
async fn delete(ctx: &Ctx<'_>, grant_id: &str) -> Result<(), KmsError> {
    match ctx.state.store.delete_grant(grant_id).await {
        Ok(()) | Err(StoreError::NotFound) => {
            // Gone from storage either way (a concurrent retire may have got there first).
            if ctx.state.grants.remove(grant_id).is_some() {
                Ok(())
            } else {
                Err(grant_not_found(grant_id))
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// RevokeGrant.
///
/// # Errors
/// `ValidationException`, `NotFoundException`, `InvalidGrantIdException`,
/// `AccessDeniedException`, `DryRunOperationException`.
pub async fn revoke_grant(ctx: &Ctx<'_>, req: RevokeGrantRequest) -> Result<(), KmsError> {
    let mut v = Validator::new();
    if v.required("keyId", &req.key_id) {
        v.length("keyId", req.key_id.as_deref().unwrap_or_default(), 1, 2048);
    }
    v.required("grantId", &req.grant_id);
    check_grant_id(&mut v, &req.grant_id);
    v.finish()?;
    let key = ctx.resolve(req.key_id.as_deref().unwrap_or_default(), KeyIdForms::KeyOnly).await?;
    let facts = RequestFacts {
        grant_is_for_aws_resource: Some(for_aws_resource(ctx)),
        ..RequestFacts::default()
    };
    ctx.load_with(&key, Action::RevokeGrant, &facts).await?;
    let grant_id = req.grant_id.as_deref().unwrap_or_default();
    if !grant::is_grant_id(grant_id) {
        return Err(invalid_grant_id(grant_id));
    }
    let grant = ctx
        .state
        .grants
        .get(grant_id)
        .filter(|g| g.key == key)
        .ok_or_else(|| grant_not_found(grant_id))?;
    if req.dry_run == Some(true) {
        return Err(dry_run_succeeded());
    }
    delete(ctx, &grant.grant_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KeyRef;
    use crate::ops::decode_marker;

    #[test]
    fn principal_arns_are_recognised() {
        for ok in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:role/path/app",
            "arn:aws:sts::111122223333:assumed-role/app/session",
            "arn:aws:sts::111122223333:federated-user/bob",
        ] {
            assert!(is_principal_arn(ok), "{ok}");
        }
        for bad in [
            "111122223333",
            "arn:aws:iam::1111:root",
            "arn:aws:iam::111122223333:group/admins",
            "arn:aws:sts::111122223333:assumed-role/app",
            "arn:aws:s3:::bucket",
        ] {
            assert!(!is_principal_arn(bad), "{bad}");
        }
    }

    #[test]
    fn the_account_of_a_principal_is_its_account_field() {
        let account = |arn| principal_parts(arn).map(|(_, account, _)| account);
        assert_eq!(account("arn:aws:iam::111122223333:user/alice"), Some("111122223333"));
        assert_eq!(account("arn:aws:sts::111122223333:assumed-role/r/s"), Some("111122223333"));
        assert_eq!(
            account("arn:aws:iam::999999999999:user/x::111122223333:"),
            Some("999999999999")
        );
        assert_eq!(account("arn:aws:iam::11112222333:root"), None);
        assert_eq!(account("x::111122223333:"), None);
    }

    #[test]
    fn operations_are_deduplicated_in_enum_order() {
        let ops = normalized_operations(&["Encrypt".into(), "Decrypt".into(), "Encrypt".into()]);
        assert_eq!(ops, ["Decrypt", "Encrypt"]);
    }

    #[test]
    fn pages_continue_after_the_marker() {
        let key = KeyRef { account: "1".into(), region: "r".into(), key_id: "k".into() };
        let grants: Vec<Arc<GrantRecord>> = (0..5)
            .map(|i| {
                Arc::new(GrantRecord {
                    grant_id: format!("{i:064x}"),
                    key: key.clone(),
                    name: None,
                    grantee: "arn:aws:iam::111122223333:root".into(),
                    retiring: None,
                    operations: vec!["Decrypt".into()],
                    constraint: None,
                    issuing_account: "111122223333".into(),
                    created_ms: i,
                })
            })
            .collect();
        let first = page(&grants, 2, None);
        assert_eq!(first.truncated, Some(true));
        let marker = decode_marker(first.next_marker.as_deref().unwrap()).unwrap();
        let second = page(&grants, 10, Some(&marker));
        assert_eq!(second.truncated, Some(false));
        assert!(second.next_marker.is_none());
        let ids: Vec<String> = second.grants.unwrap().into_iter().map(|g| g.grant_id).collect();
        assert_eq!(ids, (2..5).map(|i| format!("{i:064x}")).collect::<Vec<_>>());
    }
}
