//! Test support: one real API server per test binary (`e2e/rig/apiserver.sh`, stopped by a
//! drop guard), a namespace per test, in-process or subprocess operators, and polling helpers
//! (never sleep to wait: poll with a deadline).

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use libtest_mimic::{Arguments, Failed, Trial};
use sluice_crds::conditions;
use sluice_crds::{PartitionStatus, StreamingJob, StreamingTable};
use sluice_operator::render::{ANNOTATION_CONFIG_HASH, LABEL_JOB};
use sluice_operator::{LeaseConfig, Metrics, OperatorConfig};
use tokio_util::sync::CancellationToken;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A running API server; stopped when dropped.
pub struct Rig {
    pub statedir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
}

impl Rig {
    /// Starts etcd + kube-apiserver + kube-controller-manager (≈ 6 s).
    pub fn start() -> Rig {
        let statedir = tempfile::Builder::new()
            .prefix("sluice-operator-test-")
            .tempdir()
            .expect("temp dir");
        let out = Command::new(root().join("e2e/rig/apiserver.sh"))
            .arg("start")
            .arg(statedir.path())
            .output()
            .expect("run e2e/rig/apiserver.sh");
        assert!(
            out.status.success(),
            "e2e/rig/apiserver.sh start failed (run e2e/rig/prepare.sh first):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kubeconfig = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Rig {
            statedir,
            kubeconfig,
        }
    }

    /// A kubeconfig authenticating as a ServiceAccount.
    pub fn kubeconfig_for_sa(&self, namespace: &str, sa: &str) -> PathBuf {
        let out = Command::new(root().join("e2e/rig/apiserver.sh"))
            .args(["kubeconfig-for-sa"])
            .arg(self.statedir.path())
            .args([namespace, sa])
            .output()
            .expect("run e2e/rig/apiserver.sh kubeconfig-for-sa");
        assert!(
            out.status.success(),
            "kubeconfig-for-sa {namespace}/{sa} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = Command::new(root().join("e2e/rig/apiserver.sh"))
            .arg("stop")
            .arg(self.statedir.path())
            .output();
    }
}

/// A client for a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Client {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig).expect("read kubeconfig"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("kubeconfig");
    Client::try_from(config).expect("client")
}

/// A client for a kubeconfig file that impersonates `user` (as `kubectl --as user`): the
/// kubeconfig's admin must be allowed to impersonate.
pub async fn client_as(kubeconfig: &Path, user: &str) -> Client {
    let mut config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig).expect("read kubeconfig"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("kubeconfig");
    config.auth_info.impersonate = Some(user.to_owned());
    Client::try_from(config).expect("client")
}

/// The rig's `kubectl` (`e2e/rig/prepare.sh` installs it in the cache).
pub fn kubectl_path() -> PathBuf {
    let cache = std::env::var_os("SLUICE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("sluice")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sluice")))
        .expect("HOME or SLUICE_CACHE");
    cache.join("k8s/bin/kubectl")
}

/// Runs the rig's `kubectl` as the admin; returns its standard output, panics on failure.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new(kubectl_path())
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a test gets: an admin client, its own namespace, the rig.
#[derive(Clone)]
pub struct Env {
    pub client: Client,
    pub ns: String,
    pub rig: Arc<RigInfo>,
}

/// The rig's files, shareable across threads.
pub struct RigInfo {
    pub statedir: PathBuf,
    pub kubeconfig: PathBuf,
}

