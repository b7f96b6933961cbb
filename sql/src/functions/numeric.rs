//! Flink's small numeric functions: `SIGN` (of the argument's type, `Math.signum` for
//! DOUBLE/FLOAT: `-0.0` and NaN kept), `PI()` and `E()`.

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
            _ => plan_err!("SIGN(numeric) got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = args.args[0].to_array(args.number_rows)?;
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
