#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kms_envelope::fuzzing::parse_message(data);
    let _ = kms_envelope::fuzzing::parse_header(data);
    let _ = kms_envelope::fuzzing::parse_footer(data);
});