impl RigInfo {
    pub fn kubeconfig_for_sa(&self, namespace: &str, sa: &str) -> PathBuf {
        let out = Command::new(root().join("e2e/rig/apiserver.sh"))
            .args(["kubeconfig-for-sa"])
            .arg(&self.statedir)
            .args([namespace, sa])
            .output()
            .expect("run kubeconfig-for-sa");
        assert!(
            out.status.success(),
            "kubeconfig-for-sa {namespace}/{sa} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    }
}

/// Installs the CRDs from `crds/yaml/` and waits until they are Established.
pub async fn install_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for entry in std::fs::read_dir(root().join("crds/yaml")).expect("crds/yaml") {
        let path = entry.expect("entry").path();
        let crd: CustomResourceDefinition =
            serde_yaml::from_str(&std::fs::read_to_string(&path).expect("read CRD")).expect("CRD");
        api.patch(
            &crd.name_any(),
            &PatchParams::apply("sluice-test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("apply CRD");
    }
    for name in ["streamingjobs.sluice.dev", "streamingtables.sluice.dev"] {
        let api = api.clone();
        eventually(
            &format!("CRD {name} Established"),
            Duration::from_secs(30),
            || {
                let api = api.clone();
                async move {
                    let crd = api.get(name).await.map_err(|e| e.to_string())?;
                    let established = crd
                        .status
                        .and_then(|s| s.conditions)
                        .unwrap_or_default()
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True");
                    established
                        .then_some(())
                        .ok_or_else(|| "not yet".to_owned())
                }
            },
        )
        .await;
    }
}

/// Creates a namespace.
pub async fn create_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut ns = Namespace::default();
    ns.metadata.name = Some(name.to_owned());
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => panic!("create namespace {name}: {e}"),
    }
}

/// Polls `check` until it returns `Ok`, or panics with `what` and the last `Err` after
/// `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(state) => state,
        };
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The example manifests with the namespace set; `(tables, jobs)`.
pub fn example(file: &str, ns: &str) -> (Vec<StreamingTable>, Vec<StreamingJob>) {
    let m = sluice_crds::Manifests::load(&[root().join("examples").join(file)]).expect("example");
    let tables = m
        .tables
        .into_iter()
        .map(|(mut t, _)| {
            t.metadata.namespace = Some(ns.to_owned());
            t
        })
        .collect();
    let jobs = m
        .jobs
        .into_iter()
        .map(|(mut j, _)| {
            j.metadata.namespace = Some(ns.to_owned());
            j
        })
        .collect();
    (tables, jobs)
}

/// Server-side applies a table or job as a user would (`kubectl apply --server-side`).
pub async fn apply<K>(client: &Client, ns: &str, object: &K) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let mut object = object.clone();
    let meta = object.meta_mut();
    meta.namespace = Some(ns.to_owned());
    meta.resource_version = None;
    meta.uid = None;
    meta.managed_fields = None;
    meta.creation_timestamp = None;
    meta.generation = None;
    let mut value = serde_json::to_value(&object).expect("serialize");
    if let Some(obj) = value.as_object_mut() {
        obj.remove("status");
    }
    api.patch(
        &object.name_any(),
        &PatchParams::apply("sluice-test-user").force(),
        &Patch::Apply(&value),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {}: {e}", object.name_any()))
}

/// Applies YAML text holding tables and jobs.
pub async fn apply_yaml(client: &Client, ns: &str, yaml: &str) {
    let m = sluice_crds::Manifests::parse(Path::new("test.yaml"), yaml)
        .unwrap_or_else(|e| panic!("bad test YAML: {e:?}\n{yaml}"));
    for (t, _) in &m.tables {
        apply(client, ns, t).await;
    }
    for (j, _) in &m.jobs {
        apply(client, ns, j).await;
    }
}

/// An operator running in this process (a task on the test's runtime).
pub struct InProcessOperator {
    pub metrics: Arc<Metrics>,
    pub client: Client,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl InProcessOperator {
    /// Starts an operator watching `namespaces`, authenticating with `kubeconfig`.
    pub async fn start(
        kubeconfig: &Path,
        namespaces: &[&str],
        lease: Option<LeaseConfig>,
    ) -> InProcessOperator {
        sluice_operator::install_crypto_provider();
        let metrics = Arc::new(Metrics::new());
        let config = kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(kubeconfig).expect("read kubeconfig"),
            &KubeConfigOptions::default(),
        )
        .await
        .expect("kubeconfig");
        let client = sluice_operator::counting_client(config, metrics.clone()).expect("client");
        let shutdown = CancellationToken::new();
        let config = OperatorConfig {
            namespaces: namespaces.iter().map(|s| (*s).to_owned()).collect(),
            executor_image: "localhost/sluice:test".to_owned(),
            // Sidecars of the tests' pod templates.
            allowed_images: vec!["localhost/sluice".to_owned(), "busybox".to_owned()],
            lease,
            ..OperatorConfig::default()
        };
        let task = tokio::spawn(sluice_operator::run(
            client.clone(),
            config,
            metrics.clone(),
            shutdown.clone(),
        ));
        InProcessOperator {
            metrics,
            client,
            shutdown,
            task,
        }
    }

