//! STS: AssumeRole (trust policy checked, `sts:ExternalId` included; temporary
//! credentials with a session token and an expiry) and GetCallerIdentity.

use super::query::{element, is_reserved_server_tag, tag_chars_ok, Params, QueryCtx, QueryError};
use super::{random_id, random_secret, AccessKeyRecord, KeyOwner};
use crate::auth::PrincipalKind;
use crate::authz::condition::format_date;
use crate::authz::context::RequestFacts;
use crate::authz::evaluate::{evaluate_named, ResourcePolicy};
use crate::authz::policy::{Policy, PolicyKind};
use crate::config::Secret;

/// The STS actions (the rest of the query protocol is IAM).
pub const ACTIONS: &[&str] = &["AssumeRole", "GetCallerIdentity"];
/// Shortest session, seconds.
pub const MIN_SESSION_S: i64 = 900;
/// Session length when none is asked for, seconds.
pub const DEFAULT_SESSION_S: i64 = 3600;

/// Runs one STS action and returns the inside of its `<…Result>` element.
///
/// # Errors
/// [`QueryError`] with STS's codes.
pub async fn dispatch(ctx: &QueryCtx<'_>, action: &str, p: &Params) -> Result<String, QueryError> {
    match action {
        "AssumeRole" => assume_role(ctx, p).await,
        "GetCallerIdentity" => Ok(caller_identity(ctx)),
        other => Err(QueryError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn caller_identity(ctx: &QueryCtx<'_>) -> String {
    let caller = ctx.caller;
    let iam = &ctx.state.accounts.iam;
    let user_id = match &caller.kind {
        PrincipalKind::Root => caller.account.clone(),
        PrincipalKind::User { name } => {
            iam.user(&caller.account, name).map(|u| u.user_id).unwrap_or_default()
        }
        PrincipalKind::AssumedRole { role_arn, session_name } => {
            let role_name = role_arn.rsplit('/').next().unwrap_or_default();
            let role_id =
                iam.role(&caller.account, role_name).map(|r| r.role_id).unwrap_or_default();
            format!("{role_id}:{session_name}")
        }
    };
    format!(
        "{}{}{}",
        element("UserId", &user_id),
        element("Account", &caller.account),
        element("Arn", &caller.arn)
    )
}

/// Splits `arn:aws:iam::<account>:role/<path/><name>` into account and role name.
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    (!name.is_empty()).then_some((account, name))
}

fn is_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

async fn assume_role(ctx: &QueryCtx<'_>, p: &Params) -> Result<String, QueryError> {
    let role_arn = p.required("RoleArn")?;
    let session_name = p.required("RoleSessionName")?;
    if !is_session_name(session_name) {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64"
        )));
    }
    let external_id = p.get("ExternalId");
    let denied = || {
        QueryError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            ctx.caller.arn
        ))
    };
    let (account, name) = parse_role_arn(role_arn)
        .ok_or_else(|| QueryError::validation(format!("{role_arn} is not a valid role ARN")))?;
    let role = ctx.state.accounts.iam.role(account, name).ok_or_else(denied)?;
    let duration_s = match p.get("DurationSeconds") {
        None => DEFAULT_SESSION_S.min(role.max_session_s),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|d| (MIN_SESSION_S..=role.max_session_s).contains(d))
            .ok_or_else(|| {
                QueryError::validation(format!(
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role, or is below {MIN_SESSION_S}."
                ))
            })?,
    };
    let trust = Policy::parse(&role.trust_policy, PolicyKind::Trust)
        .map_err(|e| QueryError::internal("stored trust policy does not parse", e))?;
    // The session's tags: those passed and the transitive ones of the calling session. Both
    // decisions see them all as aws:RequestTag/<k> and aws:TagKeys (trust policies commonly
    // condition sts:AssumeRole on them too), and any tag at all needs sts:TagSession, so that
    // a role whose trust policy does not allow it never gets a session tag over its own.
    let tags = with_inherited_tags(ctx, passed_session_tags(p)?)?;
    let facts = RequestFacts {
        external_id,
        role_session_name: Some(session_name),
        request_tags: (!tags.tags.is_empty()).then_some(tags.tags.as_slice()),
        tag_keys: (!tags.tags.is_empty())
            .then(|| tags.tags.iter().map(|(k, _)| k.as_str()).collect()),
        transitive_tag_keys: (!tags.transitive_keys.is_empty())
            .then(|| tags.transitive_keys.iter().map(String::as_str).collect()),
        ..RequestFacts::default()
    };
    let decide = |action: &str, facts: &RequestFacts<'_>| {
        let decision = evaluate_named(
            ctx.caller,
            action,
            &role.arn(),
            Some(ResourcePolicy { account: &role.account, policy: &trust }),
            None,
            facts,
        );
        if !decision.allowed {
            tracing::info!(caller = %ctx.caller.arn, role = %role.arn(), reason = ?decision.reason, "{action} denied");
        }
        decision.allowed
    };
    if !decide("sts:AssumeRole", &facts) {
        return Err(denied());
    }
    if !tags.tags.is_empty() && !decide("sts:TagSession", &facts) {
        return Err(QueryError::access_denied(format!(
            "User: {} is not authorized to perform: sts:TagSession on resource: {role_arn}",
            ctx.caller.arn
        )));
    }
    let session = issue_session(ctx.state, &role, session_name, duration_s, tags).await?;
    Ok(format!(
        "<Credentials>{}{}{}{}</Credentials><AssumedRoleUser>{}{}</AssumedRoleUser>",
        element("AccessKeyId", &session.access_key_id),
        element("SecretAccessKey", session.secret.expose_secret()),
        element("SessionToken", session.token.expose_secret()),
        element("Expiration", &format_date(session.expires_ms)),
        element("AssumedRoleId", &session.assumed_role_id),
        element("Arn", &session.arn),
    ))
}

