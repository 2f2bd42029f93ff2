//! Condition blocks: operators, the `IfExists` suffix, the `ForAnyValue:` /
//! `ForAllValues:` set qualifiers, and how each compares policy values to the request.

use std::net::IpAddr;

use serde_json::{Map, Value};

use super::context::ContextValue;
use super::policy::wildcard_match;

/// A condition that is malformed or refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConditionError {
    /// Operator name not known.
    #[error("Condition operator '{0}' is not supported")]
    UnknownOperator(String),
    /// The block or a value has the wrong JSON shape or type.
    #[error("{0}")]
    Malformed(String),
    /// AWS KMS refuses `ForAllValues` with `kms:EncryptionContext:<k>` (its text).
    #[error("OverlyPermissiveCondition:EncryptionContext: Using the ForAllValues set operator with a single-valued condition key matches requests without the specified encryption context or with an unspecified encryption context. To fix, remove ForAllValues.")]
    OverlyPermissiveEncryptionContext,
}

/// The comparison an operator makes (before negation, set qualifiers and `IfExists`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnEquals,
    ArnLike,
    Null,
}

/// How a condition treats a multivalued request key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// No qualifier: the key is expected to be single-valued (a multivalued key is
    /// treated as `ForAnyValue`).
    None,
    /// `ForAnyValue:`: at least one request value must match; false when absent.
    ForAnyValue,
    /// `ForAllValues:`: every request value must match; true when absent or empty.
    ForAllValues,
}

/// One operator + key + values triple of a `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator as written, e.g. `ForAnyValue:StringLikeIfExists`.
    pub operator: String,
    /// The key as written, e.g. `kms:EncryptionContext:Department`.
    pub key_text: String,
    key: String,
    compare: Compare,
    negated: bool,
    if_exists: bool,
    set: SetQualifier,
    values: Vec<String>,
    numbers: Vec<f64>,
    cidrs: Vec<Cidr>,
}

