//! Decrypting one item (spec `dynamodb-encryption-client/decrypt-item.md` and
//! `structured-encryption/decrypt-path-structure.md`): parse the header and footer, get the
//! data key, verify the commitment, the HMAC and the signature, and only then decrypt.

use crate::cmm::DecryptMaterialsRequest;
use crate::item::context::{item_context, serialize_context};
use crate::item::crypto::{canonical_path, CanonicalRecord, ItemKeys};
use crate::item::encrypt::authenticated_context;
use crate::item::header::{ItemFooter, ItemHeader, LEGEND_CONTEXT, LEGEND_ENCRYPT};
use crate::item::value::{AttributeValue, Item};
use crate::item::{
    ItemEncryptor, ItemError, FOOTER_ATTRIBUTE, HEADER_ATTRIBUTE, RESERVED_ATTRIBUTE_PREFIX,
};
use crate::suite::CommitmentPolicy;

impl ItemEncryptor {
    pub(crate) async fn decrypt_parsed(&self, mut item: Item) -> Result<Item, ItemError> {
        let config = &self.config;
        let header_bytes = take_binary(&mut item, HEADER_ATTRIBUTE)?;
        let footer_bytes = take_binary(&mut item, FOOTER_ATTRIBUTE)?;
        if let Some(name) = item.keys().find(|n| n.starts_with(RESERVED_ATTRIBUTE_PREFIX)) {
            return Err(ItemError::InvalidItem(format!(
                "attribute {name:?} uses the reserved prefix {RESERVED_ATTRIBUTE_PREFIX}"
            )));
        }
        let header = ItemHeader::parse(&header_bytes)?;
        let footer = ItemFooter::parse(&footer_bytes, header.suite)?;
        if header.suite != config.config().algorithm_suite {
            return Err(ItemError::InvalidItem(
                "the item was written with another algorithm suite than the configured one".into(),
            ));
        }

        //= structured-encryption/footer.md#signed-fields
        //# When decrypting `signed fields` refers to all fields for which the
        //# the Authenticate Schema indicates `SIGN`
        // Every attribute that is not allowed to be unsigned is signed, whatever the
        // configured actions, so an added attribute cannot slip in unsigned.
        let table = &config.config().table_name;
        let mut signed: Vec<(Vec<u8>, String)> = item
            .keys()
            .filter(|name| !config.is_allowed_unsigned(name))
            .map(|name| (canonical_path(table, name), name.clone()))
            .collect();
        crate::item::value::sort_with(&mut signed, Ord::cmp);
        // A signed attribute added or removed changes the count; a rename moves it.
        if signed.len() != header.legend.len() {
            return Err(ItemError::DecryptionFailed);
        }
        let context_attributes: Vec<&str> = signed
            .iter()
            .zip(&header.legend)
            .filter(|(_, l)| **l == LEGEND_CONTEXT)
            .map(|((_, name), _)| name.as_str())
            .collect();
        // The keys must have been signed in plain, or the context below would not bind them.
        let keys_in_plain = std::iter::once(&config.config().partition_key_name)
            .chain(&config.config().sort_key_name)
            .all(|key| {
                signed
                    .iter()
                    .zip(&header.legend)
                    .any(|((_, n), l)| n == key && *l != LEGEND_ENCRYPT)
            });
        if !keys_in_plain {
            return Err(ItemError::DecryptionFailed);
        }
        let context = item_context(config, header.version, &item, &context_attributes)?;

        let request = DecryptMaterialsRequest {
            suite: header.suite.suite(),
            commitment_policy: CommitmentPolicy::RequireEncryptRequireDecrypt,
            encrypted_data_keys: &header.encrypted_data_keys,
            encryption_context: header.encryption_context.clone(),
            reproduced_encryption_context: Some(context.for_keyring.clone()),
        };
        let materials = self.cmm.decrypt_materials(request).await?;
        let data_key = materials.plaintext_data_key.as_ref().ok_or_else(|| {
            ItemError::Envelope(crate::Error::Keyring("no plaintext data key".into()))
        })?;
        let keys = ItemKeys::derive(data_key.expose_secret(), &header.message_id)?;

        //= structured-encryption/header.md#commitment-verification
        //# Header commitment comparisons MUST be constant time operations.
        keys.verify_commitment(&header.encode_partial()?, &header.commitment)?;

        let authenticated = authenticated_context(&materials.encryption_context, &context.full)
            .map_err(|_| ItemError::DecryptionFailed)?;
        let mut record = CanonicalRecord::new(&header_bytes, &serialize_context(&authenticated)?);
        for ((path, name), legend) in signed.iter().zip(&header.legend) {
            let value = item.get(name).ok_or(ItemError::DecryptionFailed)?;
            if *legend == LEGEND_ENCRYPT {
                let AttributeValue::B(stored) = value else {
                    return Err(ItemError::DecryptionFailed);
                };
                record.add_encrypted(path, stored);
            } else {
                record.add_plaintext(path, value.type_id(), &value.serialize());
            }
        }
        //= structured-encryption/footer.md#footer-verification
        //# The footer is verified before it's record is decrypted.
        keys.verify_tag(&record.hash(), &footer.tag)?;
        if let Some(signature) = &footer.signature {
            record.verify(materials.verifying_key.as_ref(), signature)?;
        }

        // Verified: decrypt every encrypted attribute into a new map, then swap them in.
        let mut decrypted = Vec::new();
        let mut offset = 0u32;
        for ((path, name), legend) in signed.iter().zip(&header.legend) {
            if *legend != LEGEND_ENCRYPT {
                continue;
            }
            let Some(AttributeValue::B(stored)) = item.get(name) else {
                return Err(ItemError::DecryptionFailed);
            };
            let (type_id, plaintext) = keys.decrypt_attribute(offset, path, stored)?;
            offset += 1;
            decrypted.push((name.clone(), AttributeValue::deserialize(type_id, &plaintext)?));
        }
        item.extend(decrypted);
        Ok(item)
    }
}

/// Removes a `B` attribute the item must hold.
fn take_binary(item: &mut Item, name: &'static str) -> Result<Vec<u8>, ItemError> {
    match item.remove(name) {
        Some(AttributeValue::B(bytes)) => Ok(bytes),
        Some(_) => Err(ItemError::Malformed("the header or footer attribute is not binary")),
        None => Err(ItemError::InvalidItem(format!(
            "the item has no {name} attribute: it is not an encrypted item"
        ))),
    }
}
