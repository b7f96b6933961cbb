//! Flink's date and time functions.

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Timelike, Utc};
use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion_common::arrow::datatypes::{DataType, TimeUnit};
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::temporal::{
    TimestampReader, epoch_days, function_error, local_date_time, parse_timestamp_text,
};
use crate::java_time::JavaPattern;

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    let mut v: Vec<Arc<ScalarUDF>> = vec![
        Arc::new(ScalarUDF::from(DateFormat::new())),
        Arc::new(ScalarUDF::from(Now::new(
            "current_timestamp",
            &["now"],
            true,
        ))),
        Arc::new(ScalarUDF::from(Now::new(
            "localtimestamp",
            &["current_row_timestamp"],
            false,
        ))),
        Arc::new(ScalarUDF::from(CurrentDate::new())),
        Arc::new(ScalarUDF::from(ToTimestamp::new())),
        Arc::new(ScalarUDF::from(ToDate::new())),
        Arc::new(ScalarUDF::from(FromUnixtime::new())),
        Arc::new(ScalarUDF::from(UnixTimestamp::new())),
        Arc::new(ScalarUDF::from(ToTimestampLtz::new())),
    ];
    for part in [
        TimePart::Year,
        TimePart::Quarter,
        TimePart::Month,
        TimePart::Week,
        TimePart::DayOfYear,
        TimePart::DayOfMonth,
        TimePart::DayOfWeek,
        TimePart::Hour,
        TimePart::Minute,
        TimePart::Second,
    ] {
        v.push(Arc::new(ScalarUDF::from(TimePartFn::new(part))));
    }
    v
}

fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(..) | DataType::Date32)
}

/// The timestamps of a TIMESTAMP/DATE/STRING argument, as an array readable by
/// [`TimestampReader`]; strings are parsed with Flink's default timestamp format.
fn timestamps(arg: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let array = arg.to_array(rows)?;
    if is_string(array.data_type()) {
        let strings = datafusion_common::arrow::compute::cast(&array, &DataType::Utf8)?;
        let strings = strings.as_string::<i32>();
        let mut b = TimestampMillisecondBuilder::with_capacity(rows);
        for s in strings.iter() {
            b.append_option(
                s.and_then(parse_timestamp_text)
                    .map(|d| d.and_utc().timestamp_millis()),
            );
        }
        return Ok(Arc::new(b.finish()));
    }
    if array.data_type() == &DataType::Null {
        return Ok(datafusion_common::arrow::array::new_null_array(
            &DataType::Timestamp(TimeUnit::Millisecond, None),
            rows,
        ));
    }
    Ok(array)
}

/// A string argument that is the same for every row (a format), if it is a literal.
fn scalar_string(arg: &ColumnarValue) -> Option<Option<String>> {
    match arg {
        ColumnarValue::Scalar(
            ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s),
        ) => Some(s.clone()),
        ColumnarValue::Scalar(ScalarValue::Null) => Some(None),
        _ => None,
    }
}

/// Per-row strings of an argument.
fn strings(arg: &ColumnarValue, rows: usize) -> Result<Vec<Option<String>>> {
    let array = datafusion_common::arrow::compute::cast(&arg.to_array(rows)?, &DataType::Utf8)?;
    Ok(array
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect())
}

/// Compiles formats, caching the last one (formats are nearly always literals).
struct PatternCache {
    last: Option<(String, Result<JavaPattern, String>)>,
}

impl PatternCache {
    fn new() -> Self {
        PatternCache { last: None }
    }

    fn get(&mut self, function: &str, fmt: &str) -> Result<&JavaPattern> {
        if self.last.as_ref().is_none_or(|(f, _)| f != fmt) {
            self.last = Some((fmt.to_owned(), JavaPattern::compile(fmt)));
        }
        match self.last.as_ref().map(|(_, p)| p) {
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(function_error(function, e)),
            None => exec_err!("{function}: no format"),
        }
    }
}

macro_rules! udf_boilerplate {
    () => {
        fn name(&self) -> &str {
            self.name
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
    };
}

/// `DATE_FORMAT(timestamp | string, format)`: formats with a Java `DateTimeFormatter` pattern.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DateFormat {
    name: &'static str,
    signature: Signature,
}

