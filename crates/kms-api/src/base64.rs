//! Base64 (RFC 4648), small and constant-time on the data.
//!
//! Two forms:
//! - standard: alphabet `A-Z a-z 0-9 + /`, padded with `=` to a multiple of four characters
//!   ([`encode`], [`decode`]); KMS blobs, public keys, item attributes, configuration;
//! - URL-safe without padding: `-` and `_` in place of `+` and `/`, no `=` ([`encode_url`],
//!   [`decode_url`]); tokens the server hands out (grant tokens, pagination markers).
//!
//! Decoding is strict, and accepts exactly what the `base64` crate's `STANDARD` and
//! `URL_SAFE_NO_PAD` engines accept (the tests and the fuzz target `base64_differential`
//! compare them): only alphabet characters (no whitespace, no line breaks), the padding a
//! form requires and no other, and zero bits after the last whole byte (so every byte string
//! has exactly one encoding). The empty string is the encoding of no bytes.
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
    let groups = bytes.chunks_exact(3);
    let rest = groups.remainder();
    let len = match rest.len() {
        0 => bytes.len() / 3 * 4,
        _ if alphabet.padded => bytes.len() / 3 * 4 + 4,
        n => bytes.len() / 3 * 4 + n + 1,
    };
    let mut out = vec![b'='; len];
    let mut chunks = out.chunks_mut(4);
    // `zip` asks `groups` first, so the chunk after the last whole group stays for the rest.
    for (group, chars) in groups.zip(&mut chunks) {
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        write_chars(n, chars, 4, alphabet);
    }
    if let (Some(chars), Some(&first)) = (chunks.next(), rest.first()) {
        let second = rest.get(1).copied().unwrap_or(0);
        let n = u32::from(first) << 16 | u32::from(second) << 8;
        // One byte needs two characters, two need three; `=` fills the rest if padded.
        write_chars(n, chars, rest.len() + 1, alphabet);
    }
    // Every byte is an ASCII character of the alphabet or `=`, so the default is never used.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the `count` characters for the top bits of the 24-bit group `n` into `chars`.
fn write_chars(n: u32, chars: &mut [u8], count: usize, alphabet: Alphabet) {
    for (i, c) in chars.iter_mut().take(count).enumerate() {
        *c = char_of((n >> (18 - 6 * i)) & 63, alphabet);
    }
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
    let groups = data.chunks_exact(4);
    let rest = groups.remainder();
    // A last group of one character does not hold a whole byte.
    if rest.len() == 1 {
        return Err(DecodeError);
    }
    let mut out = vec![0; data.len() / 4 * 3 + rest.len().saturating_sub(1)];
    let mut chunks = out.chunks_mut(3);
    // As in `encode_with`, the chunk after the last whole group stays for the rest.
    // Every group's invalid-character mask, then the bits after the last whole byte.
    let mut invalid = 0;
    for (group, bytes) in groups.zip(&mut chunks) {
        let (n, bad) = group_value(group, alphabet);
        invalid |= bad;
        write_bytes(n, bytes);
    }
    if let Some(bytes) = chunks.next() {
        let (n, bad) = group_value(rest, alphabet);
        let n = n << (6 * (4 - rest.len()));
        write_bytes(n, bytes);
        invalid |= bad | (n & (0x00ff_ffff >> (8 * bytes.len())));
    }
    if invalid != 0 {
        out.zeroize();
        return Err(DecodeError);
    }
    Ok(out)
}

/// Writes the top bytes of the 24-bit group `n` into `bytes` (at most three).
fn write_bytes(n: u32, bytes: &mut [u8]) {
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (n >> (16 - 8 * i)) as u8;
    }
}

/// The value of up to four characters, and all ones if one of them is not in the alphabet.
fn group_value(chars: &[u8], alphabet: Alphabet) -> (u32, u32) {
    let (mut n, mut invalid) = (0, 0);
    for &c in chars {
        let (value, not_in_alphabet) = value_of(c, alphabet);
        n = n << 6 | value as u32;
        invalid |= not_in_alphabet as u32;
    }
    (n, invalid)
}

// The masks below work on small numbers (characters and 6-bit values) as i32, so that an
// arithmetic shift spreads a difference's sign over all 32 bits: no branch, no table.

/// All ones if `x < y`, else zero.
fn mask_below(x: i32, y: i32) -> i32 {
    (x - y) >> 31
}

/// All ones if `lo <= x <= hi`, else zero.
fn mask_in(x: i32, lo: i32, hi: i32) -> i32 {
    // Both differences are negative exactly when x is in range.
    ((lo - 1 - x) & (x - hi - 1)) >> 31
}

/// The character for the 6-bit `value`: `value` plus the offset of its range of the
/// alphabet, that offset summed from the changes between successive ranges.
fn char_of(value: u32, alphabet: Alphabet) -> u8 {
    let v = value as i32;
    // The offset from value to character in the range starting at `first_value`.
    let offset = |first_char: u8, first_value: i32| i32::from(first_char) - first_value;
    let upper = offset(b'A', 0);
    let lower = offset(b'a', 26);
    let digit = offset(b'0', 52);
    let at_62 = offset(alphabet.char_62, 62);
    let at_63 = offset(alphabet.char_63, 63);
    let from = |start: i32, change: i32| !mask_below(v, start) & change;
    let c = v
        + upper
        + from(26, lower - upper)
        + from(52, digit - lower)
        + from(62, at_62 - digit)
        + from(63, at_63 - at_62);
    c as u8
}

/// The 6-bit value of character `c` (zero if it has none), and all ones if `c` is not in
/// the alphabet (else zero).
fn value_of(c: u8, alphabet: Alphabet) -> (i32, i32) {
    let range = |first: u8, last: u8| mask_in(i32::from(c), i32::from(first), i32::from(last));
    let upper = range(b'A', b'Z');
    let lower = range(b'a', b'z');
    let digit = range(b'0', b'9');
    let is_62 = range(alphabet.char_62, alphabet.char_62);
    let is_63 = range(alphabet.char_63, alphabet.char_63);
    let c = i32::from(c);
    let value = (upper & (c - i32::from(b'A')))
        | (lower & (c - i32::from(b'a') + 26))
        | (digit & (c - i32::from(b'0') + 52))
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
                assert_eq!(value_of(c, alphabet), (v as i32, 0));
            }
            for c in 0..=255u8 {
                if !chars.contains(&c) {
                    assert_eq!(value_of(c, alphabet), (0, -1), "{c}");
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
