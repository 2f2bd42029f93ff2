//! The AWS KMS JSON 1.1 protocol (`TrentService`), shared by `kms-server` and its clients.
//!
//! - [`types`]: request and response shapes with AWS's member names.
//! - [`error`]: the exception codes, their HTTP statuses and the wire error body.
//! - [`sigv4`]: AWS Signature Version 4, signing and verification.
//! - [`hash`]: SHA-256/384/512 chosen at run time, with HMAC and HKDF written once over them.
//! - [`base64`]: standard and URL-safe base64, strict and constant-time on the data.
//! - [`blob`]: base64 blobs, with a zeroizing variant for plaintext.
//! - [`sort`]: the one sort the wasm client uses, to keep it small.
//! - [`json`] and [`client`]: a small JSON reader and writer, and the responses a light
//!   client (the wasm package) reads with them, so it carries no serde code.
//!
//! Compiles for native targets and for `wasm32-unknown-unknown`.

pub mod base64;
pub mod blob;
pub mod client;
pub mod error;
pub mod hash;
pub mod json;
pub mod sigv4;
pub mod sort;
pub mod types;

pub use blob::{Blob, SecretBlob};
pub use error::{ErrorCode, KmsError};

/// The `X-Amz-Target` prefix of every KMS operation.
pub const TARGET_PREFIX: &str = "TrentService.";

/// The content type of every KMS request and response.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The SigV4 service name of KMS.
pub const SERVICE: &str = "kms";