fn operator(name: &str) -> Option<(Compare, bool)> {
    use Compare as C;
    Some(match name {
        "StringEquals" => (C::StringEquals, false),
        "StringNotEquals" => (C::StringEquals, true),
        "StringEqualsIgnoreCase" => (C::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (C::StringEqualsIgnoreCase, true),
        "StringLike" => (C::StringLike, false),
        "StringNotLike" => (C::StringLike, true),
        "NumericEquals" => (C::NumericEquals, false),
        "NumericNotEquals" => (C::NumericEquals, true),
        "NumericLessThan" => (C::NumericLessThan, false),
        "NumericLessThanEquals" => (C::NumericLessThanEquals, false),
        "NumericGreaterThan" => (C::NumericGreaterThan, false),
        "NumericGreaterThanEquals" => (C::NumericGreaterThanEquals, false),
        "DateEquals" => (C::DateEquals, false),
        "DateNotEquals" => (C::DateEquals, true),
        "DateLessThan" => (C::DateLessThan, false),
        "DateLessThanEquals" => (C::DateLessThanEquals, false),
        "DateGreaterThan" => (C::DateGreaterThan, false),
        "DateGreaterThanEquals" => (C::DateGreaterThanEquals, false),
        "Bool" => (C::Bool, false),
        "BinaryEquals" => (C::BinaryEquals, false),
        "IpAddress" => (C::IpAddress, false),
        "NotIpAddress" => (C::IpAddress, true),
        "ArnEquals" => (C::ArnEquals, false),
        "ArnNotEquals" => (C::ArnEquals, true),
        "ArnLike" => (C::ArnLike, false),
        "ArnNotLike" => (C::ArnLike, true),
        "Null" => (C::Null, false),
        _ => return None,
    })
}

fn malformed(message: impl Into<String>) -> ConditionError {
    ConditionError::Malformed(message.into())
}

impl Condition {
    /// Parses a whole `Condition` block (`{ "<operator>": { "<key>": <values> } }`).
    ///
    /// # Errors
    /// [`ConditionError`] for unknown operators, malformed keys or values of the wrong type.
    pub fn parse_block(block: &Map<String, Value>) -> Result<Vec<Self>, ConditionError> {
        let mut out = Vec::new();
        for (operator_text, keys) in block {
            let Value::Object(keys) = keys else {
                return Err(malformed(format!(
                    "Condition operator '{operator_text}' must map condition keys to values"
                )));
            };
            if keys.is_empty() {
                return Err(malformed(format!("Condition operator '{operator_text}' has no keys")));
            }
            for (key_text, values) in keys {
                out.push(Self::parse_one(operator_text, key_text, values)?);
            }
        }
        Ok(out)
    }

    fn parse_one(
        operator_text: &str,
        key_text: &str,
        values: &Value,
    ) -> Result<Self, ConditionError> {
        let (set, rest) = if let Some(rest) = operator_text.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, rest)
        } else if let Some(rest) = operator_text.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, rest)
        } else {
            (SetQualifier::None, operator_text)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let (compare, negated) = operator(base)
            .ok_or_else(|| ConditionError::UnknownOperator(operator_text.to_owned()))?;
        if compare == Compare::Null && (if_exists || set != SetQualifier::None) {
            return Err(ConditionError::UnknownOperator(operator_text.to_owned()));
        }
        let key = key_text.to_ascii_lowercase();
        match key.split_once(':') {
            Some((prefix, name)) if !prefix.is_empty() && !name.is_empty() => {}
            _ => {
                return Err(malformed(format!(
                    "Condition key '{key_text}' is not of the form <prefix>:<name>"
                )))
            }
        }
        if set == SetQualifier::ForAllValues && key.starts_with("kms:encryptioncontext:") {
            return Err(ConditionError::OverlyPermissiveEncryptionContext);
        }
        let values = condition_values(values).ok_or_else(|| {
            malformed(format!(
                "Condition values for '{key_text}' must be a string, number, boolean or a non-empty list of them"
            ))
        })?;
        let bad_value = |v: &str, what: &str| {
            malformed(format!("Condition '{operator_text}' on '{key_text}': '{v}' is not {what}"))
        };
        let mut numbers = Vec::new();
        let mut cidrs = Vec::new();
        for v in &values {
            match compare {
                Compare::NumericEquals
                | Compare::NumericLessThan
                | Compare::NumericLessThanEquals
                | Compare::NumericGreaterThan
                | Compare::NumericGreaterThanEquals => {
                    numbers.push(parse_number(v).ok_or_else(|| bad_value(v, "a number"))?);
                }
                Compare::DateEquals
                | Compare::DateLessThan
                | Compare::DateLessThanEquals
                | Compare::DateGreaterThan
                | Compare::DateGreaterThanEquals => {
                    numbers.push(
                        parse_date(v)
                            .ok_or_else(|| bad_value(v, "a date (ISO 8601 or epoch seconds)"))?,
                    );
                }
                Compare::Bool | Compare::Null
                    if !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) =>
                {
                    return Err(bad_value(v, "true or false"));
                }
                Compare::IpAddress => {
                    cidrs.push(
                        Cidr::parse(v)
                            .ok_or_else(|| bad_value(v, "an IP address or CIDR block"))?,
                    );
                }
                _ => {}
            }
        }
        Ok(Self {
            operator: operator_text.to_owned(),
            key_text: key_text.to_owned(),
            key,
            compare,
            negated,
            if_exists,
            set,
            values,
            numbers,
            cidrs,
        })
    }

    /// The condition key, lowercased (keys are case-insensitive).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether string values use `${…}` policy variables.
    pub fn has_variables(&self) -> bool {
        matches!(
            self.compare,
            Compare::StringEquals
                | Compare::StringEqualsIgnoreCase
                | Compare::StringLike
                | Compare::ArnEquals
                | Compare::ArnLike
        ) && self.values.iter().any(|v| v.contains("${"))
    }

    /// A copy with policy variables substituted (values without a value are dropped).
    pub fn substituted(&self, resolve: &super::policy::Resolver<'_>) -> Self {
        let mut copy = self.clone();
        copy.values =
            self.values.iter().filter_map(|v| super::policy::substitute(v, resolve)).collect();
        copy
    }

    /// The policy values as written (for explanations).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether the condition holds for the request value of its key (`None` = absent).
    pub fn holds(&self, value: Option<&ContextValue<'_>>) -> bool {
        if self.compare == Compare::Null {
            let absent = match value {
                None => true,
                Some(ContextValue::Many(v)) => v.is_empty(),
                Some(ContextValue::One(_)) => false,
            };
            return self.values.iter().any(|v| v.eq_ignore_ascii_case("true") == absent);
        }
        let values: &[_] = match value {
            None => &[],
            Some(ContextValue::One(v)) => std::slice::from_ref(v),
            Some(ContextValue::Many(v)) => v,
        };
        match (self.set, value) {
            (SetQualifier::ForAllValues, _) => values.iter().all(|v| self.one(v)),
            (_, None) => self.if_exists || (self.set == SetQualifier::None && self.negated),
            (SetQualifier::ForAnyValue, Some(_))
            | (SetQualifier::None, Some(ContextValue::Many(_))) => {
                values.iter().any(|v| self.one(v))
            }
            (SetQualifier::None, Some(ContextValue::One(v))) => self.one(v),
        }
    }

    /// The operator applied to one request value: any policy value matches (negated: none).
    fn one(&self, request: &str) -> bool {
        let any = match self.compare {
            Compare::StringEquals => self.values.iter().any(|p| p == request),
            Compare::StringEqualsIgnoreCase => {
                self.values.iter().any(|p| p.to_lowercase() == request.to_lowercase())
            }
            Compare::StringLike => self.values.iter().any(|p| wildcard_match(p, request, false)),
            Compare::NumericEquals
            | Compare::NumericLessThan
            | Compare::NumericLessThanEquals
            | Compare::NumericGreaterThan
            | Compare::NumericGreaterThanEquals => match parse_number(request) {
                Some(r) => self.numbers.iter().any(|p| self.ordered(r, *p)),
                None => false,
            },
            Compare::DateEquals
            | Compare::DateLessThan
            | Compare::DateLessThanEquals
            | Compare::DateGreaterThan
            | Compare::DateGreaterThanEquals => match parse_date(request) {
                Some(r) => self.numbers.iter().any(|p| self.ordered(r, *p)),
                None => false,
            },
            Compare::Bool => self.values.iter().any(|p| p.eq_ignore_ascii_case(request)),
            Compare::BinaryEquals => self.values.iter().any(|p| p == request),
            Compare::IpAddress => match request.parse::<IpAddr>() {
                Ok(ip) => self.cidrs.iter().any(|c| c.contains(ip)),
                Err(_) => false,
            },
            Compare::ArnEquals | Compare::ArnLike => {
                self.values.iter().any(|p| arn_like(p, request))
            }
            Compare::Null => false,
        };
        any != self.negated
    }

    fn ordered(&self, request: f64, policy: f64) -> bool {
        match self.compare {
            Compare::NumericEquals | Compare::DateEquals => request == policy,
            Compare::NumericLessThan | Compare::DateLessThan => request < policy,
            Compare::NumericLessThanEquals | Compare::DateLessThanEquals => request <= policy,
            Compare::NumericGreaterThan | Compare::DateGreaterThan => request > policy,
            Compare::NumericGreaterThanEquals | Compare::DateGreaterThanEquals => request >= policy,
            _ => false,
        }
    }
}

