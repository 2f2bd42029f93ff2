//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, the default policy, and
//! document checks. Evaluating policies belongs to `authz`.

use std::sync::Arc;

use kms_api::types::{
    GetKeyPolicyRequest, GetKeyPolicyResponse, ListKeyPoliciesResponse, ListRequest,
    PutKeyPolicyRequest,
};
use kms_api::{ErrorCode, KmsError};

use super::keys::require_key_id;
use super::validate::Validator;
use super::{page_params, Ctx, KeyIdForms};
use crate::authz::context::RequestFacts;
use crate::authz::policy::{Policy, PolicyError, PrincipalEntry};
use crate::authz::{self, Action};

/// Largest key policy document, in bytes (not adjustable at AWS).
pub const POLICY_MAX_BYTES: usize = 32_768;
/// The only policy name.
pub const DEFAULT_POLICY_NAME: &str = "default";

/// The policy AWS writes when CreateKey is given none, byte for byte.
pub fn default_policy(account: &str) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{account}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
    )
}

/// Member constraints of `Policy`: 1 to 131072 characters of tab, LF, CR or U+0020–U+00FF.
pub fn validate_member(v: &mut Validator, policy: &str) {
    v.length("policy", policy, 1, 131_072);
    let allowed =
        policy.chars().all(|c| matches!(c, '\u{09}' | '\u{0A}' | '\u{0D}' | '\u{20}'..='\u{FF}'));
    if !allowed {
        v.pattern("policy", "<policy>", false, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    }
}

/// Checks a policy document's size, then parses and validates it (see
/// [`crate::authz::policy`]).
///
/// # Errors
/// `LimitExceededException` over 32 KB; `MalformedPolicyDocumentException` saying what is
/// wrong with a document that is not a valid key policy.
pub fn check_document(policy: &str) -> Result<Arc<Policy>, KmsError> {
    if policy.len() > POLICY_MAX_BYTES {
        return Err(KmsError::new(
            ErrorCode::LimitExceededException,
            format!("The key policy document exceeds the maximum size of {POLICY_MAX_BYTES} bytes"),
        ));
    }
    authz::parse_key_policy(policy)
}

/// Principals of this server's accounts must exist, as AWS requires ("Principals must
/// exist and be visible"); principals of other accounts cannot be checked here.
///
/// # Errors
/// `MalformedPolicyDocumentException` with AWS's text for a missing user or role.
pub fn check_principals(ctx: &Ctx<'_>, policy: &Policy) -> Result<(), KmsError> {
    let accounts = &ctx.state.accounts;
    let missing = |arn: &str, account: &str| {
        accounts.is_local_account(account) && !accounts.iam.principal_exists(arn)
    };
    let invalid =
        policy.statements.iter().filter_map(|s| s.principal.as_ref()).flat_map(|p| &p.entries).any(
            |e| match e {
                PrincipalEntry::User(arn) | PrincipalEntry::Role(arn) => {
                    arn.split(':').nth(4).is_some_and(|account| missing(arn, account))
                }
                PrincipalEntry::AssumedRole(arn) => {
                    let mut parts = arn.split(':');
                    let account = parts.nth(4).unwrap_or_default();
                    let role = parts.next().and_then(|r| r.split('/').nth(1)).unwrap_or_default();
                    accounts.is_local_account(account) && accounts.iam.role(account, role).is_none()
                }
                _ => false,
            },
        );
    if invalid {
        return Err(KmsError::new(
            ErrorCode::MalformedPolicyDocumentException,
            PolicyError::InvalidPrincipal.to_string(),
        ));
    }
    Ok(())
}

fn check_policy_name(v: &mut Validator, name: &Option<String>) {
    if let Some(name) = name {
        v.length("policyName", name, 1, 128);
        let word = name.chars().all(|c| c.is_alphanumeric() || c == '_');
        v.pattern("policyName", name, word, "[\\w]+");
    }
}

fn require_default_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some(DEFAULT_POLICY_NAME) => Ok(()),
        Some(_) => Err(KmsError::new(ErrorCode::NotFoundException, "No such policy exists")),
    }
}

