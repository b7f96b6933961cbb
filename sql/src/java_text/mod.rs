//! Number and time text as Java (and so Flink's JSON output and `CAST(... AS STRING)`) writes
//! it: `Double.toString`, `Float.toString`, `BigDecimal.toString`.

use std::fmt::Write as _;

/// Appends `Double.toString(v)`: shortest round-trip digits; plain notation with at least one
/// fraction digit for 10^-3 ≤ |v| < 10^7 (`100.0`, `0.001`), else `d.dddE±n` (`1.0E7`, `1.0E-4`).
pub fn write_double(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
    } else {
        let mut buf = ryu::Buffer::new();
        write_java_digits(out, buf.format_finite(v), v.abs() >= 1e-3 && v.abs() < 1e7);
    }
}

/// Appends `Float.toString(v)` (same rules, `float` precision).
pub fn write_float(out: &mut String, v: f32) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
    } else {
        let mut buf = ryu::Buffer::new();
        write_java_digits(out, buf.format_finite(v), v.abs() >= 1e-3 && v.abs() < 1e7);
    }
}

/// Rewrites ryu's shortest text (`1e23`, `1.5e-7`, `123.45`, `0.001`) into Java's layout.
fn write_java_digits(out: &mut String, ryu: &str, plain: bool) {
    let (negative, body) = match ryu.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, ryu),
    };
    // Decompose into significant digits and the decimal exponent of the first digit.
    let (mantissa, exp_part) = match body.find('e') {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let mut digits = String::with_capacity(24);
    digits.push_str(int_part);
    digits.push_str(frac_part);
    // Position of the decimal point relative to the start of `digits`.
    let mut point = int_part.len() as i32 + exp_part;
    let leading = digits.bytes().take_while(|&b| b == b'0').count();
    digits.drain(..leading);
    point -= leading as i32;
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    if digits.is_empty() {
        digits.push('0');
    }
    if negative {
        out.push('-');
    }
    if plain {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        if digits.len() > 1 {
            out.push_str(&digits[1..]);
        } else {
            out.push('0');
        }
        let _ = write!(out, "E{}", point - 1);
    }
}

/// Appends `BigDecimal.toString()` of `unscaled × 10^-scale`: plain unless the adjusted exponent
/// is below -6 (then `1.23E-7`), as Jackson writes DECIMAL values; with `plain` always plain
/// (`toPlainString`, Flink's `json.encode.decimal-as-plain-number`).
pub fn write_decimal(out: &mut String, unscaled: i128, scale: i8, plain: bool) {
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let scale = i32::from(scale);
    let adjusted = digits.len() as i32 - 1 - scale;
    if negative {
        out.push('-');
    }
    if !plain && (scale < 0 || adjusted < -6) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "E{}{}", if adjusted >= 0 { "+" } else { "" }, adjusted);
        return;
    }
    if scale <= 0 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (-scale) as usize));
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        out.push_str(&digits[..digits.len() - scale]);
        out.push('.');
        out.push_str(&digits[digits.len() - scale..]);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: f64) -> String {
        let mut s = String::new();
        write_double(&mut s, v);
        s
    }

    fn f(v: f32) -> String {
        let mut s = String::new();
        write_float(&mut s, v);
        s
    }

    fn dec(u: i128, scale: i8) -> String {
        let mut s = String::new();
        write_decimal(&mut s, u, scale, false);
        s
    }

    #[test]
    fn doubles_as_java_writes_them() {
        assert_eq!(d(1.0), "1.0");
        assert_eq!(d(100.0), "100.0");
        assert_eq!(d(12.5), "12.5");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(0.0001), "1.0E-4");
        assert_eq!(d(1e7), "1.0E7");
        assert_eq!(d(9_999_999.0), "9999999.0");
        assert_eq!(d(1e10), "1.0E10");
        assert_eq!(d(1.2345678901234567e20), "1.2345678901234567E20");
        assert_eq!(d(-1.5e-5), "-1.5E-5");
        assert_eq!(d(-0.0), "-0.0");
        assert_eq!(d(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(d(f64::NAN), "NaN");
        assert_eq!(d(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(d(123_456.789), "123456.789");
    }

    #[test]
    fn floats_as_java_writes_them() {
        assert_eq!(f(1.1), "1.1");
        assert_eq!(f(1e10), "1.0E10");
        assert_eq!(f(0.5), "0.5");
    }

    #[test]
    fn decimals_as_big_decimal_to_string() {
        assert_eq!(dec(12345, 2), "123.45");
        assert_eq!(dec(-5, 2), "-0.05");
        assert_eq!(dec(100, 0), "100");
        assert_eq!(dec(1, 7), "1E-7");
        assert_eq!(dec(123, 9), "1.23E-7");
        assert_eq!(dec(1, 6), "0.000001");
        let mut s = String::new();
        write_decimal(&mut s, 1, 7, true);
        assert_eq!(s, "0.0000001");
    }
}
