//! `Encryptor::detach_signature`: the caller signs `header || body` itself (kms-wasm does it
//! with WebCrypto) and appends the footer built by `signature::footer_from_fixed`. Here the
//! caller signs with the same key through a prehash, standing in for WebCrypto; the
//! messages decrypt, and tampering with the body or the footer, or leaving the footer off,
//! is refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::{block_on, policy_for, unicode_ec, TestCmm};
use kms_envelope::client::{decrypt, DecryptConfig, EncryptConfig};
use kms_envelope::der;
use kms_envelope::signature::footer_from_fixed;
use kms_envelope::stream::{Decryptor, Encryptor};
use kms_envelope::suite::{AlgorithmSuite, SignatureAlgorithm, ALL_SUITES, DEFAULT_SUITE};
use kms_envelope::Error;
use sha2::{Digest, Sha256, Sha384};

fn configs(suite: &'static AlgorithmSuite) -> (EncryptConfig, DecryptConfig) {
    let policy = policy_for(suite);
    let e = EncryptConfig {
        commitment_policy: policy,
        suite: Some(suite),
        frame_length: 100,
        ..EncryptConfig::default()
    };
    (e, DecryptConfig { commitment_policy: policy, ..DecryptConfig::default() })
}

/// Encrypts with the signature detached, then signs the whole message as WebCrypto does:
/// ECDSA over the suite's hash of `header || body`, as `r || s`, turned into the footer.
/// Returns the message and its footer's length.
fn encrypt_detached(suite: &'static AlgorithmSuite, plaintext: &[u8]) -> (Vec<u8>, usize) {
    let (config, _) = configs(suite);
    let mut e = block_on(Encryptor::new(&TestCmm::default(), unicode_ec(), &config)).unwrap();
    let key = e.detach_signature().unwrap().unwrap();
    assert!(e.signing_key().is_none(), "the key is gone from the encryptor");
    let mut message = Vec::new();
    e.update(plaintext, &mut message).unwrap();
    e.finish(&mut message).unwrap();
    let prehash = match suite.signature {
        Some(SignatureAlgorithm::EcdsaP384Sha384) => Sha384::digest(&message).to_vec(),
        _ => Sha256::digest(&message).to_vec(),
    };
    let r_s = der::parse_ecdsa_signature(&key.sign_prehash(&prehash).unwrap(), prehash.len());
    let footer = footer_from_fixed(key.algorithm(), &r_s.unwrap()).unwrap();
    message.extend_from_slice(&footer);
    (message, footer.len())
}

#[test]
fn detached_signatures_decrypt_and_tampering_is_refused() {
    let plaintext: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
    for suite in ALL_SUITES.iter().filter(|s| s.is_signed()) {
        let (_, dconfig) = configs(suite);
        let (message, footer_len) = encrypt_detached(suite, &plaintext);
        let out = block_on(decrypt(&TestCmm::default(), &message, &dconfig)).unwrap();
        assert_eq!(out.plaintext, plaintext, "suite {:#06x}", suite.id);

        let body_end = message.len() - footer_len;
        let mut body = message.clone();
        body[body_end - 20] ^= 1;
        let mut footer = message.clone();
        let last = footer.len() - 1;
        footer[last] ^= 1;
        let unsigned = &message[..body_end];
        for bad in [&body[..], &footer[..], unsigned] {
            assert!(block_on(decrypt(&TestCmm::default(), bad, &dconfig)).is_err());
        }
    }
}

#[test]
fn the_default_suite_detaches_a_p384_key() {
    let (config, _) = configs(DEFAULT_SUITE);
    let mut e = block_on(Encryptor::new(&TestCmm::default(), unicode_ec(), &config)).unwrap();
    let public = e.signing_key().unwrap().public_key().to_vec();
    let key = e.detach_signature().unwrap().unwrap();
    assert_eq!(key.public_key(), public);
    assert_eq!(public.len(), 49);
    assert!(matches!(e.detach_signature(), Ok(None)), "detached once");
}

