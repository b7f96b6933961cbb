//! The error of a failed reconcile: one variant per operation that failed, each with its
//! cause, and a static [`Error::category`] for metric labels and logs.

use crate::apply::ApplyError;

/// A reconcile that failed; retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Applying a child object failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// Writing a job's or table's status failed.
    #[error("failed to apply the status of {kind} {name}: {source}")]
    ApplyStatus {
        /// `StreamingJob` or `StreamingTable`.
        kind: &'static str,
        /// `namespace/name`.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// Removing partition entries of a gone executor pod failed.
    #[error("failed to remove the status entries of {manager} from {name}: {source}")]
    PruneStatus {
        /// The gone pod's field manager.
        manager: String,
        /// `namespace/name`.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// Scaling the last valid Deployment of an invalid job failed.
    #[error("failed to scale Deployment {name}: {source}")]
    Scale {
        /// `namespace/name`.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// Deleting an object the job no longer needs failed.
    #[error("failed to delete {kind} {name}: {source}")]
    DeleteOrphan {
        /// Kind.
        kind: &'static str,
        /// `namespace/name`.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// The object has no namespace (both kinds are namespaced; never expected).
    #[error("{kind} {name} has no namespace")]
    NoNamespace {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
    },
    /// The object has no `metadata.uid`. Reconciles only see objects read from the API server,
    /// which always have one; without it the job's children could not name their owner (and an
    /// empty owner uid would match no child, so the job would lose track of its Deployment).
    #[error("{kind} {name} has no metadata.uid")]
    NoUid {
        /// Kind.
        kind: &'static str,
        /// `namespace/name`.
        name: String,
    },
    /// Validating a job on the blocking pool did not finish: the validation panicked (a bug;
    /// the reconcile is retried with backoff, and the panic message is logged with it) or the
    /// runtime is shutting down.
    #[error("validating StreamingJob {name} did not finish")]
    Validation {
        /// `namespace/name`.
        name: String,
        /// Cause.
        #[source]
        source: tokio::task::JoinError,
    },
}

impl Error {
    /// A static category, for metric labels and logs.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Apply(ApplyError::Serialize { .. }) => "serialize",
            Error::Apply(ApplyError::Get { .. }) => "get",
            Error::Apply(ApplyError::Apply { .. }) => "apply",
            Error::Apply(ApplyError::NotOwned { .. }) => "conflict",
            Error::ApplyStatus { .. } => "status",
            Error::PruneStatus { .. } => "prune",
            Error::Scale { .. } => "scale",
            Error::DeleteOrphan { .. } => "delete",
            Error::NoNamespace { .. } => "namespace",
            Error::NoUid { .. } => "uid",
            Error::Validation { .. } => "validation",
        }
    }
}
