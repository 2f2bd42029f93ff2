//! The AWS Encryption SDK test-vector framework (`awslabs/aws-crypto-tools-test-vector-framework`):
//! run `awses-decrypt` manifests against this crate, and turn `awses-encrypt` manifests into
//! messages plus the `awses-decrypt` manifest that describes them, so that this crate, the
//! official SDKs and any other implementation can check each other.
//!
//! Unlike the rest of the crate this module reads and writes files: manifests name their
//! keys, plaintexts and ciphertexts with `file://` URIs relative to the manifest. It backs the
//! `esdk-vectors` binary and is not built for wasm32.
//!
//! Formats, by framework feature:
//! - keys manifest (`0002-keys`), versions 1 to 3: [`keys`]. Version 1 stores `material` as a
//!   list of lines joined with `line-separator`; version 3 stores one string and a `key-id`
//!   (the raw keyring's key name), which versions 1 and 2 take from the key's manifest name.
//! - decrypt manifest (`0004-awses-message-decryption`), versions 1 to 4: [`decrypt`].
//!   Version 1 gives each test a `plaintext`; version 2 replaces it with `result`, either
//!   `{"output": {"plaintext": URI}}` or `{"error": {"error-description": TEXT}}`; version 3
//!   adds `decryption-method` (`streaming-unsigned-only`) and the MRK-aware AWS KMS master key
//!   types; version 4 adds `cmm` (`Default` or `RequiredEncryptionContext`) and the
//!   `encryption-context` to reproduce on decrypt.
//! - encrypt manifest (`0003-awses-message-encryption`), versions 1 and 2: [`encrypt`]. A
//!   `plaintexts` map (name to size in bytes, filled with random bytes) and tests naming a
//!   plaintext, an `algorithm` (hex suite id), a `frame-size` (0: non-framed), an
//!   `encryption-context` and `master-keys`; an optional `cmm` as in decrypt version 4.
//! - master key descriptions (`0005-awses-master-key`), shared by both: `raw` (`aes`, or `rsa`
//!   with `padding-algorithm` `pkcs1` / `oaep-mgf1` and `padding-hash`) and the `aws-kms*`
//!   types, which need a real AWS account and are skipped.
//!
//! Each test ends as [`Status::Pass`], [`Status::Fail`] or [`Status::Skip`]; a manifest that
//! cannot be run at all is a [`ManifestError`].
// File I/O has no place in wasm32 builds.
#![cfg(not(target_arch = "wasm32"))]

pub mod decrypt;
pub mod encrypt;
pub mod keys;
mod master_key;

use std::fmt;
use std::future::Future;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::Value;

use crate::materials::EncryptionContext;

pub use decrypt::{run_decrypt_manifest, DecryptOptions};
pub use encrypt::run_encrypt_manifest;

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The test did what its manifest says.
    Pass,
    /// The test did something else; the reason says what.
    Fail(String),
    /// The test could not run here (for example it needs AWS KMS); the reason says why.
    Skip(String),
}

/// The outcome of one test of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// The test's id in the manifest.
    pub id: String,
    /// How it ended.
    pub status: Status,
}

impl fmt::Display for TestResult {
    /// `PASS id`, `FAIL id: reason` or `SKIP id: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Status::Pass => write!(f, "PASS {}", self.id),
            Status::Fail(reason) => write!(f, "FAIL {}: {reason}", self.id),
            Status::Skip(reason) => write!(f, "SKIP {}: {reason}", self.id),
        }
    }
}

/// Counts of the tests of a manifest run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests that were skipped.
    pub skipped: usize,
}

impl Summary {
    /// Counts one more test.
    pub fn record(&mut self, status: &Status) {
        match status {
            Status::Pass => self.passed += 1,
            Status::Fail(_) => self.failed += 1,
            Status::Skip(_) => self.skipped += 1,
        }
    }

    /// Whether no test failed.
    pub fn is_success(&self) -> bool {
        self.failed == 0
    }
}

impl fmt::Display for Summary {
    /// `N passed, M failed, K skipped`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }
}

/// Why a whole manifest could not be run (as opposed to one of its tests failing).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A manifest is not JSON.
    #[error("{}: not JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: serde_json::Error,
    },
    /// A manifest is JSON but not a manifest this module can run.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

impl ManifestError {
    fn invalid(path: &Path, message: impl Into<String>) -> Self {
        ManifestError::Invalid { path: path.to_owned(), message: message.into() }
    }
}

