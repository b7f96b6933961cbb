//! Decoding JSON records into Arrow columns with the rules of Flink's default JSON decoder
//! (`JsonParserRowDataDeserializationSchema`): see `docs/flink-compat.md` §a.

use std::sync::Arc;

use base64::Engine as _;
use chrono::NaiveDateTime;
use sluice_sql::arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    Time32MillisecondBuilder, TimestampNanosecondBuilder,
};
use sluice_sql::{SqlType, SqlTypeKind};

use super::scan::{Scanner, Token};
use super::text::write_compact;
use super::{JsonOptions, time};

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
    /// A row was appended.
    Row,
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
    /// Whether the statement reads this column (others are only matched, as Flink counts them).
    pub wanted: bool,
}

enum Builder {
    Boolean(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Date(Date32Builder),
    Time(Time32MillisecondBuilder),
    Timestamp(TimestampNanosecondBuilder, bool),
}

/// A converted field value, held until the whole record converted (a record is all or nothing).
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    F32(f32),
    F64(f64),
    Decimal(i128),
    /// A string slice of the record.
    Span(usize, usize),
    Owned(String),
    Bytes(Vec<u8>),
    Int32(i32),
    Nanos(i64),
}

struct Slot {
    name: Vec<u8>,
    ty: SqlType,
    builder: Option<usize>,
}

/// Decodes records of one table into Arrow columns.
pub struct JsonDecoder {
    slots: Vec<Slot>,
    builders: Vec<Builder>,
    options: JsonOptions,
    /// Per slot: the value's first token and where it starts.
    tokens: Vec<Option<(Token, usize)>>,
    values: Vec<Value>,
}

impl JsonDecoder {
    /// A decoder for the physical (non-metadata) columns `fields`, in declaration order. Columns
    /// with `wanted` are decoded into the output, in order.
    pub fn new(fields: &[DecodeField], options: JsonOptions) -> Result<JsonDecoder, String> {
        let mut slots = Vec::new();
        let mut builders = Vec::new();
        for f in fields {
            let builder = if f.wanted {
                builders.push(builder_for(&f.ty).ok_or_else(|| {
                    format!(
                        "column {} has type {}, which the json format does not decode yet",
                        f.name, f.ty
                    )
                })?);
                Some(builders.len() - 1)
            } else {
                None
            };
            slots.push(Slot {
                name: f.name.as_bytes().to_vec(),
                ty: f.ty.clone(),
                builder,
            });
        }
        Ok(JsonDecoder {
            tokens: vec![None; slots.len()],
            values: Vec::with_capacity(slots.len()),
            slots,
            builders,
            options,
        })
    }

    /// Decodes one record, appending a row unless the record is empty or dropped. On an error
    /// nothing is appended.
    pub fn decode(&mut self, record: Option<&[u8]>) -> Result<Decoded, DecodeError> {
        let Some(bytes) = record.filter(|b| !b.is_empty()) else {
            return Ok(Decoded::Empty);
        };
        match self.decode_record(bytes) {
            Ok(()) => {
                self.append(bytes);
                Ok(Decoded::Row)
            }
            Err(_) if self.options.ignore_parse_errors => Ok(Decoded::Dropped),
            Err(message) => Err(DecodeError { message }),
        }
    }

    /// Appends a row of NULLs (used when the row's content comes from elsewhere).
    pub fn append_nulls(&mut self) {
        for b in &mut self.builders {
            append_null(b);
        }
    }

