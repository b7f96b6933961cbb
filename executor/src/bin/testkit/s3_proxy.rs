//! A fault-injecting HTTP proxy in front of an S3 server (moto) for the fault suite.
//!
//! Each client request is forwarded on a fresh upstream connection (`Connection: close`) and
//! the answer relayed as is, unless a fault applies:
//!
//! - `errors RATE` — that fraction of requests gets `500 InternalError` or `503 SlowDown`
//!   without reaching the server;
//! - `ambiguous RATE` — that fraction reaches the server and its answer is replaced by a
//!   `500` (the request took effect, the client believes it failed);
//! - `delay MILLIS` — every request waits up to that long (uniformly) before it is forwarded;
//! - `outage SECONDS` — every request gets `503 ServiceUnavailable` for that long;
//! - `fail OP KEY-SUBSTRING STATUS SECONDS` — requests of one operation (`PutObject`,
//!   `UploadPart`, `CompleteMultipartUpload`, ..., or `*`) on matching keys get STATUS;
//! - `clear` — no faults.
//!
//! It also serves as a forward proxy (`HTTP_PROXY=<its URL>`): a request in absolute form
//! (`PUT http://host:port/bucket/key HTTP/1.1`) goes to the host it names, in origin form, and
//! is logged with `"proxied": true` — the test that S3 traffic honours the proxy settings.
//!
//! Commands arrive on a Unix socket, one per line, answered `ok` or `error ...`. Every request
//! is logged as a JSON line (operation, key, upstream status, status sent, rows written) so
//! that the oracle can check that no object was ever replaced by one with fewer rows.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener};

#[derive(Default)]
struct Faults {
    error_rate: f64,
    ambiguous_rate: f64,
    delay: Duration,
    outage_until: Option<Instant>,
    rules: Vec<Rule>,
}

struct Rule {
    op: String,
    key: String,
    status: u16,
    until: Instant,
}

struct State {
    faults: Mutex<Faults>,
    /// Rows of each part of each multipart upload, for the rows of its completed object.
    parts: Mutex<HashMap<String, HashMap<u32, u64>>>,
    log: Mutex<std::fs::File>,
    upstream: String,
    started: Instant,
}

/// Runs the proxy until killed: listens on `127.0.0.1:port` (0 = any), writes its URL to
/// `ready_file`, takes commands on `control`, logs requests to `log`.
pub fn run(
    upstream: &str,
    port: u16,
    ready_file: Option<PathBuf>,
    control: Option<PathBuf>,
    log: &Path,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let log = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen: {e}"))?;
        let url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().map_err(|e| e.to_string())?.port()
        );
        let state = Arc::new(State {
            faults: Mutex::new(Faults::default()),
            parts: Mutex::new(HashMap::new()),
            log: Mutex::new(log),
            upstream,
            started: Instant::now(),
        });
        if let Some(path) = control {
            let _ = std::fs::remove_file(&path);
            let unix = UnixListener::bind(&path)
                .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                while let Ok((conn, _)) = unix.accept().await {
                    let state = Arc::clone(&state);
                    tokio::spawn(async move {
                        let (r, mut w) = conn.into_split();
                        let mut line = String::new();
                        if BufReader::new(r).read_line(&mut line).await.is_ok() {
                            let reply = match command(&state, &line) {
                                Ok(()) => "ok\n".to_owned(),
                                Err(e) => format!("error {e}\n"),
                            };
                            let _ = w.write_all(reply.as_bytes()).await;
                        }
                    });
                }
            });
        }
        println!("{url}");
        if let Some(f) = &ready_file {
            let tmp = f.with_extension("tmp");
            std::fs::write(&tmp, &url)
                .and_then(|()| std::fs::rename(&tmp, f))
                .map_err(|e| format!("cannot write {}: {e}", f.display()))?;
        }
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                continue;
            };
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let _ = serve(conn, state).await;
            });
        }
    })
}

