//! Date and time text of Flink's JSON format (`TimeFormats`): parsing with the exact accepted
//! patterns, and writing with trailing fraction zeros removed.
//!
//! These are the JSON format's rules (`JsonParserToRowDataConverters` with `java.time`'s
//! `ISO_LOCAL_DATE` and `TimeFormats.SQL_TIMESTAMP_FORMAT`/`ISO8601_TIMESTAMP_FORMAT`): strict,
//! two-digit fields. SQL's `CAST(s AS DATE/TIMESTAMP)` reads text with Flink's lenient
//! `DateTimeUtils` instead (`sluice_sql`'s `functions::date_time_utils`): `'2024-1-2'` is a DATE
//! there and an error here, in Flink too, so the two stay apart.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::TimestampStandard;

fn digits(b: &[u8], from: usize, n: usize) -> Option<u32> {
    let s = b.get(from..from + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// `ISO_LOCAL_DATE`: exactly `yyyy-MM-dd`.
pub fn parse_iso_local_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(digits(b, 0, 4)? as i32, digits(b, 5, 2)?, digits(b, 8, 2)?)
}

/// `ISO_LOCAL_DATE` (strict) to an epoch day: `yyyy-MM-dd`, a year of more than 4 digits with a
/// sign (`+12024-01-02`), a negative year with `-`.
pub fn parse_epoch_day(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let (sign, start) = match b.first()? {
        b'+' => (1, 1),
        b'-' => (-1, 1),
        _ => (1, 0),
    };
    let n = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
    // Without a sign exactly 4 digits; with '+' more than 4; at most 10.
    let ok = match (start, b.first()) {
        (0, _) => n == 4,
        (_, Some(b'+')) => (5..=10).contains(&n),
        _ => (4..=10).contains(&n),
    };
    if !ok {
        return None;
    }
    let year: i64 = sign * s[start..start + n].parse::<i64>().ok()?;
    let rest = &b[start + n..];
    if rest.len() != 6 || rest[0] != b'-' || rest[3] != b'-' {
        return None;
    }
    let (month, day) = (digits(rest, 1, 2)?, digits(rest, 4, 2)?);
    if !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let days_in_month = sluice_sql::calendar::days_in_month(year, month);
    if i64::from(day) > days_in_month || year.abs() > 999_999_999 {
        return None;
    }
    i32::try_from(sluice_sql::calendar::days_from_civil(year, month, day)).ok()
}

/// An optional `.` and 0–9 fraction digits at `pos`; returns (nanos, next position).
fn fraction(b: &[u8], pos: usize) -> Option<(u32, usize)> {
    if b.get(pos) != Some(&b'.') {
        return Some((0, pos));
    }
    let mut i = pos + 1;
    let mut nanos = 0u32;
    let mut n = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        if n == 9 {
            return None;
        }
        nanos = nanos * 10 + u32::from(b[i] - b'0');
        n += 1;
        i += 1;
    }
    Some((nanos * 10u32.pow(9 - n), i))
}

/// `HH:mm:ss[.f]` (SQL time); `24:00:00` is the next day's midnight (Java's SMART resolver).
fn time_of_day(b: &[u8], pos: usize, seconds_optional: bool) -> Option<(NaiveTime, bool, usize)> {
    let h = digits(b, pos, 2)?;
    if b.get(pos + 2) != Some(&b':') {
        return None;
    }
    let m = digits(b, pos + 3, 2)?;
    let mut i = pos + 5;
    let mut s = 0;
    let mut nanos = 0;
    if b.get(i) == Some(&b':') {
        s = digits(b, i + 1, 2)?;
        i += 3;
        (nanos, i) = fraction(b, i)?;
    } else if !seconds_optional {
        return None;
    }
    if h == 24 && m == 0 && s == 0 && nanos == 0 {
        return Some((NaiveTime::MIN, true, i));
    }
    Some((NaiveTime::from_hms_nano_opt(h, m, s, nanos)?, false, i))
}

/// A timestamp in the table's standard; with `ltz`, a trailing `Z` is required.
pub fn parse_timestamp(s: &str, standard: TimestampStandard, ltz: bool) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    let date = parse_iso_local_date(s.get(..10)?)?;
    let sep = *b.get(10)?;
    let (time, next_day, end) = match standard {
        TimestampStandard::Sql if sep == b' ' => time_of_day(b, 11, false)?,
        TimestampStandard::Iso8601 if sep == b'T' || sep == b't' => time_of_day(b, 11, true)?,
        _ => return None,
    };
    let end = if ltz {
        if b.get(end) != Some(&b'Z') {
            return None;
        }
        end + 1
    } else {
        end
    };
    if end != b.len() {
        return None;
    }
    let date = if next_day { date.succ_opt()? } else { date };
    Some(NaiveDateTime::new(date, time))
}

