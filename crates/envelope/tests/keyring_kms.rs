//! The AWS KMS keyrings (specs `framework/aws-kms/*.md`) against an in-memory fake KMS.
// Helper functions here are test code too, outside `#[test]`, so unwrapping is fine.
#![allow(clippy::unwrap_used)]

mod keyring_common;

use std::sync::Arc;

use keyring_common::*;
use kms_envelope::keyring::kms::{
    AwsKmsDiscoveryKeyring, AwsKmsKeyring, AwsKmsMrkDiscoveryKeyring, AwsKmsMrkKeyring,
    DiscoveryFilter, AWS_KMS_PROVIDER_ID,
};
use kms_envelope::keyring::Keyring;
use kms_envelope::materials::{EncryptedDataKey, EncryptionMaterials, PlaintextDataKey};
use kms_envelope::suite::{AES_128_GCM_IV12_TAG16_HKDF_SHA256, DEFAULT_SUITE};
use kms_envelope::Error;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER_KEY: &str =
    "arn:aws:kms:us-east-1:111122223333:key/99999999-0000-0000-0000-000000000000";
const FOREIGN_ACCOUNT_KEY: &str = "arn:aws:kms:us-east-1:444455556666:key/abcd";
const WEST_KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/5678";
const MRK_EAST: &str =
    "arn:aws:kms:us-east-1:111122223333:key/mrk-80bd8ecdcd4342aebd84b7dc9da498a7";
const MRK_WEST: &str =
    "arn:aws:kms:us-west-2:111122223333:key/mrk-80bd8ecdcd4342aebd84b7dc9da498a7";

fn fake() -> Arc<FakeKms> {
    Arc::new(
        FakeKms::new()
            .with_symmetric_key(KEY)
            .with_symmetric_key(OTHER_KEY)
            .with_symmetric_key(FOREIGN_ACCOUNT_KEY)
            .with_symmetric_key(WEST_KEY)
            .with_symmetric_key(MRK_EAST)
            .with_symmetric_key(MRK_WEST),
    )
}

fn context() -> kms_envelope::materials::EncryptionContext {
    ec(&[("tenant", "acme"), ("purpose", "test")])
}

fn encrypt_with(kms: &Arc<FakeKms>, key: &str) -> EncryptionMaterials {
    let keyring = AwsKmsKeyring::new(kms.clone(), key).unwrap();
    block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, context()))).unwrap()
}

fn decrypt(keyring: &dyn Keyring, edks: &[EncryptedDataKey]) -> Result<Vec<u8>, Error> {
    block_on(keyring.on_decrypt(dec_materials(DEFAULT_SUITE, context()), edks))
        .map(|m| key_bytes(&m.plaintext_data_key))
}

fn decrypt_calls(kms: &FakeKms) -> Vec<Call> {
    kms.calls().into_iter().filter(|c| c.operation == "Decrypt").collect()
}

#[test]
fn strict_keyring_generates_then_encrypts_and_round_trips() {
    let kms = fake();
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    let enc = block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, context()))).unwrap();
    let edk = &enc.encrypted_data_keys[0];
    assert_eq!(edk.provider_id, AWS_KMS_PROVIDER_ID);
    assert_eq!(edk.provider_info, KEY.as_bytes());
    let calls = kms.calls();
    assert_eq!(calls[0].operation, "GenerateDataKey");
    assert_eq!(calls[0].key_id.as_deref(), Some(KEY));
    assert_eq!(calls[0].encryption_context, context());

    // A second keyring adds its EDK with Encrypt, for the same data key.
    let second = AwsKmsKeyring::new(kms.clone(), OTHER_KEY).unwrap();
    let enc = block_on(second.on_encrypt(enc)).unwrap();
    assert_eq!(kms.calls()[1].operation, "Encrypt");
    assert_eq!(enc.encrypted_data_keys[1].provider_info, OTHER_KEY.as_bytes());

    let key = key_bytes(&enc.plaintext_data_key);
    assert_eq!(decrypt(&keyring, &enc.encrypted_data_keys).unwrap(), key);
    assert_eq!(decrypt(&second, &enc.encrypted_data_keys).unwrap(), key);
    // Decrypt names the configured key and passes the context.
    let calls = decrypt_calls(&kms);
    assert_eq!(calls[0].key_id.as_deref(), Some(KEY));
    assert_eq!(calls[0].encryption_context, context());
    assert_eq!(calls[1].key_id.as_deref(), Some(OTHER_KEY));
}

#[test]
fn strict_keyring_only_tries_its_own_key() {
    let kms = fake();
    let enc = encrypt_with(&kms, OTHER_KEY);
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    assert!(matches!(
        decrypt(&keyring, &enc.encrypted_data_keys),
        Err(Error::NoDecryptableDataKey)
    ));
    assert!(decrypt_calls(&kms).is_empty());
}

