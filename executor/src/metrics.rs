//! `/metrics` (OpenMetrics text), `/healthz` (the loop is alive) and `/readyz` (partitions are
//! assigned and nothing failed), answered from the shared [`Progress`] and served by
//! [`sluice_endpoints::serve`], the server the operator uses too.
//!
//! The metrics are a prometheus-client [`Collector`] registered once: each scrape reads the
//! progress as it is then, with typed label sets, instead of rebuilding a registry.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use sluice_endpoints::{Endpoints, Reply};
use tokio::net::TcpListener;

use crate::progress::Progress;

/// The labels of a per-partition metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SplitLabels {
    job: String,
    topic: String,
    partition: i32,
}

/// Reads the executor's metrics from its [`Progress`] at each scrape.
struct ProgressCollector {
    progress: Arc<Progress>,
    job: String,
}

impl std::fmt::Debug for ProgressCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressCollector")
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    ConstCounter::new(value).encode(encoder.encode_descriptor(
        name,
        help,
        None,
        MetricType::Counter,
    )?)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

impl Collector for ProgressCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (live, memory, splits, uptime) = self
            .progress
            .with(|s| (s.live, s.memory, s.splits.clone(), s.started.elapsed()));
        let e = &mut encoder;
        counter(
            e,
            "records_in",
            "Records consumed by this process",
            live.records_in,
        )?;
        counter(
            e,
            "records_out",
            "Rows written by this process",
            live.records_out,
        )?;
        counter(
            e,
            "records_filtered",
            "Records dropped by WHERE (or empty)",
            live.records_filtered,
        )?;
        counter(
            e,
            "records_failed",
            "Records that could not be decoded",
            live.records_failed,
        )?;
        counter(e, "bytes_in", "Record bytes consumed", live.bytes_in)?;
        counter(e, "commits", "Sink commits", live.commits)?;
        counter(
            e,
            "splits_reclaimed",
            "Partitions claimed again after the sink lost them while Kafka still assigned them here",
            live.reclaims,
        )?;
        let (held, budget, open_files) = memory;
        gauge(
            e,
            "sink_memory_bytes",
            "Bytes held by the sink (buffers, staged files, uploads)",
            held as i64,
        )?;
        gauge(
            e,
            "sink_memory_budget_bytes",
            "The sink's memory budget",
            budget as i64,
        )?;
        gauge(
            e,
            "sink_open_files",
            "Files being written",
            open_files as i64,
        )?;
        gauge(
            e,
            "uptime_seconds",
            "Seconds since start",
            uptime.as_secs() as i64,
        )?;
        let labelled: Vec<(SplitLabels, Option<i64>, Option<i64>)> = splits
            .iter()
            .map(|(split, p)| {
                let labels = SplitLabels {
                    job: self.job.clone(),
                    topic: split.topic.clone(),
                    partition: split.partition,
                };
                let lag = match (p.high_watermark, p.committed_offset) {
                    (Some(high), Some(committed)) => Some((high - committed).max(0)),
                    _ => None,
                };
                (labels, lag, p.committed_offset)
            })
            .collect();
        let mut family = e.encode_descriptor(
            "partition_lag_records",
            "Records not yet committed, per source partition owned here",
            None,
            MetricType::Gauge,
        )?;
        for (labels, lag, _) in &labelled {
            if let Some(lag) = lag {
                ConstGauge::new(*lag).encode(family.encode_family(labels)?)?;
            }
        }
        let mut family = e.encode_descriptor(
            "partition_committed_offset",
            "Committed offset per source partition owned here",
            None,
            MetricType::Gauge,
        )?;
        for (labels, _, committed) in &labelled {
            if let Some(committed) = committed {
                ConstGauge::new(*committed).encode(family.encode_family(labels)?)?;
            }
        }
        Ok(())
    }
}

/// The executor's endpoints.
pub struct ExecutorEndpoints {
    progress: Arc<Progress>,
    registry: Registry,
}

