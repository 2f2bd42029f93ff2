//! The item's encryption context (spec `dynamodb-encryption-client/encrypt-item.md`,
//! "DynamoDB Item Base Context", and `structured-encryption/encrypt-path-structure.md`,
//! "Create New Encryption Context and CMM").
//!
//! Every pair is rebuilt from the item and the configuration when decrypting, so none is
//! stored in the header; they reach the materials manager as required (reproduced) pairs.

use kms_api::base64;

use crate::item::config::{KeyringContext, ResolvedConfig};
use crate::item::header::VERSION_1;
use crate::item::value::{AttributeValue, Item};
use crate::item::ItemError;
use crate::materials::EncryptionContext;

/// Context key of the logical table name.
pub const TABLE_NAME_KEY: &str = "aws-crypto-table-name";
/// Context key of the partition key's name.
pub const PARTITION_NAME_KEY: &str = "aws-crypto-partition-name";
/// Context key of the sort key's name.
pub const SORT_NAME_KEY: &str = "aws-crypto-sort-name";
/// Prefix of an attribute value's context key.
pub const ATTRIBUTE_KEY_PREFIX: &str = "aws-crypto-attr.";
/// Context key of the legend of the context attributes' types (version 2).
pub const LEGEND_KEY: &str = "aws-crypto-legend";

/// An item's context: all of it, and the part the materials manager sees.
pub(crate) struct ItemContext {
    /// Every pair, authenticated in the canonical record.
    pub(crate) full: EncryptionContext,
    /// The pairs passed to the materials manager as required pairs.
    pub(crate) for_keyring: EncryptionContext,
}

/// Builds the context of `item` for header `version`; `context_attributes` are the
/// attributes included in the context (version 2), sorted or not.
pub(crate) fn item_context(
    config: &ResolvedConfig,
    version: u8,
    item: &Item,
    context_attributes: &[&str],
) -> Result<ItemContext, ItemError> {
    let c = config.config();
    let mut table = EncryptionContext::new();
    table.insert(TABLE_NAME_KEY.into(), c.table_name.clone());
    table.insert(PARTITION_NAME_KEY.into(), c.partition_key_name.clone());
    if let Some(sort) = &c.sort_key_name {
        table.insert(SORT_NAME_KEY.into(), sort.clone());
    }
    let mut full = table.clone();
    let get = |name: &str| {
        item.get(name)
            .ok_or_else(|| ItemError::InvalidItem(format!("the item has no attribute {name:?}")))
    };
    if version == VERSION_1 {
        //# the value of the Partition Key [...] the value of the Sort Key.
        for name in std::iter::once(&c.partition_key_name).chain(&c.sort_key_name) {
            full.insert(format!("{ATTRIBUTE_KEY_PREFIX}{name}"), value_v1(get(name)?));
        }
    } else {
        let mut names: Vec<&str> = context_attributes.to_vec();
        crate::item::value::sort_with(&mut names, Ord::cmp);
        let mut legend = String::with_capacity(names.len());
        for name in names {
            let value = get(name)?;
            legend.push(match value {
                AttributeValue::S(_) => 'S',
                AttributeValue::N(_) => 'N',
                AttributeValue::Null | AttributeValue::Bool(_) => 'L',
                _ => 'B',
            });
            full.insert(format!("{ATTRIBUTE_KEY_PREFIX}{name}"), value_v2(value));
        }
        full.insert(LEGEND_KEY.into(), legend);
    }
    let for_keyring = match c.keyring_context {
        KeyringContext::Item => full.clone(),
        KeyringContext::Table => table,
    };
    Ok(ItemContext { full, for_keyring })
}

/// Version 1 value: base64 of `type id || serialised value`.
fn value_v1(value: &AttributeValue) -> String {
    let mut bytes = value.type_id().to_be_bytes().to_vec();
    bytes.extend_from_slice(&value.serialize());
    base64::encode(bytes)
}

/// Version 2 value: strings and numbers as they are, `null`, `true`/`false`, else version 1.
fn value_v2(value: &AttributeValue) -> String {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => s.clone(),
        AttributeValue::Null => "null".into(),
        AttributeValue::Bool(b) => b.to_string(),
        other => value_v1(other),
    }
}

/// The encryption context serialised as in the header: pair count, then each key and
/// value prefixed by its 2-byte length, sorted by key bytes.
pub(crate) fn serialize_context(ec: &EncryptionContext) -> Result<Vec<u8>, ItemError> {
    let too_long = || ItemError::InvalidItem("encryption context too long".into());
    let mut out = Vec::new();
    crate::codec::put_u16(&mut out, u16::try_from(ec.len()).map_err(|_| too_long())?);
    for (k, v) in ec {
        crate::codec::put_u16_prefixed(&mut out, k.as_bytes())
            .and_then(|()| crate::codec::put_u16_prefixed(&mut out, v.as_bytes()))
            .map_err(|_| too_long())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::config::{CryptoAction, ItemEncryptorConfig};
    use crate::item::header::VERSION_2;

    #[test]
    fn version_1_and_2_contexts_follow_the_spec() {
        let mut config = ItemEncryptorConfig::new("t", "pk");
        config.sort_key_name = Some("sk".into());
        config.attribute_actions_on_encrypt.insert("pk".into(), CryptoAction::SignOnly);
        config.attribute_actions_on_encrypt.insert("sk".into(), CryptoAction::SignOnly);
        let resolved = config.validate().unwrap();
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("a".into()));
        item.insert("sk".into(), AttributeValue::N("5".into()));
        item.insert("flag".into(), AttributeValue::Bool(true));
        let ctx = item_context(&resolved, VERSION_1, &item, &[]).unwrap();
        assert_eq!(ctx.full.get("aws-crypto-attr.pk").unwrap(), &base64::encode([0, 1, b'a']));
        assert_eq!(ctx.full.get("aws-crypto-attr.sk").unwrap(), &base64::encode([0, 2, b'5']));
        assert_eq!(ctx.full.get("aws-crypto-sort-name").unwrap(), "sk");
        assert_eq!(ctx.for_keyring, ctx.full);
        let ctx = item_context(&resolved, VERSION_2, &item, &["sk", "flag"]).unwrap();
        assert_eq!(ctx.full.get("aws-crypto-attr.sk").unwrap(), "5");
        assert_eq!(ctx.full.get("aws-crypto-attr.flag").unwrap(), "true");
        assert_eq!(ctx.full.get("aws-crypto-legend").unwrap(), "LN");
        assert!(!ctx.full.contains_key("aws-crypto-attr.pk"));
    }
}
