use serde_json::json;

use crate::common::{b64, unb64, Harness};

#[tokio::test]
async fn encrypt_decrypt_round_trip_with_context() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let ctx = json!({"tenant": "acme", "purpose": "test"});
    let blob = c.encrypt(&id, b"attack at dawn", ctx.clone()).await;
    let out = c.decrypt(&blob, ctx).await.ok();
    assert_eq!(unb64(out["Plaintext"].as_str().unwrap()), b"attack at dawn");
    assert_eq!(out["KeyId"], format!("arn:aws:kms:us-east-1:000000000000:key/{id}"));
    assert_eq!(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    // Same context in another order is the same context.
    c.decrypt(&blob, json!({"purpose": "test", "tenant": "acme"})).await.ok();
}

#[tokio::test]
async fn wrong_context_or_tampering_is_invalid_ciphertext_without_message() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let blob = c.encrypt(&id, b"secret", json!({"a": "b"})).await;
    for ctx in [json!({}), json!({"a": "B"}), json!({"a": "b", "c": "d"})] {
        let r = c.decrypt(&blob, ctx).await.err("InvalidCiphertextException");
        assert!(r.body.get("message").is_none());
    }
    let bytes = unb64(&blob);
    for i in [0, 5, 20, 27, 35, bytes.len() - 1] {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x01;
        let r = c.decrypt(&b64(&tampered), json!({"a": "b"})).await;
        assert!(
            ["InvalidCiphertextException", "NotFoundException"].contains(&r.error_type()),
            "byte {i}: {:?}",
            r.body
        );
    }
    c.decrypt(&b64(&bytes[..bytes.len() - 1]), json!({"a": "b"}))
        .await
        .err("InvalidCiphertextException");
    c.decrypt(&b64(b"short"), json!({})).await.err("InvalidCiphertextException");
}

#[tokio::test]
async fn decrypt_with_key_id_of_another_key_is_incorrect_key() {
    let h = Harness::new().await;
    let c = h.client();
    let a = c.create_key().await;
    let b = c.create_key().await;
    let blob = c.encrypt(&a, b"x", json!({})).await;
    let r = c
        .call("Decrypt", json!({"CiphertextBlob": blob, "KeyId": b}))
        .await
        .err("IncorrectKeyException");
    assert_eq!(
        r.message(),
        "The key ID in the request does not identify a CMK that can perform this operation."
    );
    c.call("Decrypt", json!({"CiphertextBlob": blob, "KeyId": a})).await.ok();
}

