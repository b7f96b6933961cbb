//! Decoding JSON records into Arrow columns as Flink's JSON format does (`docs/flink-compat.md`
//! §a). The default decoder is a port of `JsonParserToRowDataConverters` onto a Jackson-like
//! token stream ([`JsonParser`]): the same calls in the same order, so the same quirks (a
//! duplicate key ends the object early, an object given for a number walks the parser into
//! it). `json.decode.json-parser.enabled=false` selects the tree decoder ([`super::legacy`]).
//!
//! Every physical column of the table is decoded, as the Kafka source does (it has no
//! projection push-down); only the columns the statement reads are returned.

use base64::Engine as _;
use sluice_sql::SqlType;
use sluice_sql::arrow::array::ArrayRef;
use sluice_sql::java::parse::java_trim;

use super::column::{Column, Kind, hash_map_order, key_bytes};
pub(crate) use super::numbers::java_parse_integer;
use super::numbers::{jackson_integer, number_error, push_decimal_text};
use super::parser::{Ctx, JsonParser, Tok};
use super::rules::Rules;
use super::scan::Token;
use super::text::write_compact_tokens;
use super::{JsonOptions, legacy, time};

/// Why a record could not be decoded, with Flink's wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failed to deserialize JSON: {message}")]
pub struct DecodeError {
    /// The innermost cause (e.g. `Fail to deserialize at field: price.`).
    pub message: String,
}

/// What became of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// This many rows were appended: 1 for an object, one per element for an array of objects.
    Rows(usize),
    /// An empty or null record: no row, not an error (Kafka tombstones).
    Empty,
    /// A malformed record dropped because of `json.ignore-parse-errors`.
    Dropped,
}

/// A column the decoder fills.
#[derive(Clone, Debug)]
pub struct DecodeField {
    /// JSON field name (the column's name).
    pub name: String,
    /// The column's type.
    pub ty: SqlType,
    /// Whether the statement reads this column (the others are decoded and dropped).
    pub wanted: bool,
}

/// Decodes records of one table into Arrow columns.
pub struct JsonDecoder {
    names: Vec<String>,
    wanted: Vec<bool>,
    columns: Vec<Column>,
    rules: Rules,
    tree: bool,
    rows: usize,
    stack: Vec<Ctx>,
}

impl JsonDecoder {
    /// A decoder for the physical (non-metadata) columns `fields`, in declaration order.
    pub fn new(fields: &[DecodeField], options: JsonOptions) -> Result<JsonDecoder, String> {
        for f in fields {
            check_decodable(&f.name, &f.ty)?;
        }
        Ok(JsonDecoder {
            names: fields.iter().map(|f| f.name.clone()).collect(),
            wanted: fields.iter().map(|f| f.wanted).collect(),
            columns: fields.iter().map(|f| Column::new(&f.ty)).collect(),
            rules: Rules {
                ignore_parse_errors: options.ignore_parse_errors,
                fail_on_missing_field: options.fail_on_missing_field,
                standard: options.timestamp_standard,
            },
            tree: !options.json_parser,
            rows: 0,
            stack: Vec::new(),
        })
    }

    /// Decodes one record, appending its rows; on an error nothing is appended.
    pub fn decode(&mut self, record: Option<&[u8]>) -> Result<Decoded, DecodeError> {
        let Some(bytes) = record.filter(|b| !b.is_empty()) else {
            return Ok(Decoded::Empty);
        };
        let result = if self.tree {
            legacy::decode(
                bytes,
                &self.names,
                &mut self.columns,
                self.rows,
                &self.rules,
            )
        } else {
            self.decode_stream(bytes)
        };
        match result {
            Ok(n) => {
                self.rows += n;
                Ok(Decoded::Rows(n))
            }
            Err(message) => {
                self.columns.iter_mut().for_each(|c| c.truncate(self.rows));
                if self.rules.ignore_parse_errors {
                    Ok(Decoded::Dropped)
                } else {
                    Err(DecodeError { message })
                }
            }
        }
    }

