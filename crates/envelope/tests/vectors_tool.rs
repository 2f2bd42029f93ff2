//! The `esdk-vectors` tool (`kms_envelope::vectors` and its binary) over the official
//! vectors in `../shared/esdk-vectors` (see its README for the expected counts), and the
//! encrypt -> decrypt round trip of `tests/data/encrypt-manifest`.
//!
//! The shared-vector tests are skipped, with a message, when the directory is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

use kms_envelope::vectors::{
    run_decrypt_manifest, run_encrypt_manifest, DecryptOptions, Status, Summary, TestResult,
};
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

fn run_decrypt(dir: &Path, expect_all_to_fail: bool) -> (Summary, Vec<TestResult>) {
    let mut results = Vec::new();
    let summary = run_decrypt_manifest(dir, &DecryptOptions { expect_all_to_fail }, &mut |r| {
        results.push(r.clone())
    })
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    (summary, results)
}

fn failures(results: &[TestResult]) -> Vec<String> {
    results.iter().filter(|r| matches!(r.status, Status::Fail(_))).map(|r| r.to_string()).collect()
}

fn summary(passed: usize, failed: usize, skipped: usize) -> Summary {
    Summary { passed, failed, skipped }
}

const KMS_SKIP: &str = "needs AWS KMS key arn:aws:kms:us-west-2:658956600833:key/";

#[test]
fn net_4_0_1_raw_key_vectors_pass_and_aws_kms_ones_are_skipped() {
    let Some(dir) = vectors_dir() else { return };
    let (summary_, results) = run_decrypt(&dir.join("v4-Net-4.0.1"), false);
    assert_eq!(summary_, summary(99, 0, 33), "{:?}", failures(&results));
    for r in &results {
        if let Status::Skip(reason) = &r.status {
            assert!(reason.starts_with(KMS_SKIP), "{r}");
        }
    }
}

#[test]
fn net_4_0_0_valid_vectors_pass() {
    let Some(dir) = vectors_dir() else { return };
    let (summary_, results) = run_decrypt(&dir.join("valid-Net-4.0.0"), false);
    assert_eq!(summary_, summary(5, 0, 0), "{:?}", failures(&results));
}

#[test]
fn net_4_0_0_invalid_vectors_are_all_rejected() {
    let Some(dir) = vectors_dir() else { return };
    // Under the flag every rejection is a pass.
    let (summary_, results) = run_decrypt(&dir.join("invalid-Net-4.0.0"), true);
    assert_eq!(summary_, summary(28, 0, 0), "{:?}", failures(&results));
    // Taken at its word, the manifest (which records the buggy SDK's view) fails them all.
    let (as_written, _) = run_decrypt(&dir.join("invalid-Net-4.0.0"), false);
    assert_eq!(as_written, summary(0, 28, 0));
}

#[test]
fn python_1_3_5_vectors_are_skipped_but_every_ciphertext_parses() {
    let Some(dir) = vectors_dir() else { return };
    // A version 1 manifest (`decrypt_message.json`) with a version 1 keys manifest; every
    // test needs AWS KMS. A skipped test whose ciphertext does not parse would be a FAIL.
    let (summary_, results) = run_decrypt(&dir.join("python-1.3.5"), false);
    assert_eq!(summary_, summary(0, 0, 360), "{:?}", failures(&results));
    assert!(results
        .iter()
        .all(|r| matches!(&r.status, Status::Skip(s) if s.starts_with(KMS_SKIP))));
}

fn example_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/encrypt-manifest/manifest.json")
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn example_encrypt_manifest_round_trips_through_the_decrypt_manifest_it_writes() {
    let out = fresh_dir("vectors-tool-round-trip");
    let mut written = Vec::new();
    let encrypted =
        run_encrypt_manifest(&example_manifest(), &out, &mut |r| written.push(r.clone())).unwrap();
    // 26 tests: the non-framed one and the AWS KMS one cannot be written here.
    assert_eq!(encrypted, summary(24, 0, 2), "{:?}", failures(&written));

    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["manifest"]["type"], "awses-decrypt");
    assert_eq!(manifest["manifest"]["version"], 4);
    assert_eq!(manifest["tests"].as_object().unwrap().len(), 24);
    assert_eq!(std::fs::read(out.join("plaintexts/small")).unwrap().len(), 1000);
    assert!(std::fs::read(out.join("plaintexts/empty")).unwrap().is_empty());
    let rec = &manifest["tests"]["0478-required-encryption-context"];
    assert_eq!(rec["cmm"], "RequiredEncryptionContext");

    let (decrypted, results) = run_decrypt(&out, false);
    assert_eq!(decrypted, summary(24, 0, 0), "{:?}", failures(&results));
}

