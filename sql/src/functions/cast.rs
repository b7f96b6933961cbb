//! `CAST` and `TRY_CAST` with Flink 2.x semantics (`table.exec.legacy-cast-behaviour` disabled,
//! the rules of `flink-table-planner/.../functions/casting/*CastRule.java`), where they differ
//! from Arrow's casts: strings are parsed as Flink parses them, numbers narrow as Java narrows
//! (`(int) 1e20`, `(byte) 300`), decimals round HALF_UP and overflow to NULL, values become text
//! as Java writes them (`1.0E10`, `TRUE`), and CHAR/VARCHAR lengths are enforced.
//!
//! [`plan_cast`] decides per pair of types whether Arrow's cast is already exact, the cast is a
//! no-op, or [`FlinkCast`] runs; the planner replaces every `CAST` with it.

use std::fmt::Write as _;
use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, PrimitiveArray, StringBuilder, Time32MillisecondBuilder,
    TimestampNanosecondBuilder, new_null_array,
};
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Time32MillisecondType, TimeUnit, TimestampNanosecondType,
};
use datafusion_common::{DataFusionError, Result, ScalarValue};
use datafusion_expr::expr::{Cast, ScalarFunction, TryCast};
use datafusion_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::{cast_text, date_time_utils};
use crate::calendar::{NANOS_PER_DAY, civil_from_days};
use crate::java::parse::{java_parse_double, java_parse_float};
use crate::java::text::{write_decimal, write_double, write_float};
use crate::types::{MAX_LENGTH, SqlType, SqlTypeKind};

/// `CAST(expr AS to)` (or `TRY_CAST`) for a value of Flink type `from` whose Arrow type is
/// `from_arrow`: the expression itself when nothing changes, Arrow's cast when it is exact, else
/// [`FlinkCast`].
pub fn plan_cast(
    expr: Expr,
    from_arrow: &DataType,
    from: &SqlType,
    to: &SqlType,
    try_cast: bool,
) -> Expr {
    match cast_kind(from_arrow, from, to) {
        CastKind::Noop => expr,
        CastKind::Arrow if try_cast => Expr::TryCast(TryCast::new(Box::new(expr), to.to_arrow())),
        CastKind::Arrow => Expr::Cast(Cast::new(Box::new(expr), to.to_arrow())),
        CastKind::Flink => Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(ScalarUDF::from(FlinkCast::new(
                from.clone(),
                to.clone(),
                try_cast,
            ))),
            vec![expr],
        )),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum CastKind {
    Noop,
    Arrow,
    Flink,
}

fn cast_kind(from_arrow: &DataType, from: &SqlType, to: &SqlType) -> CastKind {
    use SqlTypeKind::*;
    let int_rank = SqlTypeKind::integer_rank;
    if from_arrow == &DataType::Null {
        return CastKind::Arrow;
    }
    let same_arrow = from_arrow == &to.to_arrow();
    match (&from.kind, &to.kind) {
        (Char(_) | Varchar(_), Varchar(MAX_LENGTH)) if same_arrow => CastKind::Noop,
        (Char(m) | Varchar(m), Varchar(n)) if same_arrow && m <= n => CastKind::Noop,
        (Char(m), Char(n)) if same_arrow && m == n => CastKind::Noop,
        (Timestamp(p), Timestamp(q)) | (TimestampLtz(p), TimestampLtz(q))
            if same_arrow && p <= q =>
        {
            CastKind::Noop
        }
        (Timestamp(p), TimestampLtz(q)) | (TimestampLtz(p), Timestamp(q))
            if p <= q && matches!(from_arrow, DataType::Timestamp(TimeUnit::Nanosecond, _)) =>
        {
            // The session time zone is UTC: the instant and the wall time are the same number.
            CastKind::Arrow
        }
        (Decimal(p1, s1), Decimal(p2, s2)) if same_arrow && p1 == p2 && s1 == s2 => CastKind::Noop,
        (Boolean, Boolean) | (Date, Date) | (Float, Float) | (Double, Double) if same_arrow => {
            CastKind::Noop
        }
        (Time(_), Time(_)) if same_arrow => CastKind::Noop,
        (Binary(_) | Varbinary(_), Binary(_) | Varbinary(_)) if same_arrow => CastKind::Noop,
        (f, t) if int_rank(f).is_some() && int_rank(t).is_some() => {
            if same_arrow {
                CastKind::Noop
            } else if int_rank(f) < int_rank(t) {
                CastKind::Arrow
            } else {
                CastKind::Flink
            }
        }
        (f, Float | Double) if int_rank(f).is_some() => CastKind::Arrow,
        (Float, Double) | (Double, Float) | (Boolean, TinyInt | SmallInt | Int | BigInt) => {
            CastKind::Arrow
        }
        (Char(_) | Varchar(_), Binary(_) | Varbinary(_)) => CastKind::Arrow,
        (Date, Timestamp(_)) => CastKind::Arrow,
        (Array(_) | Map(..) | Row(_), _) | (_, Array(_) | Map(..) | Row(_)) => CastKind::Arrow,
        _ => CastKind::Flink,
    }
}