/// Runs a future on the current thread. The keyrings used here (raw AES, raw RSA, multi)
/// never wait on anything outside themselves, so their futures finish on the first poll;
/// `None` if the future is still pending after a few polls (a keyring that does I/O).
pub fn block_on<F: Future>(future: F) -> Option<F::Output> {
    const POLLS_MAX: usize = 16;
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..POLLS_MAX {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Some(output);
        }
    }
    None
}

/// `path` itself if it is a file; otherwise the first of `names` inside the directory.
fn manifest_file(path: &Path, names: &[&str]) -> PathBuf {
    if path.is_dir() {
        for name in names {
            let candidate = path.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    path.to_owned()
}

fn read_file(path: &Path) -> Result<Vec<u8>, ManifestError> {
    std::fs::read(path).map_err(|source| ManifestError::Io { path: path.to_owned(), source })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ManifestError> {
    std::fs::write(path, bytes)
        .map_err(|source| ManifestError::Io { path: path.to_owned(), source })
}

fn create_dir(path: &Path) -> Result<(), ManifestError> {
    std::fs::create_dir_all(path)
        .map_err(|source| ManifestError::Io { path: path.to_owned(), source })
}

fn read_json(path: &Path) -> Result<Value, ManifestError> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|source| ManifestError::Json { path: path.to_owned(), source })
}

/// The directory a manifest's relative URIs start from.
fn base_dir(manifest: &Path) -> PathBuf {
    match manifest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// The file a manifest URI names: only `file://` URIs relative to the manifest's directory.
fn resolve_uri(base: &Path, uri: &str) -> Result<PathBuf, String> {
    let Some(relative) = uri.strip_prefix("file://") else {
        return Err(format!("unsupported URI {uri:?}: only file:// URIs are supported"));
    };
    let relative = Path::new(relative);
    if relative.is_absolute() {
        return Err(format!(
            "URI {uri:?} is absolute; manifests name files relative to themselves"
        ));
    }
    Ok(base.join(relative))
}

/// Checks `manifest.type` and `manifest.version`; returns the version.
fn check_manifest_type(
    value: &Value,
    path: &Path,
    expected_type: &str,
    versions: RangeInclusive<u64>,
) -> Result<u64, ManifestError> {
    let kind = value["manifest"]["type"].as_str();
    if kind != Some(expected_type) {
        return Err(ManifestError::invalid(
            path,
            format!("manifest.type is {kind:?}, expected {expected_type:?}"),
        ));
    }
    match value["manifest"]["version"].as_u64() {
        Some(v) if versions.contains(&v) => Ok(v),
        other => Err(ManifestError::invalid(
            path,
            format!(
                "{expected_type} manifest version {other:?} is not supported (supported: {} to {})",
                versions.start(),
                versions.end()
            ),
        )),
    }
}

/// A JSON object of strings as an encryption context.
fn encryption_context_from(value: &Value) -> Result<EncryptionContext, String> {
    let Some(object) = value.as_object() else {
        return Err("encryption-context is not an object".into());
    };
    object
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => Ok((k.clone(), s.to_owned())),
            None => Err(format!("encryption-context value of {k:?} is not a string")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_and_summary_read_as_documented() {
        let pass = TestResult { id: "a".into(), status: Status::Pass };
        let fail = TestResult { id: "b".into(), status: Status::Fail("why".into()) };
        let skip = TestResult { id: "c".into(), status: Status::Skip("kms".into()) };
        assert_eq!(pass.to_string(), "PASS a");
        assert_eq!(fail.to_string(), "FAIL b: why");
        assert_eq!(skip.to_string(), "SKIP c: kms");
        let mut summary = Summary::default();
        for r in [&pass, &fail, &skip, &skip] {
            summary.record(&r.status);
        }
        assert_eq!(summary.to_string(), "1 passed, 1 failed, 2 skipped");
        assert!(!summary.is_success());
    }

    #[test]
    fn uris_resolve_relative_to_the_manifest() {
        let base = Path::new("/m");
        assert_eq!(
            resolve_uri(base, "file://ciphertexts/x").unwrap(),
            Path::new("/m/ciphertexts/x")
        );
        assert!(resolve_uri(base, "s3://bucket/x").is_err());
        assert!(resolve_uri(base, "file:///etc/passwd").is_err());
    }

    #[test]
    fn block_on_gives_up_on_a_future_that_never_finishes() {
        assert_eq!(block_on(async { 7 }), Some(7));
        assert_eq!(block_on(std::future::pending::<()>()), None);
    }
}