#[test]
fn strict_keyring_does_not_match_mrk_replicas() {
    let kms = fake();
    let enc = encrypt_with(&kms, MRK_EAST);
    let keyring = AwsKmsKeyring::new(kms.clone(), MRK_WEST).unwrap();
    assert!(decrypt(&keyring, &enc.encrypted_data_keys).is_err());
}

#[test]
fn grant_tokens_are_passed_on_every_call() {
    let kms = fake();
    let tokens = vec!["grant-token-1".to_string(), "grant-token-2".to_string()];
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap().with_grant_tokens(tokens.clone());
    assert_eq!(keyring.grant_tokens(), &tokens[..]);
    let enc = block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, context()))).unwrap();
    let enc =
        block_on(keyring.on_encrypt(EncryptionMaterials { encrypted_data_keys: vec![], ..enc }))
            .unwrap();
    decrypt(&keyring, &enc.encrypted_data_keys).unwrap();
    let discovery =
        AwsKmsDiscoveryKeyring::new(kms.clone(), None).with_grant_tokens(tokens.clone());
    decrypt(&discovery, &enc.encrypted_data_keys).unwrap();
    let calls = kms.calls();
    assert_eq!(
        calls.iter().map(|c| c.operation).collect::<Vec<_>>(),
        ["GenerateDataKey", "Encrypt", "Decrypt", "Decrypt"]
    );
    assert!(calls.iter().all(|c| c.grant_tokens == tokens));
}

#[test]
fn response_naming_another_key_is_rejected() {
    let kms = fake();
    let enc = encrypt_with(&kms, KEY);
    *kms.lie_about_key_id.lock().unwrap() = Some(OTHER_KEY.to_string());
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    let err = decrypt(&keyring, &enc.encrypted_data_keys).unwrap_err();
    assert!(matches!(err, Error::Keyring(ref t) if t.contains(OTHER_KEY)), "{err}");
    let discovery = AwsKmsDiscoveryKeyring::new(kms.clone(), None);
    assert!(decrypt(&discovery, &enc.encrypted_data_keys).is_err());
}

#[test]
fn encrypt_rejects_a_response_key_id_that_is_not_a_key_arn() {
    for bogus in ["1234abcd", "alias/my-key", "arn:aws:kms:us-east-1:111122223333:alias/a"] {
        let kms = fake();
        *kms.lie_about_key_id.lock().unwrap() = Some(bogus.to_string());
        let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
        assert!(matches!(
            block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, context()))),
            Err(Error::Keyring(_))
        ));
        let mut m = enc_materials(DEFAULT_SUITE, context());
        m.set_plaintext_data_key(PlaintextDataKey::new(vec![1; 32])).unwrap();
        assert!(matches!(block_on(keyring.on_encrypt(m)), Err(Error::Keyring(_))));
    }
}

#[test]
fn plaintext_of_the_wrong_length_is_rejected() {
    let kms = fake();
    let enc = encrypt_with(&kms, KEY);
    *kms.truncate_plaintext.lock().unwrap() = Some(16);
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    assert!(matches!(
        block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, context()))),
        Err(Error::Keyring(_))
    ));
    assert!(matches!(decrypt(&keyring, &enc.encrypted_data_keys), Err(Error::Keyring(_))));
}

#[test]
fn generate_data_key_asks_for_the_suite_length() {
    let kms = fake();
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    let enc =
        block_on(keyring.on_encrypt(enc_materials(&AES_128_GCM_IV12_TAG16_HKDF_SHA256, ec(&[]))))
            .unwrap();
    assert_eq!(key_bytes(&enc.plaintext_data_key).len(), 16);
}

#[test]
fn kms_errors_surface_and_different_context_fails() {
    let kms = fake();
    let enc = encrypt_with(&kms, KEY);
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    let err = block_on(keyring.on_decrypt(
        dec_materials(DEFAULT_SUITE, ec(&[("tenant", "evil")])),
        &enc.encrypted_data_keys,
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Kms(ref e) if &*e.code == "InvalidCiphertextException"), "{err}");
    let unknown =
        AwsKmsKeyring::new(kms.clone(), "arn:aws:kms:us-east-1:111122223333:key/unknown").unwrap();
    assert!(matches!(
        block_on(unknown.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))),
        Err(Error::Kms(_))
    ));
}

