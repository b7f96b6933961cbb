//! The tree decoder, selected by `json.decode.json-parser.enabled=false`: Flink's
//! `JsonRowDataDeserializationSchema` with `JsonToRowDataConverters`. The message is read into
//! a Jackson tree first, so duplicate keys keep the last value, a container given for a scalar
//! is just a bad value, and numbers are the tree's: `1.50` into a STRING is `"1.5"` (a
//! `DoubleNode`) — or `"1.50"` when the row has a DECIMAL column, for which Flink makes Jackson
//! read floating-point numbers as `BigDecimal`.

use std::borrow::Cow;

use base64::Engine as _;
use sluice_sql::java::parse::{decimal_parts, java_parse_double, java_parse_float, java_trim};
use sluice_sql::java::text::write_decimal;

use super::column::{Column, Kind, hash_map_order, key_bytes};
use super::numbers::{jackson_integer, java_parse_integer, push_decimal_text};
use super::parser::{JsonParser, Tok};
use super::rules::Rules;
use super::scan::Token;
use super::text::{write_compact_number, write_json_string};
use super::time;

/// Jackson's default maximum nesting depth.
const MAX_DEPTH: usize = 1000;

/// A node of the tree.
enum Node<'a> {
    Null,
    Bool(bool),
    Number {
        text: &'a str,
        float: bool,
    },
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    /// Members in first-seen order; a duplicate key replaced the value (`ObjectNode.set`).
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

/// Decodes one message into rows of `columns` (at `start` rows): an object is a row, an array
/// of objects one row per element.
pub(super) fn decode(
    bytes: &[u8],
    names: &[String],
    columns: &mut [Column],
    start: usize,
    rules: &Rules,
) -> Result<usize, String> {
    let mut p = JsonParser::new(bytes, Vec::new());
    if p.next_token()?.is_none() {
        return Err("No content to map due to end-of-input".to_owned());
    }
    let decimal_floats = columns.iter().any(has_decimal);
    let conv = Converter {
        rules,
        decimal_floats,
    };
    match tree(&mut p, 0)? {
        Node::Object(members) => {
            conv.row(&members, names, columns, start)?;
            Ok(1)
        }
        Node::Array(items) => {
            // With `ignore-parse-errors`, elements that are not objects give no row (observed
            // with Flink 2.3).
            let mut rows = 0;
            for item in &items {
                match item {
                    Node::Object(members) => {
                        conv.row(members, names, columns, start + rows)?;
                        rows += 1;
                    }
                    _ if rules.ignore_parse_errors => {}
                    _ => return Err("class cannot be cast to class ObjectNode".to_owned()),
                }
            }
            Ok(rows)
        }
        _ => Err("No content to map due to end-of-input".to_owned()),
    }
}

fn has_decimal(c: &Column) -> bool {
    match &c.kind {
        Kind::Decimal(..) => true,
        Kind::List { item, .. } => has_decimal(item),
        Kind::Map { keys, values, .. } => has_decimal(keys) || has_decimal(values),
        Kind::Struct { children, .. } => children.iter().any(has_decimal),
        _ => false,
    }
}

/// Reads the value at the parser's current token into a tree.
fn tree<'a>(p: &mut JsonParser<'a>, depth: usize) -> Result<Node<'a>, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "Document nesting depth exceeds the maximum allowed ({MAX_DEPTH})"
        ));
    }
    Ok(match p.current() {
        Some(Tok::Null) => Node::Null,
        Some(Tok::True) => Node::Bool(true),
        Some(Tok::False) => Node::Bool(false),
        Some(Tok::Number(Token::Number { start, end, float })) => Node::Number {
            text: p.scanner().text(start, end),
            float,
        },
        Some(Tok::String(_)) => Node::Str(p.text().unwrap_or_default()),
        Some(Tok::StartArray) => {
            let mut items = Vec::new();
            while p.next_token()? != Some(Tok::EndArray) {
                items.push(tree(p, depth + 1)?);
            }
            Node::Array(items)
        }
        Some(Tok::StartObject) => {
            let mut members: Vec<(Cow<'a, str>, Node<'a>)> = Vec::new();
            while p.next_token()? != Some(Tok::EndObject) {
                let key = p.text().unwrap_or_default();
                p.next_token()?;
                let value = tree(p, depth + 1)?;
                match members.iter_mut().find(|(k, _)| *k == key) {
                    Some(m) => m.1 = value,
                    None => members.push((key, value)),
                }
            }
            Node::Object(members)
        }
        _ => return Err("Unexpected token".to_owned()),
    })
}

