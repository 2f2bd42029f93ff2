//! AWS KMS's authorization decision for one request, with the reason for it.
//!
//! 1. Any explicit `Deny` that matches, in the key policy or an identity policy, wins.
//! 2. The key policy must allow: either the principal itself (same account: enough on its
//!    own), or the caller's account (`arn:aws:iam::<acct>:root`), in which case an identity
//!    policy of the principal must also allow. Account roots have every IAM permission in
//!    their own account.
//! 3. Cross-account requests always need both the key policy and an identity policy.
//! 4. A grant that covers the request allows it (unless denied explicitly).
//!
//! Operations that name no key (CreateKey, ListKeys, …) are decided by identity policies.

use std::fmt;

use super::condition::Condition;
use super::context::{Context, ContextValue, RequestFacts};
use super::policy::{
    substitute, wildcard_match, Effect, Policy, PrincipalEntry, Resolver, Statement,
};
use super::Action;
use crate::auth::{Principal, PrincipalKind};
use crate::model::KeyRecord;

/// Which policy a statement came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// The key's key policy.
    KeyPolicy,
    /// An identity policy of the caller, by name.
    Identity(String),
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyPolicy => f.write_str("key policy"),
            Self::Identity(name) => write!(f, "identity policy '{name}'"),
        }
    }
}

/// A statement that played a part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// Where it is.
    pub source: PolicySource,
    /// Its position in the policy (0-based).
    pub index: usize,
    /// Its Sid.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// For statements that would have applied but for a condition: that condition.
    pub failed_condition: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        write!(f, "{} statement {} ({effect}", self.source, self.index + 1)?;
        if let Some(sid) = &self.sid {
            write!(f, ", Sid \"{sid}\"")?;
        }
        f.write_str(")")?;
        if let Some(c) = &self.failed_condition {
            write!(f, " did not apply: condition {c} was not met")?;
        }
        Ok(())
    }
}

/// Why a request was allowed or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A Deny statement in the key policy matched.
    ExplicitDenyInKeyPolicy,
    /// A Deny statement in an identity policy matched.
    ExplicitDenyInIdentityPolicy,
    /// The key policy allows the principal directly (same account).
    KeyPolicyAllowsPrincipal,
    /// The key policy allows (the principal or its account) and so does IAM.
    KeyPolicyAndIdentityPolicyAllow,
    /// An identity policy allows an operation that names no key.
    IdentityPolicyAllows,
    /// A grant allows it.
    Grant,
    /// No key policy statement allows the principal or its account.
    NoKeyPolicyAllow,
    /// The key policy delegates to IAM (or the caller is in another account) but no
    /// identity policy allows.
    NoIdentityPolicyAllow,
}

/// The outcome of evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// The statements that decided it (the matching Deny, or the Allows relied on).
    pub deciding: Vec<StatementRef>,
    /// Statements that matched the principal and action but whose condition failed.
    pub near_misses: Vec<StatementRef>,
    /// The grant relied on, when `reason` is [`Reason::Grant`].
    pub grant_id: Option<String>,
}

/// Operations that accept a key of another account (the rest treat one as not found).
const CROSS_ACCOUNT: &[&str] = &[
    "CreateGrant",
    "Decrypt",
    "DeriveSharedSecret",
    "DescribeKey",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "GetKeyRotationStatus",
    "GetPublicKey",
    "ListGrants",
    "ReEncryptFrom",
    "ReEncryptTo",
    "RetireGrant",
    "RevokeGrant",
    "Sign",
    "Verify",
    "VerifyMac",
];

impl Action {
    /// The IAM action name, e.g. `kms:Encrypt` (variant names are IAM's action names).
    pub fn iam_name(self) -> String {
        format!("kms:{self:?}")
    }

    /// Whether AWS lets a principal of another account perform this on a key.
    pub fn is_cross_account(self) -> bool {
        is_cross_account_name(&format!("{self:?}"))
    }
}

