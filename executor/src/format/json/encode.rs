//! Encoding rows as the JSON lines Flink writes (`RowDataToJsonConverters` + Jackson): see
//! `docs/flink-compat.md` §b.

use base64::Engine as _;
use sluice_sql::SqlType;
use sluice_sql::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use sluice_sql::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, TimeUnit, TimestampNanosecondType,
};
use sluice_sql::functions::local_date_time;
use sluice_sql::java::text::{write_decimal, write_double, write_float};
use sluice_sql::types::MAP_ENTRIES;

use super::text::write_json_string;
use super::{JsonOptions, MapNullKey, time};

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
    /// ARRAY, MAP and ROW values, written by [`write_value`].
    Nested(&'a ArrayRef),
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
        DataType::List(_) | DataType::Struct(_) => Reader::Nested(a),
        other => return Err(format!("cannot encode a {other} column as {ty}")),
    })
}

impl BatchEncoder<'_> {
    /// Appends row `row` as one JSON line (with `\n`); on an error (a NULL map key with
    /// `map-null-key.mode` FAIL) `out` may hold part of the line.
    pub fn write_row(&mut self, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
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
                Reader::Nested(a) => a.is_null(row),
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
                    write_json_decimal(s, a.value(row), *scale, options.decimal_as_plain_number);
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
                    time::write_epoch_day(s, i64::from(a.value(row)));
                    quote(out, s);
                }
                Reader::Time(a) => {
                    time::write_time_millis(s, a.value(row));
                    quote(out, s);
                }
                Reader::Timestamp(a, ltz) => {
                    write_timestamp(s, a.value(row), options.timestamp_standard, *ltz);
                    quote(out, s);
                }
                Reader::Nested(a) => write_value(out, a.as_ref(), row, options, s)?,
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

fn write_timestamp(s: &mut String, nanos: i64, standard: super::TimestampStandard, ltz: bool) {
    if let Some(dt) = local_date_time(
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000) as u32,
    ) {
        time::write_timestamp(s, &dt, standard, ltz);
    }
}

