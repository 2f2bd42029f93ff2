//! The AWS KMS RSA keyring (spec `framework/aws-kms/aws-kms-rsa-keyring.md`): encrypts with
//! only the public key (no KMS call), decrypts through a fake KMS that holds the private key.
// Helper functions here are test code too, outside `#[test]`, so unwrapping is fine.
#![allow(clippy::unwrap_used)]

mod keyring_common;

use std::sync::Arc;

use keyring_common::*;
use kms_envelope::keyring::kms_rsa::{
    AwsKmsRsaKeyring, KmsRsaEncryptionAlgorithm, AWS_KMS_RSA_PROVIDER_ID,
};
use kms_envelope::keyring::Keyring;
use kms_envelope::materials::{EncryptionMaterials, PlaintextDataKey};
use kms_envelope::suite::{
    AES_128_GCM_IV12_TAG16_HKDF_SHA256, AES_256_GCM_HKDF_SHA512_COMMIT_KEY, ALL_SUITES,
    DEFAULT_SUITE,
};
use kms_envelope::Error;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::{Oaep, RsaPrivateKey};
use sha2::{Digest, Sha384};

const RSA_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/rsa-1111-2222";
const SUITE: &kms_envelope::suite::AlgorithmSuite = &AES_256_GCM_HKDF_SHA512_COMMIT_KEY;

fn fake() -> Arc<FakeKms> {
    Arc::new(FakeKms::new().with_rsa_key(RSA_KEY, &rsa_private_pem()))
}

fn encryptor(algorithm: KmsRsaEncryptionAlgorithm) -> AwsKmsRsaKeyring {
    AwsKmsRsaKeyring::new(RSA_KEY, algorithm)
        .unwrap()
        .with_public_key_pem(&rsa_public_pem())
        .unwrap()
}

fn decryptor(kms: &Arc<FakeKms>, algorithm: KmsRsaEncryptionAlgorithm) -> AwsKmsRsaKeyring {
    AwsKmsRsaKeyring::new(RSA_KEY, algorithm).unwrap().with_client(kms.clone())
}

fn context() -> kms_envelope::materials::EncryptionContext {
    ec(&[("department", "finance"), ("stage", "prod")])
}

fn encrypt(algorithm: KmsRsaEncryptionAlgorithm) -> EncryptionMaterials {
    block_on(encryptor(algorithm).on_encrypt(enc_materials(SUITE, context()))).unwrap()
}

#[test]
fn encrypts_with_only_the_public_key_and_decrypts_through_kms() {
    for algorithm in
        [KmsRsaEncryptionAlgorithm::RsaesOaepSha1, KmsRsaEncryptionAlgorithm::RsaesOaepSha256]
    {
        let enc = encrypt(algorithm);
        let edk = &enc.encrypted_data_keys[0];
        assert_eq!(edk.provider_id, AWS_KMS_RSA_PROVIDER_ID);
        assert_eq!(edk.provider_info, RSA_KEY.as_bytes());
        let kms = fake();
        let dec = block_on(
            decryptor(&kms, algorithm)
                .on_decrypt(dec_materials(SUITE, context()), &enc.encrypted_data_keys),
        )
        .unwrap();
        assert_eq!(key_bytes(&dec.plaintext_data_key), key_bytes(&enc.plaintext_data_key));
        let calls = kms.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].operation, "Decrypt");
        assert_eq!(calls[0].key_id.as_deref(), Some(RSA_KEY));
        assert_eq!(calls[0].encryption_algorithm.as_deref(), Some(algorithm.as_str()));
        assert!(calls[0].encryption_context.is_empty(), "the context is bound by digest, not sent");
    }
}