/// [`Action::is_cross_account`] by action name, with or without the `kms:` prefix.
pub fn is_cross_account_name(name: &str) -> bool {
    let name = name.strip_prefix("kms:").unwrap_or(name);
    CROSS_ACCOUNT.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// How a statement's principal element relates to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalMatch {
    No,
    /// Through the caller's account principal: IAM must allow too.
    Account,
    /// The caller itself (or everyone).
    Direct,
}

fn entry_matches(entry: &PrincipalEntry, caller: &Principal) -> PrincipalMatch {
    let direct = |yes: bool| if yes { PrincipalMatch::Direct } else { PrincipalMatch::No };
    match entry {
        PrincipalEntry::Everyone => PrincipalMatch::Direct,
        PrincipalEntry::Account(account) if *account == caller.account => PrincipalMatch::Account,
        PrincipalEntry::Account(_) => PrincipalMatch::No,
        PrincipalEntry::User(arn)
        | PrincipalEntry::AssumedRole(arn)
        | PrincipalEntry::FederatedUser(arn) => direct(*arn == caller.arn),
        PrincipalEntry::Role(arn) => direct(matches!(
            &caller.kind,
            PrincipalKind::AssumedRole { role_arn, .. } if role_arn == arn
        )),
        PrincipalEntry::Service(_) | PrincipalEntry::Federated(_) => PrincipalMatch::No,
    }
}

fn principal_match(statement: &Statement, caller: &Principal) -> PrincipalMatch {
    let Some(principals) = &statement.principal else {
        // Identity policies: the statement is about the caller it is attached to.
        return PrincipalMatch::Direct;
    };
    let best = principals
        .entries
        .iter()
        .map(|e| entry_matches(e, caller))
        .max()
        .unwrap_or(PrincipalMatch::No);
    if principals.negated {
        if best == PrincipalMatch::No {
            PrincipalMatch::Direct
        } else {
            PrincipalMatch::No
        }
    } else {
        best
    }
}

fn patterns_match(
    patterns: &Option<super::policy::Patterns>,
    text: &str,
    ignore_case: bool,
    resolve: Option<&Resolver<'_>>,
) -> bool {
    let Some(p) = patterns else { return false };
    let any = p.patterns.iter().any(|pat| match resolve {
        Some(resolve) if pat.contains("${") => {
            substitute(pat, resolve).is_some_and(|pat| wildcard_match(&pat, text, ignore_case))
        }
        _ => wildcard_match(pat, text, ignore_case),
    });
    any != p.negated
}

/// The result of matching one statement.
enum StatementOutcome<'p> {
    NotApplicable,
    /// Principal, action and resource matched but this condition failed.
    ConditionFailed(&'p Condition),
    Applies(PrincipalMatch),
}

fn match_statement<'p>(
    statement: &'p Statement,
    action: &str,
    resource: &str,
    context: &Context<'_>,
) -> StatementOutcome<'p> {
    let resolve = |key: &str| match context.lookup(key)? {
        ContextValue::One(v) => Some(v.into_owned()),
        ContextValue::Many(_) => None,
    };
    let variables: Option<&Resolver<'_>> = if statement.variables { Some(&resolve) } else { None };
    if !patterns_match(&statement.action, action, true, None)
        || !patterns_match(&statement.resource, resource, false, variables)
    {
        return StatementOutcome::NotApplicable;
    }
    let principal = principal_match(statement, context.caller);
    if principal == PrincipalMatch::No {
        return StatementOutcome::NotApplicable;
    }
    for condition in &statement.conditions {
        let holds = match variables {
            Some(resolve) if condition.has_variables() => {
                let substituted = condition.substituted(resolve);
                substituted.holds(context.lookup(substituted.key()).as_ref())
            }
            _ => condition.holds(context.lookup(condition.key()).as_ref()),
        };
        if !holds {
            return StatementOutcome::ConditionFailed(condition);
        }
    }
    StatementOutcome::Applies(principal)
}

