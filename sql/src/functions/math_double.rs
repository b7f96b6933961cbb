//! Flink's DOUBLE functions of `java.lang.Math`: the trigonometric and hyperbolic functions,
//! `EXP`, `LN`, `LOG` (natural, or `LOG(base, x)` = `ln x / ln base`), `LOG10`, `LOG2`,
//! `SQRT`, `POWER`, `DEGREES`, `RADIANS`. Every numeric argument is read as a DOUBLE and the
//! result is a DOUBLE (DataFusion's `log(x)` is base 10 and its `power` of integers is an
//! integer, so these replace them).

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;

use super::rowwise::{Arg, Kind, Out, Returns, RowWise};

const ONE: &[&[Kind]] = &[&[Kind::Float]];
const TWO: &[&[Kind]] = &[&[Kind::Float, Kind::Float]];

fn unary(name: &'static str, f: super::rowwise::Eval) -> Arc<ScalarUDF> {
    RowWise::new(name, ONE, Returns::Fixed(DataType::Float64), f).udf()
}

fn x(a: &[Arg<'_>], i: usize) -> f64 {
    a.get(i).and_then(|v| v.float()).unwrap_or(f64::NAN)
}

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        unary("sin", |a| Ok(Out::Float(x(a, 0).sin()))),
        unary("cos", |a| Ok(Out::Float(x(a, 0).cos()))),
        unary("tan", |a| Ok(Out::Float(x(a, 0).tan()))),
        // `1.0d / Math.tan(x)`.
        unary("cot", |a| Ok(Out::Float(1.0 / x(a, 0).tan()))),
        unary("asin", |a| Ok(Out::Float(x(a, 0).asin()))),
        unary("acos", |a| Ok(Out::Float(x(a, 0).acos()))),
        unary("atan", |a| Ok(Out::Float(x(a, 0).atan()))),
        unary("sinh", |a| Ok(Out::Float(x(a, 0).sinh()))),
        unary("cosh", |a| Ok(Out::Float(x(a, 0).cosh()))),
        unary("tanh", |a| Ok(Out::Float(x(a, 0).tanh()))),
        unary("degrees", |a| Ok(Out::Float(x(a, 0).to_degrees()))),
        unary("radians", |a| Ok(Out::Float(x(a, 0).to_radians()))),
        unary("exp", |a| Ok(Out::Float(x(a, 0).exp()))),
        unary("ln", |a| Ok(Out::Float(x(a, 0).ln()))),
        unary("log10", |a| Ok(Out::Float(x(a, 0).log10()))),
        // `Math.log(x) / Math.log(2)`.
        unary("log2", |a| Ok(Out::Float(x(a, 0).ln() / 2f64.ln()))),
        // `Math.pow(x, 0.5)` (observed: SQRT(-0.0) is 0.0).
        unary("sqrt", |a| Ok(Out::Float(java_pow(x(a, 0), 0.5)))),
        RowWise::new("atan2", TWO, Returns::Fixed(DataType::Float64), |a| {
            Ok(Out::Float(x(a, 0).atan2(x(a, 1))))
        })
        .udf(),
        RowWise::new("power", TWO, Returns::Fixed(DataType::Float64), |a| {
            Ok(Out::Float(java_pow(x(a, 0), x(a, 1))))
        })
        .udf(),
        RowWise::new(
            "log",
            &[&[Kind::Float], &[Kind::Float, Kind::Float]],
            Returns::Fixed(DataType::Float64),
            |a| {
                Ok(Out::Float(if a.len() == 2 {
                    x(a, 1).ln() / x(a, 0).ln()
                } else {
                    x(a, 0).ln()
                }))
            },
        )
        .udf(),
    ]
}

/// `Math.pow`: as `powf`, except that Java gives NaN for `pow(±1, ±∞)` and `pow(1, NaN)`
/// where IEEE (and Rust) give 1.
fn java_pow(b: f64, e: f64) -> f64 {
    if e.is_nan() || (b.abs() == 1.0 && e.is_infinite()) {
        return f64::NAN;
    }
    b.powf(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_follows_java() {
        assert!(java_pow(1.0, f64::NAN).is_nan());
        assert!(java_pow(1.0, f64::INFINITY).is_nan());
        assert_eq!(java_pow(0.0, 0.0), 1.0);
        assert_eq!(java_pow(2.0, -1075.0), 0.0);
    }
}
