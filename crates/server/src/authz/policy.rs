//! The IAM policy language as KMS key policies and IAM identity policies use it: parsing
//! and validation into a [`Policy`] that [`super::evaluate`] can run.
//!
//! Parsing is strict in the places AWS is strict (unknown elements, bad effects, malformed
//! principals, condition values of the wrong type) and every error says what is wrong.

use serde_json::{Map, Value};

use super::condition::{Condition, ConditionError};

/// Which kind of document is being parsed: it decides whether `Principal` is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A KMS key policy (resource-based): every statement names a principal.
    Key,
    /// An IAM user or role policy (identity-based): statements name no principal.
    Identity,
    /// A role trust policy (resource-based, on the role).
    Trust,
}

/// A parsed, validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The optional `Id` element.
    pub id: Option<String>,
    /// The statements, in document order (order never changes a decision).
    pub statements: Vec<Statement>,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the matched actions.
    Allow,
    /// Refuses the matched actions; an explicit deny wins over every allow.
    Deny,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The `Sid`, if any.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Principal` / `NotPrincipal` (absent in identity policies).
    pub principal: Option<Principals>,
    /// `Action` / `NotAction`; a statement without one matches nothing.
    pub action: Option<Patterns>,
    /// `Resource` / `NotResource`; a statement without one matches nothing.
    pub resource: Option<Patterns>,
    /// Every condition must hold for the statement to apply.
    pub conditions: Vec<Condition>,
    /// Whether `${…}` policy variables are substituted (Version 2012-10-17 only).
    pub variables: bool,
}

/// A list of wildcard patterns, possibly negated (`NotAction`, `NotResource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patterns {
    /// True for the `Not…` form: matches what none of the patterns match.
    pub negated: bool,
    /// The patterns (`*` and `?` wildcards).
    pub patterns: Vec<String>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principals {
    /// True for `NotPrincipal`.
    pub negated: bool,
    /// The principals named.
    pub entries: Vec<PrincipalEntry>,
}

/// One principal named in a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    Everyone,
    /// An account (`"111122223333"` or `arn:aws:iam::111122223333:root`): delegates to
    /// the account's IAM policies.
    Account(String),
    /// An IAM user ARN.
    User(String),
    /// An IAM role ARN (also matches the role's assumed-role sessions).
    Role(String),
    /// An assumed-role session ARN (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`).
    AssumedRole(String),
    /// A federated user ARN (`arn:aws:sts::<acct>:federated-user/<name>`).
    FederatedUser(String),
    /// `{"Service": "<svc>.amazonaws.com"}`.
    Service(String),
    /// `{"Federated": "<provider>"}` (identity providers; never matches a caller here).
    Federated(String),
}

/// Why a policy document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Not JSON, or JSON of the wrong shape; the text says where.
    #[error("{0}")]
    Syntax(String),
    /// A principal that is not a valid, visible principal (AWS's fixed text).
    #[error("Policy contains a statement with one or more invalid principals.")]
    InvalidPrincipal,
    /// A condition that is malformed or not allowed.
    #[error("{0}")]
    Condition(#[from] ConditionError),
}

fn syntax(message: impl Into<String>) -> PolicyError {
    PolicyError::Syntax(message.into())
}

const TOP_LEVEL: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

impl Policy {
    /// Parses and validates a policy document.
    ///
    /// # Errors
    /// [`PolicyError`] naming the first problem found.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Self, PolicyError> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| syntax(format!("The policy document is not valid JSON: {e}")))?;
        let Value::Object(doc) = doc else {
            return Err(syntax("The policy document must be a JSON object"));
        };
        if let Some(unknown) = doc.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
            return Err(syntax(format!("The policy document has an unknown element '{unknown}'")));
        }
        let variables = doc.get("Version").and_then(Value::as_str) == Some("2012-10-17");
        match doc.get("Version") {
            None => {}
            Some(Value::String(v)) if v == "2012-10-17" || v == "2008-10-17" => {}
            Some(other) => {
                return Err(syntax(format!(
                    "The policy Version {other} is not supported; use \"2012-10-17\""
                )))
            }
        }
        let id = match doc.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(syntax("The policy Id must be a string")),
        };
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
            Some(single @ Value::Object(_)) => vec![single],
            Some(Value::Array(_)) | None => {
                return Err(syntax("The policy document must contain at least one Statement"))
            }
            Some(_) => return Err(syntax("Statement must be an object or a list of objects")),
        };
        let mut sids = std::collections::HashSet::new();
        for sid in statements.iter().filter_map(|s| s.get("Sid").and_then(Value::as_str)) {
            if !sid.is_empty() && !sids.insert(sid) {
                return Err(syntax(format!(
                    "Statement IDs (SID) in a single policy must be unique; \"{sid}\" is repeated"
                )));
            }
        }
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| parse_statement(s, kind, variables).map_err(|e| in_statement(e, i, s)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { id, statements })
    }

    /// True if any condition of any statement uses `key` (lowercase).
    pub fn uses_condition_key(&self, key: &str) -> bool {
        self.statements.iter().any(|s| s.conditions.iter().any(|c| c.key() == key))
    }
}

