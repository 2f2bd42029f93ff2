//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`) as KMS applies it: signing-key derivation,
//! `Authorization` header parsing, canonical request and string to sign, constant-time
//! verification, and client-side signing.
//!
//! Everything here is pure: no clock and no I/O. Signers pass the time in; verifiers check clock
//! skew themselves (KMS allows five minutes) and derive the [`SigningKey`] from the scope in the
//! parsed [`Authorization`].

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::hash::{self, HashAlgorithm};

/// The one signing algorithm SDKs use for KMS.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// 0000-01-01T00:00:00Z, the earliest instant an `X-Amz-Date` can express.
pub const AMZ_DATE_MIN_EPOCH_SECONDS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z, the latest instant an `X-Amz-Date` can express.
pub const AMZ_DATE_MAX_EPOCH_SECONDS: i64 = 253_402_300_799;

/// The last element of every credential scope.
const SCOPE_TERMINATOR: &str = "aws4_request";
const SECONDS_PER_DAY: i64 = 86_400;
/// Days from 0000-01-01 to 1970-01-01 in the proleptic Gregorian calendar.
const DAYS_FROM_YEAR_ZERO_TO_EPOCH: i64 = 719_528;
/// Headers that [`sign`] sets itself; copies supplied by the caller are replaced.
const HEADERS_SET_BY_SIGN: [&str; 3] = ["authorization", "x-amz-date", "x-amz-security-token"];

/// Why a SigV4 header could not be parsed, a request could not be signed, or a signature failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigV4Error {
    /// The `Authorization` header does not use `AWS4-HMAC-SHA256`.
    #[error("unsupported authorization algorithm, expected AWS4-HMAC-SHA256")]
    UnsupportedAlgorithm,
    /// A required `Authorization` component (`Credential`, `SignedHeaders`, `Signature`) is absent.
    #[error("authorization header requires the '{0}' parameter")]
    MissingComponent(&'static str),
    /// An `Authorization` component appears more than once.
    #[error("authorization header repeats the '{0}' parameter")]
    DuplicateComponent(&'static str),
    /// An `Authorization` component is not a `key=value` pair.
    #[error("'{0}' is not a valid key=value pair in the authorization header")]
    MalformedPair(String),
    /// An `Authorization` component has a key other than the three SigV4 defines.
    #[error("unknown authorization header parameter '{0}'")]
    UnknownComponent(String),
    /// `Credential` is not `<access key id>/<yyyymmdd>/<region>/<service>/aws4_request`, or a
    /// scope field given to [`sign`] is empty or contains `/`, `,` or whitespace.
    #[error("malformed credential, expected <akid>/<yyyymmdd>/<region>/<service>/aws4_request")]
    MalformedCredential,
    /// `SignedHeaders` has an empty, duplicate, upper-case or otherwise invalid header name.
    #[error("malformed signed headers list")]
    MalformedSignedHeaders,
    /// `Signature` is not 64 hex digits.
    #[error("malformed signature, expected 64 hex digits")]
    MalformedSignature,
    /// A date is not `yyyyMMdd'T'HHmmss'Z'` naming a real UTC second in the years 0000 to 9999.
    #[error("invalid date, expected yyyymmddThhmmssZ")]
    InvalidDate,
    /// The credential scope date is not the date part of `X-Amz-Date`.
    #[error("credential scope date does not match the request date")]
    ScopeDateMismatch,
    /// A header name given to [`sign`] is not a valid HTTP field name.
    #[error("invalid header name '{0}'")]
    InvalidHeaderName(String),
    /// A header listed in `SignedHeaders` is not in the request.
    #[error("signed header '{0}' is missing from the request")]
    MissingSignedHeader(String),
    /// `host` is not among the signed headers (when signing: the request has no `host` header).
    #[error("the host header must be signed")]
    HostNotSigned,
    /// The recomputed signature differs from the one in the request.
    #[error("the request signature does not match")]
    SignatureMismatch,
}

/// The SigV4 signing key for one secret, date, region and service:
/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service), "aws4_request")`.
///
/// Zeroized on drop; its `Debug` output is redacted and it is deliberately not `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SigningKey {
    bytes: [u8; 32],
}

impl SigningKey {
    /// Derives the signing key; the intermediate keys are zeroized before returning.
    pub fn derive(
        secret_access_key: &str,
        date_yyyymmdd: &str,
        region: &str,
        service: &str,
    ) -> Self {
        // Exact capacity, so the buffer never reallocates and leaves no unzeroized copy behind.
        let mut seed = Zeroizing::new(Vec::with_capacity(4 + secret_access_key.len()));
        seed.extend_from_slice(b"AWS4");
        seed.extend_from_slice(secret_access_key.as_bytes());
        let k_date = Zeroizing::new(hmac_sha256(&seed, date_yyyymmdd.as_bytes()));
        let k_region = Zeroizing::new(hmac_sha256(&*k_date, region.as_bytes()));
        let k_service = Zeroizing::new(hmac_sha256(&*k_region, service.as_bytes()));
        Self { bytes: hmac_sha256(&*k_service, SCOPE_TERMINATOR.as_bytes()) }
    }

