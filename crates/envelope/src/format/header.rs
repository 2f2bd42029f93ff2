//! The message header (spec `data-format/message-header.md`) and the encryption
//! context serialisation (spec `framework/structures.md#serialization`).

use std::fmt;

use crate::codec::{invalid, put_u16, put_u16_prefixed, put_u32, within, Codec, ReadError, Reader};
use crate::error::{Error, Malformed};
use crate::materials::{EncryptedDataKey, EncryptionContext};
use crate::suite::{
    AlgorithmSuite, MessageFormatVersion, COMMITMENT_LEN_BYTES, IV_LEN_BYTES,
    MESSAGE_ID_V1_LEN_BYTES, MESSAGE_ID_V2_LEN_BYTES, TAG_LEN_BYTES,
};

/// The version byte of a version 1.0 header.
pub const VERSION_1: u8 = 0x01;
/// The version byte of a version 2.0 header.
pub const VERSION_2: u8 = 0x02;
/// The only message type: customer authenticated encrypted data (v1 headers only).
pub const TYPE_CUSTOMER_AED: u8 = 0x80;

/// Parsing limits chosen by the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderLimits {
    /// Reject headers with more encrypted data keys than this (spec
    /// `client-apis/client.md#maximum-number-of-encrypted-data-keys`). `None`: no limit.
    pub max_encrypted_data_keys: Option<usize>,
}

/// The body content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// One AES-GCM block for the whole plaintext (`0x01`, decrypt only).
    NonFramed,
    /// A sequence of frames (`0x02`).
    Framed,
}

impl ContentType {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            ContentType::NonFramed => 0x01,
            ContentType::Framed => 0x02,
        }
    }
}

/// The message id: 16 bytes in version 1 messages, 32 bytes in version 2.
#[derive(Clone, PartialEq, Eq)]
pub enum MessageId {
    /// A version 1 message id.
    V1([u8; MESSAGE_ID_V1_LEN_BYTES]),
    /// A version 2 message id (also the HKDF salt).
    V2([u8; MESSAGE_ID_V2_LEN_BYTES]),
}

impl MessageId {
    /// The id bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            MessageId::V1(b) => b,
            MessageId::V2(b) => b,
        }
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MessageId(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A parsed or to-be-written message header: header body plus header authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    /// The algorithm suite; its message format decides the header version.
    pub suite: &'static AlgorithmSuite,
    /// The message id.
    pub message_id: MessageId,
    /// The encryption context stored in the header (without required-only keys).
    pub encryption_context: EncryptionContext,
    /// The encrypted data keys (at least one).
    pub encrypted_data_keys: Vec<EncryptedDataKey>,
    /// Framed or non-framed body.
    pub content_type: ContentType,
    /// Plaintext bytes per regular frame; 0 for non-framed bodies.
    pub frame_length: u32,
    /// The commit key (v2 algorithm suite data); `None` in version 1 headers.
    pub commitment: Option<[u8; COMMITMENT_LEN_BYTES]>,
    /// The header authentication IV (written in version 1 headers only).
    pub header_iv: [u8; IV_LEN_BYTES],
    /// The header authentication tag.
    pub header_tag: [u8; TAG_LEN_BYTES],
}

/// A header read from the front of some input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedHeader {
    /// The header.
    pub header: MessageHeader,
    /// Length of the header body (the bytes authenticated by the header tag).
    pub body_len: usize,
    /// Length of the whole header, authentication included.
    pub len: usize,
}

impl MessageHeader {
    /// The message format version.
    pub fn version(&self) -> MessageFormatVersion {
        self.suite.message_format
    }