/// Most session tags one AssumeRole may pass (AWS's limit).
pub const SESSION_TAGS_MAX: usize = 50;

/// The session tags of a new session.
#[derive(Debug, Clone, Default)]
pub struct SessionTags {
    /// Key and value of each tag.
    pub tags: Vec<(String, String)>,
    /// The keys that sessions assumed from this one inherit.
    pub transitive_keys: Vec<String>,
}

/// AssumeRole's `Tags` and `TransitiveTagKeys`, checked against AWS's limits: at most 50
/// tags, keys of 1-128 and values of up to 256 characters, no key twice (keys are
/// case-insensitive), no `aws:` prefix, and transitive keys among the tags.
fn passed_session_tags(p: &Params) -> Result<SessionTags, QueryError> {
    let tags = p.tags("Tags")?;
    if tags.len() > SESSION_TAGS_MAX {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {SESSION_TAGS_MAX}"
        )));
    }
    for (i, (key, value)) in tags.iter().enumerate() {
        let key_len = key.chars().count();
        if key_len == 0 || key_len > 128 || value.chars().count() > 256 {
            return Err(QueryError::validation(format!(
                "Invalid session tag '{key}': keys are 1 to 128 characters, values up to 256"
            )));
        }
        if !tag_chars_ok(key) || !tag_chars_ok(value) {
            return Err(QueryError::validation(format!(
                "Invalid session tag '{key}': keys and values may hold letters, digits, spaces and _.:/=+-@ only"
            )));
        }
        // `kms-server:` tags are set on users and roles by IAM administrators (e.g.
        // `kms-server:aws-service`, which makes a principal an integrated service's): a
        // session must not give itself one.
        if key.to_ascii_lowercase().starts_with("aws:") || is_reserved_server_tag(key) {
            return Err(QueryError::validation(format!(
                "Session tag keys beginning with aws: or kms-server: are reserved: {key}"
            )));
        }
        if tags[..i].iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(QueryError::validation(format!(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive: {key}"
            )));
        }
    }
    let listed = p.list("TransitiveTagKeys");
    if listed.len() > SESSION_TAGS_MAX {
        return Err(QueryError::validation(format!(
            "1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to {SESSION_TAGS_MAX}"
        )));
    }
    let mut transitive_keys: Vec<String> = Vec::new();
    for key in listed {
        let Some((tagged, _)) = tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) else {
            return Err(QueryError::validation(format!(
                "The transitive tag key {key} is not among the session tags passed"
            )));
        };
        // Listed twice (in any case): kept once, under the tag's own spelling.
        if !transitive_keys.contains(tagged) {
            transitive_keys.push(tagged.clone());
        }
    }
    Ok(SessionTags { tags, transitive_keys })
}

