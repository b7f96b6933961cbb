//! The `print` connector: a sink that writes each row to standard output (or standard error)
//! as Flink's `PrintTableSinkFactory` does — `Row.toString()` (`+I[1, abc]`,
//! [`crate::format::row_text`]) after the prefix of Flink's `PrintSinkOutputWriter`:
//! `<print-identifier>> `, with `:<task>` added when `sink.parallelism` is above 1. Sluice
//! runs the sink in each executor, reading whole source splits: the task is the split's
//! partition modulo `sink.parallelism`, plus 1 (Flink numbers subtasks from 1 in the prefix).

use std::io::Write as _;
use std::sync::Arc;

use futures::future::BoxFuture;
use sluice_sql::TableDef;

use super::api::{Connector, Role};
use super::context::{RunContext, ValidationContext};
use super::error::ConnectorError;
use super::sink::{Positions, SinkConfig, SinkFormat, SinkRuntime};
use super::source::SplitId;
use super::unpositioned::{RowWriter, Unpositioned};
use crate::options::{OptionError, Options};
use crate::output::Output;

/// The `print` connector.
#[derive(Debug)]
pub struct Print;

impl Connector for Print {
    fn name(&self) -> &'static str {
        "print"
    }

    fn roles(&self) -> &'static [Role] {
        &[Role::Sink]
    }

    fn has_format(&self) -> bool {
        false
    }

    fn sink(
        &self,
        table: &TableDef,
        _ctx: &ValidationContext,
    ) -> Result<Arc<dyn SinkConfig>, Vec<OptionError>> {
        let mut o = Options::of_table(table);
        let identifier = o.string("print-identifier").unwrap_or_default().to_owned();
        let standard_error = o.boolean("standard-error", false);
        let parallelism = o.integer("sink.parallelism", 1);
        if parallelism < 1 {
            o.error(
                "sink.parallelism",
                format!(
                    "table {}: sink.parallelism must be at least 1, not {parallelism}",
                    table.name
                ),
            );
        }
        o.finish(self.name())?;
        Ok(Arc::new(PrintSink {
            identifier,
            standard_error,
            parallelism: parallelism.max(1) as u64,
        }))
    }
}

/// A checked `print` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintSink {
    /// `print-identifier` (empty: none).
    pub identifier: String,
    /// `standard-error`: print to standard error instead of standard output.
    pub standard_error: bool,
    /// `sink.parallelism`.
    pub parallelism: u64,
}

impl PrintSink {
    /// The prefix of a row of `split`, as Flink's `PrintSinkOutputWriter.open` builds it.
    pub fn prefix(&self, split: &SplitId) -> String {
        let mut prefix = self.identifier.clone();
        if self.parallelism > 1 {
            if !prefix.is_empty() {
                prefix.push(':');
            }
            let task = u64::from(split.partition.unsigned_abs()) % self.parallelism + 1;
            prefix.push_str(&task.to_string());
        }
        if !prefix.is_empty() {
            prefix.push_str("> ");
        }
        prefix
    }
}

impl SinkConfig for PrintSink {
    fn format(&self) -> SinkFormat {
        SinkFormat::RowText
    }

    fn positions(&self) -> Positions {
        Positions::None
    }

    fn describe(&self) -> String {
        let to = if self.standard_error {
            "standard error"
        } else {
            "standard output"
        };
        format!("print to {to}")
    }

    fn open<'a>(
        &'a self,
        run: &'a RunContext,
        _positions: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn SinkRuntime>, ConnectorError>> {
        let stream: Box<dyn std::io::Write + Send> = if self.standard_error {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        };
        let runtime = Unpositioned::new(Printer::new(self.clone(), stream), run.memory_budget);
        Box::pin(async move { Ok(Box::new(runtime) as Box<dyn SinkRuntime>) })
    }
}

/// Writes rows with their prefix to a stream.
pub struct Printer {
    sink: PrintSink,
    stream: Box<dyn std::io::Write + Send>,
    line: Vec<u8>,
}