    /// The raw signature over a string to sign: `HMAC-SHA256(kSigning, string_to_sign)`.
    pub fn signature(&self, string_to_sign: &str) -> [u8; 32] {
        hmac_sha256(&self.bytes, string_to_sign.as_bytes())
    }

    /// The key bytes. Callers must not log, store or send them.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// A parsed `Authorization: AWS4-HMAC-SHA256 Credential=AKID/yyyymmdd/region/service/aws4_request,
/// SignedHeaders=h1;h2, Signature=<64 hex>` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id from the credential.
    pub access_key_id: String,
    /// The credential scope date, `yyyymmdd`.
    pub date: String,
    /// The credential scope region.
    pub region: String,
    /// The credential scope service (`kms` for KMS).
    pub service: String,
    /// The signed header names, lowercase, in the order the client gave them.
    pub signed_headers: Vec<String>,
    /// The signature bytes (sent as 64 hex digits).
    pub signature: [u8; 32],
}

impl Authorization {
    /// Parses the header value. Components may come in any order, with any whitespace after the
    /// commas between them.
    ///
    /// # Errors
    /// [`SigV4Error::UnsupportedAlgorithm`] for another scheme; otherwise the `Missing*`,
    /// `Duplicate*`, `Unknown*` and `Malformed*` variants name what is wrong.
    pub fn parse(header_value: &str) -> Result<Self, SigV4Error> {
        let value = header_value.trim();
        let (algorithm, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if algorithm != ALGORITHM {
            return Err(SigV4Error::UnsupportedAlgorithm);
        }
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        let rest = rest.trim();
        if !rest.is_empty() {
            for part in rest.split(',').map(str::trim) {
                let (key, val) = part
                    .split_once('=')
                    .ok_or_else(|| SigV4Error::MalformedPair(part.to_owned()))?;
                let (slot, name) = match key {
                    "Credential" => (&mut credential, "Credential"),
                    "SignedHeaders" => (&mut signed_headers, "SignedHeaders"),
                    "Signature" => (&mut signature, "Signature"),
                    _ => return Err(SigV4Error::UnknownComponent(key.to_owned())),
                };
                if slot.replace(val).is_some() {
                    return Err(SigV4Error::DuplicateComponent(name));
                }
            }
        }
        let credential = credential.ok_or(SigV4Error::MissingComponent("Credential"))?;
        let signed_headers = signed_headers.ok_or(SigV4Error::MissingComponent("SignedHeaders"))?;
        let signature = signature.ok_or(SigV4Error::MissingComponent("Signature"))?;

        let fields: Vec<&str> = credential.split('/').collect();
        let [access_key_id, date, region, service, terminator] = fields.as_slice() else {
            return Err(SigV4Error::MalformedCredential);
        };
        if *terminator != SCOPE_TERMINATOR
            || [access_key_id, region, service].iter().any(|f| f.is_empty())
            || parse_yyyymmdd(date.as_bytes()).is_none()
        {
            return Err(SigV4Error::MalformedCredential);
        }

        let mut names: Vec<String> = Vec::new();
        for name in signed_headers.split(';') {
            let valid = is_header_name(name) && !name.bytes().any(|b| b.is_ascii_uppercase());
            if !valid || names.iter().any(|n| n == name) {
                return Err(SigV4Error::MalformedSignedHeaders);
            }
            names.push(name.to_owned());
        }

        let mut sig = [0u8; 32];
        if signature.len() != 64 || hex::decode_to_slice(signature, &mut sig).is_err() {
            return Err(SigV4Error::MalformedSignature);
        }
        let [access_key_id, date, region, service] =
            [access_key_id, date, region, service].map(|f| (*f).to_owned());
        Ok(Self { access_key_id, date, region, service, signed_headers: names, signature: sig })
    }

    /// The credential scope, `yyyymmdd/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}/{SCOPE_TERMINATOR}", self.date, self.region, self.service)
    }
}

/// Parses an `X-Amz-Date` (`yyyyMMdd'T'HHmmss'Z'`, UTC) into seconds since the Unix epoch.
///
/// # Errors
/// [`SigV4Error::InvalidDate`] if the format is wrong or the date or time does not exist
/// (month 13, 30 February, 29 February of a common year, hour 24, second 60).
pub fn parse_amz_date(s: &str) -> Result<i64, SigV4Error> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return Err(SigV4Error::InvalidDate);
    }
    let (year, month, day) = parse_yyyymmdd(&b[..8]).ok_or(SigV4Error::InvalidDate)?;
    let hour = digits(&b[9..11]).filter(|h| *h < 24);
    let minute = digits(&b[11..13]).filter(|m| *m < 60);
    let second = digits(&b[13..15]).filter(|s| *s < 60);
    let (Some(hour), Some(minute), Some(second)) = (hour, minute, second) else {
        return Err(SigV4Error::InvalidDate);
    };
    Ok(days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second)
}

