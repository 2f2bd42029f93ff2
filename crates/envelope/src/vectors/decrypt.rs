//! Running `awses-decrypt` manifests (framework feature `0004`, versions 1 to 4).
//!
//! Each test's ciphertext is decrypted twice, once whole ([`crate::decrypt`]) and once fed
//! to a [`Decryptor`] in small chunks, as the official handlers do; both must agree. The
//! outcome is then held against the test's expected result:
//! - `output` (or a version 1 `plaintext`): decryption succeeds with exactly that plaintext;
//! - `error`: decryption fails (any error: the SDKs disagree on error kinds, and the
//!   description is for people).
//!
//! Tests whose master keys live in AWS KMS are skipped, but a ciphertext that should decrypt
//! must still parse (structure only, no key), or the test fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::client::{decrypt, DecryptConfig};
use crate::cmm::default::DefaultCmm;
use crate::cmm::required_ec::RequiredEncryptionContextCmm;
use crate::cmm::CryptographicMaterialsManager;
use crate::error::Error;
use crate::format::{parse_message, HeaderLimits};
use crate::keyring::Keyring;
use crate::materials::EncryptionContext;
use crate::stream::Decryptor;
use crate::suite::CommitmentPolicy;
use crate::vectors::keys::KeysManifest;
use crate::vectors::master_key::{KeyringBuilder, Purpose, Unusable};
use crate::vectors::{
    base_dir, block_on, check_manifest_type, encryption_context_from, manifest_file, read_file,
    read_json, resolve_uri, ManifestError, Status, Summary, TestResult,
};

/// The decrypt manifest versions this runner reads.
pub const DECRYPT_MANIFEST_VERSIONS: std::ops::RangeInclusive<u64> = 1..=4;
/// File names tried, in order, when the manifest path is a directory.
pub const DECRYPT_MANIFEST_NAMES: [&str; 2] = ["manifest.json", "decrypt_message.json"];
/// Chunk size of the incremental decryption; odd, so chunks straddle every boundary.
const STREAM_CHUNK_BYTES: usize = 1021;

/// Options of a decrypt manifest run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecryptOptions {
    /// Every test must fail to decrypt, whatever its expected result says: a failure is a
    /// pass and a success is a failure. For manifests written by a known-bad SDK whose
    /// `result` records that SDK's view (`invalid-Net-4.0.0`, from ESDK-.NET 4.0.0, whose
    /// header authentication is wrong).
    pub expect_all_to_fail: bool,
}

/// What a test expects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    /// Decryption succeeds with the plaintext at this URI.
    Output(String),
    /// Decryption fails, for the described reason.
    Error(String),
}

/// One test, as read from the manifest.
#[derive(Debug)]
struct DecryptTest<'m> {
    ciphertext: &'m str,
    master_keys: &'m Value,
    expected: Expected,
    required_ec: bool,
    encryption_context: Option<EncryptionContext>,
    unsigned_only: bool,
}

/// Runs every test of the decrypt manifest at `path` (a file, or a directory holding
/// `manifest.json` or `decrypt_message.json`), calling `report` after each one.
///
/// # Errors
/// [`ManifestError`] if the manifest or its keys manifest cannot be read or is not a
/// supported version; a test that goes wrong is a [`Status::Fail`], not an error.
pub fn run_decrypt_manifest(
    path: &Path,
    options: &DecryptOptions,
    report: &mut dyn FnMut(&TestResult),
) -> Result<Summary, ManifestError> {
    let path = manifest_file(path, &DECRYPT_MANIFEST_NAMES);
    let manifest = read_json(&path)?;
    let version =
        check_manifest_type(&manifest, &path, "awses-decrypt", DECRYPT_MANIFEST_VERSIONS)?;
    let base = base_dir(&path);
    let keys = load_keys(&manifest, &base, &path)?;
    let Some(tests) = manifest["tests"].as_object() else {
        return Err(ManifestError::Invalid { path, message: "no \"tests\" object".into() });
    };
    let mut runner = Runner {
        base,
        options: *options,
        keyrings: KeyringBuilder::new(&keys),
        plaintexts: HashMap::new(),
    };
    let mut summary = Summary::default();
    for (id, test) in tests {
        let status = match parse_test(test, version) {
            Ok(test) => runner.run(&test),
            Err(reason) => Status::Fail(format!("bad test description: {reason}")),
        };
        summary.record(&status);
        report(&TestResult { id: id.clone(), status });
    }
    Ok(summary)
}

