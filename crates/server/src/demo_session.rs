//! Temporary credentials for the demo page (`kms-server serve --demo-session`).
//!
//! A browser should hold short-lived STS credentials, never an account's long-term keys.
//! The demo therefore gets them the way a web app gets them from an identity broker: when
//! the server starts with `--demo-session`, it makes sure an IAM role
//! [`ROLE_NAME`] exists in the demo account, trusted by that account and allowed only the
//! KMS actions the page uses (inline policy [`POLICY_NAME`]), and `GET /demo/session`
//! answers a fresh one-hour session of that role (an `AssumeRole` by the account root,
//! recorded in the audit trail like any STS call). Anyone who can reach the endpoint gets a
//! session, so the server refuses `--demo-session` unless it listens on a loopback address,
//! and answers only requests whose `Host` is a loopback name or address: a web page the
//! user visits could otherwise reach it through DNS rebinding (its own name resolving to
//! 127.0.0.1, so the browser lets it read the answer).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::authz::condition::format_date;
use crate::iam::query::QueryError;
use crate::iam::sts::{issue_session, IssuedSession, SessionTags};
use crate::iam::{random_id, Role};
use crate::listener::Peer;
use crate::state::AppState;

/// The role whose sessions the page gets.
pub const ROLE_NAME: &str = "kms-demo-browser";
/// The role's inline policy.
pub const POLICY_NAME: &str = "kms-demo-page";
/// Session length, seconds.
pub const SESSION_S: i64 = 3600;
/// The path the page fetches its credentials from.
pub const PATH: &str = "/demo/session";

/// What the page may do: set up its key by alias, switch it on and off, and use it.
const ACTIONS: &[&str] = &[
    "kms:CreateKey",
    "kms:CreateAlias",
    "kms:DescribeKey",
    "kms:ListAliases",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:GenerateDataKey",
    "kms:Encrypt",
    "kms:Decrypt",
];

/// The demo account whose role hands out sessions.
#[derive(Debug, Clone)]
pub struct DemoSession {
    account: String,
}

/// The JSON `GET /demo/session` answers (the names of the page's `credentials` option).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    /// RFC 3339.
    expiration: String,
    /// The assumed-role ARN the page acts as.
    arn: &'a str,
}

impl DemoSession {
    /// Makes sure the demo role exists in `account` with the current trust and inline
    /// policies (written durably), and returns the session source.
    ///
    /// # Errors
    /// A message if the role cannot be stored.
    pub async fn prepare(state: &AppState, account: &str) -> Result<Self, String> {
        let iam = &state.accounts.iam;
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let permissions = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "DemoPage", "Effect": "Allow", "Action": ACTIONS, "Resource": "*"}]
        })
        .to_string();
        let stored = |e: crate::iam::DirectoryError| format!("cannot store the demo role: {e}");
        match iam.role(account, ROLE_NAME) {
            Some(mut role) => {
                role.trust_policy = trust;
                role.policies.insert(POLICY_NAME.to_owned(), permissions);
                iam.update_role(&*state.store, role).await.map_err(stored)?;
            }
            None => {
                let role = Role {
                    account: account.to_owned(),
                    name: ROLE_NAME.to_owned(),
                    path: "/".to_owned(),
                    role_id: random_id("AROA", 16)
                        .map_err(|e| format!("random generator failed: {e}"))?,
                    created_ms: state.clock.now_ms(),
                    trust_policy: trust,
                    description: Some("Sessions for the kms-wasm demo page".to_owned()),
                    max_session_s: SESSION_S,
                    tags: Vec::new(),
                    policies: BTreeMap::from([(POLICY_NAME.to_owned(), permissions)]),
                };
                iam.insert_role(&*state.store, role).await.map_err(stored)?;
            }
        }
        Ok(Self { account: account.to_owned() })
    }

    /// `GET /demo/session`.
    pub fn router(self, state: Arc<AppState>) -> Router {
        Router::new().route(PATH, get(session)).with_state((state, Arc::new(self)))
    }

    async fn issue(&self, state: &AppState) -> Result<IssuedSession, QueryError> {
        let role = state
            .accounts
            .iam
            .role(&self.account, ROLE_NAME)
            .ok_or_else(|| QueryError::no_such_entity("the demo role was deleted"))?;
        let session_name = random_id("demo-", 8)
            .map_err(|e| QueryError::internal("random generator failed", e))?;
        issue_session(
            state,
            &role,
            &session_name.to_ascii_lowercase(),
            SESSION_S,
            SessionTags::default(),
        )
        .await
    }
}

