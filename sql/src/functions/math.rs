//! Flink's numeric functions where their types or rounding differ from DataFusion's:
//! `FLOOR`/`CEIL` keep the argument's type, `ROUND` rounds HALF_UP on the decimal text of a
//! DOUBLE (`ROUND(2.675, 2)` = 2.68), and DECIMAL division has Flink's result type
//! (`LogicalTypeMerging.findDivisionDecimalType`).

use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Builder, Float32Array, Float64Array, PrimitiveArray,
};
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type,
};
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::java::parse::decimal_parts;
use crate::java::text::write_double;

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(FloorCeil::new("floor", &[], false))),
        Arc::new(ScalarUDF::from(FloorCeil::new("ceil", &["ceiling"], true))),
        Arc::new(ScalarUDF::from(Round::new())),
    ]
}

/// `a / b` on DECIMALs, with Flink's result type.
pub fn decimal_divide() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(DecimalDivide::new()))
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `unscaled × 10^-scale` rounded HALF_UP to `to` fraction digits (negative: tens, hundreds...),
/// as an unscaled value at scale `max(to, 0)`.
fn round_decimal(unscaled: i128, scale: i8, to: i32) -> Option<i128> {
    let scale = i32::from(scale);
    if to >= scale {
        return unscaled.checked_mul(pow10((to.max(0) - scale) as u32)?);
    }
    let d = pow10((scale - to) as u32)?;
    let (q, r) = (unscaled / d, unscaled % d);
    let q = if r.abs() * 2 >= d {
        q + unscaled.signum()
    } else {
        q
    };
    // Back to scale max(to, 0).
    if to < 0 {
        q.checked_mul(pow10((-to) as u32)?)
    } else {
        Some(q)
    }
}

/// `FLOOR(x)` / `CEIL(x)`: the same type for integers and DOUBLE/FLOAT, DECIMAL(p, s) →
/// DECIMAL(p - s + 1, 0).
#[derive(Debug, PartialEq, Eq, Hash)]
struct FloorCeil {
    name: &'static str,
    aliases: Vec<String>,
    ceil: bool,
    signature: Signature,
}

