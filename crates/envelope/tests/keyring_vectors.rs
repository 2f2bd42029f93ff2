//! Known answers: the raw AES and raw RSA keyrings, built from the official
//! `shared/esdk-vectors/v4-Net-4.0.1/keys.json` as its manifest describes, decrypt the
//! encrypted data keys of messages written by AWS Encryption SDK for .NET 4.0.1.
//!
//! The data key each keyring returns is then checked against the message itself: with the
//! key derived from it (spec `framework/algorithm-suites.md`), the header authentication
//! tag must verify, and for committing suites the key commitment must match.
// Helper functions here are test code too, outside `#[test]`, so unwrapping is fine.
#![allow(clippy::unwrap_used)]

mod keyring_common;

use std::sync::Arc;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes192;
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce};
use hkdf::Hkdf;
use keyring_common::*;
use kms_envelope::keyring::multi::MultiKeyring;
use kms_envelope::keyring::raw_aes::RawAesKeyring;
use kms_envelope::keyring::raw_rsa::{RawRsaKeyring, RsaPadding};
use kms_envelope::keyring::Keyring;
use kms_envelope::materials::{EncryptionContext, PlaintextDataKey};
use kms_envelope::suite::{AlgorithmSuite, Kdf};
use kms_envelope::Error;
use serde_json::Value;
use sha2::{Sha256, Sha384, Sha512};

fn padding(master_key: &Value) -> RsaPadding {
    match (master_key["padding-algorithm"].as_str(), master_key["padding-hash"].as_str()) {
        (Some("pkcs1"), _) => RsaPadding::Pkcs1v15,
        (Some("oaep-mgf1"), Some("sha1")) => RsaPadding::OaepSha1Mgf1Sha1,
        (Some("oaep-mgf1"), Some("sha256")) => RsaPadding::OaepSha256Mgf1Sha256,
        (Some("oaep-mgf1"), Some("sha384")) => RsaPadding::OaepSha384Mgf1Sha384,
        (Some("oaep-mgf1"), Some("sha512")) => RsaPadding::OaepSha512Mgf1Sha512,
        other => panic!("unknown padding {other:?}"),
    }
}

/// One keyring per manifest master key, combined in a multi-keyring when there are several.
fn keyring_for(
    master_keys: &[Value],
    keys: &std::collections::HashMap<String, VectorKey>,
) -> Arc<dyn Keyring> {
    let mut keyrings: Vec<Arc<dyn Keyring>> = Vec::new();
    for mk in master_keys {
        assert_eq!(mk["type"], "raw");
        let key = &keys[mk["key"].as_str().unwrap()];
        let namespace = mk["provider-id"].as_str().unwrap();
        let keyring: Arc<dyn Keyring> =
            match (mk["encryption-algorithm"].as_str().unwrap(), key.key_type.as_str()) {
                ("aes", "symmetric") => Arc::new(
                    RawAesKeyring::new(namespace, &key.key_id, &key.symmetric_bytes()).unwrap(),
                ),
                ("rsa", "private") => Arc::new(
                    RawRsaKeyring::from_private_key_pem(
                        namespace,
                        &key.key_id,
                        padding(mk),
                        &key.material,
                    )
                    .unwrap(),
                ),
                ("rsa", "public") => Arc::new(
                    RawRsaKeyring::from_public_key_pem(
                        namespace,
                        &key.key_id,
                        padding(mk),
                        &key.material,
                    )
                    .unwrap(),
                ),
                other => panic!("unexpected key {other:?}"),
            };
        keyrings.push(keyring);
    }
    if keyrings.len() == 1 {
        keyrings.remove(0)
    } else {
        Arc::new(MultiKeyring::new(None, keyrings).unwrap())
    }
}

fn gcm_open(key: &[u8], iv: &[u8], aad: &[u8], tag: &[u8]) -> bool {
    let payload = Payload { msg: tag, aad };
    let nonce = Nonce::from_slice(iv);
    match key.len() {
        16 => Aes128Gcm::new_from_slice(key).unwrap().decrypt(nonce, payload).is_ok(),
        24 => AesGcm::<Aes192, U12>::new_from_slice(key).unwrap().decrypt(nonce, payload).is_ok(),
        _ => Aes256Gcm::new_from_slice(key).unwrap().decrypt(nonce, payload).is_ok(),
    }
}

fn hkdf_expand(kdf: Kdf, salt: Option<&[u8]>, ikm: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    match kdf {
        Kdf::HkdfSha256 => Hkdf::<Sha256>::new(salt, ikm).expand(info, &mut out).unwrap(),
        Kdf::HkdfSha384 => Hkdf::<Sha384>::new(salt, ikm).expand(info, &mut out).unwrap(),
        Kdf::HkdfSha512 => Hkdf::<Sha512>::new(salt, ikm).expand(info, &mut out).unwrap(),
        _ => out.copy_from_slice(ikm),
    }
    out
}

/// Whether `data_key` is the message's data key: the header authentication tag verifies
/// under the key derived from it, and (committing suites) the commitment matches.
fn data_key_authenticates_header(
    suite: &AlgorithmSuite,
    header: &Header,
    data_key: &PlaintextDataKey,
    authenticated_only_ec: &EncryptionContext,
) -> bool {
    let dk = data_key.expose_secret();
    let id = suite.id.to_be_bytes();
    let key = match suite.kdf {
        Kdf::Identity => dk.to_vec(),
        Kdf::HkdfSha512 => {
            let mut info = id.to_vec();
            info.extend_from_slice(b"DERIVEKEY");
            let commitment = hkdf_expand(suite.kdf, Some(&header.message_id), dk, b"COMMITKEY", 32);
            if commitment != header.suite_data {
                return false;
            }
            hkdf_expand(suite.kdf, Some(&header.message_id), dk, &info, suite.encryption_key_len)
        }
        kdf => {
            let mut info = id.to_vec();
            info.extend_from_slice(&header.message_id);
            hkdf_expand(kdf, None, dk, &info, suite.encryption_key_len)
        }
    };
    let mut aad = header.body.clone();
    aad.extend_from_slice(&serialize_ec(authenticated_only_ec));
    gcm_open(&key, &header.header_iv, &aad, &header.header_tag)
}

