#![no_main]
// The wasm client's JSON reader: any bytes are refused or read, never a panic, and a text
// it reads whole is one serde_json reads too.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kms_api::client::parse_response(data);
    let _ = kms_api::client::parse_error_body(data);
    if let Ok(mut reader) = kms_api::json::Reader::from_bytes(data) {
        if reader.skip().is_ok() && reader.end().is_ok() {
            assert!(serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok());
        }
    }
});
