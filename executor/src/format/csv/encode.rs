//! Encoding rows as the CSV lines Flink's filesystem sink writes: `RowDataToCsvConverters`
//! turns a row into Jackson nodes, `CsvGenerator` writes them. What that means, measured
//! against Flink 2.3.0 (`sql/tests/flink/cases/csv_out_*`):
//!
//! * numbers and booleans are written bare; DECIMAL as `BigDecimal.stripTrailingZeros()`
//!   (`100` → `1E+2`, zero → `0`), FLOAT/DOUBLE as Java's `toString`;
//! * text (strings, dates, times, timestamps, base64 bytes, and ARRAY/ROW values joined with
//!   the array element delimiter) is quoted when it is longer than 24 UTF-16 units or holds a
//!   character below Jackson's "safe" threshold — one more than the largest of the field
//!   delimiter, the quote character and `\n` — or the escape character. So with `,` any
//!   character up to `,` (space, `!`, `"`, `#`, …) quotes, and with `|` nearly everything does;
//!   a backslash always quotes;
//! * inside quotes the quote character is doubled, and so is the escape character;
//! * NULL is `csv.null-literal` (empty by default), unquoted; a NULL array element too.

use base64::Engine as _;
use sluice_sql::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use sluice_sql::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, TimeUnit, TimestampNanosecondType,
};
use sluice_sql::functions::local_date_time;
use sluice_sql::java::text::{write_decimal, write_double, write_float};
use sluice_sql::{SqlType, SqlTypeKind};

use super::CsvOptions;
use crate::format::json::{TimestampStandard, time};

/// Jackson's `CsvEncoder.MAX_QUOTE_CHECK`: longer text is always quoted.
const MAX_QUOTE_CHECK: usize = 24;

/// Which columns of the sink's rows are written, and how.
#[derive(Clone, Debug)]
pub struct CsvEncoder {
    columns: Vec<usize>,
    options: CsvOptions,
    /// Jackson's `_cfgMinSafeChar`.
    min_safe: u32,
}

/// The encoder of one batch.
pub struct BatchEncoder<'a> {
    encoder: &'a CsvEncoder,
    columns: Vec<&'a ArrayRef>,
    scratch: String,
}

/// Whether Flink's CSV format can hold a column of `ty` (`CsvRowSchemaConverter`): no MAP or
/// MULTISET, and an ARRAY's elements are not ARRAY or ROW.
pub fn check_type(name: &str, ty: &SqlType) -> Result<(), String> {
    let unsupported = || format!("Unsupported type '{ty}' for field '{name}'.");
    match &ty.kind {
        SqlTypeKind::Map(..) => Err(unsupported()),
        SqlTypeKind::Array(item) => match &item.kind {
            SqlTypeKind::Array(_) | SqlTypeKind::Row(_) | SqlTypeKind::Map(..) => {
                Err(unsupported())
            }
            _ => Ok(()),
        },
        SqlTypeKind::Row(fields) => fields.iter().try_for_each(|(_, f)| match &f.kind {
            SqlTypeKind::Array(_) | SqlTypeKind::Row(_) | SqlTypeKind::Map(..) => {
                Err(unsupported())
            }
            _ => Ok(()),
        }),
        _ => Ok(()),
    }
}

impl CsvEncoder {
    /// An encoder for `columns` (the sink's, in order), leaving out `skip` (partition columns).
    pub fn new(
        columns: &[(String, SqlType)],
        skip: &[String],
        options: CsvOptions,
    ) -> Result<CsvEncoder, String> {
        let mut out = Vec::new();
        for (i, (name, ty)) in columns.iter().enumerate() {
            check_type(name, ty)?;
            if !skip.contains(name) {
                out.push(i);
            }
        }
        let mut max = (options.field_delimiter as u32).max(u32::from(b'\n'));
        if let Some(q) = options.quote {
            max = max.max(q as u32);
        }
        Ok(CsvEncoder {
            columns: out,
            options,
            min_safe: max + 1,
        })
    }

    /// Prepares to encode rows of `batch` (whose columns are the sink's, in order).
    pub fn batch<'a>(&'a self, batch: &'a RecordBatch) -> Result<BatchEncoder<'a>, String> {
        let columns = self.columns.iter().map(|&i| batch.column(i)).collect();
        Ok(BatchEncoder {
            encoder: self,
            columns,
            scratch: String::with_capacity(64),
        })
    }

