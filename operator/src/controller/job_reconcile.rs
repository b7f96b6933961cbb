//! The `StreamingJob` reconcile, one function per step: [`dereference`] (from the caches) →
//! validate ([`Context::validate`]) → build and apply ([`apply_valid`]), or keep the last valid
//! Deployment of an invalid job ([`keep_last_valid`]) → status ([`update_status`]) → Events.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use sluice_crds::{StreamingJob, StreamingJobStatus, StreamingTable};

use super::children::{self, AppliedChildren};
use super::context::Context;
use super::error::Error;
use super::events;
use super::status_patch::{prune_partitions, write_job_status};
use super::table_index::Uses;
use crate::apply::ApplyError;
use crate::policy;
use crate::render::{self, ValidJob};
use crate::status::{self, Observed, Validity};
use crate::validate::JobProblem;

/// A job's identity, checked once at the start of its reconcile.
struct JobKey {
    name: String,
    namespace: String,
    /// `metadata.uid`: the owner of the job's children.
    uid: String,
}

/// What the dereference step read from the caches.
struct Dereferenced {
    /// The tables of the job's namespace.
    tables: Vec<StreamingTable>,
    /// The executors' Deployment, if the job controls one.
    deployment: Option<Deployment>,
    /// The ServiceAccounts of the namespace that executors may run as.
    accounts: BTreeSet<String>,
}

/// What the apply step did (or, for an invalid job, the scale step).
#[derive(Default)]
struct ApplyOutcome {
    /// The executors' Deployment as it is now, if there is one.
    deployment: Option<Deployment>,
    /// What applying the children did (valid jobs whose children could be applied).
    applied: Option<AppliedChildren>,
    /// A child that exists but belongs to someone else.
    conflict: Option<String>,
    /// The API server found a child invalid: a problem of the spec.
    rejected: Vec<JobProblem>,
}

/// Reconciles one job: the pipeline, step by step.
pub(super) async fn reconcile_job(ctx: &Context, job: &StreamingJob) -> Result<Action, Error> {
    let Some(key) = job_key(job)? else {
        return Ok(Action::await_change());
    };
    let job_ref = ObjectRef::from_obj(job);
    // 1. Dereference.
    ctx.index.set(&job_ref, Uses::Unknown);
    let inputs = dereference(ctx, &key);
    let previous_deployment = inputs.deployment.clone();
    // 2. Validate.
    let outcome = ctx.validate(job, &inputs.tables, &inputs.accounts).await?;
    // 3. Build. 4. Apply.
    let applied = match outcome.as_ref() {
        Ok(valid) => {
            ctx.index.set(
                &job_ref,
                Uses::Tables {
                    resources: valid.tables.clone(),
                    sql_names: valid.sql_names.clone(),
                },
            );
            apply_valid(ctx, valid, &key.uid, inputs.deployment).await?
        }
        Err(problems) => keep_last_valid(ctx, job, problems, inputs.deployment).await?,
    };
    // 5. Status.
    let validity = match (outcome.as_ref(), applied.rejected.is_empty()) {
        (Ok(_), true) => Validity::Valid,
        (Ok(_), false) => Validity::Invalid(&applied.rejected),
        (Err(problems), _) => Validity::Invalid(problems),
    };
    let (current, desired) = update_status(ctx, job, &key, validity, &applied).await?;
    // 6. Events.
    let events = events::job_events(
        job,
        &current,
        &desired,
        previous_deployment.as_ref(),
        applied.applied.as_ref(),
    );
    events::publish(ctx, &job.object_ref(&()), events).await;
    Ok(next_action(ctx, validity, applied.conflict.as_deref()))
}

/// The job's name, namespace and uid; `None` for a job being deleted (its children go with
/// it, by their owner references: nothing to do).
fn job_key(job: &StreamingJob) -> Result<Option<JobKey>, Error> {
    let name = job.name_any();
    let namespace = job.namespace().ok_or_else(|| Error::NoNamespace {
        kind: "StreamingJob",
        name: name.clone(),
    })?;
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(None);
    }
    let uid = job.metadata.uid.clone().ok_or_else(|| Error::NoUid {
        kind: "StreamingJob",
        name: format!("{namespace}/{name}"),
    })?;
    Ok(Some(JobKey {
        name,
        namespace,
        uid,
    }))
}

/// Step 1: what the job's reconcile reads from the caches.
fn dereference(ctx: &Context, key: &JobKey) -> Dereferenced {
    Dereferenced {
        tables: ctx.stores.tables_in(&key.namespace),
        deployment: ctx
            .stores
            .job_deployment(&key.namespace, &key.name, &key.uid),
        accounts: ctx.stores.executor_accounts(&key.namespace),
    }
}