#[test]
fn invalid_arn_in_an_aws_kms_edk_fails_decrypt() {
    let kms = fake();
    let enc = encrypt_with(&kms, KEY);
    let mut bad = enc.encrypted_data_keys[0].clone();
    bad.provider_info = b"arn:aws:kms:us-east-1:111122223333:alias/not-a-key".to_vec();
    let edks = [bad, enc.encrypted_data_keys[0].clone()];
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    assert!(matches!(decrypt(&keyring, &edks), Err(Error::Keyring(_))));
    assert!(decrypt_calls(&kms).is_empty());
    // Other providers' EDKs are ignored, whatever their provider info.
    let mut other = enc.encrypted_data_keys[0].clone();
    other.provider_id = "raw".into();
    other.provider_info = b"garbage".to_vec();
    let edks = [other, enc.encrypted_data_keys[0].clone()];
    assert!(decrypt(&keyring, &edks).is_ok());
}

#[test]
fn rejects_invalid_key_identifiers() {
    let kms = fake();
    assert!(matches!(AwsKmsKeyring::new(kms.clone(), ""), Err(Error::InvalidKey(_))));
    assert!(matches!(
        AwsKmsKeyring::new(kms.clone(), "arn:aws:kms:us-east-1:1:bogus/x"),
        Err(Error::InvalidKey(_))
    ));
    assert!(AwsKmsKeyring::new(kms.clone(), "alias/my-key").is_ok());
    assert!(AwsKmsMrkKeyring::new(kms, "mrk-123").is_ok());
}

#[test]
fn discovery_decrypts_with_the_edk_arn_and_respects_the_filter() {
    let kms = fake();
    let first = encrypt_with(&kms, FOREIGN_ACCOUNT_KEY);
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    let enc = block_on(keyring.on_encrypt(first)).unwrap();
    let key = key_bytes(&enc.plaintext_data_key);
    let before = decrypt_calls(&kms).len();

    // No filter: the first EDK (foreign account) is used, with its own ARN.
    let open = AwsKmsDiscoveryKeyring::new(kms.clone(), None);
    assert_eq!(decrypt(&open, &enc.encrypted_data_keys).unwrap(), key);
    assert_eq!(decrypt_calls(&kms)[before].key_id.as_deref(), Some(FOREIGN_ACCOUNT_KEY));

    // A filter on our account skips the foreign EDK without calling KMS for it.
    let filter = DiscoveryFilter::new("aws", vec!["111122223333".into()]).unwrap();
    let filtered = AwsKmsDiscoveryKeyring::new(kms.clone(), Some(filter));
    assert_eq!(decrypt(&filtered, &enc.encrypted_data_keys).unwrap(), key);
    let calls = decrypt_calls(&kms);
    assert_eq!(calls.len(), before + 2);
    assert_eq!(calls[before + 1].key_id.as_deref(), Some(KEY));

    // Wrong partition or account: nothing is tried.
    for filter in [
        DiscoveryFilter::new("aws-cn", vec!["111122223333".into(), "444455556666".into()]).unwrap(),
        DiscoveryFilter::new("aws", vec!["000000000000".into()]).unwrap(),
    ] {
        let keyring = AwsKmsDiscoveryKeyring::new(kms.clone(), Some(filter));
        assert!(matches!(
            decrypt(&keyring, &enc.encrypted_data_keys),
            Err(Error::NoDecryptableDataKey)
        ));
    }
    assert_eq!(decrypt_calls(&kms).len(), before + 2);
}

#[test]
fn discovery_continues_after_a_failing_edk() {
    let kms = fake();
    let enc = encrypt_with(&kms, KEY);
    let mut broken = enc.encrypted_data_keys[0].clone();
    broken.ciphertext[5] ^= 1;
    let edks = [broken, enc.encrypted_data_keys[0].clone()];
    let keyring = AwsKmsDiscoveryKeyring::new(kms.clone(), None);
    assert_eq!(decrypt(&keyring, &edks).unwrap(), key_bytes(&enc.plaintext_data_key));
    assert_eq!(decrypt_calls(&kms).len(), 2);
}

#[test]
fn discovery_keyrings_cannot_encrypt_and_filters_validate() {
    let kms = fake();
    let discovery = AwsKmsDiscoveryKeyring::new(kms.clone(), None);
    assert!(matches!(
        block_on(discovery.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))),
        Err(Error::ApiMisuse(_))
    ));
    let mrk = AwsKmsMrkDiscoveryKeyring::new(kms.clone(), "us-west-2", None).unwrap();
    assert!(matches!(
        block_on(mrk.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))),
        Err(Error::ApiMisuse(_))
    ));
    assert!(DiscoveryFilter::new("", vec!["1".into()]).is_err());
    assert!(DiscoveryFilter::new("aws", vec![]).is_err());
    assert!(DiscoveryFilter::new("aws", vec!["".into()]).is_err());
    assert!(AwsKmsMrkDiscoveryKeyring::new(kms, "", None).is_err());
}

