//! Rows as Flink's `print` connector writes them: `Row.toString()` of the row converted to
//! Java objects (`+I[1, x y, 1.5, 2024-01-02T03:04, [1, 2], {k=1}, +I[1, r]]`). Each value is
//! its Java class's `toString()`: `Double.toString`, `BigDecimal.toString`, `LocalDate`,
//! `LocalTime`, `LocalDateTime` (seconds left out when zero), `Instant` for `TIMESTAMP_LTZ`,
//! `Arrays.toString` for ARRAY and BYTES (signed bytes), `Map.toString` for MAP (`{k=v}`), and
//! a nested ROW as a row; NULL is `null`. Checked against Flink 2.3.0's output
//! (`tests` below).

use std::fmt::Write as _;

use sluice_sql::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use sluice_sql::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, TimeUnit, TimestampNanosecondType,
};
use sluice_sql::calendar::civil_from_days;
use sluice_sql::java::text::{write_decimal, write_double, write_float};
use sluice_sql::{SqlType, SqlTypeKind};

/// Encodes rows of the sink's columns as `+I[...]` lines.
#[derive(Clone, Debug)]
pub struct RowTextEncoder {
    types: Vec<SqlType>,
}

impl RowTextEncoder {
    /// An encoder for the sink's columns, in order.
    pub fn new(columns: &[(String, SqlType)]) -> RowTextEncoder {
        RowTextEncoder {
            types: columns.iter().map(|(_, t)| t.clone()).collect(),
        }
    }

    /// Appends row `row` of `batch` (whose columns are the sink's) as one line with `\n`.
    pub fn write_row(
        &self,
        batch: &RecordBatch,
        row: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let mut text = String::with_capacity(64);
        text.push_str("+I[");
        for (i, ty) in self.types.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            write_value(&mut text, batch.column(i), row, ty)?;
        }
        text.push_str("]\n");
        out.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// Appends `toString()` of value `i` of `a`.
fn write_value(out: &mut String, a: &ArrayRef, i: usize, ty: &SqlType) -> Result<(), String> {
    if a.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    match (a.data_type(), &ty.kind) {
        (DataType::Boolean, _) => out.push_str(if a.as_boolean().value(i) {
            "true"
        } else {
            "false"
        }),
        (DataType::Int8, _) => push(out, a.as_primitive::<Int8Type>().value(i)),
        (DataType::Int16, _) => push(out, a.as_primitive::<Int16Type>().value(i)),
        (DataType::Int32, _) => push(out, a.as_primitive::<Int32Type>().value(i)),
        (DataType::Int64, _) => push(out, a.as_primitive::<Int64Type>().value(i)),
        (DataType::Float32, _) => write_float(out, a.as_primitive::<Float32Type>().value(i)),
        (DataType::Float64, _) => write_double(out, a.as_primitive::<Float64Type>().value(i)),
        (DataType::Decimal128(_, s), _) => {
            write_decimal(out, a.as_primitive::<Decimal128Type>().value(i), *s, false)
        }
        (DataType::Utf8, _) => out.push_str(a.as_string::<i32>().value(i)),
        (DataType::Binary, _) => {
            out.push('[');
            for (n, b) in a.as_binary::<i32>().value(i).iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                push(out, *b as i8);
            }
            out.push(']');
        }
        (DataType::Date32, _) => {
            write_date(out, i64::from(a.as_primitive::<Date32Type>().value(i)))
        }
        (DataType::Time32(TimeUnit::Millisecond), _) => {
            let ms = i64::from(a.as_primitive::<Time32MillisecondType>().value(i));
            write_time(out, ms / 1000, (ms % 1000) * 1_000_000, false);
        }
        (DataType::Timestamp(TimeUnit::Nanosecond, tz), _) => {
            let nanos = a.as_primitive::<TimestampNanosecondType>().value(i);
            let days = nanos.div_euclid(86_400_000_000_000);
            let of_day = nanos.rem_euclid(86_400_000_000_000);
            write_date(out, days);
            out.push('T');
            // `Instant.toString` always has seconds; `LocalDateTime.toString` leaves zero ones out.
            let instant = tz.is_some();
            write_time(out, of_day / 1_000_000_000, of_day % 1_000_000_000, instant);
            if instant {
                out.push('Z');
            }
        }
        (DataType::List(_), SqlTypeKind::Map(k, v)) => {
            let entries = a.as_list::<i32>().value(i);
            let entries = entries.as_struct();
            out.push('{');
            for n in 0..entries.len() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_value(out, entries.column(0), n, k)?;
                out.push('=');
                write_value(out, entries.column(1), n, v)?;
            }
            out.push('}');
        }
        (DataType::List(_), SqlTypeKind::Array(element)) => {
            let items = a.as_list::<i32>().value(i);
            out.push('[');
            for n in 0..items.len() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_value(out, &items, n, element)?;
            }
            out.push(']');
        }
        (DataType::Struct(_), SqlTypeKind::Row(fields)) => {
            let row = a.as_struct();
            out.push_str("+I[");
            for (n, (_, field)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_value(out, row.column(n), i, field)?;
            }
            out.push(']');
        }
        (other, _) => return Err(format!("cannot print a {other} value as {ty}")),
    }
    Ok(())
}

fn push(out: &mut String, v: impl std::fmt::Display) {
    let _ = write!(out, "{v}");
}

/// `LocalDate.toString()`: `yyyy-MM-dd`, years past 9999 with a `+`, before year 0 with a `-`.
fn write_date(out: &mut String, days: i64) {
    let (year, month, day) = civil_from_days(days);
    if year > 9999 {
        let _ = write!(out, "+{year}");
    } else if year < 0 {
        let _ = write!(out, "-{:04}", -year);
    } else {
        let _ = write!(out, "{year:04}");
    }
    let _ = write!(out, "-{month:02}-{day:02}");
}

/// `LocalTime.toString()`: `HH:mm`, then `:ss` unless seconds and fraction are zero (always,
/// with `seconds`, as `Instant` writes it), then the fraction in groups of 3 digits.
fn write_time(out: &mut String, second_of_day: i64, nanos: i64, seconds: bool) {
    let (h, m, s) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    let _ = write!(out, "{h:02}:{m:02}");
    if s == 0 && nanos == 0 && !seconds {
        return;
    }
    let _ = write!(out, ":{s:02}");
    if nanos == 0 {
    } else if nanos % 1_000_000 == 0 {
        let _ = write!(out, ".{:03}", nanos / 1_000_000);
    } else if nanos % 1000 == 0 {
        let _ = write!(out, ".{:06}", nanos / 1000);
    } else {
        let _ = write!(out, ".{nanos:09}");
    }
}