#[test]
fn a_tampered_ciphertext_plaintext_or_context_fails_its_test() {
    let out = fresh_dir("vectors-tool-tamper");
    run_encrypt_manifest(&example_manifest(), &out, &mut |_| {}).unwrap();
    let ct = out.join("ciphertexts/0578-rsa-pkcs1");
    let mut bytes = std::fs::read(&ct).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&ct, bytes).unwrap();
    // Every test shares the plaintext "small" except the empty and one-byte ones. The one byte
    // is random, so change it rather than overwrite it with a fixed byte it might equal.
    let one = out.join("plaintexts/one");
    let changed: Vec<u8> = std::fs::read(&one).unwrap().iter().map(|b| b ^ 0x80).collect();
    std::fs::write(&one, changed).unwrap();
    // A pair the message does not carry.
    let manifest_path = out.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["tests"]["0578-unicode-context"]["encryption-context"]["purpose"] = "other".into();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();

    let (summary_, results) = run_decrypt(&out, false);
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail(_)))
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(
        failed,
        ["0578-aes-192-one-byte", "0578-rsa-pkcs1", "0578-unicode-context"],
        "{summary_}"
    );
}

#[test]
fn version_3_error_results_and_the_unsigned_only_method_are_honoured() {
    let out = fresh_dir("vectors-tool-v3");
    run_encrypt_manifest(&example_manifest(), &out, &mut |_| {}).unwrap();
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let mut bad = std::fs::read(out.join("ciphertexts/0478-aes-256-frame-256")).unwrap();
    bad[60] ^= 0x80;
    std::fs::write(out.join("ciphertexts/tampered"), bad).unwrap();
    let test = |source: &str, ciphertext: &str, result: Value, method: Option<&str>| {
        let mut t = written["tests"][source].clone();
        t["ciphertext"] = format!("file://ciphertexts/{ciphertext}").into();
        t["result"] = result;
        if let Some(method) = method {
            t["decryption-method"] = method.into();
        }
        t
    };
    let error = serde_json::json!({"error": {"error-description": "must fail"}});
    let output = serde_json::json!({"output": {"plaintext": "file://plaintexts/small"}});
    let unsigned_only = Some("streaming-unsigned-only");
    let manifest = serde_json::json!({
        "manifest": {"type": "awses-decrypt", "version": 3},
        "client": {"name": "test", "version": "0"},
        "keys": "file://keys.json",
        "tests": {
            "tampered-must-fail": test("0478-aes-256-frame-256", "tampered", error.clone(), None),
            "signed-refused-when-unsigned-only":
                test("0578-aes-256-frame-256", "0578-aes-256-frame-256", error.clone(), unsigned_only),
            "unsigned-decrypts-when-unsigned-only":
                test("0478-aes-256-frame-256", "0478-aes-256-frame-256", output, unsigned_only),
            "valid-but-error-expected":
                test("0478-aes-256-frame-256", "0478-aes-256-frame-256", error, None),
        }
    });
    let path = out.join("v3.json");
    std::fs::write(&path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let (summary_, results) = run_decrypt(&path, false);
    assert_eq!(summary_, summary(3, 1, 0), "{results:?}");
    assert_eq!(failures(&results).len(), 1);
    assert!(failures(&results)[0].starts_with("FAIL valid-but-error-expected: decrypted, but"));
}

#[test]
fn the_binary_prints_one_line_per_test_and_exits_non_zero_iff_a_test_fails() {
    let bin = env!("CARGO_BIN_EXE_esdk-vectors");
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--expect-all-to-fail"));
    let usage = Command::new(bin).args(["decrypt"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));

    let out = fresh_dir("vectors-tool-binary");
    let encrypt = Command::new(bin)
        .args(["encrypt", "--manifest"])
        .arg(example_manifest())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(encrypt.status.success(), "{}", String::from_utf8_lossy(&encrypt.stderr));
    let stdout = String::from_utf8(encrypt.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 27);
    assert_eq!(stdout.lines().last(), Some("24 passed, 0 failed, 2 skipped"));

    let decrypt = Command::new(bin).args(["decrypt", "--manifest"]).arg(&out).output().unwrap();
    assert!(decrypt.status.success());
    assert!(String::from_utf8(decrypt.stdout)
        .unwrap()
        .ends_with("24 passed, 0 failed, 0 skipped\n"));

    let Some(dir) = vectors_dir() else { return };
    let invalid = dir.join("invalid-Net-4.0.0");
    let as_written =
        Command::new(bin).args(["decrypt", "--manifest"]).arg(&invalid).output().unwrap();
    assert_eq!(as_written.status.code(), Some(1));
    let flagged = Command::new(bin)
        .args(["decrypt", "--expect-all-to-fail", "--manifest"])
        .arg(&invalid)
        .output()
        .unwrap();
    assert_eq!(flagged.status.code(), Some(0));
    let text = String::from_utf8(flagged.stdout).unwrap();
    assert!(text.lines().take(28).all(|l| l.starts_with("PASS ")), "{text}");
    assert_eq!(text.lines().last(), Some("28 passed, 0 failed, 0 skipped"));
}
