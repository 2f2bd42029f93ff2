//! Asymmetric, HMAC and key agreement keys through the API, with offline checks in aws-lc-rs.

use aws_lc_rs::agreement;
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::{json, Value};

use crate::common::{b64, unb64, Client, Harness};

async fn create(c: &Client, spec: &str, usage: &str) -> String {
    let out = c.call("CreateKey", json!({"KeySpec": spec, "KeyUsage": usage})).await.ok();
    out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
}

async fn public_key(c: &Client, id: &str) -> Vec<u8> {
    let out = c.call("GetPublicKey", json!({"KeyId": id})).await.ok();
    unb64(out["PublicKey"].as_str().unwrap())
}

fn names(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

#[tokio::test]
async fn create_key_offers_each_spec_with_the_usages_and_algorithms_aws_lists() {
    let h = Harness::new().await;
    let c = h.client();
    let cases = [
        ("RSA_2048", "ENCRYPT_DECRYPT", "EncryptionAlgorithms", "RSAES_OAEP_SHA_1"),
        ("RSA_3072", "SIGN_VERIFY", "SigningAlgorithms", "RSASSA_PKCS1_V1_5_SHA_256"),
        ("ECC_NIST_P256", "SIGN_VERIFY", "SigningAlgorithms", "ECDSA_SHA_256"),
        ("ECC_NIST_P384", "KEY_AGREEMENT", "KeyAgreementAlgorithms", "ECDH"),
        ("ECC_NIST_P521", "SIGN_VERIFY", "SigningAlgorithms", "ECDSA_SHA_512"),
        ("ECC_SECG_P256K1", "SIGN_VERIFY", "SigningAlgorithms", "ECDSA_SHA_256"),
        ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY", "SigningAlgorithms", "ED25519_SHA_512"),
        ("HMAC_224", "GENERATE_VERIFY_MAC", "MacAlgorithms", "HMAC_SHA_224"),
        ("HMAC_512", "GENERATE_VERIFY_MAC", "MacAlgorithms", "HMAC_SHA_512"),
    ];
    for (spec, usage, member, first) in cases {
        let id = create(&c, spec, usage).await;
        let meta = c.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone();
        assert_eq!(meta["KeySpec"], spec);
        assert_eq!(meta["KeyUsage"], usage);
        assert_eq!(meta["KeyState"], "Enabled");
        assert_eq!(names(&meta[member])[0], first, "{spec}");
        for other in
            ["EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms"]
        {
            if other != member {
                assert!(meta.get(other).is_none(), "{spec} lists {other}");
            }
        }
        assert!(meta.get("CurrentKeyMaterialId").is_none());
    }
    for (spec, usage) in [
        ("RSA_2048", "KEY_AGREEMENT"),
        ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
        ("ECC_NIST_EDWARDS25519", "ENCRYPT_DECRYPT"),
        ("HMAC_256", "SIGN_VERIFY"),
        ("ECC_NIST_P256", "GENERATE_VERIFY_MAC"),
    ] {
        let r = c
            .call("CreateKey", json!({"KeySpec": spec, "KeyUsage": usage}))
            .await
            .err("ValidationException");
        assert_eq!(r.message(), format!("KeyUsage {usage} is not compatible with KeySpec {spec}"));
    }
    let r = c.call("CreateKey", json!({"KeySpec": "HMAC_256"})).await.err("ValidationException");
    assert_eq!(
        r.message(),
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
    );
}

fn offline_verifier(spec: &str, algorithm: &str) -> &'static dyn VerificationAlgorithm {
    match (spec, algorithm) {
        (_, "RSASSA_PSS_SHA_256") => &signature::RSA_PSS_2048_8192_SHA256,
        (_, "RSASSA_PSS_SHA_384") => &signature::RSA_PSS_2048_8192_SHA384,
        (_, "RSASSA_PSS_SHA_512") => &signature::RSA_PSS_2048_8192_SHA512,
        (_, "RSASSA_PKCS1_V1_5_SHA_256") => &signature::RSA_PKCS1_2048_8192_SHA256,
        (_, "RSASSA_PKCS1_V1_5_SHA_384") => &signature::RSA_PKCS1_2048_8192_SHA384,
        (_, "RSASSA_PKCS1_V1_5_SHA_512") => &signature::RSA_PKCS1_2048_8192_SHA512,
        ("ECC_NIST_P256", _) => &signature::ECDSA_P256_SHA256_ASN1,
        ("ECC_NIST_P384", _) => &signature::ECDSA_P384_SHA384_ASN1,
        ("ECC_NIST_P521", _) => &signature::ECDSA_P521_SHA512_ASN1,
        ("ECC_SECG_P256K1", _) => &signature::ECDSA_P256K1_SHA256_ASN1,
        _ => &signature::ED25519,
    }
}

