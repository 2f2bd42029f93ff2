//! The item encryptor's configuration (spec
//! `dynamodb-encryption-client/ddb-table-encryption-config.md`) and its validation.
//!
//! [`ItemEncryptorConfig`] is a plain struct, serde-compatible with the camelCase names
//! the AWS Database Encryption SDK uses (`logicalTableName` is accepted for
//! `tableName`), so a JavaScript wrapper can pass it as JSON. [`ItemEncryptorConfig::validate`]
//! turns it into a [`ResolvedConfig`] or says which rule it breaks.

use std::collections::BTreeMap;
use std::fmt;

use kms_api::json::{Kind, Reader};
use serde::{Deserialize, Serialize};

use crate::item::{ItemError, RESERVED_ATTRIBUTE_PREFIX};
use crate::suite::AlgorithmSuite;

/// What happens to one attribute (spec `structured-encryption/structures.md#crypto-action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CryptoAction {
    /// Encrypted on its own key, stored as `B`, and covered by the signature.
    EncryptAndSign,
    /// Stored as it is and covered by the signature.
    SignOnly,
    /// Stored as it is, covered by the signature, and added to the encryption context.
    SignAndIncludeInEncryptionContext,
    /// Stored as it is and not protected; only for allowed-unsigned attributes.
    DoNothing,
}

impl CryptoAction {
    /// The spec name, e.g. `ENCRYPT_AND_SIGN`.
    pub fn name(self) -> &'static str {
        match self {
            Self::EncryptAndSign => "ENCRYPT_AND_SIGN",
            Self::SignOnly => "SIGN_ONLY",
            Self::SignAndIncludeInEncryptionContext => "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT",
            Self::DoNothing => "DO_NOTHING",
        }
    }

    /// Whether the attribute is covered by the signature.
    pub fn is_signed(self) -> bool {
        self != Self::DoNothing
    }
}

impl fmt::Display for CryptoAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The algorithm suite items are written with (the two DBE suites of the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ItemSuite {
    /// `0x6701`: AES-256-GCM, HKDF-SHA512, key commitment, HMAC-SHA384 and ECDSA P-384.
    #[default]
    #[serde(rename = "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384")]
    EcdsaP384HmacSha384,
    /// `0x6700`: the same without the ECDSA signature (HMAC-SHA384 only).
    #[serde(rename = "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384")]
    HmacSha384,
}

impl ItemSuite {
    /// The suite's materials description, passed to materials managers.
    pub fn suite(self) -> &'static AlgorithmSuite {
        match self {
            Self::EcdsaP384HmacSha384 => &crate::item::DBE_ECDSA_P384_SYMSIG_HMAC_SHA384,
            Self::HmacSha384 => &crate::item::DBE_SYMSIG_HMAC_SHA384,
        }
    }

    /// The header's flavor byte (the suite id's second byte).
    pub fn flavor(self) -> u8 {
        match self {
            Self::EcdsaP384HmacSha384 => 0x01,
            Self::HmacSha384 => 0x00,
        }
    }

    /// The suite for a header's flavor byte.
    pub fn from_flavor(flavor: u8) -> Option<Self> {
        match flavor {
            0x01 => Some(Self::EcdsaP384HmacSha384),
            0x00 => Some(Self::HmacSha384),
            _ => None,
        }
    }
}

/// Which encryption context the materials manager (and so the keyring and KMS) sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyringContext {
    /// As the AWS Database Encryption SDK: the whole item context (table name, key names,
    /// key values, `SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT` values). KMS binds every
    /// item's keys, but a caching materials manager cannot share a data key between
    /// items with different keys.
    #[default]
    Item,
    /// Only the table-level pairs (`aws-crypto-table-name`, `aws-crypto-partition-name`,
    /// `aws-crypto-sort-name`). The per-item pairs are still authenticated (header
    /// commitment input, signature and HMAC), but KMS does not see them, so a caching
    /// materials manager serves a whole table from one data key. A deviation from AWS.
    Table,
}

