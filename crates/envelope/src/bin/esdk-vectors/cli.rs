// `esdk-vectors`: runs AWS Encryption SDK test-vector manifests against kms-envelope.
//
// See `esdk-vectors --help`; the work is done by `kms_envelope::vectors`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use kms_envelope::vectors::{
    run_decrypt_manifest, run_encrypt_manifest, DecryptOptions, ManifestError, Summary, TestResult,
};

const HELP: &str = "\
esdk-vectors: run AWS Encryption SDK test-vector manifests against kms-envelope

USAGE:
    esdk-vectors decrypt --manifest PATH [--expect-all-to-fail]
    esdk-vectors encrypt --manifest PATH --out DIR
    esdk-vectors --help

COMMANDS:
    decrypt   Run an `awses-decrypt` manifest (versions 1-4) with its keys manifest
              (versions 1-3). PATH is the manifest file, or a directory holding
              manifest.json or decrypt_message.json. Each test's ciphertext is decrypted
              whole and in chunks, and the result is checked against `result.output`
              (the plaintext must match) or `result.error` (decryption must fail).
              Tests whose master keys are in AWS KMS are skipped (their ciphertext must
              still parse when it is expected to decrypt).
    encrypt   Run an `awses-encrypt` manifest (versions 1-2): generate its plaintexts
              (random bytes), encrypt each test with raw AES / raw RSA keys, and write
              plaintexts/, ciphertexts/, keys.json and manifest.json (an awses-decrypt
              version 4 manifest) into DIR, ready for `esdk-vectors decrypt` or any
              other implementation.

OPTIONS:
    --manifest PATH        The manifest to run.
    --out DIR              (encrypt) The output directory; created if missing.
    --expect-all-to-fail   (decrypt) Every test must fail to decrypt, whatever its
                           `result` says: a decryption failure is a PASS and a success
                           a FAIL. For manifests whose expectations record a known-bad
                           SDK, such as invalid-Net-4.0.0 (written by ESDK-.NET 4.0.0,
                           whose header authentication is wrong: its manifest says
                           `output`, but a conforming decryptor must reject all 28).
    -h, --help             Print this help.

OUTPUT:
    One line per test: `PASS id`, `FAIL id: reason` or `SKIP id: reason`, then
    `N passed, M failed, K skipped`.

EXIT STATUS:
    0 if no test failed, 1 if any test failed, 2 for a usage error or a manifest
    that cannot be run.
";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Decrypt { manifest: PathBuf, options: DecryptOptions },
    Encrypt { manifest: PathBuf, out: PathBuf },
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("no command given".into());
    };
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        return Ok(Command::Help);
    }
    let mut manifest = None;
    let mut out = None;
    let mut expect_all_to_fail = false;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next().map(PathBuf::from).ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--manifest" => manifest = Some(value("--manifest")?),
            "--out" => out = Some(value("--out")?),
            "--expect-all-to-fail" => expect_all_to_fail = true,
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let manifest = manifest.ok_or("--manifest is required")?;
    match command.as_str() {
        "decrypt" if out.is_none() => {
            Ok(Command::Decrypt { manifest, options: DecryptOptions { expect_all_to_fail } })
        }
        "decrypt" => Err("--out is only for encrypt".into()),
        "encrypt" if expect_all_to_fail => Err("--expect-all-to-fail is only for decrypt".into()),
        "encrypt" => Ok(Command::Encrypt { manifest, out: out.ok_or("encrypt needs --out DIR")? }),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// Prints one line to stdout. A closed pipe (`esdk-vectors ... | head`) is not an error
/// worth a panic: the run goes on and its exit code still tells the outcome.
fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn print_result(result: &TestResult) {
    say(result);
}

fn finish(result: Result<Summary, ManifestError>) -> ExitCode {
    match result {
        Ok(summary) => {
            say(summary);
            if summary.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("esdk-vectors: {e}");
            ExitCode::from(2)
        }
    }
}

pub(crate) fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(Command::Help) => {
            let _ = write!(std::io::stdout().lock(), "{HELP}");
            ExitCode::SUCCESS
        }
        Ok(Command::Decrypt { manifest, options }) => {
            finish(run_decrypt_manifest(&manifest, &options, &mut print_result))
        }
        Ok(Command::Encrypt { manifest, out }) => {
            finish(run_encrypt_manifest(&manifest, &out, &mut print_result))
        }
        Err(message) => {
            eprintln!("esdk-vectors: {message}\n\n{HELP}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn commands_parse_and_misuse_is_refused() {
        assert_eq!(parse_args(&args("--help")), Ok(Command::Help));
        assert_eq!(
            parse_args(&args("decrypt --manifest m --expect-all-to-fail")),
            Ok(Command::Decrypt {
                manifest: "m".into(),
                options: DecryptOptions { expect_all_to_fail: true }
            })
        );
        assert_eq!(
            parse_args(&args("encrypt --out o --manifest m")),
            Ok(Command::Encrypt { manifest: "m".into(), out: "o".into() })
        );
        for bad in ["", "decrypt", "encrypt --manifest m", "decrypt --manifest", "x --manifest m"] {
            assert!(parse_args(&args(bad)).is_err(), "{bad}");
        }
        assert!(parse_args(&args("encrypt --manifest m --out o --expect-all-to-fail")).is_err());
    }
}
