//! Amazon MSK IAM authentication (`properties.sasl.mechanism: AWS_MSK_IAM`): the tokens Sluice
//! signs are the ones AWS's reference signer (`aws-msk-iam-sasl-signer-python`, installed in
//! the rig's venv by `e2e/rig/python-tools.sh`) signs for the same credentials, region and
//! time; the token source takes credentials and region from the standard AWS chain; and the
//! Kafka source hands librdkafka's OAUTHBEARER refresh hook a token.
//!
//! No broker here verifies an IAM token (AWS's signature can only be checked by MSK), and none
//! completes a SASL/OAUTHBEARER exchange: librdkafka's mock cluster (2.12) has no SASL request
//! handlers at all, and tansu 0.6.0 (`--authentication`) accepts the OAUTHBEARER handshake but
//! validates only PLAIN and SCRAM, so it refuses every OAUTHBEARER token.

use std::collections::BTreeMap;
use std::io::Write as _;
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
    ) -> Result<Vec<Option<i64>>, String> {
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
    let options = sluice_executor::connector::kafka::options::read(&mut o, "g", &[]).unwrap();
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
