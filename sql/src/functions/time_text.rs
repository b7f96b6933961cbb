//! Flink's functions between text and dates or times: `TO_TIMESTAMP`, `TO_DATE`,
//! `UNIX_TIMESTAMP` and `FROM_UNIXTIME` (`DateTimeUtils`), with their fallbacks and the values
//! they give for text that does not parse.

use std::sync::Arc;

use chrono::Utc;
use datafusion_common::arrow::array::{
    Array, AsArray, Date32Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion_common::arrow::datatypes::{DataType, Int64Type};
use datafusion_common::{Result, ScalarValue, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::args::{
    Cache, DEFAULT_FORMAT, for_each_text, format_at, is_string, java_pattern, scalar_string,
    simple_date_format, string_args, timestamp_ns, utf8_array,
};
use super::date_time_utils;
use super::temporal::function_error;
use crate::calendar::{MILLIS_PER_DAY, NANOS_PER_DAY, civil_from_days};
use crate::java::parse::{java_trim, sql_date_value_of, sql_timestamp_value_of};
use crate::java::sdf::SimpleDateFormat;
use crate::java::time::JavaPattern;

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(ToTimestamp::new())),
        Arc::new(ScalarUDF::from(ToDate::new())),
        Arc::new(ScalarUDF::from(FromUnixtime::new())),
        Arc::new(ScalarUDF::from(UnixTimestamp::new())),
    ]
}

/// `TO_TIMESTAMP(string)` (`DateTimeUtils.parseTimestampData`: the lenient default pattern,
/// TIMESTAMP(3)) and `TO_TIMESTAMP(string, format)` (`DateTimeFormatter`, falling back to
/// `java.sql.Timestamp.valueOf` / `java.sql.Date.valueOf`, which keep every fraction digit);
/// NULL when nothing parses.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ToTimestamp {
    name: &'static str,
    signature: Signature,
}

