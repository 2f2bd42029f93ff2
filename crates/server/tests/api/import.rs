//! Imported key material (BYOK): parameters, wrapping, expiry with the injected clock,
//! re-import of the same material, refusal of different material.

use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded as _, AES_256};
use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA1_MGF1SHA1,
    OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use kms_server::clock::DAY_MS;
use kms_server::jobs::run_due;
use serde_json::{json, Value};

use crate::common::{b64, unb64, Client, Harness, START_MS};

async fn external_key(c: &Client, spec: &str, usage: &str) -> String {
    let out = c
        .call("CreateKey", json!({"Origin": "EXTERNAL", "KeySpec": spec, "KeyUsage": usage}))
        .await
        .ok();
    let meta = &out["KeyMetadata"];
    assert_eq!(meta["KeyState"], "PendingImport");
    assert_eq!(meta["Enabled"], false);
    assert_eq!(meta["Origin"], "EXTERNAL");
    assert!(meta.get("CurrentKeyMaterialId").is_none());
    meta["KeyId"].as_str().unwrap().to_owned()
}

struct Parameters {
    token: String,
    public_key: Vec<u8>,
}

async fn parameters(c: &Client, id: &str, algorithm: &str, spec: &str) -> Parameters {
    let out = c
        .call(
            "GetParametersForImport",
            json!({"KeyId": id, "WrappingAlgorithm": algorithm, "WrappingKeySpec": spec}),
        )
        .await
        .ok();
    let valid_to = out["ParametersValidTo"].as_f64().unwrap();
    let now_s = kms_server::clock::Clock::now_ms(&*c.clock) as f64 / 1000.0;
    assert_eq!(valid_to, now_s + 86_400.0);
    Parameters {
        token: out["ImportToken"].as_str().unwrap().to_owned(),
        public_key: unb64(out["PublicKey"].as_str().unwrap()),
    }
}

fn oaep(public_key: &[u8], algorithm: &'static OaepAlgorithm, plaintext: &[u8]) -> Vec<u8> {
    let key =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(public_key).unwrap()).unwrap();
    let mut out = vec![0u8; key.ciphertext_size()];
    key.encrypt(algorithm, plaintext, &mut out, None).unwrap().to_vec()
}

fn rsa_aes_key_wrap(public_key: &[u8], material: &[u8]) -> Vec<u8> {
    let aes_key = [0x5au8; 32];
    let mut blob = oaep(public_key, &OAEP_SHA256_MGF1SHA256, &aes_key);
    let kek = AesKek::new(&AES_256, &aes_key).unwrap();
    let mut out = vec![0u8; material.len() + 16];
    blob.extend_from_slice(kek.wrap_with_padding(material, &mut out).unwrap());
    blob
}