#[test]
fn detaching_after_the_header_or_for_unsigned_suites() {
    let (config, _) = configs(DEFAULT_SUITE);
    let mut e = block_on(Encryptor::new(&TestCmm::default(), unicode_ec(), &config)).unwrap();
    let mut out = Vec::new();
    e.update(b"x", &mut out).unwrap();
    assert!(matches!(e.detach_signature(), Err(Error::ApiMisuse(_))));
    assert!(e.signing_key().is_some(), "still signs its own footer");

    let unsigned = ALL_SUITES.iter().find(|s| !s.is_signed()).unwrap();
    let (config, dconfig) = configs(unsigned);
    let mut e = block_on(Encryptor::new(&TestCmm::default(), unicode_ec(), &config)).unwrap();
    assert!(e.detach_signature().unwrap().is_none());
    let mut message = Vec::new();
    e.update(b"plain", &mut message).unwrap();
    e.finish(&mut message).unwrap();
    let out = block_on(decrypt(&TestCmm::default(), &message, &dconfig)).unwrap();
    assert_eq!(out.plaintext, b"plain");
}

/// Decrypts with the signature left to the caller; returns the plaintext and whether the
/// caller's own check (a prehash, standing in for WebCrypto) accepts the footer.
fn decrypt_detached(message: &[u8], dconfig: &DecryptConfig) -> Result<(Vec<u8>, bool), Error> {
    let cmm = TestCmm::default();
    let mut d = Decryptor::new(&cmm, dconfig);
    d.detach_signature()?;
    let mut out = Vec::new();
    block_on(d.update(message, &mut out))?;
    let (info, detached) = d.finish_detached(&mut out)?;
    let detached = detached.unwrap();
    let signed = &message[..message.len() - 2 - detached.signature.len()];
    let prehash = match info.suite.signature {
        Some(SignatureAlgorithm::EcdsaP384Sha384) => Sha384::digest(signed).to_vec(),
        _ => Sha256::digest(signed).to_vec(),
    };
    Ok((out, detached.key.verify_prehash(&prehash, &detached.signature)?))
}

#[test]
fn detached_verification_hands_the_footer_to_the_caller() {
    let plaintext: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    for suite in ALL_SUITES.iter().filter(|s| s.is_signed()) {
        let (config, dconfig) = configs(suite);
        let mut message = Vec::new();
        let cmm = TestCmm::default();
        let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &config)).unwrap();
        e.update(&plaintext, &mut message).unwrap();
        e.finish(&mut message).unwrap();
        let (out, ok) = decrypt_detached(&message, &dconfig).unwrap();
        assert!(ok, "suite {:#06x}", suite.id);
        assert_eq!(out, plaintext);

        // The caller's check fails for a changed footer; a changed body fails its tag.
        let mut footer = message.clone();
        let last = footer.len() - 1;
        footer[last] ^= 1;
        assert!(!decrypt_detached(&footer, &dconfig).unwrap().1);
        let mut body = message.clone();
        body[message.len() - 120] ^= 1;
        assert!(matches!(decrypt_detached(&body, &dconfig), Err(Error::DecryptionFailed)));

        // `finish` refuses a detached signature; detaching after the header is refused.
        let mut d = Decryptor::new(&cmm, &dconfig);
        d.detach_signature().unwrap();
        let mut out = Vec::new();
        block_on(d.update(&message, &mut out)).unwrap();
        let released = out.len();
        assert!(matches!(d.finish(&mut out), Err(Error::ApiMisuse(_))));
        assert_eq!(out.len(), released, "a refused finish releases none of the held plaintext");
        let mut d = Decryptor::new(&cmm, &dconfig);
        block_on(d.update(&message[..message.len() / 2], &mut out)).unwrap();
        assert!(matches!(d.detach_signature(), Err(Error::ApiMisuse(_))));
    }
    // Unsigned messages: nothing detached, `finish` as usual.
    let unsigned = ALL_SUITES.iter().find(|s| !s.is_signed()).unwrap();
    let (config, dconfig) = configs(unsigned);
    let cmm = TestCmm::default();
    let mut message = Vec::new();
    let mut e = block_on(Encryptor::new(&cmm, unicode_ec(), &config)).unwrap();
    e.update(b"abc", &mut message).unwrap();
    e.finish(&mut message).unwrap();
    let mut d = Decryptor::new(&cmm, &dconfig);
    d.detach_signature().unwrap();
    let mut out = Vec::new();
    block_on(d.update(&message, &mut out)).unwrap();
    assert_eq!(d.finish(&mut out).unwrap().suite.id, unsigned.id);
    assert_eq!(out, b"abc");
}
