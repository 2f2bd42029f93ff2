//! The decisions made while serving one request, kept for its audit record: which action
//! on which resource, allowed or not, why, the deciding statements (policy and Sid) and the
//! conditions that failed.

use std::sync::Mutex;

use serde::Serialize;

use super::evaluate::{Decision, StatementRef};
use super::policy::Effect;
use super::Action;

/// Collects a request's authorization decisions. One per request; not shared between requests.
#[derive(Debug, Default)]
pub struct DecisionLog {
    entries: Mutex<Vec<Noted>>,
}

/// One decision as the audit record states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Noted {
    /// The IAM action, e.g. `kms:Decrypt`.
    pub action: String,
    /// The key ARN, or `*`.
    pub resource: String,
    /// Whether it was allowed.
    pub allowed: bool,
    /// Why (the [`super::evaluate::Reason`] name).
    pub reason: String,
    /// The statements that decided it.
    pub deciding_statements: Vec<NotedStatement>,
    /// Statements that would have applied but for a condition.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements_with_failed_conditions: Vec<NotedStatement>,
    /// The grant relied on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

/// A statement named by a [`Noted`] decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotedStatement {
    /// Which policy.
    pub policy: String,
    /// Its position in the policy (0-based).
    pub index: usize,
    /// `Allow` or `Deny`.
    pub effect: &'static str,
    /// Its Sid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The condition that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_condition: Option<String>,
}

impl NotedStatement {
    fn of(s: &StatementRef) -> Self {
        Self {
            policy: s.source.to_string(),
            index: s.index,
            effect: match s.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            },
            sid: s.sid.clone(),
            failed_condition: s.failed_condition.clone(),
        }
    }
}

impl DecisionLog {
    /// Notes one decision about `action` on `resource` (a key ARN, or `*`).
    pub fn note(&self, action: Action, resource: &str, decision: &Decision) {
        self.note_named(action.iam_name(), resource, decision);
    }

    /// [`DecisionLog::note`] for an action of any service, e.g. `cloudtrail:LookupEvents`.
    pub fn note_named(&self, action: String, resource: &str, decision: &Decision) {
        let entry = Noted {
            action,
            resource: resource.to_owned(),
            allowed: decision.allowed,
            reason: format!("{:?}", decision.reason),
            deciding_statements: decision.deciding.iter().map(NotedStatement::of).collect(),
            statements_with_failed_conditions: decision
                .near_misses
                .iter()
                .map(NotedStatement::of)
                .collect(),
            grant_id: decision.grant_id.clone(),
        };
        // A poisoned lock only means another note panicked; the list is still usable.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry);
    }

    /// Every decision noted, oldest first, leaving the log empty.
    pub fn take(&self) -> Vec<Noted> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}
