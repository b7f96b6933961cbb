//! The `datagen` connector: a source of generated rows, as Flink's `DataGenTableSourceFactory`
//! (`docs/connectors.md` walks through it). Options: `rows-per-second` (default 10000),
//! `number-of-rows` (default unbounded), and per column `fields.<name>.kind` (`random`, the
//! default, or `sequence`), `fields.<name>.min` / `.max` (random numbers), `.length` (random
//! strings, default 100), `.start` / `.end` (sequences, both required), `.null-rate`.
//!
//! A table with a sequence column is bounded by its sequence, as in Flink: the job ends after
//! `end - start + 1` rows (or `number-of-rows`, if fewer), once they are committed. Rows are
//! one split (`<table>/0`) whose offsets count rows from 0, so a sink with durable positions
//! resumes a restarted job at the next row: a sequence is written exactly once.

pub mod fields;
pub mod runtime;

use std::sync::Arc;

use sluice_sql::TableDef;
use tokio::sync::mpsc;

use super::api::{Connector, Role};
use super::context::{RunContext, ValidationContext};
use super::error::ConnectorError;
use super::source::{PositionOracle, SourceConfig, SourceEvent, SourceFormat, SourceRuntime};
use crate::format::json::JsonOptions;
use crate::options::{OptionError, Options};
use fields::{Field, Kind};

/// The `datagen` connector.
#[derive(Debug)]
pub struct Datagen;

/// A checked `datagen` table.
#[derive(Clone, Debug, PartialEq)]
pub struct DatagenSource {
    /// The table's SQL name: the topic of its one split.
    pub table: String,
    /// `namespace/name` of the job, for the position namespace.
    pub job: String,
    /// `rows-per-second`.
    pub rows_per_second: u64,
    /// `number-of-rows`, bounded further by sequences.
    pub rows: Option<u64>,
    /// The columns.
    pub fields: Vec<Field>,
}

impl Connector for Datagen {
    fn name(&self) -> &'static str {
        "datagen"
    }

    fn roles(&self) -> &'static [Role] {
        &[Role::Source]
    }

    fn has_format(&self) -> bool {
        false
    }

    /// One split: a second pod would only be fenced, and the two would take turns replaying
    /// rows (with new random values).
    fn source_parallelism_limit(&self) -> Option<(i32, &'static str)> {
        Some((
            1,
            "a datagen table is one sequence of rows that one executor generates",
        ))
    }

    fn source(
        &self,
        table: &TableDef,
        ctx: &ValidationContext,
    ) -> Result<Arc<dyn SourceConfig>, Vec<OptionError>> {
        let mut o = Options::of_table(table);
        let rows_per_second = o.integer("rows-per-second", 10_000);
        if rows_per_second < 1 {
            o.error(
                "rows-per-second",
                format!("table {}: rows-per-second must be at least 1", table.name),
            );
        }
        let rows = o
            .string("number-of-rows")
            .map(|_| o.integer("number-of-rows", 0));
        if rows.is_some_and(|n| n < 0) {
            o.error(
                "number-of-rows",
                format!("table {}: number-of-rows must not be negative", table.name),
            );
        }
        let mut fields = Vec::new();
        for c in &table.columns {
            if let Some(f) = read_field(&mut o, &table.name, &c.name, &c.ty) {
                fields.push(f);
            }
        }
        o.finish(self.name())?;
        Ok(Arc::new(DatagenSource {
            table: table.name.clone(),
            job: ctx.job.clone(),
            rows_per_second: rows_per_second.max(1) as u64,
            rows: rows.map(|n| n.max(0) as u64),
            fields,
        }))
    }
}

