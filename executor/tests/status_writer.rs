//! `StatusWriter` against a real kube-apiserver 1.20 (`e2e/rig/apiserver.sh`, stopped by a drop
//! guard): entries per pod, ownership moving with a partition, empty publishes removing a pod's
//! entries (down to none), skipped duplicates, and errors with their HTTP code. The operator's
//! tests (`operator/tests/api_server.rs`) cover the same writer with the executor's RBAC.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

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
/// writes its committed offsets, lag and counters into the job's status while it runs, and
/// removes its entries when it stops (a stopped pod owns no partition).
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
    let yaml = support::job_yaml(&kafka.bootstrap, "ticks", &group, &sink, "", "").replace(
        "executor: {commitInterval: 500ms}",
        "executor: {commitInterval: 500ms, statusInterval: 1s}",
    );
    assert!(yaml.contains("statusInterval"));
    let manifests = support::write_job(dir.path(), &yaml);
    let log = dir.path().join("sluice.log");
    let mut child = Command::new(&*support::SLUICE)
        .args(["run", "--metrics-port", "0", "-f"])
        .arg(&manifests)
        .env("POD_NAME", "executor-0")
        .env("POD_NAMESPACE", "default")
        .env("KUBECONFIG", &server.kubeconfig)
        .env("SLUICE_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let sum = |parts: &[PartitionStatus], f: fn(&PartitionStatus) -> i64| {
        parts.iter().map(f).sum::<i64>()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let parts = loop {
        let job = jobs.get(&group).await.unwrap();
        let mut parts = job.status.clone().unwrap_or_default().partitions;
        parts.sort_by_key(|p| p.partition);
        if parts.len() == 3
            && sum(&parts, |p| p.committed_offset) == 3_000
            && parts.iter().all(|p| p.lag == Some(0))
        {
            break parts;
        }
        assert!(
            Instant::now() < deadline,
            "the status did not reach 3,000 committed records: {parts:?}\n{}",
            read_log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for p in &parts {
        assert_eq!(p.topic, "ticks");
        assert_eq!(p.pod.as_deref(), Some("executor-0"));
        assert_eq!(p.high_watermark, Some(p.committed_offset), "{p:?}");
        assert_eq!(p.records_in, p.committed_offset, "{p:?}");
        assert!(p.last_commit_time.is_some(), "{p:?}");
    }
    let report = support::verify(&sink, 3_000, &[]);
    assert_eq!((report.missing, report.duplicated), (0, 0), "{report:?}");
    assert_eq!(sum(&parts, |p| p.records_in), 3_000);
    assert_eq!(
        sum(&parts, |p| p.records_out) as u64,
        report.expected,
        "records out match what the query keeps"
    );
    assert_eq!(
        sum(&parts, |p| p.records_out) + sum(&parts, |p| p.records_filtered),
        3_000
    );
    assert!(sum(&parts, |p| p.files_written) > 0 && sum(&parts, |p| p.bytes_written) > 0);

    // A graceful stop hands every partition over: the last write removes this pod's entries.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "sluice run failed:\n{}", read_log());
    let job = jobs.get(&group).await.unwrap();
    assert!(
        job.status.unwrap_or_default().partitions.is_empty(),
        "a stopped pod keeps no entries"
    );
}
