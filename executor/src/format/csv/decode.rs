//! Decoding CSV records into Arrow columns as Flink's `CsvRowDataDeserializationSchema` does
//! for a Kafka source: the record is split by [`super::record`], then each field converted by
//! the rules of `CsvToRowDataConverters`, measured against Flink 2.3.0
//! (`sql/tests/flink/cases/csv_in_*`):
//!
//! * the record must have exactly as many fields as the table has physical columns ("Row
//!   length mismatch"), unless `csv.ignore-parse-errors`, where missing fields are NULL;
//! * integers, FLOAT/DOUBLE and BOOLEAN are trimmed first (Java's `parseInt`, `parseDouble`,
//!   `parseBoolean`: anything but `true` is false), DECIMAL is `new BigDecimal(text)` rounded
//!   HALF_UP and NULL when too long, DATE is `java.sql.Date.valueOf`, TIME `LocalTime.parse`,
//!   TIMESTAMP `yyyy-MM-dd HH:mm:ss[.f]` (TIMESTAMP_LTZ with a trailing `Z`), BYTES base64;
//! * an empty field is an empty string, an error for numbers, an empty ARRAY, a NULL ROW;
//!   `csv.null-literal` (quoted or not) is NULL, for ARRAY elements too;
//! * a bad field fails the record, or with `csv.ignore-parse-errors` becomes NULL; a record
//!   that cannot be split fails, or is dropped.

use base64::Engine as _;
use sluice_sql::arrow::array::ArrayRef;
use sluice_sql::functions::cast_text::big_decimal;
use sluice_sql::java::parse::{java_parse_double, java_parse_float, java_trim, sql_date_value_of};
use sluice_sql::{SqlType, SqlTypeKind};

use super::CsvOptions;
use super::encode::check_type;
use super::record::{Field, split};
use crate::format::json::column::{Column, Kind};
use crate::format::json::decode::{DecodeError, DecodeField, Decoded, java_parse_integer};
use crate::format::json::{TimestampStandard, time};

/// Decodes CSV records of one table into Arrow columns.
pub struct CsvDecoder {
    types: Vec<SqlType>,
    wanted: Vec<bool>,
    columns: Vec<Column>,
    options: CsvOptions,
    rows: usize,
    fields: Vec<Field>,
}

impl CsvDecoder {
    /// A decoder for the physical (non-metadata) columns `fields`, in declaration order.
    pub fn new(fields: &[DecodeField], options: CsvOptions) -> Result<CsvDecoder, String> {
        for f in fields {
            check_type(&f.name, &f.ty)?;
        }
        Ok(CsvDecoder {
            types: fields.iter().map(|f| f.ty.clone()).collect(),
            wanted: fields.iter().map(|f| f.wanted).collect(),
            columns: fields.iter().map(|f| Column::new(&f.ty)).collect(),
            options,
            rows: 0,
            fields: Vec::new(),
        })
    }

    /// Decodes one record, appending its row; on an error nothing is appended. A missing value
    /// (a tombstone) is no row; an empty one is an error, as in Flink.
    pub fn decode(&mut self, record: Option<&[u8]>) -> Result<Decoded, DecodeError> {
        let Some(bytes) = record else {
            return Ok(Decoded::Empty);
        };
        match self.decode_record(bytes) {
            Ok(()) => {
                self.rows += 1;
                Ok(Decoded::Rows(1))
            }
            Err(message) => {
                self.columns.iter_mut().for_each(|c| c.truncate(self.rows));
                if self.options.ignore_parse_errors {
                    Ok(Decoded::Dropped)
                } else {
                    Err(DecodeError { message })
                }
            }
        }
    }