impl ExecutorEndpoints {
    /// The endpoints of the job `job` (its `namespace/name`, the `job` label).
    pub fn new(progress: Arc<Progress>, job: &str) -> ExecutorEndpoints {
        let mut registry = Registry::with_prefix("sluice");
        registry.register_collector(Box::new(ProgressCollector {
            progress: Arc::clone(&progress),
            job: job.to_owned(),
        }));
        ExecutorEndpoints { progress, registry }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoder error would be a bug in a label set.
        if let Err(error) = encode(&mut out, &self.registry) {
            tracing::warn!(%error, "failed to encode the metrics");
        }
        out
    }
}

impl Endpoints for ExecutorEndpoints {
    /// `/readyz` answers with a short status only: the failure text may quote records or name
    /// store URIs, and the port is reachable from the whole cluster unless a NetworkPolicy says
    /// otherwise; the failure is in the logs and in the job's status.
    fn get(&self, path: &str) -> Reply {
        match path {
            "/metrics" => Reply::metrics(self.render()),
            "/healthz" => {
                let alive = self.progress.with(|s| {
                    s.heartbeat.elapsed() < Duration::from_secs(60) && s.failure.is_none()
                });
                if alive {
                    Reply::ok("ok\n")
                } else {
                    Reply::text(503, "the pipeline loop is stuck or failed\n")
                }
            }
            "/readyz" => match self.progress.with(|s| (s.ready, s.failure.is_some())) {
                (_, true) => Reply::text(503, "failed (see the executor's log)\n"),
                (true, false) => Reply::ok("ready\n"),
                (false, false) => Reply::text(503, "waiting for partitions\n"),
            },
            _ => Reply::not_found(&["/metrics", "/healthz", "/readyz"]),
        }
    }
}

/// Serves the endpoints until the process ends.
pub async fn serve(listener: TcpListener, progress: Arc<Progress>, job: String) {
    let endpoints = Arc::new(ExecutorEndpoints::new(progress, &job));
    sluice_endpoints::serve(listener, endpoints, std::future::pending()).await;
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn readyz_does_not_show_the_failure_text() {
        let progress = Arc::new(Progress::new(Instant::now()));
        progress.with(|s| {
            s.failure = Some(
                "failed to upload s3://secret-bucket/prefix/x.json: record {\"card\": \"4111\"}"
                    .into(),
            )
        });
        let endpoints = ExecutorEndpoints::new(progress, "j");
        let reply = endpoints.get("/readyz");
        assert_eq!(reply.status, 503);
        assert!(
            !reply.body.contains("s3://") && !reply.body.contains("4111"),
            "{reply:?}"
        );
        assert_eq!(reply.body, "failed (see the executor's log)\n");
        let reply = endpoints.get("/healthz");
        assert!(!reply.body.contains("s3://"), "{reply:?}");
    }

    #[test]
    fn each_scrape_reads_the_progress_as_it_is_then() {
        let progress = Arc::new(Progress::new(Instant::now()));
        let endpoints = ExecutorEndpoints::new(Arc::clone(&progress), "ns/job");
        progress.with(|s| s.live.records_in = 7);
        let first = endpoints.render();
        assert!(first.contains("sluice_records_in_total 7\n"), "{first}");
        progress.with(|s| s.live.records_in = 9);
        let second = endpoints.render();
        assert!(second.contains("sluice_records_in_total 9\n"), "{second}");
        assert!(second.ends_with("# EOF\n"), "{second}");
        let split = crate::connector::SplitId {
            topic: "ticks".into(),
            partition: 3,
        };
        progress.with(|s| {
            s.splits.insert(
                split,
                crate::progress::SplitProgress {
                    committed_offset: Some(40),
                    high_watermark: Some(45),
                    ..Default::default()
                },
            );
        });
        let third = endpoints.render();
        for line in [
            "sluice_partition_lag_records{job=\"ns/job\",topic=\"ticks\",partition=\"3\"} 5\n",
            "sluice_partition_committed_offset{job=\"ns/job\",topic=\"ticks\",partition=\"3\"} 40\n",
        ] {
            assert!(third.contains(line), "{line} missing from {third}");
        }
    }
}
