//! The header (`aws_dbe_head`) and footer (`aws_dbe_foot`) attribute values, written and
//! parsed side by side (spec `structured-encryption/header.md` and `footer.md`).
//!
//! Parsing never panics and never allocates from a declared length; it accepts only what
//! [`ItemHeader::encode`] and [`ItemFooter::encode`] write, so a parsed value re-encodes to
//! the same bytes.

use crate::codec::{put_u16, put_u16_prefixed, Reader};
use crate::item::config::ItemSuite;
use crate::item::ItemError;
use crate::materials::{EncryptedDataKey, EncryptionContext};

/// Length of the message id.
pub const MESSAGE_ID_LEN_BYTES: usize = 32;
/// Length of the header commitment.
pub const COMMITMENT_LEN_BYTES: usize = 32;
/// Length of the footer's HMAC-SHA384 tag.
pub const TAG_LEN_BYTES: usize = 48;
/// Length of the footer's ECDSA P-384 signature (`r || s`, 48 bytes each).
pub const SIGNATURE_LEN_BYTES: usize = 96;

/// Legend byte of an `ENCRYPT_AND_SIGN` attribute.
pub const LEGEND_ENCRYPT: u8 = b'e';
/// Legend byte of a `SIGN_ONLY` attribute.
pub const LEGEND_SIGN: u8 = b's';
/// Legend byte of a `SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT` attribute.
pub const LEGEND_CONTEXT: u8 = b'c';

/// Header format version 1 (no context attributes) and 2 (some).
pub const VERSION_1: u8 = 0x01;
/// See [`VERSION_1`].
pub const VERSION_2: u8 = 0x02;

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemHeader {
    /// 1, or 2 when some attribute is `SIGN_AND_INCLUDE_IN_ENCRYPTION_CONTEXT`.
    pub version: u8,
    /// The suite (from the flavor byte).
    pub suite: ItemSuite,
    /// The random per-item id.
    pub message_id: [u8; MESSAGE_ID_LEN_BYTES],
    /// One byte per signed attribute in canonical-path order: `e`, `s` or `c`.
    pub legend: Vec<u8>,
    /// The stored encryption context (the materials' context minus the required keys).
    pub encryption_context: EncryptionContext,
    /// The encrypted data keys (1 to 255).
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// HMAC-SHA384 of the partial header under the commit key, first 32 bytes.
    pub commitment: [u8; COMMITMENT_LEN_BYTES],
}

impl ItemHeader {
    /// The partial header: everything but the commitment.
    ///
    /// # Errors
    /// [`ItemError::InvalidItem`] if a field does not fit its length prefix (legend over
    /// 65,535 attributes, more than 255 data keys or 65,535 context pairs, long strings).
    pub fn encode_partial(&self) -> Result<Vec<u8>, ItemError> {
        let too_long =
            |what: &str| ItemError::InvalidItem(format!("{what} too long for the header"));
        let mut out = Vec::with_capacity(256);
        out.push(self.version);
        out.push(self.suite.flavor());
        out.extend_from_slice(&self.message_id);
        put_u16_prefixed(&mut out, &self.legend).map_err(|_| too_long("legend"))?;
        let pairs = u16::try_from(self.encryption_context.len())
            .map_err(|_| too_long("encryption context"))?;
        put_u16(&mut out, pairs);
        // `String`'s order is UTF-8 byte order, as the spec requires.
        for (k, v) in &self.encryption_context {
            put_u16_prefixed(&mut out, k.as_bytes())
                .and_then(|()| put_u16_prefixed(&mut out, v.as_bytes()))
                .map_err(|_| too_long("encryption context entry"))?;
        }
        let keys =
            u8::try_from(self.encrypted_data_keys.len()).ok().filter(|n| *n > 0).ok_or_else(
                || ItemError::InvalidItem("an item needs 1 to 255 encrypted data keys".into()),
            )?;
        out.push(keys);
        for edk in &self.encrypted_data_keys {
            put_u16_prefixed(&mut out, edk.provider_id.as_bytes())
                .and_then(|()| put_u16_prefixed(&mut out, &edk.provider_info))
                .and_then(|()| put_u16_prefixed(&mut out, &edk.ciphertext))
                .map_err(|_| too_long("encrypted data key"))?;
        }
        Ok(out)
    }

    /// The full header value: partial header and commitment.
    ///
    /// # Errors
    /// As [`ItemHeader::encode_partial`].
    pub fn encode(&self) -> Result<Vec<u8>, ItemError> {
        let mut out = self.encode_partial()?;
        out.extend_from_slice(&self.commitment);
        Ok(out)
    }

