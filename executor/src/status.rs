//! Writing this pod's progress into its job's `status.partitions`.
//!
//! Each executor pod applies, with server-side apply on the status subresource and its own field
//! manager `sluice-executor-<pod>` (forced), exactly the entries of the partitions it owns now.
//! Server-side apply then makes the list behave as the pods' shared map (it is a list-map keyed
//! by `topic` and `partition`):
//! - a pod never touches another pod's entries;
//! - an entry a pod stops sending (its partition was revoked) is removed, unless another pod
//!   has taken it over meanwhile (forcing moves the entry's ownership to the new owner);
//! - [`StatusWriter::publish`] with no partitions removes all of this pod's entries.
//!
//! The operator sums the entries into the job's totals and removes the entries of pods that no
//! longer exist. Needs `get, patch` on `streamingjobs/status` for this job (the Role the
//! operator binds to the executor's ServiceAccount grants exactly that).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use sluice_crds::{PartitionStatus, StreamingJob};

use crate::progress::Progress;

/// The prefix of executor field managers; the pod name follows.
pub const FIELD_MANAGER_PREFIX: &str = "sluice-executor-";

/// An identical set of entries is re-sent at least this often (so that entries removed by the
/// operator in a race with a departing pod come back), and otherwise skipped.
pub const REPUBLISH_AFTER: Duration = Duration::from_secs(30);

/// A failed status write.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No in-cluster or kubeconfig configuration could be loaded.
    #[error("failed to configure the Kubernetes client: {0}")]
    Config(#[source] kube::Error),
    /// The entries could not be serialized.
    #[error("failed to serialize the status of {job}: {source}")]
    Serialize {
        /// `namespace/name` of the job.
        job: String,
        /// Cause.
        source: serde_json::Error,
    },
    /// The API server refused the patch (403: RBAC; 404: the job is gone; 422: invalid).
    #[error("failed to write the status of {job} as {manager}: {source}")]
    Patch {
        /// `namespace/name` of the job.
        job: String,
        /// The field manager used.
        manager: String,
        /// Cause.
        source: kube::Error,
    },
}

impl StatusError {
    /// The HTTP status code the API server answered, if it answered.
    pub fn code(&self) -> Option<u16> {
        match self {
            StatusError::Patch {
                source: kube::Error::Api(e),
                ..
            } => Some(e.code),
            _ => None,
        }
    }
}

/// Publishes one pod's partition entries into its job's status.
pub struct StatusWriter {
    api: Api<StreamingJob>,
    namespace: String,
    job: String,
    pod: String,
    manager: String,
    last: Mutex<Option<(serde_json::Value, Instant)>>,
}

impl std::fmt::Debug for StatusWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusWriter")
            .field("namespace", &self.namespace)
            .field("job", &self.job)
            .field("pod", &self.pod)
            .finish_non_exhaustive()
    }
}

impl StatusWriter {
    /// A writer using the in-cluster (or kubeconfig) configuration.
    pub async fn in_cluster(
        namespace: &str,
        job: &str,
        pod: &str,
    ) -> Result<StatusWriter, StatusError> {
        let client = Client::try_default().await.map_err(StatusError::Config)?;
        Ok(StatusWriter::with_client(client, namespace, job, pod))
    }

    /// A writer using `client`.
    pub fn with_client(client: Client, namespace: &str, job: &str, pod: &str) -> StatusWriter {
        StatusWriter {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_owned(),
            job: job.to_owned(),
            pod: pod.to_owned(),
            manager: format!("{FIELD_MANAGER_PREFIX}{pod}"),
            last: Mutex::new(None),
        }
    }

    /// The field manager this pod writes as.
    pub fn field_manager(&self) -> &str {
        &self.manager
    }

