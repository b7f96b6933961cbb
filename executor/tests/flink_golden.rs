//! Runs every case of the Flink golden corpus (`sql/tests/flink/cases`, produced by running
//! Apache Flink 2.3.0 itself, see `tools/flink-golden/`) through the executor's transform and
//! compares rows, JSON text and partition paths with what Flink wrote.
//!
//! Cases that Sluice does not match yet are listed, with the reason, in
//! `sql/tests/flink/known-deviations.txt`; the test fails when any other case differs, and
//! also when a listed case starts to pass (so the list stays honest).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap in a test is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sluice_executor::connector::filesystem::Filesystem;
use sluice_executor::connector::source::{RawBatch, SplitId, TimestampType};
use sluice_executor::connector::{Connector as _, ValidationContext};
use sluice_executor::format::Format;
use sluice_executor::format::json::JsonOptions;
use sluice_executor::options::Options;
use sluice_executor::transform::Transform;
use sluice_sql::{Catalog, Column, FunctionRegistry, JobPlan, SqlType, TableDef};

#[derive(Deserialize)]
struct Case {
    source: TableCase,
    sink: TableCase,
    sql: String,
    #[serde(default)]
    input: String,
    /// Kafka record values, one each (decode cases: a value may hold a line break, be empty,
    /// or be null — a tombstone); instead of `input`'s lines.
    #[serde(default)]
    records: Option<Vec<Option<String>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TableCase {
    name: Option<String>,
    columns: Vec<ColumnCase>,
    #[serde(default)]
    partitioned_by: Vec<String>,
    #[serde(default)]
    options: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Deserialize)]
struct ColumnCase {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

#[derive(Deserialize, Debug)]
struct Expected {
    error: Option<ExpectedError>,
    files: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Debug)]
struct ExpectedError {
    stage: String,
    message: String,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sql/tests/flink/cases")
}

fn table(
    case: &TableCase,
    default_name: &str,
) -> Result<(TableDef, BTreeMap<String, String>), String> {
    let options: BTreeMap<String, String> = case
        .options
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_yaml::Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other)
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            };
            (k.clone(), text)
        })
        .collect();
    let mut columns = Vec::new();
    for c in &case.columns {
        let ty = SqlType::parse(&c.ty).map_err(|e| e.to_string())?;
        columns.push(Column {
            name: c.name.clone(),
            ty,
            metadata: None,
        });
    }
    let name = case.name.clone().unwrap_or_else(|| default_name.to_owned());
    Ok((
        TableDef {
            resource: format!("test/{name}"),
            name,
            connector: "filesystem".to_owned(),
            format: Some("json".to_owned()),
            columns,
            partitioned_by: case.partitioned_by.clone(),
            options: options.clone(),
            secret_options: Vec::new(),
        },
        options,
    ))
}

/// What Sluice makes of a case: `Err((stage, message))` or the files.
fn run(case: &Case) -> Result<BTreeMap<String, Vec<String>>, (String, String)> {
    let plan_err = |m: String| ("plan".to_owned(), m);
    let (source, source_options) = table(&case.source, "src").map_err(plan_err)?;
    let (sink, sink_options) = table(&case.sink, "sink").map_err(plan_err)?;
    // The source. JSON cases run through Flink's filesystem source, which reads the json.*
    // options and, unlike Kafka's, ignores unknown format keys. CSV and raw cases were decoded
    // by Flink's Kafka deserializer (tools/flink-golden/FormatDecode.java), which rejects them.
    let source_format = match source_options.get("format").map(String::as_str) {
        Some(name @ ("csv" | "raw")) => {
            let mut o = Options::new(&source.name, &source_options, []);
            o.declare("format");
            let format = Format::read(name, &mut o, "", "format");
            o.finish("kafka").map_err(|e| plan_err(format!("{e:?}")))?;
            format
        }
        _ => {
            let mut o = Options::new(&source.name, &source_options, []);
            let json = JsonOptions::read(&mut o, "json.");
            o.declare_prefix("json.");
            o.finish("filesystem")
                .map_err(|e| plan_err(format!("{e:?}")))?;
            Format::Json(json)
        }
    };
    // The sink: the real filesystem connector's validation, with a path the case leaves out.
    let mut with_path = sink.clone();
    with_path
        .options
        .entry("path".to_owned())
        .or_insert_with(|| "file:///tmp/sluice-golden".to_owned());
    let config = Filesystem
        .sink(
            &with_path,
            &ValidationContext {
                job: "test/golden".to_owned(),
            },
        )
        .map_err(|e| plan_err(format!("{e:?}")))?;
    let (sink_format, default_name) = (config.format(), config.default_partition_name().to_owned());
    let _ = sink_options;
    let catalog = Catalog::new([source, sink]);
    let plan = JobPlan::plan(&case.sql, &catalog, &FunctionRegistry::flink())
        .map_err(|e| plan_err(e.to_string()))?;
    let mut transform = Transform::new(plan, source_format, sink_format, &default_name)
        .map_err(|e| plan_err(e.0))?;
    let mut raw = RawBatch::default();
    let values: Vec<Option<&str>> = match &case.records {
        Some(records) => records.iter().map(Option::as_deref).collect(),
        // The filesystem source skips blank lines.
        None => case
            .input
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(Some)
            .collect(),
    };
    for (i, value) in values.into_iter().enumerate() {
        raw.push(
            i as i64,
            None,
            TimestampType::None,
            None,
            None,
            value.map(str::as_bytes),
        );
    }
    let split = SplitId {
        topic: "golden".to_owned(),
        partition: 0,
    };
    let out = transform.process(&split, &raw);
    if let Some(f) = out.failed.first() {
        return Err(("run".to_owned(), f.reason.clone()));
    }
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &out.rows {
        let line = std::str::from_utf8(&out.data[r.start as usize..r.end as usize])
            .unwrap_or("<invalid utf-8>");
        // The generator splits files on `\n`: a CSV value with a line break is two lines.
        files
            .entry(out.buckets[r.bucket as usize].clone())
            .or_default()
            .extend(line.trim_end_matches('\n').split('\n').map(str::to_owned));
    }
    files.values_mut().for_each(|v| v.sort());
    Ok(files)
}

