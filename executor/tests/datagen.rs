//! Flink's built-in connectors without infrastructure, through `sluice run`: a bounded
//! `datagen` table into `filesystem` (every row exactly once, sequences exact) and into
//! `print` (Flink's `+I[...]` lines on standard output).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

use std::path::Path;
use std::process::Command;

/// The `sluice` binary: this build's, or `SLUICE_BIN` (a copy, when builds share a target
/// directory).
fn sluice() -> String {
    std::env::var("SLUICE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sluice").to_owned())
}

/// A datagen table `gen` (id: a sequence from 1, name: 6 hex characters, v: 1..=3) of
/// `rows` rows, a sink table `out` of `connector` with `options`, and the job between them.
fn manifests(rows: u64, sink: &str) -> String {
    format!(
        r#"apiVersion: sluice.dev/v1alpha1
kind: StreamingTable
metadata:
  name: gen
spec:
  connector: datagen
  columns:
    - {{name: id, type: BIGINT}}
    - {{name: name, type: STRING}}
    - {{name: v, type: INT}}
  options:
    number-of-rows: "{rows}"
    rows-per-second: "20000"
    fields.id.kind: sequence
    fields.id.start: "1"
    fields.id.end: "1000000000"
    fields.name.length: "6"
    fields.v.min: "1"
    fields.v.max: "3"
---
apiVersion: sluice.dev/v1alpha1
kind: StreamingTable
metadata:
  name: out
spec:
  columns:
    - {{name: id, type: BIGINT}}
    - {{name: name, type: STRING}}
    - {{name: v, type: INT}}
{sink}
---
apiVersion: sluice.dev/v1alpha1
kind: StreamingJob
metadata:
  name: gen
spec:
  sql: INSERT INTO `out` SELECT id, name, v FROM gen
"#
    )
}

fn run(dir: &Path, manifests: &str) -> std::process::Output {
    let file = dir.join("job.yaml");
    std::fs::write(&file, manifests).unwrap();
    let out = Command::new(sluice())
        .args(["run", "--metrics-port", "0", "-f"])
        .arg(&file)
        .env("SLUICE_LOG_FORMAT", "text")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sluice run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every JSON line of the published files under `dir` (the commit log left out).
fn rows(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                out.push(serde_json::from_str(line).unwrap());
            }
        }
    }
    out
}

fn check(rows: &[serde_json::Value], n: u64) {
    let mut ids: Vec<u64> = rows.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=n).collect::<Vec<u64>>());
    for r in rows {
        let name = r["name"].as_str().unwrap();
        assert!(
            name.len() == 6 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{r}"
        );
        assert!((1..=3).contains(&r["v"].as_i64().unwrap()), "{r}");
    }
}

#[test]
fn a_bounded_datagen_job_writes_every_row_once_into_files_and_a_rerun_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sink = format!(
        "  connector: filesystem\n  format: json\n  options:\n    path: file://{}",
        data.display()
    );
    let n = 12_345;
    run(dir.path(), &manifests(n, &sink));
    check(&rows(&data), n);
    // The job's positions are in the sink's commit log: run again, it resumes after the last
    // row, which is the end.
    run(dir.path(), &manifests(n, &sink));
    check(&rows(&data), n);
    // A larger table continues the sequence where the first run stopped.
    run(dir.path(), &manifests(n + 655, &sink));
    check(&rows(&data), n + 655);
}

#[test]
fn a_bounded_datagen_job_prints_flinks_row_text_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let sink = "  connector: print\n  options:\n    print-identifier: G";
    let out = run(dir.path(), &manifests(1000, sink));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1000, "{stdout}");
    for (i, line) in lines.iter().enumerate() {
        let fields = line
            .strip_prefix("G> +I[")
            .and_then(|l| l.strip_suffix(']'))
            .unwrap_or_else(|| panic!("not Flink's print form: {line}"));
        let fields: Vec<&str> = fields.split(", ").collect();
        assert_eq!(fields[0], (i + 1).to_string(), "{line}");
        assert_eq!(fields[1].len(), 6, "{line}");
        assert!(["1", "2", "3"].contains(&fields[2]), "{line}");
    }
}

/// A datagen table is one sequence of rows: a second executor would be fenced, and the two
/// would take turns replaying rows. `validate` (and so the operator's `Valid` condition) says so.
#[test]
fn more_than_one_executor_for_a_datagen_table_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let text = manifests(10, "  connector: blackhole").replace(
        "  sql: INSERT INTO `out` SELECT id, name, v FROM gen",
        "  parallelism: 2\n  sql: INSERT INTO `out` SELECT id, name, v FROM gen",
    );
    let file = dir.path().join("job.yaml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(sluice())
        .args(["validate", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "validate accepted it: {text}");
    assert!(
        text.contains("spec.parallelism 2 is more than table gen allows (1)"),
        "{text}"
    );
}