/// Flink's CAST from one type to another, as a scalar function of one argument.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FlinkCast {
    name: String,
    from: SqlType,
    to: SqlType,
    try_cast: bool,
    signature: Signature,
}

impl FlinkCast {
    /// `CAST(x AS to)` for `x` of type `from`; `TRY_CAST` gives NULL where CAST fails.
    pub fn new(from: SqlType, to: SqlType, try_cast: bool) -> FlinkCast {
        FlinkCast {
            name: format!("{}_AS_{to}", if try_cast { "TRY_CAST" } else { "CAST" }),
            from,
            to,
            try_cast,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    /// The type cast to.
    pub fn target(&self) -> &SqlType {
        &self.to
    }
}

impl ScalarUDFImpl for FlinkCast {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.to.to_arrow())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match &args.args[0] {
            ColumnarValue::Array(a) => Ok(ColumnarValue::Array(self.cast(a)?)),
            ColumnarValue::Scalar(s) => {
                let a = self.cast(&s.to_array()?)?;
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&a, 0)?))
            }
        }
    }
}

/// Collects per-row conversions: `Ok(None)` for NULL; errors fail the cast, or give NULL for
/// TRY_CAST.
struct Rows {
    try_cast: bool,
}

impl Rows {
    fn value<T, E: std::fmt::Display>(&self, r: Result<T, E>) -> Result<Option<T>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(_) if self.try_cast => Ok(None),
            Err(e) => Err(DataFusionError::Execution(e.to_string())),
        }
    }
}

impl FlinkCast {
    fn cast(&self, a: &ArrayRef) -> Result<ArrayRef> {
        use SqlTypeKind::*;
        if a.data_type() == &DataType::Null {
            return Ok(new_null_array(&self.to.to_arrow(), a.len()));
        }
        let a = normalize(a)?;
        let rows = Rows {
            try_cast: self.try_cast,
        };
        match &self.to.kind {
            Char(_) | Varchar(_) => self.to_string(&a),
            Boolean => self.to_boolean(&a, &rows),
            TinyInt => self.to_integer::<Int8Type>(&a, &rows, |v| v as i8, i8::MIN, i8::MAX),
            SmallInt => self.to_integer::<Int16Type>(&a, &rows, |v| v as i16, i16::MIN, i16::MAX),
            Int => self.to_integer::<Int32Type>(&a, &rows, |v| v as i32, i32::MIN, i32::MAX),
            BigInt => self.to_integer::<Int64Type>(&a, &rows, |v| v, i64::MIN, i64::MAX),
            Float => self.to_float(&a, &rows),
            Double => self.to_double(&a, &rows),
            Decimal(p, s) => self.to_decimal(&a, &rows, *p, *s),
            Date => self.to_date(&a, &rows),
            Time(_) => self.to_time(&a, &rows),
            Timestamp(p) => self.to_timestamp(&a, &rows, *p, false),
            TimestampLtz(p) => self.to_timestamp(&a, &rows, *p, true),
            _ => Ok(cast(&a, &self.to.to_arrow())?),
        }
    }

    fn unsupported(&self) -> DataFusionError {
        DataFusionError::Plan(format!("Sluice cannot CAST {} AS {}", self.from, self.to))
    }