/// The RSA plaintext is SHA-384(serialised context) || data key.
#[test]
fn rsa_plaintext_is_the_context_digest_then_the_data_key() {
    let enc = encrypt(KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    let private = RsaPrivateKey::from_pkcs8_pem(&rsa_private_pem()).unwrap();
    let opened = private
        .decrypt(Oaep::new::<sha2::Sha256>(), &enc.encrypted_data_keys[0].ciphertext)
        .unwrap();
    let digest = Sha384::digest(serialize_ec(&context()));
    assert_eq!(&opened[..48], digest.as_slice());
    assert_eq!(&opened[48..], key_bytes(&enc.plaintext_data_key).as_slice());
}

#[test]
fn encryption_context_digest_mismatch_is_rejected() {
    let enc = encrypt(KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    let kms = fake();
    let keyring = decryptor(&kms, KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    for other in
        [ec(&[]), ec(&[("department", "finance")]), ec(&[("department", "hr"), ("stage", "prod")])]
    {
        let err =
            block_on(keyring.on_decrypt(dec_materials(SUITE, other), &enc.encrypted_data_keys))
                .unwrap_err();
        assert!(matches!(err, Error::Keyring(ref t) if t.contains("encryption context")), "{err}");
    }
}

#[test]
fn signed_suites_are_refused_both_ways() {
    let err = block_on(
        encryptor(KmsRsaEncryptionAlgorithm::RsaesOaepSha1)
            .on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[]))),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
    let kms = fake();
    let err = block_on(
        decryptor(&kms, KmsRsaEncryptionAlgorithm::RsaesOaepSha1)
            .on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &[]),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
    for suite in ALL_SUITES.iter().filter(|s| !s.is_signed()) {
        assert!(block_on(
            encryptor(KmsRsaEncryptionAlgorithm::RsaesOaepSha1)
                .on_encrypt(enc_materials(suite, ec(&[])))
        )
        .is_ok());
    }
}

#[test]
fn needs_a_public_key_to_encrypt_and_a_client_to_decrypt() {
    let no_public =
        AwsKmsRsaKeyring::new(RSA_KEY, KmsRsaEncryptionAlgorithm::RsaesOaepSha256).unwrap();
    assert!(matches!(
        block_on(no_public.on_encrypt(enc_materials(SUITE, ec(&[])))),
        Err(Error::ApiMisuse(_))
    ));
    let enc = encrypt(KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    let no_client = encryptor(KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    let err =
        block_on(no_client.on_decrypt(dec_materials(SUITE, context()), &enc.encrypted_data_keys))
            .unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
}

#[test]
fn wrong_algorithm_or_key_id_in_response_fails() {
    let enc = encrypt(KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    let kms = fake();
    let wrong_algorithm = decryptor(&kms, KmsRsaEncryptionAlgorithm::RsaesOaepSha1);
    assert!(matches!(
        block_on(
            wrong_algorithm.on_decrypt(dec_materials(SUITE, context()), &enc.encrypted_data_keys)
        ),
        Err(Error::Kms(_))
    ));
    *kms.lie_about_key_id.lock().unwrap() =
        Some("arn:aws:kms:us-east-1:111122223333:key/other".into());
    let keyring = decryptor(&kms, KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    assert!(matches!(
        block_on(keyring.on_decrypt(dec_materials(SUITE, context()), &enc.encrypted_data_keys)),
        Err(Error::Keyring(_))
    ));
}

#[test]
fn only_matching_edks_are_sent_to_kms() {
    let enc = encrypt(KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    let kms = fake();
    let other = AwsKmsRsaKeyring::new(
        "arn:aws:kms:us-east-1:111122223333:key/another",
        KmsRsaEncryptionAlgorithm::RsaesOaepSha256,
    )
    .unwrap()
    .with_client(kms.clone());
    let err = block_on(other.on_decrypt(dec_materials(SUITE, context()), &enc.encrypted_data_keys))
        .unwrap_err();
    assert!(matches!(err, Error::NoDecryptableDataKey), "{err}");
    assert!(kms.calls().is_empty());
    // An aws-kms-rsa EDK whose provider info is not a key ARN fails the decrypt.
    let mut bad = enc.encrypted_data_keys[0].clone();
    bad.provider_info = b"not-an-arn".to_vec();
    let keyring = decryptor(&kms, KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    assert!(matches!(
        block_on(keyring.on_decrypt(dec_materials(SUITE, context()), &[bad])),
        Err(Error::Keyring(_))
    ));
}

#[test]
fn grant_tokens_reach_kms() {
    let enc = encrypt(KmsRsaEncryptionAlgorithm::RsaesOaepSha1);
    let kms = fake();
    let keyring = decryptor(&kms, KmsRsaEncryptionAlgorithm::RsaesOaepSha1)
        .with_grant_tokens(vec!["gt".into()]);
    block_on(keyring.on_decrypt(dec_materials(SUITE, context()), &enc.encrypted_data_keys))
        .unwrap();
    assert_eq!(kms.calls()[0].grant_tokens, ["gt"]);
}

#[test]
fn keeps_a_given_data_key_and_checks_the_decrypted_length() {
    let mut m = enc_materials(SUITE, context());
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![7; 32])).unwrap();
    let enc =
        block_on(encryptor(KmsRsaEncryptionAlgorithm::RsaesOaepSha256).on_encrypt(m)).unwrap();
    let kms = fake();
    let keyring = decryptor(&kms, KmsRsaEncryptionAlgorithm::RsaesOaepSha256);
    let dec =
        block_on(keyring.on_decrypt(dec_materials(SUITE, context()), &enc.encrypted_data_keys))
            .unwrap();
    assert_eq!(key_bytes(&dec.plaintext_data_key), vec![7; 32]);
    // The same EDK offered for a 16-byte suite: the plaintext is too long.
    let err = block_on(keyring.on_decrypt(
        dec_materials(&AES_128_GCM_IV12_TAG16_HKDF_SHA256, context()),
        &enc.encrypted_data_keys,
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Keyring(_)), "{err}");
}

#[test]
fn configuration_is_validated() {
    use KmsRsaEncryptionAlgorithm::RsaesOaepSha256 as A;
    assert!(matches!(AwsKmsRsaKeyring::new("alias/rsa", A), Err(Error::InvalidKey(_))));
    assert!(matches!(
        AwsKmsRsaKeyring::new("arn:aws:kms:us-east-1:1:alias/rsa", A),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(AwsKmsRsaKeyring::new("", A), Err(Error::InvalidKey(_))));
    // DER from KMS GetPublicKey (SPKI) loads; a 1024-bit key does not.
    let private = RsaPrivateKey::from_pkcs8_pem(&rsa_private_pem()).unwrap();
    let der = private.to_public_key().to_public_key_der().unwrap();
    assert!(AwsKmsRsaKeyring::new(RSA_KEY, A).unwrap().with_public_key_der(der.as_bytes()).is_ok());
    let small = RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
    let small_der = small.to_public_key().to_public_key_der().unwrap();
    assert!(matches!(
        AwsKmsRsaKeyring::new(RSA_KEY, A).unwrap().with_public_key_der(small_der.as_bytes()),
        Err(Error::InvalidKey(_))
    ));
}

#[test]
fn on_decrypt_must_fail_when_the_materials_already_contain_a_data_key() {
    let algorithm = KmsRsaEncryptionAlgorithm::RsaesOaepSha256;
    let enc = encrypt(algorithm);
    let kms = fake();
    let mut m = dec_materials(SUITE, context());
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; SUITE.data_key_len()])).unwrap();
    let err =
        block_on(decryptor(&kms, algorithm).on_decrypt(m, &enc.encrypted_data_keys)).unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
    assert!(kms.calls().is_empty(), "KMS is not called");
}