/// Reads the keys manifest a decrypt or encrypt manifest names.
pub(super) fn load_keys(
    manifest: &Value,
    base: &Path,
    path: &Path,
) -> Result<KeysManifest, ManifestError> {
    let invalid = |message: String| ManifestError::Invalid { path: path.to_owned(), message };
    let uri = manifest["keys"].as_str().ok_or_else(|| invalid("no \"keys\" URI".into()))?;
    let keys_path = resolve_uri(base, uri).map_err(invalid)?;
    let keys = read_json(&keys_path)?;
    KeysManifest::parse(&keys)
        .map_err(|message| ManifestError::Invalid { path: keys_path, message })
}

fn parse_test(test: &Value, version: u64) -> Result<DecryptTest<'_>, String> {
    let ciphertext = test["ciphertext"].as_str().ok_or("no ciphertext URI")?;
    let master_keys = &test["master-keys"];
    let expected = match (&test["result"], test["plaintext"].as_str()) {
        (Value::Null, Some(plaintext)) => Expected::Output(plaintext.to_owned()),
        (Value::Null, None) if version == 1 => return Err("no plaintext URI".into()),
        (Value::Null, None) => return Err("no result".into()),
        (result, _) => match (&result["output"], &result["error"]) {
            (Value::Object(output), Value::Null) => Expected::Output(
                output
                    .get("plaintext")
                    .and_then(Value::as_str)
                    .ok_or("result.output has no plaintext URI")?
                    .to_owned(),
            ),
            (Value::Null, Value::Object(error)) => Expected::Error(
                error.get("error-description").and_then(Value::as_str).unwrap_or("").to_owned(),
            ),
            _ => return Err("result must hold exactly one of output and error".into()),
        },
    };
    let required_ec = match test["cmm"].as_str() {
        None | Some("Default") => false,
        Some("RequiredEncryptionContext") => true,
        Some(other) => return Err(format!("unknown cmm {other:?}")),
    };
    let encryption_context = match &test["encryption-context"] {
        Value::Null => None,
        context => Some(encryption_context_from(context)?),
    };
    let unsigned_only = match test["decryption-method"].as_str() {
        None => false,
        Some("streaming-unsigned-only") => true,
        Some(other) => return Err(format!("unknown decryption-method {other:?}")),
    };
    Ok(DecryptTest {
        ciphertext,
        master_keys,
        expected,
        required_ec,
        encryption_context,
        unsigned_only,
    })
}

struct Runner<'k> {
    base: PathBuf,
    options: DecryptOptions,
    keyrings: KeyringBuilder<'k>,
    /// Expected plaintexts by URI: most tests of a manifest share a few.
    plaintexts: HashMap<String, Vec<u8>>,
}

impl Runner<'_> {
    fn run(&mut self, test: &DecryptTest<'_>) -> Status {
        let ciphertext = match self.read(test.ciphertext) {
            Ok(bytes) => bytes,
            Err(reason) => return Status::Fail(reason),
        };
        let must_succeed =
            !self.options.expect_all_to_fail && matches!(test.expected, Expected::Output(_));
        let keyring = match self.keyrings.keyring(test.master_keys, Purpose::Decrypt) {
            Ok(keyring) => keyring,
            Err(Unusable::NeedsKms(reason)) if must_succeed => {
                // No key here, but a message that should decrypt must at least parse.
                return match parse_message(&ciphertext, &HeaderLimits::default()) {
                    Ok(_) => Status::Skip(reason),
                    Err(e) => {
                        Status::Fail(format!("{reason}, and the ciphertext does not parse: {e}"))
                    }
                };
            }
            Err(Unusable::NeedsKms(reason) | Unusable::Unsupported(reason)) => {
                return Status::Skip(reason)
            }
            Err(Unusable::Invalid(reason)) => return Status::Fail(reason),
        };
        let outcome = match decrypt_both_ways(keyring, test, &ciphertext) {
            Ok(outcome) => outcome,
            Err(reason) => return Status::Fail(reason),
        };
        if self.options.expect_all_to_fail {
            return match outcome {
                Err(_) => Status::Pass,
                Ok(_) => Status::Fail(
                    "decrypted, but every test of this manifest must fail (--expect-all-to-fail)"
                        .into(),
                ),
            };
        }
        match (&test.expected, outcome) {
            (Expected::Output(uri), Ok((plaintext, context))) => match self.plaintext(uri) {
                Ok(expected) => check_output(expected, &plaintext, &context, test),
                Err(reason) => Status::Fail(reason),
            },
            (Expected::Output(_), Err(e)) => Status::Fail(format!("decryption failed: {e}")),
            (Expected::Error(_), Err(_)) => Status::Pass,
            (Expected::Error(description), Ok(_)) => {
                Status::Fail(format!("decrypted, but the manifest expects an error: {description}"))
            }
        }
    }

    fn read(&self, uri: &str) -> Result<Vec<u8>, String> {
        let path = resolve_uri(&self.base, uri)?;
        read_file(&path).map_err(|e| e.to_string())
    }

    fn plaintext(&mut self, uri: &str) -> Result<&Vec<u8>, String> {
        if !self.plaintexts.contains_key(uri) {
            let bytes = self.read(uri)?;
            self.plaintexts.insert(uri.to_owned(), bytes);
        }
        self.plaintexts.get(uri).ok_or_else(|| format!("{uri} vanished"))
    }
}

