//! `TIMESTAMPADD(unit, n, t)`: `t` plus `n` units. MONTH, QUARTER and YEAR move the calendar
//! date (Calcite's `addMonths`: the day is clamped to the month's last, the time of day kept);
//! the other units add a fixed length. A TIMESTAMP stays a TIMESTAMP (TIMESTAMP_LTZ likewise),
//! a DATE stays a DATE for DAY, WEEK, MONTH, QUARTER and YEAR.

use std::sync::Arc;

use datafusion_common::arrow::array::{Array, AsArray, Date32Builder, TimestampNanosecondBuilder};
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::{
    DataType, Date32Type, Int64Type, TimestampNanosecondType,
};
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::args::{is_string, scalar_string, timestamp_ns};
use super::datetime::add_months;
use crate::calendar::NANOS_PER_DAY;

pub fn function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(TimestampAdd {
        name: "timestampadd",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TimestampAdd {
    name: &'static str,
    signature: Signature,
}

/// A unit as months or as nanoseconds.
enum Step {
    Months(i64),
    Nanos(i64),
}

fn step(unit: &str) -> Option<Step> {
    Some(match unit {
        "NANOSECOND" => Step::Nanos(1),
        "MICROSECOND" => Step::Nanos(1_000),
        "MILLISECOND" => Step::Nanos(1_000_000),
        "SECOND" => Step::Nanos(1_000_000_000),
        "MINUTE" => Step::Nanos(60_000_000_000),
        "HOUR" => Step::Nanos(3_600_000_000_000),
        "DAY" => Step::Nanos(NANOS_PER_DAY),
        "WEEK" => Step::Nanos(7 * NANOS_PER_DAY),
        "MONTH" => Step::Months(1),
        "QUARTER" => Step::Months(3),
        "YEAR" => Step::Months(12),
        _ => return None,
    })
}

fn add(t: i64, n: i64, step: &Step) -> Option<i64> {
    match step {
        Step::Nanos(unit) => t.checked_add(n.checked_mul(*unit)?),
        Step::Months(m) => {
            let (day, nanos) = (t.div_euclid(NANOS_PER_DAY), t.rem_euclid(NANOS_PER_DAY));
            add_months(day, n.checked_mul(*m)?)
                .checked_mul(NANOS_PER_DAY)?
                .checked_add(nanos)
        }
    }
}

impl ScalarUDFImpl for TimestampAdd {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [u, n, t] if is_string(u) && (n.is_integer() || n == &DataType::Null) => {
                let t = match t {
                    DataType::Date32 => DataType::Date32,
                    DataType::Timestamp(_, tz) => timestamp_ns(tz.is_some()),
                    _ => {
                        return plan_err!(
                            "TIMESTAMPADD(unit, INT, TIMESTAMP or DATE) got {args:?}"
                        );
                    }
                };
                Ok(vec![DataType::Utf8, DataType::Int64, t])
            }
            _ => plan_err!("TIMESTAMPADD(unit, INT, TIMESTAMP or DATE) got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[2].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let Some(Some(unit)) = scalar_string(&args.args[0]) else {
            return exec_err!("TIMESTAMPADD: the unit must be a keyword such as SECOND");
        };
        let Some(step) = step(&unit) else {
            return exec_err!("TIMESTAMPADD: unsupported unit {unit}");
        };
        let n = cast(&args.args[1].to_array(rows)?, &DataType::Int64)?;
        let n = n.as_primitive::<Int64Type>();
        let t = args.args[2].to_array(rows)?;
        let out: Arc<dyn Array> = match t.data_type() {
            DataType::Date32 => {
                if matches!(step, Step::Nanos(u) if u % NANOS_PER_DAY != 0) {
                    return exec_err!("TIMESTAMPADD({unit}, n, DATE) is not supported");
                }
                let mut b = Date32Builder::with_capacity(rows);
                for (d, n) in t.as_primitive::<Date32Type>().iter().zip(n.iter()) {
                    b.append_option(d.zip(n).and_then(|(d, n)| {
                        let t = add(i64::from(d) * NANOS_PER_DAY, n, &step)?;
                        i32::try_from(t.div_euclid(NANOS_PER_DAY)).ok()
                    }));
                }
                Arc::new(b.finish())
            }
            DataType::Timestamp(_, tz) => {
                let mut b =
                    TimestampNanosecondBuilder::with_capacity(rows).with_timezone_opt(tz.clone());
                for (x, n) in t
                    .as_primitive::<TimestampNanosecondType>()
                    .iter()
                    .zip(n.iter())
                {
                    b.append_option(x.zip(n).and_then(|(x, n)| add(x, n, &step)));
                }
                Arc::new(b.finish())
            }
            other => return exec_err!("TIMESTAMPADD of {other}"),
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::days_from_civil;

    #[test]
    fn months_clamp_the_day_and_keep_the_time() {
        let t = days_from_civil(2024, 1, 31) * NANOS_PER_DAY + 3_600_000_000_000;
        let got = add(t, 1, &Step::Months(1)).unwrap();
        assert_eq!(
            got,
            days_from_civil(2024, 2, 29) * NANOS_PER_DAY + 3_600_000_000_000
        );
        let before = days_from_civil(1970, 1, 1) * NANOS_PER_DAY - 1;
        assert_eq!(
            add(before, 1, &Step::Months(12)).unwrap() + 1,
            days_from_civil(1971, 1, 1) * NANOS_PER_DAY
        );
    }
}
