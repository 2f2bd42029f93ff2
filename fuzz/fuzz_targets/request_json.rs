#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<kms_api::types::EncryptRequest>(data);
    let _ = serde_json::from_slice::<kms_api::types::CreateKeyRequest>(data);
});
