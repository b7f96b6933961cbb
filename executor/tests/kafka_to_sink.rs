//! The executor against a real Kafka-protocol broker (librdkafka's mock cluster, in its own
//! process) and a real S3 server (moto): exactly once, across restarts and kill -9.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

mod support;

use std::time::Duration;

use rand::Rng as _;
use support::*;

#[test]
fn every_filtered_record_lands_exactly_once_in_the_right_s3_partition() {
    let kafka = Kafka::start("ticks", 4);
    let name = unique("exact");
    bucket(&name);
    kafka.produce("ticks", 0, 20_000, &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = format!("s3://{name}/ticks");
    let job = write_job(
        dir.path(),
        &job_yaml(&kafka.bootstrap, "ticks", &name, &path, "", ""),
    );
    let out = run_until_idle(&job, "3s");
    assert!(
        out.status.success(),
        "sluice run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify(&path, 20_000, &[]);
    assert_eq!(
        (r.missing, r.duplicated, r.unexpected, r.misplaced),
        (0, 0, 0, 0),
        "{r:?}"
    );
    assert!(
        r.expected > 10_000 && r.expected < 20_000,
        "the WHERE clause filters some ticks: {r:?}"
    );
}

#[test]
fn a_restarted_job_resumes_where_it_committed_and_writes_nothing_twice() {
    let kafka = Kafka::start("ticks", 3);
    let dir = tempfile::tempdir().unwrap();
    let name = unique("resume");
    let path = format!("file://{}/lake", dir.path().display());
    let job = write_job(
        dir.path(),
        &job_yaml(&kafka.bootstrap, "ticks", &name, &path, "", ""),
    );
    kafka.produce("ticks", 0, 5_000, &[]);
    assert!(run_until_idle(&job, "2s").status.success());
    kafka.produce("ticks", 5_000, 5_000, &[]);
    let out = run_until_idle(&job, "2s");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify(&path, 10_000, &[]);
    assert_eq!(
        (r.missing, r.duplicated, r.unexpected, r.misplaced),
        (0, 0, 0, 0),
        "{r:?}"
    );
}

#[test]
fn kill_dash_nine_at_random_moments_loses_and_duplicates_nothing() {
    let kafka = Kafka::start("ticks", 4);
    let name = unique("crash");
    bucket(&name);
    let dir = tempfile::tempdir().unwrap();
    let path = format!("s3://{name}/ticks");
    let job = write_job(
        dir.path(),
        &job_yaml(&kafka.bootstrap, "ticks", &name, &path, "", ""),
    );
    let total = 60_000;
    let mut producer = kafka.produce_in_background("ticks", 0, total, 4_000);
    let mut rng = rand::rng();
    let kills = 12;
    for i in 0..kills {
        let mut child = spawn(&job, &dir.path().join(format!("run-{i}.log")));
        std::thread::sleep(Duration::from_millis(rng.random_range(300..2_500)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(producer.wait().unwrap().success());
    let out = run_until_idle(&job, "3s");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify(&path, total, &[]);
    println!("crash test after {kills} kill -9: {r:?}");
    assert_eq!(
        (r.missing, r.duplicated, r.unexpected, r.misplaced),
        (0, 0, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.found, r.expected);
}

#[test]
fn a_malformed_record_stops_the_job_naming_it_and_nothing_after_it_is_written() {
    let kafka = Kafka::start("ticks", 1);
    let dir = tempfile::tempdir().unwrap();
    let name = unique("poison");
    let path = format!("file://{}/lake", dir.path().display());
    let job = write_job(
        dir.path(),
        &job_yaml(&kafka.bootstrap, "ticks", &name, &path, "", ""),
    );
    // Record 999 (offset 999 of the single partition) is malformed.
    kafka.produce("ticks", 0, 3_000, &["--poison-every", "1000"]);
    let out = run_until_idle(&job, "2s");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the job must fail on a malformed record"
    );
    assert!(err.contains("topic ticks partition 0 offset 999"), "{err}");
    // Everything before the poison record is in the sink, nothing after it.
    let r = verify(&path, 999, &[]);
    assert_eq!((r.missing, r.duplicated, r.unexpected), (0, 0, 0), "{r:?}");
    // With json.ignore-parse-errors the malformed records are skipped and counted.
    let lenient = write_job(
        dir.path(),
        &job_yaml(
            &kafka.bootstrap,
            "ticks",
            &name,
            &path,
            "    json.ignore-parse-errors: \"true\"\n",
            "",
        ),
    );
    let out = run_until_idle(&lenient, "2s");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify(&path, 3_000, &["--poison-every", "1000"]);
    assert_eq!((r.missing, r.duplicated, r.unexpected), (0, 0, 0), "{r:?}");
}

/// A pod on a network that reaches S3 only through an HTTP proxy: the S3 client takes the
/// proxy from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` as the AWS SDK's default client does. The
/// testkit's S3 proxy serves as the forward proxy (it logs absolute-form requests as
/// `proxied`); the table names the S3 server itself as its endpoint.
#[test]
fn s3_traffic_goes_through_the_http_proxy_the_environment_names() {
    let kafka = Kafka::start("ticks", 2);
    let name = unique("proxied");
    bucket(&name);
    kafka.produce("ticks", 0, 3_000, &[]);
    let proxy = S3Proxy::start();
    let dir = tempfile::tempdir().unwrap();
    let path = format!("s3://{name}/ticks");
    let job = write_job(
        dir.path(),
        &job_yaml(&kafka.bootstrap, "ticks", &name, &path, "", ""),
    );
    let env = [
        ("HTTP_PROXY", proxy.url.as_str()),
        ("HTTPS_PROXY", proxy.url.as_str()),
        ("NO_PROXY", ""),
    ];
    let out = run_until_idle_with(&job, "3s", &env, &[]);
    assert!(
        out.status.success(),
        "sluice run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify(&path, 3_000, &[]);
    assert_eq!(
        (r.missing, r.duplicated, r.unexpected, r.misplaced),
        (0, 0, 0, 0),
        "{r:?}"
    );
    let requests = proxy.requests();
    let direct: Vec<_> = requests.iter().filter(|q| q["proxied"] != true).collect();
    assert!(
        direct.is_empty(),
        "requests reached the proxy as to an endpoint, not as a forward proxy: {direct:?}"
    );
    let puts = requests
        .iter()
        .filter(|q| {
            q["bucket"] == name.as_str()
                && ["PutObject", "CompleteMultipartUpload"]
                    .contains(&q["op"].as_str().unwrap_or(""))
        })
        .count();
    assert!(
        puts > 0,
        "no object was written through the proxy: {}",
        proxy.summary()
    );
}
