//! Input validation with AWS's `ValidationException` messages.
//!
//! Errors are collected, then reported together:
//! `1 validation error detected: Value 'x' at 'keyId' failed to satisfy constraint: …`.

use kms_api::{ErrorCode, KmsError};

/// Collects validation failures of one request.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<String>,
    /// A grant token that this server did not make (reported after validation errors).
    bad_grant_token: bool,
}

impl Validator {
    /// An empty validator.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        let value = match value {
            Some(v) => format!("Value '{v}' at"),
            None => "Value at".to_owned(),
        };
        self.errors.push(format!("{value} '{member}' failed to satisfy constraint: {constraint}"));
    }

    /// A required member must be present.
    pub fn required<T>(&mut self, member: &str, value: &Option<T>) -> bool {
        if value.is_none() {
            self.errors.push(format!(
                "Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ));
            return false;
        }
        true
    }

    /// A string's length (in characters) must lie in `min..=max`.
    pub fn length(&mut self, member: &str, value: &str, min: usize, max: usize) {
        self.length_inner(member, Some(value), value.chars().count(), min, max);
    }

    /// A sensitive value's length must lie in `min..=max`; the value is not echoed.
    pub fn secret_length(&mut self, member: &str, len: usize, min: usize, max: usize) {
        self.length_inner(member, None, len, min, max);
    }

    /// A list's length must lie in `min..=max` (the value is not echoed).
    pub fn list_length(&mut self, member: &str, len: usize, min: usize, max: usize) {
        self.length_inner(member, None, len, min, max);
    }

    fn length_inner(
        &mut self,
        member: &str,
        value: Option<&str>,
        len: usize,
        min: usize,
        max: usize,
    ) {
        if len < min {
            self.push(
                value,
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if len > max {
            self.push(
                value,
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A number must lie in `min..=max`.
    pub fn range(&mut self, member: &str, value: i64, min: i64, max: i64) {
        let shown = value.to_string();
        if value < min {
            self.push(
                Some(&shown),
                member,
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if value > max {
            self.push(
                Some(&shown),
                member,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// A string must be one of the enum's values.
    pub fn one_of(&mut self, member: &str, value: &str, allowed: &[&str]) -> bool {
        if allowed.contains(&value) {
            return true;
        }
        self.push(
            Some(value),
            member,
            &format!("Member must satisfy enum value set: [{}]", allowed.join(", ")),
        );
        false
    }

    /// A string must match a pattern (checked by the caller).
    pub fn pattern(&mut self, member: &str, value: &str, matches: bool, pattern: &str) {
        if !matches {
            self.push(
                Some(value),
                member,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// Grant tokens: at most 10, each 1 to 8192 characters, each a token this server
    /// made (else `InvalidGrantTokenException`, see [`Validator::finish`]). A well-formed
    /// token of a grant that no longer exists is accepted and allows nothing.
    pub fn grant_tokens(&mut self, tokens: &Option<Vec<String>>) {
        if let Some(tokens) = tokens {
            self.list_length("grantTokens", tokens.len(), 0, 10);
            for (i, token) in tokens.iter().enumerate() {
                self.length(&format!("grantTokens.{}.member", i + 1), token, 1, 8192);
                if !token.is_empty() && crate::authz::grant::token::decode(token).is_none() {
                    self.bad_grant_token = true;
                }
            }
        }
    }

    /// The collected errors as one `ValidationException`, if there are any, else
    /// `InvalidGrantTokenException` for a malformed grant token.
    ///
    /// # Errors
    /// A `ValidationException` listing every failure, or `InvalidGrantTokenException`.
    pub fn finish(self) -> Result<(), KmsError> {
        match self.errors.len() {
            0 if self.bad_grant_token => Err(invalid_grant_token()),
            0 => Ok(()),
            1 => Err(KmsError::new(
                ErrorCode::ValidationException,
                format!("1 validation error detected: {}", self.errors[0]),
            )),
            n => Err(KmsError::new(
                ErrorCode::ValidationException,
                format!("{n} validation errors detected: {}", self.errors.join("; ")),
            )),
        }
    }
}

/// `InvalidGrantTokenException` (the text is this server's; AWS's is unconfirmed).
pub fn invalid_grant_token() -> KmsError {
    KmsError::new(ErrorCode::InvalidGrantTokenException, "Invalid grant token")
}

/// A `ValidationException` with a free-form message.
pub fn invalid(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorCode::ValidationException, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_error_uses_aws_wording() {
        let mut v = Validator::new();
        v.length("keyId", "", 1, 2048);
        let err = v.finish().unwrap_err();
        assert_eq!(err.code, ErrorCode::ValidationException);
        assert_eq!(
            err.message.unwrap(),
            "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: \
             Member must have length greater than or equal to 1"
        );
    }

    #[test]
    fn errors_are_joined_and_secrets_not_echoed() {
        let mut v = Validator::new();
        v.secret_length("plaintext", 5000, 1, 4096);
        v.range("numberOfBytes", 0, 1, 1024);
        let message = v.finish().unwrap_err().message.unwrap();
        assert!(message.starts_with("2 validation errors detected: Value at 'plaintext'"));
        assert!(message.contains("; Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"));
    }

    #[test]
    fn missing_and_enum() {
        let mut v = Validator::new();
        assert!(!v.required::<String>("keyId", &None));
        assert!(!v.one_of("keySpec", "AES_512", &["AES_256", "AES_128"]));
        let message = v.finish().unwrap_err().message.unwrap();
        assert!(message.contains(
            "Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        ));
        assert!(message.contains("Member must satisfy enum value set: [AES_256, AES_128]"));
        assert!(Validator::new().finish().is_ok());
    }
}