/// A statement that matched, by reference; turned into a [`StatementRef`] only for the
/// statements a [`Decision`] reports.
#[derive(Clone, Copy)]
struct Hit<'p> {
    /// `None` for the resource policy, else the index of the identity policy.
    source: Option<usize>,
    index: usize,
    statement: &'p Statement,
    failed: Option<&'p Condition>,
}

impl Hit<'_> {
    fn to_ref(self, caller: &Principal) -> StatementRef {
        let source = match self.source {
            None => PolicySource::KeyPolicy,
            Some(i) => PolicySource::Identity(
                caller.identity.policies.get(i).map(|(n, _)| n.clone()).unwrap_or_default(),
            ),
        };
        StatementRef {
            source,
            index: self.index,
            sid: self.statement.sid.clone(),
            effect: self.statement.effect,
            failed_condition: self
                .failed
                .map(|c| format!("{} {} {:?}", c.operator, c.key_text, c.values())),
        }
    }
}

#[derive(Default)]
struct Tally<'p> {
    deny: Option<Hit<'p>>,
    allow_direct: Vec<Hit<'p>>,
    allow_account: Vec<Hit<'p>>,
    near_misses: Vec<Hit<'p>>,
}

fn tally<'p>(
    tally: &mut Tally<'p>,
    source: Option<usize>,
    policy: &'p Policy,
    action: &str,
    resource: &str,
    context: &Context<'_>,
) {
    for (index, statement) in policy.statements.iter().enumerate() {
        let hit = |failed| Hit { source, index, statement, failed };
        match (match_statement(statement, action, resource, context), statement.effect) {
            (StatementOutcome::NotApplicable, _) => {}
            (StatementOutcome::ConditionFailed(c), _) => tally.near_misses.push(hit(Some(c))),
            (StatementOutcome::Applies(_), Effect::Deny) => {
                if tally.deny.is_none() {
                    tally.deny = Some(hit(None));
                }
            }
            (StatementOutcome::Applies(PrincipalMatch::Direct), Effect::Allow) => {
                tally.allow_direct.push(hit(None));
            }
            (StatementOutcome::Applies(_), Effect::Allow) => tally.allow_account.push(hit(None)),
        }
    }
}

/// A resource-based policy and the account that owns the resource.
#[derive(Debug, Clone, Copy)]
pub struct ResourcePolicy<'a> {
    /// The resource's account.
    pub account: &'a str,
    /// The policy (a key policy, or a role's trust policy).
    pub policy: &'a Policy,
}

/// Evaluates a KMS request. `key` is the key and its parsed key policy, or `None` for
/// operations that name no key (CreateKey, ListKeys, GenerateRandom, …).
pub fn evaluate(
    caller: &Principal,
    action: Action,
    key: Option<(&KeyRecord, &Policy)>,
    facts: &RequestFacts<'_>,
) -> Decision {
    let arn = key.map_or_else(|| "*".to_owned(), |(record, _)| record.key.arn());
    let resource_policy =
        key.map(|(record, policy)| ResourcePolicy { account: &record.key.account, policy });
    evaluate_named(caller, &action.iam_name(), &arn, resource_policy, key.map(|(r, _)| r), facts)
}

