//! Java's `java.text.SimpleDateFormat` (en_US, time zone UTC, lenient), as Flink's
//! `DATE_FORMAT(STRING, ...)`, `UNIX_TIMESTAMP`, `TO_DATE(s, fmt)` and `FROM_UNIXTIME` use it.
//! Its letters differ from `DateTimeFormatter`'s ([`super::time`]): `u` is the ISO day of
//! the week, `S` the milliseconds.
//!
//! Parsing is lenient and reads a prefix: spaces before a number are skipped, numbers may be
//! negative or out of range and roll over (`2024-13-45 25:61:61` is `2025-02-15 02:02:01`), and
//! text after the pattern is ignored. Dates use the proleptic Gregorian calendar (Java switches
//! to the Julian calendar before 1582-10-15).

use std::fmt::Write as _;

use super::PatternError;
use super::time::MONTHS;
use crate::calendar::{MILLIS_PER_DAY, civil_from_days, days_from_civil};

/// Sunday first, as `Calendar.DAY_OF_WEEK`.
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A compiled `SimpleDateFormat` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleDateFormat {
    items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Literal(String),
    Field(char, usize),
}

/// The broken-down UTC time of epoch milliseconds.
struct Fields {
    year: i64,
    month: u32,
    day: u32,
    day_of_year: i64,
    /// 1 = Sunday.
    day_of_week: u32,
    millis_of_day: i64,
    days: i64,
}

impl Fields {
    fn of(millis: i64) -> Fields {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Fields {
            year,
            month,
            day,
            day_of_year: days - days_from_civil(year, 1, 1) + 1,
            day_of_week: ((days + 4).rem_euclid(7) + 1) as u32,
            millis_of_day: millis.rem_euclid(MILLIS_PER_DAY),
            days,
        }
    }

    /// `Calendar.WEEK_OF_YEAR` for en_US (weeks start on Sunday, week 1 has at least a day).
    fn week_of_year(&self) -> i64 {
        let next_jan1 = days_from_civil(self.year + 1, 1, 1);
        let saturday = self.days + (7 - i64::from(self.day_of_week));
        if saturday >= next_jan1 {
            return 1;
        }
        let jan1 = days_from_civil(self.year, 1, 1);
        let jan1_dow = (jan1 + 4).rem_euclid(7);
        (self.day_of_year - 1 + jan1_dow) / 7 + 1
    }

    fn week_year(&self) -> i64 {
        if self.month == 12 && self.week_of_year() == 1 {
            self.year + 1
        } else {
            self.year
        }
    }
}

fn is_pattern_letter(c: char) -> bool {
    "GyMdkHmsSEDFwWahKzZYuXL".contains(c)
}

/// Whether a field of this letter and count is numeric when parsed next to another.
fn obeys_count(letter: char, count: usize) -> bool {
    match letter {
        'M' | 'L' => count <= 2,
        'y' | 'd' | 'k' | 'H' | 'm' | 's' | 'S' | 'D' | 'F' | 'w' | 'W' | 'h' | 'K' | 'Y' | 'u' => {
            true
        }
        _ => false,
    }
}

