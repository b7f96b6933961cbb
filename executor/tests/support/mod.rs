//! Real components for the executor's integration tests: an S3 server (moto, started by the
//! project's rig script), a Kafka-protocol broker (librdkafka's mock cluster in its own
//! process), the `sluice` binary, and the sink oracle (`sluice-testkit verify`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `sluice` binary: this build's, or a copy named by `SLUICE_BIN` (builds that share a
/// target directory replace each other's binaries).
pub static SLUICE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("SLUICE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sluice").to_owned())
});
/// The `sluice-testkit` binary, or a copy named by `SLUICE_TESTKIT_BIN`.
pub static TESTKIT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var("SLUICE_TESTKIT_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_sluice-testkit").to_owned())
});

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
        let shared = sluice_executor::connector::filesystem::store::s3::aws_defaults()
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
        Kafka::start_with(topic, partitions, 1)
    }

    /// A cluster of `brokers` brokers.
    pub fn start_with(topic: &str, partitions: i32, brokers: i32) -> Kafka {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("bootstrap");
        let control = dir.path().join("control.sock");
        let child = Command::new(&*TESTKIT)
            .args([
                "mock-kafka",
                "--topic",
                &format!("{topic}:{partitions}"),
                "--brokers",
                &brokers.to_string(),
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
        produce_to(&self.bootstrap, topic, start, count, extra);
    }

    /// Produces in the background.
    pub fn produce_in_background(&self, topic: &str, start: u64, count: u64, rate: u64) -> Child {
        self.produce_in_background_with(topic, start, count, rate, &[])
    }

    /// Produces in the background with extra `produce` options.
    pub fn produce_in_background_with(
        &self,
        topic: &str,
        start: u64,
        count: u64,
        rate: u64,
        extra: &[&str],
    ) -> Child {
        produce_in_background_to(&self.bootstrap, topic, start, count, rate, extra)
    }
}

/// `sluice-testkit produce` of ticks `start..start+count` to `topic` at `bootstrap`.
fn produce_command(bootstrap: &str, topic: &str, start: u64, count: u64) -> Command {
    let mut c = Command::new(&*TESTKIT);
    c.args([
        "produce",
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--start",
        &start.to_string(),
        "--count",
        &count.to_string(),
    ]);
    c
}

/// Produces ticks `start..start+count` (ids are unique) to any Kafka-protocol broker.
pub fn produce_to(bootstrap: &str, topic: &str, start: u64, count: u64, extra: &[&str]) {
    let out = produce_command(bootstrap, topic, start, count)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "produce failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Produces ticks at `rate` a second in the background to any Kafka-protocol broker.
pub fn produce_in_background_to(
    bootstrap: &str,
    topic: &str,
    start: u64,
    count: u64,
    rate: u64,
    extra: &[&str],
) -> Child {
    produce_command(bootstrap, topic, start, count)
        .args(["--rate", &rate.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
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
    let mut c = Command::new(&*SLUICE);
    c.arg("run")
        .arg("-f")
        .arg(job)
        .args(["--log-format", "text"]);
    if !args.contains(&"--metrics-port") {
        c.args(["--metrics-port", "0"]);
    }
    c.args(args);
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
    /// Data objects written (with the proxy's log).
    #[serde(default)]
    pub object_writes: u64,
    /// Data objects written more than once.
    #[serde(default)]
    pub rewritten: u64,
    /// Writes that replaced an object with one of fewer rows.
    #[serde(default)]
    pub shrunk: u64,
}

/// Reads the whole sink and compares it with the ticks `0..count`.
pub fn verify(sink: &str, count: u64, extra: &[&str]) -> Report {
    let out = Command::new(&*TESTKIT)
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

// ---- The fault suite's components (executor/tests/faults.rs) ----

/// The S3 fault proxy (`sluice-testkit s3-proxy`) in front of the test S3 server; killed on
/// drop. Every request it served is in `log` (JSON lines).
pub struct S3Proxy {
    child: Child,
    pub url: String,
    pub control: PathBuf,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl S3Proxy {
    pub fn start() -> S3Proxy {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("url");
        let control = dir.path().join("control.sock");
        let log = dir.path().join("requests.jsonl");
        let child = Command::new(&*TESTKIT)
            .args(["s3-proxy", "--upstream", s3(), "--ready-file"])
            .arg(&ready)
            .arg("--control")
            .arg(&control)
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the S3 proxy");
        wait_for(Duration::from_secs(20), "the S3 proxy to listen", || {
            ready.exists() && control.exists()
        });
        let url = std::fs::read_to_string(&ready).unwrap();
        S3Proxy {
            child,
            url,
            control,
            log,
            _dir: dir,
        }
    }

    /// Sends a fault command (`errors 0.2`, `outage 60`, `fail UploadPart -0-0.json 500 10`).
    pub fn control(&self, command: &str) {
        use std::io::{Read as _, Write as _};
        let mut s = std::os::unix::net::UnixStream::connect(&self.control).expect("control socket");
        writeln!(s, "{command}").unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert_eq!(reply.trim(), "ok", "proxy command {command:?}");
    }

    /// Requests by operation and status sent (for messages).
    pub fn summary(&self) -> String {
        let mut c: std::collections::BTreeMap<String, u64> = Default::default();
        for q in self.requests() {
            *c.entry(format!("{} {}", q["op"].as_str().unwrap_or("?"), q["sent"]))
                .or_default() += 1;
        }
        format!("{c:?}")
    }

    /// The logged requests.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for S3Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `cond` until it holds, or panics after `limit` naming `what`.
pub fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A test job: the ticks job of [`job_yaml`] with knobs.
#[derive(Clone, Debug)]
pub struct Job {
    pub bootstrap: String,
    pub topic: String,
    pub group: String,
    pub path: String,
    /// S3 endpoint for the sink (the proxy), default the S3 server.
    pub endpoint: Option<String>,
    /// Extra source options (indented lines).
    pub source: String,
    /// Extra sink options (indented lines).
    pub sink: String,
    /// `spec.executor` (flow map body).
    pub executor: String,
}

impl Job {
    pub fn new(kafka: &Kafka, topic: &str, group: &str, path: &str) -> Job {
        Job::on(&kafka.bootstrap, topic, group, path)
    }

    /// The job on any Kafka-protocol broker.
    pub fn on(bootstrap: &str, topic: &str, group: &str, path: &str) -> Job {
        Job {
            bootstrap: bootstrap.to_owned(),
            topic: topic.to_owned(),
            group: group.to_owned(),
            path: path.to_owned(),
            endpoint: None,
            // Short sessions: a killed executor's partitions move in seconds.
            source: "    properties.session.timeout.ms: \"2000\"\n    properties.heartbeat.interval.ms: \"300\"\n".to_owned(),
            sink: String::new(),
            executor: "commitInterval: 500ms".to_owned(),
        }
    }

    pub fn yaml(&self) -> String {
        let mut y = job_yaml(
            &self.bootstrap,
            &self.topic,
            &self.group,
            &self.path,
            &self.source,
            &self.sink,
        );
        if let Some(e) = &self.endpoint {
            y = y.replace(
                &format!("s3.endpoint: \"{}\"", s3()),
                &format!("s3.endpoint: \"{e}\""),
            );
        }
        y.replace(
            "executor: {commitInterval: 500ms}",
            &format!("executor: {{{}}}", self.executor),
        )
    }

    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let f = dir.join(name);
        std::fs::write(&f, self.yaml()).unwrap();
        f
    }
}

/// Starts `sluice run` with extra environment and arguments (stderr to `log`).
pub fn spawn_with(job: &Path, log: &Path, env: &[(&str, &str)], args: &[&str]) -> Child {
    let f = std::fs::File::create(log).unwrap();
    let mut c = sluice(job, args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdout(Stdio::null())
        .stderr(f)
        .spawn()
        .expect("start sluice")
}

/// Runs `sluice run --until-idle` with extra environment and arguments.
pub fn run_until_idle_with(job: &Path, idle: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = sluice(job, &["--until-idle", idle]);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run sluice")
}

/// The oracle with the proxy's log (no object replaced by a smaller one) and extra options.
pub fn verify_full(sink: &str, count: u64, proxy: Option<&S3Proxy>, extra: &[&str]) -> Report {
    let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    if let Some(p) = proxy {
        args.push("--proxy-log".into());
        args.push(p.log.display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    verify(sink, count, &refs)
}

/// Resident memory of a process, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Sends a signal.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a child's pid.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// A commit record's header (see `executor/src/connector/filesystem/commit_log.rs`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CommitRecord {
    pub topic: String,
    pub partition: i32,
    pub seq: u64,
    pub epoch: u64,
    pub owner: String,
    pub offset: Option<i64>,
    pub counters: serde_json::Value,
}

fn decode_record(bytes: &[u8]) -> Option<CommitRecord> {
    if bytes.len() < 12 || &bytes[..8] != b"SLUICE1\n" {
        return None;
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().ok()?) as usize;
    serde_json::from_slice(bytes.get(12..12 + len)?).ok()
}

/// The latest commit record of every split of a sink (`file://` or `s3://` on the S3 server).
pub fn latest_commits(sink: &str) -> Vec<CommitRecord> {
    let mut all: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(rest) = sink.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = s3_client().await;
            let mut token = None;
            loop {
                let mut req = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(format!("{prefix}/_sluice/"));
                if let Some(t) = &token {
                    req = req.continuation_token(t);
                }
                let page = req.send().await.unwrap();
                for o in page.contents() {
                    let key = o.key().unwrap().to_owned();
                    if let Ok(obj) = client.get_object().bucket(bucket).key(&key).send().await {
                        let bytes = obj.body.collect().await.unwrap().into_bytes().to_vec();
                        all.push((key, bytes));
                    }
                }
                token = page.next_continuation_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        });
    } else {
        let root = PathBuf::from(sink.strip_prefix("file://").unwrap_or(sink)).join("_sluice");
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "commit")
                    && let Ok(b) = std::fs::read(&p)
                {
                    all.push((p.display().to_string(), b));
                }
            }
        }
    }
    let mut latest: std::collections::BTreeMap<(String, i32), CommitRecord> = Default::default();
    for (_, bytes) in all {
        if let Some(r) = decode_record(&bytes) {
            let k = (r.topic.clone(), r.partition);
            if latest.get(&k).is_none_or(|l| l.seq < r.seq) {
                latest.insert(k, r);
            }
        }
    }
    latest.into_values().collect()
}

async fn s3_client() -> aws_sdk_s3::Client {
    let shared = sluice_executor::connector::filesystem::store::s3::aws_defaults()
        .endpoint_url(s3())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build(),
    )
}

/// Every object of a bucket under a prefix: key → bytes.
pub fn objects(bucket: &str, prefix: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = s3_client().await;
        let mut out = std::collections::BTreeMap::new();
        let mut token = None;
        loop {
            let mut req = client.list_objects_v2().bucket(bucket).prefix(prefix);
            if let Some(t) = &token {
                req = req.continuation_token(t);
            }
            let page = req.send().await.unwrap();
            for o in page.contents() {
                let key = o.key().unwrap().to_owned();
                let obj = client
                    .get_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .unwrap();
                out.insert(key, obj.body.collect().await.unwrap().into_bytes().to_vec());
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                return out;
            }
        }
    })
}

