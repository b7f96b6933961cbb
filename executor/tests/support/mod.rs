//! Real components for the executor's integration tests: an S3 server (moto, started by the
//! project's rig script), a Kafka-protocol broker (librdkafka's mock cluster in its own
//! process), the `sluice` binary, and the sink oracle (`sluice-testkit verify`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SLUICE: &str = env!("CARGO_BIN_EXE_sluice");
pub const TESTKIT: &str = env!("CARGO_BIN_EXE_sluice-testkit");

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One moto S3 server per test binary (stopped when the process exits via its state dir).
pub fn s3() -> &'static str {
    static MOTO: OnceLock<(String, tempfile::TempDir)> = OnceLock::new();
    &MOTO
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let out = Command::new(repo().join("e2e/rig/moto.sh"))
                .arg("start")
                .arg(dir.path())
                .output()
                .expect("run e2e/rig/moto.sh");
            assert!(
                out.status.success(),
                "moto.sh start failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            // Stop the server when the test process ends.
            let pid = std::fs::read_to_string(dir.path().join("moto.pid")).unwrap_or_default();
            let watcher = format!(
                "while kill -0 {} 2>/dev/null; do sleep 1; done; kill {} 2>/dev/null",
                std::process::id(),
                pid.trim()
            );
            let _ = Command::new("sh")
                .arg("-c")
                .arg(watcher)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            (url, dir)
        })
        .0
}

/// Creates a bucket on the test S3 server.
pub fn bucket(name: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(s3())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build(),
        );
        let _ = client.create_bucket().bucket(name).send().await;
    });
}

/// A mock Kafka cluster in its own process; killed on drop.
pub struct Kafka {
    child: Child,
    pub bootstrap: String,
    pub control: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kafka {
    pub fn start(topic: &str, partitions: i32) -> Kafka {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("bootstrap");
        let control = dir.path().join("control.sock");
        let child = Command::new(TESTKIT)
            .args([
                "mock-kafka",
                "--topic",
                &format!("{topic}:{partitions}"),
                "--ready-file",
            ])
            .arg(&ready)
            .arg("--control")
            .arg(&control)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the mock Kafka cluster");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ready.exists() {
            assert!(
                Instant::now() < deadline,
                "the mock Kafka cluster did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let bootstrap = std::fs::read_to_string(&ready).unwrap();
        Kafka {
            child,
            bootstrap,
            control,
            _dir: dir,
        }
    }

    /// Sends a fault command (`broker-down 1`, ...).
    pub fn control(&self, command: &str) -> String {
        use std::io::{Read as _, Write as _};
        let mut s = std::os::unix::net::UnixStream::connect(&self.control).expect("control socket");
        writeln!(s, "{command}").unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        reply.trim().to_owned()
    }

    /// Produces ticks `start..start+count` (ids are unique).
    pub fn produce(&self, topic: &str, start: u64, count: u64, extra: &[&str]) {
        let out = Command::new(TESTKIT)
            .args([
                "produce",
                "--bootstrap",
                &self.bootstrap,
                "--topic",
                topic,
                "--start",
                &start.to_string(),
                "--count",
                &count.to_string(),
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "produce failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Produces in the background.
    pub fn produce_in_background(&self, topic: &str, start: u64, count: u64, rate: u64) -> Child {
        Command::new(TESTKIT)
            .args([
                "produce",
                "--bootstrap",
                &self.bootstrap,
                "--topic",
                topic,
                "--start",
                &start.to_string(),
                "--count",
                &count.to_string(),
                "--rate",
                &rate.to_string(),
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    }
}

impl Drop for Kafka {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test job: ticks with ids, filtered on price, partitioned by ticker/dt/hr, to `path`.
pub fn job_yaml(
    bootstrap: &str,
    topic: &str,
    group: &str,
    path: &str,
    extra_source: &str,
    extra_sink: &str,
) -> String {
    let s3 = if path.starts_with("s3://") {
        format!(
            "    s3.endpoint: \"{}\"\n    s3.path.style.access: \"true\"\n",
            s3()
        )
    } else {
        String::new()
    };
    format!(
        r#"apiVersion: sluice.dev/v1alpha1
kind: StreamingTable
metadata: {{name: ticks}}
spec:
  connector: kafka
  format: json
  columns:
    - {{name: id, type: BIGINT}}
    - {{name: event_time, type: TIMESTAMP(3)}}
    - {{name: ticker, type: STRING}}
    - {{name: price, type: DOUBLE}}
  options:
    topic: {topic}
    properties.bootstrap.servers: "{bootstrap}"
    properties.group.id: {group}
    scan.startup.mode: earliest-offset
{extra_source}---
apiVersion: sluice.dev/v1alpha1
kind: StreamingTable
metadata: {{name: lake}}
spec:
  connector: filesystem
  format: json
  columns:
    - {{name: id, type: BIGINT}}
    - {{name: event_time, type: TIMESTAMP(3)}}
    - {{name: ticker, type: STRING}}
    - {{name: price, type: DOUBLE}}
    - {{name: dt, type: STRING}}
    - {{name: hr, type: STRING}}
  partitionedBy: [ticker, dt, hr]
  options:
    path: {path}
    sink.rolling-policy.inactivity-interval: 1s
{s3}{extra_sink}---
apiVersion: sluice.dev/v1alpha1
kind: StreamingJob
metadata: {{name: {group}}}
spec:
  executor: {{commitInterval: 500ms}}
  sql: |
    INSERT INTO lake
    SELECT id, event_time, ticker, price, DATE_FORMAT(event_time, 'yyyy-MM-dd'), DATE_FORMAT(event_time, 'HH')
    FROM ticks WHERE price > 10
"#
    )
}

/// Writes manifests into `dir` and returns the file.
pub fn write_job(dir: &Path, yaml: &str) -> PathBuf {
    let f = dir.join("job.yaml");
    std::fs::write(&f, yaml).unwrap();
    f
}

fn sluice(job: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(SLUICE);
    c.arg("run")
        .arg("-f")
        .arg(job)
        .args(["--metrics-port", "0", "--log-format", "text"])
        .args(args);
    c.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("SLUICE_LOG", "info");
    c
}

/// Runs `sluice run` until it is idle for `idle`; returns its output.
pub fn run_until_idle(job: &Path, idle: &str) -> Output {
    sluice(job, &["--until-idle", idle])
        .output()
        .expect("run sluice")
}

/// Starts `sluice run` (to be killed).
pub fn spawn(job: &Path, log: &Path) -> Child {
    let f = std::fs::File::create(log).unwrap();
    sluice(job, &[])
        .stdout(Stdio::null())
        .stderr(f)
        .spawn()
        .expect("start sluice")
}

/// The oracle's report: produced, expected, found, missing, duplicated, ...
#[derive(Debug, serde::Deserialize)]
pub struct Report {
    pub produced: u64,
    pub expected: u64,
    pub found: u64,
    pub rows: u64,
    pub files: u64,
    pub missing: u64,
    pub duplicated: u64,
    pub unexpected: u64,
    pub misplaced: u64,
}

/// Reads the whole sink and compares it with the ticks `0..count`.
pub fn verify(sink: &str, count: u64, extra: &[&str]) -> Report {
    let out = Command::new(TESTKIT)
        .args([
            "verify",
            "--sink",
            sink,
            "--s3-endpoint",
            s3(),
            "--count",
            &count.to_string(),
        ])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_else(|e| {
        panic!(
            "oracle output {text:?} ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A unique name for buckets and groups.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}
