#![no_main]
// The DynamoDB item encryptor's parsers: the header and footer attributes and an encrypted
// attribute value (the same entry points the never-panic proptests feed).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kms_envelope::fuzzing::parse_item_header(data);
    let _ = kms_envelope::fuzzing::parse_item_footer(data);
    let _ = kms_envelope::fuzzing::parse_item_value(data);
});
