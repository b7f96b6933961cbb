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

/// The status line and body of a request for `path`. `/readyz` answers with a short status
/// only: the failure text may quote records or name store URIs, and the port is reachable from
/// the whole cluster unless a NetworkPolicy says otherwise; the failure is in the logs and in
/// the job's status.
pub fn respond(path: &str, progress: &Progress, job: &str) -> (&'static str, String) {
    match path {
        "/metrics" => ("200 OK", render(progress, job)),
        "/healthz" => {
            let alive = progress
                .with(|s| s.heartbeat.elapsed() < Duration::from_secs(60) && s.failure.is_none());
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
            let (ready, failed) = progress.with(|s| (s.ready, s.failure.is_some()));
            match (ready, failed) {
                (_, true) => (
                    "503 Service Unavailable",
                    "failed (see the executor's log)\n".to_owned(),
                ),
                (true, false) => ("200 OK", "ready\n".to_owned()),
                (false, false) => (
                    "503 Service Unavailable",
                    "waiting for partitions\n".to_owned(),
                ),
            }
        }
        _ => (
            "404 Not Found",
            "try /metrics, /healthz or /readyz\n".to_owned(),
        ),
    }
}

/// The first pause after a failed `accept`; doubled after each further failure.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// The longest pause after failed `accept`s: a scrape or probe waits at most this long once
/// the cause (typically EMFILE: too many open files) is gone.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Accepts connections with `accept` and hands each to `handle`. A failed accept (EMFILE,
/// ENFILE, ENOBUFS, ...) fails again at once until its cause is gone, so the loop pauses with an
/// exponential backoff instead of spinning on a core, and logs the first failure of a run.
pub async fn accept_loop<C, F, Fut>(mut accept: F, mut handle: impl FnMut(C))
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<C>>,
{
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let mut failures: u64 = 0;
    loop {
        match accept().await {
            Ok(conn) => {
                if failures > 0 {
                    tracing::info!(failures, "metrics server accepts connections again");
                }
                failures = 0;
                backoff = ACCEPT_BACKOFF_MIN;
                handle(conn);
            }
            Err(error) => {
                if failures == 0 {
                    tracing::warn!(%error, "metrics server: accept failed; backing off");
                }
                failures += 1;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}

/// Serves the endpoints until the process ends.
pub async fn serve(listener: TcpListener, progress: Arc<Progress>, job: String) {
    accept_loop(
        || listener.accept(),
        |(mut conn, _): (tokio::net::TcpStream, std::net::SocketAddr)| {
            let progress = Arc::clone(&progress);
            let job = job.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await
                else {
                    return;
                };
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let (status, body) = respond(path, &progress, &job);
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(response.as_bytes()).await;
            });
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Instant;

    #[test]
    fn readyz_does_not_show_the_failure_text() {
        let progress = Progress::new(Instant::now());
        progress.with(|s| {
            s.failure = Some(
                "failed to upload s3://secret-bucket/prefix/x.json: record {\"card\": \"4111\"}"
                    .into(),
            )
        });
        let (status, body) = respond("/readyz", &progress, "j");
        assert_eq!(status, "503 Service Unavailable");
        assert!(!body.contains("s3://") && !body.contains("4111"), "{body}");
        assert_eq!(body, "failed (see the executor's log)\n");
        let (_, body) = respond("/healthz", &progress, "j");
        assert!(!body.contains("s3://"), "{body}");
    }

    #[test]
    fn failing_accepts_back_off_instead_of_spinning() {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        // A thread of its own: a loop that never yields would never let a runtime stop it.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime");
            rt.block_on(accept_loop(
                move || {
                    counted.fetch_add(1, Ordering::Relaxed);
                    std::future::ready(Err::<(), _>(std::io::Error::from_raw_os_error(24)))
                },
                |()| {},
            ));
        });
        std::thread::sleep(Duration::from_millis(500));
        // 5 + 10 + 20 + 40 + 80 + 160 ms: at most 7 attempts in 500 ms.
        let n = calls.load(Ordering::Relaxed);
        assert!((2..=8).contains(&n), "{n} accept attempts in 500 ms");
    }
}
