//! Flink's small numeric functions: `SIGN` (of the argument's type, `Math.signum` for
//! DOUBLE/FLOAT: `-0.0` and NaN kept), `ABS` (of the argument's type; the smallest integer
//! wraps to itself as in Java), `PI()` and `E()`.

use std::sync::Arc;

use datafusion_common::arrow::array::{ArrayRef, AsArray, PrimitiveArray};
use datafusion_common::arrow::datatypes::{
    DataType, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
};
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::rowwise::{Out, Returns, RowWise};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    let double = || Returns::Fixed(DataType::Float64);
    vec![
        Arc::new(ScalarUDF::from(Sign {
            name: "sign",
            abs: false,
            signature: Signature::user_defined(Volatility::Immutable),
        })),
        Arc::new(ScalarUDF::from(Sign {
            name: "abs",
            abs: true,
            signature: Signature::user_defined(Volatility::Immutable),
        })),
        RowWise::new("pi", &[&[]], double(), |_| {
            Ok(Out::Float(std::f64::consts::PI))
        })
        .udf(),
        RowWise::new("e", &[&[]], double(), |_| {
            Ok(Out::Float(std::f64::consts::E))
        })
        .udf(),
    ]
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Sign {
    name: &'static str,
    /// `ABS` instead of `SIGN`.
    abs: bool,
    signature: Signature,
}

/// `Math.signum`: ±1.0, and `x` itself for ±0.0 and NaN.
fn signum(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        x
    } else {
        x.signum()
    }
}

impl ScalarUDFImpl for Sign {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t] if t.is_numeric() => Ok(vec![t.clone()]),
            [DataType::Null] => Ok(vec![DataType::Int32]),
            _ => plan_err!("{}(numeric) got {args:?}", self.name.to_uppercase()),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = args.args[0].to_array(args.number_rows)?;
        if self.abs {
            return Ok(ColumnarValue::Array(abs(&a)?));
        }
        let out: ArrayRef = match a.data_type() {
            DataType::Int8 => Arc::new(
                a.as_primitive::<Int8Type>()
                    .unary::<_, Int8Type>(i8::signum),
            ),
            DataType::Int16 => Arc::new(
                a.as_primitive::<Int16Type>()
                    .unary::<_, Int16Type>(i16::signum),
            ),
            DataType::Int32 => Arc::new(
                a.as_primitive::<Int32Type>()
                    .unary::<_, Int32Type>(i32::signum),
            ),
            DataType::Int64 => Arc::new(
                a.as_primitive::<Int64Type>()
                    .unary::<_, Int64Type>(i64::signum),
            ),
            DataType::Float64 => Arc::new(
                a.as_primitive::<Float64Type>()
                    .unary::<_, Float64Type>(signum),
            ),
            DataType::Float32 => Arc::new(
                a.as_primitive::<Float32Type>()
                    .unary::<_, Float32Type>(|x| signum(f64::from(x)) as f32),
            ),
            DataType::Decimal128(p, s) => {
                let one = 10i128.pow(u32::from(*s as u8));
                let out: PrimitiveArray<Decimal128Type> = a
                    .as_primitive::<Decimal128Type>()
                    .unary(|u| u.signum() * one);
                Arc::new(out.with_precision_and_scale(*p, *s)?)
            }
            other => return exec_err!("SIGN of {other}"),
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// `ABS`: Java's `Math.abs` per type (`Math.abs(Integer.MIN_VALUE)` is itself).
fn abs(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Int8 => Arc::new(
            a.as_primitive::<Int8Type>()
                .unary::<_, Int8Type>(i8::wrapping_abs),
        ),
        DataType::Int16 => Arc::new(
            a.as_primitive::<Int16Type>()
                .unary::<_, Int16Type>(i16::wrapping_abs),
        ),
        DataType::Int32 => Arc::new(
            a.as_primitive::<Int32Type>()
                .unary::<_, Int32Type>(i32::wrapping_abs),
        ),
        DataType::Int64 => Arc::new(
            a.as_primitive::<Int64Type>()
                .unary::<_, Int64Type>(i64::wrapping_abs),
        ),
        DataType::Float64 => Arc::new(
            a.as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(f64::abs),
        ),
        DataType::Float32 => Arc::new(
            a.as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(f32::abs),
        ),
        DataType::Decimal128(p, s) => {
            let out: PrimitiveArray<Decimal128Type> =
                a.as_primitive::<Decimal128Type>().unary(i128::wrapping_abs);
            Arc::new(out.with_precision_and_scale(*p, *s)?)
        }
        other => return exec_err!("ABS of {other}"),
    })
}