impl SimpleDateFormat {
    /// Compiles a pattern; the error is Java's (`Illegal pattern character 'b'`).
    pub fn compile(pattern: &str) -> Result<SimpleDateFormat, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items: Vec<Item> = Vec::new();
        let literal = |items: &mut Vec<Item>, c: char| match items.last_mut() {
            Some(Item::Literal(s)) => s.push(c),
            _ => items.push(Item::Literal(c.to_string())),
        };
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal(&mut items, '\'');
                    i += 2;
                    continue;
                }
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(PatternError::UnterminatedQuote),
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            literal(&mut items, '\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&q) => {
                            literal(&mut items, q);
                            j += 1;
                        }
                    }
                }
                i = j + 1;
            } else if c.is_ascii_alphabetic() {
                if !is_pattern_letter(c) {
                    return Err(PatternError::IllegalCharacter(c));
                }
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                items.push(Item::Field(c, n));
                i += n;
            } else {
                literal(&mut items, c);
                i += 1;
            }
        }
        Ok(SimpleDateFormat { items })
    }

    /// Formats epoch milliseconds (UTC), appending to `out`.
    pub fn format_into(&self, millis: i64, out: &mut String) {
        let f = Fields::of(millis);
        let ms = f.millis_of_day;
        let hour = ms / 3_600_000;
        for item in &self.items {
            let (c, n) = match item {
                Item::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Item::Field(c, n) => (*c, *n),
            };
            let number = |out: &mut String, v: i64| {
                let _ = write!(out, "{v:0n$}");
            };
            let text = |out: &mut String, full: &str| {
                if n >= 4 {
                    out.push_str(full);
                } else {
                    out.push_str(&full[..3]);
                }
            };
            match c {
                'G' => out.push_str(if f.year > 0 { "AD" } else { "BC" }),
                'y' | 'Y' => {
                    let y = if c == 'y' { f.year } else { f.week_year() };
                    let y = if y > 0 { y } else { 1 - y };
                    if n == 2 {
                        let _ = write!(out, "{:02}", y % 100);
                    } else {
                        number(out, y);
                    }
                }
                'M' | 'L' if n >= 3 => text(out, MONTHS[f.month as usize - 1]),
                'M' | 'L' => number(out, i64::from(f.month)),
                'd' => number(out, i64::from(f.day)),
                'H' => number(out, hour),
                'k' => number(out, if hour == 0 { 24 } else { hour }),
                'K' => number(out, hour % 12),
                'h' => number(out, if hour % 12 == 0 { 12 } else { hour % 12 }),
                'm' => number(out, ms / 60_000 % 60),
                's' => number(out, ms / 1000 % 60),
                'S' => number(out, ms % 1000),
                'E' => text(out, DAYS[f.day_of_week as usize - 1]),
                'u' => number(out, (i64::from(f.day_of_week) + 5) % 7 + 1),
                'D' => number(out, f.day_of_year),
                'F' => number(out, (i64::from(f.day) - 1) / 7 + 1),
                'w' => number(out, f.week_of_year()),
                'W' => {
                    let first = (f.days - i64::from(f.day) + 1 + 4).rem_euclid(7);
                    number(out, (i64::from(f.day) - 1 + first) / 7 + 1)
                }
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'z' => out.push_str(if n >= 4 {
                    "Coordinated Universal Time"
                } else {
                    "UTC"
                }),
                'Z' => out.push_str("+0000"),
                'X' => out.push('Z'),
                _ => {}
            }
        }
    }

    /// Formats epoch milliseconds into a new string.
    pub fn format(&self, millis: i64) -> String {
        let mut s = String::with_capacity(24);
        self.format_into(millis, &mut s);
        s
    }

    /// `parse(text)`: epoch milliseconds (UTC) of the longest prefix of `text` that matches,
    /// leniently; `None` where Java throws `ParseException`.
    pub fn parse(&self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        let mut pos = 0usize;
        let mut p = Parsed::default();
        for (idx, item) in self.items.iter().enumerate() {
            let (c, n) = match item {
                Item::Literal(s) => {
                    if !text[pos..].starts_with(s.as_str()) {
                        return None;
                    }
                    pos += s.len();
                    continue;
                }
                Item::Field(c, n) => (*c, *n),
            };
            let obey =
                matches!(self.items.get(idx + 1), Some(Item::Field(c, n)) if obeys_count(*c, *n));
            // Spaces and tabs before a field are skipped; the end of the text fails.
            while b.get(pos).is_some_and(|&c| c == b' ' || c == b'\t') {
                pos += 1;
            }
            if pos >= b.len() {
                return None;
            }
            match c {
                'M' | 'L' if n >= 3 => p.month = Some(match_text(text, &mut pos, &MONTHS)? as i64),
                'E' => {
                    match_text(text, &mut pos, &DAYS)?;
                }
                'a' => {
                    let i = match_text(text, &mut pos, &["AM", "PM"])?;
                    p.pm = Some(i == 1);
                }
                'G' => {
                    match_text(text, &mut pos, &["BC", "AD"])?;
                }
                'z' | 'Z' | 'X' => return None,
                _ => {
                    let start = pos;
                    let limit = if obey {
                        (pos + n).min(b.len())
                    } else {
                        b.len()
                    };
                    let v = parse_number(b, &mut pos, limit)?;
                    match c {
                        'y' => {
                            p.year =
                                Some(if n <= 2 && pos - start == 2 && b[start].is_ascii_digit() {
                                    two_digit_year(v)
                                } else {
                                    v
                                });
                        }
                        'M' | 'L' => p.month = Some(v - 1),
                        'd' => p.day = Some(v),
                        'H' => p.hour_of_day = Some(v),
                        'k' => p.hour_of_day = Some(if v == 24 { 0 } else { v }),
                        'K' => p.hour = Some(v),
                        'h' => p.hour = Some(if v == 12 { 0 } else { v }),
                        'm' => p.minute = Some(v),
                        's' => p.second = Some(v),
                        'S' => p.millis = Some(v),
                        'D' => p.day_of_year = Some(v),
                        _ => {}
                    }
                }
            }
        }
        p.epoch_millis()
    }
}

/// A two-digit year within 80 years before and 20 after now, as `SimpleDateFormat` resolves it.
fn two_digit_year(v: i64) -> i64 {
    let now_year = civil_from_days(chrono::Utc::now().timestamp().div_euclid(86_400)).0;
    let start = now_year - 80;
    let mut y = start / 100 * 100 + v;
    if y < start {
        y += 100;
    }
    y
}

