//! Status: what the operator writes on a job — `observedGeneration`, `phase`, the `Valid`,
//! `Ready`, `Progressing` and `Degraded` conditions, replica counts, and totals summed over the
//! `status.partitions` entries the executor pods write. Pure functions of what was observed.
//!
//! Executor pods own their `status.partitions` entries (server-side apply, field manager
//! `sluice-executor-<pod>`); the operator never writes that list. Entries of pods that no longer
//! exist are removed by applying an empty status *as that pod's field manager*
//! ([`stale_managers`]): server-side apply then deletes exactly the entries that manager still
//! owns, and keeps any entry another pod has taken over since.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use sluice_crds::conditions::{self, DEGRADED, PROGRESSING, READY, VALID};
use sluice_crds::{PartitionStatus, StreamingJob, StreamingJobStatus};

use crate::render::ANNOTATION_JOB_GENERATION;
use crate::validate::{JobProblem, summary};

/// Field managers of executor pods are this prefix plus the pod name.
pub const EXECUTOR_MANAGER_PREFIX: &str = "sluice-executor-";

/// Phase: executors are starting or not all ready.
pub const PENDING: &str = "Pending";
/// Phase: every desired executor is ready.
pub const RUNNING: &str = "Running";
/// Phase: suspended on purpose.
pub const SUSPENDED: &str = "Suspended";
/// Phase: the spec is invalid, or executors fail.
pub const FAILED: &str = "Failed";

/// Starts the note on Ready that an invalid job still runs its last valid spec.
const LAST_GOOD_PREFIX: &str = " (running the last valid spec";

/// Waiting reasons of a container that mean the job is degraded.
const BAD_WAITING_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Whether the spec can run.
#[derive(Clone, Copy, Debug)]
pub enum Validity<'a> {
    /// Everything checks out.
    Valid,
    /// The operator's validation found problems.
    Invalid(&'a [JobProblem]),
}

/// What a reconcile observed, to derive the status from.
#[derive(Clone, Debug)]
pub struct Observed<'a> {
    /// The job (its spec, generation and current status).
    pub job: &'a StreamingJob,
    /// The validation outcome.
    pub validity: Validity<'a>,
    /// The executors' Deployment, if there is one.
    pub deployment: Option<&'a Deployment>,
    /// Whether this reconcile wrote the Deployment (so a lagging `observedGeneration` means a
    /// rollout starts, not just a metadata change of someone else's).
    pub deployment_written: bool,
    /// This job's executor pods.
    pub pods: &'a [&'a Pod],
    /// Names of the executor pods that exist in the job's namespace.
    pub live_pods: &'a BTreeSet<String>,
    /// An object the operator must make exists but belongs to someone else.
    pub conflict: Option<&'a str>,
    /// Now, for new condition transitions.
    pub now: Time,
}

/// The operator's part of the status (never `partitions`).
pub fn job_status(o: &Observed<'_>) -> StreamingJobStatus {
    let job = o.job;
    let make = ConditionMaker {
        generation: job.metadata.generation,
        previous: job
            .status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or_default(),
        now: &o.now,
    };
    let invalid = matches!(o.validity, Validity::Invalid(_));
    let d = o.deployment.map(DeploymentView::of);
    let valid = valid_condition(&make, o.validity);
    let (ready, progressing) = ready_and_progressing(&make, o, d.as_ref(), invalid);
    let degraded = degraded_condition(&make, o);
    let phase = phase(invalid, job.spec.suspend, &ready, &degraded);
    let mut status = StreamingJobStatus {
        observed_generation: job.metadata.generation,
        phase: Some(phase.to_owned()),
        conditions: vec![valid, ready, progressing, degraded],
        replicas: Some(d.as_ref().map_or(0, |d| d.replicas)),
        ready_replicas: Some(d.as_ref().map_or(0, |d| d.ready)),
        ..Default::default()
    };
    aggregate(&live_partitions(job, o.live_pods), &mut status);
    status
}

/// Makes the job's conditions for its generation, keeping each one's last transition time
/// from `previous` unless its status changes (see [`conditions::condition`]).
struct ConditionMaker<'a> {
    generation: Option<i64>,
    previous: &'a [Condition],
    now: &'a Time,
}

