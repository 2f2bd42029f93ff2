#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kms_server::ciphertext::fuzzing::parse_header(data);
});