/// Evaluates any action (`kms:…`, `iam:…`, `sts:…`) on a resource ARN. With a resource
/// policy the KMS rules above apply (AWS applies the same ones to role trust policies);
/// without one, identity policies decide.
pub fn evaluate_named(
    caller: &Principal,
    action_name: &str,
    resource: &str,
    resource_policy: Option<ResourcePolicy<'_>>,
    key: Option<&KeyRecord>,
    facts: &RequestFacts<'_>,
) -> Decision {
    let context = Context { caller, key, facts };

    let mut kp = Tally::default();
    if let Some(rp) = resource_policy {
        tally(&mut kp, None, rp.policy, action_name, resource, &context);
    }
    let mut iam = Tally::default();
    for (i, (_, policy)) in caller.identity.policies.iter().enumerate() {
        tally(&mut iam, Some(i), policy, action_name, resource, &context);
    }
    let refs = |hits: &[Hit<'_>]| hits.iter().map(|h| h.to_ref(caller)).collect::<Vec<_>>();
    let decision = |allowed, reason, deciding: Vec<StatementRef>| Decision {
        allowed,
        reason,
        deciding,
        near_misses: kp
            .near_misses
            .iter()
            .chain(&iam.near_misses)
            .map(|h| h.to_ref(caller))
            .collect(),
        grant_id: None,
    };

    if let Some(deny) = kp.deny {
        return decision(false, Reason::ExplicitDenyInKeyPolicy, refs(&[deny]));
    }
    if let Some(deny) = iam.deny {
        return decision(false, Reason::ExplicitDenyInIdentityPolicy, refs(&[deny]));
    }
    // Account roots hold every IAM permission of their own account.
    let root = caller.kind == PrincipalKind::Root;
    let iam_allows = root || !iam.allow_direct.is_empty();
    let Some(rp) = resource_policy else {
        return if iam_allows {
            decision(true, Reason::IdentityPolicyAllows, refs(&iam.allow_direct))
        } else {
            decision(false, Reason::NoIdentityPolicyAllow, vec![])
        };
    };
    let same_account = rp.account == caller.account;
    let kp_direct = !kp.allow_direct.is_empty();
    let kp_account = !kp.allow_account.is_empty();
    let relied_on = if kp_direct { &kp.allow_direct } else { &kp.allow_account };
    if same_account && kp_direct {
        return decision(true, Reason::KeyPolicyAllowsPrincipal, refs(relied_on));
    }
    if (kp_direct || kp_account) && iam_allows {
        let mut deciding = refs(relied_on);
        deciding.extend(refs(&iam.allow_direct));
        return decision(true, Reason::KeyPolicyAndIdentityPolicyAllow, deciding);
    }
    // A grant for the caller's account counts only where IAM delegates it to the caller.
    if let Some(grant) = facts.grant.as_ref().filter(|g| !g.through_account || iam_allows) {
        let deciding = if grant.through_account { refs(&iam.allow_direct) } else { vec![] };
        let mut d = decision(true, Reason::Grant, deciding);
        d.grant_id = Some(grant.grant_id.clone());
        return d;
    }
    if kp_direct || kp_account {
        decision(false, Reason::NoIdentityPolicyAllow, vec![])
    } else {
        decision(false, Reason::NoKeyPolicyAllow, vec![])
    }
}

impl Decision {
    /// AWS's AccessDeniedException text for a denial.
    pub fn denial_message(&self, caller: &Principal, action: Action, resource: &str) -> String {
        self.denial_message_named(caller, &action.iam_name(), resource)
    }

    /// [`Decision::denial_message`] for an action given by name.
    pub fn denial_message_named(&self, caller: &Principal, action: &str, resource: &str) -> String {
        let head = format!(
            "User: {} is not authorized to perform: {action} on resource: {resource}",
            caller.arn
        );
        match self.reason {
            Reason::ExplicitDenyInKeyPolicy => {
                format!("{head} with an explicit deny in a resource-based policy")
            }
            Reason::ExplicitDenyInIdentityPolicy => {
                format!("{head} with an explicit deny in an identity-based policy")
            }
            Reason::NoKeyPolicyAllow => {
                format!("{head} because no resource-based policy allows the {action} action")
            }
            _ => format!("{head} because no identity-based policy allows the {action} action"),
        }
    }

    /// A human-readable account of the decision (for ExplainAccess and logs).
    pub fn explain(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.deciding.iter().map(ToString::to_string).collect();
        if let Some(id) = &self.grant_id {
            lines.push(format!("allowed by grant {id}"));
        }
        lines.extend(self.near_misses.iter().map(ToString::to_string));
        lines
    }
}
