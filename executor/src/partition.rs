//! Hive-style partition paths exactly as Flink's filesystem sink builds them
//! (`PartitionPathUtils`, `RowDataPartitionComputer`): `key=value/` per partition column, the
//! value being the column's internal `toString()`, special characters as `%XX`, NULL and empty
//! values as `partition.default-name`. See `docs/flink-compat.md` §c.1.

use std::fmt::Write as _;

use sluice_sql::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use sluice_sql::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, TimeUnit, TimestampNanosecondType,
};
use sluice_sql::functions::local_date_time;
use sluice_sql::java::text::{write_decimal, write_double, write_float};

/// The default directory value for NULL and empty partition values.
pub const DEFAULT_PARTITION_NAME: &str = "__DEFAULT_PARTITION__";

/// Appends `s` with Flink's `escapePathName`: `%XX` (upper-case hex) for control characters,
/// `"#%'*/:=?\{}[]^` and DEL; everything else as is.
pub fn escape_path_name(out: &mut String, s: &str) {
    for c in s.chars() {
        let needs = (c as u32) < 0x20
            || matches!(
                c,
                '"' | '#'
                    | '%'
                    | '\''
                    | '*'
                    | '/'
                    | ':'
                    | '='
                    | '?'
                    | '\\'
                    | '\u{7f}'
                    | '{'
                    | '}'
                    | '['
                    | ']'
                    | '^'
            );
        if needs {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

/// Computes the partition path of sink rows.
#[derive(Clone, Debug)]
pub struct Partitioner {
    /// (column index in the sink's rows, escaped `key=`)
    columns: Vec<(usize, String)>,
    default_name: String,
}

/// The partition columns of one batch.
pub struct BatchPartitioner<'a> {
    partitioner: &'a Partitioner,
    columns: Vec<&'a ArrayRef>,
    value: String,
}

impl Partitioner {
    /// A partitioner for the sink columns at `indices` named `names` (in `PARTITIONED BY`
    /// order), with `partition.default-name`.
    pub fn new(columns: &[(usize, String)], default_name: &str) -> Partitioner {
        let columns = columns
            .iter()
            .map(|(i, name)| {
                let mut key = String::new();
                escape_path_name(&mut key, name);
                key.push('=');
                (*i, key)
            })
            .collect();
        let mut escaped_default = String::new();
        escape_path_name(&mut escaped_default, default_name);
        Partitioner {
            columns,
            default_name: escaped_default,
        }
    }

    /// Whether the sink is partitioned at all.
    pub fn is_partitioned(&self) -> bool {
        !self.columns.is_empty()
    }

    /// Prepares to compute paths of rows of `batch`.
    pub fn batch<'a>(&'a self, batch: &'a RecordBatch) -> BatchPartitioner<'a> {
        BatchPartitioner {
            partitioner: self,
            columns: self.columns.iter().map(|(i, _)| batch.column(*i)).collect(),
            value: String::with_capacity(32),
        }
    }
}

impl BatchPartitioner<'_> {
    /// Writes row `row`'s path (`k1=v1/k2=v2`, no trailing `/`) into `out` (cleared first).
    pub fn path(&mut self, row: usize, out: &mut String) {
        out.clear();
        for (n, ((_, key), array)) in self
            .partitioner
            .columns
            .iter()
            .zip(&self.columns)
            .enumerate()
        {
            if n > 0 {
                out.push('/');
            }
            out.push_str(key);
            self.value.clear();
            value_text(array, row, &mut self.value);
            if array.is_null(row) || self.value.is_empty() {
                out.push_str(&self.partitioner.default_name);
            } else {
                escape_path_name(out, &self.value);
            }
        }
    }
}

/// Flink's internal `toString()` of a partition value.
fn value_text(a: &ArrayRef, row: usize, out: &mut String) {
    if a.is_null(row) {
        return;
    }
    match a.data_type() {
        DataType::Utf8 => out.push_str(a.as_string::<i32>().value(row)),
        DataType::Boolean => out.push_str(if a.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => push_int(out, i64::from(a.as_primitive::<Int8Type>().value(row))),
        DataType::Int16 => push_int(out, i64::from(a.as_primitive::<Int16Type>().value(row))),
        DataType::Int32 => push_int(out, i64::from(a.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => push_int(out, a.as_primitive::<Int64Type>().value(row)),
        DataType::Float32 => write_float(out, a.as_primitive::<Float32Type>().value(row)),
        DataType::Float64 => write_double(out, a.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, s) => {
            write_decimal(out, a.as_primitive::<Decimal128Type>().value(row), *s, true)
        }
        // The internal value of a DATE is its epoch day, of a TIME its millisecond of the day.
        DataType::Date32 => push_int(out, i64::from(a.as_primitive::<Date32Type>().value(row))),
        DataType::Time32(TimeUnit::Millisecond) => {
            push_int(
                out,
                i64::from(a.as_primitive::<Time32MillisecondType>().value(row)),
            );
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let n = a.as_primitive::<TimestampNanosecondType>().value(row);
            if let Some(dt) = local_date_time(
                n.div_euclid(1_000_000_000),
                n.rem_euclid(1_000_000_000) as u32,
            ) {
                write_local_date_time(out, &dt);
            }
        }
        DataType::Binary => {
            // byte[].toString() is an identity hash in Java; Sluice writes hex instead.
            for b in a.as_binary::<i32>().value(row) {
                let _ = write!(out, "{b:02x}");
            }
        }
        _ => {}
    }
}

fn push_int(out: &mut String, v: i64) {
    let mut b = itoa::Buffer::new();
    out.push_str(b.format(v));
}

/// `LocalDateTime.toString()`: `yyyy-MM-ddTHH:mm`, then `:ss` unless seconds and fraction are
/// zero, then the fraction in groups of 3 digits.
pub fn write_local_date_time(out: &mut String, dt: &chrono::NaiveDateTime) {
    use chrono::Timelike;
    crate::format::json::time::write_date(out, dt.date());
    let _ = write!(out, "T{:02}:{:02}", dt.hour(), dt.minute());
    let nanos = dt.nanosecond() % 1_000_000_000;
    if dt.second() != 0 || nanos != 0 {
        let _ = write!(out, ":{:02}", dt.second());
        if nanos != 0 {
            if nanos.is_multiple_of(1_000_000) {
                let _ = write!(out, ".{:03}", nanos / 1_000_000);
            } else if nanos.is_multiple_of(1000) {
                let _ = write!(out, ".{:06}", nanos / 1000);
            } else {
                let _ = write!(out, ".{nanos:09}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_flinks_characters() {
        let mut s = String::new();
        escape_path_name(&mut s, "a/b=c%d:e#f g~h é\u{1}[x]{y}^");
        assert_eq!(s, "a%2Fb%3Dc%25d%3Ae%23f g~h é%01%5Bx%5D%7By%7D%5E");
    }

    #[test]
    fn local_date_time_text() {
        let dt = |s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        let f = |s| {
            let mut o = String::new();
            write_local_date_time(&mut o, &dt(s));
            o
        };
        assert_eq!(f("2024-01-02 10:00:00"), "2024-01-02T10:00");
        assert_eq!(f("2024-01-02 10:11:12.345"), "2024-01-02T10:11:12.345");
        assert_eq!(f("2024-01-02 10:11:12.3456"), "2024-01-02T10:11:12.345600");
    }
}
