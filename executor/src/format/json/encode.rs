//! Encoding rows as the JSON lines Flink writes (`RowDataToJsonConverters` + Jackson): see
//! `docs/flink-compat.md` §b.

use base64::Engine as _;
use sluice_sql::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use sluice_sql::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, TimeUnit, TimestampNanosecondType,
};
use sluice_sql::functions::local_date_time;
use sluice_sql::java_text::{write_decimal, write_double, write_float};
use sluice_sql::{SqlType, SqlTypeKind};

use super::text::write_json_string;
use super::{JsonOptions, time};

/// Which columns of the sink's rows go into the JSON object, and how.
#[derive(Clone, Debug)]
pub struct JsonEncoder {
    columns: Vec<(usize, Vec<u8>, SqlType)>,
    options: JsonOptions,
}

/// A column of one batch, read without per-value dispatch on the Arrow type.
enum Reader<'a> {
    Boolean(&'a sluice_sql::arrow::array::BooleanArray),
    Int8(&'a sluice_sql::arrow::array::PrimitiveArray<Int8Type>),
    Int16(&'a sluice_sql::arrow::array::PrimitiveArray<Int16Type>),
    Int32(&'a sluice_sql::arrow::array::PrimitiveArray<Int32Type>),
    Int64(&'a sluice_sql::arrow::array::PrimitiveArray<Int64Type>),
    Float32(&'a sluice_sql::arrow::array::PrimitiveArray<Float32Type>),
    Float64(&'a sluice_sql::arrow::array::PrimitiveArray<Float64Type>),
    Decimal(
        &'a sluice_sql::arrow::array::PrimitiveArray<Decimal128Type>,
        i8,
    ),
    Utf8(&'a sluice_sql::arrow::array::StringArray),
    Binary(&'a sluice_sql::arrow::array::BinaryArray),
    Date(&'a sluice_sql::arrow::array::PrimitiveArray<Date32Type>),
    Time(&'a sluice_sql::arrow::array::PrimitiveArray<Time32MillisecondType>),
    Timestamp(
        &'a sluice_sql::arrow::array::PrimitiveArray<TimestampNanosecondType>,
        bool,
    ),
}

/// The readers of one batch; encodes its rows.
pub struct BatchEncoder<'a> {
    encoder: &'a JsonEncoder,
    readers: Vec<(&'a [u8], Reader<'a>)>,
    scratch: String,
}

impl JsonEncoder {
    /// An encoder for `columns` (the sink's, in order), leaving out `skip` (partition columns).
    pub fn new(
        columns: &[(String, SqlType)],
        skip: &[String],
        options: JsonOptions,
    ) -> Result<JsonEncoder, String> {
        let mut out = Vec::new();
        for (i, (name, ty)) in columns.iter().enumerate() {
            if skip.contains(name) {
                continue;
            }
            if matches!(
                ty.kind,
                SqlTypeKind::Array(_) | SqlTypeKind::Map(..) | SqlTypeKind::Row(_)
            ) {
                return Err(format!(
                    "column {name} has type {ty}, which the json format does not encode yet"
                ));
            }
            let mut prefix = Vec::new();
            write_json_string(&mut prefix, name);
            prefix.push(b':');
            out.push((i, prefix, ty.clone()));
        }
        Ok(JsonEncoder {
            columns: out,
            options,
        })
    }

    /// Prepares to encode rows of `batch` (whose columns are the sink's, in order).
    pub fn batch<'a>(&'a self, batch: &'a RecordBatch) -> Result<BatchEncoder<'a>, String> {
        let readers = self
            .columns
            .iter()
            .map(|(i, prefix, ty)| Ok((prefix.as_slice(), reader(batch.column(*i), ty)?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(BatchEncoder {
            encoder: self,
            readers,
            scratch: String::with_capacity(32),
        })
    }
}

fn reader<'a>(a: &'a ArrayRef, ty: &SqlType) -> Result<Reader<'a>, String> {
    Ok(match a.data_type() {
        DataType::Boolean => Reader::Boolean(a.as_boolean()),
        DataType::Int8 => Reader::Int8(a.as_primitive()),
        DataType::Int16 => Reader::Int16(a.as_primitive()),
        DataType::Int32 => Reader::Int32(a.as_primitive()),
        DataType::Int64 => Reader::Int64(a.as_primitive()),
        DataType::Float32 => Reader::Float32(a.as_primitive()),
        DataType::Float64 => Reader::Float64(a.as_primitive()),
        DataType::Decimal128(_, s) => Reader::Decimal(a.as_primitive(), *s),
        DataType::Utf8 => Reader::Utf8(a.as_string::<i32>()),
        DataType::Binary => Reader::Binary(a.as_binary::<i32>()),
        DataType::Date32 => Reader::Date(a.as_primitive()),
        DataType::Time32(TimeUnit::Millisecond) => Reader::Time(a.as_primitive()),
        DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
            Reader::Timestamp(a.as_primitive(), tz.is_some())
        }
        other => return Err(format!("cannot encode a {other} column as {ty}")),
    })
}

impl BatchEncoder<'_> {
    /// Appends row `row` as one JSON line (with `\n`).
    pub fn write_row(&mut self, row: usize, out: &mut Vec<u8>) {
        let options = &self.encoder.options;
        out.push(b'{');
        let mut first = true;
        for (prefix, r) in &self.readers {
            let null = match r {
                Reader::Boolean(a) => a.is_null(row),
                Reader::Int8(a) => a.is_null(row),
                Reader::Int16(a) => a.is_null(row),
                Reader::Int32(a) => a.is_null(row),
                Reader::Int64(a) => a.is_null(row),
                Reader::Float32(a) => a.is_null(row),
                Reader::Float64(a) => a.is_null(row),
                Reader::Decimal(a, _) => a.is_null(row),
                Reader::Utf8(a) => a.is_null(row),
                Reader::Binary(a) => a.is_null(row),
                Reader::Date(a) => a.is_null(row),
                Reader::Time(a) => a.is_null(row),
                Reader::Timestamp(a, _) => a.is_null(row),
            };
            if null && options.ignore_null_fields {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(prefix);
            if null {
                out.extend_from_slice(b"null");
                continue;
            }
            let s = &mut self.scratch;
            s.clear();
            match r {
                Reader::Boolean(a) => {
                    out.extend_from_slice(if a.value(row) { b"true" } else { b"false" })
                }
                Reader::Int8(a) => write_int(out, i64::from(a.value(row))),
                Reader::Int16(a) => write_int(out, i64::from(a.value(row))),
                Reader::Int32(a) => write_int(out, i64::from(a.value(row))),
                Reader::Int64(a) => write_int(out, a.value(row)),
                Reader::Float32(a) => {
                    let v = a.value(row);
                    write_float(s, v);
                    quote_non_finite(out, s, v.is_finite());
                }
                Reader::Float64(a) => {
                    let v = a.value(row);
                    write_double(s, v);
                    quote_non_finite(out, s, v.is_finite());
                }
                Reader::Decimal(a, scale) => {
                    let (mut u, mut sc) = (a.value(row), *scale);
                    if options.decimal_as_plain_number {
                        write_decimal(s, u, sc, true);
                    } else {
                        // BigDecimal.stripTrailingZeros().toString()
                        if u == 0 {
                            sc = 0;
                        }
                        while u != 0 && u % 10 == 0 {
                            u /= 10;
                            sc -= 1;
                        }
                        write_decimal(s, u, sc, false);
                    }
                    out.extend_from_slice(s.as_bytes());
                }
                Reader::Utf8(a) => write_json_string(out, a.value(row)),
                Reader::Binary(a) => {
                    out.push(b'"');
                    out.extend_from_slice(
                        base64::engine::general_purpose::STANDARD
                            .encode(a.value(row))
                            .as_bytes(),
                    );
                    out.push(b'"');
                }
                Reader::Date(a) => {
                    if let Some(d) = local_date_time(i64::from(a.value(row)) * 86_400, 0) {
                        time::write_date(s, d.date());
                    }
                    quote(out, s);
                }
                Reader::Time(a) => {
                    time::write_time_millis(s, a.value(row));
                    quote(out, s);
                }
                Reader::Timestamp(a, ltz) => {
                    let n = a.value(row);
                    if let Some(dt) = local_date_time(
                        n.div_euclid(1_000_000_000),
                        n.rem_euclid(1_000_000_000) as u32,
                    ) {
                        time::write_timestamp(s, &dt, options.timestamp_standard, *ltz);
                    }
                    quote(out, s);
                }
            }
        }
        out.extend_from_slice(b"}\n");
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

fn quote(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Jackson writes NaN and ±Infinity as strings (`QUOTE_NON_NUMERIC_NUMBERS`).
fn quote_non_finite(out: &mut Vec<u8>, s: &str, finite: bool) {
    if finite {
        out.extend_from_slice(s.as_bytes());
    } else {
        quote(out, s);
    }
}