impl ConditionMaker<'_> {
    fn make(&self, type_: &str, status: bool, reason: &str, message: String) -> Condition {
        conditions::condition(
            type_,
            status,
            reason,
            message,
            self.generation,
            self.previous,
            self.now.clone(),
        )
    }
}

/// `Valid`: the first problem's reason, and every problem in the message.
fn valid_condition(make: &ConditionMaker<'_>, validity: Validity<'_>) -> Condition {
    match validity {
        Validity::Valid => make.make(
            VALID,
            true,
            "Valid",
            "the SQL, tables, options and executor settings are valid".to_owned(),
        ),
        Validity::Invalid(problems) => make.make(
            VALID,
            false,
            problems.first().map_or("Invalid", |p| p.reason),
            summary(problems),
        ),
    }
}

/// `Ready` and `Progressing`, from the Deployment `d` (if any).
fn ready_and_progressing(
    make: &ConditionMaker<'_>,
    o: &Observed<'_>,
    d: Option<&DeploymentView>,
    invalid: bool,
) -> (Condition, Condition) {
    let last_good = match d {
        Some(d) if invalid => format!(
            "{LAST_GOOD_PREFIX}{}; the current one is invalid)",
            d.job_generation
                .map(|g| format!(", generation {g}"))
                .unwrap_or_default()
        ),
        _ => String::new(),
    };
    // The Deployment's generation moved without a change of ours (Kubernetes bumps it for
    // annotation changes too): nothing new is known until its controller catches up, so the
    // previous Ready and Progressing stand.
    let lagging = d.is_some_and(|d| !d.observed) && !o.deployment_written;
    if lagging && let Some(carried) = carried_over(make, &last_good) {
        return carried;
    }
    match d {
        None => without_deployment(make, invalid),
        Some(d) => (
            ready_condition(make, d, o.job.spec.suspend, &last_good),
            progressing_condition(make, d),
        ),
    }
}

/// The previous `Ready` and `Progressing`, if both exist, carried over — except that whether
/// the current spec is valid is known now (`last_good`).
fn carried_over(make: &ConditionMaker<'_>, last_good: &str) -> Option<(Condition, Condition)> {
    let ready = conditions::find(make.previous, READY)?;
    let progressing = conditions::find(make.previous, PROGRESSING)?;
    let keep = |c: &Condition, suffix: &str| {
        let base = c.message.split(LAST_GOOD_PREFIX).next().unwrap_or_default();
        make.make(
            &c.type_,
            c.status == "True",
            &c.reason,
            format!("{base}{suffix}"),
        )
    };
    Some((keep(ready, last_good), keep(progressing, "")))
}

/// `Ready` and `Progressing` of a job without a Deployment: being created, or invalid.
fn without_deployment(make: &ConditionMaker<'_>, invalid: bool) -> (Condition, Condition) {
    let (reason, message) = if invalid {
        (
            "Invalid",
            "no executors run: the spec is invalid (see the Valid condition)",
        )
    } else {
        ("Creating", "the executors' Deployment is being created")
    };
    (
        make.make(READY, false, reason, message.to_owned()),
        make.make(PROGRESSING, !invalid, reason, message.to_owned()),
    )
}

/// `Ready`: every desired executor ready (or, suspended, none left).
fn ready_condition(
    make: &ConditionMaker<'_>,
    d: &DeploymentView,
    suspended: bool,
    last_good: &str,
) -> Condition {
    if d.desired == 0 && suspended {
        if d.replicas == 0 {
            make.make(
                READY,
                true,
                "Suspended",
                format!("suspended: no executors run{last_good}"),
            )
        } else {
            make.make(
                READY,
                false,
                "Suspending",
                format!("{} executor(s) still stopping{last_good}", d.replicas),
            )
        }
    } else if d.rolled_out() && d.ready >= d.desired {
        make.make(
            READY,
            true,
            "ExecutorsReady",
            format!("{}/{} executors ready{last_good}", d.ready, d.desired),
        )
    } else {
        make.make(
            READY,
            false,
            "ExecutorsNotReady",
            format!("{}/{} executors ready{last_good}", d.ready, d.desired),
        )
    }
}

