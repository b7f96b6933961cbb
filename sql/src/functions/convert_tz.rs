//! `CONVERT_TZ(text, from_zone, to_zone)`: the wall-clock time `text` (Flink's lenient
//! timestamp text) read in `from_zone` and written in `to_zone` as `yyyy-MM-dd HH:mm:ss`.
//! Zones are Java `TimeZone` ids: region ids (`America/Los_Angeles`), `UTC`, and custom
//! `GMT+hh:mm` offsets; an unknown id is GMT, as in Java.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;

use super::date_time_utils;
use super::rowwise::{Kind, Out, Returns, RowWise};

pub fn function() -> Arc<ScalarUDF> {
    use Kind::Str;
    RowWise::new(
        "convert_tz",
        &[&[Str, Str, Str]],
        Returns::Fixed(DataType::Utf8),
        |a| {
            let (Some(s), Some(from), Some(to)) = (a[0].str(), a[1].str(), a[2].str()) else {
                return Ok(Out::Null);
            };
            Ok(convert(s, from, to).map_or(Out::Null, Out::Str))
        },
    )
    .udf()
}

/// A Java `TimeZone` id.
enum Zone {
    Region(Tz),
    Fixed(FixedOffset),
}

fn zone(id: &str) -> Zone {
    if let Ok(tz) = Tz::from_str(id) {
        return Zone::Region(tz);
    }
    Zone::Fixed(custom_offset(id).unwrap_or_else(|| Utc.fix()))
}

/// `GMT[+-]h[h][[:]mm]`, Java's custom time zone ids.
fn custom_offset(id: &str) -> Option<FixedOffset> {
    let rest = id.strip_prefix("GMT")?;
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return None,
        None if rest.len() <= 2 => (rest, "0"),
        None if rest.len() == 4 => (&rest[..2], &rest[2..]),
        None => return None,
    };
    if h.is_empty() || h.len() > 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// The instant of wall-clock `local` in `zone`: the earlier of two in an overlap, and in a
/// gap the offset from before it (as `java.util.GregorianCalendar`).
fn instant(local: NaiveDateTime, zone: &Zone) -> Option<DateTime<Utc>> {
    match zone {
        Zone::Fixed(o) => o.from_local_datetime(&local).earliest().map(|d| d.to_utc()),
        Zone::Region(tz) => match tz.from_local_datetime(&local).earliest() {
            Some(d) => Some(d.to_utc()),
            None => {
                let before = tz
                    .offset_from_utc_datetime(&(local - chrono::Duration::days(1)))
                    .fix();
                Some(DateTime::<Utc>::from_naive_utc_and_offset(
                    local - chrono::Duration::seconds(i64::from(before.local_minus_utc())),
                    Utc,
                ))
            }
        },
    }
}

fn convert(s: &str, from: &str, to: &str) -> Option<String> {
    let nanos = date_time_utils::parse_timestamp(s, 3)?;
    let local = DateTime::from_timestamp(nanos.div_euclid(1_000_000_000), 0)?.naive_utc();
    let at = instant(local, &zone(from))?;
    let out = match zone(to) {
        Zone::Region(tz) => at.with_timezone(&tz).naive_local(),
        Zone::Fixed(o) => at.with_timezone(&o).naive_local(),
    };
    Some(out.format("%Y-%m-%d %H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_between_java_zone_ids() {
        let c = |s, f, t| convert(s, f, t).unwrap();
        assert_eq!(
            c("2024-01-02 10:11:12", "UTC", "America/Los_Angeles"),
            "2024-01-02 02:11:12"
        );
        assert_eq!(
            c("2024-03-10 10:30:00", "UTC", "America/Los_Angeles"),
            "2024-03-10 03:30:00"
        );
        assert_eq!(
            c("2024-01-02 10:11:12", "GMT+08:00", "Europe/Berlin"),
            "2024-01-02 03:11:12"
        );
        assert_eq!(
            c("2024-01-02 00:00:00.123", "UTC", "Asia/Kolkata"),
            "2024-01-02 05:30:00"
        );
        assert_eq!(
            c(
                "2024-06-15 12:00:00",
                "Asia/Kathmandu",
                "Australia/Adelaide"
            ),
            "2024-06-15 15:45:00"
        );
    }
}
