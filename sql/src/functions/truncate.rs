//! `TRUNCATE(x[, n])`: `x` cut toward zero at `n` fraction digits (negative `n`: tens,
//! hundreds, ...), of the argument's type; DECIMAL(p, s) → DECIMAL(p - s + n' + 1, n') with
//! `n' = clamp(n, 0, s)` (as `ROUND`). A DOUBLE goes through Flink's DECIMAL(38, 18)
//! (`DecimalData.castFrom(double)` = `BigDecimal.valueOf`, HALF_UP to 18 digits), so NaN,
//! ±Infinity and magnitudes of 10^20 and more fail the job as in Flink.

use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Builder, Float32Builder, Float64Builder, Int32Builder,
    Int64Builder,
};
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::{
    DataType, Decimal128Type, Field, FieldRef, Float32Type, Float64Type, Int32Type, Int64Type,
};
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::temporal::function_error;
use crate::java::parse::decimal_parts;
use crate::java::text::write_double;

pub fn function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Truncate {
        name: "truncate",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Truncate {
    name: &'static str,
    signature: Signature,
}

/// `v` cut toward zero to a multiple of `10^-n` (`n` < 0: of `10^|n|`).
fn truncate_int(v: i64, n: i64) -> i64 {
    if n >= 0 {
        return v;
    }
    match u32::try_from(-n).ok().and_then(|k| 10i64.checked_pow(k)) {
        Some(d) => v / d * d,
        None => 0,
    }
}

/// An unscaled DECIMAL at `scale` cut toward zero at `n` digits, as an unscaled value at
/// `to_scale` (≥ `max(n, 0)` digits are zero below `n`).
fn truncate_unscaled(u: i128, scale: i64, n: i64, to_scale: i64) -> Option<i128> {
    let pow = |k: i64| u32::try_from(k).ok().and_then(|k| 10i128.checked_pow(k));
    let cut = if n >= scale {
        u
    } else {
        match pow(scale - n) {
            Some(d) => u / d * d,
            None => 0,
        }
    };
    if to_scale >= scale {
        cut.checked_mul(pow(to_scale - scale)?)
    } else {
        Some(cut / pow(scale - to_scale)?)
    }
}

/// `struncate(castFrom(d, 38, 18), n).doubleValue()`.
fn truncate_double(d: f64, n: i64, buf: &mut String) -> std::result::Result<f64, String> {
    if !d.is_finite() {
        return Err(format!(
            "Character {} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark.",
            if d.is_nan() { 'N' } else { 'I' }
        ));
    }
    buf.clear();
    write_double(buf, d);
    let (negative, digits, exponent) =
        decimal_parts(buf).ok_or_else(|| format!("cannot read {buf} as a decimal"))?;
    // value = digits × 10^exponent, HALF_UP to 18 fraction digits.
    let mut digits: Vec<u8> = digits.into_bytes();
    let mut exponent = exponent;
    if exponent < -18 {
        let keep = digits.len() as i64 + exponent + 18;
        let up = keep >= 0 && digits.get(keep as usize).is_some_and(|&c| c >= b'5');
        digits.truncate(keep.max(0) as usize);
        if up {
            increment(&mut digits);
        }
        exponent = -18;
    }
    while digits.len() > 1 && digits[0] == b'0' {
        digits.remove(0);
    }
    // DECIMAL(38, 18) holds 20 integer digits.
    if digits.len() as i64 + exponent > 20 && digits.iter().any(|&c| c != b'0') {
        return Err(
            "Cannot invoke \"org.apache.flink.table.data.DecimalData.scale()\" because \"b0\" is null"
                .to_owned(),
        );
    }
    // Cut toward zero at n fraction digits.
    if exponent < -n {
        let keep = digits.len() as i64 + exponent + n;
        digits.truncate(keep.max(0) as usize);
        exponent = -n;
    }
    if digits.iter().all(|&c| c == b'0') {
        return Ok(0.0);
    }
    let text = format!(
        "{}{}e{exponent}",
        if negative { "-" } else { "" },
        String::from_utf8_lossy(&digits)
    );
    text.parse::<f64>().map_err(|e| e.to_string())
}

/// Adds one to a decimal digit string (`"99"` → `"100"`).
fn increment(digits: &mut Vec<u8>) {
    for i in (0..digits.len()).rev() {
        if digits[i] == b'9' {
            digits[i] = b'0';
        } else {
            digits[i] += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

fn literal_digits(arg: Option<&Option<&ScalarValue>>) -> Result<Option<i64>> {
    match arg {
        None => Ok(Some(0)),
        Some(Some(v)) => match v.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(n) => Ok(n),
            _ => Ok(None),
        },
        Some(None) => Ok(None),
    }
}

impl ScalarUDFImpl for Truncate {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let x = match args.first() {
            Some(DataType::Int8 | DataType::Int16 | DataType::Int32) => DataType::Int32,
            Some(DataType::Int64) => DataType::Int64,
            Some(DataType::Float32) => DataType::Float32,
            Some(DataType::Float64 | DataType::Null) => DataType::Float64,
            Some(t @ DataType::Decimal128(..)) => t.clone(),
            _ => return plan_err!("TRUNCATE(numeric[, INT digits]) got {args:?}"),
        };
        match args {
            [_] => Ok(vec![x]),
            [_, n] if n.is_integer() => Ok(vec![x, n.clone()]),
            [_, DataType::Null] => Ok(vec![x, DataType::Int32]),
            _ => plan_err!("TRUNCATE(numeric[, INT digits]) got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let t = args.arg_fields[0].data_type().clone();
        let t = match &t {
            DataType::Decimal128(p, s) => {
                let n = if args.arg_fields.len() > 1 {
                    match literal_digits(args.scalar_arguments.get(1))? {
                        Some(n) => n,
                        None if args.scalar_arguments.get(1).is_some_and(Option::is_some) => 0,
                        None => {
                            return plan_err!(
                                "TRUNCATE of a DECIMAL needs a literal number of digits"
                            );
                        }
                    }
                } else {
                    0
                };
                let new_s = n.clamp(0, i64::from(*s)) as i8;
                let new_p = (i64::from(*p) - i64::from(*s) + i64::from(new_s) + 1).clamp(1, 38);
                DataType::Decimal128(new_p as u8, new_s)
            }
            _ => t,
        };
        Ok(Arc::new(Field::new(self.name, t, true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let x = args.args[0].to_array(rows)?;
        let digits: Vec<Option<i64>> = match args.args.get(1) {
            None => vec![Some(0); rows],
            Some(n) => {
                let n = cast(&n.to_array(rows)?, &DataType::Int64)?;
                n.as_primitive::<Int64Type>().iter().collect()
            }
        };
        let fail = |m: String| function_error("TRUNCATE", m);
        let out: ArrayRef = match x.data_type() {
            DataType::Int32 => {
                let mut b = Int32Builder::with_capacity(rows);
                for (v, n) in x.as_primitive::<Int32Type>().iter().zip(&digits) {
                    b.append_option(v.zip(*n).map(|(v, n)| truncate_int(i64::from(v), n) as i32));
                }
                Arc::new(b.finish())
            }
            DataType::Int64 => {
                let mut b = Int64Builder::with_capacity(rows);
                for (v, n) in x.as_primitive::<Int64Type>().iter().zip(&digits) {
                    b.append_option(v.zip(*n).map(|(v, n)| truncate_int(v, n)));
                }
                Arc::new(b.finish())
            }
            DataType::Float64 => {
                let mut b = Float64Builder::with_capacity(rows);
                let mut buf = String::new();
                for (v, n) in x.as_primitive::<Float64Type>().iter().zip(&digits) {
                    match v.zip(*n) {
                        Some((v, n)) => {
                            b.append_value(truncate_double(v, n, &mut buf).map_err(fail)?)
                        }
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Float32 => {
                let mut b = Float32Builder::with_capacity(rows);
                let mut buf = String::new();
                for (v, n) in x.as_primitive::<Float32Type>().iter().zip(&digits) {
                    match v.zip(*n) {
                        Some((v, n)) => b.append_value(
                            truncate_double(f64::from(v), n, &mut buf).map_err(fail)? as f32,
                        ),
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Decimal128(_, s) => {
                let DataType::Decimal128(p, new_s) = args.return_field.data_type().clone() else {
                    return exec_err!("TRUNCATE of a DECIMAL is a DECIMAL");
                };
                let mut b = Decimal128Builder::with_capacity(rows);
                for (v, n) in x.as_primitive::<Decimal128Type>().iter().zip(&digits) {
                    b.append_option(v.zip(*n).and_then(|(u, n)| {
                        truncate_unscaled(u, i64::from(*s), n, i64::from(new_s))
                    }));
                }
                Arc::new(b.finish().with_precision_and_scale(p, new_s)?)
            }
            other => return exec_err!("TRUNCATE of {other}"),
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_go_through_decimal_38_18() {
        let mut buf = String::new();
        let mut t = |d, n| truncate_double(d, n, &mut buf);
        assert_eq!(t(2.675, 2), Ok(2.67));
        assert_eq!(t(-2.675, 1), Ok(-2.6));
        assert_eq!(t(123456.789, -2), Ok(123400.0));
        assert_eq!(t(1.0E-19, 19), Ok(0.0));
        assert_eq!(t(1e19, 3), Ok(1e19));
        assert_eq!(t(-0.0, 0), Ok(0.0));
        assert!(t(1e20, 1).is_err());
        assert!(t(f64::INFINITY, 1).is_err());
    }

    #[test]
    fn integers_and_decimals_cut_toward_zero() {
        assert_eq!(truncate_int(-149, -2), -100);
        assert_eq!(truncate_int(i64::MAX, -3), 9223372036854775000);
        assert_eq!(truncate_unscaled(-2675, 3, 1, 1), Some(-26));
        assert_eq!(truncate_unscaled(9_999_999_999, 3, -1, 0), Some(9_999_990));
    }
}