/// `Progressing`: a rollout or a scale under way, or complete.
fn progressing_condition(make: &ConditionMaker<'_>, d: &DeploymentView) -> Condition {
    if !d.observed {
        make.make(
            PROGRESSING,
            true,
            "RollingOut",
            "the Deployment has not yet seen the new configuration".to_owned(),
        )
    } else if d.updated < d.desired {
        make.make(
            PROGRESSING,
            true,
            "RollingOut",
            format!(
                "{}/{} executors run the new configuration",
                d.updated, d.desired
            ),
        )
    } else if d.replicas != d.desired {
        make.make(
            PROGRESSING,
            true,
            "Scaling",
            format!("{} executors, {} wanted", d.replicas, d.desired),
        )
    } else {
        make.make(
            PROGRESSING,
            false,
            "RolloutComplete",
            format!("{} executors run the current configuration", d.desired),
        )
    }
}

/// `Degraded`: see [`degradation`].
fn degraded_condition(make: &ConditionMaker<'_>, o: &Observed<'_>) -> Condition {
    match degradation(o) {
        Some((reason, message)) => make.make(DEGRADED, true, reason, message),
        None => make.make(
            DEGRADED,
            false,
            "AsExpected",
            "no executor failures seen".to_owned(),
        ),
    }
}

/// The phase: Failed (invalid or degraded), Suspended, Running (ready) or Pending.
fn phase(invalid: bool, suspended: bool, ready: &Condition, degraded: &Condition) -> &'static str {
    if invalid || degraded.status == "True" {
        FAILED
    } else if suspended {
        SUSPENDED
    } else if ready.status == "True" {
        RUNNING
    } else {
        PENDING
    }
}

/// The `status.partitions` entries of executor pods that still exist (an entry that names no
/// pod is kept).
fn live_partitions<'a>(
    job: &'a StreamingJob,
    live_pods: &BTreeSet<String>,
) -> Vec<&'a PartitionStatus> {
    job.status
        .as_ref()
        .map(|s| s.partitions.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|p| p.pod.as_ref().is_none_or(|pod| live_pods.contains(pod)))
        .collect()
}

/// Sums the partitions' counters into the totals; no entries, no totals.
pub fn aggregate(partitions: &[&PartitionStatus], status: &mut StreamingJobStatus) {
    if partitions.is_empty() {
        return;
    }
    let sum = |f: fn(&PartitionStatus) -> i64| Some(partitions.iter().map(|p| f(p)).sum());
    status.records_in = sum(|p| p.records_in);
    status.records_out = sum(|p| p.records_out);
    status.records_filtered = sum(|p| p.records_filtered);
    status.records_failed = sum(|p| p.records_failed);
    status.files_written = sum(|p| p.files_written);
    status.bytes_written = sum(|p| p.bytes_written);
    status.lag = partitions
        .iter()
        .filter_map(|p| p.lag)
        .fold(None, |acc, l| Some(acc.unwrap_or(0) + l));
    status.last_commit_time = partitions
        .iter()
        .filter_map(|p| p.last_commit_time.as_ref())
        .max_by(
            |a, b| match (a.parse::<k8s_openapi::jiff::Timestamp>(), b.parse()) {
                (Ok(a), Ok(b)) => a.cmp(&b),
                _ => a.cmp(b),
            },
        )
        .cloned();
}

/// Field managers of executor pods that no longer exist but still own part of the status:
/// every `sluice-executor-*` manager of a missing pod, and the manager of every entry whose
/// `pod` is missing.
pub fn stale_managers(job: &StreamingJob, live_pods: &BTreeSet<String>) -> Vec<String> {
    let mut stale = BTreeSet::new();
    for entry in job.metadata.managed_fields.iter().flatten() {
        if let Some(pod) = entry
            .manager
            .as_deref()
            .and_then(|m| m.strip_prefix(EXECUTOR_MANAGER_PREFIX))
            && !live_pods.contains(pod)
        {
            stale.insert(format!("{EXECUTOR_MANAGER_PREFIX}{pod}"));
        }
    }
    for p in job.status.iter().flat_map(|s| &s.partitions) {
        if let Some(pod) = &p.pod
            && !live_pods.contains(pod)
        {
            stale.insert(format!("{EXECUTOR_MANAGER_PREFIX}{pod}"));
        }
    }
    stale.into_iter().collect()
}

