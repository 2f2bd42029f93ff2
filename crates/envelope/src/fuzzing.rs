//! Entry points for fuzzers and property tests. Not a stable API.
//!
//! Each takes arbitrary bytes and must never panic, whatever they hold. The cargo-fuzz
//! targets in `fuzz/` call these, and the proptests in `tests/` feed them random and
//! mutated messages on stable, so they cannot rot while fuzzing needs nightly.

use crate::codec::Codec;
use crate::error::Error;
use crate::format::{self, Footer, HeaderLimits, MessageHeader};

/// Parses a whole message (header, body, footer) without keys. On success the message
/// is serialised again and must reproduce the input when its encryption context pairs
/// were sorted; returns the parsed length.
///
/// # Errors
/// Whatever [`format::parse_message`] rejects.
pub fn parse_message(data: &[u8]) -> Result<usize, Error> {
    let limits = HeaderLimits { max_encrypted_data_keys: Some(1_000) };
    let parsed = format::parse_message(data, &limits)?;
    let again = parsed.encode()?;
    let sorted = {
        let mut v = Vec::new();
        parsed.header.encode_body(&mut v).is_ok()
            && data.get(..parsed.header_body_len) == Some(v.as_slice())
    };
    // Only a message with unsorted context pairs may re-encode differently.
    assert!(!sorted || again == data, "re-encoding a parsed message changed it");
    Ok(data.len())
}

/// Parses a header from the front of `data`, as a streaming decryptor would, and checks
/// that every shorter prefix asks for more bytes instead of failing differently.
///
/// # Errors
/// Whatever [`MessageHeader::parse`] rejects.
pub fn parse_header(data: &[u8]) -> Result<usize, Error> {
    let limits = HeaderLimits::default();
    match MessageHeader::parse(data, &limits) {
        Ok(parsed) => Ok(parsed.len),
        Err(crate::codec::ReadError::Incomplete { needed }) => {
            assert!(needed > data.len(), "an incomplete header must need more bytes");
            Err(crate::error::Malformed::Truncated.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Parses a footer that must fill `data` exactly.
///
/// # Errors
/// Whatever [`Footer::read_bytes`] rejects.
pub fn parse_footer(data: &[u8]) -> Result<usize, Error> {
    Footer::read_bytes(data).map(|f| f.signature.len()).map_err(Error::from)
}

/// Parses an item header attribute value; on success it must re-encode to the input.
///
/// # Errors
/// Whatever [`crate::item::header::ItemHeader::parse`] rejects.
pub fn parse_item_header(data: &[u8]) -> Result<usize, crate::item::ItemError> {
    let header = crate::item::header::ItemHeader::parse(data)?;
    assert_eq!(header.encode()?, data, "re-encoding a parsed item header changed it");
    Ok(header.legend.len())
}

/// Parses an item footer attribute value for either suite (chosen by the first byte).
///
/// # Errors
/// Whatever [`crate::item::header::ItemFooter::parse`] rejects.
pub fn parse_item_footer(data: &[u8]) -> Result<usize, crate::item::ItemError> {
    use crate::item::ItemSuite;
    let suite =
        if data.len() > 48 { ItemSuite::EcdsaP384HmacSha384 } else { ItemSuite::HmacSha384 };
    let footer = crate::item::header::ItemFooter::parse(data, suite)?;
    assert_eq!(footer.encode(), data, "re-encoding a parsed item footer changed it");
    Ok(data.len())
}

/// Parses a serialised attribute value: two bytes of type id, then the value. On success
/// it must serialise back to the input.
///
/// # Errors
/// Whatever [`crate::item::AttributeValue::deserialize`] rejects.
pub fn parse_item_value(data: &[u8]) -> Result<usize, crate::item::ItemError> {
    let [a, b, rest @ ..] = data else {
        return Err(crate::item::ItemError::Malformed("no type id"));
    };
    let type_id = u16::from_be_bytes([*a, *b]);
    let value = crate::item::AttributeValue::deserialize(type_id, rest)?;
    assert_eq!(value.type_id(), type_id);
    assert_eq!(value.serialize(), rest, "re-serialising a parsed value changed it");
    Ok(rest.len())
}
