//! Test support: one real API server per test binary (`e2e/rig/apiserver.sh`, stopped by a
//! drop guard), a namespace per test, in-process or subprocess operators, and polling helpers
//! (never sleep to wait: poll with a deadline).

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use sluice_crds::{StreamingJob, StreamingTable};
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
        .unwrap_or_else(|e| panic!("bad test YAML: {e:?}"));
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
