//! Running `awses-encrypt` manifests (framework feature `0003`, versions 1 and 2).
//!
//! The output directory receives what the framework's workflow describes:
//! `plaintexts/<name>` (random bytes of each size in `plaintexts`), `ciphertexts/<test id>`,
//! a copy of the keys manifest as `keys.json`, and `manifest.json`, an `awses-decrypt`
//! version 4 manifest with one test per message written, expecting its plaintext. Any
//! implementation can then decrypt the messages, this crate included
//! ([`super::run_decrypt_manifest`]).
//!
//! Tests this crate cannot encrypt are skipped: master keys in AWS KMS, and non-framed
//! messages (`frame-size` 0), which the spec allows decrypting but no longer writing.

use std::collections::HashSet;
use std::path::Path;

use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};

use crate::client::{encrypt, EncryptConfig};
use crate::cmm::default::DefaultCmm;
use crate::cmm::required_ec::RequiredEncryptionContextCmm;
use crate::cmm::CryptographicMaterialsManager;
use crate::materials::EncryptionContext;
use crate::suite::{AlgorithmSuite, CommitmentPolicy};
use crate::vectors::decrypt::load_keys;
use crate::vectors::master_key::{KeyringBuilder, Purpose, Unusable};
use crate::vectors::{
    base_dir, block_on, check_manifest_type, create_dir, encryption_context_from, read_file,
    read_json, resolve_uri, write_file, ManifestError, Status, Summary, TestResult,
};

/// The encrypt manifest versions this runner reads.
pub const ENCRYPT_MANIFEST_VERSIONS: std::ops::RangeInclusive<u64> = 1..=2;
/// The decrypt manifest version written.
pub const WRITTEN_DECRYPT_MANIFEST_VERSION: u64 = 4;
/// The largest plaintext a manifest may ask for (they are generated in memory).
const PLAINTEXT_MAX_BYTES: u64 = 1 << 30;

/// One message to write, as read from the manifest.
struct EncryptTest<'m> {
    plaintext: &'m str,
    suite: &'static AlgorithmSuite,
    frame_length: u32,
    encryption_context: EncryptionContext,
    master_keys: &'m Value,
    required_ec: bool,
    description: Option<&'m str>,
}