fn hash_of(algorithm: &str) -> &'static digest::Algorithm {
    if algorithm.ends_with("256") {
        &digest::SHA256
    } else if algorithm.ends_with("384") {
        &digest::SHA384
    } else {
        &digest::SHA512
    }
}

#[tokio::test]
async fn every_signing_algorithm_signs_raw_and_digest_and_verifies_offline() {
    let h = Harness::new().await;
    let c = h.client();
    let mut cases: Vec<(&str, &str)> = [
        "RSASSA_PSS_SHA_256",
        "RSASSA_PSS_SHA_384",
        "RSASSA_PSS_SHA_512",
        "RSASSA_PKCS1_V1_5_SHA_256",
        "RSASSA_PKCS1_V1_5_SHA_384",
        "RSASSA_PKCS1_V1_5_SHA_512",
    ]
    .map(|a| ("RSA_2048", a))
    .to_vec();
    cases.extend([
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("ECC_NIST_P384", "ECDSA_SHA_384"),
        ("ECC_NIST_P521", "ECDSA_SHA_512"),
        ("ECC_SECG_P256K1", "ECDSA_SHA_256"),
        ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
    ]);
    let message = b"pay 100 to alice";
    for (spec, algorithm) in cases {
        let id = create(&c, spec, "SIGN_VERIFY").await;
        let public = public_key(&c, &id).await;
        let verifier = UnparsedPublicKey::new(offline_verifier(spec, algorithm), &public);
        let mut types = vec![("RAW", message.to_vec())];
        if algorithm != "ED25519_SHA_512" {
            types.push(("DIGEST", digest::digest(hash_of(algorithm), message).as_ref().to_vec()));
        }
        for (message_type, input) in types {
            let out = c
                .call(
                    "Sign",
                    json!({"KeyId": id, "Message": b64(&input), "MessageType": message_type,
                           "SigningAlgorithm": algorithm}),
                )
                .await
                .ok();
            assert_eq!(out["SigningAlgorithm"], algorithm);
            let sig = unb64(out["Signature"].as_str().unwrap());
            verifier.verify(message, &sig).unwrap_or_else(|_| panic!("{spec} {algorithm}"));
            let verify = |m: &[u8], s: &[u8]| {
                json!({"KeyId": id, "Message": b64(m), "MessageType": message_type,
                       "Signature": b64(s), "SigningAlgorithm": algorithm})
            };
            let ok = c.call("Verify", verify(&input, &sig)).await.ok();
            assert_eq!(ok["SignatureValid"], true);
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            let r =
                c.call("Verify", verify(&input, &bad)).await.err("KMSInvalidSignatureException");
            assert!(r.body.get("message").is_none());
        }
    }
}

#[tokio::test]
async fn ml_dsa_keys_sign_raw_messages_that_verify_offline() {
    let h = Harness::new().await;
    let c = h.client();
    for (spec, verifier) in [
        ("ML_DSA_44", &signature::ML_DSA_44),
        ("ML_DSA_65", &signature::ML_DSA_65),
        ("ML_DSA_87", &signature::ML_DSA_87),
    ] {
        let id = create(&c, spec, "SIGN_VERIFY").await;
        let meta = c.call("DescribeKey", json!({"KeyId": id})).await.ok()["KeyMetadata"].clone();
        assert_eq!(names(&meta["SigningAlgorithms"]), ["ML_DSA_SHAKE_256"]);
        let public = public_key(&c, &id).await;
        let sign = |t: &str, m: &[u8]| json!({"KeyId": id, "Message": b64(m), "MessageType": t, "SigningAlgorithm": "ML_DSA_SHAKE_256"});
        let out = c.call("Sign", sign("RAW", b"post-quantum")).await.ok();
        let sig = unb64(out["Signature"].as_str().unwrap());
        UnparsedPublicKey::new(verifier, &public).verify(b"post-quantum", &sig).unwrap();
        let mut verify = sign("RAW", b"post-quantum");
        verify["Signature"] = json!(b64(&sig));
        assert_eq!(c.call("Verify", verify.clone()).await.ok()["SignatureValid"], true);
        verify["Message"] = json!(b64(b"post-quantun"));
        c.call("Verify", verify).await.err("KMSInvalidSignatureException");
        c.call("Sign", sign("DIGEST", &[0; 64])).await.err("ValidationException");
        c.call("Sign", sign("EXTERNAL_MU", &[0; 64])).await.err("UnsupportedOperationException");
    }
}

