//! One scope (a watched namespace, or all): the informers that fill the caches and map each
//! change to the jobs and tables to reconcile, then — once every cache is synced — the job and
//! table controllers, until `stop`.

use std::sync::Arc;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use sluice_crds::conditions::{self, VALID};
use sluice_crds::{StreamingJob, StreamingTable};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::context::Context;
use super::instrumented::{
    job_error_policy, reconcile_job_instrumented, reconcile_table_instrumented, table_error_policy,
};
use super::stores::Stores;
use super::table_index::TableIndex;
use crate::config::OperatorConfig;
use crate::informer;
use crate::metrics::Metrics;
use crate::policy;
use crate::render::{self, FIELD_MANAGER, LABEL_JOB};
use crate::table;

/// Where informers send what to reconcile.
#[derive(Clone)]
struct Triggers {
    jobs: UnboundedSender<ObjectRef<StreamingJob>>,
    tables: UnboundedSender<ObjectRef<StreamingTable>>,
}

/// Runs one scope's informers and controllers until `stop`.
pub(super) async fn run_scope(
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
    let index = Arc::new(TableIndex::default());
    let triggers = Triggers {
        jobs: job_tx,
        tables: table_tx,
    };
    let (stores, informers) = spawn_informers(&client, ns, jobs.store(), &index, triggers, &stop);
    if !caches_synced(&stores, &stop).await {
        join_all(informers).await;
        return;
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
    let concurrency = config.concurrency;
    let ctx = Arc::new(Context::new(
        client, config, metrics, recorder, stores, index,
    ));
    run_job_and_table_controllers(jobs, job_rx, table_rx, ctx, concurrency, &stop).await;
    stop.cancel();
    join_all(informers).await;
}

/// Starts every informer of the scope: tables, opted-in ServiceAccounts, and the executors'
/// children and pods. Returns the caches and the informer tasks.
fn spawn_informers(
    client: &Client,
    ns: Option<&str>,
    job_store: Store<StreamingJob>,
    index: &Arc<TableIndex>,
    triggers: Triggers,
    stop: &CancellationToken,
) -> (Stores, Vec<JoinHandle<()>>) {
    let managed = || watcher::Config::default().labels(&render::managed_selector());
    let mut informers = Vec::new();
    let (tables, task) = table_informer(client, ns, job_store.clone(), index, &triggers, stop);
    informers.push(task);
    let (executor_accounts, task) =
        executor_account_informer(client, ns, job_store.clone(), &triggers, stop);
    informers.push(task);
    macro_rules! children {
        ($kind:ty, $config:expr) => {{
            let (store, task) = child_informer::<$kind>(client, ns, $config, &triggers, stop);
            informers.push(task);
            store
        }};
    }
    let deployments = children!(Deployment, managed());
    let config_maps = children!(ConfigMap, managed());
    let service_accounts = children!(ServiceAccount, managed());
    let roles = children!(Role, managed());
    let role_bindings = children!(RoleBinding, managed());
    let pods = children!(
        Pod,
        watcher::Config::default().labels(&render::executor_pod_selector())
    );
    let stores = Stores {
        executor_accounts,
        jobs: job_store,
        tables,
        deployments,
        config_maps,
        service_accounts,
        roles,
        role_bindings,
        pods,
    };
    (stores, informers)
}

/// Tables: a change reconciles the jobs that use the table ([`TableIndex`]), the table, and
/// the other tables of the namespace that share (or shared) its SQL name.
fn table_informer(
    client: &Client,
    ns: Option<&str>,
    job_store: Store<StreamingJob>,
    index: &Arc<TableIndex>,
    triggers: &Triggers,
    stop: &CancellationToken,
) -> (Store<StreamingTable>, JoinHandle<()>) {
    let index = index.clone();
    let Triggers {
        jobs: job_tx,
        tables: table_tx,
    } = triggers.clone();
    informer::spawn(
        api::<StreamingTable>(client, ns),
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
}

/// Opted-in ServiceAccounts: a label added or removed re-reconciles the jobs naming the
/// account (a removed label makes the account leave the selection: a deletion here).
fn executor_account_informer(
    client: &Client,
    ns: Option<&str>,
    job_store: Store<StreamingJob>,
    triggers: &Triggers,
    stop: &CancellationToken,
) -> (Store<ServiceAccount>, JoinHandle<()>) {
    let job_tx = triggers.jobs.clone();
    informer::spawn(
        api::<ServiceAccount>(client, ns),
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
    )
}

/// The executors' children or pods: a change reconciles the job named by the object's
/// `sluice.dev/job` label.
fn child_informer<K>(
    client: &Client,
    ns: Option<&str>,
    config: watcher::Config,
    triggers: &Triggers,
    stop: &CancellationToken,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let job_tx = triggers.jobs.clone();
    informer::spawn(
        api::<K>(client, ns),
        config,
        false,
        move |object: &K, _: &Store<K>| {
            if let Some((ns, job)) = informer::namespace_and_label(object, LABEL_JOB) {
                let _ = job_tx.unbounded_send(ObjectRef::new(&job).within(&ns));
            }
        },
        stop.clone(),
    )
}

/// Waits until every cache has listed its objects. `false` if `stop` came first.
async fn caches_synced(stores: &Stores, stop: &CancellationToken) -> bool {
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
        () = ready => true,
        () = stop.cancelled() => false,
    }
}

/// Runs the job and table controllers until `stop`. Both reconcile what the informers send;
/// the jobs' controller also watches the jobs themselves.
async fn run_job_and_table_controllers(
    jobs: Controller<StreamingJob>,
    job_rx: UnboundedReceiver<ObjectRef<StreamingJob>>,
    table_rx: UnboundedReceiver<ObjectRef<StreamingTable>>,
    ctx: Arc<Context>,
    concurrency: u16,
    stop: &CancellationToken,
) {
    let controller_config = controller::Config::default().concurrency(concurrency);
    let tables = Controller::for_stream(
        futures::stream::pending::<Result<StreamingTable, watcher::Error>>(),
        ctx.stores.tables.clone(),
    );
    let jobs = jobs
        .with_config(controller_config.clone())
        .reconcile_on(job_rx)
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(reconcile_job_instrumented, job_error_policy, ctx.clone())
        .for_each(|result| async move { log_result("StreamingJob", result) });
    let tables = tables
        .with_config(controller_config)
        .reconcile_on(table_rx)
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(reconcile_table_instrumented, table_error_policy, ctx)
        .for_each(|result| async move { log_result("StreamingTable", result) });
    futures::future::join(jobs, tables).await;
}

/// Logs a controller's result: reconcile failures are logged by the error policies.
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

/// Waits for every informer task.
async fn join_all(informers: Vec<JoinHandle<()>>) {
    for task in informers {
        let _ = task.await;
    }
}

/// `namespace`'s objects of kind `K`, or every namespace's.
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
