//! Running a validated job: open the sink, the source and the pipeline, serve metrics, stop
//! gracefully.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::connector::RunContext;
use crate::job::ValidatedJob;
use crate::pipeline::{Pipeline, PipelineError};
use crate::progress::Progress;
use crate::transform::Transform;

/// How to run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Stop (after committing) when no record arrived for this long.
    pub until_idle: Option<Duration>,
    /// Serve `/metrics`, `/healthz`, `/readyz` on this port (0 = none).
    pub metrics_port: Option<u16>,
    /// Memory budget override.
    pub memory_budget: Option<u64>,
    /// Write this pod's partition progress into the job's status (in a pod).
    pub status: Option<crate::status::StatusTarget>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The sink could not be opened.
    #[error("failed to open the sink: {0}")]
    Sink(String),
    /// The source could not be opened.
    #[error("failed to open the source: {0}")]
    Source(String),
    /// The job could not be prepared.
    #[error("{0}")]
    Prepare(String),
    /// The pipeline failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// The sink's memory budget: the job's setting, else 40% of the container's memory limit
/// (`SLUICE_MEMORY_LIMIT`, set by the operator from the pod's limit), else [`DEFAULT_BUDGET`].
pub fn memory_budget(job: &ValidatedJob, options: &RunOptions) -> u64 {
    options
        .memory_budget
        .or(job.settings.memory_budget)
        .unwrap_or_else(|| {
            let limit = std::env::var("SLUICE_MEMORY_LIMIT")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            budget_for_limit(limit, node_memory())
        })
}

/// Without a memory limit: what keeps the whole process under 256 MiB (librdkafka's prefetch,
/// batches in flight, the runtime and the allocator take ~120 MiB besides the sink's buffers).
const DEFAULT_BUDGET: u64 = 96 << 20;

/// 40% of a container memory limit, else [`DEFAULT_BUDGET`]. A container without a limit gets the node's
/// allocatable memory from the downward API, which is no limit at all: a "limit" of at least
/// the machine's memory is treated as none.
fn budget_for_limit(limit: Option<u64>, node_memory: Option<u64>) -> u64 {
    match limit {
        Some(limit) if limit > 0 && node_memory.is_none_or(|node| limit < node) => {
            (limit * 2 / 5).max(16 << 20)
        }
        _ => DEFAULT_BUDGET,
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn node_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs the job until `shutdown` resolves (or it is idle, or fails), then commits and returns.
pub async fn run(
    job: ValidatedJob,
    options: RunOptions,
    progress: Arc<Progress>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    let budget = memory_budget(&job, &options);
    let run = RunContext {
        job: job.id.clone(),
        executor: crate::identity::executor_name(),
        memory_budget: budget,
        rolling: job.settings.rolling.clone(),
        idle_after: options.until_idle,
        prefetch_kbytes: (budget / 8 / 1024).clamp(4 * 1024, 16 * 1024),
    };
    tracing::info!(job = %job.id, source = %job.source.describe(), sink = %job.sink.describe(), budget_mib = budget >> 20, "starting");
    if let Some(port) = options.metrics_port.filter(|p| *p > 0) {
        match tokio::net::TcpListener::bind(("0.0.0.0", port)).await {
            Ok(listener) => {
                tokio::spawn(crate::metrics::serve(
                    listener,
                    Arc::clone(&progress),
                    job.id.clone(),
                ));
            }
            Err(e) => tracing::warn!(port, error = %e, "cannot serve metrics"),
        }
    }
    let status = match &options.status {
        Some(target) => start_status(target, &progress, job.settings.status_interval).await,
        None => None,
    };
    let namespace = job.source.position_namespace();
    let mut sink = job
        .sink
        .open(&run, &namespace)
        .await
        .map_err(RunError::Sink)?;
    let transform = Transform::new(
        job.plan,
        job.source.format(),
        job.sink.format(),
        job.sink.default_partition_name(),
    )
    .map_err(|e| RunError::Prepare(e.0))?;
    let (tx, rx) = mpsc::channel(16);
    let source = job
        .source
        .open(&run, sink.oracle(), tx)
        .map_err(RunError::Source)?;
    let _ = &mut sink;
    let started = Instant::now();
    let result = Pipeline::new(
        transform,
        sink,
        source,
        rx,
        Arc::clone(&progress),
        job.settings.commit_interval,
        options.until_idle.is_some(),
    )
    .run(shutdown)
    .await;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        ok = result.is_ok(),
        "stopped"
    );
    if let Some((stop, task)) = status {
        let _ = stop.send(true);
        if tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_err()
        {
            tracing::warn!("the final status write did not finish in 5 s");
        }
    }
    result.map_err(RunError::from)
}

/// Starts writing this pod's progress into the job's status; `None` (logged) when no
/// Kubernetes client can be configured, since status is reporting, not the data path.
async fn start_status(
    target: &crate::status::StatusTarget,
    progress: &Arc<Progress>,
    interval: Duration,
) -> Option<(
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
)> {
    match crate::status::StatusWriter::in_cluster(&target.namespace, &target.job, &target.pod).await
    {
        Ok(writer) => {
            tracing::info!(job = %target.job, pod = %target.pod, interval_s = interval.as_secs(), "writing progress to the job status");
            let (tx, rx) = tokio::sync::watch::channel(false);
            let task = tokio::spawn(crate::status::publish_loop(
                writer,
                Arc::clone(progress),
                interval,
                rx,
            ));
            Some((tx, task))
        }
        Err(error) => {
            tracing::warn!(%error, "no status write-back");
            None
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_40_percent_of_a_real_limit_else_96_mib() {
        let node = Some(8 << 30);
        assert_eq!(budget_for_limit(Some(256 << 20), node), (256 << 20) * 2 / 5);
        assert_eq!(budget_for_limit(Some(20 << 20), node), 16 << 20);
        assert_eq!(budget_for_limit(None, node), 96 << 20);
        // No limit on the container: the downward API gives the node's memory.
        assert_eq!(budget_for_limit(Some(8 << 30), node), 96 << 20);
        assert_eq!(budget_for_limit(Some(1 << 30), None), 2 * (1 << 30) / 5);
    }
}
