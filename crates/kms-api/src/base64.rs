//! Base64 (RFC 4648), small and constant-time on the data.
//!
//! Two forms:
//! - standard: alphabet `A-Z a-z 0-9 + /`, padded with `=` to a multiple of four characters
//!   ([`encode`], [`decode`]); KMS blobs, public keys, item attributes, configuration;
//! - URL-safe without padding: `-` and `_` in place of `+` and `/`, no `=` ([`encode_url`],
//!   [`decode_url`]); tokens the server hands out (grant tokens, pagination markers).
//!
//! Decoding is strict, and accepts exactly what the `base64` crate's `STANDARD` and
//! `URL_SAFE_NO_PAD` engines accept (the tests and the fuzz target `base64` compare them):
//! only alphabet characters (no whitespace, no line breaks), the padding a form requires and
//! no other, and zero bits after the last whole byte (so every byte string has exactly one
//! encoding). The empty string is the encoding of no bytes.
//!
//! Decoded bytes can be data keys (a `Plaintext` member), and encoded text carries the same
//! secret. So characters and 6-bit values are mapped to each other with range checks turned
//! into bit masks: no table is indexed by data and no branch depends on it, save the final
//! check that the whole input was valid. The length of the input and where its padding
//! starts are public. A decoding that fails wipes what it had decoded. Both directions make
//! one pass and one allocation of the exact output size (a buffer that never grows leaves no
//! stray copies behind).

use zeroize::Zeroize;

/// The text is not base64 of the expected form. Deliberately says nothing about where or
/// why, as the text may hold a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid base64")]
pub struct DecodeError;

/// The standard base64 of `bytes`, padded with `=`.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    encode_with(bytes.as_ref(), STANDARD)
}

/// The bytes that standard, padded base64 `text` encodes.
///
/// # Errors
///
/// [`DecodeError`] unless `text` is the canonical standard base64 of some bytes.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    decode_with(text.as_ref(), STANDARD)
}

/// The URL-safe base64 of `bytes`, without padding.
pub fn encode_url(bytes: impl AsRef<[u8]>) -> String {
    encode_with(bytes.as_ref(), URL_SAFE)
}

/// The bytes that URL-safe, unpadded base64 `text` encodes.
///
/// # Errors
///
/// [`DecodeError`] unless `text` is the canonical URL-safe unpadded base64 of some bytes.
pub fn decode_url(text: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    decode_with(text.as_ref(), URL_SAFE)
}

/// The two characters that differ between alphabets, and whether `=` pads.
#[derive(Clone, Copy)]
struct Alphabet {
    char_62: u8,
    char_63: u8,
    padded: bool,
}

const STANDARD: Alphabet = Alphabet { char_62: b'+', char_63: b'/', padded: true };
const URL_SAFE: Alphabet = Alphabet { char_62: b'-', char_63: b'_', padded: false };

fn encode_with(bytes: &[u8], alphabet: Alphabet) -> String {
    let groups = bytes.len() / 3;
    let len = match bytes.len() % 3 {
        0 => groups * 4,
        _ if alphabet.padded => groups * 4 + 4,
        rest => groups * 4 + rest + 1,
    };
    let mut out = Vec::with_capacity(len);
    // `acc` holds the `bits` input bits not yet written (and older ones above them).
    let (mut acc, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(char_of((acc >> bits) & 63, alphabet));
        }
    }
    if bits > 0 {
        out.push(char_of((acc << (6 - bits)) & 63, alphabet));
    }
    if alphabet.padded {
        out.resize(len, b'=');
    }
    // Every byte pushed is an ASCII character of the alphabet, so the default is never used.
    String::from_utf8(out).unwrap_or_default()
}