/// The item encryptor's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemEncryptorConfig {
    /// The logical table name, bound into every attribute's canonical path and the context.
    #[serde(alias = "logicalTableName")]
    pub table_name: String,
    /// The partition key attribute name.
    pub partition_key_name: String,
    /// The sort key attribute name, if the table has one.
    #[serde(default)]
    pub sort_key_name: Option<String>,
    /// Actions of named attributes.
    #[serde(default)]
    pub attribute_actions_on_encrypt: BTreeMap<String, CryptoAction>,
    /// The action of attributes that are neither listed nor allowed unsigned:
    /// `ENCRYPT_AND_SIGN` or `SIGN_ONLY`. `None`: such an attribute is an error, as in the
    /// AWS Database Encryption SDK.
    #[serde(default)]
    pub default_action: Option<CryptoAction>,
    /// Attribute names that may be unsigned (`DO_NOTHING`).
    #[serde(default)]
    pub allowed_unsigned_attributes: Vec<String>,
    /// Attributes whose name starts with this prefix are unsigned (`DO_NOTHING`).
    #[serde(default)]
    pub allowed_unsigned_attribute_prefix: Option<String>,
    /// The algorithm suite (default: with ECDSA P-384 signatures).
    #[serde(default)]
    pub algorithm_suite: ItemSuite,
    /// Which context the materials manager sees (default: the whole item context).
    #[serde(default)]
    pub keyring_context: KeyringContext,
}

impl ItemEncryptorConfig {
    /// A configuration with only the table and key names set; every other attribute needs
    /// an action, a default, or to be allowed unsigned.
    pub fn new(table_name: impl Into<String>, partition_key_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            partition_key_name: partition_key_name.into(),
            sort_key_name: None,
            attribute_actions_on_encrypt: BTreeMap::new(),
            default_action: None,
            allowed_unsigned_attributes: Vec::new(),
            allowed_unsigned_attribute_prefix: None,
            algorithm_suite: ItemSuite::default(),
            keyring_context: KeyringContext::default(),
        }
    }

    /// Parses a configuration from JSON text.
    ///
    /// # Errors
    /// [`ItemError::InvalidConfig`] if the JSON does not describe a configuration.
    pub fn from_json(text: &str) -> Result<Self, ItemError> {
        read_config(text).map_err(|e| ItemError::InvalidConfig(format!("configuration JSON: {e}")))
    }

    /// Checks every rule and resolves the key actions.
    ///
    /// # Errors
    /// [`ItemError::InvalidConfig`] naming the first rule broken.
    pub fn validate(&self) -> Result<ResolvedConfig, ItemError> {
        let bad = |m: String| Err(ItemError::InvalidConfig(m));
        if self.table_name.is_empty() {
            return bad("the table name must not be empty".into());
        }
        if self.partition_key_name.is_empty() {
            return bad("the partition key name must not be empty".into());
        }
        if self.sort_key_name.as_deref() == Some("") {
            return bad("the sort key name must not be empty".into());
        }
        if self.sort_key_name.as_ref() == Some(&self.partition_key_name) {
            return bad("the sort key must differ from the partition key".into());
        }
        if self.allowed_unsigned_attribute_prefix.as_deref() == Some("") {
            return bad("the allowed unsigned attribute prefix must not be empty".into());
        }
        match self.default_action {
            None | Some(CryptoAction::EncryptAndSign | CryptoAction::SignOnly) => {}
            Some(other) => {
                return bad(format!(
                    "the default action must be ENCRYPT_AND_SIGN or SIGN_ONLY, not {other} \
                     (name unsigned attributes with the allowed unsigned prefix or list)"
                ))
            }
        }
        let names = self
            .attribute_actions_on_encrypt
            .keys()
            .chain(&self.allowed_unsigned_attributes)
            .chain(std::iter::once(&self.partition_key_name))
            .chain(&self.sort_key_name);
        for name in names {
            if name.is_empty() {
                return bad("attribute names must not be empty".into());
            }
            if name.starts_with(RESERVED_ATTRIBUTE_PREFIX) {
                return bad(format!(
                    "attribute {name:?} uses the reserved prefix {RESERVED_ATTRIBUTE_PREFIX}"
                ));
            }
        }
        let resolved = ResolvedConfig { config: self.clone() };
        for (name, action) in &self.attribute_actions_on_encrypt {
            let unsigned = resolved.is_allowed_unsigned(name);
            if *action == CryptoAction::DoNothing && !unsigned {
                return bad(format!(
                    "attribute {name:?} is DO_NOTHING but is not an allowed unsigned attribute \
                     (add it to allowedUnsignedAttributes or use the allowed unsigned prefix)"
                ));
            }
            if *action != CryptoAction::DoNothing && unsigned {
                return bad(format!(
                    "attribute {name:?} is an allowed unsigned attribute, so its action must be \
                     DO_NOTHING, not {action}"
                ));
            }
        }
        for (role, name) in std::iter::once(("partition", &self.partition_key_name))
            .chain(self.sort_key_name.iter().map(|n| ("sort", n)))
        {
            match resolved.action_of(name) {
                Ok(CryptoAction::SignOnly | CryptoAction::SignAndIncludeInEncryptionContext) => {}
                Ok(action) => {
                    return bad(format!(
                        "the {role} key {name:?} must be SIGN_ONLY or \
                         SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT, not {action}"
                    ))
                }
                Err(_) => {
                    return bad(format!(
                        "the {role} key {name:?} needs an action (SIGN_ONLY or \
                         SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT)"
                    ))
                }
            }
        }
        Ok(resolved)
    }
}

