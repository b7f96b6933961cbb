//! `StatusWriter` against a real kube-apiserver 1.20 (`e2e/rig/apiserver.sh`, stopped by a drop
//! guard): entries per pod, ownership moving with a partition, empty publishes removing a pod's
//! entries (down to none), skipped duplicates, and errors with their HTTP code. The operator's
//! tests (`operator/tests/api_server.rs`) cover the same writer with the executor's RBAC.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, CustomResourceExt, ResourceExt};
use sluice_crds::{PartitionStatus, StreamingJob};
use sluice_executor::status::StatusWriter;

struct ApiServer {
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn rig() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/rig/apiserver.sh")
}

impl ApiServer {
    fn start() -> ApiServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(rig())
            .arg("start")
            .arg(dir.path())
            .output()
            .expect("run e2e/rig/apiserver.sh");
        assert!(
            out.status.success(),
            "apiserver.sh start failed (run e2e/rig/prepare.sh first):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kubeconfig = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        ApiServer { dir, kubeconfig }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = Command::new(rig())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn entry(partition: i32, offset: i64) -> PartitionStatus {
    PartitionStatus {
        topic: "ticks".into(),
        partition,
        committed_offset: offset,
        records_in: offset,
        ..Default::default()
    }
}

fn owners(job: &StreamingJob) -> Vec<(i32, String)> {
    let mut v: Vec<_> = job
        .status
        .iter()
        .flat_map(|s| &s.partitions)
        .map(|p| (p.partition, p.pod.clone().unwrap_or_default()))
        .collect();
    v.sort();
    v
}

/// A client of `server` with the StreamingJob CRD installed and established.
async fn client_with_crd(server: &ApiServer) -> Client {
    sluice_executor::install_crypto_provider();
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&server.kubeconfig).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let client = Client::try_from(config).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = StreamingJob::crd();
    crds.patch(
        &crd.name_any(),
        &PatchParams::apply("test").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    eventually("the CRD to be established", || {
        let crds = crds.clone();
        async move {
            let crd = crds.get("streamingjobs.sluice.dev").await.ok()?;
            crd.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        }
    })
    .await;
    client
}

/// Creates the job `name` (retrying while the new CRD's endpoint comes up).
async fn create_job(client: &Client, name: &str) -> Api<StreamingJob> {
    let jobs: Api<StreamingJob> = Api::namespaced(client.clone(), "default");
    let job = serde_json::json!({
        "apiVersion": "sluice.dev/v1alpha1", "kind": "StreamingJob",
        "metadata": {"name": name},
        "spec": {"sql": "INSERT INTO s SELECT * FROM t"}
    });
    eventually("the job to be created", || {
        let jobs = jobs.clone();
        let job = job.clone();
        async move {
            jobs.patch(name, &PatchParams::apply("test"), &Patch::Apply(&job))
                .await
                .ok()
        }
    })
    .await;
    jobs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_publish_their_own_partition_entries_and_only_those() {
    let server = ApiServer::start();
    let client = client_with_crd(&server).await;
    let jobs = create_job(&client, "ticks").await;
    let a = StatusWriter::with_client(client.clone(), "default", "ticks", "pod-a");
    let b = StatusWriter::with_client(client.clone(), "default", "ticks", "pod-b");
    assert_eq!(a.field_manager(), "sluice-executor-pod-a");

    a.publish(&[entry(0, 10), entry(1, 20)]).await.unwrap();
    b.publish(&[entry(2, 30)]).await.unwrap();
    let got = jobs.get("ticks").await.unwrap();
    assert_eq!(
        owners(&got),
        [
            (0, "pod-a".into()),
            (1, "pod-a".into()),
            (2, "pod-b".into())
        ]
    );

    // Partition 1 moves to b; a's later publish without it does not remove b's entry.
    b.publish(&[entry(1, 25), entry(2, 30)]).await.unwrap();
    a.publish(&[entry(0, 11)]).await.unwrap();
    let got = jobs.get("ticks").await.unwrap();
    assert_eq!(
        owners(&got),
        [
            (0, "pod-a".into()),
            (1, "pod-b".into()),
            (2, "pod-b".into())
        ]
    );
    let p1 = &got.status.as_ref().unwrap().partitions[1];
    assert_eq!((p1.partition, p1.committed_offset), (1, 25));

    // The same entries again within a minute: no request, no new resourceVersion.
    a.publish(&[entry(0, 11)]).await.unwrap();
    assert_eq!(
        jobs.get("ticks").await.unwrap().resource_version(),
        got.resource_version()
    );

    // Empty publishes remove a pod's entries, down to none (a null list on 1.20).
    a.publish(&[]).await.unwrap();
    assert_eq!(
        owners(&jobs.get("ticks").await.unwrap()),
        [(1, "pod-b".into()), (2, "pod-b".into())]
    );
    b.publish(&[]).await.unwrap();
    assert!(owners(&jobs.get("ticks").await.unwrap()).is_empty());
    b.publish(&[entry(2, 31)]).await.unwrap();
    assert_eq!(
        owners(&jobs.get("ticks").await.unwrap()),
        [(2, "pod-b".into())]
    );

    let gone = StatusWriter::with_client(client, "default", "no-such-job", "pod-a");
    let err = gone.publish(&[entry(0, 1)]).await.unwrap_err();
    assert_eq!(err.code(), Some(404), "{err}");
}

/// A real `sluice run` in "pod mode" (`POD_NAME` set, kubeconfig of the real API server)
/// writes its committed offsets, lag and counters into the job's status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_executor_writes_its_progress_into_the_job_status() {
    let server = ApiServer::start();
    let client = client_with_crd(&server).await;
    let group = support::unique("status");
    let jobs = create_job(&client, &group).await;
    let kafka = support::Kafka::start("ticks", 3);
    kafka.produce("ticks", 0, 3_000, &[]);
    let dir = tempfile::tempdir().unwrap();
    let sink = format!("file://{}/lake", dir.path().display());
    let manifests = support::write_job(
        dir.path(),
        &support::job_yaml(&kafka.bootstrap, "ticks", &group, &sink, "", ""),
    );
    let out = Command::new(support::SLUICE)
        .args(["run", "--metrics-port", "0", "--until-idle", "3s", "-f"])
        .arg(&manifests)
        .env("POD_NAME", "executor-0")
        .env("POD_NAMESPACE", "default")
        .env("KUBECONFIG", &server.kubeconfig)
        .env("SLUICE_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "sluice run failed:\n{log}");
    assert!(
        log.contains("writing progress to the job status"),
        "status write-back did not start:\n{log}"
    );
    let report = support::verify(&sink, 3_000, &[]);
    let job = jobs.get(&group).await.unwrap();
    let mut parts = job.status.clone().unwrap_or_default().partitions;
    parts.sort_by_key(|p| p.partition);
    assert_eq!(
        parts.iter().map(|p| p.partition).collect::<Vec<_>>(),
        [0, 1, 2],
        "one entry per partition: {parts:?}\n{log}"
    );
    for p in &parts {
        assert_eq!(p.topic, "ticks");
        assert_eq!(p.pod.as_deref(), Some("executor-0"));
        assert_eq!(p.high_watermark, Some(p.committed_offset), "{p:?}");
        assert_eq!(p.lag, Some(0), "{p:?}");
        assert_eq!(p.records_in, p.committed_offset, "{p:?}");
        assert!(p.last_commit_time.is_some(), "{p:?}");
    }
    let sum = |f: fn(&PartitionStatus) -> i64| parts.iter().map(f).sum::<i64>();
    assert_eq!(sum(|p| p.committed_offset), 3_000);
    assert_eq!(sum(|p| p.records_in), 3_000);
    assert_eq!(
        sum(|p| p.records_out) as u64,
        report.expected,
        "records out match what the query keeps"
    );
    assert_eq!(sum(|p| p.records_out) + sum(|p| p.records_filtered), 3_000);
    assert!(sum(|p| p.files_written) > 0 && sum(|p| p.bytes_written) > 0);
    assert_eq!((report.missing, report.duplicated), (0, 0), "{report:?}");
}