/// A successful decryption passes if the plaintext is the expected one and the message
/// carries (or, with the required encryption context CMM, authenticates) every pair of the
/// test's `encryption-context`.
fn check_output(
    expected: &[u8],
    plaintext: &[u8],
    context: &EncryptionContext,
    test: &DecryptTest<'_>,
) -> Status {
    if expected != plaintext {
        return Status::Fail(format!(
            "the plaintext differs ({} bytes, expected {})",
            plaintext.len(),
            expected.len()
        ));
    }
    let pairs = test.encryption_context.iter().flatten();
    match pairs.into_iter().find(|(k, v)| context.get(k) != Some(*v)) {
        Some((k, _)) => {
            Status::Fail(format!("the encryption context lacks {k:?} or differs there"))
        }
        None => Status::Pass,
    }
}

/// Decrypts whole and in chunks. `Ok(outcome)` when both agree (the plaintext and the
/// authenticated encryption context, or the whole-message error); `Err(reason)` when they
/// disagree or the materials manager is not synchronous.
fn decrypt_both_ways(
    keyring: Arc<dyn Keyring>,
    test: &DecryptTest<'_>,
    ciphertext: &[u8],
) -> Result<Result<(Vec<u8>, EncryptionContext), Error>, String> {
    let cmm: Box<dyn CryptographicMaterialsManager> = if test.required_ec {
        // The test's context is the reproduced context, and its keys are the required ones
        // (the .NET vectors authenticate key1 and key2 without storing them).
        let required: Vec<String> =
            test.encryption_context.iter().flat_map(|ec| ec.keys().cloned()).collect();
        Box::new(RequiredEncryptionContextCmm::with_keyring(keyring, required))
    } else {
        Box::new(DefaultCmm::new(keyring))
    };
    let config = DecryptConfig {
        // Decrypt everything the spec allows; the tests say what must fail.
        commitment_policy: CommitmentPolicy::RequireEncryptAllowDecrypt,
        reproduced_encryption_context: if test.required_ec {
            test.encryption_context.clone()
        } else {
            None
        },
        forbid_signed_suites: test.unsigned_only,
        ..DecryptConfig::default()
    };
    let not_ready = || "the materials manager did not finish synchronously".to_owned();

    let whole = block_on(decrypt(cmm.as_ref(), ciphertext, &config))
        .ok_or_else(not_ready)?
        .map(|decrypted| (decrypted.plaintext, decrypted.encryption_context));

    let mut decryptor = Decryptor::new(cmm.as_ref(), &config);
    let mut chunked = Vec::with_capacity(ciphertext.len());
    let mut chunk_result = Ok(());
    for chunk in ciphertext.chunks(STREAM_CHUNK_BYTES) {
        chunk_result = block_on(decryptor.update(chunk, &mut chunked)).ok_or_else(not_ready)?;
        if chunk_result.is_err() {
            break;
        }
    }
    let chunked = chunk_result
        .and_then(|()| decryptor.finish(&mut chunked))
        .map(|info| (chunked, info.encryption_context));

    match (whole, chunked) {
        (Ok(a), Ok(b)) if a == b => Ok(Ok(a)),
        (Err(e), Err(_)) => Ok(Err(e)),
        (Ok(_), Ok(_)) => Err("whole and chunked decryption gave different plaintexts".into()),
        (Ok(_), Err(e)) => Err(format!("whole decryption succeeded, chunked failed: {e}")),
        (Err(e), Ok(_)) => Err(format!("chunked decryption succeeded, whole failed: {e}")),
    }
}
