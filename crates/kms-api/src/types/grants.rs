//! Shapes of the grant operations: CreateGrant, ListGrants, ListRetirableGrants,
//! RetireGrant and RevokeGrant.

use serde::{Deserialize, Serialize};

use super::EncryptionContext;

/// Grant constraints: the encryption context a request must carry for the grant to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraints {
    /// The request's encryption context must contain these pairs (extras allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<EncryptionContext>,
    /// The request's encryption context must be exactly these pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<EncryptionContext>,
}

/// One entry of `ListGrants` and `ListRetirableGrants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GrantListEntry {
    /// The key ARN.
    pub key_id: String,
    /// The grant id (64 hex characters).
    pub grant_id: String,
    /// The name given at creation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Creation time, seconds since the epoch.
    pub creation_date: f64,
    /// The principal that gets the grant's permissions.
    pub grantee_principal: String,
    /// The principal that may retire the grant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// The account that created the grant, as `arn:aws:iam::<account>:root`.
    pub issuing_account: String,
    /// The grant operations.
    pub operations: Vec<String>,
    /// The grant's constraints, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
}

shape!(/// `CreateGrant` input.
CreateGrantRequest {
    /// Key id or key ARN.
    key_id: String,
    /// The principal that gets the permissions.
    grantee_principal: String,
    /// The AWS service principal that gets the permissions (not supported).
    grantee_service_principal: String,
    /// The principal that may retire the grant.
    retiring_principal: String,
    /// The AWS service principal that may retire the grant (not supported).
    retiring_service_principal: String,
    /// The grant operations.
    operations: Vec<String>,
    /// Encryption context constraints.
    constraints: GrantConstraints,
    /// Grant tokens.
    grant_tokens: Vec<String>,
    /// A name that makes retries idempotent.
    name: String,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `CreateGrant` output.
CreateGrantResponse {
    /// A token for the grant (usable at once in `GrantTokens`).
    grant_token: String,
    /// The grant id.
    grant_id: String,
});

shape!(/// `ListGrants` input.
ListGrantsRequest {
    /// Key id or key ARN.
    key_id: String,
    /// Maximum number of entries (1 to 100).
    limit: i64,
    /// Where to continue.
    marker: String,
    /// Only this grant.
    grant_id: String,
    /// Only grants for this grantee.
    grantee_principal: String,
    /// Only grants for this service principal (not supported).
    grantee_service_principal: String,
});

shape!(/// `ListRetirableGrants` input.
ListRetirableGrantsRequest {
    /// The retiring principal whose grants to list.
    retiring_principal: String,
    /// Grants whose retiring service principal is this (not supported).
    retiring_service_principal: String,
    /// Maximum number of entries (1 to 100).
    limit: i64,
    /// Where to continue.
    marker: String,
});

shape!(/// `ListGrants` and `ListRetirableGrants` output.
ListGrantsResponse {
    /// The grants.
    grants: Vec<GrantListEntry>,
    /// Where to continue.
    next_marker: String,
    /// Whether more entries follow.
    truncated: bool,
});

shape!(/// `RetireGrant` input.
RetireGrantRequest {
    /// The grant's token.
    grant_token: String,
    /// The key ARN (with `GrantId`).
    key_id: String,
    /// The grant id (with `KeyId`).
    grant_id: String,
    /// Check access only.
    dry_run: bool,
});

shape!(/// `RevokeGrant` input.
RevokeGrantRequest {
    /// Key id or key ARN.
    key_id: String,
    /// The grant id.
    grant_id: String,
    /// Check access only.
    dry_run: bool,
});
