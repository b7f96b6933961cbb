//! Numbers as Flink's JSON format reads them: Java's `Integer.parseInt` family, Jackson's
//! integer accessors, and DECIMAL text with `BigDecimal`'s rounding.

use sluice_sql::functions::cast_text::big_decimal;

use super::column::{Column, Kind};

pub(super) fn number_error(text: &str) -> String {
    format!("For input string: \"{text}\"")
}

/// Java's `Integer.parseInt`/`Long.parseLong` (and `Byte`/`Short`), range `min..=max`.
pub(crate) fn java_parse_integer(text: &str, min: i64, max: i64) -> Result<i64, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(number_error(text));
    }
    let v: i128 = text
        .trim_start_matches('+')
        .parse()
        .map_err(|_| number_error(text))?;
    if v < i128::from(min) || v > i128::from(max) {
        return Err(format!("Value out of range. Value:\"{text}\""));
    }
    Ok(v as i64)
}

/// Jackson's `getIntValue`/`getLongValue` on a number token: integers range-checked against
/// `int`/`long`, floats truncated toward zero (range-checked first).
pub(super) fn jackson_integer(text: &str, float: bool, long: bool) -> Result<i64, String> {
    let (min, max, java) = if long {
        (i64::MIN, i64::MAX, "long")
    } else {
        (i64::from(i32::MIN), i64::from(i32::MAX), "int")
    };
    let out_of_range = || format!("Numeric value ({text}) out of range of {java}");
    if float {
        let d: f64 = text.parse().map_err(|_| out_of_range())?;
        if d < min as f64 || d > max as f64 {
            return Err(out_of_range());
        }
        Ok(d as i64)
    } else {
        let v: i128 = text.parse().map_err(|_| out_of_range())?;
        if v < i128::from(min) || v > i128::from(max) {
            return Err(out_of_range());
        }
        Ok(v as i64)
    }
}

/// A DECIMAL from its text as `DecimalData.fromBigDecimal`: HALF_UP, NULL when too long.
pub(super) fn push_decimal_text(text: &str, column: &mut Column) -> Result<(), String> {
    if let Kind::Decimal(_, p, s) = column.kind {
        match big_decimal(text, p, s)? {
            Some(v) => column.push_decimal(v),
            None => column.push_null(),
        }
    }
    Ok(())
}
