//! Authentication: SigV4 verification and access key → principal.
//!
//! Signing keys are derived once per access key, date and Region and then cached, so a
//! request costs one HMAC chain of four steps only on the first call of the day.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::digest;
use kms_api::sigv4::{self, Authorization, RequestParts, SigningKey};
use kms_api::{ErrorCode, KmsError};
use subtle::ConstantTimeEq as _;

use crate::authz::context::{IdentityInfo, RequestEnv};
use crate::config::{Config, Secret};
use crate::iam::Directory;

/// How far `X-Amz-Date` may be from the server's clock (AWS's window for KMS).
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
const SIGNING_KEY_CACHE_MAX: usize = 10_000;

/// Who made a request, and from where.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The caller's account.
    pub account: String,
    /// The caller's ARN (`arn:aws:iam::<account>:root` for root credentials).
    pub arn: String,
    /// The access key that signed the request.
    pub access_key_id: String,
    /// What kind of principal it is.
    pub kind: PrincipalKind,
    /// Its identity policies and tags (empty for account roots).
    pub identity: Arc<IdentityInfo>,
    /// The request's environment (time, source address, transport) for `aws:` keys.
    pub env: RequestEnv,
}

/// The kinds of principal that sign requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An account's root credentials (from the configuration file).
    Root,
    /// An IAM user.
    User {
        /// The user name.
        name: String,
    },
    /// A role session from STS AssumeRole.
    AssumedRole {
        /// The role's ARN.
        role_arn: String,
        /// The session name.
        session_name: String,
    },
}

/// The IAM tag that marks a user or role as a principal through which an integrated service
/// calls (value: the service, `<service>.amazonaws.com`, e.g. `ec2.amazonaws.com`). This server
/// has no AWS services of its own; the tag is its way to say "this caller is the service",
/// which AWS knows from how the request reached it. Only an account's root user can set or
/// remove it (`iam::api`), and a session cannot give it to itself (`iam::sts`).
pub const AWS_SERVICE_TAG: &str = "kms-server:aws-service";

/// The service host an [`AWS_SERVICE_TAG`] value names: `ec2` for `ec2.amazonaws.com`.
/// `None` for anything else.
pub fn service_host_of_tag(value: &str) -> Option<&str> {
    let host = value.strip_suffix(".amazonaws.com")?;
    let valid = !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(host)
}

impl Principal {
    /// Whether the principal is an integrated service's ([`Principal::integrated_service`]):
    /// `kms:GrantIsForAWSResource`.
    pub fn is_integrated_service(&self) -> bool {
        self.integrated_service().is_some()
    }

    /// The service host this principal calls for, from its [`AWS_SERVICE_TAG`]
    /// (`ec2.amazonaws.com` → `ec2`), if it has a valid one. Its calls carry
    /// `kms:ViaService` = `<host>.<region>.amazonaws.com`, and their audit records
    /// `userIdentity.invokedBy` = `<host>.amazonaws.com`.
    pub fn integrated_service(&self) -> Option<&str> {
        let (_, value) =
            self.identity.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(AWS_SERVICE_TAG))?;
        service_host_of_tag(value)
    }

    /// An account's root principal.
    pub fn root(account: &str, access_key_id: &str, now_ms: i64) -> Self {
        Self {
            account: account.to_owned(),
            arn: format!("arn:aws:iam::{account}:root"),
            access_key_id: access_key_id.to_owned(),
            kind: PrincipalKind::Root,
            identity: Arc::default(),
            env: RequestEnv { now_ms, ..RequestEnv::default() },
        }
    }
}

/// The outcome of authentication.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The caller.
    pub principal: Principal,
    /// The Region from the credential scope.
    pub region: String,
}

struct AccessKey {
    account: String,
    secret: Secret,
}

