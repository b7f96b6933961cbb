//! [`serve`]: the hyper server, and [`Endpoints`], what it answers.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accept::accept_loop;
use crate::reply::Reply;

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a process answers on each path (GET and HEAD; other methods get `405`).
pub trait Endpoints: Send + Sync + 'static {
    /// The reply for `path` (without the query).
    fn get(&self, path: &str) -> Reply;
}

/// Serves `endpoints` on `listener` until `shutdown` resolves; requests in flight are
/// finished first (connections are closed gracefully).
pub async fn serve(
    listener: TcpListener,
    endpoints: Arc<dyn Endpoints>,
    shutdown: impl Future<Output = ()>,
) {
    serve_with(listener, endpoints, shutdown, HEADER_READ_TIMEOUT).await;
}

/// [`serve`] with a given limit on the time a client may take to send a request head.
async fn serve_with(
    listener: TcpListener,
    endpoints: Arc<dyn Endpoints>,
    shutdown: impl Future<Output = ()>,
    header_read_timeout: std::time::Duration,
) {
    let connections = TaskTracker::new();
    let closing = CancellationToken::new();
    let accepting = accept_loop(
        || listener.accept(),
        |(stream, _peer)| {
            let endpoints = Arc::clone(&endpoints);
            let closing = closing.clone();
            connections.spawn(connection(stream, endpoints, closing, header_read_timeout));
        },
    );
    tokio::select! {
        () = accepting => {}
        () = shutdown => {}
    }
    closing.cancel();
    connections.close();
    connections.wait().await;
}

/// One connection (HTTP/1 keep-alive: several requests), closed gracefully on `closing`.
async fn connection(
    stream: tokio::net::TcpStream,
    endpoints: Arc<dyn Endpoints>,
    closing: CancellationToken,
    header_read_timeout: std::time::Duration,
) {
    let service = service_fn(move |req| {
        let endpoints = Arc::clone(&endpoints);
        async move { Ok::<_, Infallible>(route(&req, endpoints.as_ref())) }
    });
    // A client that sends part of a request head and stops is cut off after this long (else
    // it would hold a graceful shutdown open until the process is killed).
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "HTTP endpoint connection failed");
            }
        }
        () = closing.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

fn route<B>(req: &Request<B>, endpoints: &dyn Endpoints) -> Response<Full<Bytes>> {
    let reply = match *req.method() {
        Method::GET | Method::HEAD => endpoints.get(req.uri().path()),
        _ => Reply::text(405, "only GET and HEAD\n"),
    };
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(reply.content_type),
    );
    response
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    struct Fixed;

    impl Endpoints for Fixed {
        fn get(&self, path: &str) -> Reply {
            match path {
                "/metrics" => Reply::metrics("up 1\n# EOF\n".to_owned()),
                "/healthz" => Reply::ok("ok\n"),
                "/readyz" => Reply::text(503, "waiting\n"),
                _ => Reply::not_found(&["/metrics", "/healthz", "/readyz"]),
            }
        }
    }

    async fn request(addr: std::net::SocketAddr, method: &str, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(
            format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn each_path_gets_its_reply_until_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            Arc::new(Fixed),
            shutdown.clone().cancelled_owned(),
        ));
        let metrics = request(addr, "GET", "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(
            metrics.contains("content-type: application/openmetrics-text; version=1.0.0"),
            "{metrics}"
        );
        assert!(metrics.ends_with("up 1\n# EOF\n"), "{metrics}");
        assert!(
            request(addr, "GET", "/healthz")
                .await
                .starts_with("HTTP/1.1 200")
        );
        assert!(
            request(addr, "GET", "/readyz")
                .await
                .starts_with("HTTP/1.1 503")
        );
        assert!(
            request(addr, "GET", "/nope")
                .await
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            request(addr, "POST", "/metrics")
                .await
                .starts_with("HTTP/1.1 405")
        );
        shutdown.cancel();
        server.await.expect("the server stops");
    }

    /// The executor's old server read one 1 KiB chunk and took the path from it: a request
    /// whose head arrives in pieces (or is longer) got the wrong answer. hyper reads the head.
    #[tokio::test]
    async fn a_request_head_in_pieces_and_over_a_kilobyte_is_read_whole() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            Arc::new(Fixed),
            shutdown.clone().cancelled_owned(),
        ));
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /hea").await.expect("write");
        s.flush().await.expect("flush");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let cookie = "x".repeat(4096);
        s.write_all(
            format!("lthz HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with("ok\n"), "{out}");
        shutdown.cancel();
        server.await.expect("the server stops");
    }

    /// A client that sends part of a request head and stops would hold a graceful shutdown
    /// open for ever without the header-read timeout (the operator would wait for SIGKILL).
    #[tokio::test]
    async fn a_client_stopping_mid_head_does_not_hold_the_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve_with(
            listener,
            Arc::new(Fixed),
            shutdown.clone().cancelled_owned(),
            std::time::Duration::from_millis(200),
        ));
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET /hea").await.expect("write");
        s.flush().await.expect("flush");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        shutdown.cancel();
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), server).await;
        assert!(
            stopped.is_ok(),
            "the server still waits for the half-sent request"
        );
        drop(s);
    }
}
