//! Flink's SQL/JSON query functions with their defaults (lax paths, `NULL ON EMPTY`,
//! `NULL ON ERROR`, `WITHOUT WRAPPER`, `RETURNING STRING`): `JSON_VALUE(json, path)` (a scalar
//! as text), `JSON_QUERY(json, path)` (an object or array as JSON text) and
//! `JSON_EXISTS(json, path)`. Text that is not JSON gives NULL (`JSON_EXISTS`: FALSE).
//!
//! Paths: `$`, `.name`, `."name"`, `['name']`, `[n]`, with an optional `lax` prefix.
//!
//! Also `JSON_QUOTE(s)` (a JSON string literal: `"` and `\` escaped, control characters as
//! `\t`-style or `\u00XX`, every non-ASCII UTF-16 unit as `\uXXXX` in lower case) and
//! `JSON_UNQUOTE(s)` (the value of a JSON string literal; other text as it is).
//!
//! Also `JSON_QUOTE(s)` (a JSON string literal: `"` and `\` escaped, control characters as
//! `\t`-style or `\u00XX`, every non-ASCII UTF-16 unit as `\uXXXX` in lower case) and
//! `JSON_UNQUOTE(s)` (the value of a JSON string literal; other text as it is).

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;
use serde_json::Value;

use super::rowwise::{Arg, Kind, Out, Returns, RowWise};
use crate::java::text::write_decimal;

const TWO: &[&[Kind]] = &[&[Kind::Str, Kind::Str]];

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        RowWise::new("json_value", TWO, Returns::Fixed(DataType::Utf8), |a| {
            Ok(match find(a) {
                Found::Value(Value::String(s)) => Out::Str(s),
                Found::Value(Value::Bool(b)) => Out::Str(b.to_string()),
                Found::Value(Value::Number(n)) => Out::Str(number_text(&n)),
                _ => Out::Null,
            })
        })
        .udf(),
        RowWise::new("json_query", TWO, Returns::Fixed(DataType::Utf8), |a| {
            Ok(match find(a) {
                Found::Value(v @ (Value::Object(_) | Value::Array(_))) => {
                    serde_json::to_string(&v).map_or(Out::Null, Out::Str)
                }
                _ => Out::Null,
            })
        })
        .udf(),
        RowWise::new(
            "json_quote",
            &[&[Kind::Str]],
            Returns::Fixed(DataType::Utf8),
            |a| Ok(Out::Str(json_quote(a[0].str().unwrap_or_default()))),
        )
        .udf(),
        RowWise::new(
            "json_unquote",
            &[&[Kind::Str]],
            Returns::Fixed(DataType::Utf8),
            |a| {
                let s = a[0].str().unwrap_or_default();
                Ok(Out::Str(match serde_json::from_str::<Value>(s) {
                    Ok(Value::String(v)) if s.starts_with('"') => v,
                    _ => s.to_owned(),
                }))
            },
        )
        .udf(),
        RowWise::new("json_exists", TWO, Returns::Fixed(DataType::Boolean), |a| {
            Ok(Out::Bool(matches!(find(a), Found::Value(_))))
        })
        .udf(),
    ]
}

/// A JSON number as Flink gives it back: integers as they are, others as the
/// `BigDecimal.toString()` of their text (`2.5`, `1e3` → `1E+3`). The text is rebuilt from the
/// DOUBLE's shortest digits, so trailing zeros written in the document (`2.50`) are lost.
fn number_text(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let scale = digits.len() as i64 - 1 - exp;
    match (digits.parse::<i128>(), i8::try_from(scale)) {
        (Ok(u), Ok(scale)) => {
            let mut s = String::new();
            write_decimal(&mut s, if negative { -u } else { u }, scale, false);
            s
        }
        _ => sci,
    }
}

/// As Flink writes it (observed): `"`, `\`, `/` and `\b \f \n \r \t` escaped, other control
/// characters and DEL raw, and each non-ASCII UTF-16 unit as `\u` + the hex of Java's
/// `codePointAt` there (so an emoji is `\u1f600\ude00`).
fn json_quote(s: &str) -> String {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for (i, &u) in units.iter().enumerate() {
        match u {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x2F => out.push_str("\\/"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x00..=0x7F => out.push(char::from(u as u8)),
            _ => {
                let low = units
                    .get(i + 1)
                    .copied()
                    .filter(|l| (0xDC00..0xE000).contains(l));
                let cp = match low {
                    Some(l) if (0xD800..0xDC00).contains(&u) => {
                        0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(l) - 0xDC00)
                    }
                    _ => u32::from(u),
                };
                out.push_str(&format!("\\u{cp:04x}"));
            }
        }
    }
    out.push('"');
    out
}

enum Found {
    Value(Value),
    Missing,
}

enum Step {
    Key(String),
    Index(usize),
}

fn find(a: &[Arg<'_>]) -> Found {
    let (Some(json), Some(path)) = (a[0].str(), a[1].str()) else {
        return Found::Missing;
    };
    let (Ok(doc), Some(steps)) = (serde_json::from_str::<Value>(json), parse_path(path)) else {
        return Found::Missing;
    };
    let mut cur = &doc;
    for s in &steps {
        let next = match (s, cur) {
            (Step::Key(k), Value::Object(m)) => m.get(k),
            (Step::Index(i), Value::Array(v)) => v.get(*i),
            _ => None,
        };
        match next {
            Some(v) => cur = v,
            None => return Found::Missing,
        }
    }
    if cur.is_null() {
        return Found::Missing;
    }
    Found::Value(cur.clone())
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let p = path.trim();
    let p = p.strip_prefix("lax").map_or(p, str::trim_start);
    let mut rest = p.strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            if let Some(r) = r.strip_prefix('"') {
                let end = r.find('"')?;
                steps.push(Step::Key(r[..end].to_owned()));
                rest = &r[end + 1..];
            } else {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                if end == 0 {
                    return None;
                }
                steps.push(Step::Key(r[..end].to_owned()));
                rest = &r[end..];
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            if let Some(q) = inner.strip_prefix('\'').and_then(|q| q.strip_suffix('\'')) {
                steps.push(Step::Key(q.to_owned()));
            } else {
                steps.push(Step::Index(inner.parse().ok()?));
            }
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(json: &str, path: &str) -> Option<String> {
        match find(&[Arg::Str(json), Arg::Str(path)]) {
            Found::Value(v) => Some(v.to_string()),
            Found::Missing => None,
        }
    }

    #[test]
    fn quote() {
        assert_eq!(json_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_quote("é\t"), r#""\u00e9\t""#);
        assert_eq!(json_quote("😀/"), r#""\u1f600\ude00\/""#);
    }

    #[test]
    fn paths() {
        let j = r#"{"a": 1, "b": [1, "x"], "c": {"d": true}}"#;
        assert_eq!(value(j, "$.a").as_deref(), Some("1"));
        assert_eq!(value(j, "$.b[1]").as_deref(), Some("\"x\""));
        assert_eq!(value(j, "lax $.c.d").as_deref(), Some("true"));
        assert_eq!(value(j, "$['c']").as_deref(), Some("{\"d\":true}"));
        assert_eq!(value(j, "$.z"), None);
        assert_eq!(value("not json", "$"), None);
    }
}
