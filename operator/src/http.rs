//! `/metrics` (OpenMetrics text), `/healthz` and `/readyz`, served by
//! [`sluice_endpoints::serve`], the server the executor uses too.

use std::sync::Arc;

use sluice_endpoints::{Endpoints, Reply};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// The operator's endpoints: its metrics; health and readiness are the process answering
/// (a standby replica is ready too: it takes over when the leader's Lease expires).
struct OperatorEndpoints(Arc<Metrics>);

impl Endpoints for OperatorEndpoints {
    fn get(&self, path: &str) -> Reply {
        match path {
            "/metrics" => Reply::metrics(self.0.encode()),
            "/healthz" | "/readyz" => Reply::ok("ok\n"),
            _ => Reply::not_found(&["/metrics", "/healthz", "/readyz"]),
        }
    }
}

/// Serves until `shutdown`; in-flight requests are finished first.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, shutdown: CancellationToken) {
    sluice_endpoints::serve(
        listener,
        Arc::new(OperatorEndpoints(metrics)),
        shutdown.cancelled_owned(),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn metrics_and_health_are_served_until_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::new());
        metrics.set_leader(true);
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, metrics, shutdown.clone()));
        let health = get(addr, "/healthz").await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        let text = get(addr, "/metrics").await;
        assert!(text.contains("sluice_operator_leader 1"), "{text}");
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
        shutdown.cancel();
        server.await.unwrap();
    }
}