    /// Graceful shutdown; waits for it.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.task).await;
    }
}

/// Waits until the operator has made no write for a few consecutive polls (it has converged).
pub async fn settled(metrics: &Metrics) -> u64 {
    let mut last = metrics.writes();
    let mut quiet = 0;
    eventually(
        "the operator to stop writing",
        Duration::from_secs(30),
        || {
            let now = metrics.writes();
            if now == last {
                quiet += 1;
            } else {
                quiet = 0;
                last = now;
            }
            let done = quiet >= 15;
            async move {
                if done {
                    Ok(now)
                } else {
                    Err(format!("{now} writes so far"))
                }
            }
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The harness: one API server for the test binary, a namespace per scenario.

/// A scenario: an async function of its [`Env`].
pub type Scenario = fn(Env) -> BoxFuture<'static, ()>;

/// `scenarios![a, b]`: named [`Scenario`]s.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        vec![$((stringify!($name), (|env| Box::pin($name(env))) as support::Scenario)),*]
    };
}

/// Runs `scenarios` as tests (libtest arguments apply) against one API server started for
/// them, each in its own namespace `<prefix><index>`.
pub fn run_main(prefix: &'static str, scenarios: Vec<(&'static str, Scenario)>) -> ExitCode {
    let args = Arguments::from_args();
    let rig_slot: Arc<std::sync::OnceLock<Arc<RigInfo>>> = Arc::default();
    let trials: Vec<Trial> = scenarios
        .into_iter()
        .enumerate()
        .map(|(i, (name, scenario))| {
            let slot = rig_slot.clone();
            Trial::test(name, move || {
                let rig = slot.get().ok_or_else(|| Failed::from("no API server"))?;
                run_scenario(&format!("{prefix}{i:02}"), scenario, rig.clone())
            })
        })
        .collect();
    let needed = !args.list && trials.iter().any(|t| !args.is_filtered_out(t));
    let rig = needed.then(Rig::start);
    if let Some(rig) = &rig {
        let info = Arc::new(RigInfo {
            statedir: rig.statedir.path().to_owned(),
            kubeconfig: rig.kubeconfig.clone(),
        });
        let rt = runtime();
        rt.block_on(async {
            sluice_operator::install_crypto_provider();
            install_crds(&client_for(&info.kubeconfig).await).await;
        });
        let _ = rig_slot.set(info);
    }
    let conclusion = libtest_mimic::run(&args, trials);
    drop(rig);
    conclusion.exit_code()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn run_scenario(ns: &str, scenario: Scenario, rig: Arc<RigInfo>) -> Result<(), Failed> {
    if std::env::var_os("SLUICE_TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("SLUICE_TEST_LOG"))
            .with_test_writer()
            .try_init();
    }
    let rt = runtime();
    let ns = ns.to_owned();
    rt.block_on(async move {
        sluice_operator::install_crypto_provider();
        let client = client_for(&rig.kubeconfig).await;
        create_namespace(&client, &ns).await;
        scenario(Env { client, ns, rig }).await;
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Helpers

pub const WAIT: Duration = Duration::from_secs(60);

pub fn api<K>(env: &Env) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(env.client.clone(), &env.ns)
}

pub async fn apply_example(env: &Env, file: &str) -> (Vec<StreamingTable>, Vec<StreamingJob>) {
    let (tables, jobs) = example(file, &env.ns);
    for t in &tables {
        apply(&env.client, &env.ns, t).await;
    }
    for j in &jobs {
        apply(&env.client, &env.ns, j).await;
    }
    (tables, jobs)
}

pub fn cond<'a>(
    job: &'a StreamingJob,
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    conditions::find(&job.status.as_ref()?.conditions, type_)
}

pub fn describe(job: &StreamingJob) -> String {
    match &job.status {
        None => "no status".to_owned(),
        Some(s) => format!(
            "gen {:?}/{:?} phase {:?} conditions [{}] replicas {:?}/{:?} partitions {}",
            s.observed_generation,
            job.metadata.generation,
            s.phase,
            s.conditions
                .iter()
                .map(|c| format!("{}={} {}: {}", c.type_, c.status, c.reason, c.message))
                .collect::<Vec<_>>()
                .join("; "),
            s.ready_replicas,
            s.replicas,
            s.partitions.len()
        ),
    }
}

/// Waits until the job satisfies `check` (which explains what is missing).
pub async fn wait_job(
    env: &Env,
    name: &str,
    what: &str,
    check: impl Fn(&StreamingJob) -> Result<(), String>,
) -> StreamingJob {
    let api: Api<StreamingJob> = api(env);
    eventually(&format!("job {name}: {what}"), WAIT, || {
        let api = api.clone();
        let r = async move { api.get(name).await.map_err(|e| e.to_string()) };
        let check = &check;
        async move {
            let job = r.await?;
            check(&job).map_err(|e| format!("{e} ({})", describe(&job)))?;
            Ok(job)
        }
    })
    .await
}

/// The status reflects the current generation.
pub fn observed(job: &StreamingJob) -> Result<(), String> {
    let s = job.status.as_ref().ok_or("no status")?;
    (s.observed_generation == job.metadata.generation)
        .then_some(())
        .ok_or_else(|| "generation not observed".to_owned())
}

pub fn condition_is(
    job: &StreamingJob,
    type_: &str,
    status: &str,
    reason: &str,
) -> Result<(), String> {
    observed(job)?;
    let c = cond(job, type_).ok_or_else(|| format!("no {type_} condition"))?;
    (c.status == status && c.reason == reason)
        .then_some(())
        .ok_or_else(|| format!("{type_} is {} {}", c.status, c.reason))
}

pub async fn wait_deployment(
    env: &Env,
    name: &str,
    what: &str,
    check: impl Fn(&Deployment) -> bool,
) -> Deployment {
    let api: Api<Deployment> = api(env);
    eventually(&format!("Deployment {name}: {what}"), WAIT, || {
        let api = api.clone();
        let check = &check;
        async move {
            match api.get_opt(name).await.map_err(|e| e.to_string())? {
                Some(d) if check(&d) => Ok(d),
                Some(d) => Err(format!(
                    "replicas {:?}, hash {:?}",
                    d.spec.as_ref().and_then(|s| s.replicas),
                    config_hash(&d)
                )),
                None => Err("absent".to_owned()),
            }
        }
    })
    .await
}

pub fn config_hash(d: &Deployment) -> Option<String> {
    d.spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(ANNOTATION_CONFIG_HASH)
        .cloned()
}

pub fn replicas(d: &Deployment) -> Option<i32> {
    d.spec.as_ref().and_then(|s| s.replicas)
}

pub async fn events_of(env: &Env, name: &str) -> Vec<Event> {
    let api: Api<Event> = api(env);
    api.list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect()
}

pub async fn wait_event(env: &Env, name: &str, reason: &str) -> Event {
    eventually(
        &format!("an Event {reason} for {name}"),
        WAIT,
        || async move {
            let events = events_of(env, name).await;
            events
                .iter()
                .find(|e| e.reason.as_deref() == Some(reason))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "events: {:?}",
                        events.iter().map(|e| e.reason.clone()).collect::<Vec<_>>()
                    )
                })
        },
    )
    .await
}