/// Runs every test of the encrypt manifest at `path`, writing plaintexts, ciphertexts, the
/// keys manifest and a decrypt manifest into `out_dir` (created if needed), and calling
/// `report` after each test.
///
/// # Errors
/// [`ManifestError`] if a manifest cannot be read or is not a supported version, or an
/// output file cannot be written; a test that cannot encrypt is a [`Status::Fail`].
pub fn run_encrypt_manifest(
    path: &Path,
    out_dir: &Path,
    report: &mut dyn FnMut(&TestResult),
) -> Result<Summary, ManifestError> {
    let manifest = read_json(path)?;
    check_manifest_type(&manifest, path, "awses-encrypt", ENCRYPT_MANIFEST_VERSIONS)?;
    let invalid = |message: String| ManifestError::Invalid { path: path.to_owned(), message };
    let base = base_dir(path);
    let keys = load_keys(&manifest, &base, path)?;
    let keys_uri = manifest["keys"].as_str().unwrap_or_default();
    let keys_bytes = read_file(&resolve_uri(&base, keys_uri).map_err(invalid)?)?;
    let (Some(plaintext_sizes), Some(tests)) =
        (manifest["plaintexts"].as_object(), manifest["tests"].as_object())
    else {
        return Err(invalid(
            "an encrypt manifest needs \"plaintexts\" and \"tests\" objects".into(),
        ));
    };

    create_dir(&out_dir.join("plaintexts"))?;
    create_dir(&out_dir.join("ciphertexts"))?;
    write_file(&out_dir.join("keys.json"), &keys_bytes)?;
    let mut plaintexts = Map::new();
    let mut plaintext_bytes = std::collections::HashMap::new();
    for (name, size) in plaintext_sizes {
        let size = size
            .as_u64()
            .filter(|s| *s <= PLAINTEXT_MAX_BYTES)
            .ok_or_else(|| invalid(format!("plaintext {name:?}: size must be 0 to 2^30 bytes")))?;
        let file = file_name(name).ok_or_else(|| invalid(format!("plaintext name {name:?}")))?;
        let mut bytes = vec![0u8; usize::try_from(size).unwrap_or(usize::MAX)];
        OsRng.try_fill_bytes(&mut bytes).map_err(|e| invalid(format!("random generator: {e}")))?;
        write_file(&out_dir.join("plaintexts").join(&file), &bytes)?;
        plaintexts.insert(name.clone(), Value::String(format!("file://plaintexts/{file}")));
        plaintext_bytes.insert(name.as_str(), bytes);
    }

    let mut keyrings = KeyringBuilder::new(&keys);
    let mut written = Map::new();
    let mut file_names = HashSet::new();
    let mut summary = Summary::default();
    for (id, test) in tests {
        let status = match parse_test(test) {
            Err(reason) => Status::Fail(format!("bad test description: {reason}")),
            Ok(test) => match plaintext_bytes.get(test.plaintext) {
                None => Status::Fail(format!("plaintext {:?} is not defined", test.plaintext)),
                Some(plaintext) => match encrypt_one(&mut keyrings, &test, plaintext) {
                    Err(status) => status,
                    Ok(ciphertext) => {
                        match file_name(id).filter(|f| file_names.insert(f.clone())) {
                            None => Status::Fail("the test id is not usable as a file name".into()),
                            Some(file) => {
                                write_file(&out_dir.join("ciphertexts").join(&file), &ciphertext)?;
                                written.insert(id.clone(), decrypt_test(&test, &file, &plaintexts));
                                Status::Pass
                            }
                        }
                    }
                },
            },
        };
        summary.record(&status);
        report(&TestResult { id: id.clone(), status });
    }

    let decrypt_manifest = json!({
        "manifest": {"type": "awses-decrypt", "version": WRITTEN_DECRYPT_MANIFEST_VERSION},
        "client": {"name": "kms-envelope esdk-vectors", "version": env!("CARGO_PKG_VERSION")},
        "keys": "file://keys.json",
        "tests": written,
    });
    let text = serde_json::to_vec_pretty(&decrypt_manifest)
        .map_err(|e| invalid(format!("cannot serialise the decrypt manifest: {e}")))?;
    write_file(&out_dir.join("manifest.json"), &text)?;
    Ok(summary)
}

/// Reads a test. Version 1 manifests were written with both `frame-size` and `frame_size`
/// spellings (the feature text and its example disagree), so both are read.
fn parse_test(test: &Value) -> Result<EncryptTest<'_>, String> {
    let field = |name: &str| {
        let value = &test[name];
        if value.is_null() {
            &test[name.replace('-', "_").as_str()]
        } else {
            value
        }
    };
    let plaintext = test["plaintext"].as_str().ok_or("no plaintext name")?;
    let algorithm = test["algorithm"].as_str().ok_or("no algorithm")?;
    let suite = u16::from_str_radix(algorithm, 16)
        .ok()
        .and_then(AlgorithmSuite::by_id)
        .ok_or_else(|| format!("unknown algorithm suite {algorithm:?}"))?;
    let frame_length = field("frame-size")
        .as_u64()
        .and_then(|f| u32::try_from(f).ok())
        .ok_or("frame-size must be 0 to 2^32 - 1")?;
    let encryption_context = match field("encryption-context") {
        Value::Null => EncryptionContext::new(),
        context => encryption_context_from(context)?,
    };
    let required_ec = match test["cmm"].as_str() {
        None | Some("Default") => false,
        Some("RequiredEncryptionContext") => true,
        Some(other) => return Err(format!("unknown cmm {other:?}")),
    };
    Ok(EncryptTest {
        plaintext,
        suite,
        frame_length,
        encryption_context,
        master_keys: field("master-keys"),
        required_ec,
        description: test["description"].as_str(),
    })
}