    fn to_string(&self, a: &ArrayRef) -> Result<ArrayRef> {
        let mut out = StringBuilder::with_capacity(a.len(), a.len() * 8);
        let mut buf = String::with_capacity(32);
        let limit = match self.to.kind {
            SqlTypeKind::Char(n) => Some((n as usize, true)),
            SqlTypeKind::Varchar(n) if n < MAX_LENGTH => Some((n as usize, false)),
            _ => None,
        };
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            buf.clear();
            self.write_text(a, i, &mut buf)?;
            if let Some((n, pad)) = limit {
                fit_length(&mut buf, n, pad);
            }
            out.append_value(&buf);
        }
        Ok(Arc::new(out.finish()))
    }

    /// Appends row `i` as Flink's CAST to STRING writes it.
    fn write_text(&self, a: &ArrayRef, i: usize, out: &mut String) -> Result<()> {
        match a.data_type() {
            DataType::Utf8 => out.push_str(a.as_string::<i32>().value(i)),
            DataType::Boolean => out.push_str(if a.as_boolean().value(i) {
                "TRUE"
            } else {
                "FALSE"
            }),
            DataType::Int8 => push_int(out, i64::from(a.as_primitive::<Int8Type>().value(i))),
            DataType::Int16 => push_int(out, i64::from(a.as_primitive::<Int16Type>().value(i))),
            DataType::Int32 => push_int(out, i64::from(a.as_primitive::<Int32Type>().value(i))),
            DataType::Int64 => push_int(out, a.as_primitive::<Int64Type>().value(i)),
            DataType::Float32 => write_float(out, a.as_primitive::<Float32Type>().value(i)),
            DataType::Float64 => write_double(out, a.as_primitive::<Float64Type>().value(i)),
            DataType::Decimal128(_, s) => {
                write_decimal(out, a.as_primitive::<Decimal128Type>().value(i), *s, true)
            }
            DataType::Date32 => {
                write_flink_date(out, i64::from(a.as_primitive::<Date32Type>().value(i)))
            }
            DataType::Time32(TimeUnit::Millisecond) => {
                let p = self.from.time_precision().unwrap_or(0);
                write_flink_time(out, a.as_primitive::<Time32MillisecondType>().value(i), p);
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                let p = self.from.time_precision().unwrap_or(9);
                write_flink_timestamp(out, a.as_primitive::<TimestampNanosecondType>().value(i), p);
            }
            DataType::Binary => {
                out.push_str(&String::from_utf8_lossy(a.as_binary::<i32>().value(i)))
            }
            _ => return Err(self.unsupported()),
        }
        Ok(())
    }

    fn to_boolean(&self, a: &ArrayRef, rows: &Rows) -> Result<ArrayRef> {
        let mut out = BooleanBuilder::with_capacity(a.len());
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v = match a.data_type() {
                DataType::Utf8 => {
                    rows.value(cast_text::to_boolean(a.as_string::<i32>().value(i)))?
                }
                DataType::Decimal128(..) => Some(a.as_primitive::<Decimal128Type>().value(i) != 0),
                DataType::Float32 => Some(a.as_primitive::<Float32Type>().value(i) != 0.0),
                DataType::Float64 => Some(a.as_primitive::<Float64Type>().value(i) != 0.0),
                t if t.is_integer() => Some(
                    cast(a, &DataType::Int64)?
                        .as_primitive::<Int64Type>()
                        .value(i)
                        != 0,
                ),
                _ => return Err(self.unsupported()),
            };
            out.append_option(v);
        }
        Ok(Arc::new(out.finish()))
    }

    /// To an integer type: strings as `BinaryStringDataUtil.toInt/toLong` (trimmed), numbers
    /// with Java's narrowing (`narrow` wraps a long; doubles go through `int` or `long`).
    fn to_integer<T>(
        &self,
        a: &ArrayRef,
        rows: &Rows,
        narrow: fn(i64) -> T::Native,
        min: T::Native,
        max: T::Native,
    ) -> Result<ArrayRef>
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i64>,
    {
        let is_long = matches!(self.to.kind, SqlTypeKind::BigInt);
        let (min, max): (i64, i64) = (min.into(), max.into());
        let mut out = PrimitiveArray::<T>::builder(a.len());
        // Java narrows a double to byte/short/int through int, to long directly.
        let from_double = |d: f64| -> i64 {
            if is_long {
                d as i64
            } else {
                i64::from(d as i32)
            }
        };
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v: Option<i64> = match a.data_type() {
                DataType::Utf8 => {
                    let s = cast_text::trim_spaces(a.as_string::<i32>().value(i));
                    rows.value(if is_long {
                        cast_text::to_long(s)
                    } else {
                        cast_text::to_int(s, min, max)
                    })?
                }
                DataType::Float64 => Some(from_double(a.as_primitive::<Float64Type>().value(i))),
                DataType::Float32 => Some(from_double(f64::from(
                    a.as_primitive::<Float32Type>().value(i),
                ))),
                DataType::Decimal128(_, s) => {
                    let u = a.as_primitive::<Decimal128Type>().value(i);
                    Some((u / 10i128.pow(u32::from(*s as u8))) as i64)
                }
                DataType::Boolean => Some(i64::from(a.as_boolean().value(i))),
                DataType::Int8 => Some(i64::from(a.as_primitive::<Int8Type>().value(i))),
                DataType::Int16 => Some(i64::from(a.as_primitive::<Int16Type>().value(i))),
                DataType::Int32 => Some(i64::from(a.as_primitive::<Int32Type>().value(i))),
                DataType::Int64 => Some(a.as_primitive::<Int64Type>().value(i)),
                _ => return Err(self.unsupported()),
            };
            out.append_option(v.map(narrow));
        }
        Ok(Arc::new(out.finish()))
    }

    fn to_double(&self, a: &ArrayRef, rows: &Rows) -> Result<ArrayRef> {
        let mut out = Float64Builder::with_capacity(a.len());
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v = match a.data_type() {
                DataType::Utf8 => rows.value(java_parse_double(a.as_string::<i32>().value(i)))?,
                DataType::Decimal128(_, s) => Some(decimal_to_f64(
                    a.as_primitive::<Decimal128Type>().value(i),
                    *s,
                )),
                _ => return Ok(cast(a, &DataType::Float64)?),
            };
            out.append_option(v);
        }
        Ok(Arc::new(out.finish()))
    }

    fn to_float(&self, a: &ArrayRef, rows: &Rows) -> Result<ArrayRef> {
        let mut out = Float32Builder::with_capacity(a.len());
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v = match a.data_type() {
                DataType::Utf8 => rows.value(java_parse_float(a.as_string::<i32>().value(i)))?,
                DataType::Decimal128(_, s) => {
                    Some(decimal_to_f64(a.as_primitive::<Decimal128Type>().value(i), *s) as f32)
                }
                _ => return Ok(cast(a, &DataType::Float32)?),
            };
            out.append_option(v);
        }
        Ok(Arc::new(out.finish()))
    }

    /// To DECIMAL(p, s), HALF_UP; values that do not fit are NULL (strings: an error).
    fn to_decimal(&self, a: &ArrayRef, rows: &Rows, p: u8, s: i8) -> Result<ArrayRef> {
        let mut out = Decimal128Builder::with_capacity(a.len());
        let limit = 10i128.pow(u32::from(p));
        let fits = |u: i128| (u.abs() < limit).then_some(u);
        let mut buf = String::with_capacity(32);
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v = match a.data_type() {
                DataType::Utf8 => {
                    rows.value(cast_text::to_decimal(a.as_string::<i32>().value(i), p, s))?
                }
                DataType::Float64 | DataType::Float32 => {
                    let d = match a.data_type() {
                        DataType::Float64 => a.as_primitive::<Float64Type>().value(i),
                        _ => f64::from(a.as_primitive::<Float32Type>().value(i)),
                    };
                    if d.is_finite() {
                        // BigDecimal.valueOf(d): the digits of Double.toString.
                        buf.clear();
                        write_double(&mut buf, d);
                        cast_text::big_decimal(&buf, p, s).ok().flatten()
                    } else {
                        let c = if d.is_nan() { 'N' } else { 'I' };
                        rows.value::<i128, String>(Err(format!(
                            "Character {c} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark."
                        )))?
                    }
                }
                DataType::Decimal128(_, from_s) => {
                    rescale(a.as_primitive::<Decimal128Type>().value(i), *from_s, s).and_then(fits)
                }
                DataType::Boolean => fits(i128::from(a.as_boolean().value(i)) * pow10(s)),
                t if t.is_integer() => {
                    let v = cast(a, &DataType::Int64)?
                        .as_primitive::<Int64Type>()
                        .value(i);
                    i128::from(v).checked_mul(pow10(s)).and_then(fits)
                }
                _ => return Err(self.unsupported()),
            };
            out.append_option(v);
        }
        Ok(Arc::new(out.finish().with_precision_and_scale(p, s)?))
    }

    fn to_date(&self, a: &ArrayRef, rows: &Rows) -> Result<ArrayRef> {
        let mut out = Date32Builder::with_capacity(a.len());
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v = match a.data_type() {
                DataType::Utf8 => {
                    let s = a.as_string::<i32>().value(i);
                    rows.value(
                        date_time_utils::parse_date(s)
                            .ok_or_else(|| format!("For input string: '{s}'.")),
                    )?
                }
                DataType::Timestamp(TimeUnit::Nanosecond, _) => Some(
                    a.as_primitive::<TimestampNanosecondType>()
                        .value(i)
                        .div_euclid(NANOS_PER_DAY) as i32,
                ),
                _ => return Err(self.unsupported()),
            };
            out.append_option(v);
        }
        Ok(Arc::new(out.finish()))
    }

    fn to_time(&self, a: &ArrayRef, rows: &Rows) -> Result<ArrayRef> {
        let mut out = Time32MillisecondBuilder::with_capacity(a.len());
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v = match a.data_type() {
                DataType::Utf8 => {
                    let s = a.as_string::<i32>().value(i);
                    rows.value(
                        date_time_utils::parse_time(s)
                            .ok_or_else(|| format!("For input string: '{s}'.")),
                    )?
                }
                DataType::Timestamp(TimeUnit::Nanosecond, _) => Some(
                    (a.as_primitive::<TimestampNanosecondType>()
                        .value(i)
                        .rem_euclid(NANOS_PER_DAY)
                        / 1_000_000) as i32,
                ),
                _ => return Err(self.unsupported()),
            };
            out.append_option(v);
        }
        Ok(Arc::new(out.finish()))
    }

    fn to_timestamp(&self, a: &ArrayRef, rows: &Rows, p: u8, ltz: bool) -> Result<ArrayRef> {
        let mut out = TimestampNanosecondBuilder::with_capacity(a.len());
        let from_p = self.from.time_precision().unwrap_or(9);
        for i in 0..a.len() {
            if a.is_null(i) {
                out.append_null();
                continue;
            }
            let v =
                match a.data_type() {
                    DataType::Utf8 => {
                        let s = a.as_string::<i32>().value(i);
                        rows.value(date_time_utils::parse_timestamp(s, p).ok_or_else(|| {
                            format!("Text '{s}' could not be parsed as a timestamp")
                        }))?
                    }
                    DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                        let n = a.as_primitive::<TimestampNanosecondType>().value(i);
                        Some(if p < from_p { truncate(n, p) } else { n })
                    }
                    DataType::Date32 => i64::from(a.as_primitive::<Date32Type>().value(i))
                        .checked_mul(NANOS_PER_DAY),
                    _ => return Err(self.unsupported()),
                };
            out.append_option(v);
        }
        let out = out.finish();
        Ok(if ltz {
            Arc::new(out.with_timezone("UTC"))
        } else {
            Arc::new(out)
        })
    }
}