/// `DecimalFormat.parse` of an integer (grouping off): an optional `-` and digits, up to
/// `limit`.
fn parse_number(b: &[u8], pos: &mut usize, limit: usize) -> Option<i64> {
    let mut i = *pos;
    let negative = i < limit && b[i] == b'-';
    if negative {
        i += 1;
    }
    let digits_start = i;
    let mut v: i64 = 0;
    while i < limit && b[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(i64::from(b[i] - b'0'));
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    *pos = i;
    Some(if negative { -v } else { v })
}

/// The index of the longest of `names` (or their 3-letter forms) at `*pos`, case-insensitively.
fn match_text(text: &str, pos: &mut usize, names: &[&str]) -> Option<usize> {
    let rest = &text.as_bytes()[*pos..];
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        for candidate in [*name, &name[..name.len().min(3)]] {
            let len = candidate.len();
            if rest.len() >= len
                && rest[..len].eq_ignore_ascii_case(candidate.as_bytes())
                && best.is_none_or(|(_, l)| len > l)
            {
                best = Some((i, len));
            }
        }
    }
    let (i, len) = best?;
    *pos += len;
    Some(i)
}

/// Calendar fields read by [`SimpleDateFormat::parse`], resolved leniently.
#[derive(Default)]
struct Parsed {
    year: Option<i64>,
    /// 0-based, as `Calendar.MONTH`.
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour_of_day: Option<i64>,
    hour: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    millis: Option<i64>,
}

impl Parsed {
    fn epoch_millis(&self) -> Option<i64> {
        let year = self.year.unwrap_or(1970);
        let days = match (self.day_of_year, self.day) {
            (Some(doy), None) => days_from_civil(year, 1, 1).checked_add(doy - 1)?,
            _ => {
                let m0 = self.month.unwrap_or(0);
                let y = year.checked_add(m0.div_euclid(12))?;
                let m = (m0.rem_euclid(12) + 1) as u32;
                days_from_civil(y, m, 1).checked_add(self.day.unwrap_or(1) - 1)?
            }
        };
        let hour = match (self.hour_of_day, self.hour) {
            (Some(h), _) => h,
            (None, Some(h)) => h + if self.pm == Some(true) { 12 } else { 0 },
            (None, None) => {
                if self.pm == Some(true) {
                    12
                } else {
                    0
                }
            }
        };
        days.checked_mul(MILLIS_PER_DAY)?
            .checked_add(hour.checked_mul(3_600_000)?)?
            .checked_add(self.minute.unwrap_or(0).checked_mul(60_000)?)?
            .checked_add(self.second.unwrap_or(0).checked_mul(1000)?)?
            .checked_add(self.millis.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdf(p: &str) -> SimpleDateFormat {
        SimpleDateFormat::compile(p).unwrap()
    }

    fn reformat(text: &str, to: &str) -> Option<String> {
        sdf("yyyy-MM-dd HH:mm:ss")
            .parse(text)
            .map(|ms| sdf(to).format(ms))
    }

    #[test]
    fn lenient_prefix_parsing() {
        assert_eq!(
            reformat("2024-01-02 10:11:12.345", "yyyy-MM-dd HH:mm:ss.SSS").as_deref(),
            Some("2024-01-02 10:11:12.000")
        );
        assert_eq!(
            reformat("2024-13-45 25:61:61", "yyyy-MM-dd HH:mm:ss").as_deref(),
            Some("2025-02-15 02:02:01")
        );
        assert_eq!(
            reformat("  2024-1-2 3:4:5", "yyyy-MM-dd HH").as_deref(),
            Some("2024-01-02 03")
        );
        assert_eq!(reformat("2024-01-02T10:11:12", "yyyy"), None);
        assert_eq!(reformat("2024-01-02", "yyyy"), None);
        assert_eq!(reformat("garbage", "yyyy"), None);
    }

    #[test]
    fn adjacent_numbers_obey_their_count() {
        let ms = sdf("yyyyMMdd").parse("2024-01-02").unwrap();
        assert_eq!(sdf("yyyy-MM-dd").format(ms), "2023-12-01");
        let ms = sdf("yyyyMMdd").parse("2024-1-2").unwrap();
        assert_eq!(sdf("yyyy-MM-dd").format(ms), "2023-10-29");
        assert_eq!(
            sdf("yyyy-MM-dd").format(sdf("yyyyMMdd").parse("20240102").unwrap()),
            "2024-01-02"
        );
    }

    #[test]
    fn simple_date_format_letters() {
        let ms = sdf("yyyy-MM-dd HH:mm:ss")
            .parse("2024-01-02 09:05:06")
            .unwrap()
            + 78;
        assert_eq!(sdf("EEE EEEE u S SSS").format(ms), "Tue Tuesday 2 78 078");
        assert_eq!(
            sdf("MMM MMMM yy D h a k").format(ms),
            "Jan January 24 2 9 AM 9"
        );
        assert_eq!(sdf("'T'''").format(ms), "T'");
        assert!(
            SimpleDateFormat::compile("yyyy b")
                .unwrap_err()
                .to_string()
                .contains("Illegal pattern character 'b'")
        );
    }
}