fn command(state: &State, line: &str) -> Result<(), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut f = state.faults.lock().unwrap_or_else(|e| e.into_inner());
    let num = |s: &str| s.parse::<f64>().map_err(|_| format!("bad number {s:?}"));
    match words.as_slice() {
        ["errors", rate] => f.error_rate = num(rate)?,
        ["ambiguous", rate] => f.ambiguous_rate = num(rate)?,
        ["delay", ms] => f.delay = Duration::from_millis(num(ms)? as u64),
        ["outage", secs] => {
            f.outage_until = Some(Instant::now() + Duration::from_secs_f64(num(secs)?));
        }
        ["fail", op, key, status, secs] => f.rules.push(Rule {
            op: (*op).to_owned(),
            key: (*key).to_owned(),
            status: num(status)? as u16,
            until: Instant::now() + Duration::from_secs_f64(num(secs)?),
        }),
        ["clear"] => *f = Faults::default(),
        _ => return Err(format!("unknown command {line:?}")),
    }
    Ok(())
}

/// A parsed request.
struct Request {
    method: String,
    /// Origin form (`/bucket/key?query`).
    target: String,
    /// The `host:port` of an absolute-form target (a forward-proxy request).
    authority: Option<String>,
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Request {
    fn path_and_query(&self) -> (&str, &str) {
        self.target.split_once('?').unwrap_or((&self.target, ""))
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.path_and_query().1.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then_some(v)
        })
    }

    /// Bucket and key (path style).
    fn object(&self) -> (String, String) {
        let path = decode(self.path_and_query().0);
        let path = path.trim_start_matches('/');
        let (b, k) = path.split_once('/').unwrap_or((path, ""));
        (b.to_owned(), k.to_owned())
    }

    fn operation(&self) -> &'static str {
        let has = |q: &str| self.query(q).is_some();
        let key_empty = self.object().1.is_empty();
        match self.method.as_str() {
            "PUT" if has("partNumber") => "UploadPart",
            "PUT" if key_empty => "CreateBucket",
            "PUT" => "PutObject",
            "POST" if has("uploads") => "CreateMultipartUpload",
            "POST" if has("uploadId") => "CompleteMultipartUpload",
            "POST" => "Post",
            "DELETE" if has("uploadId") => "AbortMultipartUpload",
            "DELETE" => "DeleteObject",
            "HEAD" => "HeadObject",
            "GET" if has("uploads") => "ListMultipartUploads",
            "GET" if key_empty => "ListObjects",
            "GET" => "GetObject",
            _ => "Other",
        }
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Rows in a body of JSON lines (also inside `aws-chunked` framing).
fn rows(body: &[u8]) -> u64 {
    body.windows(2).filter(|w| w == b"}\n").count() as u64
}

async fn read_request(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let n = r.read_until(b'\n', &mut head).await.ok()?;
        if n == 0 {
            return None;
        }
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let raw_target = first.next()?;
    let (target, authority) = match raw_target.strip_prefix("http://") {
        Some(absolute) => {
            let (authority, path) = absolute.split_at(absolute.find('/').unwrap_or(absolute.len()));
            let path = if path.is_empty() { "/" } else { path };
            (path.to_owned(), Some(authority.to_owned()))
        }
        None => (raw_target.to_owned(), None),
    };
    let mut length = 0usize;
    let mut chunked = false;
    let mut kept = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.parse().ok()?,
            "transfer-encoding" if v.eq_ignore_ascii_case("chunked") => chunked = true,
            "connection" => continue,
            _ => {}
        }
        kept.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    kept.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut body = Vec::new();
    if chunked {
        // Forwarded as received (framing included).
        loop {
            let mut size_line = Vec::new();
            r.read_until(b'\n', &mut size_line).await.ok()?;
            body.extend_from_slice(&size_line);
            let size_text = String::from_utf8_lossy(&size_line);
            let size = usize::from_str_radix(size_text.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).await.ok()?;
            body.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    } else {
        body.resize(length, 0);
        r.read_exact(&mut body).await.ok()?;
    }
    Some(Request {
        method,
        target,
        authority,
        head: kept,
        body,
    })
}

