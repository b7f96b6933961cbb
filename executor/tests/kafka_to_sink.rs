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

/// A data file's extension (`csv`, `json.gz`, ...) and its text, decompressed.
fn read_data_file(p: &std::path::Path) -> (String, String) {
    use std::io::Read as _;
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    let ext = name.split_once('.').unwrap().1.to_owned();
    let bytes = std::fs::read(p).unwrap();
    let text = if ext.ends_with(".gz") {
        let mut out = String::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_string(&mut out)
            .unwrap();
        out
    } else if ext.ends_with(".zst") {
        String::from_utf8(zstd::decode_all(bytes.as_slice()).unwrap()).unwrap()
    } else {
        String::from_utf8(bytes).unwrap()
    };
    (ext, text)
}

/// Lines of the data files under a local sink directory, by partition directory, sorted.
fn lines_by_partition(root: &std::path::Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(['_', '.']) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let dir = p
                .parent()
                .unwrap()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            out.entry(dir)
                .or_default()
                .extend(read_data_file(&p).1.lines().map(str::to_owned));
        }
    }
    out.values_mut().for_each(|v| v.sort());
    out
}

/// Ids of the data files under a local sink directory, by partition directory: the `id`
/// field of JSON lines, the first field of CSV lines; also the file extensions seen.
fn ids_by_partition(
    root: &std::path::Path,
) -> (
    std::collections::BTreeMap<String, Vec<i64>>,
    std::collections::BTreeSet<String>,
) {
    let mut ids = std::collections::BTreeMap::<String, Vec<i64>>::new();
    let mut extensions = std::collections::BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('_') || name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let (ext, text) = read_data_file(&p);
            let dir = p
                .parent()
                .unwrap()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            for line in text.lines() {
                let id = if ext.starts_with("csv") {
                    line.split(',').next().unwrap().parse().unwrap()
                } else {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    v["id"].as_i64().unwrap()
                };
                ids.entry(dir.clone()).or_default().push(id);
            }
            extensions.insert(ext);
        }
    }
    ids.values_mut().for_each(|v| v.sort());
    (ids, extensions)
}

#[test]
fn csv_records_become_csv_files_with_the_rows_of_the_json_pipeline_and_bad_ones_dead_letters() {
    let (total, every) = (3_000u64, 1_000u64);
    let poison = ["--poison-every", "1000"];
    let dir = tempfile::tempdir().unwrap();
    // The reference: JSON in, JSON out, checked by the oracle.
    let json_kafka = Kafka::start("ticks", 2);
    json_kafka.produce("ticks", 0, total, &poison);
    let json_path = format!("file://{}/json", dir.path().display());
    let json_dlq = format!("file://{}/json-dead", dir.path().display());
    let json_job = write_job(
        dir.path(),
        &job_yaml(
            &json_kafka.bootstrap,
            "ticks",
            &unique("json"),
            &json_path,
            &format!("    sluice.dead-letter.path: {json_dlq}\n"),
            "",
        ),
    );
    let out = run_until_idle(&json_job, "2s");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = verify(&json_path, total, &poison);
    assert_eq!(
        (r.missing, r.duplicated, r.unexpected, r.misplaced),
        (0, 0, 0, 0),
        "{r:?}"
    );
    // The same ticks as CSV lines, read and written as CSV.
    let csv_kafka = Kafka::start("ticks", 2);
    csv_kafka.produce(
        "ticks",
        0,
        total,
        &[&poison[..], &["--value-format", "csv"]].concat(),
    );
    let csv_path = format!("file://{}/csv", dir.path().display());
    let csv_dlq = format!("file://{}/csv-dead", dir.path().display());
    let yaml = job_yaml(
        &csv_kafka.bootstrap,
        "ticks",
        &unique("csv"),
        &csv_path,
        &format!("    sluice.dead-letter.path: {csv_dlq}\n"),
        "",
    )
    .replacen("format: json", "format: csv", 2);
    let csv_job = write_job(dir.path(), &yaml);
    let out = run_until_idle(&csv_job, "2s");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (json_ids, json_ext) = ids_by_partition(&dir.path().join("json"));
    let (csv_ids, csv_ext) = ids_by_partition(&dir.path().join("csv"));
    assert_eq!(json_ext.into_iter().collect::<Vec<_>>(), ["json"]);
    assert_eq!(csv_ext.into_iter().collect::<Vec<_>>(), ["csv"]);
    assert!(json_ids.len() > 1, "{json_ids:?}");
    assert_eq!(
        csv_ids, json_ids,
        "the CSV pipeline writes the JSON pipeline's rows"
    );
    // Each CSV record that failed to decode is one dead letter, as JSON's are.
    let dead = |d: &str| -> Vec<String> {
        let mut lines = Vec::new();
        let mut stack = vec![dir.path().join(d)];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else if !e.file_name().to_string_lossy().starts_with(['_', '.']) {
                    lines.extend(
                        std::fs::read_to_string(e.path())
                            .unwrap()
                            .lines()
                            .map(str::to_owned),
                    );
                }
            }
        }
        lines
    };
    let (json_dead, csv_dead) = (dead("json-dead"), dead("csv-dead"));
    assert_eq!(json_dead.len() as u64, total / every, "{json_dead:?}");
    assert_eq!(csv_dead.len() as u64, total / every, "{csv_dead:?}");
    assert!(
        csv_dead.iter().all(|l| l.contains("Row length mismatch")),
        "{csv_dead:?}"
    );
}

#[test]
fn compressed_files_read_back_as_the_uncompressed_ones_exactly_once() {
    let total = 4_000u64;
    let dir = tempfile::tempdir().unwrap();
    let kafka = Kafka::start("ticks", 2);
    kafka.produce("ticks", 0, total, &[]);
    let run = |name: &str, format: &str, compression: &str| {
        let path = format!("file://{}/{name}", dir.path().display());
        let sink = if compression.is_empty() {
            String::new()
        } else {
            format!(
                "    sluice.compression: {compression}\n    sink.rolling-policy.file-size: 64kb\n"
            )
        };
        let mut yaml = job_yaml(&kafka.bootstrap, "ticks", &unique(name), &path, "", &sink);
        if format == "csv" {
            // The sink only (the second `format: json`).
            let at = yaml.rfind("format: json").unwrap();
            yaml.replace_range(at..at + "format: json".len(), "format: csv");
        }
        let job = write_job(dir.path(), &yaml);
        let out = run_until_idle(&job, "2s");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.path().join(name)
    };
    let plain_json = lines_by_partition(&run("json", "json", ""));
    // The uncompressed reference is exactly once, by the oracle.
    let r = verify(&format!("file://{}/json", dir.path().display()), total, &[]);
    assert_eq!(
        (r.missing, r.duplicated, r.unexpected, r.misplaced),
        (0, 0, 0, 0),
        "{r:?}"
    );
    let plain_csv = lines_by_partition(&run("csv", "csv", ""));
    for (name, format, compression, ext, plain) in [
        ("json-gz", "json", "gzip", "json.gz", &plain_json),
        ("json-zst", "json", "zstd", "json.zst", &plain_json),
        ("csv-gz", "csv", "gzip", "csv.gz", &plain_csv),
        ("csv-zst", "csv", "zstd", "csv.zst", &plain_csv),
    ] {
        let root = run(name, format, compression);
        let (_, extensions) = ids_by_partition(&root);
        assert_eq!(extensions.into_iter().collect::<Vec<_>>(), [ext], "{name}");
        assert_eq!(&lines_by_partition(&root), plain, "{name}");
    }
    assert!(plain_json.values().map(Vec::len).sum::<usize>() > 1_000);
}
