//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, the default policy, and
//! document checks. Evaluating policies belongs to `authz`.

use kms_api::types::{
    GetKeyPolicyRequest, GetKeyPolicyResponse, ListKeyPoliciesResponse, ListRequest,
    PutKeyPolicyRequest,
};
use kms_api::{ErrorCode, KmsError};
use serde_json::Value;

use super::keys::require_key_id;
use super::validate::Validator;
use super::{page_params, Ctx, KeyIdForms};
use crate::authz::Action;

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

fn malformed(message: &str) -> KmsError {
    KmsError::new(ErrorCode::MalformedPolicyDocumentException, message)
}

/// Checks a policy document's size and structure.
///
/// # Errors
/// `LimitExceededException` over 32 KB; `MalformedPolicyDocumentException` for documents
/// that are not policies.
pub fn check_document(policy: &str) -> Result<(), KmsError> {
    if policy.len() > POLICY_MAX_BYTES {
        return Err(KmsError::new(
            ErrorCode::LimitExceededException,
            format!("The key policy document exceeds the maximum size of {POLICY_MAX_BYTES} bytes"),
        ));
    }
    let doc: Value = serde_json::from_str(policy)
        .map_err(|_| malformed("The policy document is not valid JSON"))?;
    let doc =
        doc.as_object().ok_or_else(|| malformed("The policy document must be a JSON object"))?;
    if let Some(version) = doc.get("Version") {
        if !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17")) {
            return Err(malformed("The policy Version must be 2012-10-17 or 2008-10-17"));
        }
    }
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return Err(malformed("The policy document must contain at least one Statement")),
    };
    for statement in statements {
        let statement = statement
            .as_object()
            .ok_or_else(|| malformed("Each Statement must be a JSON object"))?;
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => return Err(malformed("Each Statement needs an Effect of Allow or Deny")),
        }
        let principal = statement
            .get("Principal")
            .or_else(|| statement.get("NotPrincipal"))
            .ok_or_else(|| malformed("Each Statement needs a Principal"))?;
        if !principal_is_valid(principal) {
            return Err(malformed(
                "Policy contains a statement with one or more invalid principals.",
            ));
        }
        for member in ["Action", "NotAction", "Resource", "NotResource"] {
            if let Some(value) = statement.get(member) {
                if !is_string_or_strings(value) {
                    return Err(malformed(
                        "Action and Resource must be strings or lists of strings",
                    ));
                }
            }
        }
        if let Some(condition) = statement.get("Condition") {
            if !condition.is_object() {
                return Err(malformed("Condition must be a JSON object"));
            }
        }
    }
    Ok(())
}

fn is_string_or_strings(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_string),
        _ => false,
    }
}

fn principal_is_valid(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) if !map.is_empty() => map.iter().all(|(kind, value)| {
            let each = |f: fn(&str) -> bool| match value {
                Value::String(s) => f(s),
                Value::Array(items) => {
                    !items.is_empty() && items.iter().all(|i| i.as_str().is_some_and(f))
                }
                _ => false,
            };
            match kind.as_str() {
                "AWS" => each(aws_principal_is_valid),
                "Service" | "Federated" | "CanonicalUser" => each(|s| !s.is_empty()),
                _ => false,
            }
        }),
        _ => false,
    }
}

fn aws_principal_is_valid(p: &str) -> bool {
    if p == "*" || (p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit())) {
        return true;
    }
    let Some(rest) = p.strip_prefix("arn:aws:") else {
        return false;
    };
    let mut parts = rest.splitn(4, ':');
    let (Some(service), Some(_region), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    matches!(service, "iam" | "sts")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !resource.is_empty()
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
/// `MalformedPolicyDocumentException`, `LimitExceededException`, `NotFoundException`.
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
    check_document(&policy)?;
    ctx.mutate_id(key_id, Action::PutKeyPolicy, |record| {
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
