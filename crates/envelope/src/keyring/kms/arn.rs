//! AWS KMS key identifiers as the ESDK reads them (spec `framework/aws-kms/aws-kms-key-arn.md`)
//! and the multi-Region key match (spec `aws-kms-mrk-match-for-decrypt.md`).

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Prefix of a multi-Region key's id.
const MRK_PREFIX: &str = "mrk-";

/// The resource type of a KMS ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AwsKmsResourceType {
    /// `key/<key id>`.
    Key,
    /// `alias/<alias name>`.
    Alias,
}

impl AwsKmsResourceType {
    /// The ARN spelling: `key` or `alias`.
    pub fn as_str(self) -> &'static str {
        match self {
            AwsKmsResourceType::Key => "key",
            AwsKmsResourceType::Alias => "alias",
        }
    }
}

/// A parsed AWS KMS ARN: `arn:<partition>:kms:<region>:<account>:<key|alias>/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AwsKmsArn {
    partition: String,
    region: String,
    account: String,
    resource_type: AwsKmsResourceType,
    resource_id: String,
}

impl AwsKmsArn {
    /// Parses a KMS ARN as the spec defines a valid one: six `:`-separated parts, starting
    /// with `arn`, service `kms`, non-empty partition, region and account, and a resource
    /// `key/<id>` or `alias/<id>` (the id may contain further `/`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the string is not a valid KMS ARN.
    pub fn parse(arn: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidKey("not a valid AWS KMS ARN".into());
        let parts: Vec<&str> = arn.split(':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err(invalid());
        };
        if prefix != "arn"
            || partition.is_empty()
            || service != "kms"
            || region.is_empty()
            || account.is_empty()
        {
            return Err(invalid());
        }
        let (resource_type, resource_id) = resource.split_once('/').ok_or_else(invalid)?;
        let resource_type = match resource_type {
            "key" => AwsKmsResourceType::Key,
            "alias" => AwsKmsResourceType::Alias,
            _ => return Err(invalid()),
        };
        if resource_id.is_empty() {
            return Err(invalid());
        }
        Ok(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource_type,
            resource_id: resource_id.to_owned(),
        })
    }

    /// The partition, e.g. `aws`.
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The service; always `kms`.
    pub fn service(&self) -> &str {
        "kms"
    }

    /// The region, e.g. `us-east-1`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The account id.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// `key` or `alias`.
    pub fn resource_type(&self) -> AwsKmsResourceType {
        self.resource_type
    }

    /// The key id or alias name (after the first `/`).
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// Whether this is a multi-Region key ARN: resource type `key` with an id starting
    /// `mrk-` (an alias is never a multi-Region key, whatever its name).
    pub fn is_multi_region_key(&self) -> bool {
        self.resource_type == AwsKmsResourceType::Key && self.resource_id.starts_with(MRK_PREFIX)
    }

    /// The same ARN in another region.
    pub fn with_region(&self, region: &str) -> Self {
        Self { region: region.to_owned(), ..self.clone() }
    }
}

impl fmt::Display for AwsKmsArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:kms:{}:{}:{}/{}",
            self.partition,
            self.region,
            self.account,
            self.resource_type.as_str(),
            self.resource_id
        )
    }
}