#[tokio::test]
async fn sign_rejects_wrong_usage_algorithm_digest_length_and_oversized_messages() {
    let h = Harness::new().await;
    let c = h.client();
    let ecc = create(&c, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let sign = |m: Vec<u8>, t: &str, a: &str| json!({"KeyId": ecc, "Message": b64(&m), "MessageType": t, "SigningAlgorithm": a});
    let r = c.call("Sign", sign(vec![0; 31], "DIGEST", "ECDSA_SHA_256")).await;
    assert_eq!(
        r.err("ValidationException").message(),
        "Digest is invalid length for algorithm ECDSA_SHA_256."
    );
    let r = c.call("Sign", sign(vec![0; 48], "DIGEST", "ECDSA_SHA_384")).await;
    let r = r.err("InvalidKeyUsageException");
    assert_eq!(r.message(), "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.");
    let r = c.call("Sign", sign(vec![1; 4097], "RAW", "ECDSA_SHA_256")).await;
    assert!(r.err("ValidationException").message().contains("'message'"));
    c.call("Sign", sign(vec![1; 4096], "RAW", "ECDSA_SHA_256")).await.ok();
    let r = c.call("Sign", sign(vec![1], "RAW", "ECDSA_SHA_999")).await;
    assert!(r.err("ValidationException").message().contains("enum value set"));

    let symmetric = c.create_key().await;
    let r = c
        .call(
            "Sign",
            json!({"KeyId": symmetric, "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"}),
        )
        .await
        .err("InvalidKeyUsageException");
    assert!(r.message().ends_with("key usage is ENCRYPT_DECRYPT which is not valid for Sign."));
    let r = c.call("GetPublicKey", json!({"KeyId": symmetric})).await;
    r.err("UnsupportedOperationException");

    c.call("DisableKey", json!({"KeyId": ecc})).await.ok();
    c.call("Sign", sign(vec![1], "RAW", "ECDSA_SHA_256")).await.err("DisabledException");
    c.call("GetPublicKey", json!({"KeyId": ecc})).await.err("DisabledException");

    let ed = create(&c, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY").await;
    let r = c
        .call(
            "Sign",
            json!({"KeyId": ed, "Message": b64(&[0; 64]), "MessageType": "DIGEST",
                             "SigningAlgorithm": "ED25519_PH_SHA_512"}),
        )
        .await;
    r.ok();
    let r = c
        .call(
            "Sign",
            json!({"KeyId": ed, "Message": b64(&[0; 64]), "MessageType": "DIGEST",
                             "SigningAlgorithm": "ED25519_SHA_512"}),
        )
        .await;
    r.err("ValidationException");
}

#[tokio::test]
async fn rsa_encryption_with_the_public_key_decrypts_on_the_server_within_aws_limits() {
    let h = Harness::new().await;
    let c = h.client();
    let id = create(&c, "RSA_2048", "ENCRYPT_DECRYPT").await;
    let public = public_key(&c, &id).await;
    let key =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&public).unwrap()).unwrap();
    let mut out = vec![0u8; key.ciphertext_size()];
    let ciphertext =
        key.encrypt(&OAEP_SHA256_MGF1SHA256, b"offline secret", &mut out, None).unwrap();
    let decrypted = c
        .call(
            "Decrypt",
            json!({"KeyId": id, "CiphertextBlob": b64(ciphertext),
                                "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}),
        )
        .await
        .ok();
    assert_eq!(unb64(decrypted["Plaintext"].as_str().unwrap()), b"offline secret");
    assert_eq!(decrypted["EncryptionAlgorithm"], "RSAES_OAEP_SHA_256");
    // The wrong OAEP hash does not decrypt, and reveals nothing.
    let r = c
        .call(
            "Decrypt",
            json!({"KeyId": id, "CiphertextBlob": b64(ciphertext),
                                "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}),
        )
        .await
        .err("InvalidCiphertextException");
    assert!(r.body.get("message").is_none());
    // Without a KeyId the ciphertext names no key.
    c.call("Decrypt", json!({"CiphertextBlob": b64(ciphertext)}))
        .await
        .err("InvalidCiphertextException");

    for (algorithm, max) in [("RSAES_OAEP_SHA_1", 214), ("RSAES_OAEP_SHA_256", 190)] {
        let enc = |n: usize| json!({"KeyId": id, "Plaintext": b64(&vec![5; n]), "EncryptionAlgorithm": algorithm});
        let blob =
            c.call("Encrypt", enc(max)).await.ok()["CiphertextBlob"].as_str().unwrap().to_owned();
        let back = c
            .call(
                "Decrypt",
                json!({"KeyId": id, "CiphertextBlob": blob, "EncryptionAlgorithm": algorithm}),
            )
            .await
            .ok();
        assert_eq!(unb64(back["Plaintext"].as_str().unwrap()).len(), max);
        let r = c.call("Encrypt", enc(max + 1)).await.err("ValidationException");
        assert_eq!(
            r.message(),
            format!("Algorithm {algorithm} and key spec RSA_2048 cannot encrypt data larger than {max} bytes.")
        );
    }
    let r = c.call("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"x")})).await;
    assert_eq!(
        r.err("InvalidKeyUsageException").message(),
        "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    );
    let r = c.call("GenerateDataKey", json!({"KeyId": id, "KeySpec": "AES_256"})).await;
    r.err("InvalidKeyUsageException");
    let signing = create(&c, "RSA_2048", "SIGN_VERIFY").await;
    let r = c
        .call("Encrypt", json!({"KeyId": signing, "Plaintext": b64(b"x"), "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}))
        .await
        .err("InvalidKeyUsageException");
    assert!(r.message().ends_with("key usage is SIGN_VERIFY which is not valid for Encrypt."));
}

#[tokio::test]
async fn re_encrypt_moves_data_between_symmetric_and_rsa_keys() {
    let h = Harness::new().await;
    let c = h.client();
    let rsa = create(&c, "RSA_3072", "ENCRYPT_DECRYPT").await;
    let symmetric = c.create_key().await;
    let blob = c.encrypt(&symmetric, b"moving data", json!({"k": "v"})).await;
    let to_rsa = c
        .call("ReEncrypt", json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"k": "v"},
                                  "DestinationKeyId": rsa, "DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_1"}))
        .await
        .ok();
    assert_eq!(to_rsa["DestinationEncryptionAlgorithm"], "RSAES_OAEP_SHA_1");
    assert_eq!(to_rsa["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
    let rsa_blob = to_rsa["CiphertextBlob"].as_str().unwrap();
    // Back again: the asymmetric source needs its key id and algorithm.
    let r = c
        .call("ReEncrypt", json!({"CiphertextBlob": rsa_blob, "DestinationKeyId": symmetric}))
        .await;
    r.err("InvalidCiphertextException");
    let back = c
        .call("ReEncrypt", json!({"CiphertextBlob": rsa_blob, "SourceKeyId": rsa,
                                  "SourceEncryptionAlgorithm": "RSAES_OAEP_SHA_1",
                                  "DestinationKeyId": symmetric, "DestinationEncryptionContext": {"n": "1"}}))
        .await
        .ok();
    let plain = c.decrypt(back["CiphertextBlob"].as_str().unwrap(), json!({"n": "1"})).await.ok();
    assert_eq!(unb64(plain["Plaintext"].as_str().unwrap()), b"moving data");
    // An asymmetric destination takes no encryption context.
    let r = c
        .call("ReEncrypt", json!({"CiphertextBlob": blob, "SourceEncryptionContext": {"k": "v"},
                                  "DestinationKeyId": rsa, "DestinationEncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                                  "DestinationEncryptionContext": {"a": "b"}}))
        .await;
    r.err("ValidationException");
}

#[tokio::test]
async fn data_key_pairs_match_and_the_encrypted_private_key_decrypts() {
    let h = Harness::new().await;
    let c = h.client();
    let kek = c.create_key().await;
    for spec in ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"] {
        let out = c
            .call(
                "GenerateDataKeyPair",
                json!({"KeyId": kek, "KeyPairSpec": spec, "EncryptionContext": {"p": spec}}),
            )
            .await
            .ok();
        assert_eq!(out["KeyPairSpec"], spec);
        let private = unb64(out["PrivateKeyPlaintext"].as_str().unwrap());
        let public = unb64(out["PublicKey"].as_str().unwrap());
        let derived = match spec {
            "RSA_2048" => signature::RsaKeyPair::from_pkcs8(&private)
                .unwrap()
                .public_key()
                .as_der()
                .unwrap()
                .as_ref()
                .to_vec(),
            _ => {
                let alg = match spec {
                    "ECC_NIST_P256" => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    "ECC_NIST_P384" => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    "ECC_NIST_P521" => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                    _ => &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
                };
                let pair = signature::EcdsaKeyPair::from_pkcs8(alg, &private).unwrap();
                pair.public_key().as_der().unwrap().as_ref().to_vec()
            }
        };
        assert_eq!(derived, public, "{spec}");
        let decrypted = c
            .decrypt(out["PrivateKeyCiphertextBlob"].as_str().unwrap(), json!({"p": spec}))
            .await
            .ok();
        assert_eq!(unb64(decrypted["Plaintext"].as_str().unwrap()), private);
    }
    let out = c
        .call(
            "GenerateDataKeyPairWithoutPlaintext",
            json!({"KeyId": kek, "KeyPairSpec": "ECC_NIST_P256"}),
        )
        .await
        .ok();
    assert!(out.get("PrivateKeyPlaintext").is_none());
    assert!(out["PrivateKeyCiphertextBlob"].is_string());
    let rsa = create(&c, "RSA_2048", "ENCRYPT_DECRYPT").await;
    c.call("GenerateDataKeyPair", json!({"KeyId": rsa, "KeyPairSpec": "ECC_NIST_P256"}))
        .await
        .err("InvalidKeyUsageException");
    c.call("GenerateDataKeyPair", json!({"KeyId": kek, "KeyPairSpec": "SM2"}))
        .await
        .err("UnsupportedOperationException");
    c.call("GenerateDataKeyPair", json!({"KeyId": kek, "KeyPairSpec": "DSA"}))
        .await
        .err("ValidationException");
}

#[tokio::test]
async fn macs_round_trip_and_tampering_is_kms_invalid_mac() {
    let h = Harness::new().await;
    let c = h.client();
    let id = create(&c, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let gen = |m: &[u8], a: &str| json!({"KeyId": id, "Message": b64(m), "MacAlgorithm": a});
    let out = c.call("GenerateMac", gen(b"hello", "HMAC_SHA_256")).await.ok();
    let mac = unb64(out["Mac"].as_str().unwrap());
    assert_eq!(mac.len(), 32);
    let again = c.call("GenerateMac", gen(b"hello", "HMAC_SHA_256")).await.ok();
    assert_eq!(again["Mac"], out["Mac"]);
    let verify = |m: &[u8], t: &[u8]| json!({"KeyId": id, "Message": b64(m), "MacAlgorithm": "HMAC_SHA_256", "Mac": b64(t)});
    assert_eq!(c.call("VerifyMac", verify(b"hello", &mac)).await.ok()["MacValid"], true);
    let r = c.call("VerifyMac", verify(b"hellO", &mac)).await.err("KMSInvalidMacException");
    assert!(r.body.get("message").is_none());
    c.call("VerifyMac", verify(b"hello", &mac[..31])).await.err("KMSInvalidMacException");
    let r =
        c.call("GenerateMac", gen(b"hello", "HMAC_SHA_384")).await.err("InvalidKeyUsageException");
    assert_eq!(r.message(), "Algorithm HMAC_SHA_384 is incompatible with key spec HMAC_256.");
    let symmetric = c.create_key().await;
    let r = c
        .call(
            "GenerateMac",
            json!({"KeyId": symmetric, "Message": b64(b"m"), "MacAlgorithm": "HMAC_SHA_256"}),
        )
        .await
        .err("InvalidKeyUsageException");
    assert!(r
        .message()
        .ends_with("key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."));
    c.call("Encrypt", json!({"KeyId": id, "Plaintext": b64(b"x")}))
        .await
        .err("InvalidKeyUsageException");
}

#[tokio::test]
async fn derive_shared_secret_equals_the_peers_ecdh_result() {
    let h = Harness::new().await;
    let c = h.client();
    let id = create(&c, "ECC_NIST_P256", "KEY_AGREEMENT").await;
    let kms_public = public_key(&c, &id).await;
    let peer = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
    let peer_public = peer.compute_public_key().unwrap();
    let peer_spki = peer_public.as_der().unwrap().as_ref().to_vec();
    let out = c
        .call(
            "DeriveSharedSecret",
            json!({"KeyId": id, "KeyAgreementAlgorithm": "ECDH", "PublicKey": b64(&peer_spki)}),
        )
        .await
        .ok();
    assert_eq!(out["KeyOrigin"], "AWS_KMS");
    let expected = agreement::agree(
        &peer,
        agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, &kms_public),
        (),
        |s| Ok(s.to_vec()),
    )
    .unwrap();
    assert_eq!(unb64(out["SharedSecret"].as_str().unwrap()), expected);
    // A raw point, a key on another curve, or garbage: ValidationException without a message.
    let other_curve = agreement::PrivateKey::generate(&agreement::ECDH_P384).unwrap();
    let other_spki = other_curve.compute_public_key().unwrap().as_der().unwrap().as_ref().to_vec();
    for bad in [peer_public.as_ref().to_vec(), other_spki, vec![0x30, 0x00]] {
        let r = c
            .call(
                "DeriveSharedSecret",
                json!({"KeyId": id, "KeyAgreementAlgorithm": "ECDH", "PublicKey": b64(&bad)}),
            )
            .await
            .err("ValidationException");
        assert!(r.body.get("message").is_none());
    }
    let signing = create(&c, "ECC_NIST_P256", "SIGN_VERIFY").await;
    let r = c
        .call("DeriveSharedSecret", json!({"KeyId": signing, "KeyAgreementAlgorithm": "ECDH", "PublicKey": b64(&peer_spki)}))
        .await
        .err("InvalidKeyUsageException");
    assert!(r
        .message()
        .ends_with("key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret."));
    let r = c
        .call(
            "Sign",
            json!({"KeyId": id, "Message": b64(b"m"), "SigningAlgorithm": "ECDSA_SHA_256"}),
        )
        .await;
    r.err("InvalidKeyUsageException");
}

#[tokio::test]
async fn rotation_is_refused_for_asymmetric_and_hmac_keys() {
    let h = Harness::new().await;
    let c = h.client();
    for (spec, usage) in [("RSA_2048", "SIGN_VERIFY"), ("HMAC_256", "GENERATE_VERIFY_MAC")] {
        let id = create(&c, spec, usage).await;
        for op in
            ["EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus", "ListKeyRotations"]
        {
            let r = c.call(op, json!({"KeyId": id})).await.err("UnsupportedOperationException");
            assert!(r.message().contains(spec), "{op}: {}", r.message());
        }
        let r = c.call("RotateKeyOnDemand", json!({"KeyId": id})).await;
        assert!(r.err("UnsupportedOperationException").body.get("message").is_none());
    }
}

#[tokio::test]
async fn ed25519ph_signs_sha512_digests_and_does_not_mix_with_pure_ed25519() {
    use digest::{digest, SHA512};
    let h = Harness::new().await;
    let c = h.client();
    let ed = create(&c, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY").await;
    let message = b"the quick brown fox";
    let prehash = digest(&SHA512, message);
    let call = |op: &'static str, body: Value| {
        let c = c.clone();
        async move { c.call(op, body).await }
    };
    let ph = |extra: Value| {
        let mut body = json!({"KeyId": ed, "Message": b64(prehash.as_ref()), "MessageType": "DIGEST",
                              "SigningAlgorithm": "ED25519_PH_SHA_512"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let signed = call("Sign", ph(json!({}))).await.ok();
    assert_eq!(signed["SigningAlgorithm"], "ED25519_PH_SHA_512");
    let ph_signature = signed["Signature"].clone();
    assert_eq!(unb64(ph_signature.as_str().unwrap()).len(), 64);
    let out = call("Verify", ph(json!({"Signature": ph_signature}))).await.ok();
    assert_eq!(out["SignatureValid"], true);
    // Ed25519ph is deterministic: the same digest gives the same signature.
    assert_eq!(call("Sign", ph(json!({}))).await.ok()["Signature"], ph_signature);

    // KMS takes ED25519_PH_SHA_512 with DIGEST only, and 64-byte digests only.
    let r = call("Sign", ph(json!({"MessageType": "RAW", "Message": b64(message)}))).await;
    let r = r.err("ValidationException");
    assert_eq!(
        r.message(),
        "The ED25519_PH_SHA_512 signing algorithm requires MessageType DIGEST."
    );
    call("Sign", ph(json!({"Message": b64(&[1; 32])}))).await.err("ValidationException");
    call(
        "Verify",
        ph(json!({"Signature": ph_signature, "MessageType": "RAW", "Message": b64(message)})),
    )
    .await
    .err("ValidationException");

    // A different digest fails.
    let other = digest(&SHA512, b"the quick brown cat");
    call("Verify", ph(json!({"Signature": ph_signature, "Message": b64(other.as_ref())})))
        .await
        .err("KMSInvalidSignatureException");

    // Pure Ed25519 signatures and Ed25519ph signatures never stand in for each other.
    let pure = call(
        "Sign",
        json!({"KeyId": ed, "Message": b64(message), "SigningAlgorithm": "ED25519_SHA_512"}),
    )
    .await
    .ok();
    call("Verify", ph(json!({"Signature": pure["Signature"]})))
        .await
        .err("KMSInvalidSignatureException");
    call(
        "Verify",
        json!({"KeyId": ed, "Message": b64(message), "SigningAlgorithm": "ED25519_SHA_512",
               "Signature": ph_signature}),
    )
    .await
    .err("KMSInvalidSignatureException");
    // The pure signature verifies outside KMS with the public key; the prehashed one does not.
    let public = public_key(&c, &ed).await;
    let point = &public[public.len() - 32..];
    let verifier = UnparsedPublicKey::new(&signature::ED25519, point);
    verifier.verify(message, &unb64(pure["Signature"].as_str().unwrap())).unwrap();
    assert!(verifier.verify(message, &unb64(ph_signature.as_str().unwrap())).is_err());
}

#[tokio::test]
async fn a_deny_on_the_encryption_algorithm_holds_for_asymmetric_decrypt_and_reencrypt() {
    let h = Harness::new().await;
    let c = h.client();
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}}}
    ]});
    let out = c
        .call(
            "CreateKey",
            json!({"KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT", "Policy": policy.to_string()}),
        )
        .await
        .ok();
    let id = out["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let encrypt = |algorithm: &str| json!({"KeyId": id, "Plaintext": b64(b"s"), "EncryptionAlgorithm": algorithm});
    let sha1 = c.call("Encrypt", encrypt("RSAES_OAEP_SHA_1")).await.ok()["CiphertextBlob"].clone();
    let sha256 =
        c.call("Encrypt", encrypt("RSAES_OAEP_SHA_256")).await.ok()["CiphertextBlob"].clone();
    let decrypt = |blob: &Value, algorithm: &str| json!({"KeyId": id, "CiphertextBlob": blob, "EncryptionAlgorithm": algorithm});
    c.call("Decrypt", decrypt(&sha1, "RSAES_OAEP_SHA_1")).await.err("AccessDeniedException");
    c.call("Decrypt", decrypt(&sha256, "RSAES_OAEP_SHA_256")).await.ok();
    let destination = c.create_key().await;
    let reencrypt = |blob: &Value, algorithm: &str| {
        json!({"CiphertextBlob": blob, "SourceKeyId": id, "SourceEncryptionAlgorithm": algorithm,
               "DestinationKeyId": destination})
    };
    c.call("ReEncrypt", reencrypt(&sha1, "RSAES_OAEP_SHA_1")).await.err("AccessDeniedException");
    c.call("ReEncrypt", reencrypt(&sha256, "RSAES_OAEP_SHA_256")).await.ok();
}
