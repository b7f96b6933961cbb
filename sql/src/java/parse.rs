//! Values read from text as the JDK reads them, where Flink hands text to the JDK:
//! `String.trim`, `Integer.parseInt`, `Double.parseDouble`, `Float.parseFloat`,
//! `new BigDecimal(String)`, `java.sql.Timestamp.valueOf` and `java.sql.Date.valueOf`.
//! (What Flink reads with its own code, `BinaryStringDataUtil` and `DateTimeUtils`, is in
//! `functions::cast_text` and `functions::date_time_utils`.)
//!
//! Timestamps are epoch nanoseconds of the wall-clock time, dates epoch days.

use crate::calendar::{days_from_civil, epoch_nanos};

/// Java's `NumberFormatException` from `Double.parseDouble`/`Float.parseFloat`, with its
/// message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("For input string: \"{input}\"")]
pub struct NumberFormatError {
    /// The text that is not a number, as given.
    pub input: String,
}

/// For callers whose errors are still text (the executor's JSON decoders), so `?` keeps
/// working and the message stays Java's.
impl From<NumberFormatError> for String {
    fn from(e: NumberFormatError) -> String {
        e.to_string()
    }
}

/// Java's `String.trim()`: removes characters up to U+0020 at both ends.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `Integer.parseInt`: an optional sign and digits, in `int` range; `None` where Java
/// throws `NumberFormatException`.
pub fn java_parse_int(s: &str) -> Option<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.trim_start_matches('+').parse::<i32>().ok()
}

/// Java's `Double.parseDouble`: trims, then a decimal number with optional exponent and
/// `f`/`d` suffix, or `NaN`/`Infinity` with an optional sign.
pub fn java_parse_double(s: &str) -> Result<f64, NumberFormatError> {
    java_float_text(s)?
        .parse::<f64>()
        .map_err(|_| NumberFormatError {
            input: s.to_owned(),
        })
}

/// Java's `Float.parseFloat` (rounded once, from the decimal text to `float`).
pub fn java_parse_float(s: &str) -> Result<f32, NumberFormatError> {
    java_float_text(s)?
        .parse::<f32>()
        .map_err(|_| NumberFormatError {
            input: s.to_owned(),
        })
}