/// Whether two statuses say the same, ignoring `partitions` (which the operator does not own).
pub fn same_operator_fields(current: &StreamingJobStatus, desired: &StreamingJobStatus) -> bool {
    let strip = |s: &StreamingJobStatus| {
        let mut s = s.clone();
        s.partitions.clear();
        s.conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
        s
    };
    strip(current) == strip(desired)
}

/// The Deployment, reduced to what the conditions need.
struct DeploymentView {
    desired: i32,
    replicas: i32,
    ready: i32,
    updated: i32,
    available: i32,
    observed: bool,
    job_generation: Option<i64>,
}

impl DeploymentView {
    fn of(d: &Deployment) -> DeploymentView {
        let status = d.status.clone().unwrap_or_default();
        DeploymentView {
            desired: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            replicas: status.replicas.unwrap_or(0),
            ready: status.ready_replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            available: status.available_replicas.unwrap_or(0),
            observed: status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0),
            job_generation: d
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(ANNOTATION_JOB_GENERATION))
                .and_then(|g| g.parse().ok()),
        }
    }

    fn rolled_out(&self) -> bool {
        self.observed
            && self.updated >= self.desired
            && self.replicas == self.desired
            && self.available >= self.desired
    }
}

/// Why the job is degraded, if it is.
fn degradation(o: &Observed<'_>) -> Option<(&'static str, String)> {
    if let Some(conflict) = o.conflict {
        return Some(("ObjectConflict", conflict.to_owned()));
    }
    if let Some(d) = o.deployment {
        for c in d.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
            if c.type_ == "ReplicaFailure" && c.status == "True" {
                return Some((
                    "ReplicaFailure",
                    format!(
                        "executor pods cannot be created: {}",
                        c.message.as_deref().unwrap_or("(no message)")
                    ),
                ));
            }
            if c.type_ == "Progressing"
                && c.status == "False"
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
            {
                return Some((
                    "ProgressDeadlineExceeded",
                    c.message.clone().unwrap_or_default(),
                ));
            }
        }
    }
    for pod in o.pods {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let name = pod.metadata.name.as_deref().unwrap_or("?");
        for cs in pod
            .status
            .iter()
            .flat_map(|s| s.container_statuses.iter().flatten())
        {
            if let Some(w) = cs.state.as_ref().and_then(|s| s.waiting.as_ref())
                && let Some(reason) = w.reason.as_deref()
                && let Some(&known) = BAD_WAITING_REASONS.iter().find(|r| **r == reason)
            {
                let last = cs
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .and_then(|t| t.reason.clone())
                    .map(|r| format!(", last exit: {r}"))
                    .unwrap_or_default();
                return Some((
                    known,
                    format!(
                        "pod {name}: container {}: {reason} (restarts: {}{last}){}",
                        cs.name,
                        cs.restart_count,
                        w.message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ),
                ));
            }
            if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref())
                && t.reason.as_deref() == Some("OOMKilled")
                && cs.state.as_ref().and_then(|s| s.running.as_ref()).is_none()
            {
                return Some((
                    "OOMKilled",
                    format!(
                        "pod {name}: container {} was killed for exceeding its memory limit (restarts: {})",
                        cs.name, cs.restart_count
                    ),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::example;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, DeploymentStatus};
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateWaiting, ContainerStatus, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
    use k8s_openapi::jiff::Timestamp;

    fn now() -> Time {
        Time(Timestamp::UNIX_EPOCH)
    }

    fn deployment(desired: i32, replicas: i32, ready: i32) -> Deployment {
        let mut d = Deployment::default();
        d.metadata.generation = Some(2);
        d.spec = Some(DeploymentSpec {
            replicas: Some(desired),
            ..Default::default()
        });
        d.status = Some(DeploymentStatus {
            observed_generation: Some(2),
            replicas: Some(replicas),
            ready_replicas: Some(ready),
            updated_replicas: Some(replicas),
            available_replicas: Some(ready),
            ..Default::default()
        });
        d
    }

    fn observe<'a>(
        job: &'a StreamingJob,
        d: Option<&'a Deployment>,
        pods: &'a [&'a Pod],
        live: &'a BTreeSet<String>,
    ) -> Observed<'a> {
        Observed {
            job,
            validity: Validity::Valid,
            deployment: d,
            deployment_written: false,
            pods,
            live_pods: live,
            conflict: None,
            now: now(),
        }
    }

    fn condition<'a>(s: &'a StreamingJobStatus, t: &str) -> (&'a str, &'a str) {
        let c = conditions::find(&s.conditions, t).unwrap();
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn all_executors_ready_means_running() {
        let (job, _) = example("stock-ticks.yaml");
        let d = deployment(1, 1, 1);
        let live = BTreeSet::new();
        let s = job_status(&observe(&job, Some(&d), &[], &live));
        assert_eq!(s.phase.as_deref(), Some(RUNNING));
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(condition(&s, READY), ("True", "ExecutorsReady"));
        assert_eq!(condition(&s, PROGRESSING), ("False", "RolloutComplete"));
        assert_eq!(condition(&s, DEGRADED), ("False", "AsExpected"));
        assert_eq!((s.replicas, s.ready_replicas), (Some(1), Some(1)));
    }

    #[test]
    fn pending_executors_mean_pending_and_suspension_is_ready_once_pods_are_gone() {
        let (mut job, _) = example("stock-ticks.yaml");
        let live = BTreeSet::new();
        let d = deployment(1, 1, 0);
        let s = job_status(&observe(&job, Some(&d), &[], &live));
        assert_eq!(s.phase.as_deref(), Some(PENDING));
        assert_eq!(condition(&s, READY), ("False", "ExecutorsNotReady"));
        job.spec.suspend = true;
        let stopping = deployment(0, 1, 1);
        let s = job_status(&observe(&job, Some(&stopping), &[], &live));
        assert_eq!(s.phase.as_deref(), Some(SUSPENDED));
        assert_eq!(condition(&s, READY), ("False", "Suspending"));
        let stopped = deployment(0, 0, 0);
        let s = job_status(&observe(&job, Some(&stopped), &[], &live));
        assert_eq!(condition(&s, READY), ("True", "Suspended"));
    }

    #[test]
    fn a_deployment_generation_bumped_by_someone_else_keeps_the_previous_conditions() {
        let (mut job, _) = example("stock-ticks.yaml");
        let live = BTreeSet::new();
        let d = deployment(1, 1, 1);
        let first = job_status(&observe(&job, Some(&d), &[], &live));
        job.status = Some(first.clone());
        let mut annotated = d.clone();
        annotated.metadata.generation = Some(3);
        let s = job_status(&observe(&job, Some(&annotated), &[], &live));
        assert!(same_operator_fields(&first, &s));
        let mut o = observe(&job, Some(&annotated), &[], &live);
        o.deployment_written = true;
        let s = job_status(&o);
        assert_eq!(condition(&s, PROGRESSING), ("True", "RollingOut"));
    }

    #[test]
    fn an_invalid_job_without_deployment_fails_with_the_problem_as_reason() {
        let (job, _) = example("stock-ticks.yaml");
        let live = BTreeSet::new();
        let problems = [JobProblem {
            reason: "SqlSyntaxError",
            message: "spec.sql line 2, column 1: bad".into(),
        }];
        let mut o = observe(&job, None, &[], &live);
        o.validity = Validity::Invalid(&problems);
        let s = job_status(&o);
        assert_eq!(s.phase.as_deref(), Some(FAILED));
        assert_eq!(condition(&s, VALID), ("False", "SqlSyntaxError"));
        assert_eq!(condition(&s, READY), ("False", "Invalid"));
        assert!(
            conditions::find(&s.conditions, VALID)
                .unwrap()
                .message
                .contains("line 2, column 1")
        );
    }

    #[test]
    fn crash_looping_executors_and_replica_failures_degrade_the_job() {
        let (job, _) = example("stock-ticks.yaml");
        let live = BTreeSet::new();
        let mut pod = Pod::default();
        pod.metadata.name = Some("p-1".into());
        pod.status = Some(PodStatus {
            container_statuses: Some(vec![ContainerStatus {
                name: "executor".into(),
                restart_count: 4,
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("CrashLoopBackOff".into()),
                        message: Some("back-off 40s".into()),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let d = deployment(1, 1, 0);
        let pods = [&pod];
        let s = job_status(&observe(&job, Some(&d), &pods, &live));
        assert_eq!(condition(&s, DEGRADED), ("True", "CrashLoopBackOff"));
        assert_eq!(s.phase.as_deref(), Some(FAILED));
        let mut d = deployment(1, 0, 0);
        d.status.as_mut().unwrap().conditions = Some(vec![DeploymentCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            message: Some("serviceaccount \"x\" not found".into()),
            ..Default::default()
        }]);
        let s = job_status(&observe(&job, Some(&d), &[], &live));
        assert_eq!(condition(&s, DEGRADED), ("True", "ReplicaFailure"));
    }

    fn entry(partition: i32, pod: &str, records_out: i64, lag: i64) -> PartitionStatus {
        PartitionStatus {
            topic: "t".into(),
            partition,
            committed_offset: 10,
            lag: Some(lag),
            records_in: records_out * 2,
            records_out,
            pod: Some(pod.into()),
            last_commit_time: Some(format!("2026-01-0{}T00:00:00Z", partition + 1)),
            ..Default::default()
        }
    }

    #[test]
    fn totals_sum_the_entries_of_live_pods_only() {
        let (mut job, _) = example("stock-ticks.yaml");
        job.status = Some(StreamingJobStatus {
            partitions: vec![
                entry(0, "a", 5, 1),
                entry(1, "b", 7, 2),
                entry(2, "gone", 100, 50),
            ],
            ..Default::default()
        });
        let live: BTreeSet<String> = ["a".to_owned(), "b".to_owned()].into();
        let d = deployment(2, 2, 2);
        let s = job_status(&observe(&job, Some(&d), &[], &live));
        assert_eq!(s.records_out, Some(12));
        assert_eq!(s.records_in, Some(24));
        assert_eq!(s.lag, Some(3));
        assert_eq!(s.last_commit_time.as_deref(), Some("2026-01-02T00:00:00Z"));
        assert!(
            s.partitions.is_empty(),
            "the operator never writes partitions"
        );
    }

    #[test]
    fn managers_and_entries_of_missing_pods_are_stale() {
        let (mut job, _) = example("stock-ticks.yaml");
        job.metadata.managed_fields = Some(vec![
            ManagedFieldsEntry {
                manager: Some("sluice-executor-old".into()),
                ..Default::default()
            },
            ManagedFieldsEntry {
                manager: Some("sluice-executor-a".into()),
                ..Default::default()
            },
            ManagedFieldsEntry {
                manager: Some("kubectl".into()),
                ..Default::default()
            },
        ]);
        job.status = Some(StreamingJobStatus {
            partitions: vec![entry(0, "a", 1, 0), entry(1, "gone", 1, 0)],
            ..Default::default()
        });
        let live: BTreeSet<String> = ["a".to_owned()].into();
        assert_eq!(
            stale_managers(&job, &live),
            ["sluice-executor-gone", "sluice-executor-old"]
        );
    }

    #[test]
    fn an_unchanged_status_compares_equal_whatever_the_partitions() {
        let (mut job, _) = example("stock-ticks.yaml");
        let d = deployment(1, 1, 1);
        let live = BTreeSet::new();
        let first = job_status(&observe(&job, Some(&d), &[], &live));
        let mut stored = first.clone();
        stored.partitions = vec![entry(0, "x", 0, 0)];
        stored.conditions.reverse();
        job.status = Some(stored.clone());
        let again = job_status(&Observed {
            now: Time(Timestamp::from_second(99).unwrap()),
            ..observe(&job, Some(&d), &[], &live)
        });
        assert!(same_operator_fields(&stored, &again));
    }
}