#[tokio::test]
async fn encrypt_limits_and_algorithms() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    c.call("Encrypt", json!({"KeyId": id, "Plaintext": b64(&[7; 4096])})).await.ok();
    let r = c
        .call("Encrypt", json!({"KeyId": id, "Plaintext": b64(&[7; 4097])}))
        .await
        .err("ValidationException");
    assert_eq!(
        r.message(),
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
    );
    c.call("Encrypt", json!({"KeyId": id, "Plaintext": ""})).await.err("ValidationException");
    c.call(
        "Encrypt",
        json!({"KeyId": id, "Plaintext": "aGk=", "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}),
    )
    .await
    .err("InvalidKeyUsageException");
    c.call("Encrypt", json!({"KeyId": id, "Plaintext": "aGk=", "EncryptionAlgorithm": "ROT13"}))
        .await
        .err("ValidationException");
    let r = c.call("Encrypt", json!({"KeyId": id, "Plaintext": "aGk=", "DryRun": true})).await;
    let r = r.err("DryRunOperationException");
    assert_eq!(r.message(), "The request would have succeeded, but the DryRun option is set.");
}

#[tokio::test]
async fn generate_data_key_variants() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let out = c
        .call(
            "GenerateDataKey",
            json!({"KeyId": id, "KeySpec": "AES_256", "EncryptionContext": {"k": "v"}}),
        )
        .await
        .ok();
    let plaintext = unb64(out["Plaintext"].as_str().unwrap());
    assert_eq!(plaintext.len(), 32);
    let back = c.decrypt(out["CiphertextBlob"].as_str().unwrap(), json!({"k": "v"})).await.ok();
    assert_eq!(unb64(back["Plaintext"].as_str().unwrap()), plaintext);
    let out = c.call("GenerateDataKey", json!({"KeyId": id, "KeySpec": "AES_128"})).await.ok();
    assert_eq!(unb64(out["Plaintext"].as_str().unwrap()).len(), 16);
    let out = c.call("GenerateDataKey", json!({"KeyId": id, "NumberOfBytes": 1024})).await.ok();
    assert_eq!(unb64(out["Plaintext"].as_str().unwrap()).len(), 1024);
    let out = c
        .call("GenerateDataKeyWithoutPlaintext", json!({"KeyId": id, "KeySpec": "AES_256"}))
        .await
        .ok();
    assert!(out.get("Plaintext").is_none());
    let back = c.decrypt(out["CiphertextBlob"].as_str().unwrap(), json!({})).await.ok();
    assert_eq!(unb64(back["Plaintext"].as_str().unwrap()).len(), 32);
    let r = c.call("GenerateDataKey", json!({"KeyId": id})).await.err("ValidationException");
    assert_eq!(r.message(), "Please specify either number of bytes or key spec.");
    c.call("GenerateDataKey", json!({"KeyId": id, "KeySpec": "AES_256", "NumberOfBytes": 32}))
        .await
        .err("ValidationException");
    c.call("GenerateDataKey", json!({"KeyId": id, "NumberOfBytes": 1025}))
        .await
        .err("ValidationException");
    c.call("GenerateDataKey", json!({"KeyId": id, "NumberOfBytes": 0}))
        .await
        .err("ValidationException");
}

#[tokio::test]
async fn generate_random_bounds() {
    let h = Harness::new().await;
    let c = h.client();
    let a = c.call("GenerateRandom", json!({"NumberOfBytes": 32})).await.ok();
    let b = c.call("GenerateRandom", json!({"NumberOfBytes": 32})).await.ok();
    assert_eq!(unb64(a["Plaintext"].as_str().unwrap()).len(), 32);
    assert_ne!(a["Plaintext"], b["Plaintext"]);
    let r = c.call("GenerateRandom", json!({})).await.err("ValidationException");
    assert_eq!(r.message(), "NumberOfBytes is required.");
    c.call("GenerateRandom", json!({"NumberOfBytes": 1025})).await.err("ValidationException");
}

#[tokio::test]
async fn re_encrypt_moves_ciphertext_between_keys_and_contexts() {
    let h = Harness::new().await;
    let c = h.client();
    let a = c.create_key().await;
    let b = c.create_key().await;
    let blob = c.encrypt(&a, b"payload", json!({"v": "1"})).await;
    let out = c
        .call(
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"v": "1"}, "DestinationKeyId": b, "DestinationEncryptionContext": {"v": "2"}}),
        )
        .await
        .ok();
    assert!(out.get("Plaintext").is_none());
    assert_eq!(out["SourceKeyId"], format!("arn:aws:kms:us-east-1:000000000000:key/{a}"));
    assert_eq!(out["KeyId"], format!("arn:aws:kms:us-east-1:000000000000:key/{b}"));
    let new_blob = out["CiphertextBlob"].as_str().unwrap();
    let back = c.decrypt(new_blob, json!({"v": "2"})).await.ok();
    assert_eq!(unb64(back["Plaintext"].as_str().unwrap()), b"payload");
    assert_eq!(back["KeyId"], out["KeyId"]);
    c.call("ReEncrypt", json!({"CiphertextBlob": blob, "DestinationKeyId": b}))
        .await
        .err("InvalidCiphertextException");
    c.call("ReEncrypt", json!({"CiphertextBlob": blob})).await.err("ValidationException");
}
