//! `ExplainAccess`: this server's administrative extension (not an AWS KMS operation),
//! sent as `X-Amz-Target: KmsServerExtensions.ExplainAccess`. It answers "would principal
//! P be allowed action A on key K with context C, and why", without performing A.
//!
//! Only an account's root credentials may call it, and only about that account's keys.

use std::net::IpAddr;

use kms_api::types::EncryptionContext;
use kms_api::{ErrorCode, KmsError};
use serde::{Deserialize, Serialize};

use super::context::RequestFacts;
use super::evaluate::{
    evaluate_named, is_cross_account_name, Decision, ResourcePolicy, StatementRef,
};
use super::policy::Effect;
use crate::auth::PrincipalKind;
use crate::ops::{key_not_found, request_alias, validate::Validator, Ctx, KeyIdForms};

/// The `X-Amz-Target` of the operation.
pub const TARGET: &str = "KmsServerExtensions.ExplainAccess";

/// ExplainAccess input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ExplainAccessRequest {
    /// The principal: account root, user, role (a session of it) or assumed-role ARN.
    pub principal_arn: Option<String>,
    /// The action, e.g. `kms:Decrypt`.
    pub action: Option<String>,
    /// The key (id, ARN, alias name or alias ARN) in the caller's account.
    pub key_id: Option<String>,
    /// The request's encryption context.
    pub encryption_context: Option<EncryptionContext>,
    /// The request's encryption algorithm.
    pub encryption_algorithm: Option<String>,
    /// The client's address (`aws:SourceIp`).
    pub source_ip: Option<String>,
    /// Whether the request comes over TLS (`aws:SecureTransport`); false when absent.
    pub secure_transport: Option<bool>,
    /// The calling service (`kms:ViaService`).
    pub via_service: Option<String>,
}

/// One statement in an explanation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExplainedStatement {
    /// `key policy` or `identity policy '<name>'`.
    pub policy: String,
    /// 1-based position in the policy.
    pub statement: usize,
    /// The Sid, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// The condition that was not met (near misses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_condition: Option<String>,
}

/// ExplainAccess output.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExplainAccessResponse {
    /// Whether the request would be allowed.
    pub allowed: bool,
    /// The reason, e.g. `ExplicitDenyInKeyPolicy`, `NoIdentityPolicyAllow`.
    pub reason: String,
    /// The AccessDeniedException message the request would get, or `allowed`.
    pub message: String,
    /// The key's ARN.
    pub key_arn: String,
    /// The statements that decided.
    pub deciding_statements: Vec<ExplainedStatement>,
    /// Statements that matched principal and action but whose condition failed.
    pub near_misses: Vec<ExplainedStatement>,
    /// The same, as sentences.
    pub explanation: Vec<String>,
}

fn explained(s: &StatementRef) -> ExplainedStatement {
    ExplainedStatement {
        policy: s.source.to_string(),
        statement: s.index + 1,
        sid: s.sid.clone(),
        effect: match s.effect {
            Effect::Allow => "Allow".to_owned(),
            Effect::Deny => "Deny".to_owned(),
        },
        failed_condition: s.failed_condition.clone(),
    }
}

fn invalid(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorCode::ValidationException, message)
}

/// ExplainAccess.
///
/// # Errors
/// `AccessDeniedException` unless the caller is an account root; `ValidationException`
/// for missing members, unknown principals or non-KMS actions; `NotFoundException` for
/// keys outside the caller's account.
pub async fn explain_access(
    ctx: &Ctx<'_>,
    req: ExplainAccessRequest,
) -> Result<ExplainAccessResponse, KmsError> {
    let mut v = Validator::new();
    v.required("principalArn", &req.principal_arn);
    v.required("action", &req.action);
    v.required("keyId", &req.key_id);
    v.finish()?;
    if ctx.caller.kind != PrincipalKind::Root {
        return Err(KmsError::new(
            ErrorCode::AccessDeniedException,
            format!(
                "User: {} is not authorized to perform: {TARGET}: it is an administrative extension of this server that only an account's root credentials may call",
                ctx.caller.arn
            ),
        ));
    }
    let (principal_arn, action, key_id) = (
        req.principal_arn.as_deref().unwrap_or_default(),
        req.action.as_deref().unwrap_or_default(),
        req.key_id.as_deref().unwrap_or_default(),
    );
    if !action.starts_with("kms:") || action.contains('*') {
        return Err(invalid(format!("Action '{action}' is not a KMS action such as kms:Decrypt")));
    }
    let source_ip = match &req.source_ip {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| invalid(format!("SourceIp '{ip}' is not an IP address")))?,
        ),
        None => None,
    };
    let key = ctx.resolve(key_id, KeyIdForms::KeyOrAlias).await?;
    if key.account != ctx.caller.account {
        return Err(key_not_found(&key));
    }
    let record = ctx.state.store.get_key(&key).await?.ok_or_else(|| key_not_found(&key))?;
    let mut principal = ctx
        .state
        .accounts
        .iam
        .principal_for_arn(principal_arn, ctx.now_ms())
        .ok_or_else(|| invalid(format!("Principal '{principal_arn}' is not a known account root, user, role or role session")))?;
    principal.env.source_ip = source_ip;
    principal.env.secure_transport = req.secure_transport.unwrap_or(false);
    let key_arn = record.key.arn();
    if principal.account != record.key.account && !is_cross_account_name(action) {
        return Ok(ExplainAccessResponse {
            allowed: false,
            reason: "NotCrossAccountOperation".to_owned(),
            message: format!("{action} cannot be performed on another account's key; the key is not found for this principal"),
            key_arn,
            deciding_statements: vec![],
            near_misses: vec![],
            explanation: vec![format!("{action} is not one of the operations AWS KMS allows across accounts")],
        });
    }
    let policy = super::stored_key_policy(&record)?;
    // A grant of the principal on the key that covers the action (grant operation names
    // are IAM action names).
    let grant = super::grant::GRANT_OPERATIONS
        .iter()
        .find(|op| action.strip_prefix("kms:").is_some_and(|a| a.eq_ignore_ascii_case(op)))
        .and_then(|op| {
            ctx.state.grants.matching(&principal, op, &record.key, req.encryption_context.as_ref())
        });
    let facts = RequestFacts {
        grant,
        encryption_context: req.encryption_context.as_ref(),
        encryption_algorithm: req.encryption_algorithm.as_deref(),
        via_service: req.via_service.as_deref(),
        request_alias: request_alias(key_id),
        ..RequestFacts::default()
    };
    let decision: Decision = evaluate_named(
        &principal,
        action,
        &key_arn,
        Some(ResourcePolicy { account: &record.key.account, policy: &policy }),
        Some(&record),
        &facts,
    );
    let message = if decision.allowed {
        "allowed".to_owned()
    } else {
        decision.denial_message_named(&principal, action, &key_arn)
    };
    Ok(ExplainAccessResponse {
        allowed: decision.allowed,
        reason: format!("{:?}", decision.reason),
        message,
        key_arn,
        deciding_statements: decision.deciding.iter().map(explained).collect(),
        near_misses: decision.near_misses.iter().map(explained).collect(),
        explanation: decision.explain(),
    })
}
