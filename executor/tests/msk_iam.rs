//! Amazon MSK IAM authentication (`properties.sasl.mechanism: AWS_MSK_IAM`): the tokens Sluice
//! signs are the ones AWS's reference signer (`aws-msk-iam-sasl-signer-python`, installed in
//! the rig's venv by `e2e/rig/python-tools.sh`) signs for the same credentials, region and
//! time; the token source takes credentials and region from the standard AWS chain; and a
//! Kafka source reads through SASL/OAUTHBEARER with the tokens its librdkafka hook signs.
//!
//! No broker here verifies an IAM token (AWS's signature can only be checked by MSK), and none
//! completes a SASL/OAUTHBEARER exchange: librdkafka's mock cluster (2.12) has no SASL request
//! handlers at all, and tansu 0.6.0 (`--authentication`) accepts the OAUTHBEARER handshake but
//! validates only PLAIN and SCRAM, so it refuses every OAUTHBEARER token. So the end-to-end
//! test puts a SASL front ([`sasl_front`]) before the mock cluster: it performs the handshake,
//! checks each token against the reference signer's for the token's own time, and relays the
//! authenticated connection to the broker.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddrV4;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use base64::Engine as _;
use sluice_executor::connector::kafka::msk_iam::{self, MskIam, TokenSource, sign_token};

mod support;

fn decode(token: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .expect("base64url without padding"),
    )
    .expect("UTF-8")
}

