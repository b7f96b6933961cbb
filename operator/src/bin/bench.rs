//! `sluice-operator-bench`: applies many jobs and reports how the operator copes.
//!
//! Starts a real API server (`e2e/rig/apiserver.sh`, unless `--kubeconfig` names one), installs
//! the CRDs and two tables, runs the `sluice-operator` binary next to this one (all namespaces,
//! leader election on), applies `--jobs` jobs (default 1,000) and prints:
//! - the time from the first job applied until every job has its Deployment, and until every
//!   job's status reports its generation;
//! - the operator's peak RSS (`VmHWM`) and RSS at rest;
//! - API requests (and writes) per minute at rest, from the operator's own `/metrics`.
//!
//! `cargo run --release -p sluice-operator --bin sluice-operator-bench [-- --jobs N]`

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, ResourceExt};
use sluice_crds::{StreamingJob, StreamingTable};

#[derive(Parser, Debug)]
#[command(about = "Applies many StreamingJobs and measures sluice-operator")]
struct Args {
    /// How many jobs to apply.
    #[arg(long, default_value_t = 1000)]
    jobs: usize,
    /// How long to measure API requests at rest, in seconds.
    #[arg(long, default_value_t = 60)]
    rest_seconds: u64,
    /// Jobs applied concurrently.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// An existing cluster's kubeconfig (default: start a fresh API server).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The operator binary (default: `sluice-operator` next to this binary).
    #[arg(long)]
    operator: Option<PathBuf>,
}