/// A configuration that passed [`ItemEncryptorConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedConfig {
    config: ItemEncryptorConfig,
}

impl ResolvedConfig {
    /// The configuration.
    pub fn config(&self) -> &ItemEncryptorConfig {
        &self.config
    }

    /// Whether `name` is allowed to be unsigned (listed, or starts with the prefix).
    pub fn is_allowed_unsigned(&self, name: &str) -> bool {
        self.config.allowed_unsigned_attributes.iter().any(|n| n == name)
            || self
                .config
                .allowed_unsigned_attribute_prefix
                .as_deref()
                .is_some_and(|p| name.starts_with(p))
    }

    /// The action for an attribute named `name` when encrypting.
    ///
    /// # Errors
    /// [`ItemError::InvalidItem`] if the attribute has no action and there is no default.
    pub fn action_of(&self, name: &str) -> Result<CryptoAction, ItemError> {
        if let Some(action) = self.config.attribute_actions_on_encrypt.get(name) {
            return Ok(*action);
        }
        if self.is_allowed_unsigned(name) {
            return Ok(CryptoAction::DoNothing);
        }
        self.config.default_action.ok_or_else(|| {
            ItemError::InvalidItem(format!(
                "attribute {name:?} has no configured action and no default action is set"
            ))
        })
    }

    /// Whether any attribute is `SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT` (header version 2).
    pub fn uses_context_attributes(&self) -> bool {
        self.config
            .attribute_actions_on_encrypt
            .values()
            .any(|a| *a == CryptoAction::SignAndIncludeInEncryptionContext)
    }

    /// The attributes an item must hold: the keys and every context attribute.
    pub fn required_attributes(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.config.partition_key_name).chain(&self.config.sort_key_name).chain(
            self.config.attribute_actions_on_encrypt.iter().filter_map(|(n, a)| {
                (*a == CryptoAction::SignAndIncludeInEncryptionContext).then_some(n)
            }),
        )
    }
}

/// Reads a configuration as its serde form would (camelCase members, `logicalTableName`
/// for `tableName`, unknown or repeated members refused, `null` only for optional ones),
/// with the small JSON reader so the wasm build carries no serde code.
fn read_config(text: &str) -> Result<ItemEncryptorConfig, String> {
    let mut r = Reader::new(text);
    let mut table_name = None;
    let mut partition_key_name = None;
    let mut config = ItemEncryptorConfig::new("", "");
    let mut seen: Vec<&'static str> = Vec::new();
    r.begin_object().map_err(|e| e.to_string())?;
    while let Some(key) = r.next_key().map_err(|e| e.to_string())? {
        let name: &'static str = match &*key {
            "tableName" | "logicalTableName" => "tableName",
            "partitionKeyName" => "partitionKeyName",
            "sortKeyName" => "sortKeyName",
            "attributeActionsOnEncrypt" => "attributeActionsOnEncrypt",
            "defaultAction" => "defaultAction",
            "allowedUnsignedAttributes" => "allowedUnsignedAttributes",
            "allowedUnsignedAttributePrefix" => "allowedUnsignedAttributePrefix",
            "algorithmSuite" => "algorithmSuite",
            "keyringContext" => "keyringContext",
            other => return Err(format!("unknown field `{other}`")),
        };
        if seen.contains(&name) {
            return Err(format!("duplicate field `{name}`"));
        }
        seen.push(name);
        let r = &mut r;
        match name {
            "tableName" => table_name = Some(string(r)?),
            "partitionKeyName" => partition_key_name = Some(string(r)?),
            "sortKeyName" => config.sort_key_name = optional(r, string)?,
            "attributeActionsOnEncrypt" => {
                r.begin_object().map_err(|e| e.to_string())?;
                while let Some(attribute) = r.next_key().map_err(|e| e.to_string())? {
                    let action = action(r)?;
                    config.attribute_actions_on_encrypt.insert(attribute.into_owned(), action);
                }
            }
            "defaultAction" => config.default_action = optional(r, action)?,
            "allowedUnsignedAttributes" => {
                r.begin_array().map_err(|e| e.to_string())?;
                while r.next_element().map_err(|e| e.to_string())? {
                    config.allowed_unsigned_attributes.push(string(r)?);
                }
            }
            "allowedUnsignedAttributePrefix" => {
                config.allowed_unsigned_attribute_prefix = optional(r, string)?;
            }
            "algorithmSuite" => {
                config.algorithm_suite = match string(r)?.as_str() {
                    "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384_SYMSIG_HMAC_SHA384" => {
                        ItemSuite::EcdsaP384HmacSha384
                    }
                    "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384" => {
                        ItemSuite::HmacSha384
                    }
                    other => return Err(format!("unknown variant `{other}`")),
                }
            }
            _ => {
                config.keyring_context = match string(r)?.as_str() {
                    "ITEM" => KeyringContext::Item,
                    "TABLE" => KeyringContext::Table,
                    other => return Err(format!("unknown variant `{other}`")),
                }
            }
        }
    }
    r.end().map_err(|e| e.to_string())?;
    config.table_name = table_name.ok_or("missing field `tableName`")?;
    config.partition_key_name = partition_key_name.ok_or("missing field `partitionKeyName`")?;
    Ok(config)
}