impl ToTimestamp {
    fn new() -> Self {
        ToTimestamp {
            name: "to_timestamp",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn with_format(pattern: &JavaPattern, s: &str) -> Option<i64> {
    if let Some(dt) = pattern.parse(s) {
        let millis = dt.and_utc().timestamp_millis();
        return millis.checked_mul(1_000_000);
    }
    let s = java_trim(s);
    if s.contains(' ') {
        sql_timestamp_value_of(s)
    } else {
        sql_date_value_of(s)?.checked_mul(NANOS_PER_DAY)
    }
}

impl ScalarUDFImpl for ToTimestamp {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        string_args(self.name, args, 1, 2)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(timestamp_ns(false))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut out = TimestampNanosecondBuilder::with_capacity(args.number_rows);
        let mut cache = Cache::new(java_pattern);
        for_each_text(&args, |row| {
            let v = match row {
                None => None,
                Some((s, None)) => date_time_utils::parse_timestamp(s, 3),
                Some((s, Some(fmt))) => with_format(cache.get("TO_TIMESTAMP", fmt)?, s),
            };
            out.append_option(v);
            Ok(())
        })?;
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `TO_DATE(string)` (`DateTimeUtils.parseDate`, NULL when invalid) and `TO_DATE(string,
/// format)` (lenient `SimpleDateFormat`; text that does not parse gives the date of
/// `Long.MIN_VALUE` milliseconds run through Flink's `int` date arithmetic, `+1705471-09-27`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ToDate {
    name: &'static str,
    signature: Signature,
}

impl ToDate {
    fn new() -> Self {
        ToDate {
            name: "to_date",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// `DateTimeUtils.parseDate(text, format)` after parsing to `millis`: the UTC date, through
/// `ymdToUnixDate`'s Java `int` arithmetic (which wraps for years far out of range).
fn java_unix_date(millis: i64) -> i32 {
    let (y, m, d) = civil_from_days(millis.div_euclid(MILLIS_PER_DAY));
    let (y, m, d) = (y as i32, m as i32, d as i32);
    let a = (14 - m) / 12;
    let yy = y.wrapping_add(4800).wrapping_sub(a);
    let mm = m + 12 * a - 3;
    let julian = d
        .wrapping_add((153 * mm + 2) / 5)
        .wrapping_add(yy.wrapping_mul(365))
        .wrapping_add(yy / 4)
        .wrapping_sub(yy / 100)
        .wrapping_add(yy / 400)
        .wrapping_sub(32045);
    julian.wrapping_sub(2_440_588)
}

impl ScalarUDFImpl for ToDate {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        string_args(self.name, args, 1, 2)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let mut out = Date32Builder::with_capacity(args.number_rows);
        let mut cache = Cache::new(simple_date_format);
        for_each_text(&args, |row| {
            let v = match row {
                None => None,
                Some((s, None)) => date_time_utils::parse_date(s),
                Some((s, Some(fmt))) => {
                    let millis = cache.get("TO_DATE", fmt)?.parse(s).unwrap_or(i64::MIN);
                    Some(java_unix_date(millis))
                }
            };
            out.append_option(v);
            Ok(())
        })?;
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `FROM_UNIXTIME(seconds[, format])` → STRING: `SimpleDateFormat` (default
/// `yyyy-MM-dd HH:mm:ss`) in the session time zone (UTC).
#[derive(Debug, PartialEq, Eq, Hash)]
struct FromUnixtime {
    name: &'static str,
    signature: Signature,
}

impl FromUnixtime {
    fn new() -> Self {
        FromUnixtime {
            name: "from_unixtime",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FromUnixtime {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [n] if n.is_integer() || n == &DataType::Null => Ok(vec![DataType::Int64]),
            [n, f]
                if (n.is_integer() || n == &DataType::Null)
                    && (is_string(f) || f == &DataType::Null) =>
            {
                Ok(vec![DataType::Int64, DataType::Utf8])
            }
            _ => plan_err!("FROM_UNIXTIME(BIGINT seconds[, STRING format]) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let secs = args.args[0].to_array(rows)?;
        let secs = secs.as_primitive::<Int64Type>();
        let literal = match args.args.get(1) {
            None => Some(Some(DEFAULT_FORMAT.to_owned())),
            Some(a) => scalar_string(a),
        };
        let formats = match (&literal, args.args.get(1)) {
            (None, Some(a)) => Some(utf8_array(a, rows)?),
            _ => None,
        };
        let mut cache = Cache::new(simple_date_format);
        let mut out = StringBuilder::with_capacity(rows, rows * 19);
        let mut buf = String::with_capacity(32);
        for i in 0..rows {
            match (secs.is_valid(i), format_at(&literal, formats.as_ref(), i)) {
                (true, Some(fmt)) => {
                    buf.clear();
                    cache
                        .get("FROM_UNIXTIME", fmt)?
                        .format_into(secs.value(i).wrapping_mul(1000), &mut buf);
                    out.append_value(&buf);
                }
                _ => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `UNIX_TIMESTAMP()` (now) or `UNIX_TIMESTAMP(string[, format])` → BIGINT seconds:
/// `SimpleDateFormat` (default `yyyy-MM-dd HH:mm:ss`) in UTC, `Long.MIN_VALUE` when the text
/// does not parse.
#[derive(Debug, PartialEq, Eq, Hash)]
struct UnixTimestamp {
    name: &'static str,
    signature: Signature,
}

impl UnixTimestamp {
    fn new() -> Self {
        UnixTimestamp {
            name: "unix_timestamp",
            signature: Signature::user_defined(Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for UnixTimestamp {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.is_empty() {
            Ok(vec![])
        } else {
            string_args(self.name, args, 1, 2)
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.is_empty() {
            return Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(
                Utc::now().timestamp(),
            ))));
        }
        let default = SimpleDateFormat::compile(DEFAULT_FORMAT)
            .map_err(|e| function_error("UNIX_TIMESTAMP", e))?;
        let mut cache = Cache::new(simple_date_format);
        let mut out = Int64Builder::with_capacity(args.number_rows);
        for_each_text(&args, |row| {
            let v = match row {
                None => None,
                Some((s, fmt)) => {
                    let parser = match fmt {
                        None => &default,
                        Some(f) => cache.get("UNIX_TIMESTAMP", f)?,
                    };
                    // Java's long division truncates toward zero.
                    Some(parser.parse(s).map_or(i64::MIN, |ms| ms / 1000))
                }
            };
            out.append_option(v);
            Ok(())
        })?;
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;
    use crate::functions::test_support::{call, lit, strings};
    use datafusion_common::arrow::array::StringArray;

    #[test]
    fn to_timestamp_falls_back_to_java_sql_timestamp() {
        let s = StringArray::from(vec![
            Some("2024-01-02 10:11:12.123456"),
            Some("20240102 101112"),
            Some("garbage"),
        ]);
        let out = call(
            &ToTimestamp::new(),
            vec![ColumnarValue::Array(Arc::new(s)), lit("yyyyMMdd HHmmss")],
            3,
        );
        let out =
            out.as_primitive::<datafusion_common::arrow::datatypes::TimestampNanosecondType>();
        assert_eq!(out.value(0), 1_704_190_272_123_456_000);
        assert_eq!(out.value(1), 1_704_190_272_000_000_000);
        assert!(out.is_null(2));
    }

    #[test]
    fn to_date_and_unix_timestamp_failures_are_not_null() {
        assert_eq!(java_unix_date(i64::MIN), {
            // +1705471-09-27
            days_from_civil(1_705_471, 9, 27) as i32
        });
        let s = StringArray::from(vec![Some("2024/01/02"), Some("1970-01-01 00:00:00.999")]);
        let out = call(
            &UnixTimestamp::new(),
            vec![ColumnarValue::Array(Arc::new(s))],
            2,
        );
        let out = out.as_primitive::<Int64Type>();
        assert_eq!(out.value(0), i64::MIN);
        assert_eq!(out.value(1), 0);
    }

    #[test]
    fn from_unixtime_formats_with_simple_date_format() {
        let n = ColumnarValue::Array(Arc::new(datafusion_common::arrow::array::Int64Array::from(
            vec![1_704_103_872],
        )));
        let out = call(&FromUnixtime::new(), vec![n], 1);
        assert_eq!(strings(&out), [Some("2024-01-01 10:11:12")]);
    }
}