    /// The decoded columns (wanted fields, in order), resetting the builders.
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        self.builders.iter_mut().map(finish_builder).collect()
    }

    fn decode_record(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.tokens.iter_mut().for_each(|t| *t = None);
        let mut sc = Scanner::new(bytes);
        if sc.at_end() || !matches!(sc.next_token()?, Token::ObjectStart) {
            return Err("No content to map due to end-of-input".to_owned());
        }
        // Flink counts matched fields and stops reading once it has as many as the schema has
        // (a duplicate key counts twice): `{"a":1,"a":2,"b":3}` leaves b NULL for (a, b).
        // Anything after the object is ignored, as Flink reads only the first value.
        let mut matched = 0;
        if sc.peek_is(b'}') {
            sc.next_token()?;
        } else {
            loop {
                let key = sc.next_token()?;
                let Token::String {
                    start,
                    end,
                    escaped,
                } = key
                else {
                    return Err(
                        "Unexpected character: was expecting double-quote to start field name"
                            .to_owned(),
                    );
                };
                let index = if escaped {
                    let k = sc.string_value(key)?;
                    self.slots.iter().position(|s| s.name == k.as_bytes())
                } else {
                    let k = &bytes[start..end];
                    self.slots.iter().position(|s| s.name == k)
                };
                sc.expect_colon()?;
                let at = sc.position();
                let value = sc.next_token()?;
                if let Token::String { .. } = value {
                    // Strings are checked (escapes, UTF-8) even when unused, as Jackson does.
                    sc.string_value(value)?;
                }
                sc.skip_after(value)?;
                if let Some(i) = index {
                    self.tokens[i] = Some((value, at));
                    matched += 1;
                    if matched >= self.slots.len() {
                        break;
                    }
                }
                sc.after_member(b'}')?;
                if sc.peek_is(b'}') {
                    sc.next_token()?;
                    break;
                }
            }
        }
        if self.options.fail_on_missing_field && self.tokens.iter().any(Option::is_none) {
            return Err("Some field is missing in the JSON data.".to_owned());
        }
        self.values.clear();
        for (slot, token) in self.slots.iter().zip(&self.tokens) {
            if slot.builder.is_none() {
                continue;
            }
            let v = match token {
                None | Some((Token::Null, _)) => Value::Null,
                Some((t, at)) => match convert(bytes, *t, *at, &slot.ty, &self.options) {
                    Ok(v) => v,
                    Err(_) if self.options.ignore_parse_errors => Value::Null,
                    Err(cause) => {
                        let name = String::from_utf8_lossy(&slot.name);
                        return Err(format!("Fail to deserialize at field: {name}. ({cause})"));
                    }
                },
            };
            self.values.push(v);
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) {
        for (b, v) in self.builders.iter_mut().zip(self.values.drain(..)) {
            append_value(b, v, bytes);
        }
    }
}

fn builder_for(ty: &SqlType) -> Option<Builder> {
    Some(match &ty.kind {
        SqlTypeKind::Boolean => Builder::Boolean(BooleanBuilder::new()),
        SqlTypeKind::TinyInt => Builder::Int8(Int8Builder::new()),
        SqlTypeKind::SmallInt => Builder::Int16(Int16Builder::new()),
        SqlTypeKind::Int => Builder::Int32(Int32Builder::new()),
        SqlTypeKind::BigInt => Builder::Int64(Int64Builder::new()),
        SqlTypeKind::Float => Builder::Float32(Float32Builder::new()),
        SqlTypeKind::Double => Builder::Float64(Float64Builder::new()),
        SqlTypeKind::Decimal(p, s) => Builder::Decimal(Decimal128Builder::new(), *p, *s),
        SqlTypeKind::Char(_) | SqlTypeKind::Varchar(_) => Builder::Utf8(StringBuilder::new()),
        SqlTypeKind::Binary(_) | SqlTypeKind::Varbinary(_) => Builder::Binary(BinaryBuilder::new()),
        SqlTypeKind::Date => Builder::Date(Date32Builder::new()),
        SqlTypeKind::Time(_) => Builder::Time(Time32MillisecondBuilder::new()),
        SqlTypeKind::Timestamp(_) => Builder::Timestamp(TimestampNanosecondBuilder::new(), false),
        SqlTypeKind::TimestampLtz(_) => Builder::Timestamp(TimestampNanosecondBuilder::new(), true),
        SqlTypeKind::Array(_) | SqlTypeKind::Map(..) | SqlTypeKind::Row(_) => return None,
    })
}

fn finish_builder(b: &mut Builder) -> ArrayRef {
    match b {
        Builder::Boolean(b) => Arc::new(b.finish()),
        Builder::Int8(b) => Arc::new(b.finish()),
        Builder::Int16(b) => Arc::new(b.finish()),
        Builder::Int32(b) => Arc::new(b.finish()),
        Builder::Int64(b) => Arc::new(b.finish()),
        Builder::Float32(b) => Arc::new(b.finish()),
        Builder::Float64(b) => Arc::new(b.finish()),
        Builder::Decimal(b, p, s) => {
            let a = b.finish();
            Arc::new(
                a.with_precision_and_scale(*p, *s)
                    .unwrap_or_else(|_| Decimal128Builder::new().finish()),
            )
        }
        Builder::Utf8(b) => Arc::new(b.finish()),
        Builder::Binary(b) => Arc::new(b.finish()),
        Builder::Date(b) => Arc::new(b.finish()),
        Builder::Time(b) => Arc::new(b.finish()),
        Builder::Timestamp(b, ltz) => {
            let a = b.finish();
            if *ltz {
                Arc::new(a.with_timezone("UTC"))
            } else {
                Arc::new(a)
            }
        }
    }
}

