//! Private key material never appears unencrypted in the database or in the logs.
//!
//! A test binary of its own: it installs the process-wide tracing subscriber. A scoped one
//! (`tracing::subscriber::set_default`) in the `api` binary, whose other tests run on other
//! threads at the same time, could miss the server's events: tracing's global level filter and
//! callsite interest caches are shared by every thread, and a test elsewhere hitting a callsite
//! first could leave it disabled (it failed that way once under load).

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use serde_json::json;

use common::{b64, Client, Harness};

async fn create(c: &Client, spec: &str, usage: &str) -> String {
    let out = c.call("CreateKey", json!({"KeySpec": spec, "KeyUsage": usage})).await.ok();
    out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
}

/// True if a 16-byte window of `secret` that is not also part of the (stored) public key
/// occurs in `haystack`, raw or hex-encoded.
fn leaks(haystack: &[u8], secret: &[u8], public: &[u8]) -> bool {
    let window = 16.min(secret.len());
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|h| h == needle);
    secret
        .windows(window)
        .filter(|w| !contains(public, w))
        .any(|w| contains(haystack, w) || contains(haystack, hex::encode(w).as_bytes()))
}

#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn private_key_material_never_appears_unencrypted_in_the_database_or_logs() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    // The only test of this binary: the process-wide subscriber sees every thread's events.
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let h = Harness::new().await;
    let c = h.client();
    let mut keys = Vec::new();
    for (spec, usage) in [
        ("RSA_2048", "SIGN_VERIFY"),
        ("ECC_NIST_P256", "SIGN_VERIFY"),
        ("ECC_NIST_P384", "KEY_AGREEMENT"),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY"),
        ("HMAC_256", "GENERATE_VERIFY_MAC"),
    ] {
        keys.push(create(&c, spec, usage).await);
    }
    c.call(
        "Sign",
        json!({"KeyId": keys[0], "Message": b64(b"m"), "SigningAlgorithm": "RSASSA_PSS_SHA_256"}),
    )
    .await
    .ok();
    c.call(
        "GenerateMac",
        json!({"KeyId": keys[4], "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
    )
    .await
    .ok();
    let mut database = Vec::new();
    for entry in std::fs::read_dir(h.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with(kms_server::DATABASE_FILE) {
            database.extend(std::fs::read(path).unwrap());
        }
    }
    assert!(!database.is_empty());
    let log_bytes = logs.0.lock().unwrap().clone();
    assert!(!log_bytes.is_empty(), "the server logged nothing to check");
    for id in &keys {
        let key = c_key(&h, id);
        let record = h.state.store.get_key(&key).await.unwrap().unwrap();
        let material = &record.materials[0];
        let secret = h
            .state
            .keystore
            .unseal_secret(
                &key,
                kms_server::keystore::SecretPurpose::KeyMaterial,
                1,
                &material.sealed,
            )
            .unwrap();
        assert!(secret.len() >= 32);
        let public = &material.public_key;
        assert!(leaks(&database, &material.sealed, public), "the sealed form is what is stored");
        assert!(!leaks(&database, &secret, public), "{id}: private material in the database");
        assert!(!leaks(&log_bytes, &secret, public), "{id}: private material in the logs");
    }
}

fn c_key(h: &Harness, id: &str) -> kms_server::model::KeyRef {
    let _ = h;
    kms_server::model::KeyRef {
        account: "000000000000".into(),
        region: common::REGION.into(),
        key_id: id.into(),
    }
}
