//! Status writes, all by server-side apply of one patch shape ([`status_patch`]): the
//! operator's part of a job's or table's status (field manager `sluice-operator`, forced), and
//! the removal of a gone executor pod's `status.partitions` entries (an empty status applied
//! as that pod's field manager, see [`crate::status`]).

use std::collections::BTreeSet;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sluice_crds::{StreamingJob, StreamingJobStatus, StreamingTable, StreamingTableStatus};

use super::context::Context;
use super::error::Error;
use crate::render::FIELD_MANAGER;
use crate::status;

/// The body that server-side applies `status` to the `kind` object `name`.
fn status_patch(kind: &str, name: &str, status: &impl Serialize) -> Value {
    json!({
        "apiVersion": format!("{}/{}", sluice_crds::GROUP, sluice_crds::VERSION),
        "kind": kind,
        "metadata": {"name": name},
        "status": status,
    })
}

/// Applies `status` to object `name` of `namespace` with `params`.
async fn apply_status<K>(
    ctx: &Context,
    namespace: &str,
    name: &str,
    params: &PatchParams,
    status: &impl Serialize,
) -> Result<(), kube::Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned,
    K: std::fmt::Debug,
{
    let kind = K::kind(&());
    let body = status_patch(&kind, name, status);
    Api::<K>::namespaced(ctx.client.clone(), namespace)
        .patch_status(name, params, &Patch::Apply(&body))
        .await
        .map(|_| ())
}

/// Writes the operator's part of a job's status.
pub(super) async fn write_job_status(
    ctx: &Context,
    namespace: &str,
    name: &str,
    status: &StreamingJobStatus,
) -> Result<(), Error> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    apply_status::<StreamingJob>(ctx, namespace, name, &params, status)
        .await
        .map_err(|source| Error::ApplyStatus {
            kind: "StreamingJob",
            name: format!("{namespace}/{name}"),
            source,
        })?;
    ctx.metrics.wrote("StreamingJob/status", "apply");
    Ok(())
}

/// Writes a table's status.
pub(super) async fn write_table_status(
    ctx: &Context,
    namespace: &str,
    name: &str,
    status: &StreamingTableStatus,
) -> Result<(), Error> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    apply_status::<StreamingTable>(ctx, namespace, name, &params, status)
        .await
        .map_err(|source| Error::ApplyStatus {
            kind: "StreamingTable",
            name: format!("{namespace}/{name}"),
            source,
        })?;
    ctx.metrics.wrote("StreamingTable/status", "apply");
    Ok(())
}

/// Removes the `status.partitions` entries of executor pods that are gone (not in `live`).
pub(super) async fn prune_partitions(
    ctx: &Context,
    job: &StreamingJob,
    namespace: &str,
    live: &BTreeSet<String>,
) -> Result<(), Error> {
    let name = job.name_any();
    for manager in status::stale_managers(job, live) {
        let params = PatchParams::apply(&manager);
        apply_status::<StreamingJob>(ctx, namespace, &name, &params, &json!({}))
            .await
            .map_err(|source| Error::PruneStatus {
                manager: manager.clone(),
                name: format!("{namespace}/{name}"),
                source,
            })?;
        ctx.metrics.wrote("StreamingJob/status", "prune");
        tracing::info!(job = %name, %manager, "removed the status entries of a gone executor pod");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_patch_names_the_object_and_holds_only_the_status() {
        let patch = status_patch("StreamingJob", "j", &json!({"phase": "Running"}));
        assert_eq!(
            patch,
            json!({
                "apiVersion": "sluice.dev/v1alpha1",
                "kind": "StreamingJob",
                "metadata": {"name": "j"},
                "status": {"phase": "Running"},
            })
        );
    }
}