fn append_null(b: &mut Builder) {
    match b {
        Builder::Boolean(b) => b.append_null(),
        Builder::Int8(b) => b.append_null(),
        Builder::Int16(b) => b.append_null(),
        Builder::Int32(b) => b.append_null(),
        Builder::Int64(b) => b.append_null(),
        Builder::Float32(b) => b.append_null(),
        Builder::Float64(b) => b.append_null(),
        Builder::Decimal(b, ..) => b.append_null(),
        Builder::Utf8(b) => b.append_null(),
        Builder::Binary(b) => b.append_null(),
        Builder::Date(b) => b.append_null(),
        Builder::Time(b) => b.append_null(),
        Builder::Timestamp(b, _) => b.append_null(),
    }
}

/// Appends a converted value; `convert` produced the variant that fits the builder.
fn append_value(b: &mut Builder, v: Value, bytes: &[u8]) {
    match (b, v) {
        (b, Value::Null) => append_null(b),
        (Builder::Boolean(b), Value::Bool(x)) => b.append_value(x),
        (Builder::Int8(b), Value::Int(x)) => b.append_value(x as i8),
        (Builder::Int16(b), Value::Int(x)) => b.append_value(x as i16),
        (Builder::Int32(b), Value::Int(x)) => b.append_value(x as i32),
        (Builder::Int64(b), Value::Int(x)) => b.append_value(x),
        (Builder::Float32(b), Value::F32(x)) => b.append_value(x),
        (Builder::Float64(b), Value::F64(x)) => b.append_value(x),
        (Builder::Decimal(b, ..), Value::Decimal(x)) => b.append_value(x),
        (Builder::Utf8(b), Value::Span(s, e)) => {
            b.append_value(std::str::from_utf8(&bytes[s..e]).unwrap_or(""))
        }
        (Builder::Utf8(b), Value::Owned(s)) => b.append_value(s),
        (Builder::Binary(b), Value::Bytes(x)) => b.append_value(x),
        (Builder::Date(b), Value::Int32(x)) => b.append_value(x),
        (Builder::Time(b), Value::Int32(x)) => b.append_value(x),
        (Builder::Timestamp(b, _), Value::Nanos(x)) => b.append_value(x),
        (b, _) => append_null(b),
    }
}

fn number_text(bytes: &[u8], start: usize, end: usize) -> &str {
    std::str::from_utf8(&bytes[start..end]).unwrap_or("")
}

/// Java's `String.trim()`: removes characters up to U+0020 at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// The text of a string token (unescaped).
fn string_text(bytes: &[u8], t: Token) -> Result<std::borrow::Cow<'_, str>, String> {
    Scanner::new(bytes).string_value(t)
}

