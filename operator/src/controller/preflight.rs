//! Preflight: checks at start-up that the CRDs are installed, so that a missing install fails
//! fast and clearly.

use kube::Client;
use kube::api::{Api, ListParams};
use sluice_crds::{StreamingJob, StreamingTable};

/// Why the operator cannot start.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// The API server does not serve one of the CRDs.
    #[error("the {kind} CRD is not installed (sluice.dev/v1alpha1); apply crds/yaml/ first")]
    NotInstalled {
        /// `StreamingJob` or `StreamingTable`.
        kind: &'static str,
    },
    /// Listing failed for another reason than a missing CRD or a forbidden cluster-wide list.
    #[error("cannot reach the API server: {source}")]
    Unreachable {
        /// Cause.
        #[source]
        source: kube::Error,
    },
}

/// Checks that the CRDs are installed, so that a missing install fails fast and clearly.
pub async fn preflight(client: &Client) -> Result<(), PreflightError> {
    let jobs: Api<StreamingJob> = Api::all(client.clone());
    let tables: Api<StreamingTable> = Api::all(client.clone());
    let params = ListParams::default().limit(1);
    for (kind, result) in [
        (
            "StreamingJob",
            jobs.list_metadata(&params).await.map(|_| ()),
        ),
        (
            "StreamingTable",
            tables.list_metadata(&params).await.map(|_| ()),
        ),
    ] {
        installed(kind, result)?;
    }
    Ok(())
}

/// What the list of `kind` says about its CRD.
fn installed(kind: &'static str, listed: Result<(), kube::Error>) -> Result<(), PreflightError> {
    match listed {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Err(PreflightError::NotInstalled { kind }),
        // Forbidden cluster-wide lists are fine when only some namespaces are watched.
        Err(kube::Error::Api(e)) if e.code == 403 => Ok(()),
        Err(source) => Err(PreflightError::Unreachable { source }),
    }
}
