//! The controllers: `StreamingJob` → executor objects and status; `StreamingTable` → its own
//! status. A job reconcile is a pipeline (after Stackable's operators):
//!
//! 1. **dereference** (async, from caches): the tables of the job's namespace, the existing
//!    Deployment and other children, the executor pods;
//! 2. **validate** (sync, [`crate::validate`]): the very validation the executor runs, plus the
//!    pod template overlay — a [`ValidJob`] or every problem;
//! 3. **build** (pure, [`crate::render`]): ConfigMap, Deployment, ServiceAccount, Role,
//!    RoleBinding;
//! 4. **apply** ([`crate::apply`]): server-side apply of what changed only; delete what is no
//!    longer wanted (the operator's ServiceAccount once the job names its own);
//! 5. **status** ([`crate::status`]): conditions, phase, totals; stale partition entries
//!    removed; Events on transitions only. Nothing is written when nothing changed.
//!
//! An invalid job keeps its last valid Deployment (if any) running — the way a Deployment with
//! a bad image keeps its old ReplicaSet — except that `suspend` and `parallelism` are still
//! followed; a job that was never valid gets no Deployment at all. Invalid specs wait for a
//! change; API errors are retried with exponential backoff per object.

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedSender, unbounded};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use sluice_crds::conditions::{self, DEGRADED, VALID};
use sluice_crds::{StreamingJob, StreamingJobStatus, StreamingTable, StreamingTableStatus};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span};

use crate::apply::{self, Applied, ApplyError, controlled_by};
use crate::config::OperatorConfig;
use crate::informer;
use crate::leader::LeaderElector;
use crate::metrics::Metrics;
use crate::policy::{self, Policy};
use crate::render::{self, Children, FIELD_MANAGER, LABEL_JOB, ValidJob};
use crate::status::{self, Observed, Validity};
use crate::table;
use crate::validate::{self, JobProblem};

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
        source: kube::Error,
    },
    /// Scaling the last valid Deployment of an invalid job failed.
    #[error("failed to scale Deployment {name}: {source}")]
    Scale {
        /// `namespace/name`.
        name: String,
        /// Cause.
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
        }
    }
}

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

/// Which tables a job uses, so that a table change re-reconciles exactly those jobs.
#[derive(Default)]
pub struct TableIndex {
    uses: RwLock<HashMap<ObjectRef<StreamingJob>, Uses>>,
}

#[derive(Clone, Debug)]
enum Uses {
    /// Being reconciled, or invalid: any table of the namespace may matter.
    Unknown,
    /// Valid: these tables (`namespace/name`) and SQL names.
    Tables {
        resources: Vec<String>,
        sql_names: Vec<String>,
    },
}

impl TableIndex {
    fn set(&self, job: &ObjectRef<StreamingJob>, uses: Uses) {
        if let Ok(mut map) = self.uses.write() {
            map.insert(job.clone(), uses);
        }
    }

    /// The jobs to reconcile when `table` changed.
    fn jobs_for_table(
        &self,
        jobs: &Store<StreamingJob>,
        table: &StreamingTable,
    ) -> Vec<ObjectRef<StreamingJob>> {
        let namespace = table.namespace().unwrap_or_default();
        let resource = format!("{namespace}/{}", table.name_any());
        let sql_name = table.sql_name();
        let Ok(mut map) = self.uses.write() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut present = std::collections::HashSet::new();
        for job in jobs.state() {
            let job_ref = ObjectRef::from_obj(job.as_ref());
            present.insert(job_ref.clone());
            if job.namespace().as_deref() != Some(namespace.as_str()) {
                continue;
            }
            let affected = match map.get(&job_ref) {
                None | Some(Uses::Unknown) => true,
                Some(Uses::Tables {
                    resources,
                    sql_names,
                }) => resources.contains(&resource) || sql_names.contains(&sql_name),
            };
            if affected {
                out.push(job_ref);
            }
        }
        map.retain(|k, _| present.contains(k));
        out
    }
}