fn string(r: &mut Reader<'_>) -> Result<String, String> {
    if r.peek().map_err(|e| e.to_string())? != Kind::String {
        return Err(r.error_here("expected a string").to_string());
    }
    r.string().map(|s| s.into_owned()).map_err(|e| e.to_string())
}

fn optional<T>(
    r: &mut Reader<'_>,
    read: fn(&mut Reader<'_>) -> Result<T, String>,
) -> Result<Option<T>, String> {
    if r.null().map_err(|e| e.to_string())? {
        return Ok(None);
    }
    read(r).map(Some)
}

fn action(r: &mut Reader<'_>) -> Result<CryptoAction, String> {
    Ok(match string(r)?.as_str() {
        "ENCRYPT_AND_SIGN" => CryptoAction::EncryptAndSign,
        "SIGN_ONLY" => CryptoAction::SignOnly,
        "SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT" => CryptoAction::SignAndIncludeInEncryptionContext,
        "DO_NOTHING" => CryptoAction::DoNothing,
        other => return Err(format!("unknown variant `{other}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_follow_the_aws_sdk() {
        let config = ItemEncryptorConfig::from_json(
            r#"{"logicalTableName":"t","partitionKeyName":"pk","sortKeyName":"sk",
                "attributeActionsOnEncrypt":{"pk":"SIGN_ONLY","sk":"SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT",
                "ssn":"ENCRYPT_AND_SIGN"},"defaultAction":"SIGN_ONLY",
                "allowedUnsignedAttributePrefix":":","keyringContext":"TABLE",
                "algorithmSuite":"ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384"}"#,
        )
        .unwrap();
        assert_eq!(config.table_name, "t");
        assert_eq!(config.algorithm_suite, ItemSuite::HmacSha384);
        assert_eq!(config.keyring_context, KeyringContext::Table);
        let resolved = config.validate().unwrap();
        assert_eq!(resolved.action_of(":x").unwrap(), CryptoAction::DoNothing);
        assert_eq!(resolved.action_of("other").unwrap(), CryptoAction::SignOnly);
        assert!(resolved.uses_context_attributes());
        assert!(ItemEncryptorConfig::from_json(r#"{"tableName":"t"}"#).is_err());
        assert!(ItemEncryptorConfig::from_json(
            r#"{"tableName":"t","partitionKeyName":"p","x":1}"#
        )
        .is_err());
    }

    /// Members, values and shapes the generated configurations draw from.
    const CONFIG_TEXT: &str = concat!(
        r#"\{(("(tableName|logicalTableName|partitionKeyName|sortKeyName|defaultAction|"#,
        r#"allowedUnsignedAttributePrefix|algorithmSuite|keyringContext|x)":"#,
        r#"("t"|null|1|"SIGN_ONLY"|"TABLE"|"ITEM"|"#,
        r#""ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_SYMSIG_HMAC_SHA384")|"#,
        r#""attributeActionsOnEncrypt":\{("a":"(DO_NOTHING|ENCRYPT_AND_SIGN|x)",?){0,2}\}|"#,
        r#""allowedUnsignedAttributes":\[("u",?){0,2}\]),?){0,5}\}"#
    );

    proptest::proptest! {
        /// The hand-written reader agrees with the serde form on every text.
        #[test]
        fn reads_configurations_as_serde_does(text in CONFIG_TEXT) {
            let mine = read_config(&text).ok();
            let theirs = serde_json::from_str::<ItemEncryptorConfig>(&text).ok();
            proptest::prop_assert_eq!(mine, theirs, "{}", text);
        }
    }
}