/// Reads the `fields.<name>.*` options of a column.
fn read_field(
    o: &mut Options<'_>,
    table: &str,
    name: &str,
    ty: &sluice_sql::SqlType,
) -> Option<Field> {
    let key = |k: &str| format!("fields.{name}.{k}");
    let kind = o.choice(&key("kind"), &["random", "sequence"], "random");
    let null_rate = number(o, &key("null-rate")).unwrap_or(0.0);
    if !(0.0..=1.0).contains(&null_rate) {
        o.error(
            &key("null-rate"),
            format!(
                "table {table}: {} must be between 0 and 1",
                key("null-rate")
            ),
        );
    }
    let mut quoted = false;
    let kind = if kind == "sequence" {
        for k in ["min", "max", "length"] {
            if o.is_set(&key(k)) {
                o.declare(&key(k));
                o.error(
                    &key(k),
                    format!(
                        "table {table}: {} applies to random fields, not sequences",
                        key(k)
                    ),
                );
            }
        }
        let Some(text) = fields::sequence_type(ty) else {
            o.error(
                &key("kind"),
                format!("table {table}: column {name} of type {ty} cannot be a sequence"),
            );
            return None;
        };
        quoted = text;
        let mut bound = |k: &str| {
            if o.is_set(&key(k)) {
                Some(o.integer(&key(k), 0))
            } else {
                o.error(
                    &key(k),
                    format!(
                        "table {table}: {} is required for a sequence (fields.{name}.kind = sequence)",
                        key(k)
                    ),
                );
                None
            }
        };
        let (start, end) = (bound("start"), bound("end"));
        let (start, end) = (start?, end?);
        if start > end {
            o.error(
                &key("end"),
                format!("table {table}: {} is before {}", key("end"), key("start")),
            );
            return None;
        }
        Kind::Sequence { start, end }
    } else {
        for k in ["start", "end"] {
            if o.is_set(&key(k)) {
                o.declare(&key(k));
                o.error(
                    &key(k),
                    format!(
                        "table {table}: {} applies to sequences (fields.{name}.kind = sequence)",
                        key(k)
                    ),
                );
            }
        }
        let kind = match fields::random_kind(ty) {
            Ok(k) => k,
            Err(e) => {
                o.error(&key("kind"), format!("table {table}: column {name}: {e}"));
                return None;
            }
        };
        random_options(o, table, name, kind)?
    };
    Some(Field {
        key: format!("{}:", serde_json::Value::from(name)),
        kind,
        quoted,
        null_rate,
    })
}

/// Applies `min`, `max` and `length` to a random kind, reporting those that do not apply.
fn random_options(o: &mut Options<'_>, table: &str, name: &str, kind: Kind) -> Option<Kind> {
    let key = |k: &str| format!("fields.{name}.{k}");
    let not_for = |o: &mut Options<'_>, k: &str| {
        if o.is_set(&key(k)) {
            o.declare(&key(k));
            o.error(
                &key(k),
                format!("table {table}: {} does not apply to column {name}", key(k)),
            );
        }
    };
    Some(match kind {
        Kind::Integer { min, max } => {
            let (lo, hi) = (o.integer(&key("min"), min), o.integer(&key("max"), max));
            not_for(o, "length");
            if lo < min || hi > max || lo > hi {
                o.error(
                    &key("max"),
                    format!("table {table}: column {name} needs {min} <= min <= max <= {max}"),
                );
                return None;
            }
            Kind::Integer { min: lo, max: hi }
        }
        Kind::Number { min, max, scale } => {
            let lo = number(o, &key("min")).unwrap_or(min);
            let hi = number(o, &key("max")).unwrap_or(max);
            not_for(o, "length");
            if lo > hi {
                o.error(
                    &key("max"),
                    format!("table {table}: {} is below its min", key("max")),
                );
                return None;
            }
            Kind::Number {
                min: lo,
                max: hi,
                scale,
            }
        }
        Kind::Text { length } => {
            not_for(o, "min");
            not_for(o, "max");
            let length = o.integer(&key("length"), length as i64);
            if length < 0 {
                o.error(
                    &key("length"),
                    format!("table {table}: {} must not be negative", key("length")),
                );
            }
            Kind::Text {
                length: length.max(0) as usize,
            }
        }
        other => {
            for k in ["min", "max", "length"] {
                not_for(o, k);
            }
            other
        }
    })
}

