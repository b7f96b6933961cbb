//! `sluice demo`: the stock-ticks job of the README on embedded defaults — an in-process
//! Kafka-protocol broker (librdkafka's mock cluster), a producer of realistic ticks, and the
//! same executor code as `sluice run`, writing Hive-partitioned JSON files under a local
//! directory (or to S3 when an endpoint is given).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use sluice_crds::Manifests;

use crate::progress::Progress;
use crate::runner::{RunOptions, run};
use crate::ticks::Ticks;

/// Options of the demo.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where the sink writes (`./sluice-demo`).
    pub dir: PathBuf,
    /// Records to produce.
    pub records: u64,
    /// Source partitions.
    pub partitions: i32,
    /// Write to `s3://<bucket>/stock-ticks` at this endpoint instead of the directory.
    pub s3_endpoint: Option<String>,
    /// The bucket for `s3_endpoint`.
    pub bucket: String,
}

const MANIFESTS: &str = r#"
apiVersion: sluice.dev/v1alpha1
kind: StreamingTable
metadata: {name: stock-ticks}
spec:
  connector: kafka
  format: json
  columns:
    - {name: event_time, type: TIMESTAMP(3)}
    - {name: ticker, type: STRING}
    - {name: price, type: DOUBLE}
  options:
    topic: stock-ticks
    properties.bootstrap.servers: "@BOOTSTRAP@"
    properties.group.id: sluice-demo
    scan.startup.mode: earliest-offset
---
apiVersion: sluice.dev/v1alpha1
kind: StreamingTable
metadata: {name: sink-table}
spec:
  connector: filesystem
  format: json
  columns:
    - {name: event_time, type: TIMESTAMP(3)}
    - {name: ticker, type: STRING}
    - {name: price, type: DOUBLE}
    - {name: dt, type: STRING}
    - {name: hr, type: STRING}
  partitionedBy: [ticker, dt, hr]
  options:
    path: "@PATH@"
    sink.rolling-policy.inactivity-interval: 2s
@S3@
---
apiVersion: sluice.dev/v1alpha1
kind: StreamingJob
metadata: {name: filter-ticks}
spec:
  executor: {commitInterval: 1s}
  sql: |
    INSERT INTO sink_table
    SELECT event_time, ticker, price,
           DATE_FORMAT(event_time, 'yyyy-MM-dd'), DATE_FORMAT(event_time, 'HH')
    FROM stock_ticks
    WHERE price > 10
