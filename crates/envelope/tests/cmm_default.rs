//! The default materials manager (spec `framework/default-cmm.md`, `framework/cmm-interface.md`).

mod cmm_common;

use std::sync::Arc;

use kms_api::base64;

use cmm_common::{
    block_on, data_key, dec_request, decrypted_key, ec, enc_request, Fault, TestKeyring,
};
use kms_envelope::cmm::default::DefaultCmm;
use kms_envelope::cmm::{CryptographicMaterialsManager, DecryptMaterialsRequest};
use kms_envelope::materials::PUBLIC_KEY_CONTEXT_KEY;
use kms_envelope::suite::SignatureAlgorithm;
use kms_envelope::suite::{self, AlgorithmSuite, CommitmentPolicy, ALL_SUITES};
use kms_envelope::Error;

fn cmm() -> (DefaultCmm, Arc<TestKeyring>) {
    let keyring = TestKeyring::new();
    (DefaultCmm::new(keyring.clone()), keyring)
}

/// A policy under which `suite` may encrypt.
fn encrypting_policy(suite: &AlgorithmSuite) -> CommitmentPolicy {
    if suite.committing {
        CommitmentPolicy::RequireEncryptRequireDecrypt
    } else {
        CommitmentPolicy::ForbidEncryptAllowDecrypt
    }
}

#[test]
fn encrypt_must_fail_when_context_already_has_the_public_key() {
    let (cmm, keyring) = cmm();
    let request = enc_request(ec(&[(PUBLIC_KEY_CONTEXT_KEY, "AAAA")]), None, None);
    let err = block_on(cmm.get_encryption_materials(request)).unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
    // Also for unsigned suites, and before any keyring call.
    let mut request = enc_request(
        ec(&[(PUBLIC_KEY_CONTEXT_KEY, "x"), ("a", "b")]),
        Some(&suite::AES_256_GCM_HKDF_SHA512_COMMIT_KEY),
        None,
    );
    request.commitment_policy = CommitmentPolicy::RequireEncryptRequireDecrypt;
    assert!(block_on(cmm.get_encryption_materials(request)).is_err());
    assert_eq!(keyring.calls(), 0);
}

#[test]
fn signed_suites_get_a_signing_key_whose_compressed_public_key_is_in_the_context() {
    let signed: Vec<_> = ALL_SUITES.iter().filter(|s| s.is_signed()).collect();
    assert_eq!(signed.iter().map(|s| s.id).collect::<Vec<_>>(), [0x0214, 0x0346, 0x0378, 0x0578]);
    for s in signed {
        let (cmm, _) = cmm();
        let mut request = enc_request(ec(&[("purpose", "test")]), Some(s), None);
        request.commitment_policy = encrypting_policy(s);
        let materials = block_on(cmm.get_encryption_materials(request)).unwrap();
        assert_eq!(materials.suite.id, s.id);
        assert_eq!(materials.encryption_context.get("purpose").unwrap(), "test");

        let encoded = materials.encryption_context.get(PUBLIC_KEY_CONTEXT_KEY).unwrap();
        let point = base64::decode(encoded).unwrap();
        let expected_len = if s.id == 0x0214 { 33 } else { 49 };
        assert_eq!(point.len(), expected_len, "compressed SEC1 point for 0x{:04x}", s.id);
        assert!(point[0] == 0x02 || point[0] == 0x03);

        let signing_key = materials.signing_key.as_ref().expect("signing key");
        let p256 = signing_key.algorithm() == SignatureAlgorithm::EcdsaP256Sha256;
        assert_eq!(p256, s.id == 0x0214);
        let expected = signing_key.verifying_key();

        // Decrypting the same context yields the matching verification key.
        let decrypted = block_on(cmm.decrypt_materials(dec_request(&materials, None))).unwrap();
        assert_eq!(decrypted.verifying_key.as_ref(), Some(&expected));
        assert_eq!(decrypted_key(&decrypted), data_key(&materials));
    }
}

#[test]
fn signing_keys_are_fresh_per_call() {
    let (cmm, _) = cmm();
    let a = block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, None))).unwrap();
    let b = block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, None))).unwrap();
    assert_ne!(
        a.encryption_context.get(PUBLIC_KEY_CONTEXT_KEY).unwrap(),
        b.encryption_context.get(PUBLIC_KEY_CONTEXT_KEY).unwrap()
    );
    assert_ne!(data_key(&a), data_key(&b));
}

#[test]
fn unsigned_suites_get_neither_signing_key_nor_public_key() {
    for s in ALL_SUITES.iter().filter(|s| !s.is_signed()) {
        let (cmm, _) = cmm();
        let mut request = enc_request(ec(&[("a", "b")]), Some(s), None);
        request.commitment_policy = encrypting_policy(s);
        let materials = block_on(cmm.get_encryption_materials(request)).unwrap();
        assert!(materials.signing_key.is_none());
        assert!(!materials.encryption_context.contains_key(PUBLIC_KEY_CONTEXT_KEY));
        assert_eq!(materials.encryption_context, ec(&[("a", "b")]));
        assert_eq!(data_key(&materials).len(), s.data_key_len());
    }
}