/// A floating-point option.
fn number(o: &mut Options<'_>, key: &str) -> Option<f64> {
    let raw = o.string(key)?;
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        _ => {
            o.error(
                key,
                format!("could not parse value '{raw}' for option '{key}': not a number"),
            );
            None
        }
    }
}

impl DatagenSource {
    /// How many rows the table has: `number-of-rows`, and the length of each sequence.
    pub fn total_rows(&self) -> Option<u64> {
        let sequences = self.fields.iter().filter_map(|f| match f.kind {
            Kind::Sequence { start, end } => Some((i128::from(end) - i128::from(start) + 1) as u64),
            _ => None,
        });
        sequences.chain(self.rows).min()
    }
}

impl SourceConfig for DatagenSource {
    fn format(&self) -> SourceFormat {
        SourceFormat::Json(JsonOptions::default())
    }

    fn describe(&self) -> String {
        let rows = match self.total_rows() {
            Some(n) => format!("{n} rows"),
            None => "unbounded".to_owned(),
        };
        format!(
            "datagen {} ({rows}, {} rows/s)",
            self.table, self.rows_per_second
        )
    }

    fn position_namespace(&self) -> String {
        format!("sluice-{}", self.job.replace('/', "-"))
    }

    fn open(
        &self,
        _run: &RunContext,
        oracle: Arc<dyn PositionOracle>,
        events: mpsc::Sender<SourceEvent>,
    ) -> Result<Box<dyn SourceRuntime>, ConnectorError> {
        let generation = runtime::Generation {
            table: self.table.clone(),
            fields: self.fields.clone(),
            rows_per_second: self.rows_per_second,
            total: self.total_rows(),
        };
        Ok(Box::new(runtime::DatagenRuntime::start(
            generation, oracle, events,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sql::{Column, SqlType};

    fn table(options: &[(&str, &str)]) -> TableDef {
        TableDef {
            name: "gen".to_owned(),
            resource: "test/gen".to_owned(),
            connector: "datagen".to_owned(),
            format: None,
            columns: [("id", "BIGINT"), ("s", "STRING"), ("m", "MAP<STRING, INT>")]
                .iter()
                .take(if options.iter().any(|(k, _)| k.starts_with("fields.m")) {
                    3
                } else {
                    2
                })
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

    fn errors(options: &[(&str, &str)]) -> Vec<String> {
        let ctx = ValidationContext {
            job: "test/job".to_owned(),
        };
        match Datagen.source(&table(options), &ctx) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.message).collect(),
        }
    }

    #[test]
    fn a_sequence_bounds_the_table_and_options_are_checked_with_flinks_names() {
        let ctx = ValidationContext {
            job: "test/job".to_owned(),
        };
        let ok = table(&[
            ("number-of-rows", "100"),
            ("fields.id.kind", "sequence"),
            ("fields.id.start", "5"),
            ("fields.id.end", "54"),
            ("fields.s.length", "3"),
            ("fields.s.null-rate", "0.5"),
        ]);
        let config = Datagen.source(&ok, &ctx).unwrap();
        assert_eq!(config.describe(), "datagen gen (50 rows, 10000 rows/s)");
        assert!(
            errors(&[("fields.id.kind", "sequence"), ("fields.id.start", "1")])[0]
                .contains("fields.id.end is required for a sequence")
        );
        let unknown = errors(&[("fields.nope.kind", "random")]);
        assert!(
            unknown[0].contains("unsupported option 'fields.nope.kind' for connector 'datagen'")
                && unknown[0].contains("fields.id.kind")
                && unknown[0].contains("rows-per-second"),
            "{unknown:?}"
        );
        assert!(errors(&[("fields.s.min", "1")])[0].contains("does not apply to column s"));
        assert!(errors(&[("fields.m.kind", "random")])[0].contains("cannot generate"));
        assert!(errors(&[("fields.id.null-rate", "2")])[0].contains("between 0 and 1"));
    }
}
