//! The AWS query protocol as IAM and STS speak it: form-encoded `POST /` with an
//! `Action` parameter, SigV4 scoped to `iam` or `sts`, XML responses and errors.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kms_api::{ErrorCode, KmsError};

use super::{api, sts};
use crate::auth::Principal;
use crate::listener::Peer;
use crate::state::AppState;

/// The IAM XML namespace.
pub const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// The STS XML namespace.
pub const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// True for a request body in the query protocol.
pub fn is_query_request(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// An IAM/STS error: HTTP status, code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// HTTP status.
    pub status: u16,
    /// AWS error code, e.g. `NoSuchEntity`.
    pub code: String,
    /// Message.
    pub message: String,
}

impl QueryError {
    /// An error with a status and code.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self { status, code: code.to_owned(), message: message.into() }
    }

    /// `ValidationError` (400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationError", message)
    }

    /// `NoSuchEntity` (404).
    pub fn no_such_entity(message: impl Into<String>) -> Self {
        Self::new(404, "NoSuchEntity", message)
    }

    /// `AccessDenied` (403).
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    /// `ServiceFailure` (500) with a generic message; the cause is logged.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(500, "ServiceFailure", "internal error; see the server log")
    }
}

impl From<super::DirectoryError> for QueryError {
    fn from(e: super::DirectoryError) -> Self {
        Self::internal("iam storage failure", e)
    }
}

/// Maps an authentication failure to the query protocol's codes.
fn from_auth(e: &KmsError) -> QueryError {
    let message = e.message.clone().unwrap_or_default();
    match e.code {
        ErrorCode::UnrecognizedClientException => {
            QueryError::new(403, "InvalidClientTokenId", message)
        }
        ErrorCode::InvalidSignatureException => {
            QueryError::new(403, "SignatureDoesNotMatch", message)
        }
        ErrorCode::IncompleteSignatureException => {
            QueryError::new(400, "IncompleteSignature", message)
        }
        ErrorCode::MissingAuthenticationTokenException => {
            QueryError::new(403, "MissingAuthenticationToken", message)
        }
        ErrorCode::ExpiredTokenException => QueryError::new(400, "ExpiredToken", message),
        _ => QueryError::new(400, e.code.as_str(), message),
    }
}

/// Decoded form parameters, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes an `application/x-www-form-urlencoded` body (or query string).
    ///
    /// # Errors
    /// `ValidationError` for bad percent-escapes or non-UTF-8 text.
    pub fn decode(body: &[u8]) -> Result<Self, QueryError> {
        let mut out = Vec::new();
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            out.push((percent_decode(k)?, percent_decode(v)?));
        }
        Ok(Self(out))
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A required parameter (AWS's message for a missing one).
    ///
    /// # Errors
    /// `ValidationError` if absent.
    pub fn required(&self, name: &str) -> Result<&str, QueryError> {
        self.get(name).ok_or_else(|| {
            QueryError::validation(format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(name)
            ))
        })
    }

    /// `Prefix.member.N.Key` / `.Value` pairs (tags), in N order.
    ///
    /// # Errors
    /// `ValidationError` for a tag without a value (IAM and STS require both members).
    pub fn tags(&self, prefix: &str) -> Result<Vec<(String, String)>, QueryError> {
        let mut out = Vec::new();
        for n in 1.. {
            let Some(key) = self.get(&format!("{prefix}.member.{n}.Key")) else { break };
            let value = self.get(&format!("{prefix}.member.{n}.Value")).ok_or_else(|| {
                QueryError::validation(format!(
                    "1 validation error detected: Value null at 'tags.{n}.member.value' failed to satisfy constraint: Member must not be null"
                ))
            })?;
            out.push((key.to_owned(), value.to_owned()));
        }
        Ok(out)
    }

    /// `Prefix.member.N` values (lists of strings), in N order.
    pub fn list(&self, prefix: &str) -> Vec<&str> {
        (1..).map_while(|n| self.get(&format!("{prefix}.member.{n}"))).collect()
    }
}

/// Whether text holds only the characters IAM and STS allow in tag keys and values
/// (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`): letters, separators (not tabs or line breaks), digits
/// and `_.:/=+-@`.
pub fn tag_chars_ok(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
    })
}

