//! Values read from text exactly as Flink's `CAST(string AS ...)` reads them:
//! `BinaryStringDataUtil` (numbers, booleans, decimals) and `DecimalData.fromBigDecimal`.
//! Dates and times are in [`super::date_time_utils`]; the JDK's own parsers, which Flink falls
//! back to, in [`crate::java::parse`].

use crate::java::parse::decimal_parts;

/// Why Flink refuses to read a text as a number or a boolean; the messages are Flink's, word for
/// word (a failing `CAST` shows them; `TRY_CAST` gives NULL).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CastTextError {
    /// `BinaryStringDataUtil`'s `NumberFormatException`.
    #[error("For input string: '{input}'. {reason}")]
    Number {
        /// The text, as given.
        input: String,
        /// Flink's reason ("Overflow.", "Invalid character found.", ...).
        reason: &'static str,
    },
    /// `BinaryStringDataUtil.toBoolean`.
    #[error("Cannot parse '{0}' as BOOLEAN.")]
    Boolean(String),
    /// `new BigDecimal(text)`'s `NumberFormatException`.
    #[error("Character array is not a valid decimal number: {0}")]
    Decimal(String),
}

/// For callers whose errors are still text (the executor's JSON decoders), so `?` keeps
/// working with the same message.
impl From<CastTextError> for String {
    fn from(e: CastTextError) -> String {
        e.to_string()
    }
}

/// Flink's `BinaryStringData.trim()`: removes leading and trailing U+0020 only.
pub fn trim_spaces(s: &str) -> &str {
    s.trim_matches(' ')
}

fn number_error(s: &str, reason: &'static str) -> CastTextError {
    CastTextError::Number {
        input: s.to_owned(),
        reason,
    }
}

/// `BinaryStringDataUtil.toLong`: an optional sign, digits, and an optional `.digits` that is
/// dropped (`"1.5"` → 1, `"."` → 0); anything else, or overflow, is an error.
pub fn to_long(s: &str) -> Result<i64, CastTextError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(number_error(s, "Input is empty."));
    }
    let negative = b[0] == b'-';
    let mut i = usize::from(negative || b[0] == b'+');
    if i == 1 && b.len() == 1 {
        return Err(number_error(
            s,
            "Input has only positive or negative symbol.",
        ));
    }
    // Accumulated negatively, as Java does, so that MIN_VALUE parses.
    let mut result: i64 = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c == b'.' {
            break;
        }
        if !c.is_ascii_digit() {
            return Err(number_error(s, "Invalid character found."));
        }
        result = result
            .checked_mul(10)
            .and_then(|r| r.checked_sub(i64::from(c - b'0')))
            .ok_or_else(|| number_error(s, "Overflow."))?;
    }
    if b[i..].iter().any(|c| !c.is_ascii_digit()) {
        return Err(number_error(s, "Invalid character found."));
    }
    if negative {
        Ok(result)
    } else {
        result
            .checked_neg()
            .ok_or_else(|| number_error(s, "Overflow."))
    }
}

/// `BinaryStringDataUtil.toInt` (and `toShort`/`toByte` with `min`/`max`): as [`to_long`], in
/// the narrower range.
pub fn to_int(s: &str, min: i64, max: i64) -> Result<i64, CastTextError> {
    let v = to_long(s)?;
    if v < i64::from(i32::MIN) || v > i64::from(i32::MAX) || v < min || v > max {
        return Err(number_error(s, "Overflow."));
    }
    Ok(v)
}

/// `BinaryStringDataUtil.toBoolean`: lower-cased, not trimmed, `t true y yes 1` / `f false n no
/// 0`.
pub fn to_boolean(s: &str) -> Result<bool, CastTextError> {
    if s.len() <= 5 {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "t" | "true" | "y" | "yes" | "1" => return Ok(true),
            "f" | "false" | "n" | "no" | "0" => return Ok(false),
            _ => {}
        }
    }
    Err(CastTextError::Boolean(s.to_owned()))
}

/// A short decimal number read by Flink's compact parser: sign, its digits (including leading
/// zeros, which Flink counts) and the power of ten of the last digit.
struct CompactDecimal {
    negative: bool,
    digits: [u8; 18],
    len: usize,
    exponent: i64,
}

/// Rounds `digits × 10^exponent` HALF_UP to `scale` fraction digits: the unscaled value, or
/// `None` when it needs more than `precision` digits.
fn round_half_up(
    negative: bool,
    digits: &[u8],
    exponent: i64,
    precision: u8,
    scale: i8,
) -> Option<i128> {
    let significant = digits
        .iter()
        .position(|&c| c != b'0')
        .map_or(&digits[digits.len()..], |p| &digits[p..]);
    let shift = exponent + i64::from(scale);
    let mut unscaled: i128 = 0;
    let keep = if shift >= 0 {
        significant.len()
    } else {
        significant
            .len()
            .saturating_sub(usize::try_from(-shift).unwrap_or(usize::MAX))
    };
    for &c in &significant[..keep] {
        unscaled = unscaled
            .checked_mul(10)?
            .checked_add(i128::from(c - b'0'))?;
    }
    if shift > 0 {
        for _ in 0..shift {
            unscaled = unscaled.checked_mul(10)?;
            if unscaled >= 10i128.pow(u32::from(precision)) {
                return None;
            }
        }
    } else if shift < 0 && keep < significant.len() && significant[keep] >= b'5' {
        unscaled += 1;
    }
    if unscaled >= 10i128.pow(u32::from(precision)) {
        return None;
    }
    Some(if negative { -unscaled } else { unscaled })
}

