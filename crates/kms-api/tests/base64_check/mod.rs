//! The differential check of `kms_api::base64` against the `base64` crate, shared by
//! `tests/base64_differential.rs` and the fuzz target `base64_differential` (which includes
//! this file by path), so that the check the fuzzer runs is built and run on stable too.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// Panics unless `kms_api::base64` and the `base64` crate's `STANDARD` and `URL_SAFE_NO_PAD`
/// engines agree on `data`: as bytes to encode, and as text to decode (accepted or rejected,
/// and the bytes decoded).
pub(crate) fn check(data: &[u8]) {
    let shown = String::from_utf8_lossy(data);
    assert_eq!(kms_api::base64::encode(data), STANDARD.encode(data));
    assert_eq!(kms_api::base64::encode_url(data), URL_SAFE_NO_PAD.encode(data));
    assert_eq!(kms_api::base64::decode(data).ok(), STANDARD.decode(data).ok(), "{shown:?}");
    assert_eq!(
        kms_api::base64::decode_url(data).ok(),
        URL_SAFE_NO_PAD.decode(data).ok(),
        "{shown:?}"
    );
}
