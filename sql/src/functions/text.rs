//! Values read from text exactly as Flink reads them: `BinaryStringDataUtil` (CAST from STRING),
//! `DateTimeUtils.parseDate/parseTime/parseTimestampData`, and the JDK parsers Flink falls back
//! to (`Double.parseDouble`, `java.sql.Timestamp.valueOf`, `java.sql.Date.valueOf`).
//!
//! Timestamps are epoch nanoseconds of the wall-clock time, dates epoch days, times
//! milliseconds of the day (Flink's internal representations, Sluice's Arrow ones).

use super::temporal::days_from_civil;

const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// Flink's `BinaryStringData.trim()`: removes leading and trailing U+0020 only.
pub fn trim_spaces(s: &str) -> &str {
    s.trim_matches(' ')
}

/// Java's `String.trim()`: removes characters up to U+0020 at both ends.
pub fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn number_error(s: &str, reason: &str) -> String {
    format!("For input string: '{s}'. {reason}")
}

/// `BinaryStringDataUtil.toLong`: an optional sign, digits, and an optional `.digits` that is
/// dropped (`"1.5"` → 1, `"."` → 0); anything else, or overflow, is an error.
pub fn to_long(s: &str) -> Result<i64, String> {
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
pub fn to_int(s: &str, min: i64, max: i64) -> Result<i64, String> {
    let v = to_long(s)?;
    if v < i64::from(i32::MIN) || v > i64::from(i32::MAX) || v < min || v > max {
        return Err(number_error(s, "Overflow."));
    }
    Ok(v)
}

/// `BinaryStringDataUtil.toBoolean`: lower-cased, not trimmed, `t true y yes 1` / `f false n no
/// 0`.
pub fn to_boolean(s: &str) -> Result<bool, String> {
    if s.len() <= 5 {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "t" | "true" | "y" | "yes" | "1" => return Ok(true),
            "f" | "false" | "n" | "no" | "0" => return Ok(false),
            _ => {}
        }
    }
    Err(format!("Cannot parse '{s}' as BOOLEAN."))
}

/// Java's `Double.parseDouble`: trims, then a decimal number with optional exponent and
/// `f`/`d` suffix, or `NaN`/`Infinity` with an optional sign.
pub fn java_parse_double(s: &str) -> Result<f64, String> {
    java_float_text(s)?
        .parse::<f64>()
        .map_err(|_| format!("For input string: \"{s}\""))
}

/// Java's `Float.parseFloat` (rounded once, from the decimal text to `float`).
pub fn java_parse_float(s: &str) -> Result<f32, String> {
    java_float_text(s)?
        .parse::<f32>()
        .map_err(|_| format!("For input string: \"{s}\""))
}

