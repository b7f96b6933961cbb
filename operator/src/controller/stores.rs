//! The caches a scope's reconciles read, and the queries the dereference step makes of them
//! (all synchronous: the informers keep the caches current).

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use sluice_crds::{StreamingJob, StreamingTable};

use crate::apply::controlled_by;
use crate::policy;
use crate::render::{self, LABEL_JOB};

/// The caches a scope's reconciles read.
#[derive(Clone)]
pub struct Stores {
    /// Jobs (the job controller's own cache; keeps `managedFields`).
    pub jobs: Store<StreamingJob>,
    /// Tables.
    pub tables: Store<StreamingTable>,
    /// Executor Deployments.
    pub deployments: Store<Deployment>,
    /// Executor ConfigMaps.
    pub config_maps: Store<ConfigMap>,
    /// Executor ServiceAccounts.
    pub service_accounts: Store<ServiceAccount>,
    /// Executor Roles.
    pub roles: Store<Role>,
    /// Executor RoleBindings.
    pub role_bindings: Store<RoleBinding>,
    /// Executor pods.
    pub pods: Store<Pod>,
    /// ServiceAccounts opted in as executor identities (labelled `sluice.dev/executor=true`).
    pub executor_accounts: Store<ServiceAccount>,
}

/// The executor pods of a namespace, as the status step needs them.
pub(super) struct ExecutorPods {
    /// Names of every executor pod of the namespace (whatever its job).
    pub(super) live: BTreeSet<String>,
    /// The pods of one job.
    pub(super) of_job: Vec<Arc<Pod>>,
}

impl Stores {
    /// The tables of `namespace`.
    pub(super) fn tables_in(&self, namespace: &str) -> Vec<StreamingTable> {
        self.tables
            .state()
            .iter()
            .filter(|t| t.namespace().as_deref() == Some(namespace))
            .map(|t| t.as_ref().clone())
            .collect()
    }

    /// The executors' Deployment of job `name`, if the job with `uid` controls it.
    pub(super) fn job_deployment(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> Option<Deployment> {
        let child = ObjectRef::new(&render::child_name(name)).within(namespace);
        self.deployments
            .get(&child)
            .filter(|d| controlled_by(d.as_ref(), uid))
            .map(|d| d.as_ref().clone())
    }

    /// The ServiceAccounts of `namespace` that executors may run as.
    pub(super) fn executor_accounts(&self, namespace: &str) -> BTreeSet<String> {
        self.executor_accounts
            .state()
            .iter()
            .filter(|sa| {
                sa.namespace().as_deref() == Some(namespace)
                    && sa
                        .labels()
                        .get(policy::LABEL_EXECUTOR_ACCOUNT)
                        .map(String::as_str)
                        == Some("true")
            })
            .map(|sa| sa.name_any())
            .collect()
    }

    /// The executor pods of `namespace`, and those of job `job`.
    pub(super) fn executor_pods(&self, namespace: &str, job: &str) -> ExecutorPods {
        let pods = self.pods.state();
        let in_namespace = |p: &&Arc<Pod>| p.namespace().as_deref() == Some(namespace);
        ExecutorPods {
            live: pods
                .iter()
                .filter(in_namespace)
                .map(|p| p.name_any())
                .collect(),
            of_job: pods
                .iter()
                .filter(in_namespace)
                .filter(|p| p.labels().get(LABEL_JOB).map(String::as_str) == Some(job))
                .cloned()
                .collect(),
        }
    }

    /// The other tables of `table`'s namespace with the same SQL name (`namespace/name`,
    /// sorted).
    pub(super) fn duplicate_sql_names(
        &self,
        namespace: &str,
        table: &StreamingTable,
    ) -> Vec<String> {
        let name = table.name_any();
        let sql_name = table.sql_name();
        let mut duplicates: Vec<String> = self
            .tables
            .state()
            .iter()
            .filter(|t| {
                t.namespace().as_deref() == Some(namespace)
                    && t.name_any() != name
                    && t.sql_name() == sql_name
            })
            .map(|t| format!("{namespace}/{}", t.name_any()))
            .collect();
        duplicates.sort();
        duplicates
    }
}