/// Formats seconds since the Unix epoch as an `X-Amz-Date`, `yyyyMMdd'T'HHmmss'Z'`.
///
/// Instants outside the years 0000 to 9999 are clamped to [`AMZ_DATE_MIN_EPOCH_SECONDS`] and
/// [`AMZ_DATE_MAX_EPOCH_SECONDS`], the range the format can express.
pub fn format_amz_date(epoch_seconds: i64) -> String {
    let t = epoch_seconds.clamp(AMZ_DATE_MIN_EPOCH_SECONDS, AMZ_DATE_MAX_EPOCH_SECONDS);
    let (year, month, day) = civil_from_days(t.div_euclid(SECONDS_PER_DAY));
    let secs = t.rem_euclid(SECONDS_PER_DAY);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    format!("{year:04}{month:02}{day:02}T{hour:02}{minute:02}{second:02}Z")
}

/// A request as the verifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The raw (still percent-encoded) path, e.g. `/`.
    pub path: &'a str,
    /// The raw query string without `?`, usually empty.
    pub query: &'a str,
    /// Every request header, names in any case, repeated names allowed.
    pub headers: &'a [(String, String)],
    /// Lowercase hex SHA-256 of the body, hashed by the caller.
    pub body_sha256_hex: &'a str,
}

impl RequestParts<'_> {
    /// All raw values of the header `name` (matched case-insensitively) joined by `,`, or `None`
    /// if the request lacks it.
    pub fn header(&self, name: &str) -> Option<String> {
        self.joined(name, String::push_str)
    }

    /// Every value of `name`, each appended by `push`, joined by `,`.
    fn joined(&self, name: &str, push: impl Fn(&mut String, &str)) -> Option<String> {
        let mut out: Option<String> = None;
        for (_, value) in self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            let joined = match &mut out {
                Some(joined) => {
                    joined.push(',');
                    joined
                }
                None => out.insert(String::new()),
            };
            push(joined, value);
        }
        out
    }
}

/// Builds the canonical request: method, canonical URI, canonical query string, canonical headers
/// (the signed ones, sorted; each value trimmed with inner whitespace runs collapsed to one space,
/// repeated headers joined by `,`), a blank line, `signed_headers` joined by `;` exactly as given
/// (the client signed that string), and the payload hash, separated by newlines.
///
/// # Errors
/// [`SigV4Error::MissingSignedHeader`] if a signed header is not in the request.
pub fn canonical_request(
    parts: &RequestParts<'_>,
    signed_headers: &[String],
) -> Result<String, SigV4Error> {
    let sorted = lowercase_sorted_unique(signed_headers.to_vec());
    let (uri, query) = (canonical_uri(parts.path), canonical_query(parts.query));
    let mut out = format!("{}\n{uri}\n{query}\n", parts.method);
    let collapse = |out: &mut String, v: &str| {
        for (i, word) in v.split_ascii_whitespace().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    };
    for name in sorted {
        let Some(value) = parts.joined(&name, collapse) else {
            return Err(SigV4Error::MissingSignedHeader(name));
        };
        out.push_str(&format!("{name}:{value}\n"));
    }
    let signed = join(signed_headers, ';');
    out.push_str(&format!("\n{signed}\n{}", parts.body_sha256_hex));
    Ok(out)
}

/// Builds the string to sign: `AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of the
/// canonical request>`, where `scope` is `yyyymmdd/region/service/aws4_request`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let hash = sha256_hex(canonical_request.as_bytes());
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{hash}")
}

/// Verifies a request's signature over exactly the headers in `auth.signed_headers`, comparing in
/// constant time. `amz_date` is the request's `X-Amz-Date` value; the caller checks clock skew
/// and derives `key` from `auth`'s scope (date, region, service) and the access key's secret.
///
/// # Errors
/// [`SigV4Error::HostNotSigned`] if `host` is not signed, [`SigV4Error::InvalidDate`] or
/// [`SigV4Error::ScopeDateMismatch`] for a bad `amz_date`, [`SigV4Error::MissingSignedHeader`]
/// if a signed header is absent, and [`SigV4Error::SignatureMismatch`] if the signature is wrong.
pub fn verify(
    parts: &RequestParts<'_>,
    auth: &Authorization,
    amz_date: &str,
    key: &SigningKey,
) -> Result<(), SigV4Error> {
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(SigV4Error::HostNotSigned);
    }
    parse_amz_date(amz_date)?;
    if amz_date.get(..8) != Some(auth.date.as_str()) {
        return Err(SigV4Error::ScopeDateMismatch);
    }
    let canonical = canonical_request(parts, &auth.signed_headers)?;
    let expected = key.signature(&string_to_sign(amz_date, &auth.scope(), &canonical));
    let equal = bool::from(expected[..].ct_eq(&auth.signature[..]));
    if equal {
        Ok(())
    } else {
        Err(SigV4Error::SignatureMismatch)
    }
}