fn in_statement(error: PolicyError, index: usize, statement: &Value) -> PolicyError {
    let sid = statement.get("Sid").and_then(Value::as_str);
    let place = match sid {
        Some(sid) => format!("Statement {} (Sid \"{sid}\")", index + 1),
        None => format!("Statement {}", index + 1),
    };
    match error {
        PolicyError::Syntax(m) => PolicyError::Syntax(format!("{place}: {m}")),
        PolicyError::Condition(c) => PolicyError::Syntax(format!("{place}: {c}")),
        other => other,
    }
}

fn parse_statement(
    value: &Value,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let Value::Object(map) = value else {
        return Err(syntax("each Statement must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str())) {
        return Err(syntax(format!("unknown element '{unknown}'")));
    }
    let sid = match map.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(syntax("Sid must be a string")),
    };
    let effect = match map.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(syntax(format!("Effect must be \"Allow\" or \"Deny\", not {other}")))
        }
        None => return Err(syntax("missing required element Effect")),
    };
    let principal = parse_principals(map, kind)?;
    let action = either(map, "Action", "NotAction")?;
    if let Some(action) = &action {
        for p in &action.patterns {
            check_action_pattern(p)?;
        }
    }
    let mut resource = either(map, "Resource", "NotResource")?;
    if kind == PolicyKind::Trust && resource.is_none() {
        // A trust policy is about the role it is attached to and names no Resource.
        resource = Some(Patterns { negated: false, patterns: vec!["*".to_owned()] });
    }
    let conditions = match map.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(block)) => Condition::parse_block(block)?,
        Some(_) => return Err(syntax("Condition must be a JSON object")),
    };
    Ok(Statement { sid, effect, principal, action, resource, conditions, variables })
}

fn check_action_pattern(pattern: &str) -> Result<(), PolicyError> {
    if pattern == "*" {
        return Ok(());
    }
    match pattern.split_once(':') {
        Some((service, name))
            if !service.is_empty()
                && !name.is_empty()
                && service.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?') =>
        {
            Ok(())
        }
        _ => Err(syntax(format!(
            "Action '{pattern}' is not of the form <service>:<action> (for example kms:Encrypt)"
        ))),
    }
}

fn either(
    map: &Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<Patterns>, PolicyError> {
    match (map.get(positive), map.get(negative)) {
        (Some(_), Some(_)) => {
            Err(syntax(format!("a statement cannot have both {positive} and {negative}")))
        }
        (Some(v), None) => Ok(Some(Patterns { negated: false, patterns: strings(v, positive)? })),
        (None, Some(v)) => Ok(Some(Patterns { negated: true, patterns: strings(v, negative)? })),
        (None, None) => Ok(None),
    }
}

fn strings(value: &Value, element: &str) -> Result<Vec<String>, PolicyError> {
    let bad = || syntax(format!("{element} must be a string or a non-empty list of strings"));
    match value {
        Value::String(s) if !s.is_empty() => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| match i {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(bad()),
            })
            .collect(),
        _ => Err(bad()),
    }
}

