//! Number and time text as Java (and so Flink's JSON output and `CAST(... AS STRING)`) writes
//! it: `Double.toString`, `Float.toString`, `BigDecimal.toString`.

use std::fmt::Write as _;

pub mod floating_decimal;

/// Appends `Double.toString(v)` as JDK 17 writes it: plain notation with at least one fraction
/// digit for 10^-3 ≤ |v| < 10^7 (`100.0`, `0.001`), else `d.dddE±n` (`1.0E7`, `1.0E-4`), with the
/// digits of JDK 17's `FloatingDecimal` (not always the shortest: `1e23` → `9.999999999999999E22`).
pub fn write_double(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        if v.is_sign_negative() {
            out.push('-');
        }
        if v == 0.0 {
            out.push_str("0.0");
        } else {
            write_java_layout(out, &floating_decimal::double_digits(v));
        }
    }
}

/// Appends `Float.toString(v)` (same layout, `float` digits).
pub fn write_float(out: &mut String, v: f32) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        if v.is_sign_negative() {
            out.push('-');
        }
        if v == 0.0 {
            out.push_str("0.0");
        } else {
            write_java_layout(out, &floating_decimal::float_digits(v));
        }
    }
}

/// Java's `BinaryToASCIIBuffer.getChars` (after the sign).
fn write_java_layout(out: &mut String, d: &floating_decimal::Digits) {
    let digits = d.digits();
    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap_or("")
    }
    let e = d.dec_exponent;
    if e > 0 && e < 8 {
        let int_len = digits.len().min(e as usize);
        out.push_str(text(&digits[..int_len]));
        if int_len < e as usize {
            out.extend(std::iter::repeat_n('0', e as usize - int_len));
            out.push_str(".0");
        } else {
            out.push('.');
            if int_len < digits.len() {
                out.push_str(text(&digits[int_len..]));
            } else {
                out.push('0');
            }
        }
    } else if e <= 0 && e > -3 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-e) as usize));
        out.push_str(text(digits));
    } else {
        out.push_str(text(&digits[..1]));
        out.push('.');
        if digits.len() > 1 {
            out.push_str(text(&digits[1..]));
        } else {
            out.push('0');
        }
        let _ = write!(out, "E{}", e - 1);
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
        assert_eq!(d(1e23), "9.999999999999999E22");
        assert_eq!(d(5e-324), "4.9E-324");
        assert_eq!(d(2.82879384806159e17), "2.82879384806159008E17");
        assert_eq!(d(8.41e21), "8.409999999999999E21");
        assert_eq!(d(f64::MAX), "1.7976931348623157E308");
        assert_eq!(d(1.0e-5), "1.0E-5");
        assert_eq!(d(123_456_789_012.0), "1.23456789012E11");
    }

    #[test]
    fn floats_as_java_writes_them() {
        assert_eq!(f(1.1), "1.1");
        assert_eq!(f(1e10), "1.0E10");
        assert_eq!(f(0.5), "0.5");
        assert_eq!(f(1e-5), "1.0E-5");
        assert_eq!(f(16_777_216.0), "1.6777216E7");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(f32::MIN_POSITIVE), "1.17549435E-38");
        assert_eq!(f(1.4e-45), "1.4E-45");
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
