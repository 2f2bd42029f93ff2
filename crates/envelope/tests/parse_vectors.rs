//! The official AWS Encryption SDK test vectors in `../shared/esdk-vectors`
//! (see its README): every message parses without keys to its exact length and
//! re-serialises byte for byte; every raw-key message decrypts to the expected
//! plaintext, and every message of `invalid-Net-4.0.0` fails.
//!
//! Skipped, with a message, when the shared directory is absent.
// Test helpers unwrap too; clippy.toml's allowance covers only `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{block_on, VectorCmm};
use kms_api::base64;
use kms_envelope::client::{decrypt, DecryptConfig};
use kms_envelope::format::{parse_message, HeaderLimits, ParsedBody};
use kms_envelope::materials::EncryptionContext;
use kms_envelope::suite::CommitmentPolicy;
use rsa::pkcs8::DecodePrivateKey;
use serde_json::Value;

fn vectors_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/esdk-vectors");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent", dir.display());
        None
    }
}

fn ciphertexts(set: &str) -> Vec<PathBuf> {
    let Some(dir) = vectors_dir() else { return Vec::new() };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(set).join("ciphertexts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Parses every file of a set; returns how many there were and the suites seen.
fn parse_set(set: &str) -> (usize, Vec<u16>, usize) {
    let files = ciphertexts(set);
    let mut suites = Vec::new();
    let mut non_framed = 0;
    for path in &files {
        let data = std::fs::read(path).unwrap();
        let parsed = parse_message(&data, &HeaderLimits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(parsed.encode().unwrap(), data, "{}: re-serialisation differs", path.display());
        assert_eq!(
            kms_envelope::fuzzing::parse_message(&data).unwrap(),
            data.len(),
            "{}",
            path.display()
        );
        if matches!(parsed.body, ParsedBody::NonFramed(_)) {
            non_framed += 1;
        }
        if !suites.contains(&parsed.header.suite.id) {
            suites.push(parsed.header.suite.id);
        }
    }
    suites.sort_unstable();
    (files.len(), suites, non_framed)
}

#[test]
fn python_1_3_5_vectors_parse_to_their_exact_length() {
    let (n, suites, non_framed) = parse_set("python-1.3.5");
    if vectors_dir().is_none() {
        return;
    }
    assert_eq!(n, 360);
    assert_eq!(suites, [0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378]);
    assert!(non_framed > 0, "the set includes non-framed messages");
}

#[test]
fn net_4_0_1_vectors_parse_to_their_exact_length() {
    let (n, suites, _) = parse_set("v4-Net-4.0.1");
    if vectors_dir().is_none() {
        return;
    }
    assert_eq!(n, 132);
    assert_eq!(suites.len(), 11);
}

#[test]
fn net_4_0_0_vectors_parse() {
    let (valid, _, _) = parse_set("valid-Net-4.0.0");
    let (invalid, _, _) = parse_set("invalid-Net-4.0.0");
    if vectors_dir().is_some() {
        assert_eq!((valid, invalid), (5, 28));
    }
}

/// Outcome counts of a decrypt manifest run.
#[derive(Debug, Default)]
struct Outcome {
    decrypted: usize,
    failed_as_expected: usize,
    skipped_kms: usize,
}

fn run_manifest(set: &str, all_must_fail: bool) -> Option<Outcome> {
    let dir = vectors_dir()?.join(set);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let keys: Value =
        serde_json::from_slice(&std::fs::read(dir.join("keys.json")).unwrap()).unwrap();
    let file = |uri: &str| std::fs::read(dir.join(uri.trim_start_matches("file://"))).unwrap();
    let mut outcome = Outcome::default();
    let tests = manifest["tests"].as_object().unwrap();
    let mut rsa_cache: Option<rsa::RsaPrivateKey> = None;
    for (name, test) in tests {
        let mut cmm = VectorCmm { namespace: String::new(), aes: None, rsa: None };
        for mk in test["master-keys"].as_array().unwrap() {
            if mk["type"] != "raw" {
                continue;
            }
            let key = &keys["keys"][mk["key"].as_str().unwrap()];
            cmm.namespace = mk["provider-id"].as_str().unwrap().to_owned();
            let key_name = key["key-id"].as_str().unwrap().to_owned();
            match (key["type"].as_str().unwrap(), mk["encryption-algorithm"].as_str().unwrap()) {
                ("symmetric", "aes") => {
                    let bytes = base64::decode(key["material"].as_str().unwrap()).unwrap();
                    cmm.aes = Some((key_name, bytes));
                }
                ("private", "rsa") => {
                    assert_eq!(mk["padding-hash"], "sha512");
                    let pk = rsa_cache.get_or_insert_with(|| {
                        rsa::RsaPrivateKey::from_pkcs8_pem(key["material"].as_str().unwrap())
                            .unwrap()
                    });
                    cmm.rsa = Some((key_name, pk.clone()));
                }
                _ => {}
            }
        }
        if cmm.aes.is_none() && cmm.rsa.is_none() {
            outcome.skipped_kms += 1;
            continue;
        }
        let reproduced: Option<EncryptionContext> = test.get("encryption-context").map(|v| {
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        });
        let config = DecryptConfig {
            commitment_policy: CommitmentPolicy::RequireEncryptAllowDecrypt,
            reproduced_encryption_context: reproduced,
            ..DecryptConfig::default()
        };
        let ct = file(test["ciphertext"].as_str().unwrap());
        let result = block_on(decrypt(&cmm, &ct, &config));
        let expected = test["result"]["output"]["plaintext"].as_str();
        match (expected, result) {
            (Some(pt), Ok(d)) if !all_must_fail => {
                assert_eq!(d.plaintext, file(pt), "{name}: wrong plaintext");
                outcome.decrypted += 1;
            }
            (_, Err(e)) if all_must_fail || expected.is_none() => {
                // The .NET 4.0.0 bug breaks the header tag: the failure is cryptographic.
                assert!(matches!(e, kms_envelope::Error::DecryptionFailed), "{name}: {e:?}");
                outcome.failed_as_expected += 1;
            }
            (_, r) => panic!("{name}: unexpected {:?}", r.map(|d| d.plaintext.len())),
        }
    }
    Some(outcome)
}

#[test]
fn net_4_0_1_raw_key_vectors_decrypt() {
    let Some(o) = run_manifest("v4-Net-4.0.1", false) else { return };
    assert_eq!((o.decrypted, o.skipped_kms), (99, 33), "{o:?}");
}

#[test]
fn net_4_0_0_valid_vectors_decrypt() {
    let Some(o) = run_manifest("valid-Net-4.0.0", false) else { return };
    assert_eq!(o.decrypted, 5, "{o:?}");
}

#[test]
fn net_4_0_0_invalid_vectors_fail() {
    let Some(o) = run_manifest("invalid-Net-4.0.0", true) else { return };
    assert_eq!(o.failed_as_expected + o.skipped_kms, 28, "{o:?}");
    assert!(o.failed_as_expected > 0);
}
