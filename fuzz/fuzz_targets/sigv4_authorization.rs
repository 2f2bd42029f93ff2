#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kms_api::sigv4::Authorization::parse(text);
        let _ = kms_api::sigv4::parse_amz_date(text);
    }
});
