//! AWS managed keys: the keys behind the predefined `alias/aws/<service>` aliases.
//!
//! AWS creates such a key the first time it is needed; calling `DescribeKey` on a predefined
//! alias that has no key yet is the documented way to make KMS create it, and that is what
//! this server does (no AWS service calls it otherwise). The key is a symmetric encryption
//! key with `KeyManager: AWS`, automatic rotation every 365 days, and AWS's non-editable
//! key policy: principals of the account may use it for cryptography and grants only through
//! the service (`kms:ViaService` = `<service>.<region>.amazonaws.com` and
//! `kms:CallerAccount` = the account), and the account root may read its metadata and revoke
//! grants. Every other action, including changing the policy, disabling, deleting, tagging or
//! changing rotation, is denied by that policy (`AccessDeniedException`), as for AWS.
//!
//! A direct call carries no `kms:ViaService`, so the key cannot be used for cryptography
//! directly, exactly as with AWS. Calls by a principal tagged as an integrated service's
//! ([`crate::auth::AWS_SERVICE_TAG`]) carry that service's; `KmsServerExtensions.ExplainAccess`
//! can show what a call through the service would be allowed to do.

use std::sync::Arc;

use kms_api::{ErrorCode, KmsError};

use super::keys::new_material;
use super::Ctx;
use crate::model::{AliasRecord, KeyManager, KeyRecord, MaterialOrigin, Rotation};

/// Automatic rotation period of AWS managed keys, days.
pub const ROTATION_PERIOD_DAYS: i64 = 365;

const DAY_MS: i64 = 86_400_000;

/// Predefined aliases this server knows: `alias/aws/<name>` and the host of the service
/// that uses it (the first label of `kms:ViaService`; EBS volumes are encrypted by EC2).
const SERVICES: &[(&str, &str)] = &[
    ("acm", "acm"),
    ("backup", "backup"),
    ("codecommit", "codecommit"),
    ("dynamodb", "dynamodb"),
    ("ebs", "ec2"),
    ("ecr", "ecr"),
    ("elasticfilesystem", "elasticfilesystem"),
    ("es", "es"),
    ("fsx", "fsx"),
    ("glue", "glue"),
    ("kinesis", "kinesis"),
    ("lambda", "lambda"),
    ("rds", "rds"),
    ("redshift", "redshift"),
    ("s3", "s3"),
    ("secretsmanager", "secretsmanager"),
    ("sns", "sns"),
    ("sqs", "sqs"),
    ("ssm", "ssm"),
    ("xray", "xray"),
];

/// Serialises creation so two concurrent first uses of one alias make one key.
static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The service host behind a predefined alias (`alias/aws/ebs` → `ec2`), if it is one.
pub fn service_of(alias: &str) -> Option<&'static str> {
    let name = alias.strip_prefix("alias/aws/")?;
    SERVICES.iter().find(|(n, _)| *n == name).map(|(_, host)| *host)
}

/// AWS's key policy for the AWS managed key of `alias` in `account` and `region`.
pub fn policy(alias: &str, service_host: &str, account: &str, region: &str) -> String {
    let name = alias.trim_start_matches("alias/aws/");
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "auto-{name}-1",
  "Statement" : [ {{
    "Sid" : "Allow access through {name} for all principals in the account that are authorized to use {name}",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "*"
    }},
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {{
      "StringEquals" : {{
        "kms:ViaService" : "{service_host}.{region}.amazonaws.com",
        "kms:CallerAccount" : "{account}"
      }}
    }}
  }}, {{
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "arn:aws:iam::{account}:root"
    }},
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant" ],
    "Resource" : "*"
  }} ]
}}"#
    )
}

/// Creates the AWS managed key of the predefined `alias` in the caller's account and
/// Region, unless another request has just done so; returns once the key and its alias are
/// durable. Call only after the alias was found missing.
///
/// A crash between writing the key and writing its alias leaves a key no alias names; the
/// next use then creates another one (no data can have been encrypted under the first).
///
/// # Errors
/// `NotFoundException` if `alias` is not a predefined alias; store and keystore failures.
pub async fn create(ctx: &Ctx<'_>, alias: &str) -> Result<(), KmsError> {
    let host = service_of(alias).ok_or_else(|| {
        KmsError::new(
            ErrorCode::NotFoundException,
            format!(
                "Alias arn:aws:kms:{}:{}:{alias} is not found.",
                ctx.region, ctx.caller.account
            ),
        )
    })?;
    let _creating = CREATING.lock().await;
    let account = ctx.caller.account.clone();
    if ctx.state.store.get_alias(&account, ctx.region, alias).await?.is_some() {
        return Ok(());
    }
    let now = ctx.now_ms();
    let key = ctx.own_key(&uuid::Uuid::new_v4().hyphenated().to_string());
    let mut record =
        KeyRecord::new_symmetric(key.clone(), now, policy(alias, host, &account, ctx.region));
    record.description = format!(
        "Default key that protects my {} data when no other key is defined",
        alias.trim_start_matches("alias/aws/")
    );
    record.key_manager = KeyManager::Aws;
    record.rotation = Rotation {
        enabled: true,
        period_days: Some(ROTATION_PERIOD_DAYS),
        next_rotation_ms: Some(now + ROTATION_PERIOD_DAYS * DAY_MS),
    };
    record.materials = vec![new_material(ctx.state, &key, 1, MaterialOrigin::Original, now)?];
    ctx.state.store.insert_key(&record).await?;
    ctx.state.keys.put(Arc::new(record));
    let alias = AliasRecord {
        account,
        region: ctx.region.to_owned(),
        name: alias.to_owned(),
        target_key_id: key.key_id,
        created_ms: now,
        updated_ms: now,
    };
    ctx.state.store.insert_alias(&alias).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::policy::{Policy, PolicyKind};

    #[test]
    fn predefined_aliases_name_their_service() {
        assert_eq!(service_of("alias/aws/ebs"), Some("ec2"));
        assert_eq!(service_of("alias/aws/s3"), Some("s3"));
        assert_eq!(service_of("alias/aws/unknown"), None);
        assert_eq!(service_of("alias/s3"), None);
    }

    #[test]
    fn managed_policy_is_a_valid_key_policy() {
        let text = policy("alias/aws/s3", "s3", "111122223333", "eu-west-1");
        Policy::parse(&text, PolicyKind::Key).expect("AWS managed key policy parses");
        assert!(text.contains("\"kms:ViaService\" : \"s3.eu-west-1.amazonaws.com\""));
    }
}