/// The part of a Java floating-point literal that Rust's parser reads the same way.
fn java_float_text(s: &str) -> Result<&str, NumberFormatError> {
    let t = java_trim(s);
    let bad = || NumberFormatError {
        input: s.to_owned(),
    };
    let body = t.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(t);
    let unsigned = body.strip_prefix(['+', '-']).unwrap_or(body);
    match unsigned {
        "NaN" | "Infinity" if body.len() == t.len() => return Ok(body),
        "NaN" | "Infinity" => return Err(bad()),
        _ => {}
    }
    let bytes = unsigned.as_bytes();
    let mantissa_end = bytes
        .iter()
        .position(|&c| c == b'e' || c == b'E')
        .unwrap_or(bytes.len());
    let mantissa = &bytes[..mantissa_end];
    let digits = mantissa.iter().filter(|c| c.is_ascii_digit()).count();
    let dots = mantissa.iter().filter(|&&c| c == b'.').count();
    if digits == 0 || dots > 1 || digits + dots != mantissa.len() {
        return Err(bad());
    }
    if mantissa_end < bytes.len() {
        let exp = &bytes[mantissa_end + 1..];
        let exp = exp
            .strip_prefix(b"+")
            .or(exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
    }
    Ok(body)
}

/// `new BigDecimal(text)`: `[+-]digits[.digits][e[+-]digits]`, nothing else; (negative,
/// digits, exponent of the last digit).
pub fn decimal_parts(text: &str) -> Option<(bool, String, i64)> {
    let b = text.as_bytes();
    let (negative, rest) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let mantissa_end = rest
        .iter()
        .position(|&c| c == b'e' || c == b'E')
        .unwrap_or(rest.len());
    let mut exponent: i64 = 0;
    if mantissa_end < rest.len() {
        let e = std::str::from_utf8(&rest[mantissa_end + 1..]).ok()?;
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        exponent = e.parse::<i64>().ok()?;
    }
    let mut digits = String::new();
    let mut seen_dot = false;
    for &c in &rest[..mantissa_end] {
        match c {
            b'0'..=b'9' => {
                digits.push(c as char);
                if seen_dot {
                    exponent -= 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    if digits.is_empty() {
        return None;
    }
    Some((negative, digits, exponent))
}

/// Epoch days of a lenient `java.util.Date(year - 1900, month - 1, day)`: months and days out of
/// range roll over.
fn lenient_days(year: i64, month: i64, day: i64) -> i64 {
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let m = (m0.rem_euclid(12) + 1) as u32;
    days_from_civil(y, m, 1) + day - 1
}

/// `Integer.parseInt` widened, for the date-time arithmetic below.
fn int(s: &str) -> Option<i64> {
    java_parse_int(s).map(i64::from)
}

/// `java.sql.Timestamp.valueOf(text.trim())`: `yyyy-[m]m-[d]d h:m:s[.f]` (lenient values); epoch
/// nanoseconds.
pub fn sql_timestamp_value_of(s: &str) -> Option<i64> {
    let s = java_trim(s);
    let space = s.find(' ')?;
    let (date_s, time_s) = (&s[..space], &s[space + 1..]);
    let first_dash = date_s.find('-')?;
    let second_dash = first_dash + 1 + date_s[first_dash + 1..].find('-')?;
    if first_dash == 0 || second_dash >= date_s.len() - 1 {
        return None;
    }
    let (yyyy, mm, dd) = (
        &date_s[..first_dash],
        &date_s[first_dash + 1..second_dash],
        &date_s[second_dash + 1..],
    );
    if yyyy.len() != 4 || !(1..=2).contains(&mm.len()) || !(1..=2).contains(&dd.len()) {
        return None;
    }
    let (year, month, day) = (int(yyyy)?, int(mm)?, int(dd)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let first_colon = time_s.find(':')?;
    let second_colon = first_colon + 1 + time_s[first_colon + 1..].find(':')?;
    let len = time_s.len();
    if first_colon == 0 || second_colon >= len - 1 {
        return None;
    }
    let period = time_s[second_colon + 1..]
        .find('.')
        .map(|p| second_colon + 1 + p);
    let hour = int(&time_s[..first_colon])?;
    let minute = int(&time_s[first_colon + 1..second_colon])?;
    let (second, nanos) = match period {
        Some(p) if p < len - 1 => {
            let second = int(&time_s[second_colon + 1..p])?;
            let frac = &time_s[p + 1..];
            if frac.len() > 9 || !frac.as_bytes()[0].is_ascii_digit() {
                return None;
            }
            let mut n = int(frac)?;
            for _ in frac.len()..9 {
                n *= 10;
            }
            (second, n)
        }
        Some(_) => return None,
        None => (int(&time_s[second_colon + 1..])?, 0),
    };
    let days = lenient_days(year, month, day);
    epoch_nanos(days, hour * 3600 + minute * 60 + second, nanos)
}

/// `java.sql.Date.valueOf(text)`: `yyyy-[m]m-[d]d`; epoch days.
pub fn sql_date_value_of(s: &str) -> Option<i64> {
    let first_dash = s.find('-')?;
    let second_dash = first_dash + 1 + s[first_dash + 1..].find('-')?;
    let len = s.len();
    if first_dash != 4
        || !(2..=3).contains(&(second_dash - first_dash))
        || !(2..=3).contains(&(len - second_dash))
    {
        return None;
    }
    let year = int(&s[..first_dash])?;
    let month = int(&s[first_dash + 1..second_dash])?;
    let day = int(&s[second_dash + 1..])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(lenient_days(year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_as_java_parses_them() {
        assert_eq!(java_parse_double(" 12 "), Ok(12.0));
        assert_eq!(java_parse_double("1e3"), Ok(1000.0));
        assert!(java_parse_double("NaN").unwrap().is_nan());
        assert_eq!(java_parse_double("-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(java_parse_double("1.5f"), Ok(1.5));
        assert!(java_parse_double("abc").is_err());
        assert!(java_parse_double("").is_err());
        assert!(java_parse_double("1e").is_err());
        assert_eq!(
            java_parse_double("1e").unwrap_err().to_string(),
            "For input string: \"1e\""
        );
    }

    #[test]
    fn integers_as_java_parses_them() {
        assert_eq!(java_parse_int("+12"), Some(12));
        assert_eq!(java_parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(java_parse_int("2147483648"), None);
        assert_eq!(java_parse_int(" 1"), None);
        assert_eq!(java_parse_int("-"), None);
    }

    #[test]
    fn sql_timestamps_and_dates() {
        assert_eq!(
            sql_timestamp_value_of(" 2024-1-2 3:4:5.123456 "),
            Some(1_704_164_645_123_456_000)
        );
        assert_eq!(sql_timestamp_value_of("20240102 101112"), None);
        assert_eq!(sql_date_value_of("2024-01-02"), Some(19724));
        assert_eq!(sql_date_value_of("20240102"), None);
    }
}
