//! The raw RSA keyring (spec `framework/raw-rsa-keyring.md`), with the RSA-4096 key pair
//! from the official vectors' `keys.json`.
// Helper functions here are test code too, outside `#[test]`, so unwrapping is fine.
#![allow(clippy::unwrap_used)]

mod keyring_common;

use keyring_common::*;
use kms_api::base64;
use kms_envelope::keyring::raw_rsa::{RawRsaKeyring, RsaPadding};
use kms_envelope::keyring::Keyring;
use kms_envelope::materials::PlaintextDataKey;
use kms_envelope::suite::{AES_128_GCM_IV12_TAG16_NO_KDF, ALL_SUITES, DEFAULT_SUITE};
use kms_envelope::Error;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::{Oaep, RsaPrivateKey};

const NS: &str = "rsa-namespace";
const NAME: &str = "rsa-key";

fn public(padding: RsaPadding) -> RawRsaKeyring {
    RawRsaKeyring::from_public_key_pem(NS, NAME, padding, &rsa_public_pem()).unwrap()
}

fn private(padding: RsaPadding) -> RawRsaKeyring {
    RawRsaKeyring::from_private_key_pem(NS, NAME, padding, &rsa_private_pem()).unwrap()
}

/// The DER bodies of the vectors' PEM keys.
fn pem_body(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::decode(b64).unwrap()
}

#[test]
fn all_five_paddings_round_trip() {
    for padding in RsaPadding::ALL {
        let enc =
            block_on(public(padding).on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[("k", "v")]))))
                .unwrap();
        let edk = &enc.encrypted_data_keys[0];
        assert_eq!(edk.provider_id, NS);
        assert_eq!(edk.provider_info, NAME.as_bytes());
        assert_eq!(edk.ciphertext.len(), 512, "RSA-4096 ciphertext");
        let dec =
            block_on(private(padding).on_decrypt(
                dec_materials(DEFAULT_SUITE, ec(&[("k", "v")])),
                &enc.encrypted_data_keys,
            ))
            .unwrap();
        assert_eq!(
            key_bytes(&dec.plaintext_data_key),
            key_bytes(&enc.plaintext_data_key),
            "{padding:?}"
        );
    }
}

#[test]
fn paddings_do_not_decrypt_each_other() {
    let enc = block_on(
        public(RsaPadding::OaepSha256Mgf1Sha256).on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[]))),
    )
    .unwrap();
    for padding in RsaPadding::ALL.into_iter().filter(|p| *p != RsaPadding::OaepSha256Mgf1Sha256) {
        let result = block_on(
            private(padding)
                .on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &enc.encrypted_data_keys),
        );
        assert!(result.is_err(), "{padding:?}");
    }
}

/// OAEP-SHA1 with MGF1-SHA1 and no label, checked with the rsa crate directly.
#[test]
fn oaep_sha1_is_standard_oaep_with_mgf1_sha1() {
    let enc = block_on(
        public(RsaPadding::OaepSha1Mgf1Sha1).on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[]))),
    )
    .unwrap();
    let key = RsaPrivateKey::from_pkcs8_pem(&rsa_private_pem()).unwrap();
    let opened =
        key.decrypt(Oaep::new::<sha1::Sha1>(), &enc.encrypted_data_keys[0].ciphertext).unwrap();
    assert_eq!(opened, key_bytes(&enc.plaintext_data_key));
}

#[test]
fn loads_pem_and_der_keys() {
    let der_public = pem_body(&rsa_public_pem());
    let der_private = pem_body(&rsa_private_pem());
    let p = RsaPadding::OaepSha512Mgf1Sha512;
    let enc_keyring = RawRsaKeyring::from_public_key_der(NS, NAME, p, &der_public).unwrap();
    let dec_keyring = RawRsaKeyring::from_private_key_der(NS, NAME, p, &der_private).unwrap();
    assert!(enc_keyring.can_encrypt() && !enc_keyring.can_decrypt());
    assert!(dec_keyring.can_decrypt() && !dec_keyring.can_encrypt());
    let enc =
        block_on(enc_keyring.on_encrypt(enc_materials(&AES_128_GCM_IV12_TAG16_NO_KDF, ec(&[]))))
            .unwrap();
    let dec = block_on(dec_keyring.on_decrypt(
        dec_materials(&AES_128_GCM_IV12_TAG16_NO_KDF, ec(&[])),
        &enc.encrypted_data_keys,
    ))
    .unwrap();
    assert_eq!(key_bytes(&dec.plaintext_data_key), key_bytes(&enc.plaintext_data_key));
    // A freshly encoded key pair loads too.
    let key = RsaPrivateKey::from_pkcs8_der(&der_private).unwrap();
    let pem = key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap();
    assert!(RawRsaKeyring::from_private_key_pem(NS, NAME, p, &pem).is_ok());
    let spki = key.to_public_key().to_public_key_der().unwrap();
    assert!(RawRsaKeyring::from_public_key_der(NS, NAME, p, spki.as_bytes()).is_ok());
}

