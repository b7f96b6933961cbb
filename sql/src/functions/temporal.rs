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