    /// Appends the header body.
    ///
    /// # Errors
    /// [`Error::EncryptionContext`] or [`Error::Keyring`] if a field does not fit its
    /// length prefix; [`Error::ApiMisuse`] if the header is inconsistent with its suite.
    pub fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let v2 = self.version() == MessageFormatVersion::V2;
        let id_ok =
            matches!((&self.message_id, v2), (MessageId::V1(_), false) | (MessageId::V2(_), true));
        if !id_ok || self.commitment.is_some() != v2 {
            return Err(Error::ApiMisuse("header fields do not match the suite's format".into()));
        }
        let aad = serialize_encryption_context(&self.encryption_context)?;
        let edk_count = u16::try_from(self.encrypted_data_keys.len())
            .map_err(|_| Error::Keyring("more than 65535 encrypted data keys".into()))?;
        if edk_count == 0 {
            return Err(Error::ApiMisuse("a message needs at least one encrypted data key".into()));
        }
        out.push(if v2 { VERSION_2 } else { VERSION_1 });
        if !v2 {
            out.push(TYPE_CUSTOMER_AED);
        }
        put_u16(out, self.suite.id);
        out.extend_from_slice(self.message_id.as_bytes());
        put_u16_prefixed(out, &aad).map_err(|_| {
            Error::EncryptionContext("the serialized encryption context exceeds 65535 bytes".into())
        })?;
        put_u16(out, edk_count);
        for edk in &self.encrypted_data_keys {
            edk.encode(out)?;
        }
        out.push(self.content_type.to_u8());
        if !v2 {
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.push(IV_LEN_BYTES as u8);
        }
        put_u32(out, self.frame_length);
        if let Some(commitment) = &self.commitment {
            out.extend_from_slice(commitment);
        }
        Ok(())
    }

    /// Appends the header authentication (IV in version 1, then the tag).
    pub fn encode_auth(&self, out: &mut Vec<u8>) {
        if self.version() == MessageFormatVersion::V1 {
            out.extend_from_slice(&self.header_iv);
        }
        out.extend_from_slice(&self.header_tag);
    }

    /// Appends the whole header.
    ///
    /// # Errors
    /// As [`MessageHeader::encode_body`].
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.encode_body(out)?;
        self.encode_auth(out);
        Ok(())
    }

    /// Reads a header from the front of `input`.
    ///
    /// # Errors
    /// [`ReadError::Incomplete`] if `input` ends inside the header; otherwise the
    /// reason the header is malformed, names an unknown suite, or has too many keys.
    pub fn parse(input: &[u8], limits: &HeaderLimits) -> Result<ParsedHeader, ReadError> {
        let mut r = Reader::new(input);
        let version = r.u8()?;
        let v2 = match version {
            VERSION_1 => false,
            VERSION_2 => true,
            // "AY" (v1) and "Ag".."Aj" (v2) start the base64 encoding of a message.
            b'A' => {
                let next = r.u8()?;
                if next == b'Y' || (b'g'..=b'j').contains(&next) {
                    return Err(invalid("version (the message looks base64-encoded)"));
                }
                return Err(Malformed::UnknownValue("version", u32::from(version)).into());
            }
            other => return Err(Malformed::UnknownValue("version", u32::from(other)).into()),
        };
        if !v2 {
            let message_type = r.u8()?;
            if message_type != TYPE_CUSTOMER_AED {
                return Err(Malformed::UnknownValue("type", u32::from(message_type)).into());
            }
        }
        let suite_id = r.u16()?;
        let suite = AlgorithmSuite::by_id(suite_id).ok_or(ReadError::UnsupportedSuite(suite_id))?;
        let expected = if v2 { MessageFormatVersion::V2 } else { MessageFormatVersion::V1 };
        if suite.message_format != expected {
            return Err(invalid("algorithm suite for this message format version"));
        }
        let message_id = if v2 { MessageId::V2(r.array()?) } else { MessageId::V1(r.array()?) };

        let aad_len = r.u16()?;
        let encryption_context = deserialize_encryption_context(r.bytes(usize::from(aad_len))?)?;

        let edk_count = r.u16()?;
        if edk_count == 0 {
            return Err(invalid("encrypted data key count"));
        }
        if let Some(max) = limits.max_encrypted_data_keys {
            if usize::from(edk_count) > max {
                return Err(ReadError::TooManyEncryptedDataKeys(max));
            }
        }
        let mut encrypted_data_keys = Vec::new();
        for _ in 0..edk_count {
            encrypted_data_keys.push(EncryptedDataKey::read(&mut r)?);
        }

        let content_type = match r.u8()? {
            0x01 => ContentType::NonFramed,
            0x02 => ContentType::Framed,
            other => return Err(Malformed::UnknownValue("content type", u32::from(other)).into()),
        };
        if !v2 {
            if r.array::<4>()? != [0, 0, 0, 0] {
                return Err(invalid("reserved bytes"));
            }
            if usize::from(r.u8()?) != IV_LEN_BYTES {
                return Err(invalid("iv length"));
            }
        }
        let frame_length = r.u32()?;
        match content_type {
            ContentType::NonFramed if frame_length != 0 => {
                return Err(invalid("frame length (non-framed content needs 0)"))
            }
            ContentType::Framed if frame_length == 0 => return Err(invalid("frame length")),
            _ => {}
        }
        let commitment = if v2 { Some(r.array()?) } else { None };
        let body_len = r.position();

        let header_iv = if v2 { [0; IV_LEN_BYTES] } else { r.array()? };
        let header_tag = r.array()?;
        let header = MessageHeader {
            suite,
            message_id,
            encryption_context,
            encrypted_data_keys,
            content_type,
            frame_length,
            commitment,
            header_iv,
            header_tag,
        };
        Ok(ParsedHeader { header, body_len, len: r.position() })
    }
}

