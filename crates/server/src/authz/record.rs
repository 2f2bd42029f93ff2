//! The decisions made while serving one request, kept for its audit record: which action
//! on which resource, allowed or not, why, the deciding statements (policy and Sid) and the
//! conditions that failed.

use std::sync::Mutex;

use serde_json::{json, Value};

use super::evaluate::Decision;
use super::Action;

/// Collects a request's authorization decisions. One per request; not shared between requests.
#[derive(Debug, Default)]
pub struct DecisionLog {
    entries: Mutex<Vec<Value>>,
}

impl DecisionLog {
    /// Notes one decision about `action` on `resource` (a key ARN, or `*`).
    pub fn note(&self, action: Action, resource: &str, decision: &Decision) {
        let statement = |s: &super::evaluate::StatementRef| {
            let mut v = json!({
                "policy": s.source.to_string(),
                "index": s.index,
                "effect": format!("{:?}", s.effect),
            });
            if let Some(sid) = &s.sid {
                v["sid"] = json!(sid);
            }
            if let Some(condition) = &s.failed_condition {
                v["failedCondition"] = json!(condition);
            }
            v
        };
        let mut entry = json!({
            "action": action.iam_name(),
            "resource": resource,
            "allowed": decision.allowed,
            "reason": format!("{:?}", decision.reason),
            "decidingStatements": decision.deciding.iter().map(statement).collect::<Vec<_>>(),
        });
        if !decision.near_misses.is_empty() {
            entry["statementsWithFailedConditions"] =
                decision.near_misses.iter().map(statement).collect();
        }
        if let Some(grant) = &decision.grant_id {
            entry["grantId"] = json!(grant);
        }
        // A poisoned lock only means another note panicked; the list is still usable.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(entry);
    }

    /// Every decision noted, oldest first, leaving the log empty.
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}
