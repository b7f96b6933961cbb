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

/// The prefix of executor field managers; the pod name follows.
pub const FIELD_MANAGER_PREFIX: &str = "sluice-executor-";

/// An identical set of entries is re-sent at least this often (so that entries removed by the
/// operator in a race come back), and otherwise skipped.
pub const REPUBLISH_AFTER: Duration = Duration::from_secs(60);

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