/// Known access keys and cached signing keys.
pub struct Accounts {
    keys: HashMap<String, AccessKey>,
    signing_keys: RwLock<HashMap<SigningKeyId, Arc<SigningKey>>>,
    /// IAM users, roles, their access keys and STS sessions.
    pub iam: Directory,
}

/// Access key id, date, Region, service.
type SigningKeyId = (String, String, String, String);

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").field("access_keys", &self.keys.len()).finish()
    }
}

fn incomplete(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorCode::IncompleteSignatureException, message)
}

fn invalid_signature(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorCode::InvalidSignatureException, message)
}

/// The AWS text for a signature that does not match.
pub const SIGNATURE_MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

fn is_valid_region(region: &str) -> bool {
    // ^([a-z]+-){2,3}\d+$
    let parts: Vec<&str> = region.split('-').collect();
    let n = parts.len();
    (3..=4).contains(&n)
        && parts[..n - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && !parts[n - 1].is_empty()
        && parts[n - 1].bytes().all(|b| b.is_ascii_digit())
}

impl Accounts {
    /// Builds the access key table from the configuration.
    pub fn from_config(config: &Config) -> Self {
        let keys = config
            .accounts
            .iter()
            .map(|a| {
                (
                    a.root_access_key_id.clone(),
                    AccessKey { account: a.id.clone(), secret: a.root_secret_access_key.clone() },
                )
            })
            .collect();
        Self { keys, signing_keys: RwLock::new(HashMap::new()), iam: Directory::default() }
    }

    /// Whether `account` is one of this server's accounts (from the configuration).
    pub fn is_local_account(&self, account: &str) -> bool {
        self.keys.values().any(|k| k.account == account)
    }

    fn signing_key(
        &self,
        access_key_id: &str,
        secret: &Secret,
        date: &str,
        region: &str,
        service: &str,
    ) -> Arc<SigningKey> {
        let id = (access_key_id.to_owned(), date.to_owned(), region.to_owned(), service.to_owned());
        if let Some(key) =
            self.signing_keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id)
        {
            return Arc::clone(key);
        }
        let key = Arc::new(SigningKey::derive(secret.expose_secret(), date, region, service));
        let mut cache =
            self.signing_keys.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= SIGNING_KEY_CACHE_MAX {
            cache.clear();
        }
        cache.insert(id, Arc::clone(&key));
        key
    }

    /// Verifies a request's SigV4 signature and returns the caller and Region.
    ///
    /// # Errors
    /// `MissingAuthenticationTokenException`, `IncompleteSignatureException`,
    /// `UnrecognizedClientException`, `InvalidSignatureException`, with AWS's messages.
    pub fn authenticate(
        &self,
        now_ms: i64,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Authenticated, KmsError> {
        self.authenticate_for(now_ms, method, path, query, headers, body, kms_api::SERVICE)
    }

    /// [`Accounts::authenticate`] for a request to `service` (`kms`, `iam` or `sts`):
    /// the credential scope must name it.
    ///
    /// # Errors
    /// As [`Accounts::authenticate`], plus `ExpiredTokenException` for expired session
    /// credentials.
    #[allow(clippy::too_many_arguments)]
    pub fn authenticate_for(
        &self,
        now_ms: i64,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
        service: &str,
    ) -> Result<Authenticated, KmsError> {
        let header = |name: &str| {
            headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        };
        let Some(authorization) = header("authorization") else {
            return Err(KmsError::new(
                ErrorCode::MissingAuthenticationTokenException,
                "Missing Authentication Token",
            ));
        };
        let auth = Authorization::parse(authorization).map_err(|e| {
            incomplete(format!("Authorization header is not a valid AWS4-HMAC-SHA256 header ({e}): Authorization={authorization}"))
        })?;
        let invalid_token = || {
            KmsError::new(
                ErrorCode::UnrecognizedClientException,
                "The security token included in the request is invalid.",
            )
        };
        let token = header("x-amz-security-token");
        let (secret, principal) = match self.keys.get(&auth.access_key_id) {
            Some(root) if token.is_none() => {
                (root.secret.clone(), Principal::root(&root.account, &auth.access_key_id, now_ms))
            }
            Some(_) => return Err(invalid_token()),
            None => {
                let credential =
                    self.iam.credential(&auth.access_key_id).ok_or_else(invalid_token)?;
                match (credential.session, token) {
                    (None, None) => {}
                    (Some((expected, expires_ms)), Some(token)) => {
                        let presented = digest::digest(&digest::SHA256, token.as_bytes());
                        if !bool::from(presented.as_ref().ct_eq(&expected[..])) {
                            return Err(invalid_token());
                        }
                        if now_ms >= expires_ms {
                            return Err(KmsError::new(
                                ErrorCode::ExpiredTokenException,
                                "The security token included in the request is expired",
                            ));
                        }
                    }
                    _ => return Err(invalid_token()),
                }
                let mut principal = credential.principal;
                principal.env.now_ms = now_ms;
                (credential.secret, principal)
            }
        };
        let Some(amz_date) = header("x-amz-date") else {
            return Err(incomplete(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={authorization}"
            )));
        };
        let request_s = sigv4::parse_amz_date(amz_date).map_err(|_| {
            incomplete(format!("X-Amz-Date '{amz_date}' is not a valid yyyyMMdd'T'HHmmss'Z' date"))
        })?;
        if auth.service != service {
            return Err(invalid_signature(format!(
                "Credential should be scoped to correct service: '{service}'. "
            )));
        }
        if !is_valid_region(&auth.region) {
            return Err(invalid_signature(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.region
            )));
        }
        if !amz_date.starts_with(&auth.date) {
            return Err(invalid_signature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                &amz_date[..amz_date.len().min(8)]
            )));
        }
        let now_s = now_ms.div_euclid(1000);
        let skew_s = MAX_CLOCK_SKEW_MS / 1000;
        if request_s < now_s - skew_s {
            return Err(invalid_signature(format!(
                "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
                sigv4::format_amz_date(now_s - skew_s),
                sigv4::format_amz_date(now_s)
            )));
        }
        if request_s > now_s + skew_s {
            return Err(invalid_signature(format!(
                "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
                sigv4::format_amz_date(now_s + skew_s),
                sigv4::format_amz_date(now_s)
            )));
        }
        let body_hash = sigv4::sha256_hex(body);
        let parts = RequestParts { method, path, query, headers, body_sha256_hex: &body_hash };
        let key = self.signing_key(&auth.access_key_id, &secret, &auth.date, &auth.region, service);
        sigv4::verify(&parts, &auth, amz_date, &key).map_err(|e| match e {
            sigv4::SigV4Error::SignatureMismatch => invalid_signature(SIGNATURE_MISMATCH_MESSAGE),
            other => invalid_signature(format!("{SIGNATURE_MISMATCH_MESSAGE} ({other})")),
        })?;
        Ok(Authenticated { principal, region: auth.region })
    }

    /// Authenticates an HTTP `POST` to `service` as [`Accounts::authenticate_for`] does, and
    /// fills the principal's request environment from the connection it came on (`peer`):
    /// `aws:SourceIp`, `aws:SecureTransport` (true over TLS), and the Region the request was
    /// signed for.
    ///
    /// # Errors
    /// As [`Accounts::authenticate_for`].
    pub fn authenticate_post(
        &self,
        now_ms: i64,
        uri: &axum::http::Uri,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        service: &str,
        peer: Option<crate::listener::Peer>,
    ) -> Result<Authenticated, KmsError> {
        let query = uri.query().unwrap_or_default();
        let header_list = header_pairs(headers);
        let mut auth =
            self.authenticate_for(now_ms, "POST", uri.path(), query, &header_list, body, service)?;
        auth.principal.env.source_ip = peer.map(|p| p.addr.ip());
        auth.principal.env.secure_transport = peer.is_some_and(|p| p.secure_transport());
        auth.principal.env.region.clone_from(&auth.region);
        Ok(auth)
    }
}