"#;

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The embedded broker could not start.
    #[error("cannot start the embedded Kafka broker: {0}")]
    Broker(String),
    /// The topic could not be created on it.
    #[error("cannot create the topic stock-ticks: {0}")]
    Topic(#[source] rdkafka::error::KafkaError),
    /// The output directory could not be prepared.
    #[error("cannot prepare the output directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The embedded manifests did not validate (a bug of the demo, or of the version).
    #[error("the demo's job is invalid: {0}")]
    Job(String),
    /// The producer failed.
    #[error("the demo's producer failed: {0}")]
    Producer(#[source] rdkafka::error::KafkaError),
    /// The producer thread panicked.
    #[error("the demo's producer thread panicked")]
    ProducerPanicked,
    /// The job failed.
    #[error(transparent)]
    Run(#[from] crate::runner::RunError),
}

/// Runs the demo; prints progress and a summary to stdout.
pub async fn demo(options: DemoOptions, progress: Arc<Progress>) -> Result<(), DemoError> {
    let started = Instant::now();
    let kafka = crate::mock_kafka::MockKafka::start(1).map_err(DemoError::Broker)?;
    kafka
        .cluster()
        .create_topic("stock-ticks", options.partitions, 1)
        .map_err(DemoError::Topic)?;
    let bootstrap = kafka.bootstrap_servers();
    let (path, s3) = sink_location(&options)?;
    let text = MANIFESTS
        .replace("@BOOTSTRAP@", &bootstrap)
        .replace("@PATH@", &path)
        .replace("@S3@", &s3);
    let job = validated_job(&text)?;
    print_header(&options, &bootstrap, &path, &job.plan.sink.name);

    // Produce while the job runs, as a live stream would.
    let produced = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let producer_thread = spawn_producer(
        bootstrap,
        options.records,
        options.partitions,
        Arc::clone(&produced),
        Arc::clone(&done),
    );
    let printer = tokio::spawn(print_progress(Arc::clone(&progress), Arc::clone(&produced)));
    let run_options = RunOptions {
        until_idle: None,
        metrics_port: None,
        memory_budget: None,
        status: None,
    };
    // Stop once everything produced was consumed (the stop commits it), or on Ctrl-C.
    let caught_up = caught_up(Arc::clone(&progress), produced, done);
    let shutdown = async move {
        tokio::select! {
            _ = crate::runner::shutdown_signal() => {}
            _ = caught_up => {}
        }
    };
    let result = run(job, run_options, Arc::clone(&progress), shutdown).await;
    printer.abort();
    eprintln!();
    producer_thread
        .join()
        .map_err(|_| DemoError::ProducerPanicked)??;
    result?;
    drop(kafka);
    print_summary(&progress, started.elapsed().as_secs_f64());
    if options.s3_endpoint.is_none() {
        println!();
        print_tree(&options.dir.join("stock-ticks"));
    }
    Ok(())
}

/// The sink's path and its extra S3 options: `s3://bucket/stock-ticks` when an endpoint is
/// given, else a fresh `stock-ticks` directory under the demo's directory.
fn sink_location(options: &DemoOptions) -> Result<(String, String), DemoError> {
    if let Some(endpoint) = &options.s3_endpoint {
        return Ok((
            format!("s3://{}/stock-ticks", options.bucket),
            format!("    s3.endpoint: \"{endpoint}\"\n    s3.path.style.access: \"true\""),
        ));
    }
    let directory = |path: &Path| {
        let path = path.to_owned();
        move |source| DemoError::Directory { path, source }
    };
    std::fs::create_dir_all(&options.dir).map_err(directory(&options.dir))?;
    let abs = std::fs::canonicalize(&options.dir).map_err(directory(&options.dir))?;
    let out = abs.join("stock-ticks");
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(directory(&out))?;
    }
    Ok((format!("file://{}", out.display()), String::new()))
}

/// The demo's manifests, parsed and validated as `sluice run` would.
fn validated_job(text: &str) -> Result<crate::job::ValidatedJob, DemoError> {
    let manifests = Manifests::parse(Path::new("<demo>"), text)
        .map_err(|e| DemoError::Job(format!("{e:?}")))?;
    let tables: Vec<_> = manifests.tables.iter().map(|(t, _)| t.clone()).collect();
    let (job, _) = manifests.job(None).map_err(DemoError::Job)?;
    crate::job::validate(job, &tables).map_err(|problems| {
        DemoError::Job(
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })
}

fn print_header(options: &DemoOptions, bootstrap: &str, path: &str, sink: &str) {
    println!("Sluice demo: {} stock ticks → {sink}", options.records);
    println!(
        "  source  kafka topic stock-ticks ({} partitions) on an embedded broker at {bootstrap}",
        options.partitions
    );
    println!("  sink    {path}, partitioned by ticker/dt/hr");
    println!(
        "  sql     INSERT INTO sink_table SELECT event_time, ticker, price, DATE_FORMAT(event_time, 'yyyy-MM-dd'), DATE_FORMAT(event_time, 'HH') FROM stock_ticks WHERE price > 10"
    );
    println!();
}

/// Produces `records` ticks (about four market hours of them, whatever the count) on a
/// thread of its own, counting them in `produced`; sets `done` once all are acknowledged.
fn spawn_producer(
    bootstrap: String,
    records: u64,
    partitions: i32,
    produced: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<(), DemoError>> {
    std::thread::spawn(move || {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("linger.ms", "5")
            .set("queue.buffering.max.messages", "1000000")
            .create()
            .map_err(DemoError::Producer)?;
        let mut ticks = Ticks::new(42, 20, (4 * 3_600_000 / records.max(1) as i64).max(1));
        let mut buf = Vec::with_capacity(128);
        for id in 0..records {
            buf.clear();
            let i = ticks.next_into(id, &mut buf);
            let key = ticks.ticker(i).to_owned();
            let partition = (id % partitions as u64) as i32;
            loop {
                match producer.send(
                    BaseRecord::to("stock-ticks")
                        .key(&key)
                        .payload(&buf)
                        .partition(partition),
                ) {
                    Ok(()) => break,
                    // The local queue is full: serve delivery reports, then retry.
                    Err((_, _)) => producer.poll(Duration::from_millis(5)),
                }
            }
            produced.fetch_add(1, Ordering::Relaxed);
            if id % 1000 == 0 {
                producer.poll(Duration::ZERO);
            }
        }
        producer
            .flush(Duration::from_secs(30))
            .map_err(DemoError::Producer)?;
        done.store(true, Ordering::SeqCst);
        Ok(())
    })
}

/// Rewrites one progress line on stderr every half second, until aborted.
async fn print_progress(progress: Arc<Progress>, produced: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let (live, memory) = progress.with(|s| (s.live, s.memory));
        let c = progress.committed_totals();
        eprint!(
            "\r  produced {:>8}  consumed {:>8}  written {:>8}  filtered {:>7}  committed {:>8}  files {:>5}  open {:>4}  ",
            produced.load(Ordering::Relaxed),
            live.records_in,
            live.records_out,
            live.records_filtered,
            c.records_in,
            c.files_written,
            memory.2
        );
    }
}

/// Resolves once the producer is done and every record it produced was consumed.
async fn caught_up(progress: Arc<Progress>, produced: Arc<AtomicU64>, done: Arc<AtomicBool>) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let consumed = progress.with(|s| s.live.records_in);
        if done.load(Ordering::SeqCst) && consumed >= produced.load(Ordering::SeqCst) {
            return;
        }
    }
}

