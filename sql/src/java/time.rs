//! Java `DateTimeFormatter.ofPattern(...)` patterns, as Flink's `DATE_FORMAT` and friends use
//! them: compiled once, then formatting a date-time without allocating per value.
//!
//! Pattern letters follow `java.time.format.DateTimeFormatterBuilder.appendPattern` (JDK 17),
//! with the English (ROOT/US) texts Flink's default locale produces.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};

use super::{PatternError, PatternProblem};

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq)]
pub struct JavaPattern {
    items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
enum Item {
    Literal(String),
    /// A number with at least `min` digits (zero-padded).
    Number(Field, usize),
    /// Two-digit year (`yy`).
    ReducedYear,
    /// `count` digits of the fraction of second (truncated).
    Fraction(usize),
    Text(TextField, TextStyle),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Field {
    Year,
    Month,
    DayOfMonth,
    DayOfYear,
    HourOfDay,
    ClockHourOfDay,
    HourOfAmPm,
    ClockHourOfAmPm,
    Minute,
    Second,
    MilliOfDay,
    NanoOfSecond,
    Quarter,
    DayOfWeekNumber,
    WeekOfWeekBasedYear,
    WeekBasedYear,
    AlignedWeekOfMonth,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum TextField {
    Month,
    DayOfWeek,
    AmPm,
    Era,
    Quarter,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum TextStyle {
    Short,
    Full,
    Narrow,
}

/// English month names, as both `java.time` and `SimpleDateFormat` print them.
pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

impl JavaPattern {
    /// Compiles a pattern; the error says which letter or count is not allowed.
    pub fn compile(pattern: &str) -> Result<JavaPattern, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut items = Vec::new();
        let mut i = 0;
        let push_literal = |items: &mut Vec<Item>, s: &str| {
            if let Some(Item::Literal(prev)) = items.last_mut() {
                prev.push_str(s);
            } else {
                items.push(Item::Literal(s.to_owned()));
            }
        };
        while i < chars.len() {
            let c = chars[i];
            if c.is_ascii_alphabetic() {
                let mut count = 1;
                while i + count < chars.len() && chars[i + count] == c {
                    count += 1;
                }
                items.push(letter(c, count).map_err(|problem| invalid(pattern, problem))?);
                i += count;
            } else if c == '\'' {
                // Quoted literal; '' is a single quote.
                let mut j = i + 1;
                let mut text = String::new();
                if j < chars.len() && chars[j] == '\'' {
                    push_literal(&mut items, "'");
                    i += 2;
                    continue;
                }
                loop {
                    if j >= chars.len() {
                        return Err(invalid(pattern, PatternProblem::UnterminatedQuote(i + 1)));
                    }
                    if chars[j] == '\'' {
                        if j + 1 < chars.len() && chars[j + 1] == '\'' {
                            text.push('\'');
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    text.push(chars[j]);
                    j += 1;
                }
                push_literal(&mut items, &text);
                i = j + 1;
            } else if matches!(c, '[' | ']') {
                // Optional sections always print when formatting a full date-time.
                i += 1;
            } else if matches!(c, '{' | '}' | '#') {
                return Err(invalid(pattern, PatternProblem::Reserved(c)));
            } else {
                let mut buf = [0u8; 4];
                push_literal(&mut items, c.encode_utf8(&mut buf));
                i += 1;
            }
        }
        Ok(JavaPattern { items })
    }

    /// Formats a date-time, appending to `out`.
    pub fn format_into(&self, dt: &NaiveDateTime, out: &mut String) {
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Number(field, min) => {
                    let v = number(*field, dt);
                    if v < 0 {
                        let _ = write!(out, "-{:0min$}", -v, min = *min);
                    } else {
                        let _ = write!(out, "{v:0min$}", min = *min);
                    }
                }
                Item::ReducedYear => {
                    let _ = write!(out, "{:02}", dt.year().rem_euclid(100));
                }
                Item::Fraction(n) => {
                    let nanos = dt.nanosecond() % 1_000_000_000;
                    let digits = format!("{nanos:09}");
                    if *n <= 9 {
                        out.push_str(&digits[..*n]);
                    } else {
                        out.push_str(&digits);
                        out.extend(std::iter::repeat_n('0', n - 9));
                    }
                }
                Item::Text(field, style) => out.push_str(&text(*field, *style, dt)),
            }
        }
    }

    /// Formats a date-time into a new string.
    pub fn format(&self, dt: &NaiveDateTime) -> String {
        let mut s = String::with_capacity(32);
        self.format_into(dt, &mut s);
        s
    }
}

fn invalid(pattern: &str, problem: PatternProblem) -> PatternError {
    PatternError::Invalid {
        pattern: pattern.to_owned(),
        problem,
    }
}

fn letter(c: char, count: usize) -> Result<Item, PatternProblem> {
    let too_many = || Err(PatternProblem::TooManyLetters(c.to_string().repeat(count)));
    let num = |field, max: usize| -> Result<Item, PatternProblem> {
        if count > max {
            return too_many();
        }
        Ok(Item::Number(field, count))
    };
    let text_style = |count: usize| match count {
        1..=3 => Ok(TextStyle::Short),
        4 => Ok(TextStyle::Full),
        5 => Ok(TextStyle::Narrow),
        _ => Err(PatternProblem::TooManyLetters(c.to_string().repeat(count))),
    };
    match c {
        'y' | 'u' => Ok(if count == 2 {
            Item::ReducedYear
        } else {
            Item::Number(Field::Year, count)
        }),
        'Y' => Ok(if count == 2 {
            Item::ReducedYear
        } else {
            Item::Number(Field::WeekBasedYear, count)
        }),
        'M' | 'L' => match count {
            1 | 2 => Ok(Item::Number(Field::Month, count)),
            _ => Ok(Item::Text(TextField::Month, text_style(count)?)),
        },
        'd' => num(Field::DayOfMonth, 2),
        'D' => num(Field::DayOfYear, 3),
        'H' => num(Field::HourOfDay, 2),
        'k' => num(Field::ClockHourOfDay, 2),
        'K' => num(Field::HourOfAmPm, 2),
        'h' => num(Field::ClockHourOfAmPm, 2),
        'm' => num(Field::Minute, 2),
        's' => num(Field::Second, 2),
        'S' => Ok(Item::Fraction(count)),
        'A' => Ok(Item::Number(Field::MilliOfDay, count)),
        'n' => Ok(Item::Number(Field::NanoOfSecond, count)),
        'Q' | 'q' => match count {
            1 | 2 => Ok(Item::Number(Field::Quarter, count)),
            3 => Ok(Item::Text(TextField::Quarter, TextStyle::Short)),
            4 => Ok(Item::Text(TextField::Quarter, TextStyle::Full)),
            5 => Ok(Item::Text(TextField::Quarter, TextStyle::Narrow)),
            _ => too_many(),
        },
        'E' => Ok(Item::Text(TextField::DayOfWeek, text_style(count)?)),
        'e' | 'c' => match count {
            1 | 2 => Ok(Item::Number(Field::DayOfWeekNumber, count)),
            _ => Ok(Item::Text(TextField::DayOfWeek, text_style(count)?)),
        },
        'a' => {
            if count > 1 {
                return too_many();
            }
            Ok(Item::Text(TextField::AmPm, TextStyle::Short))
        }
        'G' => Ok(Item::Text(TextField::Era, text_style(count)?)),
        'w' => num(Field::WeekOfWeekBasedYear, 2),
        'W' => num(Field::AlignedWeekOfMonth, 1),
        'V' | 'z' | 'Z' | 'X' | 'x' | 'O' | 'v' => Err(PatternProblem::NeedsTimeZone(c)),
        other => Err(PatternProblem::UnknownLetter(other)),
    }
}

fn number(field: Field, dt: &NaiveDateTime) -> i64 {
    match field {
        Field::Year => i64::from(dt.year()),
        Field::Month => i64::from(dt.month()),
        Field::DayOfMonth => i64::from(dt.day()),
        Field::DayOfYear => i64::from(dt.ordinal()),
        Field::HourOfDay => i64::from(dt.hour()),
        Field::ClockHourOfDay => i64::from(if dt.hour() == 0 { 24 } else { dt.hour() }),
        Field::HourOfAmPm => i64::from(dt.hour() % 12),
        Field::ClockHourOfAmPm => i64::from(if dt.hour().is_multiple_of(12) {
            12
        } else {
            dt.hour() % 12
        }),
        Field::Minute => i64::from(dt.minute()),
        Field::Second => i64::from(dt.second()),
        Field::MilliOfDay => {
            i64::from(dt.num_seconds_from_midnight()) * 1000
                + i64::from(dt.nanosecond() / 1_000_000)
        }
        Field::NanoOfSecond => i64::from(dt.nanosecond() % 1_000_000_000),
        Field::Quarter => i64::from((dt.month() - 1) / 3 + 1),
        // Locale US: weeks start on Sunday (Sunday = 1).
        Field::DayOfWeekNumber => i64::from(dt.weekday().num_days_from_sunday() + 1),
        Field::WeekOfWeekBasedYear => i64::from(us_week_of_year(dt)),
        Field::WeekBasedYear => i64::from(us_week_based_year(dt)),
        Field::AlignedWeekOfMonth => i64::from(us_week_of_month(dt)),
    }
}

/// Week of the week-based year for locale US (weeks start on Sunday, the first week has at
/// least 1 day), as `WeekFields.of(Locale.US)`.
fn us_week_of_year(dt: &NaiveDateTime) -> u32 {
    let d = dt.date();
    let next_year_start = chrono::NaiveDate::from_ymd_opt(d.year() + 1, 1, 1);
    // If the week containing this date contains Jan 1 of next year, it is week 1.
    if let Some(n) = next_year_start {
        let days_to_sat = 6 - d.weekday().num_days_from_sunday();
        if let Some(end) = d.checked_add_days(chrono::Days::new(u64::from(days_to_sat)))
            && end >= n
        {
            return 1;
        }
    }
    let jan1 = chrono::NaiveDate::from_ymd_opt(d.year(), 1, 1)
        .map_or(0, |j| j.weekday().num_days_from_sunday());
    (d.ordinal0() + jan1) / 7 + 1
}

fn us_week_based_year(dt: &NaiveDateTime) -> i32 {
    let d = dt.date();
    if d.month() == 12 && us_week_of_year(dt) == 1 {
        d.year() + 1
    } else {
        d.year()
    }
}

fn us_week_of_month(dt: &NaiveDateTime) -> u32 {
    let d = dt.date();
    let first = d
        .with_day(1)
        .map_or(0, |f| f.weekday().num_days_from_sunday());
    (d.day0() + first) / 7 + 1
}

fn text(field: TextField, style: TextStyle, dt: &NaiveDateTime) -> String {
    let shorten = |s: &str| -> String {
        match style {
            TextStyle::Full => s.to_owned(),
            TextStyle::Short => s.chars().take(3).collect(),
            TextStyle::Narrow => s.chars().take(1).collect(),
        }
    };
    match field {
        TextField::Month => shorten(MONTHS[dt.month0() as usize]),
        TextField::DayOfWeek => shorten(DAYS[weekday_index(dt.weekday())]),
        TextField::AmPm => if dt.hour() < 12 { "AM" } else { "PM" }.to_owned(),
        TextField::Era => match (style, dt.year() > 0) {
            (TextStyle::Full, true) => "Anno Domini".to_owned(),
            (TextStyle::Full, false) => "Before Christ".to_owned(),
            (TextStyle::Narrow, true) => "A".to_owned(),
            (TextStyle::Narrow, false) => "B".to_owned(),
            (TextStyle::Short, true) => "AD".to_owned(),
            (TextStyle::Short, false) => "BC".to_owned(),
        },
        TextField::Quarter => {
            let q = (dt.month() - 1) / 3 + 1;
            match style {
                TextStyle::Short => format!("Q{q}"),
                TextStyle::Narrow => q.to_string(),
                TextStyle::Full => {
                    format!("{} quarter", ["1st", "2nd", "3rd", "4th"][q as usize - 1])
                }
            }
        }
    }
}

fn weekday_index(w: Weekday) -> usize {
    w.num_days_from_monday() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    fn fmt(p: &str, s: &str) -> String {
        JavaPattern::compile(p).unwrap().format(&dt(s))
    }

    #[test]
    fn seed_patterns() {
        assert_eq!(fmt("yyyy-MM-dd", "2024-03-05 07:08:09.123"), "2024-03-05");
        assert_eq!(fmt("HH", "2024-03-05 07:08:09.123"), "07");
        assert_eq!(
            fmt("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-05 17:08:09.120"),
            "2024-03-05 17:08:09.120"
        );
    }

    #[test]
    fn text_fields_and_twelve_hour_clock() {
        assert_eq!(
            fmt("EEE, d MMM yyyy hh:mm a", "2024-03-05 17:08:09"),
            "Tue, 5 Mar 2024 05:08 PM"
        );
        assert_eq!(fmt("EEEE MMMM", "2024-03-05 00:00:00"), "Tuesday March");
        assert_eq!(fmt("h a k K", "2024-03-05 00:30:00"), "12 AM 24 0");
        assert_eq!(fmt("D DDD", "2024-02-01 00:00:00"), "32 032");
        assert_eq!(fmt("yy QQQ", "2024-08-01 00:00:00"), "24 Q3");
    }

    #[test]
    fn quotes_and_literals() {
        assert_eq!(
            fmt("yyyy'T'HH 'o''clock' ''", "2024-03-05 07:00:00"),
            "2024T07 o'clock '"
        );
        assert_eq!(fmt("yyyyMMdd/HH", "2024-03-05 07:00:00"), "20240305/07");
    }

    #[test]
    fn fraction_digits_are_truncated_not_rounded() {
        assert_eq!(
            fmt("ss.S|SS|SSSSSS", "2024-03-05 07:00:01.987654"),
            "01.9|98|987654"
        );
    }

    #[test]
    fn bad_patterns_say_why() {
        assert!(
            JavaPattern::compile("HHH")
                .unwrap_err()
                .to_string()
                .contains("too many pattern letters: HHH")
        );
        assert!(
            JavaPattern::compile("yyyy-MM-dd b")
                .unwrap_err()
                .to_string()
                .contains("unknown pattern letter 'b'")
        );
        assert!(
            JavaPattern::compile("HH z")
                .unwrap_err()
                .to_string()
                .contains("time zone")
        );
        assert!(
            JavaPattern::compile("'oops")
                .unwrap_err()
                .to_string()
                .contains("unterminated quote")
        );
    }

    #[test]
    fn us_weeks() {
        // 2024-01-01 is a Monday; week 1 runs Sun 2023-12-31 .. Sat 2024-01-06.
        assert_eq!(fmt("w", "2024-01-06 00:00:00"), "1");
        assert_eq!(fmt("w", "2024-01-07 00:00:00"), "2");
        assert_eq!(fmt("w Y", "2023-12-31 00:00:00"), "1 2024");
    }
}

/// Date-time fields read by [`JavaPattern::parse`]; missing ones default as in Flink
/// (1970-01-01 00:00:00).
#[derive(Default)]
struct Parsed {
    year: Option<i64>,
    reduced_year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    hour_of_am_pm: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    nano: Option<i64>,
}

impl JavaPattern {
    /// Parses `text` fully with this pattern, as `DateTimeFormatter.parse` in strict mode:
    /// `None` when it does not match.
    pub fn parse(&self, text: &str) -> Option<NaiveDateTime> {
        let bytes = text.as_bytes();
        let mut pos = 0;
        let mut p = Parsed::default();
        for (idx, item) in self.items.iter().enumerate() {
            let next_is_number = matches!(
                self.items.get(idx + 1),
                Some(Item::Number(..) | Item::ReducedYear | Item::Fraction(_))
            );
            match item {
                Item::Literal(s) => {
                    if !text[pos..].starts_with(s.as_str()) {
                        return None;
                    }
                    pos += s.len();
                }
                Item::Fraction(n) => {
                    let digits = take_digits(bytes, &mut pos, *n, *n)?;
                    let scale = 10i64.pow(9u32.saturating_sub(*n as u32));
                    p.nano = Some(digits * scale);
                }
                Item::ReducedYear => {
                    let v = take_digits(bytes, &mut pos, 2, 2)?;
                    p.reduced_year = Some(2000 + v);
                }
                Item::Number(field, count) => {
                    let max = if next_is_number {
                        (*count).max(1)
                    } else {
                        match field {
                            Field::Year
                            | Field::WeekBasedYear
                            | Field::NanoOfSecond
                            | Field::MilliOfDay => 19,
                            Field::DayOfYear => 3,
                            _ => 2,
                        }
                    };
                    let v = take_digits(bytes, &mut pos, *count, max.max(*count))?;
                    match field {
                        Field::Year => p.year = Some(v),
                        Field::Month => p.month = Some(v),
                        Field::DayOfMonth => p.day = Some(v),
                        Field::DayOfYear => p.day_of_year = Some(v),
                        Field::HourOfDay => p.hour = Some(v),
                        Field::ClockHourOfDay => p.hour = Some(v % 24),
                        Field::HourOfAmPm => p.hour_of_am_pm = Some(v),
                        Field::ClockHourOfAmPm => p.hour_of_am_pm = Some(v % 12),
                        Field::Minute => p.minute = Some(v),
                        Field::Second => p.second = Some(v),
                        Field::NanoOfSecond => p.nano = Some(v),
                        _ => return None,
                    }
                }
                Item::Text(TextField::Month, style) => {
                    let (m, len) = MONTHS.iter().enumerate().find_map(|(i, name)| {
                        let candidate: String = match style {
                            TextStyle::Full => (*name).to_owned(),
                            TextStyle::Short => name.chars().take(3).collect(),
                            TextStyle::Narrow => name.chars().take(1).collect(),
                        };
                        text[pos..]
                            .starts_with(&candidate)
                            .then_some((i as i64 + 1, candidate.len()))
                    })?;
                    p.month = Some(m);
                    pos += len;
                }
                Item::Text(TextField::DayOfWeek, style) => {
                    let len = DAYS.iter().find_map(|name| {
                        let candidate: String = match style {
                            TextStyle::Full => (*name).to_owned(),
                            TextStyle::Short => name.chars().take(3).collect(),
                            TextStyle::Narrow => name.chars().take(1).collect(),
                        };
                        text[pos..]
                            .starts_with(&candidate)
                            .then_some(candidate.len())
                    })?;
                    pos += len;
                }
                Item::Text(TextField::AmPm, _) => {
                    if text[pos..].starts_with("AM") {
                        p.pm = Some(false);
                    } else if text[pos..].starts_with("PM") {
                        p.pm = Some(true);
                    } else {
                        return None;
                    }
                    pos += 2;
                }
                Item::Text(..) => return None,
            }
        }
        if pos != bytes.len() {
            return None;
        }
        let year = p.year.or(p.reduced_year).unwrap_or(1970);
        let hour = match (p.hour, p.hour_of_am_pm, p.pm) {
            (Some(h), _, _) => h,
            (None, Some(h), pm) => h + if pm == Some(true) { 12 } else { 0 },
            (None, None, _) => 0,
        };
        let date = match (p.day_of_year, p.month, p.day) {
            (Some(doy), None, None) => chrono::NaiveDate::from_yo_opt(year as i32, doy as u32)?,
            _ => chrono::NaiveDate::from_ymd_opt(
                year as i32,
                p.month.unwrap_or(1) as u32,
                p.day.unwrap_or(1) as u32,
            )?,
        };
        let time = chrono::NaiveTime::from_hms_nano_opt(
            hour as u32,
            p.minute.unwrap_or(0) as u32,
            p.second.unwrap_or(0) as u32,
            p.nano.unwrap_or(0) as u32,
        )?;
        Some(NaiveDateTime::new(date, time))
    }

    /// The coarsest time step, in seconds, under which every formatted value is the same
    /// (86400 for `yyyy-MM-dd`, 3600 for `HH`); `None` when the pattern shows seconds' fractions.
    /// Lets callers reuse the text of the previous value.
    pub fn granularity_secs(&self) -> Option<i64> {
        let mut g = 86_400;
        for item in &self.items {
            let step = match item {
                Item::Fraction(_) | Item::Number(Field::NanoOfSecond | Field::MilliOfDay, _) => {
                    return None;
                }
                Item::Number(Field::Second, _) => 1,
                Item::Number(Field::Minute, _) => 60,
                Item::Number(
                    Field::HourOfDay
                    | Field::ClockHourOfDay
                    | Field::HourOfAmPm
                    | Field::ClockHourOfAmPm,
                    _,
                )
                | Item::Text(TextField::AmPm, _) => 3_600,
                _ => 86_400,
            };
            g = g.min(step);
        }
        Some(g)
    }
}

fn take_digits(bytes: &[u8], pos: &mut usize, min: usize, max: usize) -> Option<i64> {
    let start = *pos;
    let mut v: i64 = 0;
    while *pos < bytes.len() && *pos - start < max && bytes[*pos].is_ascii_digit() {
        v = v
            .checked_mul(10)?
            .checked_add(i64::from(bytes[*pos] - b'0'))?;
        *pos += 1;
    }
    if *pos - start < min.max(1) {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    fn parse(p: &str, s: &str) -> Option<String> {
        JavaPattern::compile(p)
            .unwrap()
            .parse(s)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S%.f").to_string())
    }

    #[test]
    fn parses_common_patterns() {
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss", "2024-03-05 07:08:09").as_deref(),
            Some("2024-03-05 07:08:09")
        );
        assert_eq!(
            parse("yyyyMMddHHmmss", "20240305070809").as_deref(),
            Some("2024-03-05 07:08:09")
        );
        assert_eq!(
            parse("yyyy-MM-dd", "2024-03-05").as_deref(),
            Some("2024-03-05 00:00:00")
        );
        assert_eq!(
            parse("dd/MMM/yyyy hh:mm a", "05/Mar/2024 05:08 PM").as_deref(),
            Some("2024-03-05 17:08:00")
        );
        assert_eq!(
            parse("yyyy-MM-dd HH:mm:ss.SSS", "2024-03-05 07:08:09.120").as_deref(),
            Some("2024-03-05 07:08:09.120")
        );
    }

    #[test]
    fn rejects_what_does_not_match() {
        assert_eq!(parse("yyyy-MM-dd", "2024-3-5x"), None);
        assert_eq!(parse("yyyy-MM-dd", "2024-13-01"), None);
        assert_eq!(parse("yyyy-MM-dd HH:mm:ss", "2024-03-05"), None);
    }

    #[test]
    fn granularity() {
        assert_eq!(
            JavaPattern::compile("yyyy-MM-dd")
                .unwrap()
                .granularity_secs(),
            Some(86_400)
        );
        assert_eq!(
            JavaPattern::compile("HH").unwrap().granularity_secs(),
            Some(3_600)
        );
        assert_eq!(
            JavaPattern::compile("mm:ss").unwrap().granularity_secs(),
            Some(1)
        );
        assert_eq!(
            JavaPattern::compile("SSS").unwrap().granularity_secs(),
            None
        );
    }
}