fn decode_with(text: &[u8], alphabet: Alphabet) -> Result<Vec<u8>, DecodeError> {
    let data = if alphabet.padded {
        if text.len() % 4 != 0 {
            return Err(DecodeError);
        }
        // One or two `=` may end the last group; any other `=` is an invalid character below.
        let pad = text.iter().rev().take(2).take_while(|&&c| c == b'=').count();
        &text[..text.len() - pad]
    } else {
        text
    };
    // A last group of one character does not hold a whole byte.
    if data.len() % 4 == 1 {
        return Err(DecodeError);
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + (data.len() % 4).saturating_sub(1));
    // `acc` holds the `bits` decoded bits not yet written; `invalid` collects every
    // character's invalid mask and then the bits after the last whole byte.
    let (mut acc, mut bits, mut invalid) = (0u32, 0u32, 0u32);
    for &c in data {
        let (value, not_in_alphabet) = value_of(c, alphabet);
        invalid |= not_in_alphabet;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    invalid |= acc & ((1 << bits) - 1);
    if invalid != 0 {
        out.zeroize();
        return Err(DecodeError);
    }
    Ok(out)
}

/// All ones if `lo <= x <= hi`, else zero; for values below 2^31, without a branch.
fn mask_in(x: u32, lo: u32, hi: u32) -> u32 {
    // Either difference wraps around (setting the top bit) exactly when x is out of range.
    let outside = (x.wrapping_sub(lo) | hi.wrapping_sub(x)) >> 31;
    outside.wrapping_sub(1)
}

/// The character for the 6-bit `value`.
fn char_of(value: u32, alphabet: Alphabet) -> u8 {
    let v = value;
    let c = (mask_in(v, 0, 25) & (v + u32::from(b'A')))
        | (mask_in(v, 26, 51) & (v + u32::from(b'a') - 26))
        | (mask_in(v, 52, 61) & v.wrapping_sub(52 - u32::from(b'0')))
        | (mask_in(v, 62, 62) & u32::from(alphabet.char_62))
        | (mask_in(v, 63, 63) & u32::from(alphabet.char_63));
    c as u8
}

/// The 6-bit value of character `c` (zero if it has none), and all ones if `c` is not in
/// the alphabet (else zero).
fn value_of(c: u8, alphabet: Alphabet) -> (u32, u32) {
    let c = u32::from(c);
    let upper = mask_in(c, u32::from(b'A'), u32::from(b'Z'));
    let lower = mask_in(c, u32::from(b'a'), u32::from(b'z'));
    let digit = mask_in(c, u32::from(b'0'), u32::from(b'9'));
    let is_62 = mask_in(c, u32::from(alphabet.char_62), u32::from(alphabet.char_62));
    let is_63 = mask_in(c, u32::from(alphabet.char_63), u32::from(alphabet.char_63));
    let value = (upper & c.wrapping_sub(u32::from(b'A')))
        | (lower & c.wrapping_sub(u32::from(b'a') - 26))
        | (digit & (c + 52 - u32::from(b'0')))
        | (is_62 & 62)
        | (is_63 & 63);
    (value, !(upper | lower | digit | is_62 | is_63))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_vectors() {
        // RFC 4648 section 10.
        for (bytes, text) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).unwrap(), bytes.as_bytes());
            let unpadded = text.trim_end_matches('=');
            assert_eq!(encode_url(bytes), unpadded);
            assert_eq!(decode_url(unpadded).unwrap(), bytes.as_bytes());
        }
    }

    #[test]
    fn every_value_maps_to_its_character_and_back() {
        let standard = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (alphabet, chars) in [
            (STANDARD, standard),
            (URL_SAFE, &{
                let mut url = *standard;
                url[62] = b'-';
                url[63] = b'_';
                url
            }),
        ] {
            for (v, &c) in chars.iter().enumerate() {
                assert_eq!(char_of(v as u32, alphabet), c);
                assert_eq!(value_of(c, alphabet), (v as u32, 0));
            }
            for c in 0..=255u8 {
                if !chars.contains(&c) {
                    assert_eq!(value_of(c, alphabet), (0, u32::MAX), "{c}");
                }
            }
        }
    }

    #[test]
    fn rejects_what_is_not_canonical() {
        for text in [
            "Zg",
            "Zg=",
            "Zg===",
            "Zh==",
            "Zm9=",
            "Z===",
            "====",
            "=",
            "Zm9v=",
            "Zm 9v",
            "Zm9v\n",
            "Zg==Zg==",
            "Zm-v",
            "Zm_v",
            "Zm9vY",
            "Zm9\u{e9}",
        ] {
            assert_eq!(decode(text), Err(DecodeError), "{text:?}");
        }
        for text in ["Zg==", "Zg=", "Zh", "Zm9", "Zm+v", "Zm/v", "Z", "Zm9vY", "Zm9v Yg"] {
            assert_eq!(decode_url(text), Err(DecodeError), "{text:?}");
        }
    }

    #[test]
    fn output_has_exactly_the_size_it_needs() {
        for n in 0..20 {
            let bytes = vec![0xa5; n];
            let text = encode(&bytes);
            assert_eq!(text.capacity(), text.len());
            let decoded = decode(&text).unwrap();
            assert_eq!(decoded.capacity(), n);
            assert_eq!(decode_url(encode_url(&bytes)).unwrap().capacity(), n);
        }
    }
}
