//! Events: what changed in a reconcile, published on the object — Warning when a condition
//! turns bad (or its problem changes), Normal when it recovers, and Normal for the executors'
//! Deployment being created, rolled out or scaled. Never for a reconcile that changed nothing.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::events::{Event, EventType};
use sluice_crds::conditions::{self, DEGRADED, VALID};
use sluice_crds::{StreamingJob, StreamingJobStatus};

use super::children::AppliedChildren;
use super::context::Context;
use crate::render;

/// The Events for what a job reconcile changed: its `Valid` and `Degraded` conditions (from
/// `current` to `desired`) and, when it wrote the executors' Deployment (`applied`), whether
/// that created, rolled out or scaled it (compared with the `previous` Deployment).
pub(super) fn job_events(
    job: &StreamingJob,
    current: &StreamingJobStatus,
    desired: &StreamingJobStatus,
    previous: Option<&Deployment>,
    applied: Option<&AppliedChildren>,
) -> Vec<Event> {
    let mut events = Vec::new();
    events.extend(condition_event(
        &current.conditions,
        &desired.conditions,
        VALID,
        "Validate",
        "the spec is valid",
    ));
    events.extend(condition_event(
        &current.conditions,
        &desired.conditions,
        DEGRADED,
        "Observe",
        "executors recovered",
    ));
    if let Some(a) = applied.filter(|a| a.wrote_deployment) {
        events.extend(deployment_event(job, previous, a));
    }
    events
}

/// Created, RollingOut, or Suspended/Resumed/Scaled, for a written Deployment.
fn deployment_event(
    job: &StreamingJob,
    previous: Option<&Deployment>,
    a: &AppliedChildren,
) -> Option<Event> {
    let hash = |d: Option<&Deployment>| {
        d.and_then(|d| d.spec.as_ref())
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(render::ANNOTATION_CONFIG_HASH).cloned())
    };
    let replicas =
        |d: Option<&Deployment>| d.and_then(|d| d.spec.as_ref()).and_then(|s| s.replicas);
    let (old_hash, new_hash) = (hash(previous), hash(Some(&a.deployment)));
    let (old_n, new_n) = (replicas(previous), replicas(Some(&a.deployment)));
    let new_n = new_n.unwrap_or(0);
    if a.created {
        Some(normal(
            "Created",
            "Apply",
            format!(
                "created the executors' Deployment ({new_n} replicas), ConfigMap and RBAC; configuration {}",
                new_hash.unwrap_or_default()
            ),
        ))
    } else if old_hash != new_hash {
        Some(normal(
            "RollingOut",
            "Apply",
            format!(
                "rolling out configuration {} (generation {}) to {new_n} executors",
                new_hash.unwrap_or_default(),
                job.metadata.generation.unwrap_or_default()
            ),
        ))
    } else if old_n != Some(new_n) {
        let what = match (old_n, new_n) {
            (_, 0) if job.spec.suspend => "Suspended",
            (Some(0), _) => "Resumed",
            _ => "Scaled",
        };
        Some(normal(
            what,
            "Scale",
            format!("executors: {} → {new_n}", old_n.unwrap_or(0)),
        ))
    } else {
        None
    }
}

/// Publishes `events` on the object `reference`; a failure is logged, not retried.
pub(super) async fn publish(ctx: &Context, reference: &ObjectReference, events: Vec<Event>) {
    for event in events {
        if let Err(error) = ctx.recorder.publish(&event, reference).await {
            tracing::warn!(%error, reason = %event.reason, "failed to publish an Event");
        } else {
            ctx.metrics.wrote("Event", "create");
        }
    }
}

/// A Normal Event.
fn normal(reason: &str, action: &str, note: String) -> Event {
    Event {
        type_: EventType::Normal,
        reason: reason.to_owned(),
        note: Some(note),
        action: action.to_owned(),
        secondary: None,
    }
}

