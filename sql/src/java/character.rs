//! `java.lang.Character`'s classification of one UTF-16 unit (`char`), which Flink's string
//! predicates use through commons-lang3 (`StringUtils.isAlpha`, `StringUtils.isNumeric`) and
//! `Integer.parseInt`. Java asks per UTF-16 unit, so a character beyond the BMP (two units,
//! each a surrogate) is never a letter or a digit.
//!
//! The tables are printed by Java 17 itself (`tools/flink-golden/JavaCharacterTables.java`).

#[path = "character_tables.rs"]
mod tables;

fn in_ranges(ranges: &[(u16, u16)], u: u16) -> Option<u16> {
    let i = ranges.partition_point(|&(_, end)| end < u);
    ranges
        .get(i)
        .filter(|&&(start, _)| start <= u)
        .map(|&(start, _)| start)
}

/// `Character.isLetter(char)`.
pub fn is_letter(u: u16) -> bool {
    in_ranges(tables::LETTER, u).is_some()
}

/// `Character.isDigit(char)`.
pub fn is_digit(u: u16) -> bool {
    in_ranges(tables::DIGIT, u).is_some()
}

/// `Character.digit(char, 10)`: the value of a decimal digit of any script (the BMP's digits
/// come in runs of ten from zero, which the generator checks).
pub fn digit(u: u16) -> Option<u32> {
    in_ranges(tables::DIGIT, u).map(|start| u32::from(u - start) % 10)
}

/// `StringUtils.isAlpha(s)` for a non-empty `s`: every UTF-16 unit is a letter.
pub fn all_letters(s: &str) -> bool {
    s.encode_utf16().all(is_letter)
}

/// `StringUtils.isNumeric(s)` for a non-empty `s`: every UTF-16 unit is a digit.
pub fn all_digits(s: &str) -> bool {
    s.encode_utf16().all(is_digit)
}

/// `Long.parseLong(s)`: an optional sign, then digits of any script, in range.
pub fn parse_long(s: &str) -> Option<i64> {
    parse_integer(s).and_then(|v| i64::try_from(v).ok())
}

/// `Integer.parseInt(s)`: an optional sign, then digits of any script, in range.
pub fn parse_int(s: &str) -> Option<i32> {
    parse_integer(s).and_then(|v| i32::try_from(v).ok())
}

/// Whether `Long.parseLong(s)` succeeds.
pub fn parses_as_long(s: &str) -> bool {
    parse_long(s).is_some()
}

fn parse_integer(s: &str) -> Option<i128> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let (negative, digits) = match units.first() {
        Some(&u) if u == u16::from(b'-') => (true, &units[1..]),
        Some(&u) if u == u16::from(b'+') => (false, &units[1..]),
        _ => (false, &units[..]),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: i128 = 0;
    for &u in digits {
        magnitude = magnitude * 10 + i128::from(digit(u)?);
        if magnitude > i128::from(u64::MAX) {
            return None;
        }
    }
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(c: char) -> u16 {
        c.encode_utf16(&mut [0; 2])[0]
    }

    #[test]
    fn letters_and_digits_are_javas() {
        assert!(is_letter(unit('a')) && is_letter(unit('中')) && is_letter(unit('ʰ')));
        assert!(!is_letter(unit('\u{301}')) && !is_letter(unit('Ⅻ')) && !is_letter(unit('1')));
        assert!(is_digit(unit('٣')) && is_digit(unit('３')) && !is_digit(unit('²')));
        assert_eq!(digit(unit('٣')), Some(3));
        assert_eq!(digit(unit('９')), Some(9));
        assert_eq!(digit(unit('0')), Some(0));
        assert_eq!(digit(unit('a')), None);
        assert!(!all_letters("𝐀") && !all_digits("𝟘"));
    }

    #[test]
    fn long_range_and_signs() {
        assert!(parses_as_long("-9223372036854775808"));
        assert!(!parses_as_long("9223372036854775808"));
        assert!(parses_as_long("+٣"));
        assert!(!parses_as_long("-") && !parses_as_long("") && !parses_as_long(" 1"));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("2147483648"), None);
    }
}