/// The reference signer's tokens for `cases` (region, access key, secret, session token,
/// epoch ms), and its User-Agent.
fn reference_tokens(cases: &[(&str, &str, &str, Option<&str>, u64)]) -> Vec<(String, u64, String)> {
    let python = Command::new(support::repo().join("e2e/rig/python-tools.sh"))
        .arg("python")
        .output()
        .expect("run e2e/rig/python-tools.sh");
    assert!(
        python.status.success(),
        "python-tools.sh failed: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let python = String::from_utf8(python.stdout).unwrap().trim().to_owned();
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|(region, ak, sk, st, ms)| {
            serde_json::json!({"region": region, "access_key": ak, "secret_key": sk,
                "session_token": st, "epoch_ms": ms})
        })
        .collect();
    let mut child = Command::new(python)
        .arg(support::repo().join("executor/tests/msk_iam_reference_signer.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the reference signer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "reference signer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    tokens
        .iter()
        .map(|t| {
            (
                t["token"].as_str().unwrap().to_owned(),
                t["expiry_ms"].as_u64().unwrap(),
                t["user_agent"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn tokens_equal_aws_reference_signers_for_the_same_credentials_region_and_time() {
    // Session tokens as IRSA's STS credentials have them (`/`, `+`, `=` need escaping), one
    // without; a leap day just before midnight, and milliseconds that the signature ignores.
    let cases: &[(&str, &str, &str, Option<&str>, u64)] = &[
        (
            "eu-west-1",
            "ASIAXAMPLEKEY1234567",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc/def==="),
            1_796_689_815_600,
        ),
        (
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
            None,
            1_709_251_199_999,
        ),
        (
            "ap-southeast-4",
            "AKIDEXAMPLE",
            "secret with spaces & symbols ~!",
            Some("a b"),
            1_000_000_000_000,
        ),
    ];
    let reference = reference_tokens(cases);
    assert_eq!(reference.len(), cases.len());
    for ((region, ak, sk, st, ms), (ref_token, ref_expiry_ms, ref_agent)) in
        cases.iter().zip(&reference)
    {
        let credentials = Credentials::new(*ak, *sk, st.map(str::to_owned), None, "test");
        let at = UNIX_EPOCH + Duration::from_millis(*ms);
        // With the reference signer's User-Agent, the very same text.
        let ours = sign_token(&credentials, region, at, ref_agent).unwrap();
        assert_eq!(
            decode(&ours.token),
            decode(ref_token),
            "{region}: the signed URL differs from the reference signer's"
        );
        assert_eq!(&ours.token, ref_token, "{region}");
        assert_eq!(
            ours.expires_at
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
            u128::from(*ref_expiry_ms),
            "{region}: expiry"
        );
        // With Sluice's own User-Agent (not signed), only that parameter differs.
        let sluice = sign_token(&credentials, region, at, &msk_iam::user_agent()).unwrap();
        let (signed, agent) = decode(&sluice.token)
            .rsplit_once("&User-Agent=")
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .unwrap();
        assert!(decode(ref_token).starts_with(&format!("{signed}&User-Agent=")));
        assert!(agent.starts_with("sluice%2F"), "{agent}");
    }
    // A different secret gives a different signature: the comparison can fail.
    let (region, ak, _, st, ms) = cases[0];
    let wrong = Credentials::new(ak, "another secret", st.map(str::to_owned), None, "test");
    let ours = sign_token(
        &wrong,
        region,
        UNIX_EPOCH + Duration::from_millis(ms),
        &reference[0].2,
    )
    .unwrap();
    assert_ne!(ours.token, reference[0].0);
}

/// Runs `test` (this binary's test of that name) in a child process with `env` and no other
/// AWS configuration, so that the AWS chain sees only what the test gives it.
fn in_child_with_aws_env(test: &str, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture"])
        .env("SLUICE_MSK_IAM_CHILD", "1")
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for k in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "child run of {test} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_child() -> bool {
    std::env::var_os("SLUICE_MSK_IAM_CHILD").is_some()
}

#[test]
fn the_token_source_signs_with_the_aws_chains_credentials_and_the_first_region_it_finds() {
    if !is_child() {
        in_child_with_aws_env(
            "the_token_source_signs_with_the_aws_chains_credentials_and_the_first_region_it_finds",
            &[
                ("AWS_ACCESS_KEY_ID", "ASIACHAINEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "chain-secret"),
                ("AWS_SESSION_TOKEN", "chain/token+="),
                ("AWS_REGION", "eu-central-2"),
            ],
        );
        // Without a region anywhere, the error says where to set one.
        in_child_with_aws_env(
            "without_a_region_the_token_source_says_where_to_set_one",
            &[
                ("AWS_ACCESS_KEY_ID", "ASIACHAINEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "chain-secret"),
            ],
        );
        return;
    }
    let before = SystemTime::now();
    let check = |settings: MskIam, bootstrap: &str, region: &str| {
        let token = TokenSource::new(&settings, bootstrap).token().unwrap();
        let url = decode(&token.token);
        assert!(
            url.starts_with(&format!("https://kafka.{region}.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIACHAINEXAMPLE%2F")),
            "{url}"
        );
        assert!(
            url.contains(&format!("%2F{region}%2Fkafka-cluster%2Faws4_request&"))
                && url.contains("&X-Amz-Security-Token=chain%2Ftoken%2B%3D&"),
            "{url}"
        );
        let lifetime = token.expires_at.duration_since(before).unwrap();
        assert!(
            lifetime > Duration::from_secs(890) && lifetime <= Duration::from_secs(901),
            "{lifetime:?}"
        );
    };
    // The AWS chain's region (AWS_REGION), then an MSK broker name's, then the option's.
    check(MskIam { region: None }, "127.0.0.1:9098", "eu-central-2");
    check(
        MskIam { region: None },
        "b-1.c.x1.c2.kafka.us-west-2.amazonaws.com:9098",
        "us-west-2",
    );
    check(
        MskIam {
            region: Some("ap-south-1".into()),
        },
        "b-1.c.x1.c2.kafka.us-west-2.amazonaws.com:9098",
        "ap-south-1",
    );
}

#[test]
fn without_a_region_the_token_source_says_where_to_set_one() {
    if !is_child() {
        return; // run by the test above, in a child process
    }
    let err = TokenSource::new(&MskIam { region: None }, "127.0.0.1:9098")
        .token()
        .unwrap_err();
    let text = err.with_causes();
    assert!(
        text.contains("sluice.msk.region") && text.contains("AWS_REGION"),
        "{text}"
    );
}

/// Log lines of the executor, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct NoPositions;

impl sluice_executor::connector::PositionOracle for NoPositions {
    fn claim(
        &self,
        splits: &[sluice_executor::connector::source::SplitId],
        _start_if_none: &[Option<i64>],
    ) -> Result<Vec<Option<i64>>, sluice_executor::connector::ConnectorError> {
        Ok(vec![None; splits.len()])
    }
}

#[test]
fn a_kafka_source_with_aws_msk_iam_gives_librdkafka_a_signed_token() {
    if !is_child() {
        in_child_with_aws_env(
            "a_kafka_source_with_aws_msk_iam_gives_librdkafka_a_signed_token",
            &[
                ("AWS_ACCESS_KEY_ID", "ASIASOURCEEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "source-secret"),
                ("AWS_REGION", "us-east-1"),
            ],
        );
        return;
    }
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_env_filter("info")
        .init();
    let kafka = sluice_executor::mock_kafka::MockKafka::start(1).unwrap();
    // The table as an MSK user writes it, through the same option reading as `sluice run`.
    let values: BTreeMap<String, String> = [
        ("topic", "ticks"),
        (
            "properties.bootstrap.servers",
            kafka.bootstrap_servers().as_str(),
        ),
        ("properties.security.protocol", "SASL_SSL"),
        ("properties.sasl.mechanism", "AWS_MSK_IAM"),
        (
            "properties.sasl.jaas.config",
            "software.amazon.msk.auth.iam.IAMLoginModule required;",
        ),
        (
            "properties.sasl.client.callback.handler.class",
            "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
        ),
        ("sluice.msk.region", "eu-north-1"),
        ("scan.startup.mode", "earliest-offset"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut o = sluice_executor::options::Options::new("ticks", &values, Vec::<String>::new());
    let options = sluice_executor::connector::kafka::options::read(&mut o, "g", &[], None).unwrap();
    o.finish("kafka").unwrap();
    assert_eq!(options.client["sasl.mechanism"], "OAUTHBEARER");
    assert!(!options.client.contains_key("sasl.jaas.config"));
    let (events, _rx) = tokio::sync::mpsc::channel(16);
    let source = sluice_executor::connector::kafka::consumer::KafkaSource::start(
        &options,
        Arc::new(NoPositions),
        Default::default(),
        events,
    )
    .expect("librdkafka takes the translated properties");
    // librdkafka asks for the first token as soon as the client exists; the poll thread
    // answers from the hook.
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        if text.contains("signed an MSK IAM token") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(source);
    let line = text
        .lines()
        .find(|l| l.contains("signed an MSK IAM token"))
        .unwrap_or_else(|| panic!("the OAUTHBEARER hook signed no token:\n{text}"));
    assert!(
        line.contains("region=\"eu-north-1\"") || line.contains("region=eu-north-1"),
        "{line}"
    );
    assert!(line.contains("ASIASOURCEEXAMPLE"), "{line}");
    assert!(!text.contains("failed to sign an MSK IAM token"), "{text}");
}

/// A SASL/OAUTHBEARER front for librdkafka's mock cluster, which has no SASL of its own: it
/// answers `SaslHandshake` (OAUTHBEARER only) and `SaslAuthenticate` itself, checks each bearer
/// token with `verify` (the reference signer: see [`reference_verifier`]), adds both APIs to
/// the broker's `ApiVersions` answer, and after a successful authentication relays the
/// connection to the broker byte for byte. A request other than `ApiVersions` before that
/// closes the connection, as a broker requiring SASL does.
mod sasl_front {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    const API_VERSIONS: i16 = 18;
    const SASL_HANDSHAKE: i16 = 17;
    const SASL_AUTHENTICATE: i16 = 36;
    const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
    const SASL_AUTHENTICATION_FAILED: i16 = 58;

    /// What the front saw.
    #[derive(Default, Debug)]
    pub struct Seen {
        /// Bearer tokens, with whether `verify` accepted each.
        pub tokens: Vec<(String, bool)>,
        /// Connections closed for a request before authentication.
        pub unauthenticated: usize,
    }

    pub fn start(
        upstream: SocketAddr,
        verify: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    ) -> (SocketAddr, Arc<Mutex<Seen>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (verify, seen) = (Arc::clone(&verify), Arc::clone(&seen2));
                std::thread::spawn(move || {
                    let _ = serve(client, upstream, &*verify, &seen);
                });
            }
        });
        (addr, seen)
    }

    fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        s.read_exact(&mut len)?;
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut frame)?;
        Ok(frame)
    }

    fn write_frame(s: &mut TcpStream, frame: &[u8]) -> std::io::Result<()> {
        s.write_all(&(frame.len() as u32).to_be_bytes())?;
        s.write_all(frame)
    }

    fn i16_at(b: &[u8], at: usize) -> i16 {
        i16::from_be_bytes([b[at], b[at + 1]])
    }

    /// The end of a non-flexible request header (v1): after api key, version, correlation id
    /// and the client id (INT16 length, -1 for null).
    fn header_v1_end(req: &[u8]) -> usize {
        let len = i16_at(req, 8);
        10 + usize::try_from(len.max(0)).unwrap()
    }

    fn uvarint(b: &[u8], at: &mut usize) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[*at];
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }

    fn skip_tags(b: &[u8], at: &mut usize) {
        for _ in 0..uvarint(b, at) {
            let _tag = uvarint(b, at);
            let size = uvarint(b, at) as usize;
            *at += size;
        }
    }

    /// An `ApiVersions` response (header v0) with SaslHandshake 0-1 and SaslAuthenticate 0-1
    /// appended to its array of APIs (v0-v2: INT32 count, 6-byte entries; v3: compact).
    fn with_sasl_apis(resp: &[u8], version: i16) -> Vec<u8> {
        if i16_at(resp, 4) != 0 {
            // An error (the mock cluster answers v3 with UNSUPPORTED_VERSION in v0's format,
            // and librdkafka asks again with v0): as it is.
            return resp.to_vec();
        }
        if version < 3 {
            let count = i32::from_be_bytes(resp[6..10].try_into().unwrap());
            let end = 10 + 6 * usize::try_from(count).unwrap();
            let mut out = resp[..6].to_vec();
            out.extend_from_slice(&(count + 2).to_be_bytes());
            out.extend_from_slice(&resp[10..end]);
            for key in [SASL_HANDSHAKE, SASL_AUTHENTICATE] {
                out.extend_from_slice(&key.to_be_bytes());
                out.extend_from_slice(&0i16.to_be_bytes());
                out.extend_from_slice(&1i16.to_be_bytes());
            }
            out.extend_from_slice(&resp[end..]);
            return out;
        }
        let mut at = 4 + 2; // correlation id, error code
        let count_at = at;
        let count = uvarint(resp, &mut at) - 1;
        assert!(count + 3 < 128, "a one-byte compact array length");
        for _ in 0..count {
            at += 6;
            skip_tags(resp, &mut at);
        }
        let mut out = resp[..count_at].to_vec();
        out.push(u8::try_from(count + 3).unwrap());
        out.extend_from_slice(&resp[count_at + 1..at]);
        for key in [SASL_HANDSHAKE, SASL_AUTHENTICATE] {
            out.extend_from_slice(&key.to_be_bytes());
            out.extend_from_slice(&0i16.to_be_bytes());
            out.extend_from_slice(&1i16.to_be_bytes());
            out.push(0); // no tagged fields
        }
        out.extend_from_slice(&resp[at..]);
        out
    }

    fn serve(
        mut client: TcpStream,
        upstream: SocketAddr,
        verify: &(dyn Fn(&str) -> bool + Send + Sync),
        seen: &Mutex<Seen>,
    ) -> std::io::Result<()> {
        let mut broker = TcpStream::connect(upstream)?;
        loop {
            let req = read_frame(&mut client)?;
            let (key, version) = (i16_at(&req, 0), i16_at(&req, 2));
            let correlation = &req[4..8];
            match key {
                API_VERSIONS => {
                    write_frame(&mut broker, &req)?;
                    let resp = read_frame(&mut broker)?;
                    write_frame(&mut client, &with_sasl_apis(&resp, version))?;
                }
                SASL_HANDSHAKE => {
                    let at = header_v1_end(&req);
                    let len = usize::try_from(i16_at(&req, at)).unwrap();
                    let mechanism = &req[at + 2..at + 2 + len];
                    let mut resp = correlation.to_vec();
                    let error = if mechanism == b"OAUTHBEARER" {
                        0
                    } else {
                        UNSUPPORTED_SASL_MECHANISM
                    };
                    resp.extend_from_slice(&error.to_be_bytes());
                    resp.extend_from_slice(&1i32.to_be_bytes());
                    resp.extend_from_slice(&11i16.to_be_bytes());
                    resp.extend_from_slice(b"OAUTHBEARER");
                    write_frame(&mut client, &resp)?;
                }
                SASL_AUTHENTICATE => {
                    let at = header_v1_end(&req);
                    let len = u32::from_be_bytes(req[at..at + 4].try_into().unwrap()) as usize;
                    let message = String::from_utf8_lossy(&req[at + 4..at + 4 + len]).into_owned();
                    // RFC 7628: n,,\x01auth=Bearer <token>\x01\x01
                    let token = message
                        .split('\u{1}')
                        .find_map(|kv| kv.strip_prefix("auth=Bearer "))
                        .unwrap_or_default()
                        .to_owned();
                    let ok = verify(&token);
                    seen.lock().unwrap().tokens.push((token, ok));
                    let mut resp = correlation.to_vec();
                    if ok {
                        resp.extend_from_slice(&0i16.to_be_bytes());
                        resp.extend_from_slice(&(-1i16).to_be_bytes());
                    } else {
                        let text = b"IAM token rejected";
                        resp.extend_from_slice(&SASL_AUTHENTICATION_FAILED.to_be_bytes());
                        resp.extend_from_slice(&(text.len() as i16).to_be_bytes());
                        resp.extend_from_slice(text);
                    }
                    resp.extend_from_slice(&0i32.to_be_bytes()); // no auth bytes back
                    if version >= 1 {
                        resp.extend_from_slice(&0i64.to_be_bytes()); // no re-authentication
                    }
                    write_frame(&mut client, &resp)?;
                    if !ok {
                        return Ok(());
                    }
                    // Authenticated: relay both ways.
                    let (mut c2, mut b2) = (client.try_clone()?, broker.try_clone()?);
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut b2, &mut c2);
                        let _ = c2.shutdown(std::net::Shutdown::Both);
                    });
                    let _ = std::io::copy(&mut client, &mut broker);
                    let _ = broker.shutdown(std::net::Shutdown::Both);
                    return Ok(());
                }
                _ => {
                    seen.lock().unwrap().unauthenticated += 1;
                    return Ok(());
                }
            }
        }
    }
}

/// Accepts a bearer token when it is, up to its (unsigned) User-Agent, the reference signer's
/// token for these credentials and region at the token's own `X-Amz-Date`, and that date is
/// within a minute of now.
fn reference_verifier(
    region: &'static str,
    access_key: &'static str,
    secret_key: &'static str,
) -> Arc<dyn Fn(&str) -> bool + Send + Sync> {
    Arc::new(move |token: &str| {
        let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        let url = String::from_utf8_lossy(&bytes).into_owned();
        let Some(date) = url
            .split('&')
            .find_map(|kv| kv.strip_prefix("X-Amz-Date="))
            .and_then(|d| chrono::NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%SZ").ok())
        else {
            return false;
        };
        let epoch_ms = u64::try_from(date.and_utc().timestamp_millis()).unwrap();
        let now_ms = u64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        )
        .unwrap();
        if now_ms.abs_diff(epoch_ms) > 60_000 {
            return false;
        }
        let (reference, _, _) =
            reference_tokens(&[(region, access_key, secret_key, None, epoch_ms)]).remove(0);
        let signed = |u: &str| u.rsplit_once("&User-Agent=").map(|(s, _)| s.to_owned());
        signed(&url).is_some() && signed(&url) == signed(&decode(&reference))
    })
}

#[test]
fn a_kafka_source_reads_through_sasl_oauthbearer_with_the_iam_token() {
    const REGION: &str = "eu-west-3";
    const ACCESS_KEY: &str = "AKIAFRONTEXAMPLE";
    const SECRET_KEY: &str = "front-secret";
    if !is_child() {
        in_child_with_aws_env(
            "a_kafka_source_reads_through_sasl_oauthbearer_with_the_iam_token",
            &[
                ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
                ("AWS_REGION", REGION),
            ],
        );
        return;
    }
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
    // A one-broker mock cluster with 50 records, produced before the front goes up.
    let cluster_owner: BaseProducer = rdkafka::ClientConfig::new()
        .set("test.mock.num.brokers", "1")
        .create()
        .unwrap();
    let mock = cluster_owner.client().mock_cluster().unwrap();
    mock.create_topic("ticks", 1, 1).unwrap();
    let broker: SocketAddrV4 = mock.bootstrap_servers().parse().unwrap();
    for i in 0..50 {
        let value = format!("{{\"id\":{i}}}");
        cluster_owner
            .send(BaseRecord::<(), _>::to("ticks").payload(&value))
            .unwrap();
    }
    cluster_owner.flush(Duration::from_secs(10)).unwrap();
    let (front, seen) = sasl_front::start(
        broker.into(),
        reference_verifier(REGION, ACCESS_KEY, SECRET_KEY),
    );
    // Clients now find broker 1 at the front.
    let host = std::ffi::CString::new("127.0.0.1").unwrap();
    // SAFETY: the handle lives in `cluster_owner`; the calls only set the cluster's group
    // rebalance delay (none, as the testkit's broker) and the address it advertises for
    // broker 1.
    unsafe {
        let cluster =
            rdkafka::bindings::rd_kafka_handle_mock_cluster(cluster_owner.client().native_ptr());
        assert!(!cluster.is_null());
        rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0);
        rdkafka::bindings::rd_kafka_mock_broker_set_host_port(
            cluster,
            1,
            host.as_ptr(),
            i32::from(front.port()),
        )
    }

    let values: BTreeMap<String, String> = [
        ("topic", "ticks"),
        ("properties.bootstrap.servers", front.to_string().as_str()),
        ("properties.sasl.mechanism", "AWS_MSK_IAM"),
        ("scan.startup.mode", "earliest-offset"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut o = sluice_executor::options::Options::new("ticks", &values, Vec::<String>::new());
    let mut options =
        sluice_executor::connector::kafka::options::read(&mut o, "g", &[], None).unwrap();
    o.finish("kafka").unwrap();
    // No TLS broker runs here: the front speaks plaintext (MSK's IAM listener is TLS, so
    // the table may not ask for this; the test does).
    options
        .client
        .insert("security.protocol".into(), "SASL_PLAINTEXT".into());
    let (events, mut rx) = tokio::sync::mpsc::channel(64);
    let settings = sluice_executor::connector::kafka::consumer::ConsumerSettings {
        // Nothing commits here: closing need not wait for the revocation's acknowledgement.
        revoke_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let source = sluice_executor::connector::kafka::consumer::KafkaSource::start(
        &options,
        Arc::new(NoPositions),
        settings,
        events,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut read = 0;
    while read < 50 {
        assert!(
            Instant::now() < deadline,
            "read {read} of 50 records; the front saw {:?}",
            seen.lock().unwrap()
        );
        match rx.try_recv() {
            Ok(sluice_executor::connector::SourceEvent::Batch { batch, .. }) => {
                read += batch.records.len();
            }
            Ok(sluice_executor::connector::SourceEvent::Failed(e)) => {
                panic!("{}", sluice_executor::connector::Report(&e))
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    drop(source);
    assert_eq!(read, 50);
    let seen = seen.lock().unwrap();
    assert!(!seen.tokens.is_empty());
    assert!(
        seen.tokens.iter().all(|(_, ok)| *ok),
        "a token the reference signer would not have made: {seen:?}"
    );
    println!(
        "read {read} records through SASL/OAUTHBEARER; {} connections authenticated with IAM tokens",
        seen.tokens.len()
    );
}