/// Inputs in the representation the kernels read: strings as `Utf8`, timestamps in nanoseconds.
fn normalize(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::LargeUtf8 | DataType::Utf8View => cast(a, &DataType::Utf8)?,
        DataType::Timestamp(u, tz) if *u != TimeUnit::Nanosecond => {
            cast(a, &DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()))?
        }
        DataType::Time32(TimeUnit::Second) | DataType::Time64(_) => {
            cast(a, &DataType::Time32(TimeUnit::Millisecond))?
        }
        DataType::LargeBinary | DataType::BinaryView => cast(a, &DataType::Binary)?,
        _ => Arc::clone(a),
    })
}

fn pow10(s: i8) -> i128 {
    10i128.pow(u32::from(s.max(0) as u8))
}

/// `unscaled × 10^-from` at scale `to`, HALF_UP.
fn rescale(unscaled: i128, from: i8, to: i8) -> Option<i128> {
    if to >= from {
        unscaled.checked_mul(pow10(to - from))
    } else {
        let d = pow10(from - to);
        let q = unscaled / d;
        let r = (unscaled % d).abs();
        Some(if r * 2 >= d { q + unscaled.signum() } else { q })
    }
}

/// `BigDecimal.doubleValue()`: correctly rounded.
fn decimal_to_f64(unscaled: i128, scale: i8) -> f64 {
    if unscaled.unsigned_abs() < (1u128 << 53) && (0..=22).contains(&scale) {
        // Both exact, so one correctly rounded division.
        unscaled as f64 / 10f64.powi(i32::from(scale))
    } else {
        let mut s = String::with_capacity(48);
        let _ = write!(s, "{unscaled}e{}", -i32::from(scale));
        s.parse().unwrap_or(f64::NAN)
    }
}