#[test]
fn encrypt_without_a_suite_uses_the_commitment_policy_default() {
    for (policy, id) in [
        (CommitmentPolicy::RequireEncryptRequireDecrypt, 0x0578),
        (CommitmentPolicy::RequireEncryptAllowDecrypt, 0x0578),
        (CommitmentPolicy::ForbidEncryptAllowDecrypt, 0x0378),
    ] {
        let (cmm, _) = cmm();
        let mut request = enc_request(ec(&[]), None, None);
        request.commitment_policy = policy;
        let materials = block_on(cmm.get_encryption_materials(request)).unwrap();
        assert_eq!(materials.suite.id, id);
        assert!(!materials.encrypted_data_keys.is_empty());
    }
}

#[test]
fn encrypt_must_fail_when_the_suite_violates_the_commitment_policy() {
    let cases: [(CommitmentPolicy, &'static AlgorithmSuite); 3] = [
        (
            CommitmentPolicy::RequireEncryptRequireDecrypt,
            &suite::AES_256_GCM_IV12_TAG16_HKDF_SHA256,
        ),
        (CommitmentPolicy::RequireEncryptAllowDecrypt, &suite::AES_128_GCM_IV12_TAG16_NO_KDF),
        (CommitmentPolicy::ForbidEncryptAllowDecrypt, &suite::AES_256_GCM_HKDF_SHA512_COMMIT_KEY),
    ];
    for (policy, s) in cases {
        let (cmm, keyring) = cmm();
        let mut request = enc_request(ec(&[]), Some(s), None);
        request.commitment_policy = policy;
        let err = block_on(cmm.get_encryption_materials(request)).unwrap_err();
        assert!(matches!(err, Error::CommitmentPolicy(id) if id == s.id), "{err:?}");
        assert_eq!(keyring.calls(), 0);
    }
}

#[test]
fn decrypt_must_fail_when_the_suite_violates_the_commitment_policy() {
    let (cmm, keyring) = cmm();
    let mut request = enc_request(ec(&[]), Some(&suite::AES_256_GCM_IV12_TAG16_HKDF_SHA256), None);
    request.commitment_policy = CommitmentPolicy::ForbidEncryptAllowDecrypt;
    let materials = block_on(cmm.get_encryption_materials(request)).unwrap();

    let mut strict = dec_request(&materials, None);
    strict.commitment_policy = CommitmentPolicy::RequireEncryptRequireDecrypt;
    let err = block_on(cmm.decrypt_materials(strict)).unwrap_err();
    assert!(matches!(err, Error::CommitmentPolicy(0x0178)), "{err:?}");
    assert_eq!(keyring.decrypt_calls(), 0);

    for policy in
        [CommitmentPolicy::RequireEncryptAllowDecrypt, CommitmentPolicy::ForbidEncryptAllowDecrypt]
    {
        let mut lenient = dec_request(&materials, None);
        lenient.commitment_policy = policy;
        assert!(block_on(cmm.decrypt_materials(lenient)).is_ok());
    }
}

#[test]
fn decrypt_of_a_signed_suite_must_fail_without_the_public_key() {
    let (cmm, keyring) = cmm();
    let materials =
        block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, None))).unwrap();
    let mut request = dec_request(&materials, None);
    request.encryption_context.remove(PUBLIC_KEY_CONTEXT_KEY);
    let err = block_on(cmm.decrypt_materials(request)).unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
    assert_eq!(keyring.decrypt_calls(), 0);
}

#[test]
fn decrypt_of_an_unsigned_suite_must_fail_with_a_public_key() {
    let (cmm, keyring) = cmm();
    let s = &suite::AES_256_GCM_HKDF_SHA512_COMMIT_KEY;
    let materials =
        block_on(cmm.get_encryption_materials(enc_request(ec(&[]), Some(s), None))).unwrap();
    let mut request = dec_request(&materials, None);
    request.encryption_context.insert(PUBLIC_KEY_CONTEXT_KEY.into(), "AoGq".into());
    let err = block_on(cmm.decrypt_materials(request)).unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");

    // Nor may the caller slip one in through the reproduced context.
    let request = dec_request(&materials, Some(ec(&[(PUBLIC_KEY_CONTEXT_KEY, "AoGq")])));
    assert!(block_on(cmm.decrypt_materials(request)).is_err());
    assert_eq!(keyring.decrypt_calls(), 0);
}

