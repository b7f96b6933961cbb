//! `sluice`: run a Sluice job (`run`), check manifests (`validate`), or see it work (`demo`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use sluice_crds::{ManifestSource, Manifests};
use sluice_executor::job::{Problem, Subject, validate};
use sluice_executor::progress::Progress;
use sluice_executor::runner::{RunOptions, run, shutdown_signal};

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "Flink SQL from Kafka to S3, exactly once"
)]
struct Cli {
    /// Log filter (`info`, `sluice_executor=debug`); also `SLUICE_LOG`.
    #[arg(long, env = "SLUICE_LOG", global = true)]
    log: Option<String>,
    /// Log format: `text` or `json` (default: text on a terminal, json otherwise).
    #[arg(long, env = "SLUICE_LOG_FORMAT", global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the stock-ticks job locally on embedded defaults: an in-process Kafka broker, a
    /// stream of generated ticks, Hive-partitioned JSON files under ./sluice-demo.
    Demo {
        /// Where to write.
        #[arg(long, default_value = "sluice-demo")]
        dir: PathBuf,
        /// Ticks to produce.
        #[arg(long, default_value_t = 200_000)]
        records: u64,
        /// Partitions of the topic.
        #[arg(long, default_value_t = 6)]
        partitions: i32,
        /// Write to S3 at this endpoint (e.g. http://127.0.0.1:5000) instead of a directory.
        #[arg(long)]
        s3_endpoint: Option<String>,
        /// The bucket for --s3-endpoint.
        #[arg(long, default_value = "sluice-demo")]
        bucket: String,
    },
    /// Run a job from StreamingTable/StreamingJob manifests until SIGTERM/SIGINT (then flush
    /// and commit) or until idle.
    Run {
        /// Manifest files or directories.
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<PathBuf>,
        /// The job to run, when the manifests hold several.
        #[arg(long)]
        job: Option<String>,
        /// Stop, after committing, when no record arrived for this long (`30s`, `2min`).
        #[arg(long, value_parser = parse_duration)]
        until_idle: Option<Duration>,
        /// Port of /metrics, /healthz, /readyz (default: the job's executor.metricsPort; 0 = off).
        #[arg(long)]
        metrics_port: Option<u16>,
        /// Write a JSON report (records, bytes, timings) here when the job stops.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Check manifests and SQL offline; exit 1 listing every problem.
    Validate {
        /// Manifest files or directories.
        #[arg(short = 'f', long = "file", required = true)]
        files: Vec<PathBuf>,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    sluice_executor::options::parse_duration(s)
}

fn init_logging(filter: Option<&str>, format: Option<&str>) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or("info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match format {
        Some("json") => true,
        Some(_) => false,
        None => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.compact().init();
    }
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    // The demo talks to a person: only warnings unless asked.
    let default_filter = match cli.command {
        Command::Demo { .. } => "warn",
        _ => "info,rdkafka=warn,aws=warn",
    };
    init_logging(
        Some(cli.log.as_deref().unwrap_or(default_filter)),
        cli.log_format.as_deref(),
    );
    // kube's rustls and the AWS SDK's share one process-wide crypto provider.
    sluice_executor::install_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Blocking threads serve a local sink's file operations (README, Performance).
        .max_blocking_threads(sluice_executor::connector::filesystem::store::MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sluice: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let progress = Arc::new(Progress::new(started));
    match cli.command {
        Command::Validate { files } => validate_command(&files),
        Command::Run {
            files,
            job,
            until_idle,
            metrics_port,
            report: report_file,
        } => {
            let (manifests, problems) = load(&files);
            let Some(manifests) = manifests else {
                return problems;
            };
            let (job_resource, source) = match manifests.job(job.as_deref()) {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("sluice: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let tables: Vec<_> = manifests.tables.iter().map(|(t, _)| t.clone()).collect();
            let validated = match validate(job_resource, &tables) {
                Ok(v) => v,
                Err(problems) => {
                    report(&problems, source, &manifests);
                    return ExitCode::FAILURE;
                }
            };
            let options = RunOptions {
                until_idle,
                metrics_port: Some(metrics_port.unwrap_or(validated.settings.metrics_port)),
                memory_budget: None,
                status: sluice_executor::status::StatusTarget::from_env(&validated.id),
            };
            let result = runtime.block_on(run(
                validated,
                options,
                Arc::clone(&progress),
                shutdown_signal(),
            ));
            if let Some(path) = report_file
                && let Err(e) = std::fs::write(&path, run_report(&progress, started).to_string())
            {
                eprintln!("sluice: cannot write {}: {e}", path.display());
            }
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    let e = sluice_executor::connector::Report(&e);
                    tracing::error!(error = %e, "job failed");
                    eprintln!("sluice: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Demo {
            dir,
            records,
            partitions,
            s3_endpoint,
            bucket,
        } => {
            let options = sluice_executor::demo::DemoOptions {
                dir,
                records,
                partitions: partitions.max(1),
                s3_endpoint,
                bucket,
            };
            match runtime.block_on(sluice_executor::demo::demo(options, progress)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sluice demo: {}", sluice_executor::connector::Report(&e));
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// What `--report` writes.
fn run_report(progress: &Progress, started: Instant) -> serde_json::Value {
    let c = progress.committed_totals();
    progress.with(|s| {
        serde_json::json!({
            "records_in": s.live.records_in,
            "records_out": s.live.records_out,
            "records_filtered": s.live.records_filtered,
            "bytes_in": s.live.bytes_in,
            "committed_records_in": c.records_in,
            "files_written": c.files_written,
            "bytes_written": c.bytes_written,
            "commits": s.live.commits,
            "seconds_to_first_record": s.first_record.map(|t| t.duration_since(started).as_secs_f64()),
            "seconds_to_last_record": s.last_record.map(|t| t.duration_since(started).as_secs_f64()),
            "seconds_total": started.elapsed().as_secs_f64(),
        })
    })
}

fn load(files: &[PathBuf]) -> (Option<Manifests>, ExitCode) {
    match Manifests::load(files) {
        Ok(m) => (Some(m), ExitCode::SUCCESS),
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            (None, ExitCode::FAILURE)
        }
    }
}

/// Prints problems with file positions: SQL line/column mapped into the manifest file.
fn report(problems: &[Problem], job_source: &ManifestSource, manifests: &Manifests) {
    for p in problems {
        match &p.subject {
            Subject::Sql(Some(at)) => {
                let (file_line, column) = match job_source.line_of_block("sql") {
                    Some((line, true)) => {
                        // The block is indented; columns shift by the indentation of its lines.
                        let indent = job_source
                            .text
                            .lines()
                            .nth(line - job_source.line)
                            .map_or(0, |l| l.len() - l.trim_start().len());
                        (line + at.line as usize - 1, at.column as usize + indent)
                    }
                    Some((line, false)) => (line, at.column as usize),
                    None => (job_source.line, at.column as usize),
                };
                eprintln!(
                    "{}:{file_line}:{column}: {} [{}]",
                    job_source.file.display(),
                    p,
                    p.reason
                );
            }
            Subject::Table { resource, option } => {
                let name = resource.rsplit('/').next().unwrap_or(resource);
                let at = manifests
                    .tables
                    .iter()
                    .find(|(t, _)| t.metadata.name.as_deref() == Some(name))
                    .map(|(_, s)| s);
                let line = at
                    .and_then(|s| {
                        option
                            .as_deref()
                            .and_then(|o| s.line_of_block(o))
                            .map(|(l, _)| l)
                    })
                    .or(at.map(|s| s.line));
                match (at, line) {
                    (Some(s), Some(l)) => {
                        eprintln!("{}:{l}: {} [{}]", s.file.display(), p.message, p.reason)
                    }
                    _ => eprintln!("{resource}: {} [{}]", p.message, p.reason),
                }
            }
            _ => eprintln!("{}: {} [{}]", job_source.file.display(), p, p.reason),
        }
    }
}

fn validate_command(files: &[PathBuf]) -> ExitCode {
    let (manifests, code) = load(files);
    let Some(manifests) = manifests else {
        return code;
    };
    if manifests.jobs.is_empty() {
        eprintln!("sluice: no StreamingJob in {files:?}");
        return ExitCode::FAILURE;
    }
    let tables: Vec<_> = manifests.tables.iter().map(|(t, _)| t.clone()).collect();
    let mut failed = false;
    for (job, source) in &manifests.jobs {
        match validate(job, &tables) {
            Ok(v) => println!(
                "{}: job {} is valid: {} → {}",
                source,
                v.id,
                v.source.describe(),
                v.sink.describe()
            ),
            Err(problems) => {
                failed = true;
                report(&problems, source, &manifests);
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