fn convert(
    bytes: &[u8],
    t: Token,
    at: usize,
    ty: &SqlType,
    options: &JsonOptions,
) -> Result<Value, String> {
    match &ty.kind {
        SqlTypeKind::Boolean => Ok(Value::Bool(match t {
            Token::True => true,
            Token::String { .. } => java_trim(&string_text(bytes, t)?).eq_ignore_ascii_case("true"),
            _ => false,
        })),
        SqlTypeKind::TinyInt => integer(
            bytes,
            t,
            i64::from(i8::MIN),
            i64::from(i8::MAX),
            false,
            "byte",
        )
        .map(Value::Int),
        SqlTypeKind::SmallInt => integer(
            bytes,
            t,
            i64::from(i16::MIN),
            i64::from(i16::MAX),
            false,
            "short",
        )
        .map(Value::Int),
        SqlTypeKind::Int => integer(
            bytes,
            t,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            true,
            "int",
        )
        .map(Value::Int),
        SqlTypeKind::BigInt => integer(bytes, t, i64::MIN, i64::MAX, true, "long").map(Value::Int),
        SqlTypeKind::Float => match t {
            Token::Number { start, end, .. } => {
                java_parse_double(number_text(bytes, start, end)).map(|d| Value::F32(d as f32))
            }
            Token::String { .. } => {
                java_parse_double(java_trim(&string_text(bytes, t)?)).map(|d| Value::F32(d as f32))
            }
            _ => Err("expected a number".to_owned()),
        },
        SqlTypeKind::Double => match t {
            Token::Number { start, end, .. } => {
                java_parse_double(number_text(bytes, start, end)).map(Value::F64)
            }
            Token::String { .. } => {
                java_parse_double(java_trim(&string_text(bytes, t)?)).map(Value::F64)
            }
            _ => Err("expected a number".to_owned()),
        },
        SqlTypeKind::Decimal(p, s) => {
            let text = match t {
                Token::Number { start, end, .. } => number_text(bytes, start, end).to_owned(),
                Token::String { .. } => java_trim(&string_text(bytes, t)?).to_owned(),
                _ => return Err("expected a number".to_owned()),
            };
            // Precision overflow gives NULL without an error, as Flink's DecimalData.
            Ok(parse_decimal(&text, *p, *s)?.map_or(Value::Null, Value::Decimal))
        }
        SqlTypeKind::Char(_) | SqlTypeKind::Varchar(_) => match t {
            Token::String {
                start,
                end,
                escaped: false,
            } => {
                std::str::from_utf8(&bytes[start..end]).map_err(|_| "Invalid UTF-8".to_owned())?;
                Ok(Value::Span(start, end))
            }
            Token::String { .. } => Ok(Value::Owned(string_text(bytes, t)?.into_owned())),
            Token::Number { start, end, .. } => Ok(Value::Span(start, end)),
            Token::True => Ok(Value::Owned("true".to_owned())),
            Token::False => Ok(Value::Owned("false".to_owned())),
            Token::ObjectStart | Token::ArrayStart => {
                let mut sc = Scanner::new(&bytes[at..]);
                let mut out = Vec::new();
                write_compact(&mut sc, &mut out)?;
                Ok(Value::Owned(
                    String::from_utf8(out).map_err(|_| "Invalid UTF-8".to_owned())?,
                ))
            }
            _ => Err("unexpected token".to_owned()),
        },
        SqlTypeKind::Binary(_) | SqlTypeKind::Varbinary(_) => match t {
            Token::String { .. } => base64::engine::general_purpose::STANDARD
                .decode(string_text(bytes, t)?.as_bytes())
                .map(Value::Bytes)
                .map_err(|e| format!("invalid Base64: {e}")),
            _ => Err("expected a Base64 string".to_owned()),
        },
        SqlTypeKind::Date => match t {
            Token::String { .. } => time::parse_date(&string_text(bytes, t)?)
                .map(|d| Value::Int32(sluice_sql::functions::epoch_days(d)))
                .ok_or_else(|| "expected a date yyyy-MM-dd".to_owned()),
            _ => Err("expected a date string".to_owned()),
        },
        SqlTypeKind::Time(_) => match t {
            Token::String { .. } => time::parse_time_millis(&string_text(bytes, t)?)
                .map(Value::Int32)
                .ok_or_else(|| "expected a time HH:mm:ss".to_owned()),
            _ => Err("expected a time string".to_owned()),
        },
        SqlTypeKind::Timestamp(_) | SqlTypeKind::TimestampLtz(_) => {
            let ltz = matches!(ty.kind, SqlTypeKind::TimestampLtz(_));
            match t {
                Token::String { .. } => {
                    let s = string_text(bytes, t)?;
                    time::parse_timestamp(&s, options.timestamp_standard, ltz)
                        .and_then(nanos)
                        .map(Value::Nanos)
                        .ok_or_else(|| {
                            format!(
                                "text '{s}' is not a timestamp in the {:?} format",
                                options.timestamp_standard
                            )
                        })
                }
                _ => Err("expected a timestamp string".to_owned()),
            }
        }
        SqlTypeKind::Array(_) | SqlTypeKind::Map(..) | SqlTypeKind::Row(_) => {
            Err("nested types are not supported".to_owned())
        }
    }
}

fn nanos(dt: NaiveDateTime) -> Option<i64> {
    dt.and_utc().timestamp_nanos_opt()
}

