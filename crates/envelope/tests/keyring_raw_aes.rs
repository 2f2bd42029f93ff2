//! The raw AES keyring (spec `framework/raw-aes-keyring.md`).
// Helper functions here are test code too, outside `#[test]`, so unwrapping is fine.
#![allow(clippy::unwrap_used)]

mod keyring_common;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use keyring_common::*;
use kms_envelope::keyring::raw_aes::RawAesKeyring;
use kms_envelope::keyring::Keyring;
use kms_envelope::materials::{EncryptedDataKey, EncryptionMaterials, PlaintextDataKey};
use kms_envelope::suite::{
    AlgorithmSuite, AES_128_GCM_IV12_TAG16_NO_KDF, AES_192_GCM_IV12_TAG16_HKDF_SHA256, ALL_SUITES,
    DEFAULT_SUITE,
};
use kms_envelope::Error;

const NS: &str = "my-namespace";
const NAME: &str = "my-key";

fn keyring(len: usize) -> RawAesKeyring {
    RawAesKeyring::new(NS, NAME, &vec![0x5A; len]).unwrap()
}

fn encrypt(keyring: &RawAesKeyring, suite: &'static AlgorithmSuite) -> EncryptionMaterials {
    block_on(keyring.on_encrypt(enc_materials(suite, ec(&[("purpose", "test"), ("a", "b")]))))
        .unwrap()
}

#[test]
fn round_trips_for_every_wrapping_key_size_and_suite() {
    for key_len in [16, 24, 32] {
        let keyring = keyring(key_len);
        for suite in ALL_SUITES {
            let enc = encrypt(&keyring, suite);
            assert_eq!(enc.encrypted_data_keys.len(), 1);
            let data_key = key_bytes(&enc.plaintext_data_key);
            assert_eq!(data_key.len(), suite.data_key_len());
            let dec = block_on(keyring.on_decrypt(
                dec_materials(suite, enc.encryption_context.clone()),
                &enc.encrypted_data_keys,
            ))
            .unwrap();
            assert_eq!(key_bytes(&dec.plaintext_data_key), data_key, "{key_len} {}", suite.name);
        }
    }
}

#[test]
fn encrypted_data_key_has_the_spec_layout() {
    let enc = encrypt(&keyring(32), DEFAULT_SUITE);
    let edk = &enc.encrypted_data_keys[0];
    assert_eq!(edk.provider_id, NS);
    let info = &edk.provider_info;
    assert_eq!(info.len(), NAME.len() + 4 + 4 + 12);
    assert_eq!(&info[..NAME.len()], NAME.as_bytes());
    assert_eq!(&info[NAME.len()..NAME.len() + 8], &[0, 0, 0, 128, 0, 0, 0, 12]);
    assert_eq!(edk.ciphertext.len(), 32 + 16);
}

/// The EDK is AES-GCM under the wrapping key with the serialised context as AAD: decrypt it
/// here with an independent serialisation.
#[test]
fn encrypted_data_key_is_aes_gcm_with_the_serialized_context_as_aad() {
    let wrapping_key = [0x5A; 32];
    let enc = encrypt(&keyring(32), DEFAULT_SUITE);
    let edk = &enc.encrypted_data_keys[0];
    let iv = &edk.provider_info[NAME.len() + 8..];
    let aad = serialize_ec(&enc.encryption_context);
    let opened = Aes256Gcm::new_from_slice(&wrapping_key)
        .unwrap()
        .decrypt(Nonce::from_slice(iv), Payload { msg: &edk.ciphertext, aad: &aad })
        .unwrap();
    assert_eq!(opened, key_bytes(&enc.plaintext_data_key));
}

#[test]
fn uses_the_data_key_already_in_the_materials() {
    let mut m = enc_materials(&AES_128_GCM_IV12_TAG16_NO_KDF, ec(&[]));
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![3; 16])).unwrap();
    let enc = block_on(keyring(16).on_encrypt(m)).unwrap();
    assert_eq!(key_bytes(&enc.plaintext_data_key), vec![3; 16]);
    let dec = block_on(keyring(16).on_decrypt(
        dec_materials(&AES_128_GCM_IV12_TAG16_NO_KDF, ec(&[])),
        &enc.encrypted_data_keys,
    ))
    .unwrap();
    assert_eq!(key_bytes(&dec.plaintext_data_key), vec![3; 16]);
}

#[test]
fn generated_data_keys_differ() {
    let a = key_bytes(&encrypt(&keyring(32), DEFAULT_SUITE).plaintext_data_key);
    let b = key_bytes(&encrypt(&keyring(32), DEFAULT_SUITE).plaintext_data_key);
    assert_ne!(a, b);
}

fn decrypt_fails(keyring: &RawAesKeyring, enc: &EncryptionMaterials, edks: &[EncryptedDataKey]) {
    let err = block_on(
        keyring.on_decrypt(dec_materials(enc.suite, enc.encryption_context.clone()), edks),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NoDecryptableDataKey), "{err}");
}