/// `DecimalData.fromBigDecimal(new BigDecimal(text), precision, scale)`: HALF_UP to `scale`;
/// `Ok(None)` when it does not fit `precision`; an error when `text` is not a number.
pub fn big_decimal(text: &str, precision: u8, scale: i8) -> Result<Option<i128>, CastTextError> {
    let (negative, digits, exponent) =
        decimal_parts(text).ok_or_else(|| CastTextError::Decimal(text.to_owned()))?;
    Ok(round_half_up(
        negative,
        digits.as_bytes(),
        exponent,
        precision,
        scale,
    ))
}

/// `BinaryStringDataUtil.toDecimal`: CAST(STRING AS DECIMAL(p, s)), HALF_UP; invalid text and
/// overflow are errors (NULL for TRY_CAST).
pub fn to_decimal(s: &str, precision: u8, scale: i8) -> Result<i128, CastTextError> {
    let overflow = || number_error(s, "Overflow.");
    if precision > 18 || s.len() > 18 {
        let t = s.trim_matches([' ', '\n', '\t']);
        return big_decimal(t, precision, scale)
            .ok()
            .flatten()
            .ok_or_else(overflow);
    }
    let d = compact_decimal_text(s).ok_or_else(overflow)?;
    // The compact parser checks the digit count including leading zeros.
    let change = d.exponent + i64::from(scale);
    if d.len as i64 + change > i64::from(precision) {
        return Err(overflow());
    }
    round_half_up(d.negative, &d.digits[..d.len], d.exponent, precision, scale).ok_or_else(overflow)
}

/// `BinaryStringDataUtil.toDecimalFromBytes`'s reading of the text (with its quirks: one
/// trailing character after the number is not checked, `"1e"` is 1).
fn compact_decimal_text(s: &str) -> Option<CompactDecimal> {
    let b = s.as_bytes();
    let ws = |c: u8| c == b' ' || c == b'\n' || c == b'\t';
    let mut i = 0;
    while i < b.len() && ws(b[i]) {
        i += 1;
    }
    if i == b.len() {
        return None;
    }
    let negative = b[i] == b'-';
    if negative || b[i] == b'+' {
        i += 1;
        if i == b.len() {
            return None;
        }
    }
    let mut d = CompactDecimal {
        negative,
        digits: [0; 18],
        len: 0,
        exponent: 0,
    };
    let mut point: Option<usize> = None;
    let mut last = 0u8;
    while i < b.len() {
        last = b[i];
        i += 1;
        if last.is_ascii_digit() {
            // At most 18 bytes of text, so at most 18 digits.
            d.digits[d.len] = last;
            d.len += 1;
        } else if last == b'.' {
            if point.is_some() {
                return None;
            }
            point = Some(d.len);
        } else {
            break;
        }
    }
    d.exponent = -((d.len - point.unwrap_or(d.len)) as i64);
    if (last == b'e' || last == b'E') && i < b.len() {
        let mut c = b[i];
        let exp_negative = c == b'-';
        if exp_negative || c == b'+' {
            i += 1;
            if i == b.len() {
                return None;
            }
        }
        let mut e: i64 = 0;
        let mut count = 0;
        while i < b.len() {
            c = b[i];
            i += 1;
            if c.is_ascii_digit() {
                if count < 40 {
                    e = e * 10 + i64::from(c - b'0');
                }
                count += 1;
            } else {
                break;
            }
        }
        d.exponent += if exp_negative { -e } else { e };
    }
    while i < b.len() {
        if !ws(b[i]) {
            return None;
        }
        i += 1;
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_drop_fractions_and_reject_the_rest() {
        assert_eq!(to_long("12"), Ok(12));
        assert_eq!(to_long("+7"), Ok(7));
        assert_eq!(to_long("-1.5"), Ok(-1));
        assert_eq!(to_long("007"), Ok(7));
        assert_eq!(to_long("."), Ok(0));
        assert_eq!(to_long("-9223372036854775808"), Ok(i64::MIN));
        assert!(to_long("9223372036854775808").is_err());
        assert!(to_long("1e3").is_err());
        assert!(to_long("").is_err());
        assert!(to_long("-").is_err());
        assert!(to_long("1.5x").is_err());
        assert!(to_int("2147483648", i64::MIN, i64::MAX).is_err());
        assert!(to_int("128", -128, 127).is_err());
        assert_eq!(
            to_long("1.5x").unwrap_err().to_string(),
            "For input string: '1.5x'. Invalid character found."
        );
    }

    #[test]
    fn booleans() {
        assert_eq!(to_boolean("YES"), Ok(true));
        assert_eq!(to_boolean("0"), Ok(false));
        assert!(to_boolean(" true ").is_err());
        assert_eq!(
            to_boolean(" true ").unwrap_err().to_string(),
            "Cannot parse ' true ' as BOOLEAN."
        );
    }

    #[test]
    fn decimals_round_half_up_with_flinks_quirks() {
        assert_eq!(to_decimal("1.005", 10, 2), Ok(101));
        assert_eq!(to_decimal(" 12 ", 10, 2), Ok(1200));
        assert_eq!(to_decimal("-1.5", 10, 2), Ok(-150));
        assert_eq!(to_decimal("1e2", 10, 2), Ok(10000));
        assert_eq!(to_decimal("12x", 10, 2), Ok(1200));
        assert!(to_decimal("12xy", 10, 2).is_err());
        assert!(to_decimal("123456789.12", 10, 2).is_err());
        assert!(to_decimal("abc", 10, 2).is_err());
        assert_eq!(to_decimal("-0.05", 10, 1), Ok(-1));
        assert_eq!(big_decimal("2.675", 10, 2), Ok(Some(268)));
        assert_eq!(big_decimal("1E+10", 10, 2), Ok(None));
    }
}