#[test]
fn mrk_keyring_decrypts_a_replica_edk_from_another_region_with_its_own_arn() {
    let kms = fake();
    let enc = encrypt_with(&kms, MRK_EAST);
    let west = AwsKmsMrkKeyring::new(kms.clone(), MRK_WEST).unwrap();
    assert_eq!(
        decrypt(&west, &enc.encrypted_data_keys).unwrap(),
        key_bytes(&enc.plaintext_data_key)
    );
    assert_eq!(decrypt_calls(&kms)[0].key_id.as_deref(), Some(MRK_WEST));
    // A single-region key with the same shape does not match across regions.
    let enc = encrypt_with(&kms, KEY);
    let single = AwsKmsMrkKeyring::new(kms.clone(), KEY.replace("us-east-1", "us-west-2")).unwrap();
    assert!(matches!(decrypt(&single, &enc.encrypted_data_keys), Err(Error::NoDecryptableDataKey)));
    // And the MRK keyring still encrypts.
    let enc = block_on(west.on_encrypt(enc_materials(DEFAULT_SUITE, context()))).unwrap();
    assert_eq!(enc.encrypted_data_keys[0].provider_info, MRK_WEST.as_bytes());
}

#[test]
fn mrk_discovery_rewrites_mrk_arns_to_its_region_and_skips_other_regions() {
    let kms = fake();
    let enc = encrypt_with(&kms, MRK_EAST);
    let keyring = AwsKmsMrkDiscoveryKeyring::new(kms.clone(), "us-west-2", None).unwrap();
    assert_eq!(
        decrypt(&keyring, &enc.encrypted_data_keys).unwrap(),
        key_bytes(&enc.plaintext_data_key)
    );
    assert_eq!(decrypt_calls(&kms)[0].key_id.as_deref(), Some(MRK_WEST));

    // A single-region key elsewhere is not tried; one in our region is, with its ARN.
    let east_single = encrypt_with(&kms, KEY);
    assert!(matches!(
        decrypt(&keyring, &east_single.encrypted_data_keys),
        Err(Error::NoDecryptableDataKey)
    ));
    assert_eq!(decrypt_calls(&kms).len(), 1);
    let west_single = encrypt_with(&kms, WEST_KEY);
    assert!(decrypt(&keyring, &west_single.encrypted_data_keys).is_ok());
    assert_eq!(decrypt_calls(&kms)[1].key_id.as_deref(), Some(WEST_KEY));

    // The filter applies too.
    let filter = DiscoveryFilter::new("aws", vec!["444455556666".into()]).unwrap();
    let filtered = AwsKmsMrkDiscoveryKeyring::new(kms.clone(), "us-west-2", Some(filter)).unwrap();
    assert!(decrypt(&filtered, &enc.encrypted_data_keys).is_err());
}

#[test]
fn mrk_discovery_rejects_a_response_for_the_unrewritten_arn() {
    let kms = fake();
    let enc = encrypt_with(&kms, MRK_EAST);
    *kms.lie_about_key_id.lock().unwrap() = Some(MRK_EAST.to_string());
    let keyring = AwsKmsMrkDiscoveryKeyring::new(kms.clone(), "us-west-2", None).unwrap();
    assert!(matches!(decrypt(&keyring, &enc.encrypted_data_keys), Err(Error::Keyring(_))));
}

#[test]
fn debug_output_names_the_key_but_no_secrets() {
    let kms = fake();
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY)
        .unwrap()
        .with_grant_tokens(vec!["secret-token".into()]);
    let shown = format!("{keyring:?}");
    assert!(shown.contains(KEY) && !shown.contains("secret-token"), "{shown}");
}

#[test]
fn on_decrypt_must_fail_when_the_materials_already_contain_a_data_key() {
    let kms = fake();
    let keyring = AwsKmsKeyring::new(kms.clone(), KEY).unwrap();
    let enc = block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, context()))).unwrap();
    let mut m = dec_materials(DEFAULT_SUITE, context());
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 32])).unwrap();
    let err = block_on(keyring.on_decrypt(m, &enc.encrypted_data_keys)).unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
    assert!(decrypt_calls(&kms).is_empty(), "KMS is not called");
    let discovery = AwsKmsDiscoveryKeyring::new(kms.clone(), None);
    let mut m = dec_materials(DEFAULT_SUITE, context());
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 32])).unwrap();
    let err = block_on(discovery.on_decrypt(m, &enc.encrypted_data_keys)).unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
    assert!(decrypt_calls(&kms).is_empty(), "KMS is not called");
}
