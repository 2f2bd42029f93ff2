//! JS errors: every failure becomes an `Error` named `KmsError` with a stable `code` (the
//! AWS exception name for KMS failures), a `message` and the HTTP `status` (0 when no
//! HTTP exchange was involved).

use js_sys::Reflect;
use kms_envelope::Error;
use wasm_bindgen::JsValue;

/// `code` of local caller errors (bad arguments or options).
pub(crate) const VALIDATION: &str = "ValidationException";

/// A `KmsError`: an `Error` with `name`, `code` and `status`.
pub(crate) fn kms_error(code: &str, message: &str, status: u16) -> JsValue {
    let error = js_sys::Error::new(message);
    // Setting a property on a fresh plain object cannot fail. (`name` through `Reflect.set`
    // too: one JS import less than `Error::set_name`.)
    let _ = Reflect::set(&error, &"name".into(), &"KmsError".into());
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    let _ = Reflect::set(&error, &"status".into(), &status.into());
    error.into()
}

/// A local caller error (`ValidationException`, status 0).
pub(crate) fn invalid(message: &str) -> JsValue {
    kms_error(VALIDATION, message, 0)
}

/// A local caller error about the option or argument `what`: `what` followed by `problem`
/// (`"keyName"` + `" is required"`). One body for the many such messages, instead of a
/// `format!` at each.
pub(crate) fn invalid_named(what: &str, problem: &str) -> JsValue {
    let mut message = String::with_capacity(what.len() + problem.len());
    message.push_str(what);
    message.push_str(problem);
    invalid(&message)
}

/// The HTTP status KMS sends with `code`, if it is a KMS exception name.
#[cfg(feature = "full")]
pub(crate) fn status_of(code: &str) -> u16 {
    kms_api::ErrorCode::from_name(code).map_or(0, kms_api::ErrorCode::http_status)
}

/// Translates an envelope error. KMS failures keep their AWS code and the HTTP status of the
/// answer; cryptographic failures stay opaque (`DecryptionFailed` never says which check
/// failed).
pub(crate) fn from_envelope(error: Error) -> JsValue {
    let message = error.to_string();
    let code = match &error {
        Error::Kms(e) => return kms_error(&e.code, &e.message, e.status),
        Error::DecryptionFailed => "DecryptionFailed",
        Error::Malformed(_) => "MalformedMessage",
        Error::UnsupportedSuite(_) => "UnsupportedAlgorithmSuite",
        Error::CommitmentPolicy(_) => "CommitmentPolicyViolation",
        Error::TooManyEncryptedDataKeys(_) => "TooManyEncryptedDataKeys",
        Error::NoDecryptableDataKey => "NoDecryptableDataKey",
        Error::Keyring(_) => "KeyringFailure",
        Error::EncryptionContext(_) => "EncryptionContextMismatch",
        Error::InvalidKey(_) => "InvalidKey",
        Error::ApiMisuse(_) => VALIDATION,
        Error::Random => "RandomFailure",
        _ => "InternalError",
    };
    kms_error(code, &message, 0)
}