/// Steps 3 and 4 for a valid job: build its children and apply what changed. A child owned by
/// someone else is a conflict (a condition, retried in a minute), a child the API server
/// rejects is a problem of the spec; other failures are errors (retried with backoff).
async fn apply_valid(
    ctx: &Context,
    valid: &ValidJob,
    uid: &str,
    deployment: Option<Deployment>,
) -> Result<ApplyOutcome, Error> {
    let children = render::build(valid);
    let mut out = ApplyOutcome {
        deployment,
        ..ApplyOutcome::default()
    };
    match children::apply_children(ctx, valid, uid, &children).await {
        Ok(a) => {
            out.deployment = Some(a.deployment.clone());
            out.applied = Some(a);
        }
        Err(Error::Apply(e @ ApplyError::NotOwned { .. })) => {
            out.conflict = Some(e.to_string());
        }
        Err(Error::Apply(e)) if e.rejection().is_some() => {
            out.rejected.push(JobProblem {
                reason: "Rejected",
                message: e.rejection().unwrap_or_default(),
            });
        }
        Err(e) => return Err(e),
    }
    Ok(out)
}

/// Step 4 for an invalid job: its last valid Deployment (if any) keeps running, scaled to the
/// current spec (to zero if the operator's policy refused the job).
async fn keep_last_valid(
    ctx: &Context,
    job: &StreamingJob,
    problems: &[JobProblem],
    deployment: Option<Deployment>,
) -> Result<ApplyOutcome, Error> {
    let refused = problems.iter().any(|p| policy::is_refusal(p.reason));
    let deployment = match &deployment {
        Some(d) => Some(children::follow_scale(ctx, job, d, refused).await?),
        None => None,
    };
    Ok(ApplyOutcome {
        deployment,
        ..ApplyOutcome::default()
    })
}

/// Step 5: derives the status from what was observed, removes the entries of gone executor
/// pods, and writes the operator's fields if they changed. Returns the status before and the
/// status wanted (for the Events).
async fn update_status(
    ctx: &Context,
    job: &StreamingJob,
    key: &JobKey,
    validity: Validity<'_>,
    applied: &ApplyOutcome,
) -> Result<(StreamingJobStatus, StreamingJobStatus), Error> {
    let pods = ctx.stores.executor_pods(&key.namespace, &key.name);
    let job_pods: Vec<&Pod> = pods.of_job.iter().map(|p| p.as_ref()).collect();
    let desired = status::job_status(&Observed {
        job,
        validity,
        deployment: applied.deployment.as_ref(),
        deployment_written: applied.applied.as_ref().is_some_and(|a| a.wrote_deployment),
        pods: &job_pods,
        live_pods: &pods.live,
        conflict: applied.conflict.as_deref(),
        now: Time(Timestamp::now()),
    });
    prune_partitions(ctx, job, &key.namespace, &pods.live).await?;
    let current = job.status.clone().unwrap_or_default();
    if !status::same_operator_fields(&current, &desired) {
        tracing::debug!(
            current = %serde_json::to_string(&StreamingJobStatus { partitions: Vec::new(), ..current.clone() }).unwrap_or_default(),
            desired = %serde_json::to_string(&desired).unwrap_or_default(),
            "status changed"
        );
        write_job_status(ctx, &key.namespace, &key.name, &desired).await?;
    }
    Ok((current, desired))
}

/// When to look again: a valid job at the next resync (in a minute while a child conflicts);
/// an invalid one when it changes.
fn next_action(ctx: &Context, validity: Validity<'_>, conflict: Option<&str>) -> Action {
    match validity {
        Validity::Valid if conflict.is_none() => Action::requeue(ctx.config.resync),
        Validity::Valid => Action::requeue(Duration::from_secs(60)),
        Validity::Invalid(_) => Action::await_change(),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;
    use crate::render::tests::example;

    #[test]
    fn a_job_without_a_uid_is_an_error_that_names_it() {
        let (mut job, _) = example("stock-ticks.yaml");
        job.metadata.namespace = Some("ns".into());
        job.metadata.uid = None;
        let error = job_key(&job).err().expect("an error");
        assert_eq!(
            error.to_string(),
            format!("StreamingJob ns/{} has no metadata.uid", job.name_any())
        );
        assert_eq!(error.category(), "uid");
    }

    #[test]
    fn a_job_being_deleted_is_left_to_the_garbage_collector() {
        let (mut job, _) = example("stock-ticks.yaml");
        job.metadata.namespace = Some("ns".into());
        job.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert!(matches!(job_key(&job), Ok(None)));
    }
}