fn parse_principals(
    map: &Map<String, Value>,
    kind: PolicyKind,
) -> Result<Option<Principals>, PolicyError> {
    let (value, negated) = match (map.get("Principal"), map.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(syntax("a statement cannot have both Principal and NotPrincipal"))
        }
        (Some(v), None) => (v, false),
        (None, Some(v)) => (v, true),
        (None, None) if kind == PolicyKind::Identity => return Ok(None),
        (None, None) => return Err(syntax("missing required element Principal")),
    };
    if kind == PolicyKind::Identity {
        return Err(syntax("an identity-based policy must not specify a Principal"));
    }
    let entries = match value {
        Value::String(s) if s == "*" => vec![PrincipalEntry::Everyone],
        Value::Object(kinds) if !kinds.is_empty() => {
            let mut entries = Vec::new();
            for (kind, names) in kinds {
                let names =
                    strings(names, "Principal").map_err(|_| PolicyError::InvalidPrincipal)?;
                for name in names {
                    entries.push(principal_entry(kind, &name)?);
                }
            }
            entries
        }
        _ => return Err(PolicyError::InvalidPrincipal),
    };
    Ok(Some(Principals { negated, entries }))
}

fn principal_entry(kind: &str, name: &str) -> Result<PrincipalEntry, PolicyError> {
    match kind {
        "AWS" => aws_principal(name).ok_or(PolicyError::InvalidPrincipal),
        "Service" => {
            let valid = name.ends_with(".amazonaws.com")
                && name.len() > ".amazonaws.com".len()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
            if valid || name == "*" {
                Ok(PrincipalEntry::Service(name.to_owned()))
            } else {
                Err(PolicyError::InvalidPrincipal)
            }
        }
        "Federated" if !name.is_empty() => Ok(PrincipalEntry::Federated(name.to_owned())),
        _ => Err(PolicyError::InvalidPrincipal),
    }
}

/// True for a 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_name_path(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.ends_with('/')
        && !s.contains("//")
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

fn aws_principal(name: &str) -> Option<PrincipalEntry> {
    if name == "*" {
        return Some(PrincipalEntry::Everyone);
    }
    if is_account_id(name) {
        return Some(PrincipalEntry::Account(name.to_owned()));
    }
    let rest = name.strip_prefix("arn:aws:")?;
    let mut parts = rest.splitn(4, ':');
    let (service, region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if !region.is_empty() || !is_account_id(account) {
        return None;
    }
    let owned = || name.to_owned();
    match (service, resource.split_once('/')) {
        ("iam", None) if resource == "root" => Some(PrincipalEntry::Account(account.to_owned())),
        ("iam", Some(("user", path))) if is_name_path(path) => Some(PrincipalEntry::User(owned())),
        ("iam", Some(("role", path))) if is_name_path(path) => Some(PrincipalEntry::Role(owned())),
        ("sts", Some(("assumed-role", rest))) => {
            let (role, session) = rest.split_once('/')?;
            (is_name_path(role) && !role.contains('/') && is_name_path(session))
                .then(|| PrincipalEntry::AssumedRole(owned()))
        }
        ("sts", Some(("federated-user", user))) if is_name_path(user) => {
            Some(PrincipalEntry::FederatedUser(owned()))
        }
        _ => None,
    }
}

/// Looks up a condition key (lowercase) as a single value, for policy variables.
pub type Resolver<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Replaces `${key}` policy variables (and `${key, 'default'}`, `${*}`, `${?}`, `${$}`)
/// using `resolve` (lowercase key → single value). `None` if a variable has no value and
/// no default: the element then matches nothing, as AWS documents.
pub fn substitute(text: &str, resolve: &Resolver<'_>) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(out);
        };
        let inner = &after[..end];
        let value = match inner {
            "*" | "?" | "$" => inner.to_owned(),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\'').to_owned())),
                    None => (inner.trim(), None),
                };
                resolve(&key.to_ascii_lowercase()).or(default)?
            }
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Matches `text` against a pattern with `*` (any run) and `?` (any one character).
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        glob(
            pattern.as_bytes(),
            text.as_bytes(),
            |a, b| {
                if ignore_case {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            },
            b'*',
            b'?',
        )
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        glob(
            &p,
            &t,
            |a, b| {
                if ignore_case {
                    a.to_lowercase().eq(b.to_lowercase())
                } else {
                    a == b
                }
            },
            '*',
            '?',
        )
    }
}