#[test]
fn rejects_malformed_or_mismatched_key_encodings() {
    let p = RsaPadding::Pkcs1v15;
    assert!(matches!(
        RawRsaKeyring::from_public_key_pem(NS, NAME, p, &rsa_private_pem()),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        RawRsaKeyring::from_private_key_pem(NS, NAME, p, &rsa_public_pem()),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        RawRsaKeyring::from_public_key_der(NS, NAME, p, b"not der"),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        RawRsaKeyring::from_private_key_der(NS, NAME, p, &[0x30, 0x00]),
        Err(Error::InvalidKey(_))
    ));
    assert!(matches!(
        RawRsaKeyring::from_public_key_pem("aws-kms", NAME, p, &rsa_public_pem()),
        Err(Error::ApiMisuse(_))
    ));
}

#[test]
fn public_only_keyring_cannot_decrypt() {
    let keyring = public(RsaPadding::OaepSha256Mgf1Sha256);
    let enc = block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).unwrap();
    let err = block_on(
        keyring.on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &enc.encrypted_data_keys),
    )
    .unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
}

#[test]
fn private_only_keyring_encrypts_only_after_opting_in() {
    let keyring = private(RsaPadding::OaepSha384Mgf1Sha384);
    let err = block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
    let keyring = keyring.with_derived_public_key().unwrap();
    let enc = block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).unwrap();
    let dec = block_on(
        keyring.on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &enc.encrypted_data_keys),
    )
    .unwrap();
    assert_eq!(key_bytes(&dec.plaintext_data_key), key_bytes(&enc.plaintext_data_key));
    assert!(matches!(
        public(RsaPadding::Pkcs1v15).with_derived_public_key(),
        Err(Error::ApiMisuse(_))
    ));
}

#[test]
fn wrong_name_namespace_or_tampered_key_cannot_decrypt() {
    let p = RsaPadding::OaepSha256Mgf1Sha256;
    let enc = block_on(public(p).on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).unwrap();
    let pem = rsa_private_pem();
    for keyring in [
        RawRsaKeyring::from_private_key_pem(NS, "other", p, &pem).unwrap(),
        RawRsaKeyring::from_private_key_pem("other", NAME, p, &pem).unwrap(),
    ] {
        let err = block_on(
            keyring.on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &enc.encrypted_data_keys),
        )
        .unwrap_err();
        assert!(matches!(err, Error::NoDecryptableDataKey));
    }
    let mut bad = enc.encrypted_data_keys[0].clone();
    bad.ciphertext[100] ^= 4;
    let err =
        block_on(private(p).on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &[bad])).unwrap_err();
    assert!(matches!(err, Error::NoDecryptableDataKey));
}

#[test]
fn generates_a_data_key_for_each_suite_length_and_keeps_a_given_one() {
    let keyring = public(RsaPadding::Pkcs1v15);
    for suite in ALL_SUITES.iter().take(3) {
        let enc = block_on(keyring.on_encrypt(enc_materials(suite, ec(&[])))).unwrap();
        assert_eq!(key_bytes(&enc.plaintext_data_key).len(), suite.data_key_len());
    }
    let mut m = enc_materials(DEFAULT_SUITE, ec(&[]));
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![1; 32])).unwrap();
    let enc = block_on(keyring.on_encrypt(m)).unwrap();
    let dec = block_on(
        private(RsaPadding::Pkcs1v15)
            .on_decrypt(dec_materials(DEFAULT_SUITE, ec(&[])), &enc.encrypted_data_keys),
    )
    .unwrap();
    assert_eq!(key_bytes(&dec.plaintext_data_key), vec![1; 32]);
}

#[test]
fn decrypted_data_key_of_the_wrong_length_is_an_error() {
    let enc = block_on(
        public(RsaPadding::OaepSha1Mgf1Sha1).on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[]))),
    )
    .unwrap();
    let err = block_on(private(RsaPadding::OaepSha1Mgf1Sha1).on_decrypt(
        dec_materials(&AES_128_GCM_IV12_TAG16_NO_KDF, ec(&[])),
        &enc.encrypted_data_keys,
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Keyring(_)), "{err}");
}

#[test]
fn on_decrypt_must_fail_when_the_materials_already_contain_a_data_key() {
    let keyring = private(RsaPadding::OaepSha256Mgf1Sha256).with_derived_public_key().unwrap();
    let enc = block_on(keyring.on_encrypt(enc_materials(DEFAULT_SUITE, ec(&[])))).unwrap();
    let mut m = dec_materials(DEFAULT_SUITE, ec(&[]));
    m.set_plaintext_data_key(PlaintextDataKey::new(vec![0; 32])).unwrap();
    let err = block_on(keyring.on_decrypt(m, &enc.encrypted_data_keys)).unwrap_err();
    assert!(matches!(err, Error::ApiMisuse(_)), "{err}");
}