    /// Appends `text` as Jackson's `CsvEncoder.write(int, String)` does.
    fn write_text(&self, out: &mut Vec<u8>, text: &str) {
        let o = &self.options;
        let Some(q) = o.quote else {
            out.extend_from_slice(text.as_bytes());
            return;
        };
        let needs_quotes = text.len() > MAX_QUOTE_CHECK
            && text.encode_utf16().count() > MAX_QUOTE_CHECK
            || text
                .chars()
                .any(|c| (c as u32) < self.min_safe || c == '\\' || Some(c) == o.escape);
        if !needs_quotes {
            out.extend_from_slice(text.as_bytes());
            return;
        }
        let mut buf = [0u8; 4];
        let q = q.encode_utf8(&mut buf).as_bytes().to_vec();
        out.extend_from_slice(&q);
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if c == o.quote.unwrap_or('"') || Some(c) == o.escape {
                // The character is written twice: up to and including it, then once more.
                out.extend_from_slice(&text.as_bytes()[start..i + c.len_utf8()]);
                start = i;
            }
        }
        out.extend_from_slice(&text.as_bytes()[start..]);
        out.extend_from_slice(&q);
    }

    fn write_null(&self, out: &mut Vec<u8>) {
        if let Some(n) = &self.options.null_literal {
            out.extend_from_slice(n.as_bytes());
        }
    }
}

impl BatchEncoder<'_> {
    /// Appends row `row` as one CSV line (with `\n`).
    pub fn write_row(&mut self, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
        let e = self.encoder;
        let mut sep = [0u8; 4];
        let sep = e.options.field_delimiter.encode_utf8(&mut sep).as_bytes();
        for (n, a) in self.columns.iter().enumerate() {
            if n > 0 {
                out.extend_from_slice(sep);
            }
            if a.is_null(row) {
                e.write_null(out);
                continue;
            }
            let s = &mut self.scratch;
            s.clear();
            if value_text(s, a.as_ref(), row, &e.options)? {
                e.write_text(out, s);
            } else {
                out.extend_from_slice(s.as_bytes());
            }
        }
        out.push(b'\n');
        Ok(())
    }
}