    /// Parses a full header value, which must fill `bytes` exactly.
    ///
    /// # Errors
    /// [`ItemError::Malformed`] naming the first bad field.
    pub fn parse(bytes: &[u8]) -> Result<Self, ItemError> {
        let mut r = Reader::new(bytes);
        let short = |_| ItemError::Malformed("truncated header");
        let version = r.u8().map_err(short)?;
        if version != VERSION_1 && version != VERSION_2 {
            return Err(ItemError::Malformed("unknown header version"));
        }
        let suite = ItemSuite::from_flavor(r.u8().map_err(short)?)
            .ok_or(ItemError::Malformed("unknown header flavor"))?;
        let message_id = r.array().map_err(short)?;
        let legend = r.u16_prefixed().map_err(short)?.to_vec();
        if !legend.iter().all(|b| matches!(*b, LEGEND_ENCRYPT | LEGEND_SIGN | LEGEND_CONTEXT)) {
            return Err(ItemError::Malformed("unknown legend byte"));
        }
        // Version 2 exactly when some attribute is in the encryption context.
        if (version == VERSION_2) != legend.contains(&LEGEND_CONTEXT) {
            return Err(ItemError::Malformed("header version does not match its legend"));
        }
        let mut encryption_context = EncryptionContext::new();
        let mut previous: Option<String> = None;
        for _ in 0..r.u16().map_err(short)? {
            let key = utf8(r.u16_prefixed().map_err(short)?)?;
            let value = utf8(r.u16_prefixed().map_err(short)?)?;
            if previous.as_ref().is_some_and(|p| p.as_bytes() >= key.as_bytes()) {
                return Err(ItemError::Malformed("encryption context keys out of order"));
            }
            previous = Some(key.clone());
            encryption_context.insert(key, value);
        }
        let count = r.u8().map_err(short)?;
        if count == 0 {
            return Err(ItemError::Malformed("no encrypted data keys"));
        }
        let mut encrypted_data_keys = Vec::new();
        for _ in 0..count {
            let provider_id = utf8(r.u16_prefixed().map_err(short)?)?;
            let provider_info = r.u16_prefixed().map_err(short)?.to_vec();
            let ciphertext = r.u16_prefixed().map_err(short)?.to_vec();
            encrypted_data_keys.push(EncryptedDataKey { provider_id, provider_info, ciphertext });
        }
        let commitment = r.array().map_err(short)?;
        if !r.is_empty() {
            return Err(ItemError::Malformed("trailing bytes after the header"));
        }
        Ok(Self {
            version,
            suite,
            message_id,
            legend,
            encryption_context,
            encrypted_data_keys,
            commitment,
        })
    }
}

/// A parsed footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFooter {
    /// HMAC-SHA384 of the canonical hash under the item's MAC key.
    pub tag: [u8; TAG_LEN_BYTES],
    /// ECDSA P-384 signature (`r || s`) of the canonical record, for the signed suite.
    pub signature: Option<[u8; SIGNATURE_LEN_BYTES]>,
}

impl ItemFooter {
    /// The footer value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.tag.to_vec();
        if let Some(signature) = &self.signature {
            out.extend_from_slice(signature);
        }
        out
    }

    /// Parses a footer for a header of `suite`; it must fill `bytes` exactly.
    ///
    /// # Errors
    /// [`ItemError::Malformed`] if the length does not fit the suite.
    pub fn parse(bytes: &[u8], suite: ItemSuite) -> Result<Self, ItemError> {
        let signed = suite == ItemSuite::EcdsaP384HmacSha384;
        let expected = TAG_LEN_BYTES + if signed { SIGNATURE_LEN_BYTES } else { 0 };
        if bytes.len() != expected {
            return Err(ItemError::Malformed("footer length does not fit the suite"));
        }
        let mut r = Reader::new(bytes);
        let short = |_| ItemError::Malformed("truncated footer");
        let tag = r.array().map_err(short)?;
        let signature = if signed { Some(r.array().map_err(short)?) } else { None };
        Ok(Self { tag, signature })
    }
}

fn utf8(bytes: &[u8]) -> Result<String, ItemError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ItemError::Malformed("string is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> ItemHeader {
        ItemHeader {
            version: VERSION_1,
            suite: ItemSuite::EcdsaP384HmacSha384,
            message_id: [7; 32],
            legend: b"se".to_vec(),
            encryption_context: [("a".to_string(), "b".to_string())].into_iter().collect(),
            encrypted_data_keys: vec![EncryptedDataKey {
                provider_id: "p".into(),
                provider_info: vec![1],
                ciphertext: vec![2, 3],
            }],
            commitment: [9; 32],
        }
    }

    #[test]
    fn header_layout_is_the_spec_layout() {
        let bytes = header().encode().unwrap();
        let mut expected = vec![1, 1];
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(&[0, 2, b's', b'e', 0, 1, 0, 1, b'a', 0, 1, b'b']);
        expected.extend_from_slice(&[1, 0, 1, b'p', 0, 1, 1, 0, 2, 2, 3]);
        expected.extend_from_slice(&[9; 32]);
        assert_eq!(bytes, expected);
        assert_eq!(ItemHeader::parse(&bytes).unwrap(), header());
    }

    #[test]
    fn header_parse_rejects_bad_fields() {
        let good = header().encode().unwrap();
        for cut in 0..good.len() {
            assert!(ItemHeader::parse(&good[..cut]).is_err());
        }
        let mut extra = good.clone();
        extra.push(0);
        assert!(ItemHeader::parse(&extra).is_err());
        for (index, byte) in [(0, 3u8), (1, 2), (36, b'x'), (0, 2)] {
            let mut bad = good.clone();
            bad[index] = byte;
            assert!(ItemHeader::parse(&bad).is_err(), "byte {index} = {byte}");
        }
    }

    #[test]
    fn footer_length_follows_the_suite() {
        let footer = ItemFooter { tag: [1; 48], signature: Some([2; 96]) };
        let bytes = footer.encode();
        assert_eq!(bytes.len(), 144);
        assert_eq!(ItemFooter::parse(&bytes, ItemSuite::EcdsaP384HmacSha384).unwrap(), footer);
        assert!(ItemFooter::parse(&bytes, ItemSuite::HmacSha384).is_err());
        assert!(ItemFooter::parse(&bytes[..48], ItemSuite::HmacSha384)
            .unwrap()
            .signature
            .is_none());
    }
}
