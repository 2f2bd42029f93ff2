//! `esdk-vectors`: runs AWS Encryption SDK test-vector manifests against kms-envelope.
//!
//! See `esdk-vectors --help`; the work is done by `kms_envelope::vectors`. The tool reads
//! files, so it exists only on native targets (the library itself also builds for wasm32).

#[cfg(not(target_arch = "wasm32"))]
#[path = "esdk-vectors/cli.rs"]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