#[test]
fn wrong_key_name_namespace_or_key_cannot_decrypt() {
    let enc = encrypt(&keyring(32), DEFAULT_SUITE);
    let edks = &enc.encrypted_data_keys;
    decrypt_fails(&RawAesKeyring::new(NS, "other-key", &[0x5A; 32]).unwrap(), &enc, edks);
    decrypt_fails(&RawAesKeyring::new("other-ns", NAME, &[0x5A; 32]).unwrap(), &enc, edks);
    decrypt_fails(&RawAesKeyring::new(NS, NAME, &[0x5B; 32]).unwrap(), &enc, edks);
    // A key name that is a prefix of ours must not match either.
    decrypt_fails(&RawAesKeyring::new(NS, "my-ke", &[0x5A; 32]).unwrap(), &enc, edks);
}

#[test]
fn tampered_encrypted_data_key_cannot_be_decrypted() {
    let keyring = keyring(32);
    let enc = encrypt(&keyring, DEFAULT_SUITE);
    let edk = &enc.encrypted_data_keys[0];
    for i in 0..edk.ciphertext.len() {
        let mut bad = edk.clone();
        bad.ciphertext[i] ^= 1;
        decrypt_fails(&keyring, &enc, &[bad]);
    }
    for i in NAME.len()..edk.provider_info.len() {
        let mut bad = edk.clone();
        bad.provider_info[i] ^= 1;
        decrypt_fails(&keyring, &enc, &[bad]);
    }
    let mut short = edk.clone();
    short.ciphertext.truncate(15);
    decrypt_fails(&keyring, &enc, &[short]);
}

#[test]
fn different_encryption_context_cannot_decrypt() {
    let keyring = keyring(24);
    let enc = encrypt(&keyring, DEFAULT_SUITE);
    for other in [ec(&[]), ec(&[("purpose", "test")]), ec(&[("purpose", "test"), ("a", "c")])] {
        let err = block_on(
            keyring.on_decrypt(dec_materials(DEFAULT_SUITE, other), &enc.encrypted_data_keys),
        )
        .unwrap_err();
        assert!(matches!(err, Error::NoDecryptableDataKey));
    }
}

#[test]
fn skips_undecryptable_keys_and_uses_a_later_one() {
    let keyring = keyring(32);
    let enc = encrypt(&keyring, DEFAULT_SUITE);
    let mut broken = enc.encrypted_data_keys[0].clone();
    broken.ciphertext[0] ^= 0xFF;
    let foreign = EncryptedDataKey {
        provider_id: "aws-kms".into(),
        provider_info: b"x".to_vec(),
        ciphertext: vec![1],
    };
    let edks = [foreign, broken, enc.encrypted_data_keys[0].clone()];
    let dec = block_on(
        keyring.on_decrypt(dec_materials(DEFAULT_SUITE, enc.encryption_context.clone()), &edks),
    )
    .unwrap();
    assert_eq!(key_bytes(&dec.plaintext_data_key), key_bytes(&enc.plaintext_data_key));
}

#[test]
fn data_key_of_the_wrong_length_is_an_error() {
    // A 32-byte data key wrapped correctly, offered for a 24-byte suite.
    let keyring = keyring(32);
    let enc = encrypt(&keyring, DEFAULT_SUITE);
    let err = block_on(keyring.on_decrypt(
        dec_materials(&AES_192_GCM_IV12_TAG16_HKDF_SHA256, enc.encryption_context.clone()),
        &enc.encrypted_data_keys,
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Keyring(_)), "{err}");
}

#[test]
fn on_decrypt_must_fail_when_the_materials_already_contain_a_data_key() {
    let keyring = keyring(32);
    let enc = encrypt(&keyring, DEFAULT_SUITE);
    let mut m = dec_materials(DEFAULT_SUITE, enc.encryption_context.clone());
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![8; 32])).unwrap();
    let err = block_on(keyring.on_decrypt(m, &enc.encrypted_data_keys)).unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
}

#[test]
fn rejects_bad_wrapping_keys_and_reserved_namespaces() {
    for len in [0, 15, 17, 31, 33, 64] {
        assert!(matches!(RawAesKeyring::new(NS, NAME, &vec![0; len]), Err(Error::InvalidKey(_))));
    }
    assert!(matches!(RawAesKeyring::new("aws-kms", NAME, &[0; 32]), Err(Error::ApiMisuse(_))));
    assert!(matches!(RawAesKeyring::new("aws-kms-rsa", NAME, &[0; 32]), Err(Error::ApiMisuse(_))));
}

#[test]
fn errors_do_not_reveal_key_bytes() {
    let keyring = keyring(32);
    let enc = encrypt(&keyring, DEFAULT_SUITE);
    let err = block_on(keyring.on_decrypt(
        dec_materials(&AES_192_GCM_IV12_TAG16_HKDF_SHA256, enc.encryption_context.clone()),
        &enc.encrypted_data_keys,
    ))
    .unwrap_err();
    let text = format!("{err} {err:?}");
    let hex_key = hex::encode(key_bytes(&enc.plaintext_data_key));
    assert!(!text.contains(&hex_key[..8]) && !text.contains("90, 90"));
}
