//! Flink's SQL/JSON constructors and predicate: `JSON_STRING(value)`, `JSON_OBJECT(...)`,
//! `JSON_ARRAY(...)` (with `JSON(text)` values) and `x IS [NOT] JSON [kind]`, read by
//! [`crate::dialect`] into calls of `json_object(flags, k, v, ...)`, `json_array(flags, v, ...)`
//! and `is_json(x, kind)`.
//!
//! A SQL value becomes JSON as Flink's `JsonGenerateUtils` makes it: text a string, numbers as
//! Jackson writes Java's `Integer`/`Long`/`BigDecimal` (a DOUBLE or FLOAT through
//! `BigDecimal.valueOf`: `1.0E+20`, `0.0` for `-0.0`; a DECIMAL with its scale: `2.50`),
//! BYTES base64, TIMESTAMP ISO-8601 local (`2024-01-02T10:11:12.1`), TIMESTAMP_LTZ an ISO
//! instant (`...12.1Z`), ARRAY an array, MAP and ROW objects. Objects come out with their keys
//! sorted. DATE and TIME are refused at planning, as Flink does. `JSON(text)` inserts the JSON
//! that `text` holds (blank text is NULL, text that is not JSON fails the job); a nested
//! `JSON_OBJECT`/`JSON_ARRAY` is inserted as JSON, not as a string.
//!
//! `IS JSON` is FALSE for NULL, and TRUE for what Jackson reads: `VALUE` anything, `SCALAR` not an
//! object or array, `ARRAY`, `OBJECT`.

use std::sync::Arc;