impl<'a> Codec<'a> for EncryptedDataKey {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let too_long = |_| Error::Keyring("an encrypted data key field exceeds 65535 bytes".into());
        let start = out.len();
        let result = put_u16_prefixed(out, self.provider_id.as_bytes())
            .and_then(|()| put_u16_prefixed(out, &self.provider_info))
            .and_then(|()| put_u16_prefixed(out, &self.ciphertext))
            .map_err(too_long);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, ReadError> {
        let provider_id = std::str::from_utf8(r.u16_prefixed()?)
            .map_err(|_| invalid("key provider id (not UTF-8)"))?
            .to_owned();
        let provider_info = r.u16_prefixed()?.to_vec();
        let ciphertext = r.u16_prefixed()?.to_vec();
        Ok(EncryptedDataKey { provider_id, provider_info, ciphertext })
    }
}

/// Serialises an encryption context (spec `framework/structures.md#serialization`):
/// nothing for an empty context, else a `u16` pair count and the pairs sorted by the
/// UTF-8 bytes of their keys, each key and value prefixed by its `u16` length.
///
/// # Errors
/// [`Error::EncryptionContext`] if there are more than 65,535 pairs or a key or value
/// is longer than 65,535 bytes.
pub fn serialize_encryption_context(ec: &EncryptionContext) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    if ec.is_empty() {
        return Ok(out);
    }
    let count = u16::try_from(ec.len())
        .map_err(|_| Error::EncryptionContext("more than 65535 encryption context pairs".into()))?;
    put_u16(&mut out, count);
    // The context iterates in the byte order of its keys' UTF-8, as the format requires.
    for (k, v) in ec {
        put_u16_prefixed(&mut out, k.as_bytes())
            .and_then(|()| put_u16_prefixed(&mut out, v.as_bytes()))
            .map_err(|_| {
                Error::EncryptionContext(
                    "an encryption context key or value exceeds 65535 bytes".into(),
                )
            })?;
    }
    Ok(out)
}