type ValidationOutcome = Arc<Result<ValidJob, Vec<JobProblem>>>;

/// Everything a reconcile needs.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Settings.
    pub config: Arc<OperatorConfig>,
    /// What jobs may ask of their pods (from `config`).
    policy: Policy,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    recorder: Recorder,
    stores: Stores,
    index: Arc<TableIndex>,
    failures: Mutex<HashMap<String, u32>>,
    validations: Mutex<HashMap<ObjectRef<StreamingJob>, (u64, ValidationOutcome)>>,
}

/// What applying a valid job's children did.
struct AppliedChildren {
    deployment: Deployment,
    created: bool,
    wrote_deployment: bool,
}

impl Context {
    fn failure_key(kind: &str, namespace: Option<String>, name: &str) -> String {
        format!("{kind}/{}/{name}", namespace.unwrap_or_default())
    }

    /// The ServiceAccounts of `namespace` that executors may run as.
    fn executor_accounts(&self, namespace: &str) -> BTreeSet<String> {
        self.stores
            .executor_accounts
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

    /// Validates, or reuses the outcome for the same job generation, tables and opted-in
    /// ServiceAccounts.
    fn validate(
        &self,
        job: &StreamingJob,
        tables: &[StreamingTable],
        accounts: &BTreeSet<String>,
    ) -> ValidationOutcome {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        job.metadata.uid.hash(&mut h);
        job.metadata.generation.hash(&mut h);
        for t in tables {
            t.metadata.name.hash(&mut h);
            t.metadata.resource_version.hash(&mut h);
        }
        accounts.hash(&mut h);
        let key = h.finish();
        let job_ref = ObjectRef::from_obj(job);
        if let Ok(cache) = self.validations.lock()
            && let Some((k, outcome)) = cache.get(&job_ref)
            && *k == key
        {
            return outcome.clone();
        }
        let outcome = Arc::new(validate::validate_job(job, tables, &self.policy, accounts));
        if let Ok(mut cache) = self.validations.lock() {
            cache.insert(job_ref, (key, outcome.clone()));
            // Forget deleted jobs now and then.
            let jobs = self.stores.jobs.len();
            if cache.len() > 2 * jobs + 16 {
                cache.retain(|job, _| self.stores.jobs.get(job).is_some());
                if let Ok(mut failures) = self.failures.lock() {
                    failures.clear();
                }
            }
        }
        outcome
    }

    async fn reconcile_job(&self, job: &StreamingJob) -> Result<Action, Error> {
        let name = job.name_any();
        let namespace = job.namespace().ok_or_else(|| Error::NoNamespace {
            kind: "StreamingJob",
            name: name.clone(),
        })?;
        if job.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        let job_ref = ObjectRef::from_obj(job);
        let uid = job.metadata.uid.clone().unwrap_or_default();
        // 1. Dereference.
        self.index.set(&job_ref, Uses::Unknown);
        let tables: Vec<StreamingTable> = self
            .stores
            .tables
            .state()
            .iter()
            .filter(|t| t.namespace().as_deref() == Some(namespace.as_str()))
            .map(|t| t.as_ref().clone())
            .collect();
        let child = ObjectRef::new(&render::child_name(&name)).within(&namespace);
        let mut deployment = self
            .stores
            .deployments
            .get(&child)
            .filter(|d| controlled_by(d.as_ref(), &uid))
            .map(|d| d.as_ref().clone());
        let previous_deployment = deployment.clone();
        let accounts = self.executor_accounts(&namespace);
        // 2. Validate.
        let outcome = self.validate(job, &tables, &accounts);
        let mut conflict = None;
        let mut rejected = Vec::new();
        let mut applied = None;
        match outcome.as_ref() {
            Ok(valid) => {
                self.index.set(
                    &job_ref,
                    Uses::Tables {
                        resources: valid.tables.clone(),
                        sql_names: valid.sql_names.clone(),
                    },
                );
                // 3. Build. 4. Apply.
                let children = render::build(valid);
                match self.apply_children(valid, &uid, &children).await {
                    Ok(a) => {
                        deployment = Some(a.deployment.clone());
                        applied = Some(a);
                    }
                    Err(Error::Apply(e @ ApplyError::NotOwned { .. })) => {
                        conflict = Some(e.to_string());
                    }
                    Err(Error::Apply(e)) if e.rejection().is_some() => {
                        rejected.push(JobProblem {
                            reason: "Rejected",
                            message: e.rejection().unwrap_or_default(),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(problems) => {
                let refused = problems.iter().any(|p| policy::is_refusal(p.reason));
                if let Some(d) = &deployment {
                    deployment = Some(self.follow_scale(job, d, refused).await?);
                }
            }
        }
        // 5. Status.
        let validity = match (outcome.as_ref(), rejected.is_empty()) {
            (Ok(_), true) => Validity::Valid,
            (Ok(_), false) => Validity::Invalid(&rejected),
            (Err(problems), _) => Validity::Invalid(problems),
        };
        let pods = self.stores.pods.state();
        let live: BTreeSet<String> = pods
            .iter()
            .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
            .map(|p| p.name_any())
            .collect();
        let job_pods: Vec<&Pod> = pods
            .iter()
            .filter(|p| {
                p.namespace().as_deref() == Some(namespace.as_str())
                    && p.labels().get(LABEL_JOB) == Some(&name)
            })
            .map(|p| p.as_ref())
            .collect();
        let desired = status::job_status(&Observed {
            job,
            validity,
            deployment: deployment.as_ref(),
            deployment_written: applied.as_ref().is_some_and(|a| a.wrote_deployment),
            pods: &job_pods,
            live_pods: &live,
            conflict: conflict.as_deref(),
            now: Time(Timestamp::now()),
        });
        self.prune_partitions(job, &namespace, &live).await?;
        let current = job.status.clone().unwrap_or_default();
        if !status::same_operator_fields(&current, &desired) {
            tracing::debug!(
                current = %serde_json::to_string(&StreamingJobStatus { partitions: Vec::new(), ..current.clone() }).unwrap_or_default(),
                desired = %serde_json::to_string(&desired).unwrap_or_default(),
                "status changed"
            );
            self.write_job_status(&namespace, &name, &desired).await?;
        }
        self.job_events(
            job,
            &current,
            &desired,
            previous_deployment.as_ref(),
            applied.as_ref(),
        )
        .await;
        Ok(match validity {
            Validity::Valid if conflict.is_none() => Action::requeue(self.config.resync),
            Validity::Valid => Action::requeue(Duration::from_secs(60)),
            Validity::Invalid(_) => Action::await_change(),
        })
    }

    async fn apply_children(
        &self,
        valid: &ValidJob,
        uid: &str,
        children: &Children,
    ) -> Result<AppliedChildren, Error> {
        let ns = &valid.namespace;
        let child = render::child_name(&valid.name);
        fn key<K: Resource<DynamicType = ()>>(name: &str, ns: &str) -> ObjectRef<K> {
            ObjectRef::new(name).within(ns)
        }
        let metrics = &self.metrics;
        // The Deployment's pods need the ServiceAccount, the RBAC and the ConfigMap: those four
        // are independent and applied together, the Deployment after them.
        let service_account = async {
            if let Some(sa) = &children.service_account {
                apply::ensure(
                    &Api::namespaced(self.client.clone(), ns),
                    "ServiceAccount",
                    self.stores
                        .service_accounts
                        .get(&key(&child, ns))
                        .as_deref(),
                    sa,
                    Some(uid),
                    || metrics.wrote("ServiceAccount", "apply"),
                )
                .await?;
            } else if let Some(ours) = self
                .stores
                .service_accounts
                .get(&key(&child, ns))
                .filter(|sa| controlled_by(sa.as_ref(), uid))
            {
                let name = ours.name_any();
                Api::<ServiceAccount>::namespaced(self.client.clone(), ns)
                    .delete(&name, &DeleteParams::background())
                    .await
                    .map_err(|source| Error::DeleteOrphan {
                        kind: "ServiceAccount",
                        name: format!("{ns}/{name}"),
                        source,
                    })?;
                metrics.wrote("ServiceAccount", "delete");
            }
            Ok::<(), Error>(())
        };
        let role = async {
            apply::ensure(
                &Api::namespaced(self.client.clone(), ns),
                "Role",
                self.stores.roles.get(&key(&child, ns)).as_deref(),
                &children.role,
                Some(uid),
                || metrics.wrote("Role", "apply"),
            )
            .await
            .map_err(Error::from)
        };
        let role_binding = async {
            apply::ensure(
                &Api::namespaced(self.client.clone(), ns),
                "RoleBinding",
                self.stores.role_bindings.get(&key(&child, ns)).as_deref(),
                &children.role_binding,
                Some(uid),
                || metrics.wrote("RoleBinding", "apply"),
            )
            .await
            .map_err(Error::from)
        };
        let config_map = async {
            apply::ensure(
                &Api::namespaced(self.client.clone(), ns),
                "ConfigMap",
                self.stores.config_maps.get(&key(&child, ns)).as_deref(),
                &children.config_map,
                Some(uid),
                || metrics.wrote("ConfigMap", "apply"),
            )
            .await
            .map_err(Error::from)
        };
        futures::try_join!(service_account, role, role_binding, config_map)?;
        let cached = self.stores.deployments.get(&key(&child, ns));
        let deployment = apply::ensure(
            &Api::namespaced(self.client.clone(), ns),
            "Deployment",
            cached.as_deref(),
            &children.deployment,
            Some(uid),
            || metrics.wrote("Deployment", "apply"),
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

    /// An invalid job keeps its last valid Deployment, scaled to the current spec; a job
    /// `refused` by the operator's policy (see [`policy::is_refusal`]) is scaled to zero.
    async fn follow_scale(
        &self,
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
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
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
        self.metrics.wrote("Deployment/scale", "patch");
        let mut scaled = d.clone();
        if let Some(spec) = scaled.spec.as_mut() {
            spec.replicas = Some(wanted);
        }
        Ok(scaled)
    }

    /// Removes the `status.partitions` entries of executor pods that are gone.
    async fn prune_partitions(
        &self,
        job: &StreamingJob,
        namespace: &str,
        live: &BTreeSet<String>,
    ) -> Result<(), Error> {
        let name = job.name_any();
        let api: Api<StreamingJob> = Api::namespaced(self.client.clone(), namespace);
        for manager in status::stale_managers(job, live) {
            let body = json!({
                "apiVersion": format!("{}/{}", sluice_crds::GROUP, sluice_crds::VERSION),
                "kind": "StreamingJob",
                "metadata": {"name": name},
                "status": {},
            });
            api.patch_status(&name, &PatchParams::apply(&manager), &Patch::Apply(&body))
                .await
                .map_err(|source| Error::PruneStatus {
                    manager: manager.clone(),
                    name: format!("{namespace}/{name}"),
                    source,
                })?;
            self.metrics.wrote("StreamingJob/status", "prune");
            tracing::info!(job = %name, %manager, "removed the status entries of a gone executor pod");
        }
        Ok(())
    }

    async fn write_job_status(
        &self,
        namespace: &str,
        name: &str,
        status: &StreamingJobStatus,
    ) -> Result<(), Error> {
        let body = json!({
            "apiVersion": format!("{}/{}", sluice_crds::GROUP, sluice_crds::VERSION),
            "kind": "StreamingJob",
            "metadata": {"name": name},
            "status": status,
        });
        Api::<StreamingJob>::namespaced(self.client.clone(), namespace)
            .patch_status(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|source| Error::ApplyStatus {
                kind: "StreamingJob",
                name: format!("{namespace}/{name}"),
                source,
            })?;
        self.metrics.wrote("StreamingJob/status", "apply");
        Ok(())
    }

    /// Events for what changed in this reconcile (never for a reconcile that changed nothing).
    async fn job_events(
        &self,
        job: &StreamingJob,
        current: &StreamingJobStatus,
        desired: &StreamingJobStatus,
        previous: Option<&Deployment>,
        applied: Option<&AppliedChildren>,
    ) {
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
                events.push(normal(
                    "Created",
                    "Apply",
                    format!(
                        "created the executors' Deployment ({new_n} replicas), ConfigMap and RBAC; configuration {}",
                        new_hash.unwrap_or_default()
                    ),
                ));
            } else if old_hash != new_hash {
                events.push(normal(
                    "RollingOut",
                    "Apply",
                    format!(
                        "rolling out configuration {} (generation {}) to {new_n} executors",
                        new_hash.unwrap_or_default(),
                        job.metadata.generation.unwrap_or_default()
                    ),
                ));
            } else if old_n != Some(new_n) {
                let what = match (old_n, new_n) {
                    (_, 0) if job.spec.suspend => "Suspended".to_owned(),
                    (Some(0), _) => "Resumed".to_owned(),
                    _ => "Scaled".to_owned(),
                };
                events.push(normal(
                    &what,
                    "Scale",
                    format!("executors: {} → {new_n}", old_n.unwrap_or(0)),
                ));
            }
        }
        let reference = job.object_ref(&());
        for event in events {
            if let Err(error) = self.recorder.publish(&event, &reference).await {
                tracing::warn!(%error, reason = %event.reason, "failed to publish an Event");
            } else {
                self.metrics.wrote("Event", "create");
            }
        }
    }

    async fn reconcile_table(&self, table: &StreamingTable) -> Result<Action, Error> {
        let name = table.name_any();
        let namespace = table.namespace().ok_or_else(|| Error::NoNamespace {
            kind: "StreamingTable",
            name: name.clone(),
        })?;
        let problems = table::validate_table(table);
        let sql_name = table.sql_name();
        let mut duplicates: Vec<String> = self
            .stores
            .tables
            .state()
            .iter()
            .filter(|t| {
                t.namespace().as_deref() == Some(namespace.as_str())
                    && t.name_any() != name
                    && t.sql_name() == sql_name
            })
            .map(|t| format!("{namespace}/{}", t.name_any()))
            .collect();
        duplicates.sort();
        let desired = table::table_status(table, &problems, &duplicates, Time(Timestamp::now()));
        let current = table.status.clone().unwrap_or_default();
        if !same_table_status(&current, &desired) {
            let body = json!({
                "apiVersion": format!("{}/{}", sluice_crds::GROUP, sluice_crds::VERSION),
                "kind": "StreamingTable",
                "metadata": {"name": name},
                "status": desired,
            });
            Api::<StreamingTable>::namespaced(self.client.clone(), &namespace)
                .patch_status(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(&body),
                )
                .await
                .map_err(|source| Error::ApplyStatus {
                    kind: "StreamingTable",
                    name: format!("{namespace}/{name}"),
                    source,
                })?;
            self.metrics.wrote("StreamingTable/status", "apply");
            if let Some(event) = condition_event(
                &current.conditions,
                &desired.conditions,
                VALID,
                "Validate",
                "the table is valid",
            ) {
                match self.recorder.publish(&event, &table.object_ref(&())).await {
                    Ok(()) => self.metrics.wrote("Event", "create"),
                    Err(error) => tracing::warn!(%error, "failed to publish an Event"),
                }
            }
        }
        Ok(Action::await_change())
    }

    fn backoff(&self, key: String) -> Duration {
        let attempts = self
            .failures
            .lock()
            .map(|mut f| {
                let n = f.entry(key).or_insert(0);
                *n = n.saturating_add(1);
                *n
            })
            .unwrap_or(1);
        let secs = 2u64.saturating_pow(attempts.saturating_sub(1).min(9));
        Duration::from_secs(secs.min(300))
    }

    fn succeeded(&self, key: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(key);
        }
    }
}

fn same_table_status(a: &StreamingTableStatus, b: &StreamingTableStatus) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.conditions.sort_by(|x, y| x.type_.cmp(&y.type_));
    b.conditions.sort_by(|x, y| x.type_.cmp(&y.type_));
    a == b
}

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
fn condition_event(
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

async fn reconcile_job(job: Arc<StreamingJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let span = info_span!("reconcile", kind = "StreamingJob", namespace = %job.namespace().unwrap_or_default(), name = %job.name_any());
    let result = ctx.reconcile_job(&job).instrument(span).await;
    let key = Context::failure_key("job", job.namespace(), &job.name_any());
    let outcome = match &result {
        Ok(_) => {
            ctx.succeeded(&key);
            let job_ref = ObjectRef::from_obj(job.as_ref());
            let valid = ctx
                .validations
                .lock()
                .ok()
                .and_then(|cache| cache.get(&job_ref).map(|(_, o)| o.is_ok()))
                .unwrap_or(true);
            if valid { "valid" } else { "invalid" }
        }
        Err(_) => "error",
    };
    ctx.metrics.reconciled("job", outcome, started.elapsed());
    result
}

fn job_error_policy(job: Arc<StreamingJob>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = Context::failure_key("job", job.namespace(), &job.name_any());
    let delay = ctx.backoff(key);
    ctx.metrics.reconcile_failed("job", error.category());
    tracing::warn!(
        namespace = %job.namespace().unwrap_or_default(),
        name = %job.name_any(),
        category = error.category(),
        %error,
        retry_in = ?delay,
        "reconcile failed"
    );
    Action::requeue(delay)
}

async fn reconcile_table(table: Arc<StreamingTable>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let span = info_span!("reconcile", kind = "StreamingTable", namespace = %table.namespace().unwrap_or_default(), name = %table.name_any());
    let result = ctx.reconcile_table(&table).instrument(span).await;
    let key = Context::failure_key("table", table.namespace(), &table.name_any());
    if result.is_ok() {
        ctx.succeeded(&key);
    }
    let outcome = if result.is_ok() { "valid" } else { "error" };
    ctx.metrics.reconciled("table", outcome, started.elapsed());
    result
}

fn table_error_policy(table: Arc<StreamingTable>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = Context::failure_key("table", table.namespace(), &table.name_any());
    let delay = ctx.backoff(key);
    ctx.metrics.reconcile_failed("table", error.category());
    tracing::warn!(name = %table.name_any(), %error, retry_in = ?delay, "table reconcile failed");
    Action::requeue(delay)
}

/// Runs the operator until `shutdown`: with a Lease, the controllers run only while this
/// replica leads (and stop when the leadership is lost, to compete again); without one, they
/// run at once.
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let config = Arc::new(config);
    let Some(lease) = config.lease.clone() else {
        metrics.set_leader(true);
        run_controllers(&client, &config, &metrics, "sluice-operator", &shutdown).await;
        metrics.set_leader(false);
        return;
    };
    let elector = LeaderElector::new(client.clone(), lease.clone());
    loop {
        let Some(leadership) = elector.acquire(&shutdown).await else {
            return;
        };
        metrics.set_leader(true);
        let stop = shutdown.child_token();
        let lost = leadership.lost();
        let watcher = {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = lost.cancelled() => stop.cancel(),
                    () = stop.cancelled() => {}
                }
            })
        };
        let fenced = crate::leader::fenced_client(&client, leadership.guard());
        run_controllers(&fenced, &config, &metrics, &lease.identity, &stop).await;
        stop.cancel();
        let _ = watcher.await;
        metrics.set_leader(false);
        if shutdown.is_cancelled() {
            leadership.release().await;
            return;
        }
        tracing::warn!("leadership lost; controllers stopped; competing for the Lease again");
        leadership.release().await;
    }
}

/// Runs one set of controllers per watched namespace (or one for all) until `stop`.
async fn run_controllers(
    client: &Client,
    config: &Arc<OperatorConfig>,
    metrics: &Arc<Metrics>,
    identity: &str,
    stop: &CancellationToken,
) {
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    tracing::info!(namespaces = ?config.namespaces, "starting controllers");
    let mut tasks = tokio::task::JoinSet::new();
    for scope in scopes {
        tasks.spawn(run_scope(
            client.clone(),
            config.clone(),
            metrics.clone(),
            identity.to_owned(),
            scope,
            stop.clone(),
        ));
    }
    while tasks.join_next().await.is_some() {}
    tracing::info!("controllers stopped");
}

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Sends the job named by an object's `sluice.dev/job` label for reconciliation.
fn by_job_label<K: Resource<DynamicType = ()>>(
    tx: UnboundedSender<ObjectRef<StreamingJob>>,
) -> impl Fn(&K, &Store<K>) + Send + 'static {
    move |object: &K, _: &Store<K>| {
        if let Some((ns, job)) = informer::namespace_and_label(object, LABEL_JOB) {
            let _ = tx.unbounded_send(ObjectRef::new(&job).within(&ns));
        }
    }
}