/// Prints a scenario's counts in one line (collected by `.ci/run` logs).
pub fn print_counts(scenario: &str, r: &Report) {
    println!(
        "FAULTS {scenario}: produced={} expected={} found={} missing={} duplicated={} unexpected={} object_writes={} rewritten={} shrunk={}",
        r.produced,
        r.expected,
        r.found,
        r.missing,
        r.duplicated,
        r.unexpected,
        r.object_writes,
        r.rewritten,
        r.shrunk
    );
}

/// The oracle's verdict: each expected record exactly once, in its partition, and no object
/// replaced by one with fewer rows.
pub fn assert_exactly_once(r: &Report) {
    assert_eq!(
        (r.missing, r.duplicated, r.unexpected, r.misplaced, r.shrunk),
        (0, 0, 0, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.found, r.expected, "{r:?}");
}

/// tansu (an independent Kafka-compatible broker) with persistent storage: a bucket on the
/// test S3 server, through `e2e/rig/tansu.sh`. Stopped on drop.
pub struct Tansu {
    pub bootstrap: String,
    pub bin: PathBuf,
    port: String,
    storage: String,
    dir: tempfile::TempDir,
}

impl Tansu {
    /// The installed tansu binary, or why there is none (the rig builds it only when asked:
    /// `SLUICE_TANSU=1 ./test.sh`, or `e2e/rig/tansu.sh install`).
    pub fn installed() -> Result<PathBuf, String> {
        let out = Command::new(repo().join("e2e/rig/tansu.sh"))
            .arg("installed")
            .output()
            .map_err(|e| format!("cannot run e2e/rig/tansu.sh: {e}"))?;
        if out.status.success() {
            Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Starts tansu storing everything in a new bucket of the test S3 server.
    pub fn start(bin: PathBuf) -> Tansu {
        let storage = unique("tansu");
        bucket(&storage);
        let mut t = Tansu {
            bootstrap: String::new(),
            bin,
            port: String::new(),
            storage: format!("s3://{storage}/"),
            dir: tempfile::tempdir().unwrap(),
        };
        t.up();
        t
    }

    fn script(&self, args: &[&str]) -> Output {
        Command::new(repo().join("e2e/rig/tansu.sh"))
            .args(args)
            .env("SLUICE_TANSU_STORAGE", &self.storage)
            .env("SLUICE_TANSU_S3_ENDPOINT", s3())
            .output()
            .expect("run e2e/rig/tansu.sh")
    }

    fn up(&mut self) {
        let sd = self.dir.path().display().to_string();
        let mut args = vec!["start", sd.as_str()];
        if !self.port.is_empty() {
            args.push(&self.port);
        }
        let out = self.script(&args);
        assert!(
            out.status.success(),
            "tansu.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.bootstrap = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        self.port = self
            .bootstrap
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
    }

    /// Stops the broker (SIGTERM, as a pod would be stopped).
    pub fn stop(&self) {
        let sd = self.dir.path().display().to_string();
        let out = self.script(&["stop", &sd]);
        assert!(out.status.success(), "tansu.sh stop failed");
    }

    /// Starts it again on the same port and storage.
    pub fn start_again(&mut self) {
        self.up();
    }

    /// Creates a topic.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let out = Command::new(&self.bin)
            .args([
                "topic",
                "create",
                topic,
                "--partitions",
                &partitions.to_string(),
            ])
            .args(["--broker", &format!("tcp://{}", self.bootstrap)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tansu topic create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The broker's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let sd = self.dir.path().display().to_string();
        let _ = self.script(&["stop", &sd]);
    }
}