fn import(id: &str, p: &Parameters, wrapped: &[u8], extra: Value) -> Value {
    let mut body =
        json!({"KeyId": id, "ImportToken": p.token, "EncryptedKeyMaterial": b64(wrapped)});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

const NO_EXPIRY: &str = "KEY_MATERIAL_DOES_NOT_EXPIRE";

#[tokio::test]
async fn symmetric_material_imports_expires_and_reimports() {
    let h = Harness::new().await;
    let c = h.client();
    let id = external_key(&c, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    c.call("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"x")}))
        .await
        .err("KMSInvalidStateException");
    c.call("EnableKey", json!({"KeyId": id})).await.err("KMSInvalidStateException");
    let material = [0x11u8; 32];
    let p = parameters(&c, &id, "RSAES_OAEP_SHA_256", "RSA_2048").await;
    let wrapped = oaep(&p.public_key, &OAEP_SHA256_MGF1SHA256, &material);

    let r = c.call("ImportKeyMaterial", import(&id, &p, &wrapped, json!({}))).await;
    assert_eq!(
        r.err("ValidationException").message(),
        "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
    );
    let too_far = (START_MS + 366 * DAY_MS) as f64 / 1000.0;
    c.call("ImportKeyMaterial", import(&id, &p, &wrapped, json!({"ValidTo": too_far})))
        .await
        .err("ValidationException");
    let valid_to = (START_MS + 10 * DAY_MS) as f64 / 1000.0;
    let out = c
        .call("ImportKeyMaterial", import(&id, &p, &wrapped, json!({"ValidTo": valid_to})))
        .await
        .ok();
    let material_id = out["KeyMaterialId"].as_str().unwrap().to_owned();
    let meta = c.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone();
    assert_eq!(meta["KeyState"], "Enabled");
    assert_eq!(meta["ExpirationModel"], "KEY_MATERIAL_EXPIRES");
    assert_eq!(meta["ValidTo"].as_f64().unwrap(), valid_to);
    assert_eq!(meta["CurrentKeyMaterialId"], material_id.as_str());
    let blob = c.encrypt(&id, b"imported", json!({})).await;

    // Automatic rotation does not apply to imported material.
    c.call("EnableKeyRotation", json!({"KeyId": id})).await.err("UnsupportedOperationException");

    // The material expires with the injected clock: the key waits for an import again.
    h.clock.advance_ms(10 * DAY_MS - 1);
    assert_eq!(run_due(&h.state).await.unwrap().expired, 0);
    h.clock.advance_ms(1);
    assert_eq!(run_due(&h.state).await.unwrap().expired, 1);
    assert_eq!(c.state_of(&id).await, "PendingImport");
    c.decrypt(&blob, json!({})).await.err("KMSInvalidStateException");

    // The old token has expired (24 h); new parameters, same material: it decrypts again.
    c.call("ImportKeyMaterial", import(&id, &p, &wrapped, json!({"ExpirationModel": NO_EXPIRY})))
        .await
        .err("ExpiredImportTokenException");
    let p2 = parameters(&c, &id, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096").await;
    c.call("ImportKeyMaterial", import(&id, &p, &wrapped, json!({"ExpirationModel": NO_EXPIRY})))
        .await
        .err("InvalidImportTokenException");
    let different = rsa_aes_key_wrap(&p2.public_key, &[0x22u8; 32]);
    let r = c
        .call(
            "ImportKeyMaterial",
            import(&id, &p2, &different, json!({"ExpirationModel": NO_EXPIRY})),
        )
        .await;
    r.err("IncorrectKeyMaterialException");
    let same = rsa_aes_key_wrap(&p2.public_key, &material);
    let out = c
        .call("ImportKeyMaterial", import(&id, &p2, &same, json!({"ExpirationModel": NO_EXPIRY})))
        .await
        .ok();
    assert_eq!(out["KeyMaterialId"], material_id.as_str());
    let plain = c.decrypt(&blob, json!({})).await.ok();
    assert_eq!(unb64(plain["Plaintext"].as_str().unwrap()), b"imported");
    let meta = c.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone();
    assert_eq!(meta["ExpirationModel"], NO_EXPIRY);
    assert!(meta.get("ValidTo").is_none());

    // Deleting the material: PendingImport, ciphertext unusable until the next import.
    let out = c.call("DeleteImportedKeyMaterial", json!({"KeyId": id})).await.ok();
    assert_eq!(out["KeyMaterialId"], material_id.as_str());
    assert_eq!(c.state_of(&id).await, "PendingImport");
    c.decrypt(&blob, json!({})).await.err("KMSInvalidStateException");
    // Tampered wrapping does not unwrap.
    let mut bad = same.clone();
    bad[530] ^= 1;
    let r = c
        .call("ImportKeyMaterial", import(&id, &p2, &bad, json!({"ExpirationModel": NO_EXPIRY})))
        .await
        .err("InvalidCiphertextException");
    assert!(r.body.get("message").is_none());
}

#[tokio::test]
async fn import_operations_refuse_keys_kms_generated() {
    let h = Harness::new().await;
    let c = h.client();
    let id = c.create_key().await;
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{id}");
    let r = c
        .call("GetParametersForImport", json!({"KeyId": id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}))
        .await
        .err("UnsupportedOperationException");
    assert_eq!(
        r.message(),
        format!("{arn} origin is AWS_KMS which is not valid for this operation.")
    );
    c.call("DeleteImportedKeyMaterial", json!({"KeyId": id}))
        .await
        .err("UnsupportedOperationException");
    let ext = external_key(&c, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    c.call("GetParametersForImport", json!({"KeyId": ext, "WrappingAlgorithm": "RSAES_PKCS1_V1_5", "WrappingKeySpec": "RSA_2048"}))
        .await
        .err("UnsupportedOperationException");
    c.call("GetParametersForImport", json!({"KeyId": ext, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_1024"}))
        .await
        .err("ValidationException");
    // A token for one key does not import into another.
    let other = external_key(&c, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let p = parameters(&c, &ext, "RSAES_OAEP_SHA_1", "RSA_2048").await;
    let wrapped = oaep(&p.public_key, &OAEP_SHA1_MGF1SHA1, &[1u8; 32]);
    c.call(
        "ImportKeyMaterial",
        import(&other, &p, &wrapped, json!({"ExpirationModel": NO_EXPIRY})),
    )
    .await
    .err("InvalidImportTokenException");
    // Wrong length for a symmetric key.
    let short = oaep(&p.public_key, &OAEP_SHA1_MGF1SHA1, &[1u8; 16]);
    c.call("ImportKeyMaterial", import(&ext, &p, &short, json!({"ExpirationModel": NO_EXPIRY})))
        .await
        .err("ValidationException");
    // Scheduling deletion and cancelling it returns a key without material to PendingImport.
    c.call("ScheduleKeyDeletion", json!({"KeyId": other, "PendingWindowInDays": 7})).await.ok();
    c.call("CancelKeyDeletion", json!({"KeyId": other})).await.ok();
    assert_eq!(c.state_of(&other).await, "PendingImport");
}

#[tokio::test]
async fn asymmetric_and_hmac_material_imports_and_works() {
    let h = Harness::new().await;
    let c = h.client();
    // An ECC signing key from outside (PKCS #8 made by aws-lc-rs here).
    let pair =
        signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
    let pkcs8 = pair.to_pkcs8v1().unwrap();
    use aws_lc_rs::signature::KeyPair as _;
    let public = aws_lc_rs::encoding::AsDer::as_der(pair.public_key()).unwrap().as_ref().to_vec();
    let id = external_key(&c, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let p = parameters(&c, &id, "RSA_AES_KEY_WRAP_SHA_1", "RSA_3072").await;
    // The AES key is wrapped with OAEP SHA-1 for the _SHA_1 variant.
    let aes_key = [0x33u8; 32];
    let mut wrapped = oaep(&p.public_key, &OAEP_SHA1_MGF1SHA1, &aes_key);
    let kek = AesKek::new(&AES_256, &aes_key).unwrap();
    let mut out = vec![0u8; pkcs8.as_ref().len() + 16];
    wrapped.extend_from_slice(kek.wrap_with_padding(pkcs8.as_ref(), &mut out).unwrap());
    c.call("ImportKeyMaterial", import(&id, &p, &wrapped, json!({"ExpirationModel": NO_EXPIRY})))
        .await
        .ok();
    let got = c.call("GetPublicKey", json!({"KeyId": id})).await.ok();
    assert_eq!(unb64(got["PublicKey"].as_str().unwrap()), public);
    let sig = c
        .call(
            "Sign",
            json!({"KeyId": id, "Message": b64(b"byok"), "SigningAlgorithm": "ECDSA_SHA_256"}),
        )
        .await
        .ok();
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &public)
        .verify(b"byok", &unb64(sig["Signature"].as_str().unwrap()))
        .unwrap();
    // A P-384 key does not fit a P-256 key spec.
    let wrong =
        signature::EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_ASN1_SIGNING).unwrap();
    let wrong_pkcs8 = wrong.to_pkcs8v1().unwrap();
    let other = external_key(&c, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let p = parameters(&c, &other, "RSA_AES_KEY_WRAP_SHA_256", "RSA_2048").await;
    let blob = rsa_aes_key_wrap(&p.public_key, wrong_pkcs8.as_ref());
    c.call("ImportKeyMaterial", import(&other, &p, &blob, json!({"ExpirationModel": NO_EXPIRY})))
        .await
        .err("ValidationException");

    // HMAC material: 32 to 64 bytes for HMAC_256.
    let mac_key = external_key(&c, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let p = parameters(&c, &mac_key, "RSAES_OAEP_SHA_256", "RSA_2048").await;
    let secret = [0x44u8; 40];
    let wrapped = oaep(&p.public_key, &OAEP_SHA256_MGF1SHA256, &secret);
    c.call(
        "ImportKeyMaterial",
        import(&mac_key, &p, &wrapped, json!({"ExpirationModel": NO_EXPIRY})),
    )
    .await
    .ok();
    let mac = c
        .call(
            "GenerateMac",
            json!({"KeyId": mac_key, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
        )
        .await
        .ok();
    let expected = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
        b"m",
    );
    assert_eq!(unb64(mac["Mac"].as_str().unwrap()), expected.as_ref());
}

#[tokio::test]
async fn update_alias_moves_only_between_keys_of_the_same_type_and_usage() {
    let h = Harness::new().await;
    let c = h.client();
    let first = c.create_key().await;
    let second = external_key(&c, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
    let signing = c
        .call("CreateKey", json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}))
        .await
        .ok()["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    c.call("CreateAlias", json!({"AliasName": "alias/app", "TargetKeyId": first})).await.ok();
    c.call("UpdateAlias", json!({"AliasName": "alias/app", "TargetKeyId": second})).await.ok();
    let r = c.call("UpdateAlias", json!({"AliasName": "alias/app", "TargetKeyId": signing})).await;
    assert!(r.err("ValidationException").message().contains("same key type and key usage"));
}

#[tokio::test]
async fn import_parameters_feed_their_condition_keys() {
    let h = Harness::new().await;
    let c = h.client();
    let week_s = (START_MS + 7 * DAY_MS) / 1000;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:GetParametersForImport", "Resource": "*",
         "Condition": {"StringEquals": {"kms:WrappingKeySpec": "RSA_2048"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:GetParametersForImport", "Resource": "*",
         "Condition": {"StringEquals": {"kms:WrappingAlgorithm": "RSAES_OAEP_SHA_1"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:ImportKeyMaterial", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ExpirationModel": NO_EXPIRY}}},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:ImportKeyMaterial", "Resource": "*",
         "Condition": {"NumericGreaterThan": {"kms:ValidTo": week_s}}}
    ]});
    let out =
        c.call("CreateKey", json!({"Origin": "EXTERNAL", "Policy": policy.to_string()})).await.ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let ask = |algorithm: &str, spec: &str| json!({"KeyId": id, "WrappingAlgorithm": algorithm, "WrappingKeySpec": spec});
    c.call("GetParametersForImport", ask("RSAES_OAEP_SHA_256", "RSA_2048"))
        .await
        .err("AccessDeniedException");
    c.call("GetParametersForImport", ask("RSAES_OAEP_SHA_1", "RSA_3072"))
        .await
        .err("AccessDeniedException");
    let p = parameters(&c, &id, "RSAES_OAEP_SHA_256", "RSA_3072").await;
    let wrapped = oaep(&p.public_key, &OAEP_SHA256_MGF1SHA256, &[0x22u8; 32]);
    let no_expiry = json!({"ExpirationModel": NO_EXPIRY});
    c.call("ImportKeyMaterial", import(&id, &p, &wrapped, no_expiry))
        .await
        .err("AccessDeniedException");
    let month = json!({"ValidTo": (START_MS + 30 * DAY_MS) as f64 / 1000.0});
    c.call("ImportKeyMaterial", import(&id, &p, &wrapped, month))
        .await
        .err("AccessDeniedException");
    let days = json!({"ValidTo": (START_MS + 2 * DAY_MS) as f64 / 1000.0});
    c.call("ImportKeyMaterial", import(&id, &p, &wrapped, days)).await.ok();
    assert_eq!(c.state_of(&id).await, "Enabled");
}
