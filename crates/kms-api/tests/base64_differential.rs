//! `kms_api::base64` against the `base64` crate's `STANDARD` and `URL_SAFE_NO_PAD` engines.

mod base64_check;

use base64_check::check;
use kms_api::base64::{decode, decode_url, encode, encode_url};
use proptest::prelude::*;

/// Characters that exercise every rule: values with all low bits clear (`A`, `Q`, `g`, `w`)
/// or not, both alphabets' extra characters, padding, whitespace and a non-ASCII byte.
const NEAR_BASE64: &[u8] = b"AQgwBh9+/-_= \n\xe9";

/// Every string of up to four characters from [`NEAR_BASE64`]: every way a last group can
/// be padded, mispadded, have trailing bits or bad characters.
#[test]
fn agrees_on_every_short_string() {
    let mut accepted = [0usize; 2];
    let n = NEAR_BASE64.len();
    for len in 0..=4u32 {
        for mut i in 0..n.pow(len) {
            let mut text = Vec::new();
            for _ in 0..len {
                text.push(NEAR_BASE64[i % n]);
                i /= n;
            }
            check(&text);
            accepted[0] += usize::from(decode(&text).is_ok());
            accepted[1] += usize::from(decode_url(&text).is_ok());
            // The same group after whole groups.
            text.splice(0..0, *b"Zm9v");
            check(&text);
        }
    }
    // Some of each form were accepted: the comparison covered both outcomes.
    assert!(accepted[0] > 100 && accepted[1] > 100, "{accepted:?}");
}

proptest! {
    #[test]
    fn agrees_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check(&bytes);
        prop_assert_eq!(decode(encode(&bytes)).unwrap(), bytes.clone());
        prop_assert_eq!(decode_url(encode_url(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn agrees_on_strings_of_base64_characters(
        text in proptest::collection::vec(proptest::sample::select(NEAR_BASE64), 0..24),
    ) {
        check(&text);
    }

    #[test]
    fn agrees_on_damaged_encodings(
        bytes in proptest::collection::vec(any::<u8>(), 1..60),
        at in any::<proptest::sample::Index>(),
        c in any::<u8>(),
        url in any::<bool>(),
    ) {
        let mut text = if url { encode_url(&bytes) } else { encode(&bytes) }.into_bytes();
        let i = at.index(text.len());
        text[i] = c;
        check(&text);
        check(&text[..i]);
    }
}
