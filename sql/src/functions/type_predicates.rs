//! Flink's `IS_ALPHA(x)`, `IS_DIGIT(x)` and `IS_DECIMAL(x)` (`SqlFunctionUtils.isAlpha`,
//! `isDigit`, `isDecimal`): never NULL. They look at the boxed Java value, so the answer
//! depends on the argument's type as much as on its value:
//!
//! - text: FALSE when NULL or empty; `IS_ALPHA` when every UTF-16 unit is a Java letter,
//!   `IS_DIGIT` when every unit is a Java digit (of any script), `IS_DECIMAL` when
//!   `Integer.parseInt`, `Long.parseLong` or `Double.parseDouble` reads it;
//! - TINYINT..BIGINT: `IS_DIGIT` and `IS_DECIMAL` are TRUE, even for NULL (observed: Flink's
//!   generated code hands the function the column's default value), `IS_ALPHA` FALSE;
//! - FLOAT/DOUBLE: `IS_DECIMAL` TRUE (also for NULL), the others FALSE;
//! - DECIMAL and every other type: FALSE (a `DecimalData` is not a `BigDecimal`).

use std::sync::Arc;

use datafusion_common::arrow::array::{Array, AsArray, BooleanArray};
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::java::character::{all_digits, all_letters, parses_as_long};
use crate::java::parse::java_parse_double;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Test {
    Alpha,
    Digit,
    Decimal,
}

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [
        ("is_alpha", Test::Alpha),
        ("is_digit", Test::Digit),
        ("is_decimal", Test::Decimal),
    ]
    .into_iter()
    .map(|(name, test)| {
        Arc::new(ScalarUDF::from(TypePredicate {
            name,
            test,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TypePredicate {
    name: &'static str,
    test: Test,
    signature: Signature,
}

impl ScalarUDFImpl for TypePredicate {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [t] => Ok(vec![match t {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                other => other.clone(),
            }]),
            _ => plan_err!("{}(value) takes one argument", self.name.to_uppercase()),
        }
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let array = args.args[0].to_array(rows)?;
        let t = array.data_type();
        let by_type = |yes: bool| -> Result<ColumnarValue> {
            Ok(ColumnarValue::Array(Arc::new(BooleanArray::from(vec![
                yes;
                rows
            ]))))
        };
        if t.is_integer() {
            return by_type(self.test != Test::Alpha);
        }
        if t.is_floating() {
            return by_type(self.test == Test::Decimal);
        }
        if !matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) {
            return by_type(false);
        }
        let text = cast(&array, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let out: BooleanArray = (0..rows)
            .map(|i| {
                Some(
                    text.is_valid(i) && {
                        let s = text.value(i);
                        !s.is_empty() && self.holds(s)
                    },
                )
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

impl TypePredicate {
    fn holds(&self, s: &str) -> bool {
        match self.test {
            Test::Alpha => all_letters(s),
            Test::Digit => all_digits(s),
            Test::Decimal => {
                parses_as_long(s) || java_parse_double(s).is_ok() || is_java_hex_double(s)
            }
        }
    }
}

/// `Double.parseDouble`'s hexadecimal form, after `String.trim`:
/// `[+-]0x<hex digits>[.<hex digits>]p[+-]<digits>[fFdD]` with at least one hex digit.
fn is_java_hex_double(s: &str) -> bool {
    let t = crate::java::parse::java_trim(s);
    let t = t.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(t);
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let Some(t) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) else {
        return false;
    };
    let Some((mantissa, exponent)) = t.split_once(['p', 'P']) else {
        return false;
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let hex = |x: &str| x.bytes().all(|c| c.is_ascii_hexdigit());
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    hex(whole)
        && hex(fraction)
        && whole.len() + fraction.len() > 0
        && !exponent.is_empty()
        && exponent.bytes().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(s: &str) -> bool {
        TypePredicate {
            name: "is_decimal",
            test: Test::Decimal,
            signature: Signature::user_defined(Volatility::Immutable),
        }
        .holds(s)
    }

    #[test]
    fn decimal_text_is_what_java_parses() {
        for yes in [
            "12",
            " 12",
            "+12",
            "-1.5e-3",
            "NaN",
            "-Infinity",
            "0x1p3",
            "0x1.8P-1d",
            "1d",
            ".5",
            "5.",
            "99999999999999999999",
            "-٣",
        ] {
            assert!(decimal(yes), "{yes}");
        }
        for no in [
            "+", "1e", "infinity", "0x10", ".", "1_000", "\u{a0}12", "٣.5", "0xp1",
        ] {
            assert!(!decimal(no), "{no}");
        }
    }
}