/// Credentials for [`sign`] (no `Debug`, so the secret cannot be logged by accident).
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The access key id, sent in the clear.
    pub access_key_id: &'a str,
    /// The secret access key, never sent.
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials, sent as `x-amz-security-token`.
    pub session_token: Option<&'a str>,
}

/// Signs a request client-side and returns the headers to send: those given (which must include
/// `host`), then `x-amz-date`, `x-amz-security-token` if `creds` has a session token, and
/// `authorization`. Caller-supplied copies of those three are dropped. Every header is signed.
///
/// # Errors
/// [`SigV4Error::HostNotSigned`] without a `host` header, [`SigV4Error::InvalidHeaderName`] for
/// a name that is not an HTTP token, [`SigV4Error::MalformedCredential`] for an empty access key
/// id, region or service (or one containing `/`, `,` or whitespace), and
/// [`SigV4Error::InvalidDate`] for a time outside the years 0000 to 9999.
#[allow(clippy::too_many_arguments)] // The server, clients and benchmark share this flat signature.
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
    creds: &Credentials<'_>,
    region: &str,
    service: &str,
    epoch_seconds: i64,
) -> Result<Vec<(String, String)>, SigV4Error> {
    if !(AMZ_DATE_MIN_EPOCH_SECONDS..=AMZ_DATE_MAX_EPOCH_SECONDS).contains(&epoch_seconds) {
        return Err(SigV4Error::InvalidDate);
    }
    let scope_field_ok =
        |f: &str| !f.is_empty() && !f.bytes().any(|b| b == b'/' || b == b',' || b <= b' ');
    if ![creds.access_key_id, region, service].into_iter().all(scope_field_ok) {
        return Err(SigV4Error::MalformedCredential);
    }
    let amz_date = format_amz_date(epoch_seconds);
    // `format_amz_date` always yields 16 ASCII bytes, so the first 8 are the yyyymmdd date.
    let date = amz_date.get(..8).unwrap_or_default();

    let set_by_sign = |n: &str| HEADERS_SET_BY_SIGN.iter().any(|h| n.eq_ignore_ascii_case(h));
    let mut out: Vec<(String, String)> = Vec::with_capacity(headers.len() + 3);
    for (name, value) in headers {
        if !set_by_sign(name) {
            out.push((name.clone(), value.clone()));
        }
    }
    out.push(("x-amz-date".to_owned(), amz_date.clone()));
    if let Some(token) = creds.session_token {
        out.push(("x-amz-security-token".to_owned(), token.to_owned()));
    }
    if let Some((bad, _)) = out.iter().find(|(n, _)| !is_header_name(n)) {
        return Err(SigV4Error::InvalidHeaderName(bad.clone()));
    }
    let mut names = Vec::with_capacity(out.len());
    for (name, _) in &out {
        names.push(name.clone());
    }
    let signed = lowercase_sorted_unique(names);
    if !signed.iter().any(|h| h == "host") {
        return Err(SigV4Error::HostNotSigned);
    }

    let body_sha256_hex = sha256_hex(body);
    let headers = &out;
    let parts = RequestParts { method, path, query, headers, body_sha256_hex: &body_sha256_hex };
    let canonical = canonical_request(&parts, &signed)?;
    let scope = format!("{date}/{region}/{service}/{SCOPE_TERMINATOR}");
    let key = SigningKey::derive(creds.secret_access_key, date, region, service);
    let signature = hex::encode(key.signature(&string_to_sign(&amz_date, &scope, &canonical)));
    let (akid, signed) = (creds.access_key_id, join(&signed, ';'));
    let authorization = format!(
        "{ALGORITHM} Credential={akid}/{scope}, SignedHeaders={signed}, Signature={signature}"
    );
    out.push(("authorization".to_owned(), authorization));
    Ok(out)
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(hash::digest(HashAlgorithm::Sha256, data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    hash::hmac(HashAlgorithm::Sha256, key, data).to_array()
}

/// An RFC 9110 token: the characters an HTTP field name may use.
fn is_header_name(name: &str) -> bool {
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    !name.is_empty() && name.bytes().all(tchar)
}

/// Appends `b`, percent-encoded unless it is an RFC 3986 unreserved character.
fn push_encoded(out: &mut String, b: u8) {
    if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
        out.push(char::from(b));
    } else {
        out.push_str(&format!("%{b:02X}"));
    }
}

/// The canonical URI: the path with `/` and existing `%XX` escapes kept (so nothing is encoded
/// twice) and every other byte encoded as [`push_encoded`] does; an empty path is `/`.
fn canonical_uri(path: &str) -> String {
    let (b, mut out, mut i) = (path.as_bytes(), String::with_capacity(path.len() + 1), 0);
    while i < b.len() {
        if escape_at(b, i).is_some() {
            out.push_str(path.get(i..i + 3).unwrap_or_default());
            i += 2;
        } else if b[i] == b'/' {
            out.push('/');
        } else {
            push_encoded(&mut out, b[i]);
        }
        i += 1;
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The canonical query string: each name and value decoded, then re-encoded with only the
/// unreserved set left bare, sorted by name then value; a parameter without `=` gets `name=`.
fn canonical_query(query: &str) -> String {
    let encode = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in percent_decode(s) {
            push_encoded(&mut out, b);
        }
        out
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for parameter in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        pairs.push((encode(name), encode(value)));
    }
    crate::sort::sort_with(&mut pairs, Ord::cmp);
    let mut out = String::with_capacity(query.len());
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Header `names` lowercased, sorted and without repeats (loops rather than iterator
/// adapters and `dedup`: smaller in the wasm client).
fn lowercase_sorted_unique(mut names: Vec<String>) -> Vec<String> {
    for name in &mut names {
        name.make_ascii_lowercase();
    }
    crate::sort::sort_with(&mut names, Ord::cmp);
    let mut unique: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if unique.last() != Some(&name) {
            unique.push(name);
        }
    }
    unique
}

/// `parts` joined by `separator` (`[String]::join` by hand: the generic one is large in wasm).
fn join(parts: &[String], separator: char) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(separator);
        }
        out.push_str(part);
    }
    out
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays literal.
fn percent_decode(s: &str) -> Vec<u8> {
    let (b, mut out, mut i) = (s.as_bytes(), Vec::with_capacity(s.len()), 0);
    while i < b.len() {
        let escaped = escape_at(b, i);
        out.push(escaped.unwrap_or(b[i]));
        i += if escaped.is_some() { 3 } else { 1 };
    }
    out
}

/// The byte a `%XX` escape starting at `b[i]` stands for, if there is one.
fn escape_at(b: &[u8], i: usize) -> Option<u8> {
    let [b'%', hi, lo] = *b.get(i..i + 3)? else {
        return None;
    };
    let hex = |c: u8| char::from(c).to_digit(16);
    u8::try_from(hex(hi)? * 16 + hex(lo)?).ok()
}

/// The value of a run of ASCII digits (at most 4 are ever passed), or `None`.
fn digits(b: &[u8]) -> Option<i64> {
    let digit = |d: &u8| d.is_ascii_digit().then(|| i64::from(d - b'0'));
    b.iter().try_fold(0, |acc, d| Some(acc * 10 + digit(d)?))
}

/// Parses `yyyymmdd` into (year, month, day), rejecting dates that do not exist.
fn parse_yyyymmdd(b: &[u8]) -> Option<(i64, i64, i64)> {
    if b.len() != 8 {
        return None;
    }
    let (year, month, day) = (digits(&b[..4])?, digits(&b[4..6])?, digits(&b[6..])?);
    let valid = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    valid.then_some((year, month, day))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 => 28 + i64::from(leap),
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 0000-01-01 to January 1st of `year` (for `year >= 0`).
fn days_before_year(year: i64) -> i64 {
    // Leap years in 0..year: multiples of 4, less those of 100, plus those of 400, where year 0
    // counts in all three groups and so once overall.
    let last = year - 1;
    match year {
        ..=0 => 0,
        _ => 365 * year + last / 4 - last / 100 + last / 400 + 1,
    }
}

/// Days since 1970-01-01 of a valid civil date in the years 0000 to 9999.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let days_before_month: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
    days_before_year(year) + days_before_month + day - 1 - DAYS_FROM_YEAR_ZERO_TO_EPOCH
}

/// The civil date (year, month, day) of a day count since 1970-01-01, within years 0000 to 9999.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let target = days + DAYS_FROM_YEAR_ZERO_TO_EPOCH;
    // 146_097 days per 400 years gives an estimate at most one year off; settle it exactly.
    let mut year = target * 400 / 146_097;
    while days_before_year(year + 1) <= target {
        year += 1;
    }
    while year > 0 && days_before_year(year) > target {
        year -= 1;
    }
    let (mut rest, mut month) = (target - days_before_year(year), 1);
    while month < 12 && rest >= days_in_month(year, month) {
        (rest, month) = (rest - days_in_month(year, month), month + 1);
    }
    (year, month, rest + 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use SigV4Error::*;

    // The worked example in AWS's SigV4 documentation (General Reference, "Signature Version 4
    // signing process"): IAM ListUsers, GET with an empty body, 20150830T123600Z, us-east-1.
    const IAM_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const IAM_DATE: &str = "20150830T123600Z";
    const IAM_QUERY: &str = "Action=ListUsers&Version=2010-05-08";
    const IAM_CANONICAL_REQUEST: &str = "GET\n/\nAction=ListUsers&Version=2010-05-08\n\
        content-type:application/x-www-form-urlencoded; charset=utf-8\n\
        host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
        content-type;host;x-amz-date\n\
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const IAM_STRING_TO_SIGN: &str = "AWS4-HMAC-SHA256\n20150830T123600Z\n\
        20150830/us-east-1/iam/aws4_request\n\
        f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59";
    const IAM_SIGNING_KEY: &str =
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9";
    const IAM_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
        Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
        SignedHeaders=content-type;host;x-amz-date, \
        Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    const SECRET: &str = "kms-local-secret/with+symbols=";
    const BODY: &[u8] = br#"{"KeyId":"alias/test","Plaintext":"aGVsbG8="}"#;
    const NOW: i64 = 1_700_000_000; // 20231114T221320Z

    fn h(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    fn post<'a>(headers: &'a [(String, String)], body_sha256_hex: &'a str) -> RequestParts<'a> {
        let (method, path, query) = ("POST", "/", "");
        RequestParts { method, path, query, headers, body_sha256_hex }
    }

    fn creds(session_token: Option<&str>) -> Credentials<'_> {
        let (access_key_id, secret_access_key) = ("AKIATEST", SECRET);
        Credentials { access_key_id, secret_access_key, session_token }
    }

    /// Signs a KMS-style POST of [`BODY`].
    fn kms_sign(
        headers: &[(String, String)],
        region: &str,
        now: i64,
    ) -> Result<Vec<(String, String)>, SigV4Error> {
        sign("POST", "/", "", headers, BODY, &creds(Some("token")), region, "kms", now)
    }

    #[test]
    fn aws_iam_example_derive_canonical_request_and_signature_match() {
        let key = SigningKey::derive(IAM_SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(hex::encode(key.expose_secret()), IAM_SIGNING_KEY);
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = [h("Host", "iam.amazonaws.com"), h("Content-Type", content_type)];
        let empty_sha256 = sha256_hex(b"");
        let parts =
            RequestParts { method: "GET", query: IAM_QUERY, ..post(&headers, &empty_sha256) };
        let now = parse_amz_date(IAM_DATE).unwrap();
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: IAM_SECRET,
            ..creds(None)
        };
        let signed =
            sign("GET", "/", IAM_QUERY, &headers, b"", &creds, "us-east-1", "iam", now).unwrap();
        assert_eq!(signed[2..], [h("x-amz-date", IAM_DATE), h("authorization", IAM_AUTHORIZATION)]);

        let parts = RequestParts { headers: &signed, ..parts };
        let auth = Authorization::parse(IAM_AUTHORIZATION).unwrap();
        let canonical = canonical_request(&parts, &auth.signed_headers).unwrap();
        assert_eq!(canonical, IAM_CANONICAL_REQUEST);
        let sts = string_to_sign(IAM_DATE, &auth.scope(), &canonical);
        assert_eq!(sts, IAM_STRING_TO_SIGN);
        assert_eq!(key.signature(&sts), auth.signature);
        assert_eq!(verify(&parts, &auth, IAM_DATE, &key), Ok(()));
    }

    /// A request signed by [`sign`], and what the server hands [`verify`] for it.
    struct Case {
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        auth: Authorization,
        amz_date: String,
        secret: &'static str,
    }

    impl Case {
        fn new() -> Self {
            let target = h("X-Amz-Target", "TrentService.Encrypt");
            let json = h("Content-Type", "application/x-amz-json-1.1");
            let headers = kms_sign(&[h("Host", "kms.local:8443"), json, target], "eu-west-1", NOW);
            let headers = headers.unwrap();
            let auth = Authorization::parse(&post(&headers, "").header("authorization").unwrap());
            let amz_date = post(&headers, "").header("x-amz-date").unwrap();
            let (body, auth, secret) = (BODY.to_vec(), auth.unwrap(), SECRET);
            Self { headers, body, auth, amz_date, secret }
        }

        fn verify(&self) -> Result<(), SigV4Error> {
            let a = &self.auth;
            let key = SigningKey::derive(self.secret, &a.date, &a.region, &a.service);
            verify(&post(&self.headers, &sha256_hex(&self.body)), a, &self.amz_date, &key)
        }

        fn set(&mut self, name: &str, value: &str) {
            let slot = self.headers.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name));
            slot.unwrap().1 = value.to_owned();
        }
    }

    #[track_caller]
    fn assert_tampered(expected: SigV4Error, tamper: impl FnOnce(&mut Case)) {
        let mut case = Case::new();
        tamper(&mut case);
        assert_eq!(case.verify(), Err(expected));
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let mut case = Case::new();
        assert_eq!(case.amz_date, "20231114T221320Z");
        assert_eq!(case.auth.scope(), "20231114/eu-west-1/kms/aws4_request");
        let signed = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target";
        assert_eq!(case.auth.signed_headers.join(";"), signed);
        assert_eq!(case.verify(), Ok(()));
        // Unsigned headers, header-name case and value spacing do not matter.
        case.headers.push(h("User-Agent", "aws-cli/2"));
        case.headers[0].0 = "HOST".to_owned();
        case.set("content-type", "  application/x-amz-json-1.1\t");
        assert_eq!(case.verify(), Ok(()));
    }

    #[test]
    fn verify_rejects_tampering_with_signature_mismatch() {
        let later = "20231114T221321Z";
        assert_tampered(SignatureMismatch, |c| c.body.push(b' '));
        assert_tampered(SignatureMismatch, |c| c.set("x-amz-target", "TrentService.Decrypt"));
        assert_tampered(SignatureMismatch, |c| c.set("x-amz-security-token", "other"));
        assert_tampered(SignatureMismatch, |c| {
            c.amz_date = later.into();
            c.set("x-amz-date", later);
        });
        assert_tampered(SignatureMismatch, |c| c.auth.region = "us-east-1".into());
        assert_tampered(SignatureMismatch, |c| c.secret = "not-the-secret");
        assert_tampered(SignatureMismatch, |c| c.auth.signature[31] ^= 1);
    }

    #[test]
    fn verify_rejects_unverifiable_requests() {
        let missing = MissingSignedHeader("x-amz-target".into());
        assert_tampered(missing, |c| c.headers.retain(|(n, _)| n != "X-Amz-Target"));
        assert_tampered(HostNotSigned, |c| c.auth.signed_headers.retain(|n| n != "host"));
        assert_tampered(ScopeDateMismatch, |c| c.auth.date = "20231115".into());
        assert_tampered(InvalidDate, |c| c.amz_date = "2023-11-14".into());
    }

    #[test]
    fn sign_replaces_its_own_headers_and_rejects_bad_input() {
        let given = [h("host", "k"), h("X-Amz-Date", "19990101T000000Z"), h("Authorization", "x")];
        let out = kms_sign(&given, "eu-west-1", NOW).unwrap();
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["host", "x-amz-date", "x-amz-security-token", "authorization"]);
        assert_eq!(out[1].1, "20231114T221320Z");
        let host = [h("host", "k")];
        assert_eq!(kms_sign(&[h("content-type", "x")], "eu-west-1", NOW), Err(HostNotSigned));
        let bad_name = Err(InvalidHeaderName("bad name".into()));
        assert_eq!(kms_sign(&[h("host", "k"), h("bad name", "x")], "eu-west-1", NOW), bad_name);
        assert_eq!(kms_sign(&host, "eu/west", NOW), Err(MalformedCredential));
        assert_eq!(kms_sign(&host, "eu-west-1", i64::MAX), Err(InvalidDate));
    }

    #[test]
    fn canonical_request_normalizes_path_query_and_headers() {
        let headers = [h("X-Multi", " a  b "), h("host", "h"), h("x-multi", "c\t")];
        let query = "b=2&a=1&a-b=1&a=0&c&&k=%7e%20+x/y%zz";
        let parts = RequestParts { path: "/a b/%2F/~é%", query, ..post(&headers, "00") };
        assert_eq!(parts.header("x-MULTI").as_deref(), Some(" a  b ,c\t"));
        assert_eq!(parts.header("absent"), None);
        // Not sorted: the canonical headers are, the signed-headers line keeps the client's order.
        let signed = ["x-multi".to_owned(), "host".to_owned()];
        let expected = "POST\n/a%20b/%2F/~%C3%A9%25\na=0&a=1&a-b=1&b=2&c=&k=~%20%2Bx%2Fy%25zz\n\
            host:h\nx-multi:a b,c\n\nx-multi;host\n00";
        assert_eq!(canonical_request(&parts, &signed).unwrap(), expected);
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn parse_accepts_any_order_and_spacing() {
        let (cred, sig) = ("Credential=AK/20200229/r/kms/aws4_request", "ab".repeat(32));
        let compact = format!("AWS4-HMAC-SHA256 {cred},SignedHeaders=host,Signature={sig}");
        let spaced = format!(" AWS4-HMAC-SHA256\tSignature={sig},\t SignedHeaders=host ,  {cred} ");
        let auth = Authorization::parse(&compact).unwrap();
        assert_eq!(Authorization::parse(&spaced), Ok(auth.clone()));
        let scope = [auth.access_key_id, auth.date, auth.region, auth.service].join("/");
        assert_eq!((scope.as_str(), auth.signature), ("AK/20200229/r/kms", [0xab; 32]));
        assert_eq!(auth.signed_headers, ["host"]);
    }

    #[test]
    fn parse_rejects_malformed_headers() {
        const CRED: &str = "AK/20150830/us-east-1/kms/aws4_request";
        let sig = "0".repeat(64);
        let header = |cred: &str, signed: &str, sig: &str| {
            format!("AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders={signed}, Signature={sig}")
        };
        let good = header(CRED, "host", &sig);
        let check = |value: &str, expected: SigV4Error| {
            assert_eq!(Authorization::parse(value), Err(expected), "{value:?}");
        };
        check("", UnsupportedAlgorithm);
        check("Basic dXNlcjpwYXNz", UnsupportedAlgorithm);
        check(&good.replace("SHA256", "SHA1"), UnsupportedAlgorithm);
        check(&good.replacen(' ', "", 1), UnsupportedAlgorithm);
        check("AWS4-HMAC-SHA256 ", MissingComponent("Credential"));
        check(&good.replace("SignedHeaders=host, ", ""), MissingComponent("SignedHeaders"));
        check(&good.replace(", Signature", " Signature"), MissingComponent("Signature"));
        check(&format!("{good}, Credential={CRED}"), DuplicateComponent("Credential"));
        check(&format!("{good}, Signature"), MalformedPair("Signature".into()));
        check(&format!("{good},"), MalformedPair(String::new()));
        check(&good.replace("Signature=", "signature="), UnknownComponent("signature".into()));
        for cred in [
            "AK/20150830/us-east-1/kms",
            "AK/20150830/us-east-1/kms/aws4_req",
            "AK/20151330/us-east-1/kms/aws4_request",
            "AK/2015-8-30/us-east-1/kms/aws4_request",
            "/20150830/us-east-1/kms/aws4_request",
            "AK/20150830//kms/aws4_request",
            "AK/20150830/us-east-1/kms/aws4_request/x",
        ] {
            check(&header(cred, "host", &sig), MalformedCredential);
        }
        for signed in ["", "host;;a", "Host", "host;host", "host;x y"] {
            check(&header(CRED, signed, &sig), MalformedSignedHeaders);
        }
        for bad_sig in [&sig[1..], &format!("{sig}00"), &sig.replacen('0', "g", 1)] {
            check(&header(CRED, "host", bad_sig), MalformedSignature);
        }
    }

    /// Cross-checked against Python's `calendar.timegm`.
    const AMZ_DATES: [(&str, i64); 13] = [
        ("19700101T000000Z", 0),
        ("19691231T235959Z", -1),
        ("20150830T123600Z", 1_440_938_160),
        ("20000101T000000Z", 946_684_800),
        ("20000229T000000Z", 951_782_400),
        ("20240229T120000Z", 1_709_208_000),
        ("21000228T235959Z", 4_107_542_399),
        ("21000301T000000Z", 4_107_542_400),
        ("19000301T000000Z", -2_203_891_200),
        ("16000229T000000Z", -11_670_998_400),
        ("00010101T000000Z", -62_135_596_800),
        ("00000101T000000Z", AMZ_DATE_MIN_EPOCH_SECONDS),
        ("99991231T235959Z", AMZ_DATE_MAX_EPOCH_SECONDS),
    ];

    #[test]
    fn amz_date_round_trips_known_values_and_three_centuries() {
        for (text, epoch) in AMZ_DATES {
            assert_eq!((parse_amz_date(text), format_amz_date(epoch)), (Ok(epoch), text.into()));
        }
        let mut previous = String::new();
        for t in (-2_208_988_800..7_258_118_400).step_by(3 * 86_400 + 3_607) {
            let text = format_amz_date(t);
            assert_eq!(parse_amz_date(&text), Ok(t), "{text}");
            assert!(text > previous, "{text} after {previous}");
            previous = text;
        }
        assert_eq!(format_amz_date(i64::MAX), "99991231T235959Z");
        assert_eq!(format_amz_date(i64::MIN), "00000101T000000Z");
    }

    #[test]
    fn parse_amz_date_rejects_invalid_dates() {
        let bad = "20151301T000000Z|20150001T000000Z|20150832T000000Z|20150230T000000Z|\
            20150229T000000Z|21000229T000000Z|20150830T240000Z|20150830T126000Z|20150830T123660Z|\
            2015-08-30|20150830T123600|20150830T123600ZZ||20150830t123600z|20150830 123600Z|\
            +0150830T123600Z|2015083\u{0}T123600Z|2015083é123600Z";
        for bad in bad.split('|') {
            assert_eq!(parse_amz_date(bad), Err(InvalidDate), "{bad:?}");
        }
    }

    #[test]
    fn signing_key_debug_is_redacted() {
        let key = SigningKey::derive("secret", "20150830", "us-east-1", "kms");
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
    }
}