struct Converter<'r> {
    rules: &'r Rules,
    decimal_floats: bool,
}

impl Converter<'_> {
    /// `createRowConverter`: each field by name (the last duplicate), missing ones NULL.
    fn row(
        &self,
        members: &[(Cow<'_, str>, Node<'_>)],
        names: &[String],
        columns: &mut [Column],
        start: usize,
    ) -> Result<(), String> {
        for (name, column) in names.iter().zip(columns.iter_mut()) {
            column.truncate(start);
            match members.iter().find(|(k, _)| k == name) {
                Some((_, node)) => self.nullable(node, column)?,
                None if self.rules.fail_on_missing_field => {
                    return Err(format!("Could not find field with name '{name}'."));
                }
                None => column.push_null(),
            }
        }
        Ok(())
    }

    /// `wrapIntoNullableConverter`.
    fn nullable(&self, node: &Node<'_>, column: &mut Column) -> Result<(), String> {
        if matches!(node, Node::Null) {
            column.push_null();
            return Ok(());
        }
        let start = column.len();
        match self.convert(node, column) {
            Ok(()) => Ok(()),
            Err(_) if self.rules.ignore_parse_errors => {
                column.truncate(start);
                column.push_null();
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// `JsonNode.asText()`.
    fn text<'n>(&self, node: &'n Node<'_>) -> Cow<'n, str> {
        match node {
            Node::Str(s) => Cow::Borrowed(s.as_ref()),
            Node::Number { text, float } => {
                let mut out = Vec::new();
                if *float && self.decimal_floats {
                    return Cow::Owned(big_decimal_text(text));
                }
                let _ = write_compact_number(text, *float, &mut out);
                Cow::Owned(String::from_utf8(out).unwrap_or_default())
            }
            Node::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Node::Null => Cow::Borrowed("null"),
            Node::Array(_) | Node::Object(_) => Cow::Borrowed(""),
        }
    }

    fn convert(&self, node: &Node<'_>, column: &mut Column) -> Result<(), String> {
        let start = column.len();
        let mut kept = Vec::new();
        match &mut column.kind {
            Kind::List { item, .. } => {
                let Node::Array(items) = node else {
                    return Err("class cannot be cast to class ArrayNode".to_owned());
                };
                for i in items {
                    self.nullable(i, item)?;
                }
            }
            Kind::Map { keys, values, .. } => {
                // `fields()` of anything but an object is empty.
                let first = keys.len();
                if let Node::Object(members) = node {
                    for (k, v) in members {
                        keys.push_bytes(k.as_bytes());
                        self.nullable(v, values)?;
                    }
                }
                let read: Vec<&[u8]> = (first..keys.len()).map(|i| key_bytes(keys, i)).collect();
                hash_map_order(&read, &mut kept);
                kept.iter_mut().for_each(|k| *k += first as u32);
            }
            Kind::Struct { names, children } => {
                let Node::Object(members) = node else {
                    return Err("class cannot be cast to class ObjectNode".to_owned());
                };
                self.row(members, names, children, start)?;
            }
            _ => return self.scalar(node, column),
        }
        column.end_nested_row(&kept);
        Ok(())
    }

    fn scalar(&self, node: &Node<'_>, column: &mut Column) -> Result<(), String> {
        let double_node = matches!(node, Node::Number { float: true, .. }) && !self.decimal_floats;
        match &column.kind {
            Kind::Bool(_) => {
                let v = match node {
                    Node::Bool(b) => *b,
                    _ => java_trim(&self.text(node)).eq_ignore_ascii_case("true"),
                };
                column.push_bool(v);
            }
            Kind::I8(_) | Kind::I16(_) => {
                let (min, max) = match column.kind {
                    Kind::I8(_) => (i64::from(i8::MIN), i64::from(i8::MAX)),
                    _ => (i64::from(i16::MIN), i64::from(i16::MAX)),
                };
                let v = java_parse_integer(java_trim(&self.text(node)), min, max)?;
                column.push_int(v);
            }
            Kind::I32(_) | Kind::I64(_) => {
                let long = matches!(column.kind, Kind::I64(_));
                // canConvertToInt/Long: numbers in range (floats truncated), else parse text.
                let v = match node {
                    Node::Number { text, float } => {
                        jackson_integer(text, *float, long).or_else(|_| {
                            let (min, max) = int_range(long);
                            java_parse_integer(java_trim(&self.text(node)), min, max)
                        })?
                    }
                    _ => {
                        let (min, max) = int_range(long);
                        java_parse_integer(java_trim(&self.text(node)), min, max)?
                    }
                };
                column.push_int(v);
            }
            Kind::F64(_) => {
                let v = match node {
                    Node::Number { text, .. } if double_node => {
                        text.parse().map_err(|_| format!("invalid number {text}"))?
                    }
                    _ => java_parse_double(java_trim(&self.text(node)))?,
                };
                column.push_f64(v);
            }
            Kind::F32(_) => {
                let v = match node {
                    Node::Number { text, .. } if double_node => text
                        .parse::<f64>()
                        .map_err(|_| format!("invalid number {text}"))?
                        as f32,
                    _ => java_parse_float(java_trim(&self.text(node)))?,
                };
                column.push_f32(v);
            }
            Kind::Decimal(..) => {
                let text = match node {
                    Node::Number { text, float: true } => Cow::Borrowed(*text),
                    _ => self.text(node),
                };
                push_decimal_text(&text, column)?;
            }
            Kind::Utf8(_) => match node {
                Node::Array(_) | Node::Object(_) => {
                    let mut out = Vec::new();
                    self.write(node, &mut out);
                    column.push_bytes(&out);
                }
                _ => column.push_bytes(self.text(node).as_bytes()),
            },
            Kind::Binary(_) => match node {
                Node::Str(s) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(s.as_bytes())
                        .map_err(|e| format!("Unable to deserialize byte array. ({e})"))?;
                    column.push_bytes(&bytes);
                }
                _ => column.push_null(),
            },
            Kind::Date(_) => {
                let t = self.text(node);
                let d = time::parse_epoch_day(&t)
                    .ok_or_else(|| format!("Text '{t}' could not be parsed as a date"))?;
                column.push_i32(d);
            }
            Kind::Time(_) => {
                let t = self.text(node);
                let ms = time::parse_time_millis(&t)
                    .ok_or_else(|| format!("Text '{t}' could not be parsed as a time"))?;
                column.push_i32(ms);
            }
            Kind::Timestamp(_, ltz) => {
                let t = self.text(node);
                let nanos = time::parse_timestamp(&t, self.rules.standard, *ltz)
                    .and_then(|dt| dt.and_utc().timestamp_nanos_opt())
                    .ok_or_else(|| format!("Text '{t}' could not be parsed as a timestamp"))?;
                column.push_timestamp(nanos);
            }
            Kind::List { .. } | Kind::Map { .. } | Kind::Struct { .. } => {
                return Err("nested value where a scalar was expected".to_owned());
            }
        }
        Ok(())
    }

    /// `JsonNode.toString()` of a container.
    fn write(&self, node: &Node<'_>, out: &mut Vec<u8>) {
        match node {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Node::Number { .. } => out.extend_from_slice(self.text(node).as_bytes()),
            Node::Str(s) => write_json_string(out, s),
            Node::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write(item, out);
                }
                out.push(b']');
            }
            Node::Object(members) => {
                out.push(b'{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_string(out, k);
                    out.push(b':');
                    self.write(v, out);
                }
                out.push(b'}');
            }
        }
    }
}

fn int_range(long: bool) -> (i64, i64) {
    if long {
        (i64::MIN, i64::MAX)
    } else {
        (i64::from(i32::MIN), i64::from(i32::MAX))
    }
}

/// `new BigDecimal(text).toString()`.
fn big_decimal_text(text: &str) -> String {
    let mut out = String::new();
    match decimal_parts(text) {
        Some((negative, digits, exponent)) => {
            match (digits.parse::<i128>(), i8::try_from(-exponent)) {
                (Ok(u), Ok(scale)) => {
                    write_decimal(&mut out, if negative { -u } else { u }, scale, false)
                }
                _ => out.push_str(text),
            }
        }
        None => out.push_str(text),
    }
    out
}

/// `Double.toString` of a number's text (for tests and messages).
#[cfg(test)]
fn double_text(text: &str) -> String {
    let mut s = String::new();
    sluice_sql::java::text::write_double(&mut s, text.parse().unwrap_or(f64::NAN));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_a_tree_holds_them() {
        assert_eq!(big_decimal_text("1.50"), "1.50");
        assert_eq!(big_decimal_text("1e3"), "1E+3");
        assert_eq!(double_text("1.50"), "1.5");
    }
}