impl DateFormat {
    fn new() -> Self {
        DateFormat {
            name: "date_format",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateFormat {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t, f]
                if (is_temporal(t) || is_string(t) || t == &DataType::Null)
                    && (is_string(f) || f == &DataType::Null) =>
            {
                Ok(vec![t.clone(), DataType::Utf8])
            }
            _ => plan_err!(
                "DATE_FORMAT expects (TIMESTAMP or STRING, STRING format), got ({})",
                args.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let ts = timestamps(&args.args[0], rows)?;
        let reader = TimestampReader::new(&ts)?;
        let mut out = StringBuilder::with_capacity(rows, rows * 10);
        let mut cache = PatternCache::new();
        let mut buf = String::with_capacity(32);
        match scalar_string(&args.args[1]) {
            Some(None) => {
                for _ in 0..rows {
                    out.append_null();
                }
            }
            Some(Some(fmt)) => {
                let pattern = cache.get("DATE_FORMAT", &fmt)?;
                // Consecutive records mostly fall in the same day/hour: reuse the last text.
                let step = pattern.granularity_secs();
                let mut last_key = None;
                for i in 0..rows {
                    let Some((secs, nanos)) = reader.epoch(i) else {
                        out.append_null();
                        continue;
                    };
                    let key = step.map(|s| secs.div_euclid(s));
                    if key.is_none() || key != last_key {
                        let Some(dt) = local_date_time(secs, nanos) else {
                            out.append_null();
                            continue;
                        };
                        buf.clear();
                        pattern.format_into(&dt, &mut buf);
                        last_key = key;
                    }
                    out.append_value(&buf);
                }
            }
            None => {
                let formats = strings(&args.args[1], rows)?;
                for (i, fmt) in formats.iter().enumerate() {
                    match (reader.date_time(i), fmt) {
                        (Some(dt), Some(fmt)) => {
                            out.append_value(cache.get("DATE_FORMAT", fmt)?.format(&dt))
                        }
                        _ => out.append_null(),
                    }
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Fields of a date-time, as Flink's `HOUR(ts)`, `YEAR(ts)`, ... (BIGINT).
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum TimePart {
    Year,
    Quarter,
    Month,
    Week,
    DayOfYear,
    DayOfMonth,
    DayOfWeek,
    Hour,
    Minute,
    Second,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TimePartFn {
    name: &'static str,
    part: TimePart,
    signature: Signature,
}

impl TimePartFn {
    fn new(part: TimePart) -> Self {
        let name = match part {
            TimePart::Year => "year",
            TimePart::Quarter => "quarter",
            TimePart::Month => "month",
            TimePart::Week => "week",
            TimePart::DayOfYear => "dayofyear",
            TimePart::DayOfMonth => "dayofmonth",
            TimePart::DayOfWeek => "dayofweek",
            TimePart::Hour => "hour",
            TimePart::Minute => "minute",
            TimePart::Second => "second",
        };
        TimePartFn {
            name,
            part,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for TimePartFn {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t] if is_temporal(t) || is_string(t) || t == &DataType::Null => Ok(vec![t.clone()]),
            _ => plan_err!(
                "{}(...) expects one TIMESTAMP or DATE argument",
                self.name.to_uppercase()
            ),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let ts = timestamps(&args.args[0], rows)?;
        let reader = TimestampReader::new(&ts)?;
        let mut out = Int64Builder::with_capacity(rows);
        for i in 0..rows {
            out.append_option(reader.date_time(i).map(|d| time_part(self.part, &d)));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

fn time_part(part: TimePart, d: &NaiveDateTime) -> i64 {
    i64::from(match part {
        TimePart::Year => return i64::from(d.year()),
        TimePart::Quarter => (d.month() - 1) / 3 + 1,
        TimePart::Month => d.month(),
        TimePart::Week => d.iso_week().week(),
        TimePart::DayOfYear => d.ordinal(),
        TimePart::DayOfMonth => d.day(),
        // Sunday = 1 ... Saturday = 7, as Flink.
        TimePart::DayOfWeek => d.weekday().num_days_from_sunday() + 1,
        TimePart::Hour => d.hour(),
        TimePart::Minute => d.minute(),
        TimePart::Second => d.second(),
    })
}

/// `CURRENT_TIMESTAMP` / `NOW()` (TIMESTAMP_LTZ(3)) and `LOCALTIMESTAMP` (TIMESTAMP(3)),
/// evaluated per record as in Flink's streaming mode.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Now {
    name: &'static str,
    aliases: Vec<String>,
    ltz: bool,
    signature: Signature,
}

impl Now {
    fn new(name: &'static str, aliases: &[&str], ltz: bool) -> Self {
        Now {
            name,
            aliases: aliases.iter().map(|s| (*s).to_owned()).collect(),
            ltz,
            signature: Signature::nullary(Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for Now {
    udf_boilerplate!();

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Millisecond,
            self.ltz.then(|| "UTC".into()),
        ))
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let now = Utc::now().timestamp_millis();
        let tz = self.ltz.then(|| "UTC".into());
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            Some(now),
            tz,
        )))
    }
}

/// `CURRENT_DATE`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CurrentDate {
    name: &'static str,
    signature: Signature,
}

impl CurrentDate {
    fn new() -> Self {
        CurrentDate {
            name: "current_date",
            signature: Signature::nullary(Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for CurrentDate {
    udf_boilerplate!();

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Date32(Some(
            epoch_days(Utc::now().date_naive()),
        ))))
    }
}

/// Per-row (text, optional format) pairs of a `(STRING[, STRING])` call, parsed into date-times
/// with the format or `default`.
fn parse_texts(
    function: &str,
    args: &ScalarFunctionArgs,
    default: fn(&str) -> Option<NaiveDateTime>,
) -> Result<Vec<Option<NaiveDateTime>>> {
    let rows = args.number_rows;
    let texts = strings(&args.args[0], rows)?;
    let mut cache = PatternCache::new();
    let formats = match args.args.get(1) {
        None => None,
        Some(a) => Some(match scalar_string(a) {
            Some(f) => vec![f; rows],
            None => strings(a, rows)?,
        }),
    };
    let mut out = Vec::with_capacity(rows);
    for (i, text) in texts.iter().enumerate() {
        let v = match (text, formats.as_ref().map(|f| &f[i])) {
            (None, _) | (_, Some(None)) => None,
            (Some(t), None) => default(t),
            (Some(t), Some(Some(f))) => cache.get(function, f)?.parse(t),
        };
        out.push(v);
    }
    Ok(out)
}

fn string_args(name: &str, args: &[DataType], max: usize) -> Result<Vec<DataType>> {
    if args.is_empty()
        || args.len() > max
        || !args.iter().all(|t| is_string(t) || t == &DataType::Null)
    {
        return plan_err!(
            "{}(string{}) got ({})",
            name.to_uppercase(),
            if max > 1 { "[, format]" } else { "" },
            args.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(vec![DataType::Utf8; args.len()])
}

/// `TO_TIMESTAMP(string[, format])` → TIMESTAMP(3); NULL when the text does not match.
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

impl ScalarUDFImpl for ToTimestamp {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        string_args(self.name, args, 2)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let parsed = parse_texts("TO_TIMESTAMP", &args, parse_timestamp_text)?;
        let mut out = TimestampMillisecondBuilder::with_capacity(parsed.len());
        for v in parsed {
            out.append_option(v.map(|d| d.and_utc().timestamp_millis()));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `TO_DATE(string[, format])` → DATE.
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

impl ScalarUDFImpl for ToDate {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        string_args(self.name, args, 2)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let parsed = parse_texts("TO_DATE", &args, |s| {
            super::temporal::parse_date_text(s.trim()).and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
        let mut out = Date32Builder::with_capacity(parsed.len());
        for v in parsed {
            out.append_option(v.map(|d| epoch_days(d.date())));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `FROM_UNIXTIME(seconds[, format])` → STRING in the session time zone (UTC).
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
        let secs = secs.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>();
        let fmt = match args.args.get(1) {
            None => Some("yyyy-MM-dd HH:mm:ss".to_owned()),
            Some(a) => match scalar_string(a) {
                Some(f) => f,
                None => return exec_err!("FROM_UNIXTIME: the format must be a literal"),
            },
        };
        let mut out = StringBuilder::with_capacity(rows, rows * 19);
        let Some(fmt) = fmt else {
            for _ in 0..rows {
                out.append_null();
            }
            return Ok(ColumnarValue::Array(Arc::new(out.finish())));
        };
        let pattern = JavaPattern::compile(&fmt).map_err(|e| function_error("FROM_UNIXTIME", e))?;
        for v in secs.iter() {
            match v.and_then(|s| local_date_time(s, 0)) {
                Some(d) => out.append_value(pattern.format(&d)),
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `UNIX_TIMESTAMP()` (now) or `UNIX_TIMESTAMP(string[, format])` → BIGINT seconds.
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
            string_args(self.name, args, 2)
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
        let parsed = parse_texts("UNIX_TIMESTAMP", &args, parse_timestamp_text)?;
        let mut out = Int64Builder::with_capacity(parsed.len());
        for v in parsed {
            out.append_option(v.map(|d| d.and_utc().timestamp()));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `TO_TIMESTAMP_LTZ(epoch, precision)`: precision 0 = seconds, 3 = milliseconds.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ToTimestampLtz {
    name: &'static str,
    signature: Signature,
}

impl ToTimestampLtz {
    fn new() -> Self {
        ToTimestampLtz {
            name: "to_timestamp_ltz",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ToTimestampLtz {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [n] if n.is_numeric() || n == &DataType::Null => Ok(vec![DataType::Int64]),
            [n, p] if (n.is_numeric() || n == &DataType::Null) && p.is_integer() => {
                Ok(vec![DataType::Int64, DataType::Int64])
            }
            _ => plan_err!("TO_TIMESTAMP_LTZ(BIGINT epoch, INT precision 0 or 3) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Millisecond,
            Some("UTC".into()),
        ))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let precision = match args.args.get(1) {
            None => 3,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(p)))) => *p,
            Some(_) => {
                return exec_err!("TO_TIMESTAMP_LTZ: the precision must be a literal 0 or 3");
            }
        };
        let factor = match precision {
            0 => 1000,
            3 => 1,
            p => return exec_err!("TO_TIMESTAMP_LTZ: precision {p} is not supported; use 0 or 3"),
        };
        let v = args.args[0].to_array(rows)?;
        let v = v.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>();
        let mut out = TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC");
        for x in v.iter() {
            out.append_option(x.and_then(|x| x.checked_mul(factor)));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_common::arrow::array::{StringArray, TimestampMillisecondArray};
    use datafusion_common::arrow::datatypes::Field;

    fn call(udf: &dyn ScalarUDFImpl, args: Vec<ColumnarValue>, rows: usize) -> ArrayRef {
        let arg_fields = args
            .iter()
            .map(|a| Arc::new(Field::new("a", a.data_type(), true)))
            .collect();
        let ret = udf
            .return_type(
                &args
                    .iter()
                    .map(ColumnarValue::data_type)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        udf.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: rows,
            return_field: Arc::new(Field::new("r", ret, true)),
            config_options: Arc::default(),
        })
        .unwrap()
        .to_array(rows)
        .unwrap()
    }

    fn lit(s: &str) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s.to_owned())))
    }

    #[test]
    fn date_format_reuses_text_within_the_pattern_step_but_not_across() {
        let ts = TimestampMillisecondArray::from(vec![
            Some(1_704_103_200_000), // 2024-01-01 10:00:00
            Some(1_704_106_799_999), // 10:59:59.999
            Some(1_704_106_800_000), // 11:00:00
            None,
        ]);
        let out = call(
            &DateFormat::new(),
            vec![ColumnarValue::Array(Arc::new(ts)), lit("yyyy-MM-dd HH")],
            4,
        );
        let out = out.as_string::<i32>();
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            [
                Some("2024-01-01 10"),
                Some("2024-01-01 10"),
                Some("2024-01-01 11"),
                None
            ]
        );
    }

    #[test]
    fn date_format_of_a_string_parses_it_first() {
        let s = StringArray::from(vec![Some("2024-01-01 10:11:12.5"), Some("not a time")]);
        let out = call(
            &DateFormat::new(),
            vec![ColumnarValue::Array(Arc::new(s)), lit("HH:mm")],
            2,
        );
        assert_eq!(
            out.as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some("10:11"), None]
        );
    }

    #[test]
    fn to_timestamp_and_from_unixtime() {
        let s = StringArray::from(vec![Some("2024-01-01 10:11:12"), Some("bad")]);
        let out = call(
            &ToTimestamp::new(),
            vec![ColumnarValue::Array(Arc::new(s))],
            2,
        );
        let out =
            out.as_primitive::<datafusion_common::arrow::datatypes::TimestampMillisecondType>();
        assert_eq!(out.value(0), 1_704_103_872_000);
        assert!(out.is_null(1));
        let n = ColumnarValue::Array(Arc::new(datafusion_common::arrow::array::Int64Array::from(
            vec![1_704_103_872],
        )));
        let out = call(&FromUnixtime::new(), vec![n], 1);
        assert_eq!(out.as_string::<i32>().value(0), "2024-01-01 10:11:12");
    }
}