/// Jackson's `getIntValue`/`getLongValue` for number tokens (floats truncate toward zero when
/// `floats` is allowed), Java's `parseInt`/`parseLong` for strings.
fn integer(
    bytes: &[u8],
    t: Token,
    min: i64,
    max: i64,
    floats: bool,
    java: &str,
) -> Result<i64, String> {
    let out_of_range = |text: &str| format!("Numeric value ({text}) out of range of Java {java}");
    match t {
        Token::Number {
            start,
            end,
            float: false,
        } => {
            let text = number_text(bytes, start, end);
            let v: i128 = text.parse().map_err(|_| out_of_range(text))?;
            if v < i128::from(min) || v > i128::from(max) {
                return Err(out_of_range(text));
            }
            Ok(v as i64)
        }
        Token::Number {
            start,
            end,
            float: true,
        } => {
            let text = number_text(bytes, start, end);
            if !floats {
                return Err(format!("For input string: \"{text}\""));
            }
            let d: f64 = text.parse().map_err(|_| out_of_range(text))?;
            if d < min as f64 || d > max as f64 {
                return Err(out_of_range(text));
            }
            Ok(d.trunc() as i64)
        }
        Token::String { .. } => {
            let s = string_text(bytes, t)?;
            let text = java_trim(&s);
            let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("For input string: \"{text}\""));
            }
            let v: i128 = text
                .trim_start_matches('+')
                .parse()
                .map_err(|_| format!("For input string: \"{text}\""))?;
            if v < i128::from(min) || v > i128::from(max) {
                return Err(format!("Value out of range. Value:\"{text}\""));
            }
            Ok(v as i64)
        }
        _ => Err("expected a number".to_owned()),
    }
}

/// Java's `Double.parseDouble` (already trimmed): `NaN`, `Infinity`, decimal and exponent
/// forms, an optional `f`/`d` suffix.
pub fn java_parse_double(s: &str) -> Result<f64, String> {
    let bad = || format!("For input string: \"{s}\"");
    let body = s.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(s);
    let (neg, unsigned) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let v = match unsigned {
        "NaN" if body.len() == s.len() => f64::NAN,
        "Infinity" if body.len() == s.len() => f64::INFINITY,
        u if !u.is_empty()
            && u.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) =>
        {
            u.parse::<f64>().map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    Ok(if neg { -v } else { v })
}

/// `new BigDecimal(text)` rounded HALF_UP to `scale`; `None` when it needs more than
/// `precision` digits.
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<Option<i128>, String> {
    let bad = || format!("Character array is not a valid decimal number: {text}");
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exp) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // value = digits × 10^(exp - frac_len); want unscaled at `scale`.
    let digits: String = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let shift = exp - frac_part.len() as i32 + i32::from(scale);
    let mut unscaled: i128 = 0;
    let keep = if shift >= 0 {
        digits.len()
    } else {
        digits.len().saturating_sub((-shift) as usize)
    };
    for b in digits[..keep].bytes() {
        unscaled = match unscaled
            .checked_mul(10)
            .and_then(|u| u.checked_add(i128::from(b - b'0')))
        {
            Some(u) => u,
            None => return Ok(None),
        };
    }
    if shift > 0 {
        for _ in 0..shift {
            unscaled = match unscaled.checked_mul(10) {
                Some(u) => u,
                None => return Ok(None),
            };
        }
    } else if shift < 0 {
        // HALF_UP on the first dropped digit.
        let dropped = &digits[keep..];
        let first_dropped = if (-shift) as usize > digits.len() {
            0
        } else {
            dropped.bytes().next().map_or(0, |b| b - b'0')
        };
        if first_dropped >= 5 {
            unscaled += 1;
        }
    }
    if unscaled >= 10i128.pow(u32::from(precision)) {
        return Ok(None);
    }
    Ok(Some(if neg { -unscaled } else { unscaled }))
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
        assert_eq!(d.decode(Some(r)), Ok(Decoded::Row));
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
        let mut lenient = JsonDecoder::new(
            &fields,
            JsonOptions {
                ignore_parse_errors: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(lenient.decode(Some(br#"{"a": "x"}"#)), Ok(Decoded::Row));
        assert_eq!(lenient.decode(Some(b"{oops")), Ok(Decoded::Dropped));
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
    fn decimals_round_half_up_and_overflow_to_null() {
        assert_eq!(parse_decimal("1.005", 10, 2), Ok(Some(101)));
        assert_eq!(parse_decimal("-1.005", 10, 2), Ok(Some(-101)));
        assert_eq!(parse_decimal("1e2", 10, 2), Ok(Some(10000)));
        assert_eq!(parse_decimal("123456789.12", 10, 2), Ok(None));
        assert_eq!(parse_decimal("0.004", 10, 2), Ok(Some(0)));
        assert!(parse_decimal("abc", 10, 2).is_err());
    }
}