struct ApiServer {
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl ApiServer {
    fn start() -> anyhow::Result<ApiServer> {
        let dir = tempfile::Builder::new().prefix("sluice-bench-").tempdir()?;
        let out = Command::new(root().join("e2e/rig/apiserver.sh"))
            .arg("start")
            .arg(dir.path())
            .output()
            .context("run e2e/rig/apiserver.sh")?;
        if !out.status.success() {
            bail!(
                "apiserver.sh start failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let kubeconfig = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Ok(ApiServer { dir, kubeconfig })
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = Command::new(root().join("e2e/rig/apiserver.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

struct Operator {
    child: Child,
    metrics: String,
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Operator {
    fn proc_status(&self, key: &str) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = text.lines().find(|l| l.starts_with(key))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    async fn scrape(&self) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&self.metrics).await.ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).await.ok()?;
        Some(text)
    }

    /// Requests by verb (`get`, `watch`, `update`, ...).
    async fn requests_by_verb(&self) -> std::collections::BTreeMap<String, f64> {
        let text = self.scrape().await.unwrap_or_default();
        text.lines()
            .filter_map(|l| l.strip_prefix("sluice_operator_api_requests_total{verb=\""))
            .filter_map(|l| {
                let (verb, rest) = l.split_once('"')?;
                Some((verb.to_owned(), rest.rsplit(' ').next()?.parse().ok()?))
            })
            .collect()
    }

    /// The sum of a metric family's samples.
    async fn sum(&self, family: &str) -> Option<f64> {
        let text = self.scrape().await?;
        Some(
            text.lines()
                .filter(|l| l.starts_with(family) && !l.starts_with('#'))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum(),
        )
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn client_for(kubeconfig: &Path) -> anyhow::Result<Client> {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig)?,
        &KubeConfigOptions::default(),
    )
    .await?;
    Ok(Client::try_from(config)?)
}

/// The namespace the bench applies its tables and jobs to.
const NS: &str = "sluice-bench";

/// Metric families read from the operator's `/metrics`.
const API_REQUESTS: &str = "sluice_operator_api_requests_total";
const WRITES: &str = "sluice_operator_writes_total";

async fn run(args: Args) -> anyhow::Result<()> {
    sluice_operator::install_crypto_provider();
    let server = match &args.kubeconfig {
        Some(_) => None,
        None => {
            eprintln!("starting the API server (e2e/rig/apiserver.sh)...");
            Some(ApiServer::start()?)
        }
    };
    let kubeconfig = match (&args.kubeconfig, &server) {
        (Some(k), _) => k.clone(),
        (None, Some(s)) => s.kubeconfig.clone(),
        (None, None) => bail!("no cluster"),
    };
    let client = client_for(&kubeconfig).await?;
    install_crds(&client).await?;
    let template = prepare_namespace(&client).await?;
    let (operator, log_path) = start_operator(&args, &kubeconfig).await?;
    let requests_before = operator.sum(API_REQUESTS).await.unwrap_or(0.0);

    let jobs: Api<StreamingJob> = Api::namespaced(client.clone(), NS);
    let t0 = Instant::now();
    apply_jobs(&jobs, template, &args).await?;
    let applied = t0.elapsed();
    eprintln!(
        "applied in {:.1}s; waiting for Deployments...",
        applied.as_secs_f64()
    );
    let handled = wait_until_handled(&client, &jobs, args.jobs, t0).await?;
    let peak_after_burst = operator.proc_status("VmHWM:").unwrap_or(0);
    let requests_burst = operator.sum(API_REQUESTS).await.unwrap_or(0.0) - requests_before;
    settle(&operator).await?;
    let rest = measure_at_rest(&operator, args.rest_seconds).await;
    let stopped = stop_gracefully(operator);
    let pods = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), NS)
        .list_metadata(&ListParams::default())
        .await?
        .items
        .len();
    print_report(&Report {
        jobs: args.jobs,
        applied,
        handled,
        requests_burst,
        peak_after_burst,
        rest,
        pods,
        stopped,
        log_path,
    });
    Ok(())
}

/// Creates the namespace and the example's tables; returns the example's job.
async fn prepare_namespace(client: &Client) -> anyhow::Result<StreamingJob> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(NS.to_owned());
    let _ = namespaces.create(&PostParams::default(), &namespace).await;
    let m = sluice_crds::Manifests::load(&[root().join("examples/stock-ticks.yaml")])
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let tables: Api<StreamingTable> = Api::namespaced(client.clone(), NS);
    for (t, _) in &m.tables {
        let mut t = t.clone();
        t.metadata.namespace = Some(NS.to_owned());
        tables
            .patch(
                &t.name_any(),
                &PatchParams::apply("bench"),
                &Patch::Apply(&t),
            )
            .await?;
    }
    let (template, _) = m.job(None).map_err(anyhow::Error::msg)?.clone();
    Ok(template)
}

/// Starts the operator as a process and waits until it leads; returns it and its log file.
async fn start_operator(args: &Args, kubeconfig: &Path) -> anyhow::Result<(Operator, PathBuf)> {
    let exe = match &args.operator {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no parent")?
            .join("sluice-operator"),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log_path = std::env::temp_dir().join("sluice-operator-bench.log");
    let log = std::fs::File::create(&log_path)?;
    let child = Command::new(&exe)
        .env("KUBECONFIG", kubeconfig)
        .env("SLUICE_LOG", "warn")
        .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("start {}", exe.display()))?;
    let operator = Operator {
        child,
        metrics: format!("127.0.0.1:{port}"),
    };
    let started = Instant::now();
    loop {
        if let Some(text) = operator.scrape().await
            && text.lines().any(|l| l == "sluice_operator_leader 1")
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the operator did not start leading (log: {})",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "operator leading after {:.1}s; applying {} jobs...",
        started.elapsed().as_secs_f64(),
        args.jobs
    );
    Ok((operator, log_path))
}

/// Creates `args.jobs` copies of `template`, `args.concurrency` at a time.
async fn apply_jobs(
    jobs: &Api<StreamingJob>,
    template: StreamingJob,
    args: &Args,
) -> anyhow::Result<()> {
    let template = Arc::new(template);
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..args.jobs)
        .map(|i| {
            let jobs = jobs.clone();
            let template = template.clone();
            async move {
                let mut job = (*template).clone();
                job.metadata.name = Some(format!("job-{i:04}"));
                job.metadata.namespace = Some(NS.to_owned());
                jobs.create(&PostParams::default(), &job).await?;
                Ok(())
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    if let Some(e) = results.into_iter().find_map(Result::err) {
        return Err(e.context("create a job"));
    }
    Ok(())
}

/// How long after `t0` every job had its Deployment, and a Valid status of its generation.
struct Handled {
    all_deployments: Option<Duration>,
    all_status: Option<Duration>,
}

/// Polls (coarsely) until all `count` jobs have their Deployment and status.
async fn wait_until_handled(
    client: &Client,
    jobs: &Api<StreamingJob>,
    count: usize,
    t0: Instant,
) -> anyhow::Result<Handled> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let selector = ListParams::default().labels(&sluice_operator::render::managed_selector());
    let mut all_deployments = None;
    let mut all_status = None;
    while all_deployments.is_none() || all_status.is_none() {
        if all_deployments.is_none() {
            let n = deployments.list_metadata(&selector).await?.items.len();
            if n >= count {
                all_deployments = Some(t0.elapsed());
                eprintln!(
                    "all {n} Deployments after {:.1}s",
                    t0.elapsed().as_secs_f64()
                );
            }
        }
        if all_status.is_none() {
            let n = jobs
                .list(&ListParams::default())
                .await?
                .items
                .iter()
                .filter(|j| {
                    j.status.as_ref().is_some_and(|s| {
                        s.observed_generation == j.metadata.generation
                            && sluice_crds::conditions::is_true(&s.conditions, "Valid")
                    })
                })
                .count();
            if n >= count {
                all_status = Some(t0.elapsed());
            }
        }
        if t0.elapsed() > Duration::from_secs(1800) {
            bail!("not all jobs were handled within 30 minutes");
        }
        // Coarse polling: listing 1,000 jobs is work for the API server the operator shares.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(Handled {
        all_deployments,
        all_status,
    })
}

/// Settle: no write for 15 s (pods are created by the controller-manager meanwhile).
async fn settle(operator: &Operator) -> anyhow::Result<()> {
    eprintln!("waiting for the operator to settle (no writes for 15s)...");
    let mut last = operator.sum(WRITES).await.unwrap_or(0.0);
    let mut quiet_since = Instant::now();
    let settle_start = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = operator.sum(WRITES).await.unwrap_or(0.0);
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
        if settle_start.elapsed() > Duration::from_secs(900) {
            bail!("the operator kept writing for 15 minutes");
        }
    }
    Ok(())
}

/// What the operator did and used at rest.
struct AtRest {
    minutes: f64,
    requests: f64,
    writes: f64,
    /// `verb rate` per minute, for the verbs used.
    by_verb: Vec<String>,
    rss: u64,
    peak: u64,
    reconciles: f64,
}

/// Measures the operator at rest for `seconds`.
async fn measure_at_rest(operator: &Operator, seconds: u64) -> AtRest {
    eprintln!("measuring {seconds}s at rest...");
    let r0 = operator.sum(API_REQUESTS).await.unwrap_or(0.0);
    let w0 = operator.sum(WRITES).await.unwrap_or(0.0);
    let verbs0 = operator.requests_by_verb().await;
    let rest = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let verbs1 = operator.requests_by_verb().await;
    let r1 = operator.sum(API_REQUESTS).await.unwrap_or(0.0);
    let w1 = operator.sum(WRITES).await.unwrap_or(0.0);
    let minutes = rest.elapsed().as_secs_f64() / 60.0;
    AtRest {
        minutes,
        requests: r1 - r0,
        writes: w1 - w0,
        by_verb: verbs1
            .iter()
            .map(|(verb, n)| (verb, n - verbs0.get(verb).copied().unwrap_or(0.0)))
            .filter(|(_, n)| *n > 0.0)
            .map(|(verb, n)| format!("{verb} {:.1}", n / minutes))
            .collect(),
        rss: operator.proc_status("VmRSS:").unwrap_or(0),
        peak: operator.proc_status("VmHWM:").unwrap_or(0),
        reconciles: operator
            .sum("sluice_operator_reconciliations_total")
            .await
            .unwrap_or(0.0),
    }
}

/// Sends SIGTERM and waits for the operator to exit; returns how long that took.
fn stop_gracefully(mut operator: Operator) -> Duration {
    let t_stop = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &operator.child.id().to_string()])
        .status();
    let _ = operator.child.wait();
    t_stop.elapsed()
}