impl FromStr for AwsKmsArn {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// Checks that `identifier` is a valid AWS KMS identifier: a valid KMS ARN, an alias
/// (`alias/<name>`), or a key id.
///
/// # Errors
/// [`Error::InvalidKey`] if it is empty, or starts with `arn:` but is not a valid KMS ARN.
pub fn validate_identifier(identifier: &str) -> Result<(), Error> {
    if identifier.is_empty() {
        return Err(Error::InvalidKey("the AWS KMS key identifier is empty".into()));
    }
    if identifier.starts_with("arn:") {
        AwsKmsArn::parse(identifier)?;
    } else if identifier == "alias/" {
        return Err(Error::InvalidKey("the AWS KMS alias name is empty".into()));
    }
    Ok(())
}

/// Whether an identifier names an alias (`alias/...` or an alias ARN).
pub(crate) fn is_alias(identifier: &str) -> bool {
    match AwsKmsArn::parse(identifier) {
        Ok(arn) => arn.resource_type() == AwsKmsResourceType::Alias,
        Err(_) => identifier.starts_with("alias/"),
    }
}

/// Whether an AWS KMS identifier names a multi-Region key.
///
/// # Errors
/// [`Error::InvalidKey`] if it starts with `arn:` but is not a valid KMS ARN.
pub fn is_multi_region_identifier(identifier: &str) -> Result<bool, Error> {
    if identifier.starts_with("arn:") {
        return Ok(AwsKmsArn::parse(identifier)?.is_multi_region_key());
    }
    if identifier.starts_with("alias/") {
        return Ok(false);
    }
    Ok(identifier.starts_with(MRK_PREFIX))
}

/// AWS KMS MRK Match for Decrypt: whether two key identifiers name the same key, counting
/// the replicas of a multi-Region key in different regions as the same key.
pub fn mrk_match_for_decrypt(a: &str, b: &str) -> bool {
    //= framework/aws-kms/aws-kms-mrk-match-for-decrypt.md#implementation
    //# If both identifiers are identical, this function MUST return `true`.
    if a == b {
        return true;
    }
    //# Otherwise if either input is not identified as a multi-Region key, then this
    //# function MUST return `false`.
    if !matches!(is_multi_region_identifier(a), Ok(true))
        || !matches!(is_multi_region_identifier(b), Ok(true))
    {
        return false;
    }
    //# Otherwise if both inputs are identified as a multi-Region keys, this function MUST
    //# return the result of comparing the `partition`, `service`, `accountId`,
    //# `resourceType`, and `resource` parts of both ARN inputs.
    match (AwsKmsArn::parse(a), AwsKmsArn::parse(b)) {
        (Ok(a), Ok(b)) => {
            a.partition == b.partition
                && a.account == b.account
                && a.resource_type == b.resource_type
                && a.resource_id == b.resource_id
        }
        // Two bare `mrk-` key ids that differ have no parts to compare.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "arn:aws:kms:us-east-1:2222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const MRK_EAST: &str = "arn:aws:kms:us-east-1:2222222222222:key/mrk-4321abcd";
    const MRK_WEST: &str = "arn:aws:kms:us-west-2:2222222222222:key/mrk-4321abcd";

    #[test]
    fn parses_and_displays_a_key_arn() {
        let arn = AwsKmsArn::parse(KEY).unwrap();
        assert_eq!(arn.partition(), "aws");
        assert_eq!(arn.service(), "kms");
        assert_eq!(arn.region(), "us-east-1");
        assert_eq!(arn.account(), "2222222222222");
        assert_eq!(arn.resource_type(), AwsKmsResourceType::Key);
        assert_eq!(arn.resource_id(), "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert!(!arn.is_multi_region_key());
        assert_eq!(arn.to_string(), KEY);
    }

    #[test]
    fn alias_resource_ids_keep_extra_slashes() {
        let arn: AwsKmsArn = "arn:aws:kms:us-west-2:111122223333:alias/a/b".parse().unwrap();
        assert_eq!(arn.resource_type(), AwsKmsResourceType::Alias);
        assert_eq!(arn.resource_id(), "a/b");
    }

    #[test]
    fn rejects_invalid_arns() {
        for bad in [
            "",
            "arn:aws:kms:us-east-1:1:key",
            "arn:aws:kms:us-east-1:1:key/",
            "arn:aws:kms:us-east-1:1:grant/x",
            "arn:aws:s3:us-east-1:1:key/x",
            "arn::kms:us-east-1:1:key/x",
            "arn:aws:kms::1:key/x",
            "arn:aws:kms:us-east-1::key/x",
            "arn:aws:kms:us-east-1:1:key/x:y",
            "nra:aws:kms:us-east-1:1:key/x",
            "arn:aws:kms:us-east-1:1",
        ] {
            assert!(AwsKmsArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifies_multi_region_keys() {
        assert!(is_multi_region_identifier(MRK_EAST).unwrap());
        assert!(is_multi_region_identifier("mrk-123").unwrap());
        assert!(!is_multi_region_identifier("alias/mrk-123").unwrap());
        assert!(!is_multi_region_identifier("arn:aws:kms:us-east-1:1:alias/mrk-1").unwrap());
        assert!(!is_multi_region_identifier(KEY).unwrap());
        assert!(!is_multi_region_identifier("1234").unwrap());
        assert!(is_multi_region_identifier("arn:bad").is_err());
    }

    #[test]
    fn mrk_match_ignores_only_the_region() {
        assert!(mrk_match_for_decrypt(KEY, KEY));
        assert!(mrk_match_for_decrypt(MRK_EAST, MRK_WEST));
        assert!(!mrk_match_for_decrypt(KEY, &KEY.replace("us-east-1", "us-west-2")));
        assert!(!mrk_match_for_decrypt(MRK_EAST, &MRK_WEST.replace("2222222222222", "3")));
        assert!(!mrk_match_for_decrypt(MRK_EAST, &MRK_WEST.replace("aws:", "aws-cn:")));
        assert!(!mrk_match_for_decrypt(MRK_EAST, "mrk-4321abcd"));
    }

    #[test]
    fn validates_identifiers() {
        assert!(validate_identifier(KEY).is_ok());
        assert!(validate_identifier("alias/x").is_ok());
        assert!(validate_identifier("1234abcd").is_ok());
        assert!(validate_identifier("").is_err());
        assert!(validate_identifier("arn:aws:kms:x").is_err());
        assert!(is_alias("alias/x"));
        assert!(is_alias("arn:aws:kms:us-east-1:1:alias/x"));
        assert!(!is_alias(KEY));
    }
}