/// GetKeyPolicy (any key state).
///
/// # Errors
/// `NotFoundException` for unknown keys or policy names.
pub async fn get_key_policy(
    ctx: &Ctx<'_>,
    req: GetKeyPolicyRequest,
) -> Result<GetKeyPolicyResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |v| check_policy_name(v, &req.policy_name))?;
    let record = ctx.find(key_id, KeyIdForms::KeyOnly, Action::GetKeyPolicy).await?;
    require_default_name(req.policy_name.as_deref())?;
    Ok(GetKeyPolicyResponse {
        policy: Some(record.policy.clone()),
        policy_name: Some(DEFAULT_POLICY_NAME.to_owned()),
    })
}

/// PutKeyPolicy (any key state).
///
/// # Errors
/// `MalformedPolicyDocumentException` (also when the policy would lock the caller out,
/// unless `BypassPolicyLockoutSafetyCheck`), `LimitExceededException`, `NotFoundException`.
pub async fn put_key_policy(ctx: &Ctx<'_>, req: PutKeyPolicyRequest) -> Result<(), KmsError> {
    let key_id = require_key_id(&req.key_id, |v| {
        check_policy_name(v, &req.policy_name);
        if v.required("policy", &req.policy) {
            if let Some(p) = &req.policy {
                validate_member(v, p);
            }
        }
    })?;
    require_default_name(req.policy_name.as_deref())?;
    let policy = req.policy.unwrap_or_default();
    let parsed = check_document(&policy)?;
    check_principals(ctx, &parsed)?;
    let bypass = req.bypass_policy_lockout_safety_check == Some(true);
    let facts = RequestFacts { bypass_lockout: Some(bypass), ..RequestFacts::default() };
    ctx.mutate_id_with(key_id, Action::PutKeyPolicy, &facts, |record| {
        if !bypass {
            authz::check_lockout(ctx.caller, record, &parsed)?;
        }
        record.policy.clone_from(&policy);
        Ok(())
    })
    .await?;
    Ok(())
}

/// ListKeyPolicies: always `["default"]`.
///
/// # Errors
/// `NotFoundException`, `ValidationException`.
pub async fn list_key_policies(
    ctx: &Ctx<'_>,
    req: ListRequest,
) -> Result<ListKeyPoliciesResponse, KmsError> {
    let key_id = require_key_id(&req.key_id, |_| {})?;
    let (_, after) = page_params(req.limit, req.marker.as_deref(), 1000, 100)?;
    ctx.find(key_id, KeyIdForms::KeyOnly, Action::ListKeyPolicies).await?;
    let names = if after.is_some() { vec![] } else { vec![DEFAULT_POLICY_NAME.to_owned()] };
    Ok(ListKeyPoliciesResponse {
        policy_names: Some(names),
        next_marker: None,
        truncated: Some(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_is_aws_text() {
        let expected = r#"{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}"#;
        assert_eq!(default_policy("111122223333"), expected);
        check_document(expected).unwrap();
    }

    #[test]
    fn malformed_documents_are_rejected() {
        for bad in [
            "not json",
            "[]",
            r#"{"Statement": []}"#,
            r#"{"Statement": [{"Effect": "Maybe", "Principal": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow"}]}"#,
            r#"{"Version": "2020-01-01", "Statement": [{"Effect": "Allow", "Principal": "*"}]}"#,
            r#"{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "bob"}}]}"#,
        ] {
            assert_eq!(
                check_document(bad).unwrap_err().code,
                ErrorCode::MalformedPolicyDocumentException,
                "{bad}"
            );
        }
    }

    #[test]
    fn invalid_principals_get_aws_message() {
        let err = check_document(
            r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::12:root"}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.message.unwrap(),
            "Policy contains a statement with one or more invalid principals."
        );
    }

    #[test]
    fn oversized_documents_hit_the_limit() {
        let big = format!(
            r#"{{"Statement": [{{"Sid": "{}", "Effect": "Allow", "Principal": "*"}}]}}"#,
            "x".repeat(POLICY_MAX_BYTES)
        );
        assert_eq!(check_document(&big).unwrap_err().code, ErrorCode::LimitExceededException);
    }
}