/// Whether a tag key is one of this server's own (`kms-server:…`, e.g. the integrated
/// service tag), which only an account root may set on users and roles.
pub fn is_reserved_server_tag(key: &str) -> bool {
    key.get(..11).is_some_and(|p| p.eq_ignore_ascii_case("kms-server:"))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

fn percent_decode(input: &[u8]) -> Result<String, QueryError> {
    let bad = || QueryError::validation("request parameters are not valid form encoding");
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3).ok_or_else(bad)?;
                let text = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(text, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Percent-encodes text as RFC 3986 (IAM returns policy documents this way).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes text for an XML element.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>escaped text</name>`.
pub fn element(name: &str, text: &str) -> String {
    format!("<{name}>{}</{name}>", xml_escape(text))
}

/// A list of `<member>` elements inside `<name>`.
pub fn members(name: &str, items: impl IntoIterator<Item = String>) -> String {
    let inner: String = items.into_iter().map(|i| format!("<member>{i}</member>")).collect();
    format!("<{name}>{inner}</{name}>")
}

/// Tags as IAM renders them.
pub fn tags_xml(tags: &[(String, String)]) -> String {
    if tags.is_empty() {
        return String::new();
    }
    members(
        "Tags",
        tags.iter().map(|(k, v)| format!("{}{}", element("Key", k), element("Value", v))),
    )
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

fn error_response(error: &QueryError, xmlns: &str, request_id: &str) -> Response {
    let kind = if error.status >= 500 { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>{kind}</Type>{}{}</Error>{}</ErrorResponse>",
        element("Code", &error.code),
        element("Message", &error.message),
        element("RequestId", request_id)
    );
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    xml_response(status, body, request_id)
}

/// The request context of an IAM or STS action.
pub struct QueryCtx<'a> {
    /// Server state.
    pub state: &'a AppState,
    /// The authenticated caller.
    pub caller: &'a Principal,
    /// The credential scope's Region.
    pub region: &'a str,
}

/// Serves one query-protocol request (already read into `body`).
pub async fn serve(
    state: &AppState,
    peer: Option<Peer>,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    call: &mut QueryCall,
) -> Response {
    call.service = "iam";
    let params = match Params::decode(body) {
        Ok(p) => p,
        Err(e) => return call.failed(error_response(&e, IAM_XMLNS, request_id), &e),
    };
    let action = params.get("Action").unwrap_or_default().to_owned();
    let is_sts = sts::ACTIONS.contains(&action.as_str());
    let (xmlns, service) = if is_sts { (STS_XMLNS, "sts") } else { (IAM_XMLNS, "iam") };
    call.service = service;
    call.action.clone_from(&action);
    call.parameters =
        params.0.iter().filter(|(name, _)| is_recorded_parameter(name)).cloned().collect();
    let now_ms = state.clock.now_ms();
    let auth = state.accounts.authenticate_post(now_ms, uri, headers, body, service, peer);
    let auth = match auth {
        Ok(a) => a,
        Err(e) => {
            let e = from_auth(&e);
            return call.failed(error_response(&e, xmlns, request_id), &e);
        }
    };
    call.principal = Some(auth.principal.clone());
    call.region = Some(auth.region.clone());
    let ctx = QueryCtx { state, caller: &auth.principal, region: &auth.region };
    let outcome = if is_sts {
        sts::dispatch(&ctx, &action, &params).await
    } else {
        api::dispatch(&ctx, &action, &params).await
    };
    tracing::info!(request_id, service, action, ok = outcome.is_ok(), "request");
    match outcome {
        Ok(result) => {
            let result = if result.is_empty() {
                String::new()
            } else {
                format!("<{action}Result>{result}</{action}Result>")
            };
            let body = format!(
                "<{action}Response xmlns=\"{xmlns}\">{result}<ResponseMetadata>{}</ResponseMetadata></{action}Response>",
                element("RequestId", request_id)
            );
            xml_response(StatusCode::OK, body, request_id)
        }
        Err(e) => call.failed(error_response(&e, xmlns, request_id), &e),
    }
}

/// What one IAM or STS call was, for its audit record. Parameters come from an allowlist:
/// secrets (secret access keys, session tokens, external ids) are never kept.
#[derive(Debug, Default)]
pub struct QueryCall {
    /// `iam` or `sts`.
    pub service: &'static str,
    /// The `Action` parameter.
    pub action: String,
    /// The authenticated caller.
    pub principal: Option<Principal>,
    /// The Region the request was signed for.
    pub region: Option<String>,
    /// The recorded parameters, in request order.
    pub parameters: Vec<(String, String)>,
    /// The error code and message, if the call failed.
    pub error: Option<(String, String)>,
}

impl QueryCall {
    fn failed(&mut self, response: Response, error: &QueryError) -> Response {
        self.error = Some((error.code.clone(), error.message.clone()));
        response
    }
}

/// Query parameters that may be written to the audit trail.
fn is_recorded_parameter(name: &str) -> bool {
    const RECORDED: &[&str] = &[
        "AccessKeyId",
        "AssumeRolePolicyDocument",
        "Description",
        "DurationSeconds",
        "Marker",
        "MaxItems",
        "MaxSessionDuration",
        "Path",
        "PolicyDocument",
        "PolicyName",
        "RoleArn",
        "RoleName",
        "RoleSessionName",
        "Status",
        "UserName",
        "Version",
    ];
    RECORDED.contains(&name)
        || name.starts_with("Tags.member.")
        || name.starts_with("TagKeys.member.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding() {
        let p = Params::decode(
            b"Action=CreateUser&UserName=a%2Bb+c&Tags.member.1.Key=k&Tags.member.1.Value=v&Empty",
        )
        .unwrap();
        assert_eq!(p.get("Action"), Some("CreateUser"));
        assert_eq!(p.get("UserName"), Some("a+b c"));
        assert_eq!(p.get("Empty"), Some(""));
        assert_eq!(p.tags("Tags").unwrap(), vec![("k".to_owned(), "v".to_owned())]);
        assert!(Params::decode(b"a=%zz").is_err());
        assert!(p.required("Missing").unwrap_err().message.contains("'missing'"));
    }

    #[test]
    fn encoding_helpers() {
        assert_eq!(url_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
        assert_eq!(xml_escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }
}