fn condition_values(value: &Value) -> Option<Vec<String>> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) if !items.is_empty() => items.iter().map(scalar).collect(),
        Value::Array(_) => None,
        other => scalar(other).map(|s| vec![s]),
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// ARN matching: each of the six `:`-separated parts is matched separately, with wildcards.
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| wildcard_match(p, a, false))
}

/// Parses a date as IAM accepts it: epoch seconds, `YYYY-MM-DD`, or an ISO 8601 date-time
/// with `Z` or a `±HH:MM` offset and optional fractional seconds. Returns epoch seconds.
pub fn parse_date(s: &str) -> Option<f64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<f64>().ok();
    }
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
    };
    let (date, time) = match s.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut d = date.split('-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some()
        || !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    let mut seconds = days_from_civil(y, m, day) as f64 * 86_400.0;
    if let Some(time) = time {
        let (clock, offset_s) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if let Some(i) = time.rfind(['+', '-']) {
            let (c, off) = time.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let (oh, om) = off[1..].split_once(':').unwrap_or((&off[1..], "0"));
            let (oh, om) = (num(oh).filter(|h| *h <= 23)?, num(om).filter(|m| *m <= 59)?);
            (c, sign * (oh * 3600 + om * 60))
        } else {
            (time, 0)
        };
        let mut parts = clock.split(':');
        let h = num(parts.next()?)?;
        let min = parts.next().map(num).unwrap_or(Some(0))?;
        let sec: f64 = match parts.next() {
            Some(sec) => sec.parse().ok().filter(|v: &f64| (0.0..61.0).contains(v))?,
            None => 0.0,
        };
        if parts.next().is_some() || h > 23 || min > 59 {
            return None;
        }
        seconds += (h * 3600 + min * 60 - offset_s) as f64 + sec;
    }
    Some(seconds)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats epoch milliseconds as `YYYY-MM-DDTHH:MM:SSZ` (the form of `aws:CurrentTime`).
pub fn format_date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// An IPv4 or IPv6 CIDR block (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u32,
}

