//! `/metrics` (Prometheus text), `/healthz` (the loop is alive) and `/readyz` (partitions are
//! assigned and nothing failed) on one port, served from the shared [`Progress`].

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::progress::Progress;

/// Renders the metrics of `progress` in the Prometheus text format.
pub fn render(progress: &Progress, job: &str) -> String {
    let mut registry = Registry::with_prefix("sluice");
    let counter = |registry: &mut Registry, name: &str, help: &str, value: u64| {
        let c: Counter = Counter::default();
        c.inc_by(value);
        registry.register(name, help, c);
    };
    let gauge = |registry: &mut Registry, name: &str, help: &str, value: i64| {
        let g: Gauge = Gauge::default();
        g.set(value);
        registry.register(name, help, g);
    };
    let (live, memory, splits, uptime) =
        progress.with(|s| (s.live, s.memory, s.splits.clone(), s.started.elapsed()));
    counter(
        &mut registry,
        "records_in",
        "Records consumed by this process",
        live.records_in,
    );
    counter(
        &mut registry,
        "records_out",
        "Rows written by this process",
        live.records_out,
    );
    counter(
        &mut registry,
        "records_filtered",
        "Records dropped by WHERE (or empty)",
        live.records_filtered,
    );
    counter(
        &mut registry,
        "records_failed",
        "Records that could not be decoded",
        live.records_failed,
    );
    counter(
        &mut registry,
        "bytes_in",
        "Record bytes consumed",
        live.bytes_in,
    );
    counter(&mut registry, "commits", "Sink commits", live.commits);
    counter(
        &mut registry,
        "splits_reclaimed",
        "Partitions claimed again after the sink lost them while Kafka still assigned them here",
        live.reclaims,
    );
    gauge(
        &mut registry,
        "sink_memory_bytes",
        "Bytes held by the sink (buffers, staged files, uploads)",
        memory.0 as i64,
    );
    gauge(
        &mut registry,
        "sink_memory_budget_bytes",
        "The sink's memory budget",
        memory.1 as i64,
    );
    gauge(
        &mut registry,
        "sink_open_files",
        "Files being written",
        memory.2 as i64,
    );
    gauge(
        &mut registry,
        "uptime_seconds",
        "Seconds since start",
        uptime.as_secs() as i64,
    );
    let lag: Family<Vec<(String, String)>, Gauge> = Family::default();
    let committed: Family<Vec<(String, String)>, Gauge> = Family::default();
    for (s, p) in &splits {
        let labels = vec![
            ("job".to_owned(), job.to_owned()),
            ("topic".to_owned(), s.topic.clone()),
            ("partition".to_owned(), s.partition.to_string()),
        ];
        if let (Some(h), Some(c)) = (p.high_watermark, p.committed_offset) {
            lag.get_or_create(&labels).set((h - c).max(0));
        }
        if let Some(c) = p.committed_offset {
            committed.get_or_create(&labels).set(c);
        }
    }
    registry.register(
        "partition_lag_records",
        "Records not yet committed, per source partition owned here",
        lag,
    );
    registry.register(
        "partition_committed_offset",
        "Committed offset per source partition owned here",
        committed,
    );
    let mut out = String::new();
    let _ = encode(&mut out, &registry);
    out
}

/// Serves the endpoints until the process ends.
pub async fn serve(listener: TcpListener, progress: Arc<Progress>, job: String) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let progress = Arc::clone(&progress);
        let job = job.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await
            else {
                return;
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = match path {
                "/metrics" => ("200 OK", render(&progress, &job)),
                "/healthz" => {
                    let alive = progress.with(|s| {
                        s.heartbeat.elapsed() < Duration::from_secs(60) && s.failure.is_none()
                    });
                    if alive {
                        ("200 OK", "ok\n".to_owned())
                    } else {
                        (
                            "503 Service Unavailable",
                            "the pipeline loop is stuck or failed\n".to_owned(),
                        )
                    }
                }
                "/readyz" => {
                    let (ready, failure) = progress.with(|s| (s.ready, s.failure.clone()));
                    match (ready, failure) {
                        (_, Some(f)) => ("503 Service Unavailable", format!("failed: {f}\n")),
                        (true, None) => ("200 OK", "ready\n".to_owned()),
                        (false, None) => (
                            "503 Service Unavailable",
                            "waiting for partitions\n".to_owned(),
                        ),
                    }
                }
                _ => (
                    "404 Not Found",
                    "try /metrics, /healthz or /readyz\n".to_owned(),
                ),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(response.as_bytes()).await;
        });
    }
}
