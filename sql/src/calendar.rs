//! The proleptic Gregorian calendar on day numbers since 1970-01-01, for any year (chrono stops
//! at ±262143; Flink can produce dates beyond), and the day lengths Sluice's Arrow values count
//! in. A leaf: the Java emulation ([`crate::java`]) and Flink's functions ([`crate::functions`])
//! both build on it.

/// Milliseconds in a day (DATE and TIME arithmetic, `java.util.Date`).
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// Nanoseconds in a day (Sluice's TIMESTAMPs are epoch nanoseconds).
pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (any year; `month` 1–12, `day` as is).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian (year, month, day) of a day number since 1970-01-01, for any year.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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

/// Epoch nanoseconds of a wall-clock date-time, `None` outside Arrow's nanosecond range.
pub fn epoch_nanos(days: i64, second_of_day: i64, nanos: i64) -> Option<i64> {
    days.checked_mul(NANOS_PER_DAY)?
        .checked_add(second_of_day.checked_mul(1_000_000_000)?)?
        .checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 1, 2), 19724);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
        for d in [
            -800_000_000_000i64,
            -719_528,
            -1,
            0,
            19724,
            2_932_896,
            620_000_000,
        ] {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d, "{d}");
        }
        assert_eq!(civil_from_days(19724), (2024, 1, 2));
    }

    #[test]
    fn month_lengths_follow_the_leap_rule() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2023, 4), 30);
    }
}
