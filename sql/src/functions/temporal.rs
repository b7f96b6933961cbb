//! Reading date-time values out of Arrow arrays of any temporal (or string) type.

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion_common::arrow::array::{Array, ArrayRef, AsArray};
use datafusion_common::arrow::datatypes::{
    DataType, Date32Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use datafusion_common::{DataFusionError, Result, exec_err};

/// The wall-clock time of an epoch instant in UTC (Sluice's session time zone).
pub fn local_date_time(secs: i64, nanos: u32) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(secs, nanos).map(|d| d.naive_utc())
}

/// Reads row `i` of a temporal array as (epoch seconds, nanos) of its wall-clock time.
pub enum TimestampReader<'a> {
    /// Seconds per unit, the values.
    Timestamp(i64, &'a [i64], &'a dyn Array, TimeUnit),
    /// Days since epoch.
    Date(&'a [i32], &'a dyn Array),
}

impl<'a> TimestampReader<'a> {
    /// A reader for a TIMESTAMP, TIMESTAMP_LTZ or DATE array.
    pub fn new(array: &'a ArrayRef) -> Result<TimestampReader<'a>> {
        Ok(match array.data_type() {
            DataType::Timestamp(TimeUnit::Second, _) => TimestampReader::Timestamp(
                1,
                array.as_primitive::<TimestampSecondType>().values(),
                array,
                TimeUnit::Second,
            ),
            DataType::Timestamp(TimeUnit::Millisecond, _) => TimestampReader::Timestamp(
                1_000,
                array.as_primitive::<TimestampMillisecondType>().values(),
                array,
                TimeUnit::Millisecond,
            ),
            DataType::Timestamp(TimeUnit::Microsecond, _) => TimestampReader::Timestamp(
                1_000_000,
                array.as_primitive::<TimestampMicrosecondType>().values(),
                array,
                TimeUnit::Microsecond,
            ),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => TimestampReader::Timestamp(
                1_000_000_000,
                array.as_primitive::<TimestampNanosecondType>().values(),
                array,
                TimeUnit::Nanosecond,
            ),
            DataType::Date32 => {
                TimestampReader::Date(array.as_primitive::<Date32Type>().values(), array)
            }
            other => return exec_err!("expected a TIMESTAMP or DATE, got {other}"),
        })
    }

    /// (epoch seconds, nanoseconds) of row `i`, or `None` if NULL.
    #[inline]
    pub fn epoch(&self, i: usize) -> Option<(i64, u32)> {
        match self {
            TimestampReader::Timestamp(per_sec, values, array, _) => {
                if array.is_null(i) {
                    return None;
                }
                let v = values[i];
                let secs = v.div_euclid(*per_sec);
                let frac = v.rem_euclid(*per_sec);
                Some((secs, (frac * (1_000_000_000 / per_sec)) as u32))
            }
            TimestampReader::Date(values, array) => {
                if array.is_null(i) {
                    return None;
                }
                Some((i64::from(values[i]) * 86_400, 0))
            }
        }
    }

    /// Row `i` as a wall-clock date-time.
    #[inline]
    pub fn date_time(&self, i: usize) -> Option<NaiveDateTime> {
        self.epoch(i).and_then(|(s, n)| local_date_time(s, n))
    }
}

/// Days since 1970-01-01 of a date.
pub fn epoch_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

/// An execution error with Flink's wording for a function.
pub fn function_error(function: &str, message: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("{function}: {message}"))
}

/// Parses Flink's default timestamp text: `yyyy-MM-dd HH:mm:ss[.fraction]`, `yyyy-MM-dd` or
/// ISO `yyyy-MM-ddTHH:mm:ss[.fraction]` (as `DateTimeUtils.parseTimestampData`).
pub fn parse_timestamp_text(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let date = parse_date_text(&s[..10])?;
    if b.len() == 10 {
        return date.and_hms_opt(0, 0, 0);
    }
    if !(b[10] == b' ' || b[10] == b'T') || b.len() < 16 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let hour = num(11..13)?;
    if b[13] != b':' {
        return None;
    }
    let minute = num(14..16)?;
    let (second, mut rest) = if b.len() >= 19 && b[16] == b':' {
        (num(17..19)?, 19)
    } else {
        (0, 16)
    };
    let mut nanos = 0u32;
    if rest < b.len() && b[rest] == b'.' {
        let digits = &s[rest + 1..];
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits[..n].parse::<u32>().ok()? * 10u32.pow(9 - n as u32);
        rest += 1 + n;
    }
    if rest != b.len() {
        return None;
    }
    date.and_hms_nano_opt(hour, minute, second, nanos)
}

/// Parses `yyyy-MM-dd`.
pub fn parse_date_text(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}