/// `BigDecimal.stripTrailingZeros().toString()`, or `toPlainString()` of the value with its
/// scale with `json.encode.decimal-as-plain-number`.
fn write_json_decimal(s: &mut String, unscaled: i128, scale: i8, plain: bool) {
    if plain {
        write_decimal(s, unscaled, scale, true);
    } else {
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
}

/// The message Flink fails with on a NULL map key in FAIL mode.
const NULL_KEY_ERROR: &str = "JSON format doesn't support to serialize map data with null keys. You can drop null key entries or encode null in literals by specifying map-null-key.mode option.";

/// Appends value `i` of `a` (not NULL) as `RowDataToJsonConverters` writes it: any type,
/// nested ones recursively (`s` is scratch space).
fn write_value(
    out: &mut Vec<u8>,
    a: &dyn Array,
    i: usize,
    options: &JsonOptions,
    s: &mut String,
) -> Result<(), String> {
    s.clear();
    match a.data_type() {
        DataType::Boolean => out.extend_from_slice(if a.as_boolean().value(i) {
            b"true"
        } else {
            b"false"
        }),
        DataType::Int8 => write_int(out, i64::from(a.as_primitive::<Int8Type>().value(i))),
        DataType::Int16 => write_int(out, i64::from(a.as_primitive::<Int16Type>().value(i))),
        DataType::Int32 => write_int(out, i64::from(a.as_primitive::<Int32Type>().value(i))),
        DataType::Int64 => write_int(out, a.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => {
            let v = a.as_primitive::<Float32Type>().value(i);
            write_float(s, v);
            quote_non_finite(out, s, v.is_finite());
        }
        DataType::Float64 => {
            let v = a.as_primitive::<Float64Type>().value(i);
            write_double(s, v);
            quote_non_finite(out, s, v.is_finite());
        }
        DataType::Decimal128(_, scale) => {
            let u = a.as_primitive::<Decimal128Type>().value(i);
            write_json_decimal(s, u, *scale, options.decimal_as_plain_number);
            out.extend_from_slice(s.as_bytes());
        }
        DataType::Utf8 => write_json_string(out, a.as_string::<i32>().value(i)),
        DataType::Binary => {
            out.push(b'"');
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(a.as_binary::<i32>().value(i))
                    .as_bytes(),
            );
            out.push(b'"');
        }
        DataType::Date32 => {
            time::write_epoch_day(s, i64::from(a.as_primitive::<Date32Type>().value(i)));
            quote(out, s);
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            time::write_time_millis(s, a.as_primitive::<Time32MillisecondType>().value(i));
            quote(out, s);
        }
        DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
            let n = a.as_primitive::<TimestampNanosecondType>().value(i);
            write_timestamp(s, n, options.timestamp_standard, tz.is_some());
            quote(out, s);
        }
        DataType::List(f) if f.name() == MAP_ENTRIES => write_map(out, a, i, options, s)?,
        DataType::List(_) => {
            let list = a.as_list::<i32>();
            let items = list.value(i);
            out.push(b'[');
            for j in 0..items.len() {
                if j > 0 {
                    out.push(b',');
                }
                if items.is_null(j) {
                    out.extend_from_slice(b"null");
                } else {
                    write_value(out, items.as_ref(), j, options, s)?;
                }
            }
            out.push(b']');
        }
        DataType::Struct(fields) => {
            let row = a.as_struct();
            out.push(b'{');
            let mut first = true;
            for (field, column) in fields.iter().zip(row.columns()) {
                let null = column.is_null(i);
                if null && options.ignore_null_fields {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_json_string(out, field.name());
                out.push(b':');
                if null {
                    out.extend_from_slice(b"null");
                } else {
                    write_value(out, column.as_ref(), i, options, s)?;
                }
            }
            out.push(b'}');
        }
        other => return Err(format!("cannot encode a {other} value as JSON")),
    }
    Ok(())
}

/// A MAP as a JSON object; a NULL key fails, is dropped or becomes the literal
/// (`json.map-null-key.mode`); a repeated key keeps its first place and its last value, as
/// Jackson's `ObjectNode`.
fn write_map(
    out: &mut Vec<u8>,
    a: &dyn Array,
    i: usize,
    options: &JsonOptions,
    s: &mut String,
) -> Result<(), String> {
    let entries = a.as_list::<i32>().value(i);
    let entries = entries.as_struct();
    let (keys, values) = (entries.column(0), entries.column(1));
    // Keys as text, in order; a later duplicate replaces the earlier value.
    let mut members: Vec<(String, usize)> = Vec::with_capacity(entries.len());
    for j in 0..entries.len() {
        let key = if keys.is_null(j) {
            match &options.map_null_key {
                MapNullKey::Fail => return Err(NULL_KEY_ERROR.to_owned()),
                MapNullKey::Drop => continue,
                MapNullKey::Literal(l) => l.clone(),
            }
        } else {
            key_text(keys.as_ref(), j, options, s)?
        };
        match members.iter_mut().find(|(k, _)| *k == key) {
            Some(m) => m.1 = j,
            None => members.push((key, j)),
        }
    }
    out.push(b'{');
    for (n, (key, j)) in members.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_json_string(out, key);
        out.push(b':');
        if values.is_null(*j) {
            out.extend_from_slice(b"null");
        } else {
            write_value(out, values.as_ref(), *j, options, s)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// A map key's `toString()` (keys are strings in every map Flink's JSON format writes).
fn key_text(
    keys: &dyn Array,
    j: usize,
    options: &JsonOptions,
    s: &mut String,
) -> Result<String, String> {
    if let DataType::Utf8 = keys.data_type() {
        return Ok(keys.as_string::<i32>().value(j).to_owned());
    }
    let mut out = Vec::new();
    write_value(&mut out, keys, j, options, s)?;
    let text = String::from_utf8(out).unwrap_or_default();
    Ok(text.trim_matches('"').to_owned())
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