    fn decode_record(&mut self, bytes: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| format!("Invalid UTF-8 in the CSV record: {e}"))?;
        let n = self.columns.len();
        split(text, &self.options, n, &mut self.fields)?;
        let ignore = self.options.ignore_parse_errors;
        if !ignore && self.fields.len() != n {
            return Err(format!(
                "Row length mismatch. {n} fields expected but was {}.",
                self.fields.len()
            ));
        }
        for (i, column) in self.columns.iter_mut().enumerate() {
            let Some(f) = self.fields.get(i) else {
                column.push_null();
                continue;
            };
            if let Err(e) = convert(column, &self.types[i], &f.text, &self.options) {
                if !ignore {
                    return Err(e);
                }
                column.truncate(self.rows);
                column.push_null();
            }
        }
        Ok(())
    }

    /// The decoded columns the statement reads, in order, resetting the decoder.
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        self.rows = 0;
        self.columns
            .iter_mut()
            .zip(&self.wanted)
            .filter_map(|(c, &wanted)| {
                let a = c.finish();
                wanted.then_some(a)
            })
            .collect()
    }
}

fn is_null(text: &str, o: &CsvOptions) -> bool {
    o.null_literal.as_deref() == Some(text) || (o.empty_string_as_null && text.is_empty())
}

/// Appends the value of one field (its text) to `column` of type `ty`.
fn convert(column: &mut Column, ty: &SqlType, text: &str, o: &CsvOptions) -> Result<(), String> {
    let nested = matches!(ty.kind, SqlTypeKind::Array(_) | SqlTypeKind::Row(_));
    if !nested && is_null(text, o) {
        column.push_null();
        return Ok(());
    }
    match (&mut column.kind, &ty.kind) {
        (Kind::Bool(_), _) => column.push_bool(java_trim(text).eq_ignore_ascii_case("true")),
        (Kind::I8(_), _) => column.push_int(java_parse_integer(java_trim(text), -128, 127)?),
        (Kind::I16(_), _) => column.push_int(java_parse_integer(java_trim(text), -32768, 32767)?),
        (Kind::I32(_), _) => column.push_int(java_parse_integer(
            java_trim(text),
            i64::from(i32::MIN),
            i64::from(i32::MAX),
        )?),
        (Kind::I64(_), _) => {
            column.push_int(java_parse_integer(java_trim(text), i64::MIN, i64::MAX)?)
        }
        (Kind::F32(_), _) => column.push_f32(java_parse_float(text)?),
        (Kind::F64(_), _) => column.push_f64(java_parse_double(text)?),
        (Kind::Decimal(_, p, s), _) => {
            let (p, s) = (*p, *s);
            match big_decimal(text, p, s).map_err(|e| e.to_string())? {
                Some(v) => column.push_decimal(v),
                None => column.push_null(),
            }
        }
        (Kind::Utf8(_), _) => column.push_bytes(text.as_bytes()),
        (Kind::Binary(_), _) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(java_trim(text))
                .map_err(|e| format!("Cannot access contents of TextNode as binary due to broken Base64 encoding: {e}"))?;
            column.push_bytes(&bytes);
        }
        (Kind::Date(_), _) => {
            let days = sql_date_value_of(text)
                .and_then(|d| i32::try_from(d).ok())
                .ok_or_else(|| format!("Text '{text}' could not be parsed as a date"))?;
            column.push_i32(days);
        }
        (Kind::Time(_), SqlTypeKind::Time(p)) => {
            let ms = parse_local_time_millis(text)
                .ok_or_else(|| format!("Text '{text}' could not be parsed at index 0"))?;
            let unit = 10_i32.pow(3 - u32::from((*p).min(3)));
            column.push_i32(ms - ms % unit);
        }
        (Kind::Timestamp(_, ltz), _) => {
            let ltz = *ltz;
            let t = java_trim(text);
            let dt = time::parse_timestamp(t, TimestampStandard::Sql, ltz)
                .ok_or_else(|| format!("Text '{t}' could not be parsed"))?;
            let nanos = dt.and_utc().timestamp_nanos_opt().ok_or_else(|| {
                format!("Text '{t}' is a timestamp outside the range Sluice holds (1677-09-21 to 2262-04-11)")
            })?;
            column.push_timestamp(nanos);
        }
        (Kind::List { item, .. }, SqlTypeKind::Array(item_ty)) => {
            if !text.is_empty() {
                for element in text.split(o.array_element_delimiter.as_str()) {
                    if is_null(element, o) {
                        item.push_null();
                    } else {
                        convert(item, item_ty, element, o)?;
                    }
                }
            }
            column.end_nested_row(&[]);
        }
        (Kind::Struct { children, .. }, SqlTypeKind::Row(fields)) => {
            if text.is_empty() {
                column.push_null();
                return Ok(());
            }
            let values: Vec<&str> = text.split(o.array_element_delimiter.as_str()).collect();
            if values.len() < fields.len() {
                return Err(format!(
                    "Row length mismatch. {} fields expected but was {}.",
                    fields.len(),
                    values.len()
                ));
            }
            for ((child, (_, child_ty)), value) in children.iter_mut().zip(fields).zip(values) {
                if is_null(value, o) {
                    child.push_null();
                } else {
                    convert(child, child_ty, value, o)?;
                }
            }
            column.end_nested_row(&[]);
        }
        _ => return Err(format!("Unsupported type '{ty}'.")),
    }
    Ok(())
}