fn glob<T: Copy + PartialEq>(
    p: &[T],
    t: &[T],
    eq: impl Fn(&T, &T) -> bool,
    star: T,
    one: T,
) -> bool {
    // Iterative matcher with one backtracking point (the last `*` seen): linear in
    // practice and never recursive, so hostile patterns cannot blow the stack.
    let (mut pi, mut ti) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == star {
            back = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == one || eq(&p[pi], &t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((bp, bt)) = back {
            pi = bp + 1;
            ti = bt + 1;
            back = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_policy(statement: &str) -> Result<Policy, PolicyError> {
        Policy::parse(
            &format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#),
            PolicyKind::Key,
        )
    }

    fn message(result: Result<Policy, PolicyError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn statement_may_be_object_or_list() {
        let one = Policy::parse(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
            PolicyKind::Key,
        )
        .unwrap();
        assert_eq!(one.statements.len(), 1);
        let two = key_policy(
            r#"{"Sid":"a b","Effect":"Allow","Principal":"*","Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"},
               {"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"NotAction":"kms:Describe*","NotResource":"arn:aws:kms:*"}"#,
        )
        .unwrap();
        assert_eq!(two.statements[0].sid.as_deref(), Some("a b"));
        assert!(two.statements[1].principal.as_ref().unwrap().negated);
        assert!(two.statements[1].action.as_ref().unwrap().negated);
        assert!(two.statements[1].resource.as_ref().unwrap().negated);
    }

    #[test]
    fn every_principal_form_parses() {
        let p = key_policy(
            r#"{"Effect":"Allow","Action":"kms:*","Resource":"*","Principal":{
                "AWS":["111122223333","arn:aws:iam::111122223333:root","arn:aws:iam::111122223333:user/ops/alice",
                       "arn:aws:iam::111122223333:role/admin","arn:aws:sts::111122223333:assumed-role/admin/s1",
                       "arn:aws:sts::111122223333:federated-user/bob","*"],
                "Service":"s3.amazonaws.com"}}"#,
        )
        .unwrap();
        let entries = &p.statements[0].principal.as_ref().unwrap().entries;
        assert_eq!(entries[0], PrincipalEntry::Account("111122223333".into()));
        assert_eq!(entries[1], PrincipalEntry::Account("111122223333".into()));
        assert!(matches!(entries[2], PrincipalEntry::User(_)));
        assert!(matches!(entries[3], PrincipalEntry::Role(_)));
        assert!(matches!(entries[4], PrincipalEntry::AssumedRole(_)));
        assert!(matches!(entries[5], PrincipalEntry::FederatedUser(_)));
        assert_eq!(entries[6], PrincipalEntry::Everyone);
        assert_eq!(entries[7], PrincipalEntry::Service("s3.amazonaws.com".into()));
    }

    #[test]
    fn invalid_principals_get_aws_text() {
        for bad in [
            r#""bob""#,
            r#"{"AWS":"bob"}"#,
            r#"{"AWS":"arn:aws:iam::12:root"}"#,
            r#"{"AWS":"arn:aws:iam::111122223333:group/devs"}"#,
            r#"{"AWS":"arn:aws:iam::111122223333:user/*"}"#,
            r#"{"Service":"not a service"}"#,
            r#"{"Unknown":"x"}"#,
            r#"{}"#,
        ] {
            let statement = format!(
                r#"{{"Effect":"Allow","Principal":{bad},"Action":"kms:*","Resource":"*"}}"#
            );
            assert_eq!(key_policy(&statement).unwrap_err(), PolicyError::InvalidPrincipal, "{bad}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(message(Policy::parse("nope", PolicyKind::Key)).contains("not valid JSON"));
        assert!(message(Policy::parse("[]", PolicyKind::Key)).contains("JSON object"));
        assert!(message(Policy::parse(r#"{"Statement":[]}"#, PolicyKind::Key))
            .contains("at least one Statement"));
        assert!(message(Policy::parse(
            r#"{"Version":"2020-01-01","Statement":{}}"#,
            PolicyKind::Key
        ))
        .contains("Version"));
        assert!(message(Policy::parse(r#"{"Statment":[]}"#, PolicyKind::Key))
            .contains("unknown element 'Statment'"));
        let m = message(key_policy(r#"{"Sid":"S1","Effect":"Maybe","Principal":"*"}"#));
        assert!(m.contains("Statement 1 (Sid \"S1\")") && m.contains("Effect"), "{m}");
        assert!(message(key_policy(r#"{"Effect":"Allow","Action":"kms:*"}"#)).contains("Principal"));
        assert!(message(key_policy(r#"{"Effect":"Allow","Principal":"*","Action":"Encrypt"}"#))
            .contains("<service>:<action>"));
        assert!(message(key_policy(
            r#"{"Effect":"Allow","Principal":"*","Action":"kms:*","NotAction":"kms:*"}"#
        ))
        .contains("both Action and NotAction"));
        assert!(message(key_policy(r#"{"Effect":"Allow","Principal":"*","Action":[]}"#))
            .contains("non-empty list"));
        assert!(message(key_policy(r#"{"Effect":"Allow","Principal":"*","Condition":[]}"#))
            .contains("Condition must be a JSON object"));
        assert!(message(key_policy(r#"{"Effect":"Allow","Principal":"*","Extra":1}"#))
            .contains("unknown element 'Extra'"));
    }

    #[test]
    fn sids_must_be_unique() {
        let dup = r#"{"Sid":"A","Effect":"Allow","Principal":"*"},{"Sid":"A","Effect":"Deny","Principal":"*"}"#;
        assert!(message(key_policy(dup)).contains("must be unique"));
    }

    #[test]
    fn missing_action_or_resource_is_accepted() {
        let p = key_policy(r#"{"Effect":"Allow","Principal":"*"}"#).unwrap();
        assert!(p.statements[0].action.is_none() && p.statements[0].resource.is_none());
    }

    #[test]
    fn identity_policies_have_no_principal() {
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#;
        assert!(Policy::parse(doc, PolicyKind::Identity).is_ok());
        assert!(Policy::parse(doc, PolicyKind::Key).is_err());
        let with_principal =
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#;
        assert!(message(Policy::parse(with_principal, PolicyKind::Identity))
            .contains("must not specify a Principal"));
    }

    #[test]
    fn variables_are_substituted() {
        let resolve = |k: &str| (k == "aws:username").then(|| "alice".to_owned());
        assert_eq!(substitute("user/${aws:username}", &resolve).as_deref(), Some("user/alice"));
        assert_eq!(
            substitute("${aws:UserName}-${*}${?}${$}", &resolve).as_deref(),
            Some("alice-*?$")
        );
        assert_eq!(substitute("${aws:userid}", &resolve), None);
        assert_eq!(substitute("${aws:userid, 'none'}", &resolve).as_deref(), Some("none"));
        assert_eq!(substitute("plain ${unclosed", &resolve).as_deref(), Some("plain ${unclosed"));
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics(text in "\\PC{0,200}") {
            let _ = Policy::parse(&text, PolicyKind::Key);
        }

        #[test]
        fn parser_never_panics_on_policy_shaped_json(
            effect in "(Allow|Deny|[a-z]{0,5})",
            principal in "(\\*|[0-9]{12}|arn:aws:iam::[0-9]{12}:(root|user/[a-z]{1,5}|role/[a-z/]{0,6})|.{0,12})",
            action in "(kms:[A-Za-z*?]{0,10}|[a-z*:]{0,8})",
            operator in "(ForAnyValue:|ForAllValues:)?(String|Numeric|Date|Arn|Ip|Null|Bool)[A-Za-z]{0,12}",
            value in ".{0,12}",
        ) {
            let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Effect": effect, "Principal": {"AWS": principal}, "Action": action, "Resource": "*",
                "Condition": {operator: {"kms:EncryptionContext:k": value}}}]});
            let _ = Policy::parse(&doc.to_string(), PolicyKind::Key);
        }

        #[test]
        fn a_literal_pattern_matches_itself(text in "[^*?]{0,40}") {
            proptest::prop_assert!(wildcard_match(&text, &text, false));
            let star_in_middle = format!("{}*", text.chars().take(3).collect::<String>());
            proptest::prop_assert!(wildcard_match(&star_in_middle, &text, false));
        }
    }

    #[test]
    fn wildcards_match_like_iam() {
        assert!(wildcard_match("kms:*", "kms:Encrypt", true));
        assert!(wildcard_match("KMS:encrypt", "kms:Encrypt", true));
        assert!(!wildcard_match("KMS:encrypt", "kms:Encrypt", false));
        assert!(wildcard_match("kms:Generate*", "kms:GenerateDataKey", true));
        assert!(wildcard_match("kms:?ncrypt", "kms:Encrypt", true));
        assert!(!wildcard_match("kms:?ncrypt", "kms:ReEncrypt", true));
        assert!(wildcard_match("*a*b*", "xxaxxbxx", false));
        assert!(!wildcard_match("*a*b", "xxaxxbxx", false));
        assert!(wildcard_match("é*", "été", false));
        assert!(wildcard_match("", "", false));
        assert!(!wildcard_match("", "a", false));
    }
}