/// Everything the bench prints.
struct Report {
    jobs: usize,
    applied: Duration,
    handled: Handled,
    requests_burst: f64,
    peak_after_burst: u64,
    rest: AtRest,
    pods: usize,
    stopped: Duration,
    log_path: PathBuf,
}

fn print_report(r: &Report) {
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "sluice-operator bench: {} jobs (parallelism 1), one API server v1.20.2 on loopback",
        r.jobs
    );
    println!(
        "  jobs applied in                      {:>8.1} s",
        r.applied.as_secs_f64()
    );
    println!(
        "  all Deployments exist after          {:>8.1} s",
        r.handled.all_deployments.unwrap_or_default().as_secs_f64()
    );
    println!(
        "  all job statuses Valid after         {:>8.1} s",
        r.handled.all_status.unwrap_or_default().as_secs_f64()
    );
    println!(
        "  API requests during the burst        {:>8.0}",
        r.requests_burst
    );
    println!(
        "  reconciles in total                  {:>8.0}",
        r.rest.reconciles
    );
    println!(
        "  operator peak RSS after the burst    {:>8.1} MiB",
        mb(r.peak_after_burst)
    );
    println!(
        "  operator peak RSS (VmHWM)            {:>8.1} MiB",
        mb(r.rest.peak)
    );
    println!(
        "  operator RSS at rest                 {:>8.1} MiB",
        mb(r.rest.rss)
    );
    println!(
        "  API requests per minute at rest      {:>8.1}   (writes per minute: {:.1})",
        r.rest.requests / r.rest.minutes,
        r.rest.writes / r.rest.minutes
    );
    println!(
        "    by verb, per minute                  {}   (the Lease is renewed every 5 s)",
        r.rest.by_verb.join(", ")
    );
    println!("  executor pods created (Pending)      {:>8}", r.pods);
    println!(
        "  graceful shutdown took               {:>8.2} s",
        r.stopped.as_secs_f64()
    );
    println!("  operator log: {}", r.log_path.display());
}

async fn install_crds(client: &Client) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, yaml) in sluice_crds::crdgen::render() {
        let crd: CustomResourceDefinition = serde_yaml::from_str(&yaml)?;
        api.patch(
            &crd.name_any(),
            &PatchParams::apply("sluice-bench").force(),
            &Patch::Apply(&crd),
        )
        .await?;
    }
    let t = Instant::now();
    for name in ["streamingjobs.sluice.dev", "streamingtables.sluice.dev"] {
        loop {
            let crd = api.get(name).await?;
            let ok = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if ok {
                break;
            }
            if t.elapsed() > Duration::from_secs(30) {
                bail!("CRD {name} not established");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