fn error_response(status: u16, code: &str, head_only: bool) -> Vec<u8> {
    let reason = match status {
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Error",
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>injected by the fault proxy</Message><RequestId>proxy</RequestId></Error>"
    );
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        if head_only { 0 } else { body.len() }
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

fn code_for(status: u16) -> &'static str {
    match status {
        503 => "SlowDown",
        403 => "AccessDenied",
        404 => "NoSuchKey",
        409 => "ConditionalRequestConflict",
        _ => "InternalError",
    }
}

async fn serve(conn: TcpStream, state: Arc<State>) -> std::io::Result<()> {
    let (r, mut w) = conn.into_split();
    let mut r = BufReader::new(r);
    // One request per connection, upstream and downstream (`Connection: close`).
    if let Some(req) = read_request(&mut r).await {
        let op = req.operation();
        let (bucket, key) = req.object();
        let head_only = req.method == "HEAD";
        // Decide the fault.
        let (injected, ambiguous, delay) = {
            let mut f = state.faults.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            f.rules.retain(|r| r.until > now);
            let mut rng = rand::rng();
            let injected = if f.outage_until.is_some_and(|u| u > now) {
                Some((503, "ServiceUnavailable"))
            } else if let Some(rule) = f
                .rules
                .iter()
                .find(|r| (r.op == "*" || r.op == op) && key.contains(&r.key))
            {
                Some((rule.status, code_for(rule.status)))
            } else if f.error_rate > 0.0 && rng.random_bool(f.error_rate.min(1.0)) {
                Some(if rng.random_bool(0.5) {
                    (500, "InternalError")
                } else {
                    (503, "SlowDown")
                })
            } else {
                None
            };
            let ambiguous = injected.is_none()
                && f.ambiguous_rate > 0.0
                && rng.random_bool(f.ambiguous_rate.min(1.0));
            let delay = if f.delay.is_zero() {
                Duration::ZERO
            } else {
                f.delay.mul_f64(rng.random::<f64>())
            };
            (injected, ambiguous, delay)
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut row_count = None;
        let (upstream_status, response) = match injected {
            Some((status, code)) => (None, error_response(status, code, head_only)),
            None => {
                let upstream = req.authority.as_deref().unwrap_or(&state.upstream);
                let mut up = TcpStream::connect(upstream).await?;
                up.write_all(&req.head).await?;
                up.write_all(&req.body).await?;
                let mut raw = Vec::new();
                up.read_to_end(&mut raw).await?;
                // The client must not reuse its connection: say so after the status line.
                let mut response = raw.clone();
                if let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
                    response.splice(eol + 2..eol + 2, b"Connection: close\r\n".iter().copied());
                }
                let status: u16 = String::from_utf8_lossy(&response[..response.len().min(16)])
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if status == 200 {
                    match op {
                        "UploadPart" => {
                            let upload = req.query("uploadId").unwrap_or("").to_owned();
                            let number = req
                                .query("partNumber")
                                .and_then(|n| n.parse().ok())
                                .unwrap_or(0);
                            state
                                .parts
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .entry(upload)
                                .or_default()
                                .insert(number, rows(&req.body));
                        }
                        "PutObject" => row_count = Some(rows(&req.body)),
                        "CompleteMultipartUpload" => {
                            let upload = req.query("uploadId").unwrap_or("");
                            row_count = state
                                .parts
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get(upload)
                                .map(|p| p.values().sum());
                        }
                        _ => {}
                    }
                }
                if ambiguous {
                    (
                        Some(status),
                        error_response(500, "InternalError", head_only),
                    )
                } else {
                    (Some(status), response)
                }
            }
        };
        let sent: u16 = String::from_utf8_lossy(&response[..response.len().min(16)])
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        {
            let line = serde_json::json!({
                "ms": state.started.elapsed().as_millis() as u64,
                "op": op,
                "bucket": bucket,
                "key": key,
                "upload": req.query("uploadId"),
                "upstream": upstream_status,
                "sent": sent,
                "rows": row_count,
                "bytes": req.body.len(),
                "proxied": req.authority.is_some(),
            });
            let mut log = state.log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(log, "{line}");
        }
        w.write_all(&response).await?;
        w.flush().await?;
    }
    let _ = w.shutdown().await;
    Ok(())
}