/// Encrypts one test's plaintext; `Err` holds the test's status when it cannot.
fn encrypt_one(
    keyrings: &mut KeyringBuilder<'_>,
    test: &EncryptTest<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, Status> {
    if test.frame_length == 0 {
        return Err(Status::Skip(
            "non-framed messages: kms-envelope writes framed messages only".into(),
        ));
    }
    let keyring = keyrings.keyring(test.master_keys, Purpose::Encrypt).map_err(|u| match u {
        Unusable::NeedsKms(reason) | Unusable::Unsupported(reason) => Status::Skip(reason),
        Unusable::Invalid(reason) => Status::Fail(reason),
    })?;
    let cmm: Box<dyn CryptographicMaterialsManager> = if test.required_ec {
        // Every pair is required: authenticated but not stored, as in the .NET 4 vectors.
        let required: Vec<String> = test.encryption_context.keys().cloned().collect();
        Box::new(RequiredEncryptionContextCmm::with_keyring(keyring, required))
    } else {
        Box::new(DefaultCmm::new(keyring))
    };
    let config = EncryptConfig {
        commitment_policy: if test.suite.committing {
            CommitmentPolicy::RequireEncryptAllowDecrypt
        } else {
            CommitmentPolicy::ForbidEncryptAllowDecrypt
        },
        suite: Some(test.suite),
        frame_length: test.frame_length,
        ..EncryptConfig::default()
    };
    let result =
        block_on(encrypt(cmm.as_ref(), plaintext, test.encryption_context.clone(), &config))
            .ok_or_else(|| {
                Status::Fail("the materials manager did not finish synchronously".into())
            })?;
    result.map_err(|e| Status::Fail(format!("encryption failed: {e}")))
}

/// The decrypt manifest entry for a written message.
fn decrypt_test(test: &EncryptTest<'_>, file: &str, plaintexts: &Map<String, Value>) -> Value {
    // Copy the master keys, minus the encrypt-only `decryptable` hint of feature 0003.
    let master_keys: Vec<Value> = test
        .master_keys
        .as_array()
        .into_iter()
        .flatten()
        .map(|mk| {
            let mut mk = mk.clone();
            if let Some(object) = mk.as_object_mut() {
                object.remove("decryptable");
            }
            mk
        })
        .collect();
    let context: Map<String, Value> =
        test.encryption_context.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
    let mut entry = json!({
        "ciphertext": format!("file://ciphertexts/{file}"),
        "master-keys": master_keys,
        "cmm": if test.required_ec { "RequiredEncryptionContext" } else { "Default" },
        "encryption-context": context,
        "result": {"output": {"plaintext": plaintexts.get(test.plaintext)}},
    });
    if let (Some(description), Some(object)) = (test.description, entry.as_object_mut()) {
        object.insert("description".into(), Value::String(description.to_owned()));
    }
    entry
}

/// `name` if it is safe as a file name inside the output directory.
fn file_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    ok.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_become_file_names() {
        assert_eq!(file_name("0478-ec_len_2.x").as_deref(), Some("0478-ec_len_2.x"));
        for bad in ["", ".", "..", "a/b", "../x", "é"] {
            assert_eq!(file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn tests_read_both_spellings_and_reject_unknown_suites() {
        let hyphen = json!({"plaintext": "p", "algorithm": "0578", "frame-size": 512,
                            "encryption-context": {"a": "b"}, "master-keys": []});
        let t = parse_test(&hyphen).unwrap();
        assert_eq!((t.suite.id, t.frame_length, t.encryption_context.len()), (0x0578, 512, 1));
        let underscore = json!({"plaintext": "p", "algorithm": "0014", "frame_size": 0,
                                "encryption_context": {}, "master_keys": []});
        assert_eq!(parse_test(&underscore).unwrap().frame_length, 0);
        let unknown = json!({"plaintext": "p", "algorithm": "0001", "frame-size": 1});
        assert!(parse_test(&unknown).is_err());
    }
}