/// A request's headers as owned `(name, value)` pairs for signature checking; a value
/// that is not UTF-8 is read lossily (and then fails the signature check).
fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_S: i64 = 1_700_000_000;

    fn signed(secret: &str, region: &str, at_s: i64, body: &[u8]) -> Vec<(String, String)> {
        let base = vec![
            ("host".to_owned(), "127.0.0.1:4000".to_owned()),
            ("content-type".to_owned(), kms_api::CONTENT_TYPE.to_owned()),
            ("x-amz-target".to_owned(), "TrentService.ListKeys".to_owned()),
        ];
        let creds = sigv4::Credentials {
            access_key_id: "test",
            secret_access_key: secret,
            session_token: None,
        };
        sigv4::sign("POST", "/", "", &base, body, &creds, region, "kms", at_s).unwrap()
    }

    fn accounts() -> Accounts {
        Accounts::from_config(&Config::default_local())
    }

    fn check(headers: &[(String, String)], body: &[u8]) -> Result<Authenticated, KmsError> {
        accounts().authenticate(NOW_S * 1000, "POST", "/", "", headers, body)
    }

    #[test]
    fn valid_signature_names_caller_and_region() {
        let ok = check(&signed("test", "eu-west-2", NOW_S, b"{}"), b"{}").unwrap();
        assert_eq!(ok.principal.account, "000000000000");
        assert_eq!(ok.principal.arn, "arn:aws:iam::000000000000:root");
        assert_eq!(ok.region, "eu-west-2");
    }

    #[test]
    fn wrong_secret_or_body_is_invalid_signature() {
        let err = check(&signed("nope", "us-east-1", NOW_S, b"{}"), b"{}").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignatureException);
        assert_eq!(err.message.as_deref(), Some(SIGNATURE_MISMATCH_MESSAGE));
        let err = check(&signed("test", "us-east-1", NOW_S, b"{}"), b"{ }").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignatureException);
    }

    #[test]
    fn skew_beyond_five_minutes_is_rejected_with_aws_text() {
        let err = check(&signed("test", "us-east-1", NOW_S - 301, b""), b"").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidSignatureException);
        assert!(err.message.unwrap().starts_with("Signature expired: "));
        let err = check(&signed("test", "us-east-1", NOW_S + 301, b""), b"").unwrap_err();
        assert!(err.message.unwrap().starts_with("Signature not yet current: "));
        assert!(check(&signed("test", "us-east-1", NOW_S - 299, b""), b"").is_ok());
        assert!(check(&signed("test", "us-east-1", NOW_S + 299, b""), b"").is_ok());
    }

    #[test]
    fn unknown_key_and_missing_header() {
        let mut headers = signed("test", "us-east-1", NOW_S, b"");
        for (k, v) in &mut headers {
            if k == "authorization" {
                *v = v.replace("Credential=test/", "Credential=other/");
            }
        }
        assert_eq!(check(&headers, b"").unwrap_err().code, ErrorCode::UnrecognizedClientException);
        assert_eq!(
            check(&[], b"").unwrap_err().code,
            ErrorCode::MissingAuthenticationTokenException
        );
        let garbage = vec![("authorization".to_owned(), "Basic abc".to_owned())];
        assert_eq!(check(&garbage, b"").unwrap_err().code, ErrorCode::IncompleteSignatureException);
    }

    #[test]
    fn region_must_look_like_a_region() {
        assert!(is_valid_region("us-east-1"));
        assert!(is_valid_region("us-gov-west-1"));
        assert!(!is_valid_region("moon"));
        let err = check(&signed("test", "Moon", NOW_S, b""), b"").unwrap_err();
        assert_eq!(
            err.message.unwrap(),
            "Credential should be scoped to a valid region, not 'Moon'. "
        );
    }
}