fn known_deviations() -> BTreeMap<String, String> {
    let text =
        std::fs::read_to_string(cases_dir().join("../known-deviations.txt")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('#') {
            Some((name, why)) => (name.trim().to_owned(), why.trim().to_owned()),
            None => (l.trim().to_owned(), String::new()),
        })
        .collect()
}

#[test]
fn sluice_matches_flink_on_the_golden_corpus() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("the golden corpus is in sql/tests/flink/cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 50,
        "expected the golden corpus, found {} cases",
        names.len()
    );
    let known = known_deviations();
    // `FLINK_GOLDEN_SHOW_KNOWN=1` also prints how the listed cases differ.
    let show_known = std::env::var_os("FLINK_GOLDEN_SHOW_KNOWN").is_some();
    let mut differing = BTreeSet::new();
    let mut report = String::new();
    for path in &names {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let case: Case = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected: Expected = serde_json::from_str(
            &std::fs::read_to_string(path.with_extension("expected.json"))
                .unwrap_or_else(|e| panic!("{name}: no expected file: {e}")),
        )
        .unwrap();
        let got = run(&case);
        let same = match (&expected.error, &got) {
            (Some(e), Err((stage, _))) => &e.stage == stage,
            (None, Ok(files)) => *files == expected.files,
            _ => false,
        };
        if !same {
            differing.insert(name.clone());
            if !known.contains_key(&name) {
                report.push_str(&format!(
                    "\n--- {name}\n{}",
                    describe_difference(&expected, &got)
                ));
            } else if show_known {
                println!(
                    "--- {name} (known: {})\n{}",
                    known[&name],
                    describe_difference(&expected, &got)
                );
            }
        }
    }
    let unexpected: Vec<_> = differing
        .iter()
        .filter(|n| !known.contains_key(*n))
        .collect();
    let fixed: Vec<_> = known.keys().filter(|n| !differing.contains(*n)).collect();
    println!(
        "{} cases, {} match Flink, {} known deviations",
        names.len(),
        names.len() - differing.len(),
        known.len()
    );
    assert!(
        unexpected.is_empty(),
        "{} cases differ from Flink:{report}",
        unexpected.len()
    );
    assert!(
        fixed.is_empty(),
        "these cases now match Flink; remove them from known-deviations.txt: {fixed:?}"
    );
}

/// Only what differs: lines Flink wrote that Sluice did not, and the reverse, per partition.
fn describe_difference(
    expected: &Expected,
    got: &Result<BTreeMap<String, Vec<String>>, (String, String)>,
) -> String {
    match (&expected.error, got) {
        (Some(e), Err((stage, m))) => format!(
            "  flink: error at {}: {}\n  sluice: error at {stage}: {m}\n",
            e.stage, e.message
        ),
        (Some(e), Ok(_)) => format!(
            "  flink: error at {}: {}\n  sluice: no error\n",
            e.stage, e.message
        ),
        (None, Err((stage, m))) => format!("  flink: no error\n  sluice: error at {stage}: {m}\n"),
        (None, Ok(files)) => {
            let mut out = String::new();
            let paths: BTreeSet<&String> = expected.files.keys().chain(files.keys()).collect();
            for p in paths {
                let want: BTreeSet<&String> = expected
                    .files
                    .get(p)
                    .map(|v| v.iter().collect())
                    .unwrap_or_default();
                let have: BTreeSet<&String> =
                    files.get(p).map(|v| v.iter().collect()).unwrap_or_default();
                for l in want.difference(&have) {
                    out.push_str(&format!("  flink  [{p}] {l}\n"));
                }
                for l in have.difference(&want) {
                    out.push_str(&format!("  sluice [{p}] {l}\n"));
                }
            }
            out
        }
    }
}
