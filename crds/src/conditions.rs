//! Condition types and helpers shared by the operator (which owns `Valid`, `Ready`,
//! `Progressing`, `Degraded`) and anyone reading status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The spec is valid: SQL parses, tables exist, types and options check out.
pub const VALID: &str = "Valid";
/// All desired executor pods are available (or the job is suspended on purpose).
pub const READY: &str = "Ready";
/// A rollout or scale change is under way.
pub const PROGRESSING: &str = "Progressing";
/// Executors report errors or crash.
pub const DEGRADED: &str = "Degraded";

/// Builds a condition; `last_transition_time` is kept from `previous` when the status did not
/// change, so that re-applying an unchanged condition writes nothing new.
pub fn condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    previous: &[Condition],
    now: Time,
) -> Condition {
    let status = if status { "True" } else { "False" }.to_owned();
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or(now);
    Condition {
        type_: type_.to_owned(),
        status,
        reason: reason.to_owned(),
        message: message.into(),
        observed_generation,
        last_transition_time,
    }
}

/// The condition of a type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of a type is present and `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}