/// Parses a serialised encryption context that fills `bytes` exactly (the inverse of
/// [`serialize_encryption_context`]). Pairs need not be sorted; duplicate keys and
/// non-UTF-8 strings are rejected, and so is a pair count of 0.
///
/// # Errors
/// [`ReadError::Malformed`] if the bytes are not a serialised encryption context.
pub fn deserialize_encryption_context(bytes: &[u8]) -> Result<EncryptionContext, ReadError> {
    if bytes.is_empty() {
        return Ok(EncryptionContext::new());
    }
    let mut r = Reader::new(bytes);
    let parse = |r: &mut Reader<'_>| -> Result<EncryptionContext, ReadError> {
        let count = r.u16()?;
        if count == 0 {
            return Err(invalid("encryption context (pair count 0)"));
        }
        let mut pairs = Vec::new();
        for _ in 0..count {
            let key = utf8(r.u16_prefixed()?)?;
            let value = utf8(r.u16_prefixed()?)?;
            pairs.push((key, value));
        }
        r.expect_empty("encryption context (trailing bytes)")?;
        // Collected in one sort (pairs in any order cost O(n log n)); a key seen twice
        // leaves fewer pairs than the count.
        let ec: EncryptionContext = pairs.into_iter().collect();
        if ec.len() != usize::from(count) {
            return Err(invalid("encryption context (duplicate key)"));
        }
        Ok(ec)
    };
    parse(&mut r).map_err(|e| within("encryption context", e))
}