/// `LocalTime.parse` (`ISO_LOCAL_TIME`: `HH:mm[:ss[.f]]`) in milliseconds of the day.
fn parse_local_time_millis(s: &str) -> Option<i32> {
    if s.len() == 5 {
        return time::parse_time_millis(&format!("{s}:00"));
    }
    time::parse_time_millis(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sql::arrow::array::{Array, AsArray};
    use sluice_sql::arrow::datatypes::Int32Type;

    fn decoder(types: &[&str], options: CsvOptions) -> CsvDecoder {
        let fields: Vec<DecodeField> = types
            .iter()
            .enumerate()
            .map(|(i, t)| DecodeField {
                name: format!("c{i}"),
                ty: SqlType::parse(t).unwrap(),
                wanted: true,
            })
            .collect();
        CsvDecoder::new(&fields, options).unwrap()
    }

    #[test]
    fn decodes_fields_by_type() {
        let mut d = decoder(
            &["INT", "STRING", "ARRAY<INT>", "BOOLEAN"],
            CsvOptions::default(),
        );
        assert_eq!(d.decode(Some(b" 7 ,\"a,b\",1;2,yes")), Ok(Decoded::Rows(1)));
        let cols = d.finish();
        assert_eq!(cols[0].as_primitive::<Int32Type>().value(0), 7);
        assert_eq!(cols[1].as_string::<i32>().value(0), "a,b");
        assert_eq!(cols[2].as_list::<i32>().value(0).len(), 2);
        assert!(!cols[3].as_boolean().value(0));
    }

    #[test]
    fn wrong_field_counts_fail_unless_errors_are_ignored() {
        let mut d = decoder(&["INT", "INT"], CsvOptions::default());
        let e = d.decode(Some(b"1")).unwrap_err();
        assert_eq!(
            e.message,
            "Row length mismatch. 2 fields expected but was 1."
        );
        assert!(d.decode(Some(b"x,1")).is_err());
        assert!(d.decode(Some(b"")).is_err());
        assert_eq!(d.decode(None), Ok(Decoded::Empty));
        let mut lenient = decoder(
            &["INT", "INT"],
            CsvOptions {
                ignore_parse_errors: true,
                ..CsvOptions::default()
            },
        );
        assert_eq!(lenient.decode(Some(b"x,3")), Ok(Decoded::Rows(1)));
        assert_eq!(lenient.decode(Some(b"4")), Ok(Decoded::Rows(1)));
        assert_eq!(lenient.decode(Some(b"5,6,7")), Ok(Decoded::Dropped));
        let cols = lenient.finish();
        assert!(cols[0].is_null(0));
        assert_eq!(cols[1].as_primitive::<Int32Type>().value(0), 3);
        assert!(cols[1].is_null(1));
        assert_eq!(cols[0].len(), 2);
    }

    #[test]
    fn null_literal_is_null_for_fields_and_elements() {
        let mut d = decoder(
            &["INT", "STRING", "ARRAY<INT>"],
            CsvOptions {
                null_literal: Some("NULL".into()),
                ..CsvOptions::default()
            },
        );
        assert_eq!(
            d.decode(Some(b"NULL,\"NULL\",1;NULL")),
            Ok(Decoded::Rows(1))
        );
        let cols = d.finish();
        assert!(cols[0].is_null(0));
        assert!(cols[1].is_null(0));
        assert!(cols[2].as_list::<i32>().value(0).is_null(1));
    }
}