async fn run_scope(
    client: Client,
    config: Arc<OperatorConfig>,
    metrics: Arc<Metrics>,
    identity: String,
    namespace: Option<String>,
    stop: CancellationToken,
) {
    let ns = namespace.as_deref();
    let (job_tx, job_rx) = unbounded::<ObjectRef<StreamingJob>>();
    let (table_tx, table_rx) = unbounded::<ObjectRef<StreamingTable>>();
    let jobs = Controller::new(api::<StreamingJob>(&client, ns), watcher::Config::default());
    let job_store = jobs.store();
    let index = Arc::new(TableIndex::default());
    let managed = || watcher::Config::default().labels(&render::managed_selector());

    let mut informers = Vec::new();
    let (tables, task) = {
        let job_tx = job_tx.clone();
        let job_store = job_store.clone();
        let index = index.clone();
        informer::spawn(
            api::<StreamingTable>(&client, ns),
            watcher::Config::default(),
            false,
            move |table: &StreamingTable, tables: &Store<StreamingTable>| {
                for job in index.jobs_for_table(&job_store, table) {
                    let _ = job_tx.unbounded_send(job);
                }
                let namespace = table.namespace().unwrap_or_default();
                let sql_name = table.sql_name();
                let _ = table_tx.unbounded_send(ObjectRef::from_obj(table));
                for other in tables.state() {
                    let flagged = other
                        .status
                        .as_ref()
                        .and_then(|s| conditions::find(&s.conditions, VALID))
                        .is_some_and(|c| c.reason == table::DUPLICATE_SQL_NAME);
                    if other.namespace().as_deref() == Some(namespace.as_str())
                        && other.name_any() != table.name_any()
                        && (flagged || other.sql_name() == sql_name)
                    {
                        let _ = table_tx.unbounded_send(ObjectRef::from_obj(other.as_ref()));
                    }
                }
            },
            stop.clone(),
        )
    };
    informers.push(task);
    macro_rules! children {
        ($kind:ty, $config:expr) => {{
            let (store, task) = informer::spawn(
                api::<$kind>(&client, ns),
                $config,
                false,
                by_job_label::<$kind>(job_tx.clone()),
                stop.clone(),
            );
            informers.push(task);
            store
        }};
    }
    // Opted-in ServiceAccounts: a label added or removed re-reconciles the jobs naming the
    // account (a removed label makes the account leave the selection: a deletion here).
    let executor_accounts = {
        let job_tx = job_tx.clone();
        let job_store = job_store.clone();
        let (store, task) = informer::spawn(
            api::<ServiceAccount>(&client, ns),
            watcher::Config::default().labels(&format!("{}=true", policy::LABEL_EXECUTOR_ACCOUNT)),
            false,
            move |sa: &ServiceAccount, _: &Store<ServiceAccount>| {
                let namespace = sa.namespace();
                let name = sa.name_any();
                for job in job_store.state() {
                    if job.namespace() == namespace
                        && job.spec.service_account_name.as_deref() == Some(name.as_str())
                    {
                        let _ = job_tx.unbounded_send(ObjectRef::from_obj(job.as_ref()));
                    }
                }
            },
            stop.clone(),
        );
        informers.push(task);
        store
    };
    let stores = Stores {
        executor_accounts,
        jobs: job_store,
        tables,
        deployments: children!(Deployment, managed()),
        config_maps: children!(ConfigMap, managed()),
        service_accounts: children!(ServiceAccount, managed()),
        roles: children!(Role, managed()),
        role_bindings: children!(RoleBinding, managed()),
        pods: children!(
            Pod,
            watcher::Config::default().labels(&render::executor_pod_selector())
        ),
    };
    let ready = async {
        let _ = futures::join!(
            stores.tables.wait_until_ready(),
            stores.deployments.wait_until_ready(),
            stores.config_maps.wait_until_ready(),
            stores.service_accounts.wait_until_ready(),
            stores.roles.wait_until_ready(),
            stores.role_bindings.wait_until_ready(),
            stores.pods.wait_until_ready(),
            stores.executor_accounts.wait_until_ready(),
        );
    };
    tokio::select! {
        () = ready => {}
        () = stop.cancelled() => {
            for task in informers {
                let _ = task.await;
            }
            return;
        }
    }
    tracing::info!(
        namespace = ns.unwrap_or("(all)"),
        "caches synced; reconciling"
    );
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: Some(identity),
        },
    );
    let ctx = Arc::new(Context {
        client,
        policy: config.policy(),
        config: config.clone(),
        metrics,
        recorder,
        stores: stores.clone(),
        index,
        failures: Mutex::new(HashMap::new()),
        validations: Mutex::new(HashMap::new()),
    });
    let controller_config = controller::Config::default().concurrency(config.concurrency);
    let jobs = jobs
        .with_config(controller_config.clone())
        .reconcile_on(job_rx)
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(reconcile_job, job_error_policy, ctx.clone())
        .for_each(|result| async move { log_result("StreamingJob", result) });
    let tables = Controller::for_stream(
        futures::stream::pending::<Result<StreamingTable, watcher::Error>>(),
        stores.tables.clone(),
    )
    .with_config(controller_config)
    .reconcile_on(table_rx)
    .graceful_shutdown_on(stop.clone().cancelled_owned())
    .run(reconcile_table, table_error_policy, ctx)
    .for_each(|result| async move { log_result("StreamingTable", result) });
    futures::future::join(jobs, tables).await;
    stop.cancel();
    for task in informers {
        let _ = task.await;
    }
}

