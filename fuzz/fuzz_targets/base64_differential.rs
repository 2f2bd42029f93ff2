#![no_main]
// The same check as the proptests of crates/kms-api/tests/base64_differential.rs.
#[path = "../../crates/kms-api/tests/base64_check/mod.rs"]
mod base64_check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| base64_check::check(data));
