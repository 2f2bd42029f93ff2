//! KMS exception codes, their HTTP statuses, and the error body on the wire.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $name:ident = $status:literal ),+ $(,)?) => {
        /// An AWS KMS exception type, as sent in `__type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $name, )+
        }

        impl ErrorCode {
            /// Every code, for tests and lookups.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),+];

            /// The exception name exactly as AWS spells it.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$name => stringify!($name), )+ }
            }

            /// The HTTP status AWS sends with this exception.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$name => $status, )+ }
            }
        }
    };
}

error_codes! {
    /// The caller is not allowed to perform the action.
    AccessDeniedException = 400,
    /// The request's temporary security credentials have expired.
    ExpiredTokenException = 400,
    /// The resource (usually an alias) already exists.
    AlreadyExistsException = 400,
    /// A conflicting operation is in progress.
    ConflictException = 400,
    /// The named custom key store does not exist.
    CustomKeyStoreNotFoundException = 400,
    /// The KMS key is disabled.
    DisabledException = 400,
    /// The request would have succeeded but `DryRun` was set.
    DryRunOperationException = 400,
    /// The request's Authorization header is malformed.
    IncompleteSignatureException = 400,
    /// The key named in the request is not the key that encrypted the ciphertext.
    IncorrectKeyException = 400,
    /// The alias name is not valid.
    InvalidAliasNameException = 400,
    /// The ARN is not valid.
    InvalidArnException = 400,
    /// The ciphertext is corrupt, or the encryption context does not match.
    InvalidCiphertextException = 400,
    /// A grant id is not valid.
    InvalidGrantIdException = 400,
    /// A grant token is not valid.
    InvalidGrantTokenException = 400,
    /// The key's usage or algorithm does not fit the operation.
    InvalidKeyUsageException = 400,
    /// The pagination marker is not valid.
    InvalidMarkerException = 400,
    /// The request signature does not match, or the request time is out of range.
    InvalidSignatureException = 400,
    /// An internal error; details are in the server log.
    KMSInternalException = 500,
    /// The key's state does not allow the operation.
    KMSInvalidStateException = 400,
    /// The key cannot be used right now.
    KeyUnavailableException = 500,
    /// A quota was exceeded.
    LimitExceededException = 400,
    /// The policy document is not valid.
    MalformedPolicyDocumentException = 400,
    /// The request carries no Authorization header.
    MissingAuthenticationTokenException = 400,
    /// The resource does not exist.
    NotFoundException = 400,
    /// The import token has expired; call `GetParametersForImport` again.
    ExpiredImportTokenException = 400,
    /// Imported key material differs from the material previously imported into the key.
    IncorrectKeyMaterialException = 400,
    /// The import token is not valid for this key.
    InvalidImportTokenException = 400,
    /// A MAC did not verify (`VerifyMac`).
    KMSInvalidMacException = 400,
    /// A signature did not verify (`Verify`).
    KMSInvalidSignatureException = 400,
    /// The request body exceeds the size limit.
    RequestEntityTooLargeException = 413,
    /// The request body did not arrive in time (this server's; AWS closes such connections).
    RequestTimeoutException = 408,
    /// The request body is not valid JSON of the right shape.
    SerializationException = 400,
    /// A tag is not valid.
    TagException = 400,
    /// The request rate is too high.
    ThrottlingException = 400,
    /// The X-Amz-Target names no known operation.
    UnknownOperationException = 400,
    /// The access key is not known.
    UnrecognizedClientException = 400,
    /// The operation is not supported for this key or by this server.
    UnsupportedOperationException = 400,
    /// A request member failed validation.
    ValidationException = 400,
}

impl ErrorCode {
    /// Looks up a code by its exception name (accepting a `namespace#` prefix, as the SDKs do).
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        let name = exception_name(name);
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

/// The exception name in an error's `__type`: without a `namespace#` prefix or a `:`
/// suffix, as the SDKs read it (`com.amazonaws.kms#NotFoundException` is `NotFoundException`).
pub fn exception_name(error_type: &str) -> &str {
    // Byte positions rather than str patterns: smaller in the wasm client.
    let bytes = error_type.as_bytes();
    let start = bytes.iter().rposition(|&b| b == b'#').map_or(0, |i| i + 1);
    let end = (start..bytes.len()).find(|&i| bytes[i] == b':').unwrap_or(bytes.len());
    // Both ends are at ASCII bytes or the ends of the text, so `get` always succeeds.
    error_type.get(start..end).unwrap_or(error_type)
}

/// A KMS error: an exception code and, usually, a message.
///
/// Some AWS exceptions (for example `InvalidCiphertextException`) carry no message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", code.as_str(), message.as_deref().unwrap_or(""))]
pub struct KmsError {
    /// The exception type.
    pub code: ErrorCode,
    /// The human-readable message, if AWS sends one for this case.
    pub message: Option<String>,
}

impl KmsError {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: Some(message.into()) }
    }

    /// An error without a message.
    pub fn bare(code: ErrorCode) -> Self {
        Self { code, message: None }
    }

    /// The JSON body AWS sends: `{"__type": "...", "message": "..."}`.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody { error_type: self.code.as_str().to_owned(), message: self.message.clone() }
    }
}

/// The error body on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The exception type.
    #[serde(rename = "__type")]
    pub error_type: String,
    /// The message; AWS omits it for some exceptions.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "Message")]
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(*code));
        }
        assert_eq!(
            ErrorCode::from_name("com.amazonaws.kms#NotFoundException"),
            Some(ErrorCode::NotFoundException)
        );
        assert_eq!(ErrorCode::from_name("NoSuchThing"), None);
    }

    #[test]
    fn exception_names_drop_the_namespace_and_suffix() {
        for (error_type, name) in [
            ("NotFoundException", "NotFoundException"),
            ("com.amazonaws.kms#NotFoundException", "NotFoundException"),
            ("a#b#NotFoundException:http://x/y", "NotFoundException"),
            ("NotFoundException:", "NotFoundException"),
            ("ns#", ""),
            ("", ""),
        ] {
            assert_eq!(exception_name(error_type), name, "{error_type}");
        }
    }

    #[test]
    fn internal_errors_are_500_and_client_errors_400() {
        assert_eq!(ErrorCode::KMSInternalException.http_status(), 500);
        assert_eq!(ErrorCode::NotFoundException.http_status(), 400);
        assert_eq!(ErrorCode::KMSInvalidStateException.http_status(), 400);
    }

    #[test]
    fn body_omits_missing_message() {
        let body = KmsError::bare(ErrorCode::InvalidCiphertextException).to_body();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"__type":"InvalidCiphertextException"}"#
        );
        let body = KmsError::new(ErrorCode::NotFoundException, "gone").to_body();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"__type":"NotFoundException","message":"gone"}"#
        );
    }
}
