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

/// Runs the demo; prints progress and a summary to stdout.
pub async fn demo(options: DemoOptions, progress: Arc<Progress>) -> Result<(), String> {
    let started = Instant::now();
    let kafka = crate::mock_kafka::MockKafka::start(1)?;
    kafka
        .cluster()
        .create_topic("stock-ticks", options.partitions, 1)
        .map_err(|e| format!("cannot create the topic: {e}"))?;
    let bootstrap = kafka.bootstrap_servers();
    let (path, s3) = match &options.s3_endpoint {
        Some(endpoint) => (
            format!("s3://{}/stock-ticks", options.bucket),
            format!("    s3.endpoint: \"{endpoint}\"\n    s3.path.style.access: \"true\""),
        ),
        None => {
            std::fs::create_dir_all(&options.dir)
                .map_err(|e| format!("cannot create {}: {e}", options.dir.display()))?;
            let abs = std::fs::canonicalize(&options.dir).map_err(|e| e.to_string())?;
            let out = abs.join("stock-ticks");
            if out.exists() {
                std::fs::remove_dir_all(&out)
                    .map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
            }
            (format!("file://{}", out.display()), String::new())
        }
    };
    let text = MANIFESTS
        .replace("@BOOTSTRAP@", &bootstrap)
        .replace("@PATH@", &path)
        .replace("@S3@", &s3);
    let manifests = Manifests::parse(Path::new("<demo>"), &text).map_err(|e| format!("{e:?}"))?;
    let tables: Vec<_> = manifests.tables.iter().map(|(t, _)| t.clone()).collect();
    let (job, _) = manifests.job(None)?;
    let job = crate::job::validate(job, &tables).map_err(|p| {
        p.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })?;

    println!(
        "Sluice demo: {} stock ticks → {}",
        options.records, job.plan.sink.name
    );
    println!(
        "  source  kafka topic stock-ticks ({} partitions) on an embedded broker at {bootstrap}",
        options.partitions
    );
    println!("  sink    {path}, partitioned by ticker/dt/hr");
    println!(
        "  sql     INSERT INTO sink_table SELECT event_time, ticker, price, DATE_FORMAT(event_time, 'yyyy-MM-dd'), DATE_FORMAT(event_time, 'HH') FROM stock_ticks WHERE price > 10"
    );
    println!();

    // Produce while the job runs, as a live stream would.
    let produced = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let producer_thread = {
        let (produced, done, bootstrap, records, partitions) = (
            Arc::clone(&produced),
            Arc::clone(&done),
            bootstrap.clone(),
            options.records,
            options.partitions,
        );
        std::thread::spawn(move || -> Result<(), String> {
            let producer: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("linger.ms", "5")
                .set("queue.buffering.max.messages", "1000000")
                .create()
                .map_err(|e| e.to_string())?;
            // About four market hours of ticks, whatever the count.
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
                .map_err(|e| e.to_string())?;
            done.store(true, Ordering::SeqCst);
            Ok(())
        })
    };

    // The progress line.
    let printer = {
        let progress = Arc::clone(&progress);
        let produced = Arc::clone(&produced);
        tokio::spawn(async move {
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
        })
    };

    let progress_for_run = Arc::clone(&progress);
    let run_options = RunOptions {
        until_idle: None,
        metrics_port: None,
        memory_budget: None,
        status: None,
    };
    // Stop once everything produced was consumed (the stop commits it), or on Ctrl-C.
    let (done_flag, produced_count, progress_watch) = (
        Arc::clone(&done),
        Arc::clone(&produced),
        Arc::clone(&progress),
    );
    let caught_up = async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let consumed = progress_watch.with(|s| s.live.records_in);
            if done_flag.load(Ordering::SeqCst) && consumed >= produced_count.load(Ordering::SeqCst)
            {
                return;
            }
        }
    };
    let shutdown = async move {
        tokio::select! {
            _ = crate::runner::shutdown_signal() => {}
            _ = caught_up => {}
        }
    };
    let result = run(job, run_options, progress_for_run, shutdown).await;
    printer.abort();
    eprintln!();
    producer_thread
        .join()
        .map_err(|_| "the producer thread panicked".to_owned())??;
    result.map_err(|e| crate::connector::Report(&e).to_string())?;
    drop(kafka);

    let seconds = started.elapsed().as_secs_f64();
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
    if options.s3_endpoint.is_none() {
        println!();
        print_tree(&options.dir.join("stock-ticks"));
    }
    Ok(())
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