/// The part of a Java floating-point literal that Rust's parser reads the same way.
fn java_float_text(s: &str) -> Result<&str, String> {
    let t = java_trim(s);
    let bad = || format!("For input string: \"{s}\"");
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

/// A short decimal number read by Flink's compact parser: sign, its digits (including leading
/// zeros, which Flink counts) and the power of ten of the last digit.
struct CompactDecimal {
    negative: bool,
    digits: [u8; 18],
    len: usize,
    exponent: i64,
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
pub fn big_decimal(text: &str, precision: u8, scale: i8) -> Result<Option<i128>, String> {
    let (negative, digits, exponent) = decimal_parts(text)
        .ok_or_else(|| format!("Character array is not a valid decimal number: {text}"))?;
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
pub fn to_decimal(s: &str, precision: u8, scale: i8) -> Result<i128, String> {
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

/// `DateTimeUtils.parseDate`: the text before the first space (if not at position 0), then
/// `y`, `y-m` or `y-m-d` of unsigned integers (each trimmed); `None` when not a valid date.
pub fn parse_date(s: &str) -> Option<i32> {
    let s = match s.find(' ') {
        Some(ws) if ws > 0 => &s[..ws],
        _ => s,
    };
    let int = |t: &str| -> Option<i64> {
        let t = java_trim(t);
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        // Integer.parseInt: more than 2^31-1 is an error.
        t.parse::<i32>().ok().map(i64::from)
    };
    let (y, m, d) = match s.find('-') {
        None => (int(s)?, 1, 1),
        Some(h1) => {
            let y = int(&s[..h1])?;
            match s[h1 + 1..].find('-') {
                None => (y, int(&s[h1 + 1..])?, 1),
                Some(h2) => {
                    let h2 = h1 + 1 + h2;
                    (y, int(&s[h1 + 1..h2])?, int(&s[h2 + 1..])?)
                }
            }
        }
    };
    if !(0..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    if d > days_in_month(y, m as u32) {
        return None;
    }
    Some(days_from_civil(y, m as u32, d as u32) as i32)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in month `m` (1–12) of year `y` (proleptic Gregorian).
pub fn days_in_month(y: i64, m: u32) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `DateTimeUtils.parseTime`: `h[:m[:s[.fraction]]]` of unsigned integers, with an optional
/// `±hh[:mm]` offset added; milliseconds of the day (not range-checked, as in Flink).
pub fn parse_time(v: &str) -> Option<i32> {
    let int = |t: &str| -> Option<i32> {
        let t = java_trim(t);
        if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse::<i32>().ok()
    };
    let mut end = v.len();
    let (mut operator, mut tz) = (-1, v.find('-'));
    if tz.is_none() {
        tz = v.find('+');
        operator = 1;
    }
    let (mut tz_hour, mut tz_minute) = (0, 0);
    if let Some(t) = tz {
        end = t;
        match v[t..].find(':') {
            None => tz_hour = int(&v[t + 1..])?,
            Some(c3) => {
                let c3 = t + c3;
                tz_hour = int(&v[t + 1..c3])?;
                tz_minute = int(&v[c3 + 1..])?;
            }
        }
    }
    let colon1 = v.find(':');
    let (hour, minute, second, milli);
    match colon1 {
        None => {
            hour = int(v.get(..end)?)?;
            (minute, second, milli) = (0, 0, 0);
        }
        Some(c1) => {
            hour = int(v.get(..c1)?)?;
            match v[c1 + 1..].find(':') {
                None => {
                    minute = int(v.get(c1 + 1..end)?)?;
                    (second, milli) = (0, 0);
                }
                Some(c2) => {
                    let c2 = c1 + 1 + c2;
                    minute = int(v.get(c1 + 1..c2)?)?;
                    match v[c2..].find('.') {
                        None => {
                            second = int(v.get(c2 + 1..end)?)?;
                            milli = 0;
                        }
                        Some(dot) => {
                            let dot = c2 + dot;
                            second = int(v.get(c2 + 1..dot)?)?;
                            milli = parse_fraction(java_trim(v.get(dot + 1..end)?));
                        }
                    }
                }
            }
        }
    }
    let hour = hour.wrapping_add(operator * tz_hour);
    let minute = minute.wrapping_add(operator * tz_minute);
    Some(
        hour.wrapping_mul(3_600_000)
            .wrapping_add(minute.wrapping_mul(60_000))
            .wrapping_add(second.wrapping_mul(1000))
            .wrapping_add(milli),
    )
}

/// `DateTimeUtils.parseFraction`: milliseconds of a fraction's digits, rounded on the fourth.
fn parse_fraction(v: &str) -> i32 {
    let b = v.as_bytes();
    let mut multiplier = 100;
    let mut r = 0;
    for (i, &c) in b.iter().enumerate() {
        let x = if c.is_ascii_digit() {
            i32::from(c - b'0')
        } else {
            0
        };
        r += multiplier * x;
        if multiplier < 10 {
            if i + 1 < b.len() && b[i + 1] >= b'5' {
                r += 1;
            }
            break;
        }
        multiplier /= 10;
    }
    r
}

/// Takes 1 or 2 digits (`[XX][X]` in a `DateTimeFormatter` pattern) at `*pos`.
fn one_or_two_digits(b: &[u8], pos: &mut usize) -> Option<u32> {
    let n = b[*pos..].iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 2 {
        return None;
    }
    let v = b[*pos..*pos + n]
        .iter()
        .fold(0, |v, c| v * 10 + u32::from(c - b'0'));
    *pos += n;
    Some(v)
}

/// Epoch nanoseconds of a wall-clock date-time, `None` outside Arrow's nanosecond range.
pub fn epoch_nanos(days: i64, second_of_day: i64, nanos: i64) -> Option<i64> {
    days.checked_mul(NANOS_PER_DAY)?
        .checked_add(second_of_day.checked_mul(1_000_000_000)?)?
        .checked_add(nanos)
}

/// `DateTimeUtils.parseTimestampData(text, precision)`: Flink's lenient default pattern
/// `yyyy-[MM][M]-[dd][d][ [HH][H]:[mm][m]:[ss][s][.fffffffff]]` (the whole text, untrimmed,
/// SMART resolution), the fraction floored to `precision` digits.
pub fn parse_timestamp(s: &str, precision: u8) -> Option<i64> {
    let b = s.as_bytes();
    let mut pos = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !(4..=19).contains(&pos) {
        return None;
    }
    let year: i64 = s[..pos].parse().ok()?;
    if b.get(pos) != Some(&b'-') {
        return None;
    }
    pos += 1;
    let month = one_or_two_digits(b, &mut pos)?;
    if b.get(pos) != Some(&b'-') {
        return None;
    }
    pos += 1;
    let day = one_or_two_digits(b, &mut pos)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // SMART resolution clamps the day to the month's last.
    let day = i64::from(day).min(days_in_month(year, month));
    let mut days = days_from_civil(year, month, day as u32);
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0i64);
    if pos < b.len() {
        if b[pos] != b' ' {
            return None;
        }
        pos += 1;
        hour = one_or_two_digits(b, &mut pos)?;
        if b.get(pos) != Some(&b':') {
            return None;
        }
        pos += 1;
        minute = one_or_two_digits(b, &mut pos)?;
        if b.get(pos) != Some(&b':') {
            return None;
        }
        pos += 1;
        if b.get(pos).is_some_and(u8::is_ascii_digit) {
            second = one_or_two_digits(b, &mut pos)?;
        }
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let n = b[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n > 9 {
                return None;
            }
            for i in 0..9 {
                nanos = nanos * 10
                    + if i < n {
                        i64::from(b[pos + i] - b'0')
                    } else {
                        0
                    };
            }
            pos += n;
        }
        if pos != b.len() || minute > 59 || second > 59 {
            return None;
        }
        if hour == 24 && minute == 0 && second == 0 && nanos == 0 {
            hour = 0;
            days += 1;
        } else if hour > 23 {
            return None;
        }
    }
    let unit = 10i64.pow(9 - u32::from(precision.min(9)));
    let nanos = nanos - nanos % unit;
    epoch_nanos(
        days,
        i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second),
        nanos,
    )
}

/// Java's `Integer.parseInt` on a part of a text: optional sign, digits.
fn java_parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.trim_start_matches('+').parse::<i32>().ok().map(i64::from)
}

/// Epoch days of a lenient `java.util.Date(year - 1900, month - 1, day)`: months and days out of
/// range roll over.
fn lenient_days(year: i64, month: i64, day: i64) -> i64 {
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let m = (m0.rem_euclid(12) + 1) as u32;
    days_from_civil(y, m, 1) + day - 1
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
    let (year, month, day) = (
        java_parse_int(yyyy)?,
        java_parse_int(mm)?,
        java_parse_int(dd)?,
    );
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
    let hour = java_parse_int(&time_s[..first_colon])?;
    let minute = java_parse_int(&time_s[first_colon + 1..second_colon])?;
    let (second, nanos) = match period {
        Some(p) if p < len - 1 => {
            let second = java_parse_int(&time_s[second_colon + 1..p])?;
            let frac = &time_s[p + 1..];
            if frac.len() > 9 || !frac.as_bytes()[0].is_ascii_digit() {
                return None;
            }
            let mut n = java_parse_int(frac)?;
            for _ in frac.len()..9 {
                n *= 10;
            }
            (second, n)
        }
        Some(_) => return None,
        None => (java_parse_int(&time_s[second_colon + 1..])?, 0),
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
    let year = java_parse_int(&s[..first_dash])?;
    let month = java_parse_int(&s[first_dash + 1..second_dash])?;
    let day = java_parse_int(&s[second_dash + 1..])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(lenient_days(year, month, day))
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
    }

    #[test]
    fn booleans_and_doubles() {
        assert_eq!(to_boolean("YES"), Ok(true));
        assert_eq!(to_boolean("0"), Ok(false));
        assert!(to_boolean(" true ").is_err());
        assert_eq!(java_parse_double(" 12 "), Ok(12.0));
        assert_eq!(java_parse_double("1e3"), Ok(1000.0));
        assert!(java_parse_double("NaN").unwrap().is_nan());
        assert_eq!(java_parse_double("-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(java_parse_double("1.5f"), Ok(1.5));
        assert!(java_parse_double("abc").is_err());
        assert!(java_parse_double("").is_err());
        assert!(java_parse_double("1e").is_err());
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

    #[test]
    fn dates_and_times() {
        assert_eq!(parse_date("2024-01-02"), Some(19724));
        assert_eq!(parse_date("2024-1-2 10:11:12"), Some(19724));
        assert_eq!(parse_date("12"), Some(days_from_civil(12, 1, 1) as i32));
        assert_eq!(parse_date(" 12 "), Some(days_from_civil(12, 1, 1) as i32));
        assert_eq!(parse_date("2024-02-30"), None);
        assert_eq!(parse_date("abc"), None);
        assert_eq!(parse_date("2147483648"), None);
        assert_eq!(parse_time("10:11:12.345"), Some(36_672_345));
        assert_eq!(parse_time("10:11"), Some(36_660_000));
    }

    #[test]
    fn lenient_timestamps() {
        let ts = |s, p| parse_timestamp(s, p).map(|n| n / 1_000_000);
        assert_eq!(ts("2024-01-02 10:11:12", 3), Some(1_704_190_272_000));
        assert_eq!(ts("2024-1-2 3:4:5", 3), Some(1_704_164_645_000));
        assert_eq!(ts("2024-01-02", 3), Some(1_704_153_600_000));
        assert_eq!(
            parse_timestamp("2024-01-02 10:11:12.123456", 3),
            Some(1_704_190_272_123_000_000)
        );
        assert_eq!(ts("2024-01-02T10:11:12", 3), None);
        assert_eq!(ts("2024-01-02 10:11", 3), None);
        assert_eq!(ts(" 2024-01-02 10:11:12", 3), None);
        assert_eq!(ts("2024-02-30", 3), ts("2024-02-29", 3));
        assert_eq!(
            sql_timestamp_value_of(" 2024-1-2 3:4:5.123456 "),
            Some(1_704_164_645_123_456_000)
        );
        assert_eq!(sql_timestamp_value_of("20240102 101112"), None);
        assert_eq!(sql_date_value_of("2024-01-02"), Some(19724));
        assert_eq!(sql_date_value_of("20240102"), None);
    }
}