    /// `JsonParserRowDataDeserializationSchema.deserialize`: an object is a row, an array of
    /// objects one row per element; anything else fails. In an array, the rows before a bad
    /// element are kept with `ignore-parse-errors` (they were emitted already).
    fn decode_stream(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let mut p = JsonParser::new(bytes, std::mem::take(&mut self.stack));
        let mut rows = 0;
        let r = (|| {
            match p.next_token()? {
                Some(Tok::StartObject) => {
                    convert_row(
                        &mut p,
                        &self.names,
                        &mut self.columns,
                        self.rows,
                        &self.rules,
                    )?;
                    rows = 1;
                }
                Some(Tok::StartArray) => loop {
                    match p.next_token()? {
                        Some(Tok::EndArray) => break,
                        Some(Tok::StartObject) => {
                            convert_row(
                                &mut p,
                                &self.names,
                                &mut self.columns,
                                self.rows + rows,
                                &self.rules,
                            )?;
                            rows += 1;
                        }
                        _ => return Err("Illegal JSON object data...".to_owned()),
                    }
                },
                _ => return Err("No content to map due to end-of-input".to_owned()),
            }
            Ok(())
        })();
        self.stack = p.into_stack();
        match r {
            Ok(()) => Ok(rows),
            Err(_) if rows > 0 && self.rules.ignore_parse_errors => {
                let end = self.rows + rows;
                self.columns.iter_mut().for_each(|c| c.truncate(end));
                Ok(rows)
            }
            Err(e) => Err(e),
        }
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

/// Flink rejects maps with non-string keys when it creates the format.
fn check_decodable(name: &str, ty: &SqlType) -> Result<(), String> {
    use sluice_sql::SqlTypeKind::*;
    match &ty.kind {
        Map(k, v) => {
            if !matches!(k.kind, Char(_) | Varchar(_)) {
                return Err(format!(
                    "column {name}: JSON format doesn't support non-string as key type of map. The type is: {ty}"
                ));
            }
            check_decodable(name, v)
        }
        Array(t) => check_decodable(name, t),
        Row(fields) => fields
            .iter()
            .try_for_each(|(_, t)| check_decodable(name, t)),
        _ => Ok(()),
    }
}

/// `createRowConverter`: reads an object (the current token is its `{`) into one row of
/// `columns` (all at `start` rows), field by field as they come. A known field is converted and
/// counted; once as many fields were counted as the row has (a duplicate key counts twice), the
/// rest of the object is skipped. Missing fields are NULL.
fn convert_row(
    p: &mut JsonParser<'_>,
    names: &[String],
    columns: &mut [Column],
    start: usize,
    rules: &Rules,
) -> Result<(), String> {
    if p.current() != Some(Tok::StartObject) {
        return Err("Illegal JSON object data...".to_owned());
    }
    let arity = names.len();
    let mut count = 0;
    let mut hint = 0;
    p.next_token()?;
    while p.current() != Some(Tok::EndObject) {
        if count >= arity {
            p.skip_to_next_field()?;
            continue;
        }
        let index = p.text().and_then(|name| {
            let at = (hint..arity)
                .chain(0..hint)
                .find(|&i| names[i] == name.as_ref());
            if let Some(i) = at {
                hint = i + 1;
            }
            at
        });
        p.next_token()?;
        match index {
            Some(i) => {
                // A duplicate key replaces the earlier value.
                let column = &mut columns[i];
                column.truncate(start);
                convert_nullable(p, column, rules).map_err(|cause| {
                    format!("Fail to deserialize at field: {}. ({cause})", names[i])
                })?;
                p.next_token()?;
                count += 1;
            }
            None => p.skip_to_next_field()?,
        }
    }
    if count < arity && rules.fail_on_missing_field {
        return Err("Some field is missing in the JSON data.".to_owned());
    }
    for c in columns.iter_mut() {
        if c.len() == start {
            c.push_null();
        }
    }
    Ok(())
}

/// `wrapIntoNullableConverter`: JSON `null` (or no token) is NULL; with `ignore-parse-errors` a
/// value that fails to convert is NULL too (the parser stays where the converter left it).
fn convert_nullable(
    p: &mut JsonParser<'_>,
    column: &mut Column,
    rules: &Rules,
) -> Result<(), String> {
    if matches!(p.current(), None | Some(Tok::Null)) {
        column.push_null();
        return Ok(());
    }
    let start = column.len();
    match convert(p, column, rules) {
        Ok(()) => Ok(()),
        Err(_) if rules.ignore_parse_errors => {
            column.truncate(start);
            column.push_null();
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Converts the current (non-null) token into one value of `column`.
fn convert(p: &mut JsonParser<'_>, column: &mut Column, rules: &Rules) -> Result<(), String> {
    let current = p.current();
    let start = column.len();
    let mut kept = Vec::new();
    match &mut column.kind {
        Kind::List { item, .. } => {
            if current != Some(Tok::StartArray) {
                return Err("Illegal JSON array data...".to_owned());
            }
            loop {
                match p.next_token()? {
                    Some(Tok::EndArray) => break,
                    None => return Err("Unexpected end-of-input in an array".to_owned()),
                    Some(_) => convert_nullable(p, item, rules)?,
                }
            }
        }
        Kind::Map { keys, values, .. } => {
            if current != Some(Tok::StartObject) {
                return Err("Illegal JSON map data...".to_owned());
            }
            let first = keys.len();
            loop {
                match p.next_token()? {
                    Some(Tok::EndObject) => break,
                    None => return Err("Unexpected end-of-input in an object".to_owned()),
                    Some(_) => {}
                }
                convert_nullable(p, keys, rules)?;
                p.next_token()?;
                convert_nullable(p, values, rules)?;
            }
            let read: Vec<&[u8]> = (first..keys.len()).map(|i| key_bytes(keys, i)).collect();
            hash_map_order(&read, &mut kept);
            kept.iter_mut().for_each(|k| *k += first as u32);
        }
        Kind::Struct { names, children } => {
            convert_row(p, names, children, start, rules)?;
        }
        _ => return convert_scalar(p, column, rules),
    }
    column.end_nested_row(&kept);
    Ok(())
}

/// The current token's text, trimmed as Java's `String.trim()`.
fn trimmed_text(p: &JsonParser<'_>) -> Result<String, String> {
    p.text()
        .map(|t| java_trim(&t).to_owned())
        .ok_or_else(|| "no current token".to_owned())
}

/// The converters of `JsonParserToRowDataConverters` for scalar types.
fn convert_scalar(
    p: &mut JsonParser<'_>,
    column: &mut Column,
    rules: &Rules,
) -> Result<(), String> {
    let current = p.current().ok_or_else(|| "no current token".to_owned())?;
    let input = p.input();
    let number = match current {
        Tok::Number(Token::Number { start, end, float }) => {
            Some((std::str::from_utf8(&input[start..end]).unwrap_or(""), float))
        }
        _ => None,
    };
    match &column.kind {
        Kind::Bool(_) => {
            let v = match current {
                Tok::True => true,
                Tok::False => false,
                _ => trimmed_text(p)?.eq_ignore_ascii_case("true"),
            };
            column.push_bool(v);
        }
        Kind::I8(_) | Kind::I16(_) => {
            let (min, max, java) = match column.kind {
                Kind::I8(_) => (i64::from(i8::MIN), i64::from(i8::MAX), "byte"),
                _ => (i64::from(i16::MIN), i64::from(i16::MAX), "short"),
            };
            let v = match number {
                Some((text, false)) => {
                    let v = jackson_integer(text, false, false)?;
                    if v < min || v > max {
                        return Err(format!("Numeric value ({v}) out of range of Java {java}."));
                    }
                    v
                }
                _ => java_parse_integer(&trimmed_text(p)?, min, max)?,
            };
            column.push_int(v);
        }
        Kind::I32(_) | Kind::I64(_) => {
            let long = matches!(column.kind, Kind::I64(_));
            let v = match number {
                Some((text, float)) => jackson_integer(text, float, long)?,
                None => {
                    let (min, max) = if long {
                        (i64::MIN, i64::MAX)
                    } else {
                        (i64::from(i32::MIN), i64::from(i32::MAX))
                    };
                    java_parse_integer(&trimmed_text(p)?, min, max)?
                }
            };
            column.push_int(v);
        }
        Kind::F32(_) => {
            let text = match number {
                Some((text, _)) => text.to_owned(),
                None => trimmed_text(p)?,
            };
            column.push_f32(sluice_sql::java::parse::java_parse_float(&text)?);
        }
        Kind::F64(_) => {
            let v = match number {
                Some((text, _)) => text.parse::<f64>().map_err(|_| number_error(text))?,
                None => sluice_sql::java::parse::java_parse_double(&trimmed_text(p)?)?,
            };
            column.push_f64(v);
        }
        Kind::Decimal(..) => {
            let text = match (current, number) {
                (_, Some((text, _))) => text.to_owned(),
                (Tok::String(_), None) => trimmed_text(p)?,
                _ => return Err("Current token is not a number".to_owned()),
            };
            // Precision overflow is NULL without an error (DecimalData.fromBigDecimal).
            push_decimal_text(&text, column)?;
        }
        Kind::Utf8(_) => match current {
            Tok::StartObject | Tok::StartArray => {
                let mut out = Vec::new();
                write_compact_tokens(p, &mut out)?;
                column.push_bytes(&out);
            }
            Tok::String(Token::String {
                start,
                end,
                escaped: false,
            }) => column.push_bytes(&input[start..end]),
            _ => {
                let t = p.text().ok_or_else(|| "no current token".to_owned())?;
                column.push_bytes(t.as_bytes());
            }
        },
        Kind::Binary(_) => match current {
            Tok::String(_) => {
                let t = p.text().ok_or_else(|| "no current token".to_owned())?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(t.as_bytes())
                    .map_err(|e| format!("invalid Base64: {e}"))?;
                column.push_bytes(&bytes);
            }
            _ => return Err("Current token is not a string: can not access as binary".to_owned()),
        },
        Kind::Date(_) => {
            let t = p.text().ok_or_else(|| "no current token".to_owned())?;
            let d = time::parse_epoch_day(&t)
                .ok_or_else(|| format!("Text '{t}' could not be parsed as a date"))?;
            column.push_i32(d);
        }
        Kind::Time(_) => {
            let t = p.text().ok_or_else(|| "no current token".to_owned())?;
            let ms = time::parse_time_millis(&t)
                .ok_or_else(|| format!("Text '{t}' could not be parsed as a time"))?;
            column.push_i32(ms);
        }
        Kind::Timestamp(_, ltz) => {
            let ltz = *ltz;
            let t = p.text().ok_or_else(|| "no current token".to_owned())?;
            let dt = time::parse_timestamp(&t, rules.standard, ltz).ok_or_else(|| {
                format!(
                    "Text '{t}' is not a timestamp in the {:?} format",
                    rules.standard
                )
            })?;
            let nanos = dt.and_utc().timestamp_nanos_opt().ok_or_else(|| {
                format!("Text '{t}' is a timestamp outside the range Sluice holds (1677-09-21 to 2262-04-11)")
            })?;
            column.push_timestamp(nanos);
        }
        Kind::List { .. } | Kind::Map { .. } | Kind::Struct { .. } => {
            return Err("nested value where a scalar was expected".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sql::arrow::array::{Array, AsArray};
    use sluice_sql::arrow::datatypes::{Float64Type, Int32Type, Int64Type};

    fn field(name: &str, ty: &str) -> DecodeField {
        DecodeField {
            name: name.to_owned(),
            ty: SqlType::parse(ty).unwrap(),
            wanted: true,
        }
    }

    fn lenient() -> JsonOptions {
        JsonOptions {
            ignore_parse_errors: true,
            ..JsonOptions::default()
        }
    }

    #[test]
    fn decodes_the_seed_record() {
        let mut d = JsonDecoder::new(
            &[
                field("event_time", "TIMESTAMP(3)"),
                field("ticker", "STRING"),
                field("price", "DOUBLE"),
            ],
            JsonOptions::default(),
        )
        .unwrap();
        let r = br#"{"event_time": "2024-01-02 10:11:12.345", "ticker": "AMZN", "price": 12.5}"#;
        assert_eq!(d.decode(Some(r)), Ok(Decoded::Rows(1)));
        assert_eq!(d.decode(None), Ok(Decoded::Empty));
        let cols = d.finish();
        assert_eq!(cols[1].as_string::<i32>().value(0), "AMZN");
        assert_eq!(cols[2].as_primitive::<Float64Type>().value(0), 12.5);
        assert_eq!(cols[0].len(), 1);
    }

    #[test]
    fn lenient_numbers_and_strings() {
        let mut d = JsonDecoder::new(
            &[
                field("i", "INT"),
                field("b", "BIGINT"),
                field("s", "STRING"),
                field("x", "BOOLEAN"),
            ],
            JsonOptions::default(),
        )
        .unwrap();
        d.decode(Some(br#"{"i": 4.7, "b": " 12 ", "s": 1.50, "x": "TRUE"}"#))
            .unwrap();
        d.decode(Some(
            br#"{"i": "-3", "b": 1e3, "s": {"a": [1, 1.50]}, "x": 1}"#,
        ))
        .unwrap();
        let c = d.finish();
        assert_eq!(
            c[0].as_primitive::<Int32Type>().values().to_vec(),
            vec![4, -3]
        );
        assert_eq!(
            c[1].as_primitive::<Int64Type>().values().to_vec(),
            vec![12, 1000]
        );
        assert_eq!(c[2].as_string::<i32>().value(0), "1.50");
        assert_eq!(c[2].as_string::<i32>().value(1), r#"{"a":[1,1.5]}"#);
        assert!(c[3].as_boolean().value(0));
        assert!(!c[3].as_boolean().value(1));
    }

    #[test]
    fn errors_fail_or_drop_per_options() {
        let fields = [field("a", "INT")];
        let mut strict = JsonDecoder::new(&fields, JsonOptions::default()).unwrap();
        let e = strict.decode(Some(br#"{"a": "x"}"#)).unwrap_err();
        assert!(
            e.message.starts_with("Fail to deserialize at field: a."),
            "{e}"
        );
        let e = strict.decode(Some(b"not json")).unwrap_err();
        assert!(e.message.contains("Unrecognized token 'not'"), "{e}");
        assert_eq!(strict.finish()[0].len(), 0);
        let mut lenient = JsonDecoder::new(&fields, lenient()).unwrap();
        assert_eq!(lenient.decode(Some(br#"{"a": "x"}"#)), Ok(Decoded::Rows(1)));
        assert_eq!(lenient.decode(Some(b"{oops")), Ok(Decoded::Dropped));
        assert_eq!(lenient.decode(Some(br#"{"a": 1"#)), Ok(Decoded::Dropped));
        assert_eq!(lenient.decode(Some(br#"{"a": 1, }"#)), Ok(Decoded::Dropped));
        let c = lenient.finish();
        assert_eq!(c[0].len(), 1);
        assert!(c[0].is_null(0));
    }

    #[test]
    fn duplicate_keys_end_reading_like_flink() {
        let mut d = JsonDecoder::new(
            &[field("a", "INT"), field("b", "INT")],
            JsonOptions::default(),
        )
        .unwrap();
        d.decode(Some(br#"{"a":1,"a":2,"b":3}"#)).unwrap();
        d.decode(Some(br#"{"b":3,"a":1,"a":2}"#)).unwrap();
        let c = d.finish();
        assert_eq!(c[0].as_primitive::<Int32Type>().value(0), 2);
        assert!(c[1].is_null(0));
        assert_eq!(c[0].as_primitive::<Int32Type>().value(1), 1);
        assert_eq!(c[1].as_primitive::<Int32Type>().value(1), 3);
    }

    #[test]
    fn a_container_for_a_scalar_walks_into_it() {
        let mut d = JsonDecoder::new(
            &[field("id", "INT"), field("v", "INT"), field("w", "STRING")],
            lenient(),
        )
        .unwrap();
        d.decode(Some(br#"{"id": 1, "v": {"x": 1}, "w": "after"}"#))
            .unwrap();
        assert_eq!(
            d.decode(Some(br#"{"id": 2, "v": [1, 2], "w": "after"}"#)),
            Ok(Decoded::Dropped)
        );
        d.decode(Some(br#"{"id": 3, "v": {"w": "inner"}, "w": "after"}"#))
            .unwrap();
        let c = d.finish();
        assert!(c[2].is_null(0));
        assert_eq!(c[2].as_string::<i32>().value(1), "inner");
    }

    #[test]
    fn arrays_of_objects_are_rows() {
        let mut d = JsonDecoder::new(&[field("id", "INT")], lenient()).unwrap();
        assert_eq!(
            d.decode(Some(br#"[{"id": 4}, {"id": 5}]"#)),
            Ok(Decoded::Rows(2))
        );
        assert_eq!(d.decode(Some(b"5")), Ok(Decoded::Dropped));
        // Observed with Flink 2.3: the rows before a bad element or a syntax error stay.
        assert_eq!(
            d.decode(Some(br#"[{"id": 6}, 7, {"id": 8}]"#)),
            Ok(Decoded::Rows(1))
        );
        assert_eq!(
            d.decode(Some(br#"[{"id": 9}, {"id": 10}"#)),
            Ok(Decoded::Rows(2))
        );
        assert_eq!(d.finish()[0].len(), 5);
    }
}