impl FloorCeil {
    fn new(name: &'static str, aliases: &[&str], ceil: bool) -> Self {
        FloorCeil {
            name,
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            ceil,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for FloorCeil {
    udf_boilerplate!();

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t] if t.is_numeric() => Ok(vec![t.clone()]),
            [DataType::Null] => Ok(vec![DataType::Float64]),
            _ => plan_err!("{}(numeric) got {args:?}", self.name.to_uppercase()),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match &args[0] {
            DataType::Decimal128(p, s) => DataType::Decimal128((p - *s as u8 + 1).clamp(1, 38), 0),
            t => t.clone(),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = args.args[0].to_array(args.number_rows)?;
        let out: ArrayRef = match a.data_type() {
            DataType::Float64 => {
                let a = a.as_primitive::<Float64Type>();
                Arc::new(if self.ceil {
                    a.unary::<_, Float64Type>(f64::ceil)
                } else {
                    a.unary::<_, Float64Type>(f64::floor)
                })
            }
            DataType::Float32 => {
                let a = a.as_primitive::<Float32Type>();
                Arc::new(if self.ceil {
                    a.unary::<_, Float32Type>(f32::ceil)
                } else {
                    a.unary::<_, Float32Type>(f32::floor)
                })
            }
            DataType::Decimal128(_, s) => {
                let DataType::Decimal128(p, _) = self.return_type(&[a.data_type().clone()])? else {
                    return exec_err!("FLOOR/CEIL of a DECIMAL is a DECIMAL");
                };
                let d = pow10(u32::from(*s as u8)).unwrap_or(1);
                let ceil = self.ceil;
                let out: PrimitiveArray<Decimal128Type> =
                    a.as_primitive::<Decimal128Type>().unary(|u| {
                        let q = u.div_euclid(d);
                        if ceil && u.rem_euclid(d) != 0 {
                            q + 1
                        } else {
                            q
                        }
                    });
                Arc::new(out.with_precision_and_scale(p, 0)?)
            }
            _ => a,
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// `ROUND(x[, n])`: HALF_UP (away from zero) at `n` fraction digits (negative: left of the
/// point); DOUBLE through its `Double.toString` text, as `BigDecimal.valueOf`; the argument's
/// type (DECIMAL(p, s) → DECIMAL(p - s + n + 1, n) for 0 ≤ n < s).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Round {
    name: &'static str,
    signature: Signature,
}

impl Round {
    fn new() -> Self {
        Round {
            name: "round",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The literal `n` of `ROUND(x, n)`, from the planner's argument types.
fn round_scale(args: &ScalarFunctionArgs) -> Result<i32> {
    match args.args.get(1) {
        None => Ok(0),
        Some(ColumnarValue::Scalar(s)) => match s.cast_to(&DataType::Int64)? {
            ScalarValue::Int64(Some(n)) => Ok(n as i32),
            _ => exec_err!("ROUND: the number of digits must not be NULL"),
        },
        Some(_) => exec_err!("ROUND: the number of digits must be a literal"),
    }
}

/// `BigDecimal.valueOf(d).setScale(n, HALF_UP).doubleValue()`.
fn round_double(d: f64, n: i32, buf: &mut String) -> f64 {
    if !d.is_finite() {
        return d;
    }
    buf.clear();
    write_double(buf, d);
    let Some((negative, digits, exponent)) = decimal_parts(buf) else {
        return d;
    };
    // value = digits × 10^exponent; keep the digits down to 10^-n.
    let keep = digits.len() as i64 + exponent + i64::from(n);
    let mut kept: Vec<u8> = if keep <= 0 {
        Vec::new()
    } else if keep as usize >= digits.len() {
        return d;
    } else {
        digits.as_bytes()[..keep as usize].to_vec()
    };
    let round_up = match keep {
        k if k < 0 => false,
        k => digits
            .as_bytes()
            .get(k as usize)
            .is_some_and(|&c| c >= b'5'),
    };
    if round_up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, b'1');
                break;
            }
            i -= 1;
            if kept[i] == b'9' {
                kept[i] = b'0';
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    if kept.iter().all(|&c| c == b'0') {
        return 0.0;
    }
    let text = format!(
        "{}{}e{}",
        if negative { "-" } else { "" },
        std::str::from_utf8(&kept).unwrap_or("0"),
        -n
    );
    text.parse().unwrap_or(d)
}

/// `ROUND` of an integer: `n` below zero rounds HALF_UP to tens, hundreds...; Java narrows the
/// `long` result back (`narrow`).
fn round_ints<T: ArrowPrimitiveType>(
    a: &ArrayRef,
    n: i32,
    widen: fn(T::Native) -> i64,
    narrow: fn(i64) -> T::Native,
) -> ArrayRef {
    if n >= 0 {
        return Arc::clone(a);
    }
    let d = 10i64.checked_pow((-n) as u32);
    let out: PrimitiveArray<T> = a.as_primitive::<T>().unary(|v| {
        let v = widen(v);
        narrow(match d {
            Some(d) => {
                let (q, r) = (v / d, v % d);
                (if r.abs() * 2 >= d { q + v.signum() } else { q }).wrapping_mul(d)
            }
            None => 0,
        })
    });
    Arc::new(out)
}

impl ScalarUDFImpl for Round {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t] if t.is_numeric() => Ok(vec![t.clone()]),
            [t, n] if t.is_numeric() && (n.is_integer() || n == &DataType::Null) => {
                Ok(vec![t.clone(), DataType::Int32])
            }
            [DataType::Null, ..] => Ok(vec![DataType::Float64; args.len()]),
            _ => plan_err!("ROUND(numeric[, INT digits]) got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn return_field_from_args(
        &self,
        args: datafusion_expr::ReturnFieldArgs,
    ) -> Result<datafusion_common::arrow::datatypes::FieldRef> {
        let t = args.arg_fields[0].data_type().clone();
        let t = match (&t, args.scalar_arguments.get(1)) {
            (DataType::Decimal128(p, s), Some(Some(n))) => {
                let n = match n.cast_to(&DataType::Int64)? {
                    ScalarValue::Int64(Some(n)) => n as i32,
                    _ => 0,
                };
                let new_s = n.clamp(0, i32::from(*s)) as i8;
                let new_p = (i32::from(*p) - i32::from(*s) + i32::from(new_s) + 1).clamp(1, 38);
                DataType::Decimal128(new_p as u8, new_s)
            }
            (DataType::Decimal128(p, s), None) => {
                DataType::Decimal128((*p - *s as u8 + 1).clamp(1, 38), 0)
            }
            _ => t,
        };
        Ok(Arc::new(datafusion_common::arrow::datatypes::Field::new(
            self.name, t, true,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = round_scale(&args)?;
        let a = args.args[0].to_array(args.number_rows)?;
        let out: ArrayRef = match a.data_type() {
            DataType::Float64 => {
                let mut buf = String::new();
                let v: Float64Array = a
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| v.map(|v| round_double(v, n, &mut buf)))
                    .collect();
                Arc::new(v)
            }
            DataType::Float32 => {
                let mut buf = String::new();
                let v: Float32Array = a
                    .as_primitive::<Float32Type>()
                    .iter()
                    .map(|v| v.map(|v| round_double(f64::from(v), n, &mut buf) as f32))
                    .collect();
                Arc::new(v)
            }
            DataType::Decimal128(_, s) => {
                let DataType::Decimal128(p, new_s) = args.return_field.data_type().clone() else {
                    return exec_err!("ROUND of a DECIMAL is a DECIMAL");
                };
                let limit = 10i128.pow(u32::from(p));
                let mut out = Decimal128Builder::with_capacity(a.len());
                for v in a.as_primitive::<Decimal128Type>().iter() {
                    let r = v
                        .and_then(|u| round_decimal(u, *s, n))
                        .and_then(|u| round_decimal(u, n.max(0) as i8, i32::from(new_s)))
                        .filter(|u| u.abs() < limit);
                    out.append_option(r);
                }
                Arc::new(out.finish().with_precision_and_scale(p, new_s)?)
            }
            DataType::Int8 => round_ints::<Int8Type>(&a, n, i64::from, |v| v as i8),
            DataType::Int16 => round_ints::<Int16Type>(&a, n, i64::from, |v| v as i16),
            DataType::Int32 => round_ints::<Int32Type>(&a, n, i64::from, |v| v as i32),
            DataType::Int64 => round_ints::<Int64Type>(&a, n, |v| v, |v| v),
            _ => cast(&a, a.data_type())?,
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// DECIMAL(p1, s1) / DECIMAL(p2, s2) → DECIMAL with scale `max(6, s1 + p2 + 1)` and precision
/// `p1 - s1 + s2 + scale` (reduced to 38 keeping at least 6 fraction digits), HALF_UP; a
/// quotient that does not fit is NULL, division by zero fails.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DecimalDivide {
    name: &'static str,
    signature: Signature,
}

impl DecimalDivide {
    fn new() -> Self {
        DecimalDivide {
            name: "decimal_divide",
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// Flink's `findDivisionDecimalType`.
pub fn division_type(p1: u8, s1: i8, p2: u8, s2: i8) -> (u8, i8) {
    let (p1, s1, p2, s2) = (i32::from(p1), i32::from(s1), i32::from(p2), i32::from(s2));
    let scale = 6.max(s1 + p2 + 1);
    let precision = p1 - s1 + s2 + scale;
    if precision <= 38 {
        (precision as u8, scale as i8)
    } else {
        let digits = precision - scale;
        let scale = (38 - digits).max(scale.min(6));
        (38, scale as i8)
    }
}

impl ScalarUDFImpl for DecimalDivide {
    udf_boilerplate!();

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [DataType::Decimal128(p1, s1), DataType::Decimal128(p2, s2)] => {
                let (p, s) = division_type(*p1, *s1, *p2, *s2);
                Ok(DataType::Decimal128(p, s))
            }
            _ => plan_err!("DECIMAL division of {args:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let (a, b) = (args.args[0].to_array(rows)?, args.args[1].to_array(rows)?);
        let (DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) =
            (a.data_type().clone(), b.data_type().clone())
        else {
            return exec_err!("DECIMAL division needs DECIMALs");
        };
        let DataType::Decimal128(p, s) = args.return_field.data_type().clone() else {
            return exec_err!("DECIMAL division returns a DECIMAL");
        };
        let shift = i32::from(s2) - i32::from(s1) + i32::from(s);
        let limit = 10i128.pow(u32::from(p));
        let (a, b) = (
            a.as_primitive::<Decimal128Type>(),
            b.as_primitive::<Decimal128Type>(),
        );
        let mut out = Decimal128Builder::with_capacity(rows);
        for i in 0..rows {
            if a.is_null(i) || b.is_null(i) {
                out.append_null();
                continue;
            }
            let (x, y) = (a.value(i), b.value(i));
            if y == 0 {
                return exec_err!("Division by zero");
            }
            let q = (if shift >= 0 {
                pow10(shift as u32)
                    .and_then(|m| x.checked_mul(m))
                    .map(|n| (n, y))
            } else {
                pow10((-shift) as u32)
                    .and_then(|m| y.checked_mul(m))
                    .map(|d| (x, d))
            })
            .map(|(n, d)| {
                let (q, r) = (n / d, n % d);
                if r.abs().checked_mul(2).is_none_or(|r2| r2 >= d.abs()) {
                    q + if (n < 0) != (d < 0) { -1 } else { 1 }
                } else {
                    q
                }
            })
            .filter(|q| q.abs() < limit);
            out.append_option(q);
        }
        Ok(ColumnarValue::Array(Arc::new(
            out.finish().with_precision_and_scale(p, s)?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_up_on_the_decimal_text() {
        let mut b = String::new();
        assert_eq!(round_double(2.675, 2, &mut b), 2.68);
        assert_eq!(round_double(1.005, 2, &mut b), 1.01);
        assert_eq!(round_double(-2.5, 0, &mut b), -3.0);
        assert_eq!(round_double(2.5, 0, &mut b), 3.0);
        assert!(round_double(-0.4, 0, &mut b).is_sign_positive());
        assert_eq!(round_double(9.99, 1, &mut b), 10.0);
        assert_eq!(round_double(1234.5, -2, &mut b), 1200.0);
        assert_eq!(round_decimal(9999, 3, 1), Some(100));
        assert_eq!(round_decimal(-125, 2, 1), Some(-13));
        assert_eq!(round_decimal(150, 0, -2), Some(200));
    }

    #[test]
    fn flink_division_type() {
        assert_eq!(division_type(10, 0, 10, 0), (21, 11));
        assert_eq!(division_type(38, 10, 38, 10), (38, 6));
    }
}