/// `HH:mm:ss[.f]` → milliseconds of the day (extra digits truncated).
pub fn parse_time_millis(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    let (t, next_day, end) = time_of_day(b, 0, false)?;
    if end != b.len() || next_day {
        return None;
    }
    Some((t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32)
}

/// Appends `.` and the fraction with trailing zeros removed; nothing when it is zero.
pub fn write_trimmed_fraction(out: &mut String, nanos: u32) {
    if nanos == 0 {
        return;
    }
    let mut n = nanos;
    let mut width = 9;
    while n.is_multiple_of(10) {
        n /= 10;
        width -= 1;
    }
    let _ = write!(out, ".{n:0width$}");
}

/// Appends a date as `yyyy-MM-dd` (years past 9999 with a `+`, as `ISO_LOCAL_DATE`).
pub fn write_date(out: &mut String, d: NaiveDate) {
    write_ymd(out, i64::from(d.year()), d.month(), d.day());
}

/// Appends an epoch day as `ISO_LOCAL_DATE` does, for any year (`+1705471-09-27`).
pub fn write_epoch_day(out: &mut String, days: i64) {
    let (y, m, d) = sluice_sql::calendar::civil_from_days(days);
    write_ymd(out, y, m, d);
}

fn write_ymd(out: &mut String, y: i64, m: u32, d: u32) {
    if y > 9999 {
        let _ = write!(out, "+{y}-{m:02}-{d:02}");
    } else if y < 0 {
        let _ = write!(out, "-{:04}-{m:02}-{d:02}", -y);
    } else {
        let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    }
}

/// Appends a timestamp as Flink's JSON writes it (`yyyy-MM-dd HH:mm:ss[.f]`, or with `T` for
/// ISO-8601), the fraction trimmed; `Z` appended for TIMESTAMP_LTZ.
pub fn write_timestamp(
    out: &mut String,
    dt: &NaiveDateTime,
    standard: TimestampStandard,
    ltz: bool,
) {
    write_date(out, dt.date());
    out.push(if standard == TimestampStandard::Sql {
        ' '
    } else {
        'T'
    });
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    write_trimmed_fraction(out, dt.nanosecond() % 1_000_000_000);
    if ltz {
        out.push('Z');
    }
}

/// Appends a time of day (milliseconds) as `HH:mm:ss[.fff]`, the fraction trimmed.
pub fn write_time_millis(out: &mut String, millis: i32) {
    let m = millis.rem_euclid(86_400_000) as u32;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        m / 3_600_000,
        m / 60_000 % 60,
        m / 1000 % 60
    );
    write_trimmed_fraction(out, (m % 1000) * 1_000_000);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str, std: TimestampStandard, ltz: bool) -> Option<String> {
        parse_timestamp(s, std, ltz).map(|d| {
            let mut o = String::new();
            write_timestamp(&mut o, &d, TimestampStandard::Sql, false);
            o
        })
    }

    #[test]
    fn sql_standard_is_strict() {
        use TimestampStandard::Sql;
        assert_eq!(
            ts("2024-01-02 10:11:12.345", Sql, false).as_deref(),
            Some("2024-01-02 10:11:12.345")
        );
        assert_eq!(
            ts("2024-01-02 10:11:12.", Sql, false).as_deref(),
            Some("2024-01-02 10:11:12")
        );
        assert_eq!(
            ts("2024-01-02 10:11:12.123456789", Sql, false).as_deref(),
            Some("2024-01-02 10:11:12.123456789")
        );
        assert_eq!(
            ts("2024-01-02 24:00:00", Sql, false).as_deref(),
            Some("2024-01-03 00:00:00")
        );
        for bad in [
            "2024-01-02T10:11:12",
            "2024-01-02 10:11",
            "2024-01-02",
            "2024-01-02 10:11:12Z",
            "2024-1-2 10:11:12",
            " 2024-01-02 10:11:12",
            "2024-01-02 10:11:12.1234567890",
        ] {
            assert_eq!(ts(bad, Sql, false), None, "{bad}");
        }
        assert_eq!(
            ts("2024-01-02 10:11:12Z", Sql, true).as_deref(),
            Some("2024-01-02 10:11:12")
        );
        assert_eq!(ts("2024-01-02 10:11:12", Sql, true), None);
    }

    #[test]
    fn iso_standard() {
        use TimestampStandard::Iso8601;
        assert_eq!(
            ts("2024-01-02T10:11", Iso8601, false).as_deref(),
            Some("2024-01-02 10:11:00")
        );
        assert_eq!(
            ts("2024-01-02t10:11:12.5", Iso8601, false).as_deref(),
            Some("2024-01-02 10:11:12.5")
        );
        assert_eq!(ts("2024-01-02 10:11:12", Iso8601, false), None);
        assert_eq!(ts("2024-01-02T10:11:12Z", Iso8601, false), None);
    }

    #[test]
    fn iso_local_dates() {
        assert_eq!(parse_epoch_day("2024-01-02"), Some(19724));
        assert!(parse_epoch_day("+12024-01-02").is_some());
        assert_eq!(parse_epoch_day("12024-01-02"), None);
        assert_eq!(parse_epoch_day("2024-1-2"), None);
        assert_eq!(parse_epoch_day("2024-02-30"), None);
        assert_eq!(parse_epoch_day(" 2024-01-02"), None);
        assert_eq!(parse_epoch_day("2024-01-02 10:11:12"), None);
        let mut s = String::new();
        write_epoch_day(&mut s, i64::from(parse_epoch_day("+12024-01-02").unwrap()));
        assert_eq!(s, "+12024-01-02");
    }

    #[test]
    fn fractions_are_trimmed_when_written() {
        let mut o = String::new();
        write_trimmed_fraction(&mut o, 100_000_000);
        assert_eq!(o, ".1");
        o.clear();
        write_time_millis(&mut o, 36_672_345);
        assert_eq!(o, "10:11:12.345");
    }
}