/// Appends the text of value `i` of `a` (not NULL) to `s`; true when it is a text value
/// (quoted by the rules), false for a bare number or boolean.
fn value_text(s: &mut String, a: &dyn Array, i: usize, o: &CsvOptions) -> Result<bool, String> {
    let text = match a.data_type() {
        DataType::Boolean => {
            s.push_str(if a.as_boolean().value(i) {
                "true"
            } else {
                "false"
            });
            false
        }
        DataType::Int8 => push_int(s, i64::from(a.as_primitive::<Int8Type>().value(i))),
        DataType::Int16 => push_int(s, i64::from(a.as_primitive::<Int16Type>().value(i))),
        DataType::Int32 => push_int(s, i64::from(a.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => push_int(s, a.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => {
            write_float(s, a.as_primitive::<Float32Type>().value(i));
            false
        }
        DataType::Float64 => {
            write_double(s, a.as_primitive::<Float64Type>().value(i));
            false
        }
        DataType::Decimal128(_, scale) => {
            write_stripped_decimal(s, a.as_primitive::<Decimal128Type>().value(i), *scale);
            false
        }
        DataType::Utf8 => {
            s.push_str(a.as_string::<i32>().value(i));
            true
        }
        DataType::Binary => {
            base64::engine::general_purpose::STANDARD
                .encode_string(a.as_binary::<i32>().value(i), s);
            true
        }
        DataType::Date32 => {
            time::write_epoch_day(s, i64::from(a.as_primitive::<Date32Type>().value(i)));
            true
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            time::write_time_millis(s, a.as_primitive::<Time32MillisecondType>().value(i));
            true
        }
        DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
            let nanos = a.as_primitive::<TimestampNanosecondType>().value(i);
            if let Some(dt) = local_date_time(
                nanos.div_euclid(1_000_000_000),
                nanos.rem_euclid(1_000_000_000) as u32,
            ) {
                time::write_timestamp(s, &dt, TimestampStandard::Sql, tz.is_some());
            }
            true
        }
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(i);
            join(s, (0..items.len()).map(|j| (items.as_ref(), j)), o)?;
            true
        }
        DataType::Struct(_) => {
            let row = a.as_struct();
            join(s, row.columns().iter().map(|c| (c.as_ref(), i)), o)?;
            true
        }
        other => return Err(format!("cannot encode a {other} value as CSV")),
    };
    Ok(text)
}

/// ARRAY elements or ROW fields, each as its text (NULL as the null literal), joined with the
/// array element delimiter (Jackson's array handling of `CsvGenerator`).
fn join<'a>(
    s: &mut String,
    values: impl Iterator<Item = (&'a dyn Array, usize)>,
    o: &CsvOptions,
) -> Result<(), String> {
    let mut item = String::new();
    for (n, (a, j)) in values.enumerate() {
        if n > 0 {
            s.push_str(&o.array_element_delimiter);
        }
        if a.is_null(j) {
            s.push_str(o.null_literal.as_deref().unwrap_or(""));
        } else {
            item.clear();
            value_text(&mut item, a, j, o)?;
            s.push_str(&item);
        }
    }
    Ok(())
}

fn push_int(s: &mut String, v: i64) -> bool {
    let mut buf = itoa::Buffer::new();
    s.push_str(buf.format(v));
    false
}

/// `JsonNodeFactory.numberNode(BigDecimal)` then `toString()`: trailing zeros stripped (so
/// `100` is `1E+2`), zero is `0`.
fn write_stripped_decimal(s: &mut String, unscaled: i128, scale: i8) {
    let (mut u, mut sc) = (unscaled, scale);
    if u == 0 {
        sc = 0;
    }
    while u != 0 && u % 10 == 0 {
        u /= 10;
        sc -= 1;
    }
    write_decimal(s, u, sc, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(options: CsvOptions, value: &str) -> String {
        let e = CsvEncoder::new(&[], &[], options).unwrap();
        let mut out = Vec::new();
        e.write_text(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_like_jacksons_csv_generator() {
        let d = CsvOptions::default;
        assert_eq!(text(d(), "plain"), "plain");
        assert_eq!(text(d(), "-dash"), "-dash");
        assert_eq!(text(d(), "a b"), "\"a b\"");
        assert_eq!(text(d(), "say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text(d(), &"x".repeat(24)), "x".repeat(24));
        assert_eq!(
            text(d(), &"y".repeat(25)),
            format!("\"{}\"", "y".repeat(25))
        );
        assert_eq!(text(d(), ""), "");
        assert_eq!(text(d(), "back\\slash"), "\"back\\slash\"");
    }

    #[test]
    fn the_threshold_follows_the_delimiter() {
        let pipe = CsvOptions {
            field_delimiter: '|',
            ..CsvOptions::default()
        };
        assert_eq!(text(pipe, "plain"), "\"plain\"");
        let tab = CsvOptions {
            field_delimiter: '\t',
            ..CsvOptions::default()
        };
        assert_eq!(text(tab.clone(), "#hash"), "#hash");
        assert_eq!(text(tab, "a b"), "\"a b\"");
    }

    #[test]
    fn escape_character_is_doubled_and_forces_quotes() {
        let esc = CsvOptions {
            escape: Some('\\'),
            ..CsvOptions::default()
        };
        assert_eq!(text(esc, "back\\slash"), "\"back\\\\slash\"");
        let off = CsvOptions {
            quote: None,
            escape: Some('\\'),
            ..CsvOptions::default()
        };
        assert_eq!(text(off, "a,b\\c"), "a,b\\c");
    }

    #[test]
    fn decimals_strip_trailing_zeros() {
        let mut s = String::new();
        write_stripped_decimal(&mut s, 10000, 2);
        assert_eq!(s, "1E+2");
        s.clear();
        write_stripped_decimal(&mut s, 0, 2);
        assert_eq!(s, "0");
        s.clear();
        write_stripped_decimal(&mut s, 1250, 2);
        assert_eq!(s, "12.5");
        s.clear();
        write_stripped_decimal(&mut s, 10, 8);
        assert_eq!(s, "1E-7");
    }
}
