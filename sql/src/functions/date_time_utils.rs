//! Dates, times and timestamps read from text as Flink's SQL reads them: `CAST(... AS
//! DATE/TIME/TIMESTAMP)`, `TO_DATE`, `TO_TIMESTAMP` and the other functions that parse
//! without a format go through `org.apache.flink.table.utils.DateTimeUtils` (`parseDate`,
//! `parseTime`, `parseTimestampData`), which is lenient: one-digit months and days, a time after
//! a date, a day past the month's end clamped.
//!
//! Flink's JSON format reads the same types differently, with `java.time` formatters
//! (`JsonToRowDataConverters` with `ISO_LOCAL_DATE` and `TimeFormats.SQL_TIMESTAMP_FORMAT` /
//! `ISO8601_TIMESTAMP_FORMAT`: exactly `yyyy-MM-dd`, two-digit fields): that is the executor's
//! `format::json::time`. The two must stay apart: `'2024-1-2'` is a DATE to `CAST` and an
//! error to the JSON decoder, in Flink and so in Sluice.
//!
//! Dates are epoch days, times milliseconds of the day, timestamps epoch nanoseconds of the
//! wall-clock time.

use crate::calendar::{days_from_civil, days_in_month, epoch_nanos};
use crate::java::parse::{java_parse_int, java_trim};

/// An unsigned number of a date or time (`DateTimeUtils`' `isInteger` then `Integer.parseInt`):
/// trimmed, digits only, at most 2^31-1.
fn unsigned_int(t: &str) -> Option<i32> {
    let t = java_trim(t);
    if t.is_empty() || !t.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    java_parse_int(t)
}

/// `DateTimeUtils.parseDate`: the text before the first space (if not at position 0), then
/// `y`, `y-m` or `y-m-d` of unsigned integers (each trimmed); `None` when not a valid date.
pub fn parse_date(s: &str) -> Option<i32> {
    let s = match s.find(' ') {
        Some(ws) if ws > 0 => &s[..ws],
        _ => s,
    };
    let int = |t: &str| unsigned_int(t).map(i64::from);
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

/// `DateTimeUtils.parseTime`: `h[:m[:s[.fraction]]]` of unsigned integers, with an optional
/// `±hh[:mm]` offset added; milliseconds of the day (not range-checked, as in Flink).
pub fn parse_time(v: &str) -> Option<i32> {
    let int = unsigned_int;
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