/// Records the session's issue as the `AssumeRole` call it is (by the demo account's root,
/// for the role; the credentials themselves are never recorded); returns once durable.
async fn record(
    state: &AppState,
    demo: &DemoSession,
    time_ms: i64,
    outcome: &Result<IssuedSession, QueryError>,
    tls: Option<crate::audit::event::TlsDetails<'_>>,
) -> Result<(), crate::audit::AuditError> {
    let Some(audit) = &state.audit else { return Ok(()) };
    let root = crate::auth::Principal::root(&demo.account, "", time_ms);
    // The parameters as the query protocol's AssumeRole would carry them.
    let request = serde_json::to_vec(&serde_json::json!({
        "RoleArn": format!("arn:aws:iam::{}:role/{ROLE_NAME}", demo.account),
        "DurationSeconds": SESSION_S.to_string(),
    }))
    .unwrap_or_default();
    let request_id = crate::audit::ids::new_id();
    let event_id = crate::audit::ids::new_id();
    let event = crate::audit::event::build(&crate::audit::Call {
        time_ms,
        operation: "AssumeRole",
        event_source: "sts.amazonaws.com",
        region: "us-east-1",
        source_ip: "127.0.0.1",
        user_agent: "kms-server demo-session",
        principal: Some(&root),
        access_key_id: "",
        request: Some(&request),
        response: None,
        error: outcome.as_ref().err().map(|e| (e.code.as_str(), e.message.as_str())),
        authorization: &[],
        request_id: &request_id,
        event_id: &event_id,
        tls,
    });
    audit.append(event, time_ms).await
}

/// Whether a `Host` header names this machine: `localhost`, or a loopback address, with
/// or without a port.
fn loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`.
        Some(rest) => match rest.split_once(']') {
            Some((address, port)) if port.is_empty() || port.starts_with(':') => address,
            _ => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn session(
    State((state, demo)): State<(Arc<AppState>, Arc<DemoSession>)>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    if !loopback_host(host) {
        tracing::warn!(host = %host, "refused a demo session for a request not addressed to a loopback host");
        return (StatusCode::FORBIDDEN, "demo sessions are for loopback hosts only")
            .into_response();
    }
    let time_ms = state.clock.now_ms();
    let issued = demo.issue(&state).await;
    let peer = extensions.get::<ConnectInfo<Peer>>().map(|c| c.0);
    let tls = crate::protocol::tls_details(peer, &headers);
    if let Err(error) = record(&state, &demo, time_ms, &issued, tls).await {
        tracing::error!(%error, "cannot write the audit trail");
        return (StatusCode::INTERNAL_SERVER_ERROR, "audit trail unavailable").into_response();
    }
    let mut response = match issued {
        Ok(issued) => {
            tracing::info!(arn = %issued.arn, "issued a demo page session");
            let body = SessionBody {
                access_key_id: &issued.access_key_id,
                secret_access_key: issued.secret.expose_secret(),
                session_token: issued.token.expose_secret(),
                expiration: format_date(issued.expires_ms),
                arn: &issued.arn,
            };
            match serde_json::to_vec(&body) {
                Ok(json) => (StatusCode::OK, json).into_response(),
                Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
        Err(e) => {
            (StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.message)
                .into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_hosts_get_sessions() {
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "127.0.0.1",
            "127.0.0.1:4566",
            "127.1.2.3:1",
            "[::1]",
            "[::1]:4566",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:4566",
            "10.0.0.1:4566",
            "localhost.evil.example",
            "[::1]x",
            "[fe80::1]:1",
            "127.0.0.1.evil.example",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }
}
