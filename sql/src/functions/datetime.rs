//! Flink's date and time functions (`flink-table-common/.../utils/DateTimeUtils.java`):
//! `DATE_FORMAT`, the fields of a date-time (`HOUR(ts)`, `EXTRACT(unit FROM ts)`), the clock,
//! `TO_TIMESTAMP_LTZ` and `TIMESTAMPDIFF`. Conversions from and to text are in `time_text`.
//!
//! TIMESTAMP results are Arrow nanoseconds, as every TIMESTAMP in Sluice; functions whose Flink
//! type is `TIMESTAMP(3)` say so to the planner by name (see `planner::rewrite`).

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Timelike, Utc};
use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, Int32Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use datafusion_common::arrow::datatypes::{DataType, Int64Type};
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::args::{
    Cache, DEFAULT_FORMAT, format_at, is_string, is_temporal, java_pattern, scalar_string,
    simple_date_format, timestamp_ns, utf8_array,
};
use super::date_time_utils;
use super::temporal::{TimestampReader, epoch_days, function_error, local_date_time};
use crate::calendar::{MILLIS_PER_DAY, civil_from_days, days_from_civil, days_in_month};
use crate::java::sdf::SimpleDateFormat;

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
        Arc::new(ScalarUDF::from(CurrentTime::new())),
        Arc::new(ScalarUDF::from(ToTimestampLtz::new())),
        Arc::new(ScalarUDF::from(TimestampDiff::new())),
    ];
    for (part, name) in [
        (TimePart::Year, "year"),
        (TimePart::Quarter, "quarter"),
        (TimePart::Month, "month"),
        (TimePart::Week, "week"),
        (TimePart::DayOfYear, "dayofyear"),
        (TimePart::DayOfMonth, "dayofmonth"),
        (TimePart::DayOfWeek, "dayofweek"),
        (TimePart::Hour, "hour"),
        (TimePart::Minute, "minute"),
        (TimePart::Second, "second"),
    ] {
        v.push(Arc::new(ScalarUDF::from(TimePartFn::new(part, name))));
    }
    v
}

/// `EXTRACT(unit FROM x)`, if Flink has the unit.
pub fn extract(unit: &str) -> Option<Arc<ScalarUDF>> {
    let part = TimePart::of_unit(unit)?;
    Some(Arc::new(ScalarUDF::from(TimePartFn::new(
        part,
        part.extract_name(),
    ))))
}

/// The timestamps of a TIMESTAMP/DATE/STRING argument, as an array readable by
/// [`TimestampReader`]; strings are cast to TIMESTAMP as Flink casts them.
fn timestamps(arg: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let array = arg.to_array(rows)?;
    if is_string(array.data_type()) {
        let strings = datafusion_common::arrow::compute::cast(&array, &DataType::Utf8)?;
        let mut b = TimestampNanosecondBuilder::with_capacity(rows);
        for s in strings.as_string::<i32>().iter() {
            b.append_option(s.and_then(|s| date_time_utils::parse_timestamp(s, 9)));
        }
        return Ok(Arc::new(b.finish()));
    }
    if array.data_type() == &DataType::Null {
        return Ok(datafusion_common::arrow::array::new_null_array(
            &timestamp_ns(false),
            rows,
        ));
    }
    Ok(array)
}