/// `DateTimeUtils.truncate(ts, precision)`, with its quirk: a nano-of-second whose decimal text
/// has at most `precision` digits is left alone (`.000000001` survives a cast to TIMESTAMP(3));
/// otherwise milliseconds (toward zero) or nanoseconds are cut to `precision` digits.
pub fn truncate(nanos: i64, precision: u8) -> i64 {
    let nano_of_second = nanos.rem_euclid(1_000_000_000);
    if decimal_digits(nano_of_second) <= u32::from(precision) {
        return nanos;
    }
    let millis = nanos.div_euclid(1_000_000);
    if precision <= 3 {
        let unit = 10i64.pow(3 - u32::from(precision));
        (millis / unit * unit) * 1_000_000
    } else {
        let unit = 10i64.pow(9 - u32::from(precision));
        let nano_of_milli = nanos.rem_euclid(1_000_000);
        millis * 1_000_000 + nano_of_milli / unit * unit
    }
}

fn decimal_digits(v: i64) -> u32 {
    if v == 0 { 1 } else { v.ilog10() + 1 }
}

fn push_int(out: &mut String, v: i64) {
    let _ = write!(out, "{v}");
}

/// Truncates to `n` characters; with `pad`, pads with spaces to `n` (CHAR(n)).
fn fit_length(s: &mut String, n: usize, pad: bool) {
    match s.char_indices().nth(n) {
        Some((cut, _)) => s.truncate(cut),
        None if pad => {
            let len = s.chars().count();
            s.extend(std::iter::repeat_n(' ', n - len));
        }
        None => {}
    }
}