impl Cidr {
    fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u32>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u32) {
            match a {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
                IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) if self.addr.is_ipv4() => (u128::from(u32::from(v4)), 32),
                    _ => (u128::from(v6), 128),
                },
            }
        };
        let (net, width) = bits(self.addr);
        let (candidate, candidate_width) = bits(ip);
        if width != candidate_width {
            return false;
        }
        if self.prefix == 0 {
            return true;
        }
        let shift = width - self.prefix;
        (net >> shift) == (candidate >> shift)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    fn cond(op: &str, key: &str, values: Value) -> Condition {
        Condition::parse_one(op, key, &values).unwrap()
    }

    fn one(v: &str) -> ContextValue<'_> {
        ContextValue::One(Cow::Borrowed(v))
    }

    fn many<'a>(v: &[&'a str]) -> ContextValue<'a> {
        ContextValue::Many(v.iter().map(|s| Cow::Borrowed(*s)).collect())
    }

    #[test]
    fn string_operators() {
        let c = cond("StringEquals", "kms:CallerAccount", serde_json::json!(["1", "2"]));
        assert!(c.holds(Some(&one("2"))));
        assert!(!c.holds(Some(&one("3"))));
        assert!(!c.holds(None));
        let c = cond("StringNotEquals", "kms:CallerAccount", serde_json::json!(["1", "2"]));
        assert!(c.holds(Some(&one("3"))));
        assert!(!c.holds(Some(&one("1"))));
        assert!(c.holds(None), "a negated operator holds when the key is absent");
        let c = cond("StringEqualsIgnoreCase", "aws:username", serde_json::json!("Alice"));
        assert!(c.holds(Some(&one("ALICE"))));
        let c = cond("StringLike", "kms:RequestAlias", serde_json::json!("alias/app-*"));
        assert!(c.holds(Some(&one("alias/app-1"))));
        assert!(!c.holds(Some(&one("alias/other"))));
        let c = cond("StringNotLike", "kms:RequestAlias", serde_json::json!("alias/app-*"));
        assert!(c.holds(Some(&one("alias/other"))));
    }

    #[test]
    fn if_exists_holds_when_absent() {
        let c = cond("StringEqualsIfExists", "kms:EncryptionContext:app", serde_json::json!("x"));
        assert!(c.holds(None));
        assert!(c.holds(Some(&one("x"))));
        assert!(!c.holds(Some(&one("y"))));
    }

    #[test]
    fn set_qualifiers() {
        let any = cond(
            "ForAnyValue:StringEquals",
            "kms:EncryptionContextKeys",
            serde_json::json!(["a", "b"]),
        );
        assert!(any.holds(Some(&many(&["z", "b"]))));
        assert!(!any.holds(Some(&many(&["z"]))));
        assert!(!any.holds(None));
        assert!(!any.holds(Some(&many(&[]))));
        let all = cond(
            "ForAllValues:StringEquals",
            "kms:EncryptionContextKeys",
            serde_json::json!(["a", "b"]),
        );
        assert!(all.holds(Some(&many(&["a", "b"]))));
        assert!(!all.holds(Some(&many(&["a", "c"]))));
        assert!(all.holds(None), "ForAllValues holds for an absent key");
        assert!(all.holds(Some(&many(&[]))));
        let none_of =
            cond("ForAllValues:StringNotEquals", "aws:TagKeys", serde_json::json!(["secret"]));
        assert!(none_of.holds(Some(&many(&["a", "b"]))));
        assert!(!none_of.holds(Some(&many(&["a", "secret"]))));
    }

    #[test]
    fn numeric_date_bool_ip_arn_null() {
        let c = cond(
            "NumericLessThanEquals",
            "kms:ScheduleKeyDeletionPendingWindowInDays",
            serde_json::json!(10),
        );
        assert!(c.holds(Some(&one("7"))));
        assert!(!c.holds(Some(&one("30"))));
        assert!(!c.holds(Some(&one("x"))));
        let c = cond("DateLessThan", "aws:CurrentTime", serde_json::json!("2026-06-01T00:00:00Z"));
        assert!(c.holds(Some(&one("2026-01-01T00:00:00Z"))));
        assert!(!c.holds(Some(&one("2026-07-01T12:00:00Z"))));
        let c = cond("DateGreaterThan", "aws:CurrentTime", serde_json::json!("2026-01-01"));
        assert!(c.holds(Some(&one("2026-01-01T00:00:01Z"))));
        let c = cond("Bool", "aws:SecureTransport", serde_json::json!(true));
        assert!(c.holds(Some(&one("true"))));
        assert!(!c.holds(Some(&one("false"))));
        assert!(!c.holds(None));
        let c =
            cond("IpAddress", "aws:SourceIp", serde_json::json!(["10.0.0.0/8", "2001:db8::/32"]));
        assert!(c.holds(Some(&one("10.1.2.3"))));
        assert!(c.holds(Some(&one("2001:db8::1"))));
        assert!(!c.holds(Some(&one("192.168.0.1"))));
        let c = cond("NotIpAddress", "aws:SourceIp", serde_json::json!("127.0.0.1"));
        assert!(!c.holds(Some(&one("127.0.0.1"))));
        assert!(c.holds(Some(&one("127.0.0.2"))));
        let c = cond("ArnLike", "aws:PrincipalArn", serde_json::json!("arn:aws:iam::*:role/app-*"));
        assert!(c.holds(Some(&one("arn:aws:iam::111122223333:role/app-web"))));
        assert!(!c.holds(Some(&one("arn:aws:iam::111122223333:user/app-web"))));
        let c = cond("Null", "kms:EncryptionContextKeys", serde_json::json!("false"));
        assert!(c.holds(Some(&many(&["a"]))));
        assert!(!c.holds(None));
        let c = cond("Null", "aws:ResourceTag/x", serde_json::json!("true"));
        assert!(c.holds(None));
    }

    #[test]
    fn bad_conditions_are_refused_with_reasons() {
        let err = |op: &str, key: &str, v: Value| {
            Condition::parse_one(op, key, &v).unwrap_err().to_string()
        };
        assert!(err("StringSortOf", "kms:CallerAccount", serde_json::json!("1"))
            .contains("not supported"));
        assert!(err("NumericEquals", "kms:RotationPeriodInDays", serde_json::json!("ten"))
            .contains("not a number"));
        assert!(err("DateEquals", "aws:CurrentTime", serde_json::json!("yesterday"))
            .contains("not a date"));
        assert!(err("IpAddress", "aws:SourceIp", serde_json::json!("10.0.0.0/99")).contains("CIDR"));
        assert!(
            err("Bool", "aws:SecureTransport", serde_json::json!("yes")).contains("true or false")
        );
        assert!(err("StringEquals", "nokey", serde_json::json!("x")).contains("<prefix>:<name>"));
        assert!(err("StringEquals", "kms:CallerAccount", serde_json::json!({}))
            .contains("must be a string"));
        assert!(err("NullIfExists", "kms:CallerAccount", serde_json::json!("true"))
            .contains("not supported"));
        assert!(err(
            "ForAllValues:StringEquals",
            "kms:EncryptionContext:app",
            serde_json::json!("x")
        )
        .starts_with("OverlyPermissiveCondition:EncryptionContext"));
    }

    proptest::proptest! {
        #[test]
        fn value_parsers_never_panic(text in "\\PC{0,40}") {
            let _ = parse_date(&text);
            let _ = parse_number(&text);
            let _ = Cidr::parse(&text);
            let _ = arn_like(&text, "arn:aws:kms:us-east-1:111122223333:key/x");
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_date("1700000000"), Some(1_700_000_000.0));
        assert_eq!(parse_date("2026-01-01T01:00:00+01:00"), parse_date("2026-01-01"));
        assert_eq!(format_date(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(parse_date(&format_date(1_767_225_600_000)), Some(1_767_225_600.0));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("99999999999999999-01-01"), None);
        assert_eq!(parse_date("2026-01-01T00:00:00+99999999999999999:00"), None);
    }
}