fn log_result<K, E1, E2>(
    kind: &str,
    result: Result<(ObjectRef<K>, Action), controller::Error<E1, E2>>,
) where
    K: Resource,
    E1: std::error::Error,
    E2: std::error::Error,
{
    match result {
        Ok((object, _)) => tracing::debug!(%kind, %object, "reconciled"),
        Err(controller::Error::ObjectNotFound(object)) => {
            tracing::debug!(%kind, %object, "object gone before its reconcile")
        }
        Err(controller::Error::ReconcilerFailed(..)) => {}
        Err(error) => tracing::warn!(%kind, %error, "controller error"),
    }
}

/// Checks that the CRDs are installed, so that a missing install fails fast and clearly.
pub async fn preflight(client: &Client) -> Result<(), String> {
    let jobs: Api<StreamingJob> = Api::all(client.clone());
    let tables: Api<StreamingTable> = Api::all(client.clone());
    let params = kube::api::ListParams::default().limit(1);
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
        match result {
            Ok(()) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {
                return Err(format!(
                    "the {kind} CRD is not installed (sluice.dev/v1alpha1); apply crds/yaml/ first"
                ));
            }
            // Forbidden cluster-wide lists are fine when only some namespaces are watched.
            Err(kube::Error::Api(e)) if e.code == 403 => {}
            Err(e) => return Err(format!("cannot reach the API server: {e}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