pub async fn pods_of(env: &Env, job: &str) -> Vec<Pod> {
    let api: Api<Pod> = api(env);
    api.list(&ListParams::default().labels(&format!("{LABEL_JOB}={job}")))
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect()
}

pub async fn wait_pods(env: &Env, job: &str, n: usize) -> Vec<Pod> {
    eventually(
        &format!("{n} executor pods of {job}"),
        WAIT,
        || async move {
            let pods = pods_of(env, job).await;
            if pods.len() == n {
                Ok(pods)
            } else {
                Err(format!("{} pods", pods.len()))
            }
        },
    )
    .await
}

pub fn job_yaml(name: &str, sql: &str) -> String {
    format!(
        "apiVersion: sluice.dev/v1alpha1\nkind: StreamingJob\nmetadata: {{name: {name}}}\nspec:\n  sql: |\n{}\n",
        sql.lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

pub const GOOD_SQL: &str = "INSERT INTO sink_table\nSELECT event_time, ticker, price,\n       DATE_FORMAT(event_time, 'yyyy-MM-dd'), DATE_FORMAT(event_time, 'HH')\nFROM stock_ticks\nWHERE price > 10";

pub async fn set_spec(env: &Env, name: &str, patch: serde_json::Value) {
    let api: Api<StreamingJob> = api(env);
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": patch })),
    )
    .await
    .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

pub fn partition(p: i32, records_in: i64, lag: i64, commit: &str) -> PartitionStatus {
    PartitionStatus {
        topic: "stock-ticks".into(),
        partition: p,
        committed_offset: records_in,
        high_watermark: Some(records_in + lag),
        lag: Some(lag),
        records_in,
        records_out: records_in / 2,
        records_filtered: records_in - records_in / 2,
        records_failed: 1,
        files_written: 2,
        bytes_written: 1000,
        pod: None,
        last_commit_time: Some(commit.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Operator processes

/// A `sluice-operator` process watching the scenario's namespace, with a Lease in it that
/// expires after 4 s (renew deadline 3 s, retry period 1 s). Killed (SIGKILL) when dropped.
pub struct OperatorProcess {
    pub child: std::process::Child,
    pub identity: String,
    pub metrics: String,
    pub log: PathBuf,
}

impl OperatorProcess {
    pub fn start(env: &Env, identity: &str) -> OperatorProcess {
        Self::start_with(env, identity, &[])
    }

    /// Starts one with more flags (e.g. `--executor-image`). Its log (appended across restarts
    /// of the same identity) is in `CARGO_TARGET_TMPDIR`.
    pub fn start_with(env: &Env, identity: &str, extra: &[&str]) -> OperatorProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log_path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("operator-{}-{identity}.log", env.ns));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_sluice-operator"))
            .env("KUBECONFIG", &env.rig.kubeconfig)
            .env("SLUICE_LOG", "info")
            .args([
                "--namespace",
                &env.ns,
                "--lease-namespace",
                &env.ns,
                "--identity",
                identity,
            ])
            .args([
                "--lease-duration-seconds",
                "4",
                "--renew-deadline-seconds",
                "3",
                "--retry-period-seconds",
                "1",
            ])
            .args([
                "--metrics-addr",
                &format!("127.0.0.1:{port}"),
                "--log-format",
                "text",
            ])
            .args(extra)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start sluice-operator");
        OperatorProcess {
            child,
            identity: identity.to_owned(),
            metrics: format!("127.0.0.1:{port}"),
            log: log_path,
        }
    }

    /// Its `/metrics` text; `None` when it does not answer.
    pub async fn scrape(&self) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&self.metrics).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).await.ok()?;
        Some(text)
    }

    /// The sum of the samples of the metric lines starting with `prefix` (a family name, or a
    /// name with some labels: `sluice_operator_writes_total{resource="Deployment"`).
    pub async fn metric(&self, prefix: &str) -> Option<f64> {
        let text = self.scrape().await?;
        Some(
            text.lines()
                .filter(|l| l.starts_with(prefix))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>()
                + 0.0, // an empty sum is -0
        )
    }

    /// Every write it made.
    pub async fn writes(&self) -> Option<f64> {
        self.metric("sluice_operator_writes_total").await
    }

    /// `Some(true)` when it reports leading, `None` when it does not answer.
    pub async fn leading(&self) -> Option<bool> {
        self.metric("sluice_operator_leader ")
            .await
            .map(|v| v == 1.0)
    }

    /// Sends a signal (`TERM`, `KILL`, `STOP`, `CONT`).
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
    }

    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// `kill -9`: no graceful shutdown, the Lease is not released.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn wait(&mut self) {
        let _ = self.child.wait();
    }

    /// Waits until it serves `/metrics` and, when `leading`, reports leading.
    pub async fn wait_up(&self, leading: bool) {
        eventually(&format!("operator {} up", self.identity), WAIT, || async {
            match self.leading().await {
                Some(l) if l || !leading => Ok(()),
                other => Err(format!("leading: {other:?}")),
            }
        })
        .await
    }

    /// Waits until it has made no write for 3 s; returns its write count.
    pub async fn settled(&self) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut last = -1.0;
        let mut since = Instant::now();
        loop {
            let now = self.writes().await.unwrap_or(-1.0);
            if now != last {
                last = now;
                since = Instant::now();
            }
            if now >= 0.0 && since.elapsed() >= Duration::from_secs(3) {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "operator {} kept writing or stopped answering ({last} writes; log: {})",
                self.identity,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn lease_holder(env: &Env) -> Option<String> {
    let api: Api<k8s_openapi::api::coordination::v1::Lease> = api(env);
    api.get_opt("sluice-operator")
        .await
        .ok()??
        .spec?
        .holder_identity
}