#[test]
fn decrypt_rejects_a_malformed_public_key() {
    let (cmm, _) = cmm();
    let materials =
        block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, None))).unwrap();
    let p256_point = {
        let mut r =
            enc_request(ec(&[]), Some(&suite::AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256), None);
        r.commitment_policy = CommitmentPolicy::ForbidEncryptAllowDecrypt;
        let m = block_on(cmm.get_encryption_materials(r)).unwrap();
        m.encryption_context.get(PUBLIC_KEY_CONTEXT_KEY).unwrap().clone()
    };
    for bad in ["not base64!", "", "AAAA", p256_point.as_str()] {
        let mut request = dec_request(&materials, None);
        request.encryption_context.insert(PUBLIC_KEY_CONTEXT_KEY.into(), bad.into());
        let err = block_on(cmm.decrypt_materials(request)).unwrap_err();
        assert!(matches!(err, Error::InvalidKey(_)), "{bad:?}: {err:?}");
    }
}

#[test]
fn reproduced_context_must_agree_and_extra_pairs_become_required_keys() {
    let (cmm, _) = cmm();
    let context = ec(&[("tenant", "a"), ("purpose", "x")]);
    let materials =
        block_on(cmm.get_encryption_materials(enc_request(context.clone(), None, None))).unwrap();

    // Agreeing values: accepted, nothing added.
    let ok =
        block_on(cmm.decrypt_materials(dec_request(&materials, Some(context.clone())))).unwrap();
    assert!(ok.required_encryption_context_keys.is_empty());
    assert_eq!(ok.encryption_context, materials.encryption_context);

    // A differing value for a stored key fails.
    let err =
        block_on(cmm.decrypt_materials(dec_request(&materials, Some(ec(&[("tenant", "b")])))))
            .unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
}

#[test]
fn required_keys_round_trip_through_the_reproduced_context() {
    let (cmm, _) = cmm();
    let mut request = enc_request(ec(&[("tenant", "a"), ("secret-ish", "v")]), None, None);
    request.required_encryption_context_keys = vec!["secret-ish".into(), "secret-ish".into()];
    let materials = block_on(cmm.get_encryption_materials(request)).unwrap();
    assert_eq!(materials.required_encryption_context_keys, ["secret-ish"]);

    // The message stores the context without the required key; the caller reproduces it.
    let stored = cmm_common::stored_context(&materials);
    assert!(!stored.contains_key("secret-ish"));
    let request = DecryptMaterialsRequest {
        encryption_context: stored.clone(),
        reproduced_encryption_context: Some(ec(&[("secret-ish", "v")])),
        ..dec_request(&materials, None)
    };
    let decrypted = block_on(cmm.decrypt_materials(request)).unwrap();
    assert_eq!(decrypted.required_encryption_context_keys, ["secret-ish"]);
    assert_eq!(decrypted.encryption_context, materials.encryption_context);
    assert_eq!(decrypted_key(&decrypted), data_key(&materials));

    // A wrong reproduced value is not detectable by the CMM but fails authentication.
    let request = DecryptMaterialsRequest {
        encryption_context: stored,
        reproduced_encryption_context: Some(ec(&[("secret-ish", "w")])),
        ..dec_request(&materials, None)
    };
    assert!(block_on(cmm.decrypt_materials(request)).is_err());
}

#[test]
fn encrypt_must_fail_when_a_required_key_is_not_in_the_context() {
    let (cmm, keyring) = cmm();
    let mut request = enc_request(ec(&[("a", "1")]), None, None);
    request.required_encryption_context_keys = vec!["b".into()];
    let err = block_on(cmm.get_encryption_materials(request)).unwrap_err();
    assert!(matches!(err, Error::EncryptionContext(_)), "{err:?}");
    assert_eq!(keyring.calls(), 0);
}

#[test]
fn every_call_goes_to_the_keyring_once() {
    let (cmm, keyring) = cmm();
    for i in 0..5 {
        let m =
            block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, Some(1)))).unwrap();
        assert_eq!(keyring.encrypt_calls(), i + 1);
        block_on(cmm.decrypt_materials(dec_request(&m, None))).unwrap();
        assert_eq!(keyring.decrypt_calls(), i + 1);
    }
}

#[test]
fn encrypt_must_fail_when_the_keyring_adds_no_encrypted_data_key() {
    let cmm = DefaultCmm::new(TestKeyring::with_fault(Fault::NoEncryptedDataKey));
    let err = block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, None))).unwrap_err();
    assert!(matches!(err, Error::Keyring(_)), "{err:?}");
}

#[test]
fn encrypt_must_fail_when_the_keyring_returns_no_plaintext_data_key() {
    let cmm = DefaultCmm::new(TestKeyring::with_fault(Fault::NoPlaintextDataKey));
    let err = block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, None))).unwrap_err();
    assert!(matches!(err, Error::Keyring(_)), "{err:?}");
}

#[test]
fn decrypt_fails_when_no_data_key_can_be_decrypted() {
    let (cmm, _) = cmm();
    let materials =
        block_on(cmm.get_encryption_materials(enc_request(ec(&[]), None, None))).unwrap();
    let request =
        DecryptMaterialsRequest { encrypted_data_keys: &[], ..dec_request(&materials, None) };
    let err = block_on(cmm.decrypt_materials(request)).unwrap_err();
    assert!(matches!(err, Error::NoDecryptableDataKey), "{err:?}");
}