    /// Makes this pod's entries exactly `partitions` (each entry's `pod` is set to this pod).
    /// Skips the request when the same entries were published less than
    /// [`REPUBLISH_AFTER`] ago.
    pub async fn publish(&self, partitions: &[PartitionStatus]) -> Result<(), StatusError> {
        let entries: Vec<PartitionStatus> = partitions
            .iter()
            .map(|p| PartitionStatus {
                pod: Some(self.pod.clone()),
                ..p.clone()
            })
            .collect();
        let id = || format!("{}/{}", self.namespace, self.job);
        let body = serde_json::json!({
            "apiVersion": format!("{}/{}", sluice_crds::GROUP, sluice_crds::VERSION),
            "kind": "StreamingJob",
            "metadata": {"name": self.job},
            "status": {"partitions": serde_json::to_value(&entries)
                .map_err(|source| StatusError::Serialize { job: id(), source })?},
        });
        if let Ok(last) = self.last.lock()
            && let Some((sent, at)) = last.as_ref()
            && *sent == body
            && at.elapsed() < REPUBLISH_AFTER
        {
            return Ok(());
        }
        self.api
            .patch_status(
                &self.job,
                &PatchParams::apply(&self.manager).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|source| StatusError::Patch {
                job: id(),
                manager: self.manager.clone(),
                source,
            })?;
        if let Ok(mut last) = self.last.lock() {
            *last = Some((body, Instant::now()));
        }
        tracing::debug!(job = %id(), entries = entries.len(), "published partition status");
        Ok(())
    }
}

/// Which job's status a running executor writes, and as which pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusTarget {
    /// The job's namespace.
    pub namespace: String,
    /// The job's name.
    pub job: String,
    /// This pod's name.
    pub pod: String,
}

impl StatusTarget {
    /// The target when running in a pod: `POD_NAME` (and `POD_NAMESPACE`, else the job's
    /// namespace) set by the operator's Deployment. `None` outside Kubernetes.
    pub fn from_env(job_id: &str) -> Option<StatusTarget> {
        let pod = std::env::var("POD_NAME").ok().filter(|p| !p.is_empty())?;
        let (job_ns, job) = match job_id.split_once('/') {
            Some((ns, name)) => (ns.to_owned(), name.to_owned()),
            None => ("default".to_owned(), job_id.to_owned()),
        };
        let namespace = std::env::var("POD_NAMESPACE")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or(job_ns);
        Some(StatusTarget {
            namespace,
            job,
            pod,
        })
    }
}

/// Status entries of the splits this process owns.
pub fn entries(progress: &Progress) -> Vec<PartitionStatus> {
    progress.with(|s| {
        s.splits
            .iter()
            .filter(|(_, p)| p.owned)
            .filter_map(|(id, p)| {
                let committed = p.committed_offset?;
                let count = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                Some(PartitionStatus {
                    topic: id.topic.clone(),
                    partition: id.partition,
                    committed_offset: committed,
                    high_watermark: p.high_watermark,
                    lag: p.high_watermark.map(|h| (h - committed).max(0)),
                    records_in: count(p.counters.records_in),
                    records_out: count(p.counters.records_out),
                    records_filtered: count(p.counters.records_filtered),
                    records_failed: count(p.counters.records_failed),
                    files_written: count(p.counters.files_written),
                    bytes_written: count(p.counters.bytes_written),
                    pod: None,
                    last_commit_time: p.last_commit.clone(),
                })
            })
            .collect()
    })
}

/// Publishes this pod's entries every `interval` until `stop` changes, then once more: a
/// graceful stop has handed every split over, so the last write removes this pod's entries
/// (those the new owners already wrote stay theirs). An entry is never written for a split
/// after it was handed over, so a departing pod cannot take entries back from their new owner.
/// Failures are logged and retried at the next interval: status is reporting, never a reason
/// to stop the data path.
pub async fn publish_loop(
    writer: StatusWriter,
    progress: std::sync::Arc<Progress>,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = stop.changed() => true,
        };
        match writer.publish(&entries(&progress)).await {
            Ok(()) if failing => {
                tracing::info!("status write-back works again");
                failing = false;
            }
            Ok(()) => {}
            Err(error) if !failing || stopping => {
                tracing::warn!(%error, code = ?error.code(), "cannot write the job status (retrying)");
                failing = true;
            }
            Err(_) => {}
        }
        if stopping {
            return;
        }
    }
}