fn print_summary(progress: &Progress, seconds: f64) {
    let c = progress.committed_totals();
    let live = progress.with(|s| s.live);
    println!();
    println!("Summary ({seconds:.1} s)");
    println!("  records in        {:>10}", c.records_in);
    println!("  records out       {:>10}", c.records_out);
    println!(
        "  records filtered  {:>10}  (price <= 10)",
        c.records_filtered
    );
    println!("  records failed    {:>10}", c.records_failed);
    println!("  files written     {:>10}", c.files_written);
    println!("  bytes written     {:>10}", c.bytes_written);
    println!(
        "  throughput        {:>10.0} records/s, {:.1} MB/s of JSON in",
        live.records_in as f64 / seconds,
        live.bytes_in as f64 / seconds / 1e6
    );
}

/// Prints the partition directories with their files.
fn print_tree(root: &Path) {
    let mut dirs = std::collections::BTreeMap::<String, (usize, u64)>::new();
    let mut sample = None;
    for entry in walk(root) {
        let rel = entry
            .strip_prefix(root)
            .unwrap_or(&entry)
            .to_string_lossy()
            .into_owned();
        if rel.starts_with('_') || rel.split('/').any(|p| p.starts_with('.')) {
            continue;
        }
        let dir = rel
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_owned());
        let size = std::fs::metadata(&entry).map(|m| m.len()).unwrap_or(0);
        let e = dirs.entry(dir).or_default();
        e.0 += 1;
        e.1 += size;
        if sample.is_none() {
            sample = Some(entry.clone());
        }
    }
    println!(
        "Partitions under {} ({} directories):",
        root.display(),
        dirs.len()
    );
    for (i, (dir, (files, bytes))) in dirs.iter().enumerate() {
        if i < 12 || i + 3 >= dirs.len() {
            println!("  {dir}/  {files} file(s), {bytes} bytes");
        } else if i == 12 {
            println!("  ...");
        }
    }
    if let Some(s) = sample
        && let Ok(text) = std::fs::read_to_string(&s)
    {
        println!();
        println!(
            "First lines of {}:",
            s.strip_prefix(root).unwrap_or(&s).display()
        );
        for l in text.lines().take(3) {
            println!("  {l}");
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
