//! Encrypting one item (spec `dynamodb-encryption-client/encrypt-item.md` and
//! `structured-encryption/encrypt-path-structure.md`).

use crate::cmm::EncryptionMaterialsRequest;
use crate::item::config::CryptoAction;
use crate::item::context::{item_context, serialize_context};
use crate::item::crypto::{canonical_path, CanonicalRecord, ItemKeys};
use crate::item::header::{
    ItemFooter, ItemHeader, LEGEND_CONTEXT, LEGEND_ENCRYPT, LEGEND_SIGN, MESSAGE_ID_LEN_BYTES,
    VERSION_1, VERSION_2,
};
use crate::item::value::{AttributeValue, Item};
use crate::item::{
    ItemEncryptor, ItemError, FOOTER_ATTRIBUTE, HEADER_ATTRIBUTE, RESERVED_ATTRIBUTE_PREFIX,
};
use crate::materials::EncryptionContext;
use crate::suite::CommitmentPolicy;

/// One signed attribute, in canonical-path order.
struct Signed {
    path: Vec<u8>,
    name: String,
    action: CryptoAction,
}

impl ItemEncryptor {
    pub(crate) async fn encrypt_parsed(&self, mut item: Item) -> Result<Item, ItemError> {
        let config = &self.config;
        //# This Crypto List MUST NOT already contain data located at the header index
        //# or the footer index.
        if let Some(name) = item.keys().find(|n| n.starts_with(RESERVED_ATTRIBUTE_PREFIX)) {
            return Err(ItemError::InvalidItem(format!(
                "attribute {name:?} uses the reserved prefix {RESERVED_ATTRIBUTE_PREFIX}"
            )));
        }
        //# This item MUST include an Attribute with a name that matches the
        //# DynamoDB Partition Key Name [...] Otherwise this operation MUST yield an error.
        if let Some(missing) = config.required_attributes().find(|n| !item.contains_key(*n)) {
            return Err(ItemError::InvalidItem(format!(
                "the item has no attribute {missing:?}, which the configuration requires"
            )));
        }

        let table = &config.config().table_name;
        let mut signed = Vec::new();
        for name in item.keys() {
            let action = config.action_of(name)?;
            if action.is_signed() {
                signed.push(Signed {
                    path: canonical_path(table, name),
                    name: name.clone(),
                    action,
                });
            }
        }
        crate::item::value::sort_with(&mut signed, |a, b| a.path.cmp(&b.path));
        let legend: Vec<u8> = signed
            .iter()
            .map(|s| match s.action {
                CryptoAction::EncryptAndSign => LEGEND_ENCRYPT,
                CryptoAction::SignAndIncludeInEncryptionContext => LEGEND_CONTEXT,
                _ => LEGEND_SIGN,
            })
            .collect();
        //# If any Crypto Action is configured as SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT
        //# the Version MUST be 0x02; otherwise, Version MUST be 0x01.
        let version = if config.uses_context_attributes() { VERSION_2 } else { VERSION_1 };
        let context_attributes: Vec<&str> = signed
            .iter()
            .filter(|s| s.action == CryptoAction::SignAndIncludeInEncryptionContext)
            .map(|s| s.name.as_str())
            .collect();
        let context = item_context(config, version, &item, &context_attributes)?;

        // Serialise the values to encrypt once; they also size the request.
        let mut to_encrypt = Vec::new();
        for s in signed.iter().filter(|s| s.action == CryptoAction::EncryptAndSign) {
            // Invariant: every signed name was taken from the item.
            if let Some(value) = item.get(&s.name) {
                to_encrypt.push((value.type_id(), zeroize::Zeroizing::new(value.serialize())));
            }
        }
        //# Max Plaintext Length: This field MUST be the result of the calculation
        //# `encryptedTerminalDataNum * 2 + totalEncryptedTerminalValuesSize`
        let max_plaintext_length = to_encrypt.iter().map(|(_, v)| v.len() as u64 + 2).sum::<u64>();

        let suite = config.config().algorithm_suite;
        let request = EncryptionMaterialsRequest {
            encryption_context: context.for_keyring.clone(),
            commitment_policy: CommitmentPolicy::RequireEncryptRequireDecrypt,
            suite: Some(suite.suite()),
            max_plaintext_length: Some(max_plaintext_length),
            required_encryption_context_keys: context.for_keyring.keys().cloned().collect(),
        };
        let materials = self.cmm.get_encryption_materials(request).await?;
        if materials.suite.id != suite.suite().id {
            return Err(ItemError::Envelope(crate::Error::Keyring(
                "the materials manager changed the algorithm suite".into(),
            )));
        }
        let data_key = materials.plaintext_data_key.as_ref().ok_or_else(|| {
            ItemError::Envelope(crate::Error::Keyring("no plaintext data key".into()))
        })?;

        let mut message_id = [0u8; MESSAGE_ID_LEN_BYTES];
        crate::crypto::fill_random(&mut message_id)?;
        let keys = ItemKeys::derive(data_key.expose_secret(), &message_id)?;

        //# The encryption context field serialized in the header MUST contain all key-value
        //# pairs of the encryption context in the encryption materials that are not included
        //# in the required encryption context keys list.
        let stored: EncryptionContext = materials
            .encryption_context
            .iter()
            .filter(|(k, _)| !materials.required_encryption_context_keys.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut header = ItemHeader {
            version,
            suite,
            message_id,
            legend,
            encryption_context: stored,
            encrypted_data_keys: materials.encrypted_data_keys.clone(),
            commitment: [0; 32],
        };
        header.commitment = keys.commitment(&header.encode_partial()?);
        let header_bytes = header.encode()?;

        let authenticated = authenticated_context(&materials.encryption_context, &context.full)?;
        let mut record = CanonicalRecord::new(&header_bytes, &serialize_context(&authenticated)?);
        let mut plaintexts = to_encrypt.into_iter();
        let mut offset = 0u32;
        for s in &signed {
            if s.action == CryptoAction::EncryptAndSign {
                let Some((type_id, plaintext)) = plaintexts.next() else { break };
                let stored = keys.encrypt_attribute(offset, &s.path, type_id, &plaintext)?;
                offset += 1;
                record.add_encrypted(&s.path, &stored);
                if let Some(mut plaintext) = item.insert(s.name.clone(), AttributeValue::B(stored))
                {
                    zeroize::Zeroize::zeroize(&mut plaintext);
                }
            } else if let Some(value) = item.get(&s.name) {
                record.add_plaintext(&s.path, value.type_id(), &value.serialize());
            }
        }
        let tag = keys.tag(&record.hash());
        let signature = match &materials.signing_key {
            Some(key) => Some(record.sign(key)?),
            None => None,
        };
        if signature.is_some() != (suite.flavor() == 0x01) {
            return Err(ItemError::Envelope(crate::Error::Keyring(
                "the signing key does not match the suite".into(),
            )));
        }
        item.insert(HEADER_ATTRIBUTE.into(), AttributeValue::B(header_bytes));
        item.insert(
            FOOTER_ATTRIBUTE.into(),
            AttributeValue::B(ItemFooter { tag, signature }.encode()),
        );
        Ok(item)
    }
}

/// The context the signature covers: the materials' context plus the item's pairs (which
/// the materials hold already unless the keyring saw only the table's).
pub(crate) fn authenticated_context(
    materials: &EncryptionContext,
    item: &EncryptionContext,
) -> Result<EncryptionContext, ItemError> {
    let mut out = materials.clone();
    for (k, v) in item {
        match out.get(k) {
            Some(existing) if existing != v => {
                return Err(ItemError::Envelope(crate::Error::EncryptionContext(format!(
                    "the materials manager changed the value of {k:?}"
                ))))
            }
            Some(_) => {}
            None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(out)
}