/// `DATE_FORMAT(timestamp, format)` with a Java `DateTimeFormatter` pattern;
/// `DATE_FORMAT(string, format)` parses the string with `SimpleDateFormat("yyyy-MM-dd HH:mm:ss")`
/// and formats with `SimpleDateFormat(format)`, NULL when it does not parse.
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

    fn format_strings(&self, args: &ScalarFunctionArgs) -> Result<ArrayRef> {
        let rows = args.number_rows;
        let texts = utf8_array(&args.args[0], rows)?;
        let texts = texts.as_string::<i32>();
        let literal = scalar_string(&args.args[1]);
        let formats = match literal {
            Some(_) => None,
            None => Some(utf8_array(&args.args[1], rows)?),
        };
        let parser = SimpleDateFormat::compile(DEFAULT_FORMAT)
            .map_err(|e| function_error("DATE_FORMAT", e))?;
        let mut cache = Cache::new(simple_date_format);
        let mut out = StringBuilder::with_capacity(rows, rows * 10);
        let mut buf = String::with_capacity(32);
        for i in 0..rows {
            let (Some(s), Some(fmt)) = (
                texts.is_valid(i).then(|| texts.value(i)),
                format_at(&literal, formats.as_ref(), i),
            ) else {
                out.append_null();
                continue;
            };
            let format = cache.get("DATE_FORMAT", fmt)?;
            match parser.parse(s) {
                Some(ms) => {
                    buf.clear();
                    format.format_into(ms, &mut buf);
                    out.append_value(&buf);
                }
                None => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
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
                Ok(vec![
                    if is_string(t) {
                        DataType::Utf8
                    } else {
                        t.clone()
                    },
                    DataType::Utf8,
                ])
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
        if is_string(&args.args[0].data_type()) {
            return Ok(ColumnarValue::Array(self.format_strings(&args)?));
        }
        let ts = timestamps(&args.args[0], rows)?;
        let reader = TimestampReader::new(&ts)?;
        let mut out = StringBuilder::with_capacity(rows, rows * 10);
        let mut cache = Cache::new(java_pattern);
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
                let formats = utf8_array(&args.args[1], rows)?;
                let formats = formats.as_string::<i32>();
                for i in 0..rows {
                    match (reader.date_time(i), formats.is_valid(i)) {
                        (Some(dt), true) => out
                            .append_value(cache.get("DATE_FORMAT", formats.value(i))?.format(&dt)),
                        _ => out.append_null(),
                    }
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// Fields of a date-time, as Flink's `HOUR(ts)`, `YEAR(ts)`, ... and `EXTRACT(unit FROM ts)`
/// (BIGINT).
#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum TimePart {
    Year,
    Quarter,
    Month,
    /// ISO week.
    Week,
    DayOfYear,
    DayOfMonth,
    /// Sunday = 1 ... Saturday = 7.
    DayOfWeek,
    /// Monday = 1 ... Sunday = 7.
    IsoDayOfWeek,
    IsoYear,
    Hour,
    Minute,
    Second,
    /// Within the second.
    Millisecond,
    Microsecond,
    Nanosecond,
    /// Seconds since 1970-01-01.
    Epoch,
    Decade,
    Century,
    Millennium,
}

impl TimePart {
    fn of_unit(unit: &str) -> Option<TimePart> {
        Some(match unit.to_ascii_uppercase().as_str() {
            "YEAR" | "YEARS" => TimePart::Year,
            "QUARTER" => TimePart::Quarter,
            "MONTH" | "MONTHS" => TimePart::Month,
            "WEEK" | "WEEKS" => TimePart::Week,
            "DOY" | "DAYOFYEAR" => TimePart::DayOfYear,
            "DAY" | "DAYS" | "DAYOFMONTH" => TimePart::DayOfMonth,
            "DOW" | "DAYOFWEEK" => TimePart::DayOfWeek,
            "ISODOW" => TimePart::IsoDayOfWeek,
            "ISOYEAR" => TimePart::IsoYear,
            "HOUR" | "HOURS" => TimePart::Hour,
            "MINUTE" | "MINUTES" => TimePart::Minute,
            "SECOND" | "SECONDS" => TimePart::Second,
            "MILLISECOND" | "MILLISECONDS" => TimePart::Millisecond,
            "MICROSECOND" | "MICROSECONDS" => TimePart::Microsecond,
            "NANOSECOND" | "NANOSECONDS" => TimePart::Nanosecond,
            "EPOCH" => TimePart::Epoch,
            "DECADE" => TimePart::Decade,
            "CENTURY" => TimePart::Century,
            "MILLENNIUM" => TimePart::Millennium,
            _ => return None,
        })
    }

    /// The name of `EXTRACT(<this> FROM ...)` in plans.
    fn extract_name(self) -> &'static str {
        match self {
            TimePart::Year => "extract_year",
            TimePart::Quarter => "extract_quarter",
            TimePart::Month => "extract_month",
            TimePart::Week => "extract_week",
            TimePart::DayOfYear => "extract_doy",
            TimePart::DayOfMonth => "extract_day",
            TimePart::DayOfWeek => "extract_dow",
            TimePart::IsoDayOfWeek => "extract_isodow",
            TimePart::IsoYear => "extract_isoyear",
            TimePart::Hour => "extract_hour",
            TimePart::Minute => "extract_minute",
            TimePart::Second => "extract_second",
            TimePart::Millisecond => "extract_millisecond",
            TimePart::Microsecond => "extract_microsecond",
            TimePart::Nanosecond => "extract_nanosecond",
            TimePart::Epoch => "extract_epoch",
            TimePart::Decade => "extract_decade",
            TimePart::Century => "extract_century",
            TimePart::Millennium => "extract_millennium",
        }
    }

    fn of(self, secs: i64, d: &NaiveDateTime) -> i64 {
        let year = i64::from(d.year());
        match self {
            TimePart::Year => year,
            TimePart::Quarter => i64::from((d.month() - 1) / 3 + 1),
            TimePart::Month => i64::from(d.month()),
            TimePart::Week => i64::from(d.iso_week().week()),
            TimePart::DayOfYear => i64::from(d.ordinal()),
            TimePart::DayOfMonth => i64::from(d.day()),
            TimePart::DayOfWeek => i64::from(d.weekday().num_days_from_sunday() + 1),
            TimePart::IsoDayOfWeek => i64::from(d.weekday().number_from_monday()),
            TimePart::IsoYear => i64::from(d.iso_week().year()),
            TimePart::Hour => i64::from(d.hour()),
            TimePart::Minute => i64::from(d.minute()),
            TimePart::Second => i64::from(d.second()),
            TimePart::Millisecond => i64::from(d.nanosecond() / 1_000_000),
            TimePart::Microsecond => i64::from(d.nanosecond() / 1000),
            TimePart::Nanosecond => i64::from(d.nanosecond()),
            TimePart::Epoch => secs,
            TimePart::Decade => year.div_euclid(10),
            TimePart::Century => (year + 99).div_euclid(100),
            TimePart::Millennium => (year + 999).div_euclid(1000),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TimePartFn {
    name: &'static str,
    part: TimePart,
    signature: Signature,
}

impl TimePartFn {
    fn new(part: TimePart, name: &'static str) -> Self {
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
            out.append_option(reader.epoch(i).and_then(|(secs, nanos)| {
                local_date_time(secs, nanos).map(|d| self.part.of(secs, &d))
            }));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
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
        Ok(timestamp_ns(self.ltz))
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let now = Utc::now().timestamp_millis() * 1_000_000;
        let tz = self.ltz.then(|| "UTC".into());
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampNanosecond(
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

/// `CURRENT_TIME` and `LOCALTIME`: TIME(0), the wall clock's time of day (UTC, as
/// `CURRENT_DATE`), whole seconds.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CurrentTime {
    name: &'static str,
    aliases: Vec<String>,
    signature: Signature,
}

impl CurrentTime {
    fn new() -> Self {
        CurrentTime {
            name: "current_time",
            aliases: vec!["localtime".to_owned()],
            signature: Signature::nullary(Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for CurrentTime {
    udf_boilerplate!();

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Time32(
            datafusion_common::arrow::datatypes::TimeUnit::Millisecond,
        ))
    }

    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let millis = Utc::now().timestamp_millis().rem_euclid(MILLIS_PER_DAY);
        let seconds = i32::try_from(millis - millis % 1000).unwrap_or(0);
        Ok(ColumnarValue::Scalar(ScalarValue::Time32Millisecond(Some(
            seconds,
        ))))
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
        Ok(timestamp_ns(true))
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
            p => {
                return exec_err!(
                    "The precision value '{p}' for function TO_TIMESTAMP_LTZ(numeric, precision) is unsupported, the supported value is '0' for second or '3' for millisecond."
                );
            }
        };
        // DateTimeUtils: 0000-01-01 00:00:00.000 .. 9999-12-31 23:59:59.999, else NULL.
        const MIN_MILLIS: i64 = -62_167_219_200_000;
        const MAX_MILLIS: i64 = 253_402_300_799_999;
        let v = args.args[0].to_array(rows)?;
        let v = v.as_primitive::<Int64Type>();
        let mut out = TimestampNanosecondBuilder::with_capacity(rows).with_timezone("UTC");
        for x in v.iter() {
            out.append_option(
                x.and_then(|x| x.checked_mul(factor))
                    .filter(|ms| (MIN_MILLIS..=MAX_MILLIS).contains(ms))
                    .and_then(|ms| ms.checked_mul(1_000_000)),
            );
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `TIMESTAMPDIFF(unit, t1, t2)` → INT: `t2 - t1` in whole units, on milliseconds (Calcite's
/// `subtractMonths` for MONTH, QUARTER and YEAR).
#[derive(Debug, PartialEq, Eq, Hash)]
struct TimestampDiff {
    name: &'static str,
    signature: Signature,
}

impl TimestampDiff {
    fn new() -> Self {
        TimestampDiff {
            name: "timestampdiff",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// Calcite's `DateTimeUtils.addMonths` on an epoch day.
pub(super) fn add_months(date: i64, months: i64) -> i64 {
    let (y0, m0, d0) = civil_from_days(date);
    let m1 = i64::from(m0) + months;
    let y = y0 + (m1 - 1).div_euclid(12);
    let m = ((m1 - 1).rem_euclid(12) + 1) as u32;
    let last = days_in_month(y, m);
    days_from_civil(y, m, i64::from(d0).min(last) as u32)
}

fn subtract_month_days(date0: i64, date1: i64) -> i64 {
    if date0 < date1 {
        return -subtract_month_days(date1, date0);
    }
    let mut m = (date0 - date1) / 31;
    loop {
        if add_months(date1, m) >= date0 || add_months(date1, m + 1) > date0 {
            return m;
        }
        m += 1;
    }
}

/// Calcite's `DateTimeUtils.subtractMonths(t0, t1)` on epoch milliseconds.
fn subtract_months(t0: i64, t1: i64) -> i64 {
    let (ms0, ms1) = (t0.rem_euclid(MILLIS_PER_DAY), t1.rem_euclid(MILLIS_PER_DAY));
    let (d0, d1) = (t0.div_euclid(MILLIS_PER_DAY), t1.div_euclid(MILLIS_PER_DAY));
    let mut x = subtract_month_days(d0, d1);
    if add_months(d1, x) == d0 && ms0 < ms1 {
        x -= 1;
    }
    x
}

impl ScalarUDFImpl for TimestampDiff {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [u, a, b] if is_string(u) && is_temporal(a) && is_temporal(b) => Ok(vec![
                DataType::Utf8,
                timestamp_ns(matches!(a, DataType::Timestamp(_, Some(_)))),
                timestamp_ns(matches!(b, DataType::Timestamp(_, Some(_)))),
            ]),
            _ => plan_err!("TIMESTAMPDIFF(unit, TIMESTAMP, TIMESTAMP) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let Some(Some(unit)) = scalar_string(&args.args[0]) else {
            return exec_err!("TIMESTAMPDIFF: the unit must be a keyword such as SECOND");
        };
        enum Step {
            Millis(i64),
            Months(i64),
        }
        let step = match unit.as_str() {
            "MILLISECOND" => Step::Millis(1),
            "SECOND" => Step::Millis(1000),
            "MINUTE" => Step::Millis(60_000),
            "HOUR" => Step::Millis(3_600_000),
            "DAY" => Step::Millis(MILLIS_PER_DAY),
            "WEEK" => Step::Millis(7 * MILLIS_PER_DAY),
            "MONTH" => Step::Months(1),
            "QUARTER" => Step::Months(3),
            "YEAR" => Step::Months(12),
            other => return exec_err!("TIMESTAMPDIFF: unsupported unit {other}"),
        };
        let a = args.args[1].to_array(rows)?;
        let b = args.args[2].to_array(rows)?;
        let (a, b) = (
            a.as_primitive::<datafusion_common::arrow::datatypes::TimestampNanosecondType>(),
            b.as_primitive::<datafusion_common::arrow::datatypes::TimestampNanosecondType>(),
        );
        let mut out = Int32Builder::with_capacity(rows);
        for i in 0..rows {
            if a.is_null(i) || b.is_null(i) {
                out.append_null();
                continue;
            }
            let (t1, t2) = (
                a.value(i).div_euclid(1_000_000),
                b.value(i).div_euclid(1_000_000),
            );
            let v = match step {
                Step::Millis(unit) => (t2 - t1) / unit,
                Step::Months(n) => subtract_months(t2, t1) / n,
            };
            out.append_value(v as i32);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{call, lit, strings};
    use datafusion_common::arrow::array::{StringArray, TimestampNanosecondArray};

    #[test]
    fn date_format_reuses_text_within_the_pattern_step_but_not_across() {
        let ms = |v: i64| v * 1_000_000;
        let ts = TimestampNanosecondArray::from(vec![
            Some(ms(1_704_103_200_000)), // 2024-01-01 10:00:00
            Some(ms(1_704_106_799_999)), // 10:59:59.999
            Some(ms(1_704_106_800_000)), // 11:00:00
            None,
        ]);
        let out = call(
            &DateFormat::new(),
            vec![ColumnarValue::Array(Arc::new(ts)), lit("yyyy-MM-dd HH")],
            4,
        );
        assert_eq!(
            strings(&out),
            [
                Some("2024-01-01 10"),
                Some("2024-01-01 10"),
                Some("2024-01-01 11"),
                None
            ]
        );
    }

    #[test]
    fn date_format_of_a_string_uses_simple_date_format() {
        let s = StringArray::from(vec![
            Some("2024-01-01 10:11:12.5"),
            Some("2024-01-01T10:11:12"),
            Some("2024-1-2 3:4:5"),
        ]);
        let out = call(
            &DateFormat::new(),
            vec![ColumnarValue::Array(Arc::new(s)), lit("u HH:mm:ss.SSS")],
            3,
        );
        assert_eq!(
            strings(&out),
            [Some("1 10:11:12.000"), None, Some("2 03:04:05.000")]
        );
    }

    #[test]
    fn timestampdiff_months_as_calcite() {
        assert_eq!(
            subtract_months(
                days_from_civil(2024, 3, 31) * MILLIS_PER_DAY,
                days_from_civil(2024, 2, 29) * MILLIS_PER_DAY
            ),
            1
        );
        assert_eq!(subtract_months(0, 5), -1);
    }
}