impl Printer {
    /// A printer of `sink`'s rows to `stream`.
    pub fn new(sink: PrintSink, stream: Box<dyn std::io::Write + Send>) -> Printer {
        Printer {
            sink,
            stream,
            line: Vec::new(),
        }
    }
}

impl RowWriter for Printer {
    fn write(&mut self, split: &SplitId, out: &Output) -> Result<(), ConnectorError> {
        let prefix = self.sink.prefix(split);
        self.line.clear();
        for r in &out.rows {
            self.line.extend_from_slice(prefix.as_bytes());
            self.line
                .extend_from_slice(&out.data[r.start as usize..r.end as usize]);
        }
        // Printed as it comes, as Flink's `println` does.
        self.stream
            .write_all(&self.line)
            .and_then(|()| self.stream.flush())
            .map_err(|e| ConnectorError::permanent("failed to print rows").caused_by(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::source::{RawBatch, SourceFormat, TimestampType};
    use crate::format::json::JsonOptions;
    use crate::transform::Transform;
    use sluice_sql::{Catalog, Column, FunctionRegistry, JobPlan, SqlType};
    use std::sync::Mutex;

    fn table(
        name: &str,
        connector: &str,
        columns: &[(&str, &str)],
        options: &[(&str, &str)],
    ) -> TableDef {
        TableDef {
            name: name.to_owned(),
            resource: format!("test/{name}"),
            connector: connector.to_owned(),
            format: None,
            columns: columns
                .iter()
                .map(|(n, t)| Column {
                    name: (*n).to_owned(),
                    ty: SqlType::parse(t).unwrap(),
                    metadata: None,
                })
                .collect(),
            partitioned_by: Vec::new(),
            options: options
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            secret_options: Vec::new(),
        }
    }

    fn ctx() -> ValidationContext {
        ValidationContext {
            job: "test/job".to_owned(),
        }
    }

    /// A `Write` into a shared buffer.
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

    const COLUMNS: &[(&str, &str)] = &[
        ("a", "INT"),
        ("b", "STRING"),
        ("c", "DOUBLE"),
        ("d", "BOOLEAN"),
        ("e", "DECIMAL(10, 2)"),
        ("f", "TIMESTAMP(3)"),
        ("g", "DATE"),
        ("h", "ARRAY<INT>"),
        ("i", "MAP<STRING, INT>"),
        ("j", "BIGINT"),
        ("k", "FLOAT"),
        ("l", "TIME(0)"),
        ("m", "TIMESTAMP_LTZ(3)"),
        ("n", "ROW<x INT, y STRING>"),
        ("o", "BYTES"),
    ];

    #[test]
    fn rows_are_printed_as_flink_2_3_prints_them() {
        let sink = table("p1", "print", COLUMNS, &[("print-identifier", "ID")]);
        let config = Print.sink(&sink, &ctx()).unwrap();
        let mut src = table("src", "kafka", COLUMNS, &[]);
        src.format = Some("json".to_owned());
        let plan = JobPlan::plan(
            "INSERT INTO p1 SELECT * FROM src",
            &Catalog::new([src, sink.clone()]),
            &FunctionRegistry::flink(),
        )
        .unwrap();
        let mut transform = Transform::new(
            plan,
            SourceFormat::Json(JsonOptions::default()),
            config.format(),
            config.default_partition_name(),
        )
        .unwrap();
        // The rows of tools/flink-golden/print_and_datagen.py, as JSON.
        let records = [
            r#"{"a":1,"b":"x y","c":1.5,"d":true,"e":12.30,"f":"2024-01-02 03:04:00","g":"2024-01-02","h":[1,2],"i":{"k":1},"j":10000000000,"k":0.1,"l":"12:00:00","m":"1970-01-01 00:00:00Z","n":{"x":1,"y":"r"},"o":"AQI="}"#,
            r#"{"a":null,"b":null,"c":1e20,"d":false,"e":-0.50,"f":"2024-01-02 03:04:05.120","g":"0001-01-01","h":[null],"i":{"a":null},"j":-1,"k":1e-5,"l":"00:00:01","m":"1970-01-01 00:00:01.5Z","n":{"x":null,"y":null},"o":""}"#,
            r#"{"a":3,"b":"","c":100.0,"d":null,"e":0.00,"f":"2024-01-02 00:00:00","g":"2024-12-31","h":null,"i":null,"j":0,"k":3.0,"l":null,"m":null,"n":null,"o":null}"#,
        ];
        let mut raw = RawBatch::default();
        for (offset, r) in records.iter().enumerate() {
            raw.push(
                offset as i64,
                None,
                TimestampType::None,
                None,
                None,
                Some(r.as_bytes()),
            );
        }
        let split = SplitId {
            topic: "t".into(),
            partition: 0,
        };
        let out = transform.process(&split, &raw);
        assert!(out.failed.is_empty(), "{:?}", out.failed);
        let captured = Captured::default();
        let sink = PrintSink {
            identifier: "ID".to_owned(),
            standard_error: false,
            parallelism: 1,
        };
        Printer::new(sink, Box::new(captured.clone()))
            .write(&split, &out)
            .unwrap();
        let printed = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        // Flink 2.3.0's output (a local mini-cluster, parallelism 1).
        let flink = "\
ID> +I[1, x y, 1.5, true, 12.30, 2024-01-02T03:04, 2024-01-02, [1, 2], {k=1}, 10000000000, 0.1, 12:00, 1970-01-01T00:00:00Z, +I[1, r], [1, 2]]
ID> +I[null, null, 1.0E20, false, -0.50, 2024-01-02T03:04:05.120, 0001-01-01, [null], {a=null}, -1, 1.0E-5, 00:00:01, 1970-01-01T00:00:01.500Z, +I[null, null], []]
ID> +I[3, , 100.0, null, 0.00, 2024-01-02T00:00, 2024-12-31, null, null, 0, 3.0, null, null, null, null]
";
        assert_eq!(printed, flink);
    }

    #[test]
    fn the_prefix_is_flinks_identifier_and_task_number() {
        let split = |partition| SplitId {
            topic: "t".into(),
            partition,
        };
        let sink = |identifier: &str, parallelism| PrintSink {
            identifier: identifier.to_owned(),
            standard_error: false,
            parallelism,
        };
        assert_eq!(sink("", 1).prefix(&split(0)), "");
        assert_eq!(sink("ID", 1).prefix(&split(5)), "ID> ");
        assert_eq!(sink("X", 2).prefix(&split(0)), "X:1> ");
        assert_eq!(sink("X", 2).prefix(&split(1)), "X:2> ");
        assert_eq!(sink("", 2).prefix(&split(3)), "2> ");
    }

    #[test]
    fn options_are_read_with_flinks_names_and_unknown_ones_list_the_valid_ones() {
        let t = table(
            "p",
            "print",
            &[("a", "INT")],
            &[("standard-error", "true"), ("sink.parallelism", "2")],
        );
        let config = Print.sink(&t, &ctx()).unwrap();
        assert_eq!(config.describe(), "print to standard error");
        let bad = table("p", "print", &[("a", "INT")], &[("print-identifer", "x")]);
        let errors = Print.sink(&bad, &ctx()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .message
                .contains("Did you mean 'print-identifier'?")
                && errors[0].message.contains(
                    "Supported options: print-identifier, sink.parallelism, standard-error"
                ),
            "{}",
            errors[0].message
        );
        let zero = table("p", "print", &[("a", "INT")], &[("sink.parallelism", "0")]);
        assert_eq!(
            Print.sink(&zero, &ctx()).unwrap_err()[0].key,
            "sink.parallelism"
        );
        let hole = table("b", "blackhole", &[("a", "INT")], &[("path", "/tmp")]);
        let errors = super::super::blackhole::Blackhole
            .sink(&hole, &ctx())
            .unwrap_err();
        assert!(
            errors[0]
                .message
                .contains("unsupported option 'path' for connector 'blackhole'")
        );
    }
}
