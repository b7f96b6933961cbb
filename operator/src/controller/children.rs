//! The apply step of a job: its children (ServiceAccount, Role, RoleBinding, ConfigMap, then
//! the Deployment) made so with [`crate::apply::ensure`], the operator's ServiceAccount deleted
//! once the job names its own; and, for an invalid job, its last valid Deployment scaled to
//! the current spec.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sluice_crds::StreamingJob;

use super::context::Context;
use super::error::Error;
use crate::apply::{self, Applied, controlled_by};
use crate::render::{self, Children, ValidJob};

/// What applying a valid job's children did.
pub(super) struct AppliedChildren {
    /// The executors' Deployment, as the API server returned it (or as cached, if unchanged).
    pub(super) deployment: Deployment,
    /// Whether the Deployment was created by this apply.
    pub(super) created: bool,
    /// Whether the Deployment was written by this apply.
    pub(super) wrote_deployment: bool,
}

/// Applies what changed of `children` (of the valid job with `uid`). The Deployment's pods
/// need the ServiceAccount, the RBAC and the ConfigMap: those four are independent and
/// applied together, the Deployment after them.
pub(super) async fn apply_children(
    ctx: &Context,
    valid: &ValidJob,
    uid: &str,
    children: &Children,
) -> Result<AppliedChildren, Error> {
    let ns = &valid.namespace;
    let child = render::child_name(&valid.name);
    let stores = &ctx.stores;
    let service_account =
        ensure_service_account(ctx, ns, &child, uid, children.service_account.as_ref());
    let role = ensure_child(ctx, ns, "Role", &stores.roles, &children.role, uid);
    let role_binding = ensure_child(
        ctx,
        ns,
        "RoleBinding",
        &stores.role_bindings,
        &children.role_binding,
        uid,
    );
    let config_map = ensure_child(
        ctx,
        ns,
        "ConfigMap",
        &stores.config_maps,
        &children.config_map,
        uid,
    );
    futures::try_join!(service_account, role, role_binding, config_map)?;
    let cached = stores.deployments.get(&key(&child, ns));
    let deployment = apply::ensure(
        &Api::namespaced(ctx.client.clone(), ns),
        "Deployment",
        cached.as_deref(),
        &children.deployment,
        Some(uid),
        || ctx.metrics.wrote("Deployment", "apply"),
    )
    .await?;
    Ok(AppliedChildren {
        created: cached.is_none() && deployment.written(),
        wrote_deployment: deployment.written(),
        deployment: match deployment {
            Applied::Unchanged(d) | Applied::Written(d) => d,
        },
    })
}

/// The cache key of object `name` of namespace `ns`.
fn key<K: Resource<DynamicType = ()>>(name: &str, ns: &str) -> ObjectRef<K> {
    ObjectRef::new(name).within(ns)
}

/// Applies `desired` (a child of the job with `uid`, in `ns`), comparing with its copy in
/// `store`.
async fn ensure_child<K>(
    ctx: &Context,
    ns: &str,
    kind: &'static str,
    store: &Store<K>,
    desired: &K,
    uid: &str,
) -> Result<(), Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    K: Clone + Serialize + DeserializeOwned + Debug,
{
    let cached = store.get(&key(&desired.name_any(), ns));
    apply::ensure(
        &Api::namespaced(ctx.client.clone(), ns),
        kind,
        cached.as_deref(),
        desired,
        Some(uid),
        || ctx.metrics.wrote(kind, "apply"),
    )
    .await?;
    Ok(())
}

/// Applies the ServiceAccount the operator makes for the job (`wanted`), or, when the job
/// names its own account, deletes the one the operator made before.
async fn ensure_service_account(
    ctx: &Context,
    ns: &str,
    child: &str,
    uid: &str,
    wanted: Option<&ServiceAccount>,
) -> Result<(), Error> {
    let accounts = &ctx.stores.service_accounts;
    if let Some(sa) = wanted {
        ensure_child(ctx, ns, "ServiceAccount", accounts, sa, uid).await?;
    } else if let Some(ours) = accounts
        .get(&key(child, ns))
        .filter(|sa| controlled_by(sa.as_ref(), uid))
    {
        let name = ours.name_any();
        Api::<ServiceAccount>::namespaced(ctx.client.clone(), ns)
            .delete(&name, &DeleteParams::background())
            .await
            .map_err(|source| Error::DeleteOrphan {
                kind: "ServiceAccount",
                name: format!("{ns}/{name}"),
                source,
            })?;
        ctx.metrics.wrote("ServiceAccount", "delete");
    }
    Ok(())
}

/// An invalid job keeps its last valid Deployment, scaled to the current spec; a job
/// `refused` by the operator's policy (see [`crate::policy::is_refusal`]) is scaled to zero.
pub(super) async fn follow_scale(
    ctx: &Context,
    job: &StreamingJob,
    d: &Deployment,
    refused: bool,
) -> Result<Deployment, Error> {
    let wanted = if job.spec.suspend || refused {
        0
    } else if job.spec.parallelism >= 0 {
        job.spec.parallelism
    } else {
        return Ok(d.clone());
    };
    if d.spec.as_ref().and_then(|s| s.replicas) == Some(wanted) {
        return Ok(d.clone());
    }
    let ns = d.namespace().unwrap_or_default();
    let name = d.name_any();
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    api.patch_scale(
        &name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": wanted}})),
    )
    .await
    .map_err(|source| Error::Scale {
        name: format!("{ns}/{name}"),
        source,
    })?;
    ctx.metrics.wrote("Deployment/scale", "patch");
    let mut scaled = d.clone();
    if let Some(spec) = scaled.spec.as_mut() {
        spec.replicas = Some(wanted);
    }
    Ok(scaled)
}