/// Adds the transitive tags of the calling session (role chaining) to the passed ones, which
/// may not set any of them again.
fn with_inherited_tags(ctx: &QueryCtx<'_>, passed: SessionTags) -> Result<SessionTags, QueryError> {
    if !matches!(ctx.caller.kind, PrincipalKind::AssumedRole { .. }) {
        return Ok(passed);
    }
    let (caller_tags, caller_transitive) =
        ctx.state.accounts.iam.session_tags(&ctx.caller.access_key_id);
    let mut out = passed;
    for key in &caller_transitive {
        let Some((_, value)) = caller_tags.iter().find(|(k, _)| k == key) else { continue };
        if out.tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(QueryError::validation(format!(
                "The session tag {key} is inherited from the calling session as a transitive tag and cannot be passed again"
            )));
        }
        out.tags.push((key.clone(), value.clone()));
        out.transitive_keys.push(key.clone());
    }
    if out.tags.len() > SESSION_TAGS_MAX {
        return Err(QueryError::new(
            400,
            "PackedPolicyTooLarge",
            "Packed size of session tags consumes more than the allotted space",
        ));
    }
    Ok(out)
}

/// Temporary credentials just issued for a role session.
pub struct IssuedSession {
    /// `ASIA…`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret: Secret,
    /// The session token (only its SHA-256 is stored).
    pub token: Secret,
    /// When the credentials expire, milliseconds since the epoch.
    pub expires_ms: i64,
    /// `<role id>:<session name>`.
    pub assumed_role_id: String,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session name>`.
    pub arn: String,
}

/// Issues and stores (durably, before returning) temporary credentials for a session of
/// `role`; the caller has already decided that the session may be issued.
///
/// # Errors
/// `ServiceFailure` if the random generator or the store fails.
pub async fn issue_session(
    state: &crate::state::AppState,
    role: &super::Role,
    session_name: &str,
    duration_s: i64,
    tags: SessionTags,
) -> Result<IssuedSession, QueryError> {
    let random = |prefix| {
        random_id(prefix, 16).map_err(|e| QueryError::internal("random generator failed", e))
    };
    let secret =
        random_secret(40).map_err(|e| QueryError::internal("random generator failed", e))?;
    let token: Secret =
        random_secret(200).map_err(|e| QueryError::internal("random generator failed", e))?;
    let token_hash =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.expose_secret().as_bytes());
    let now = state.clock.now_ms();
    let expires_ms = now + duration_s * 1000;
    let record = AccessKeyRecord {
        access_key_id: random("ASIA")?,
        account: role.account.clone(),
        owner: KeyOwner::Session {
            role: role.name.clone(),
            session_name: session_name.to_owned(),
            token_sha256: hex::encode(token_hash.as_ref()),
            expires_ms,
            tags: tags.tags,
            transitive_tag_keys: tags.transitive_keys,
        },
        sealed_secret: String::new(),
        status: "Active".to_owned(),
        created_ms: now,
    };
    let session = IssuedSession {
        access_key_id: record.access_key_id.clone(),
        secret: secret.clone(),
        token,
        expires_ms,
        assumed_role_id: format!("{}:{session_name}", role.role_id),
        arn: format!("arn:aws:sts::{}:assumed-role/{}/{session_name}", role.account, role.name),
    };
    state.accounts.iam.insert_key(&*state.store, &state.keystore, record, secret).await?;
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111122223333:role/app"),
            Some(("111122223333", "app"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:iam::111122223333:role/a/b/app"),
            Some(("111122223333", "app"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::111122223333:user/app"), None);
        assert!(is_session_name("s1") && !is_session_name("x") && !is_session_name("a b"));
    }
}