/// A DATE as Flink's CAST writes it: `yyyy-MM-dd`.
pub fn write_flink_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{:04}-{m:02}-{d:02}", y.rem_euclid(10_000));
}

/// A TIME (milliseconds of the day) as Flink's CAST writes it: `HH:mm:ss` and `precision`
/// fraction digits.
pub fn write_flink_time(out: &mut String, millis: i32, precision: u8) {
    let m = millis.rem_euclid(86_400_000);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        m / 3_600_000,
        m / 60_000 % 60,
        m / 1000 % 60
    );
    if precision > 0 {
        out.push('.');
        let mut ms = m % 1000;
        for _ in 0..precision {
            out.push(char::from(b'0' + (ms / 100) as u8));
            ms = ms % 100 * 10;
        }
    }
}

/// A TIMESTAMP (epoch nanoseconds of the wall time) as Flink's CAST writes it:
/// `yyyy-MM-dd HH:mm:ss` and exactly `precision` fraction digits.
pub fn write_flink_timestamp(out: &mut String, nanos: i64, precision: u8) {
    let days = nanos.div_euclid(NANOS_PER_DAY);
    let of_day = nanos.rem_euclid(NANOS_PER_DAY);
    write_flink_date(out, days);
    let secs = of_day / 1_000_000_000;
    let _ = write!(
        out,
        " {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if precision > 0 {
        let mut digits = [0u8; 9];
        let mut n = of_day % 1_000_000_000;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        out.push('.');
        out.push_str(std::str::from_utf8(&digits[..usize::from(precision.min(9))]).unwrap_or(""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_common::arrow::array::{Float64Array, StringArray};

    fn ty(s: &str) -> SqlType {
        SqlType::parse(s).unwrap()
    }

    fn run(from: &str, to: &str, try_cast: bool, a: ArrayRef) -> Result<ArrayRef> {
        FlinkCast::new(ty(from), ty(to), try_cast).cast(&a)
    }

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_owned))
            .collect()
    }

    #[test]
    fn doubles_narrow_like_java() {
        let d: ArrayRef = Arc::new(Float64Array::from(vec![
            1.9,
            -1.9,
            1e20,
            300.0,
            f64::NAN,
            f64::NEG_INFINITY,
        ]));
        let i = run("DOUBLE", "INT", false, Arc::clone(&d)).unwrap();
        assert_eq!(
            i.as_primitive::<Int32Type>().values().to_vec(),
            vec![1, -1, i32::MAX, 300, 0, i32::MIN]
        );
        let t = run("DOUBLE", "TINYINT", false, Arc::clone(&d)).unwrap();
        assert_eq!(
            t.as_primitive::<Int8Type>().values().to_vec(),
            vec![1, -1, -1, 44, 0, 0]
        );
        let dec = run("DOUBLE", "DECIMAL(4, 1)", true, d).unwrap();
        let dec = dec.as_primitive::<Decimal128Type>();
        assert_eq!(dec.value(0), 19);
        assert!(dec.is_null(2) && dec.is_null(4));
        assert!(
            run(
                "DOUBLE",
                "DECIMAL(4, 1)",
                false,
                Arc::new(Float64Array::from(vec![f64::NAN]))
            )
            .is_err()
        );
    }

    #[test]
    fn strings_parse_or_fail() {
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some(" 12 "), Some("1.5"), None]));
        let i = run("STRING", "INT", false, Arc::clone(&s)).unwrap();
        assert_eq!(i.as_primitive::<Int32Type>().value(0), 12);
        assert_eq!(i.as_primitive::<Int32Type>().value(1), 1);
        assert!(i.is_null(2));
        let bad: ArrayRef = Arc::new(StringArray::from(vec!["abc"]));
        assert!(run("STRING", "INT", false, Arc::clone(&bad)).is_err());
        assert!(run("STRING", "INT", true, bad).unwrap().is_null(0));
    }

    #[test]
    fn values_as_flink_text() {
        let d: ArrayRef = Arc::new(Float64Array::from(vec![1e10, 1e-5]));
        assert_eq!(
            strings(&run("DOUBLE", "STRING", false, d).unwrap()),
            vec![Some("1.0E10".to_owned()), Some("1.0E-5".to_owned())]
        );
        let s: ArrayRef = Arc::new(StringArray::from(vec!["ab", "abcdef"]));
        assert_eq!(
            strings(&run("STRING", "CHAR(4)", false, s).unwrap()),
            vec![Some("ab  ".to_owned()), Some("abcd".to_owned())]
        );
        let mut t = String::new();
        write_flink_timestamp(&mut t, 1_704_190_272_123_456_789, 3);
        assert_eq!(t, "2024-01-02 10:11:12.123");
        t.clear();
        write_flink_timestamp(&mut t, 1_704_190_272_000_000_000, 0);
        assert_eq!(t, "2024-01-02 10:11:12");
    }

    #[test]
    fn timestamp_truncation_quirk() {
        let base = 1_704_190_272_000_000_000;
        assert_eq!(truncate(base + 1, 3), base + 1);
        assert_eq!(truncate(base + 123_456_789, 3), base + 123_000_000);
        assert_eq!(truncate(base + 123_456_789, 6), base + 123_456_000);
        assert_eq!(truncate(-500_000_000, 0), 0);
        assert_eq!(truncate(-500_000_000, 3), -500_000_000);
    }

    #[test]
    fn plans_only_what_arrow_gets_wrong() {
        let k = |f: &str, t: &str| cast_kind(&ty(f).to_arrow(), &ty(f), &ty(t));
        assert_eq!(k("INT", "BIGINT"), CastKind::Arrow);
        assert_eq!(k("BIGINT", "INT"), CastKind::Flink);
        assert_eq!(k("STRING", "INT"), CastKind::Flink);
        assert_eq!(k("TIMESTAMP(3)", "TIMESTAMP(6)"), CastKind::Noop);
        assert_eq!(k("TIMESTAMP(6)", "TIMESTAMP(3)"), CastKind::Flink);
        assert_eq!(k("VARCHAR(3)", "STRING"), CastKind::Noop);
        assert_eq!(k("STRING", "VARCHAR(3)"), CastKind::Flink);
        assert_eq!(k("DOUBLE", "STRING"), CastKind::Flink);
    }
}