fn utf8(bytes: &[u8]) -> Result<String, ReadError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| invalid("encryption context (not UTF-8)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, DEFAULT_SUITE};

    fn edk() -> EncryptedDataKey {
        EncryptedDataKey {
            provider_id: "p".into(),
            provider_info: b"info".to_vec(),
            ciphertext: vec![7; 20],
        }
    }

    fn header_v1() -> MessageHeader {
        MessageHeader {
            suite: &AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384,
            message_id: MessageId::V1([9; 16]),
            encryption_context: [("b".to_string(), "2".to_string()), ("a".into(), "1".into())]
                .into_iter()
                .collect(),
            encrypted_data_keys: vec![edk()],
            content_type: ContentType::Framed,
            frame_length: 4096,
            commitment: None,
            header_iv: [0; 12],
            header_tag: [5; 16],
        }
    }

    #[test]
    fn v1_header_matches_the_spec_layout_and_round_trips() {
        let h = header_v1();
        let mut out = Vec::new();
        h.encode(&mut out).unwrap();
        let expected_prefix = [0x01, 0x80, 0x03, 0x78];
        assert_eq!(out[..4], expected_prefix);
        // AAD: length 14 = count(2) + 2 * (2 + 1 + 2 + 1); keys sorted.
        assert_eq!(out[20..24], [0, 14, 0, 2]);
        assert_eq!(out[24..30], [0, 1, b'a', 0, 1, b'1']);
        let parsed = MessageHeader::parse(&out, &HeaderLimits::default()).unwrap();
        assert_eq!(parsed.header, h);
        assert_eq!(parsed.len, out.len());
        assert_eq!(parsed.body_len, out.len() - 28);
    }

    #[test]
    fn v2_header_round_trips_and_empty_context_is_zero_length_aad() {
        let h = MessageHeader {
            suite: DEFAULT_SUITE,
            message_id: MessageId::V2([1; 32]),
            encryption_context: EncryptionContext::new(),
            commitment: Some([3; 32]),
            ..header_v1()
        };
        let mut out = Vec::new();
        h.encode(&mut out).unwrap();
        assert_eq!(out[0], 0x02);
        assert_eq!(out[3 + 32..3 + 34], [0, 0]);
        let parsed = MessageHeader::parse(&out, &HeaderLimits::default()).unwrap();
        assert_eq!(parsed.header, h);
        assert_eq!(parsed.len, out.len());
        assert_eq!(parsed.body_len, out.len() - 16);
    }

    #[test]
    fn every_strict_prefix_is_incomplete_with_a_growing_need() {
        let mut out = Vec::new();
        header_v1().encode(&mut out).unwrap();
        for n in 0..out.len() {
            match MessageHeader::parse(&out[..n], &HeaderLimits::default()) {
                Err(ReadError::Incomplete { needed }) => assert!(needed > n && needed <= out.len()),
                other => panic!("prefix {n}: {other:?}"),
            }
        }
    }

    #[test]
    fn too_many_encrypted_data_keys_is_rejected_as_soon_as_counted() {
        let mut h = header_v1();
        h.encrypted_data_keys = vec![edk(), edk(), edk()];
        let mut out = Vec::new();
        h.encode(&mut out).unwrap();
        let limits = HeaderLimits { max_encrypted_data_keys: Some(2) };
        // Cut right after the EDK count: the limit applies before the keys arrive.
        let count_end = 20 + 2 + 14 + 2;
        assert_eq!(
            MessageHeader::parse(&out[..count_end], &limits),
            Err(ReadError::TooManyEncryptedDataKeys(2))
        );
        let limits = HeaderLimits { max_encrypted_data_keys: Some(3) };
        assert!(MessageHeader::parse(&out, &limits).is_ok());
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let mut good = Vec::new();
        header_v1().encode(&mut good).unwrap();
        let parse = |b: &[u8]| MessageHeader::parse(b, &HeaderLimits::default());
        let mut b = good.clone();
        b[1] = 0x81;
        assert!(matches!(parse(&b), Err(ReadError::Malformed(_))));
        let mut b = good.clone();
        b[2..4].copy_from_slice(&0x0578u16.to_be_bytes());
        assert!(matches!(parse(&b), Err(ReadError::Malformed(_))));
        let mut b = good.clone();
        b[2..4].copy_from_slice(&0x0001u16.to_be_bytes());
        assert_eq!(parse(&b), Err(ReadError::UnsupportedSuite(1)));
        assert!(
            matches!(parse(b"AYABeJ"), Err(ReadError::Malformed(Malformed::InvalidField(f))) if f.contains("base64"))
        );
        // Duplicate key inside the AAD.
        let mut b = good.clone();
        b[24..30].copy_from_slice(&[0, 1, b'b', 0, 1, b'1']);
        assert!(matches!(parse(&b), Err(ReadError::Malformed(_))));
        // Reserved bytes.
        let reserved = good.len() - 28 - 4 - 1 - 4;
        let mut b = good.clone();
        b[reserved] = 1;
        assert_eq!(parse(&b), Err(invalid("reserved bytes")));
        // Empty context written as a zero pair count is not allowed.
        let mut h = header_v1();
        h.encryption_context.clear();
        let mut b = Vec::new();
        h.encode(&mut b).unwrap();
        let mut bad = b[..20].to_vec();
        bad.extend_from_slice(&[0, 2, 0, 0]);
        bad.extend_from_slice(&b[22..]);
        assert!(matches!(parse(&bad), Err(ReadError::Malformed(_))));
    }

    #[test]
    fn encryption_context_serialisation_sorts_by_utf8_bytes() {
        let ec: EncryptionContext = [("\u{e000}", "x"), ("\u{10000}", "y"), ("z", "w")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let bytes = serialize_encryption_context(&ec).unwrap();
        assert_eq!(&bytes[..5], &[0, 3, 0, 1, b'z']);
        assert_eq!(&bytes[5..10], &[0, 1, b'w', 0, 3]);
        assert_eq!(&bytes[10..13], "\u{e000}".as_bytes());
        assert_eq!(deserialize_encryption_context(&bytes).unwrap(), ec);
        assert!(serialize_encryption_context(&EncryptionContext::new()).unwrap().is_empty());
    }

    #[test]
    fn encryption_context_parsing_takes_any_order_and_refuses_duplicate_keys() {
        let pairs = |keys: &[&str]| {
            let mut out = vec![0, u8::try_from(keys.len()).unwrap()];
            for k in keys {
                out.extend_from_slice(&[0, u8::try_from(k.len()).unwrap()]);
                out.extend_from_slice(k.as_bytes());
                out.extend_from_slice(&[0, 1, b'v']);
            }
            out
        };
        let ec = deserialize_encryption_context(&pairs(&["c", "a", "b"])).unwrap();
        assert_eq!(ec.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(serialize_encryption_context(&ec).unwrap(), pairs(&["a", "b", "c"]));
        for dup in [&["a", "a"][..], &["b", "a", "b"], &["a", "b", "c", "a"]] {
            assert!(matches!(
                deserialize_encryption_context(&pairs(dup)),
                Err(ReadError::Malformed(Malformed::InvalidField(f))) if f.contains("duplicate key")
            ));
        }
    }
}