use base64::Engine as _;
use datafusion_common::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder};
use datafusion_common::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampNanosecondType,
};
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::cast::write_flink_date;
use super::json_build::{Node, big_decimal_text, parse};
use super::temporal::function_error;
use crate::java::text::{write_decimal, write_double};
use crate::types::MAP_ENTRIES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    String,
    Object,
    Array,
    IsJson,
}

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [
        ("json_string", Op::String),
        ("json_object", Op::Object),
        ("json_array", Op::Array),
        ("is_json", Op::IsJson),
    ]
    .into_iter()
    .map(|(name, op)| {
        Arc::new(ScalarUDF::from(JsonConstruct {
            name,
            op,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonConstruct {
    name: &'static str,
    op: Op,
    signature: Signature,
}

/// Flink's refusal of a type it cannot turn into JSON.
fn check_type(t: &DataType) -> Result<()> {
    match t {
        DataType::Date32 | DataType::Date64 => {
            plan_err!("Type 'DATE' is not scalar or cannot be converted into JSON.")
        }
        DataType::Time32(_) | DataType::Time64(_) => {
            plan_err!("Type 'TIME' is not scalar or cannot be converted into JSON.")
        }
        DataType::List(f) | DataType::LargeList(f) => check_type(f.data_type()),
        DataType::Struct(fields) => fields.iter().try_for_each(|f| check_type(f.data_type())),
        _ => Ok(()),
    }
}

fn text_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
    )
}

impl ScalarUDFImpl for JsonConstruct {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let upper = self.name.to_uppercase();
        match self.op {
            Op::String if args.len() != 1 => return plan_err!("{upper}(value) takes one argument"),
            Op::IsJson if args.len() != 2 || !text_type(&args[0]) => {
                return plan_err!("IS JSON needs a STRING operand, got {:?}", args.first());
            }
            Op::Object | Op::Array if args.is_empty() || !text_type(&args[0]) => {
                return plan_err!("{upper} was not read from SQL/JSON syntax");
            }
            _ => {}
        }
        args.iter()
            .map(|t| {
                check_type(t)?;
                Ok(match t {
                    DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                    other => other.clone(),
                })
            })
            .collect()
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(match self.op {
            Op::IsJson => DataType::Boolean,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let upper = self.name.to_uppercase();
        let flags = match (self.op, args.args.first()) {
            (Op::Object | Op::Array, Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(f))))) => {
                f.clone()
            }
            (Op::Object | Op::Array, _) => return exec_err!("{upper}: no flags"),
            _ => String::new(),
        };
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<ArrayRef>>>()?;
        if self.op == Op::IsJson {
            let kind = match &args.args[1] {
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(k))) => k.clone(),
                _ => return exec_err!("IS JSON: no kind"),
            };
            let text = arrays[0].as_string::<i32>();
            let out: BooleanArray = (0..rows)
                .map(|i| {
                    Some(
                        text.is_valid(i) && {
                            match parse(text.value(i)) {
                                Ok(n) => match kind.as_str() {
                                    "SCALAR" => n.is_scalar(),
                                    "ARRAY" => matches!(n, Node::Array(_)),
                                    "OBJECT" => matches!(n, Node::Object(_)),
                                    _ => true,
                                },
                                Err(_) => false,
                            }
                        },
                    )
                })
                .collect();
            return Ok(ColumnarValue::Array(Arc::new(out)));
        }
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        for row in 0..rows {
            let node = match self.op {
                Op::String => {
                    if arrays[0].is_null(row) {
                        out.append_null();
                        continue;
                    }
                    node_at(arrays[0].as_ref(), row)?
                }
                Op::Array => {
                    let absent = flags.starts_with('A');
                    let mut items = Vec::new();
                    for (a, flag) in arrays[1..].iter().zip(flags.chars().skip(1)) {
                        match value_at(a.as_ref(), row, flag)
                            .map_err(|e| function_error(&upper, e))?
                        {
                            Node::Null if absent => {}
                            n => items.push(n),
                        }
                    }
                    Node::Array(items)
                }
                Op::Object => {
                    let absent = flags.starts_with('A');
                    let mut entries = Vec::new();
                    for (pair, flag) in arrays[1..].chunks(2).zip(flags.chars().skip(1)) {
                        let [k, v] = pair else {
                            return exec_err!("{upper}: a key without a value");
                        };
                        if k.is_null(row) {
                            return exec_err!("{upper}: a key is NULL");
                        }
                        let key = k.as_string::<i32>().value(row).to_owned();
                        match value_at(v.as_ref(), row, flag)
                            .map_err(|e| function_error(&upper, e))?
                        {
                            Node::Null if absent => {}
                            n => Node::set(&mut entries, key, n),
                        }
                    }
                    Node::Object(entries)
                }
                Op::IsJson => unreachable!("handled above"),
            };
            out.append_value(node.to_json());
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Text given to `JSON(...)` that is not JSON.
#[derive(Debug, thiserror::Error)]
#[error("Invalid JSON string in JSON(value) function: {text:?}: {source}")]
struct InvalidJson {
    text: String,
    #[source]
    source: super::json_build::JsonError,
}

/// A constructor's value: a SQL value (`v`), the text of `JSON(text)` (`j`) or a nested
/// constructor's JSON (`r`).
fn value_at(a: &dyn Array, row: usize, flag: char) -> Result<Node> {
    if a.is_null(row) {
        return Ok(Node::Null);
    }
    match flag {
        'j' | 'r' => {
            let text = a.as_string::<i32>().value(row);
            let trimmed = crate::java::parse::java_trim(text);
            if trimmed.is_empty() {
                return Ok(Node::Null);
            }
            parse(trimmed).map_err(|source| {
                datafusion_common::DataFusionError::External(Box::new(InvalidJson {
                    text: text.to_owned(),
                    source,
                }))
            })
        }
        _ => node_at(a, row),
    }
}

/// The JSON of a non-NULL SQL value (`JsonGenerateUtils.createNodeTerm`).
fn node_at(a: &dyn Array, row: usize) -> Result<Node> {
    if a.is_null(row) {
        return Ok(Node::Null);
    }
    let number = |s: String| Ok(Node::Number(s));
    match a.data_type() {
        DataType::Null => Ok(Node::Null),
        DataType::Utf8 => Ok(Node::Str(a.as_string::<i32>().value(row).to_owned())),
        DataType::LargeUtf8 => Ok(Node::Str(a.as_string::<i64>().value(row).to_owned())),
        DataType::Utf8View => Ok(Node::Str(a.as_string_view().value(row).to_owned())),
        DataType::Boolean => Ok(Node::Bool(a.as_boolean().value(row))),
        DataType::Int8 => number(a.as_primitive::<Int8Type>().value(row).to_string()),
        DataType::Int16 => number(a.as_primitive::<Int16Type>().value(row).to_string()),
        DataType::Int32 => number(a.as_primitive::<Int32Type>().value(row).to_string()),
        DataType::Int64 => number(a.as_primitive::<Int64Type>().value(row).to_string()),
        DataType::Float32 => double(f64::from(a.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => double(a.as_primitive::<Float64Type>().value(row)),
        DataType::Decimal128(_, scale) => {
            let v = a
                .as_primitive::<datafusion_common::arrow::datatypes::Decimal128Type>()
                .value(row);
            let mut s = String::new();
            write_decimal(&mut s, v, *scale, false);
            number(s)
        }
        DataType::Binary => Ok(Node::Str(
            base64::engine::general_purpose::STANDARD.encode(a.as_binary::<i32>().value(row)),
        )),
        DataType::Timestamp(_, zone) => {
            let nanos = a.as_primitive::<TimestampNanosecondType>().value(row);
            Ok(Node::Str(iso_timestamp(nanos, zone.is_some())))
        }
        DataType::List(f) if f.name() == MAP_ENTRIES => {
            let list = a.as_list::<i32>();
            let entries = list.value(row);
            let kv = entries.as_struct();
            let (keys, values) = (kv.column(0), kv.column(1));
            let mut out = Vec::new();
            for i in 0..kv.len() {
                let key = match node_at(keys.as_ref(), i)? {
                    Node::Str(s) => s,
                    Node::Null => "null".to_owned(),
                    other => other.to_json(),
                };
                Node::set(&mut out, key, node_at(values.as_ref(), i)?);
            }
            Ok(Node::Object(out))
        }
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(row);
            (0..items.len())
                .map(|i| node_at(items.as_ref(), i))
                .collect::<Result<_>>()
                .map(Node::Array)
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut out = Vec::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                Node::set(&mut out, f.name().clone(), node_at(c.as_ref(), row)?);
            }
            Ok(Node::Object(out))
        }
        other => exec_err!("JSON: values of type {other} cannot be converted into JSON"),
    }
}

/// A DOUBLE as Jackson writes `BigDecimal.valueOf(v)`.
fn double(v: f64) -> Result<Node> {
    let mut text = String::new();
    write_double(&mut text, v);
    Ok(match big_decimal_text(&text) {
        Some(n) => Node::Number(n),
        // NaN and the infinities have no BigDecimal; Jackson writes them as strings.
        None => Node::Str(text),
    })
}

/// `ISO_LOCAL_DATE_TIME` (fraction digits as needed) or, for an instant, the same in UTC with
/// `Z` (observed: `...12.1Z`, not `Instant.toString`'s `...12.100Z`).
fn iso_timestamp(nanos: i64, instant: bool) -> String {
    const DAY: i64 = 86_400_000_000_000;
    let (days, of_day) = (nanos.div_euclid(DAY), nanos.rem_euclid(DAY));
    let mut out = String::new();
    write_flink_date(&mut out, days);
    let secs = of_day / 1_000_000_000;
    let fraction = of_day % 1_000_000_000;
    out.push_str(&format!(
        "T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ));
    if fraction != 0 {
        let digits = format!("{fraction:09}");
        let keep = digits.trim_end_matches('0').len();
        out.push('.');
        out.push_str(&digits[..keep]);
    }
    if instant {
        out.push('Z');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_iso_forms() {
        let t = 1_704_190_272_100_000_000; // 2024-01-02 10:11:12.1
        assert_eq!(iso_timestamp(t, false), "2024-01-02T10:11:12.1");
        assert_eq!(iso_timestamp(t, true), "2024-01-02T10:11:12.1Z");
        assert_eq!(iso_timestamp(0, true), "1970-01-01T00:00:00Z");
        assert_eq!(iso_timestamp(-1_000_000, false), "1969-12-31T23:59:59.999");
    }

    #[test]
    fn doubles_through_big_decimal() {
        assert_eq!(double(1e20).unwrap(), Node::Number("1.0E+20".into()));
        assert_eq!(double(-0.0).unwrap(), Node::Number("0.0".into()));
        assert_eq!(
            double(f64::from(1.1f32)).unwrap(),
            Node::Number("1.100000023841858".into())
        );
    }
}