/// An Event when a condition turned `True` ↔ `False` or its false reason/message changed:
/// Warning for Valid=False or Degraded=True, Normal when it recovers.
pub(super) fn condition_event(
    before: &[Condition],
    after: &[Condition],
    type_: &str,
    action: &str,
    recovered: &str,
) -> Option<Event> {
    let now = conditions::find(after, type_)?;
    let was = conditions::find(before, type_);
    let bad_status = if type_ == DEGRADED { "True" } else { "False" };
    let bad = now.status == bad_status;
    let was_bad = was.is_some_and(|c| c.status == bad_status);
    let changed = was.is_none_or(|c| c.reason != now.reason || c.message != now.message);
    if bad && (!was_bad || changed) {
        Some(Event {
            type_: EventType::Warning,
            reason: now.reason.clone(),
            note: Some(truncate(&now.message, 1000)),
            action: action.to_owned(),
            secondary: None,
        })
    } else if !bad && was_bad {
        Some(normal(&now.reason, action, recovered.to_owned()))
    } else {
        None
    }
}

/// `s`, cut to at most `max` bytes (on a character boundary) and marked ` …` if cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} …", &s[..end])
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::DeploymentSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::render::tests::example;

    fn cond(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: None,
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
        }
    }

    #[test]
    fn an_invalid_spec_is_announced_once_per_problem_and_its_fix_once() {
        let bad = [cond(VALID, "False", "SqlSyntaxError", "line 1")];
        let e = condition_event(&[], &bad, VALID, "Validate", "ok").unwrap();
        assert_eq!(e.reason, "SqlSyntaxError");
        assert!(matches!(e.type_, EventType::Warning));
        assert!(condition_event(&bad, &bad, VALID, "Validate", "ok").is_none());
        let other = [cond(VALID, "False", "SqlSyntaxError", "line 2")];
        assert!(condition_event(&bad, &other, VALID, "Validate", "ok").is_some());
        let good = [cond(VALID, "True", "Valid", "")];
        let e = condition_event(&bad, &good, VALID, "Validate", "ok").unwrap();
        assert!(matches!(e.type_, EventType::Normal));
        assert!(condition_event(&good, &good, VALID, "Validate", "ok").is_none());
        assert!(condition_event(&[], &good, VALID, "Validate", "ok").is_none());
    }

    #[test]
    fn degraded_is_bad_when_true() {
        let bad = [cond(DEGRADED, "True", "CrashLoopBackOff", "pod x")];
        let fine = [cond(DEGRADED, "False", "AsExpected", "")];
        assert!(condition_event(&fine, &bad, DEGRADED, "Observe", "ok").is_some());
        assert!(condition_event(&[], &fine, DEGRADED, "Observe", "ok").is_none());
    }

    fn deployment(config_hash: &str, replicas: i32) -> Deployment {
        let mut d = Deployment::default();
        let mut spec = DeploymentSpec {
            replicas: Some(replicas),
            ..Default::default()
        };
        spec.template.metadata = Some(ObjectMeta {
            annotations: Some(
                [(
                    render::ANNOTATION_CONFIG_HASH.to_owned(),
                    config_hash.to_owned(),
                )]
                .into(),
            ),
            ..Default::default()
        });
        d.spec = Some(spec);
        d
    }

    fn reason(
        job: &StreamingJob,
        previous: Option<&Deployment>,
        now: Deployment,
        created: bool,
    ) -> Option<String> {
        let applied = AppliedChildren {
            deployment: now,
            created,
            wrote_deployment: true,
        };
        deployment_event(job, previous, &applied).map(|e| e.reason)
    }

    #[test]
    fn a_written_deployment_is_announced_as_created_rolled_out_or_scaled() {
        let (mut job, _) = example("stock-ticks.yaml");
        let one = deployment("a", 1);
        let created = reason(&job, None, deployment("a", 1), true);
        assert_eq!(created.as_deref(), Some("Created"));
        let new_config = reason(&job, Some(&one), deployment("b", 1), false);
        assert_eq!(new_config.as_deref(), Some("RollingOut"));
        let scaled = reason(&job, Some(&one), deployment("a", 3), false);
        assert_eq!(scaled.as_deref(), Some("Scaled"));
        let resumed = reason(&job, Some(&deployment("a", 0)), deployment("a", 1), false);
        assert_eq!(resumed.as_deref(), Some("Resumed"));
        assert_eq!(reason(&job, Some(&one), deployment("a", 1), false), None);
        job.spec.suspend = true;
        let suspended = reason(&job, Some(&one), deployment("a", 0), false);
        assert_eq!(suspended.as_deref(), Some("Suspended"));
    }
}