struct Outcome {
    decrypted: usize,
    by_suite: std::collections::BTreeSet<u16>,
    multi: usize,
}

fn run_v4_raw_vectors(limit: Option<usize>) -> Outcome {
    let dir = v4_dir();
    let manifest = read_json(dir.join("manifest.json"));
    let keys = v4_keys();
    let mut outcome = Outcome { decrypted: 0, by_suite: Default::default(), multi: 0 };
    for (name, test) in manifest["tests"].as_object().unwrap() {
        let master_keys = test["master-keys"].as_array().unwrap();
        if master_keys.iter().any(|mk| mk["type"] != "raw") {
            continue; // aws-kms vectors need the real AWS account
        }
        if limit.is_some_and(|n| outcome.decrypted >= n) {
            break;
        }
        let file = test["ciphertext"].as_str().unwrap().strip_prefix("file://").unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let header = parse_header(&bytes);
        let suite = AlgorithmSuite::by_id(header.suite_id).unwrap();
        // Decryption sees the stored context plus the reproduced keys of the required
        // encryption context CMM; those are authenticated by the header but not stored.
        let mut context = header.stored_ec.clone();
        let mut authenticated_only = EncryptionContext::new();
        if test["cmm"] == "RequiredEncryptionContext" {
            for (k, v) in test["encryption-context"].as_object().unwrap() {
                let v = v.as_str().unwrap().to_string();
                if !context.contains_key(k) {
                    authenticated_only.insert(k.clone(), v.clone());
                }
                context.insert(k.clone(), v);
            }
        }
        let keyring = keyring_for(master_keys, &keys);
        let result = block_on(keyring.on_decrypt(dec_materials(suite, context), &header.edks))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let data_key = result.plaintext_data_key.as_ref().unwrap();
        assert_eq!(data_key.expose_secret().len(), suite.data_key_len(), "{name}");
        assert!(
            data_key_authenticates_header(suite, &header, data_key, &authenticated_only),
            "{name}: the data key does not authenticate the header"
        );
        outcome.decrypted += 1;
        outcome.by_suite.insert(suite.id);
        outcome.multi += usize::from(master_keys.len() > 1);
    }
    outcome
}

#[test]
fn raw_keyrings_decrypt_every_raw_v4_net_vector() {
    let outcome = run_v4_raw_vectors(None);
    // The README: 99 raw-key tests over all 11 suites, 33 of them with two master keys.
    assert_eq!(outcome.decrypted, 99);
    assert_eq!(outcome.by_suite.len(), 11);
    assert_eq!(outcome.multi, 33);
}

#[test]
fn raw_aes_vector_fails_with_a_different_context_or_key_name() {
    let dir = v4_dir();
    let manifest = read_json(dir.join("manifest.json"));
    let keys = v4_keys();
    let aes = &keys["aes-256"];
    let (name, test) = manifest["tests"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(n, t)| {
            n.contains("ec_len_2-cmm_Default") && t["master-keys"][0]["key"] == "aes-256"
        })
        .unwrap();
    let file = test["ciphertext"].as_str().unwrap().strip_prefix("file://").unwrap();
    let header = parse_header(&std::fs::read(dir.join(file)).unwrap());
    let suite = AlgorithmSuite::by_id(header.suite_id).unwrap();
    let ns = test["master-keys"][0]["provider-id"].as_str().unwrap();

    let right = RawAesKeyring::new(ns, &aes.key_id, &aes.symmetric_bytes()).unwrap();
    block_on(right.on_decrypt(dec_materials(suite, header.stored_ec.clone()), &header.edks))
        .unwrap_or_else(|e| panic!("{name}: {e}"));

    let mut other_ec = header.stored_ec.clone();
    other_ec.insert("key1".into(), "changed".into());
    let err = block_on(right.on_decrypt(dec_materials(suite, other_ec), &header.edks)).unwrap_err();
    assert!(matches!(err, Error::NoDecryptableDataKey), "{err}");

    let renamed = RawAesKeyring::new(ns, "aes-256-other", &aes.symmetric_bytes()).unwrap();
    let err =
        block_on(renamed.on_decrypt(dec_materials(suite, header.stored_ec.clone()), &header.edks))
            .unwrap_err();
    assert!(matches!(err, Error::NoDecryptableDataKey), "{err}");
}

#[test]
fn public_only_vector_keyring_cannot_decrypt() {
    let dir = v4_dir();
    let manifest = read_json(dir.join("manifest.json"));
    let keys = v4_keys();
    let (_, test) = manifest["tests"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, t)| t["master-keys"].as_array().unwrap().len() == 2)
        .unwrap();
    let file = test["ciphertext"].as_str().unwrap().strip_prefix("file://").unwrap();
    let header = parse_header(&std::fs::read(dir.join(file)).unwrap());
    let suite = AlgorithmSuite::by_id(header.suite_id).unwrap();
    // Only the public-key entry: it must refuse, even though the other entry would work.
    let public_only = keyring_for(&test["master-keys"].as_array().unwrap()[1..], &keys);
    assert!(block_on(
        public_only.on_decrypt(dec_materials(suite, header.stored_ec.clone()), &header.edks)
    )
    .is_err());
}
