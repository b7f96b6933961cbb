//! Flink's functions that cut, repeat, reverse or recase a string: `OVERLAY`, `REVERSE`,
//! `REPEAT`, `LEFT`, `RIGHT`, `INITCAP`, `BTRIM`, `TRANSLATE`, `STARTSWITH`, `ENDSWITH`,
//! `ASCII`, `CHR`. Where Flink works on Java `String` chars (UTF-16 units) or UTF-8 bytes,
//! so does the function here.

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;

use super::rowwise::{Arg, Kind, Out, Returns, RowWise};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    use Kind::{Int, Str};
    let string = || Returns::Fixed(DataType::Utf8);
    vec![
        overlay(),
        RowWise::new("reverse", &[&[Str]], string(), |a| {
            Ok(Out::Str(s(a, 0).chars().rev().collect()))
        })
        .udf(),
        RowWise::new("repeat", &[&[Str, Int]], string(), |a| {
            let n = usize::try_from(i(a, 1)).unwrap_or(0);
            Ok(Out::Str(s(a, 0).repeat(n)))
        })
        .udf(),
        RowWise::new("left", &[&[Str, Int]], string(), |a| {
            let n = usize::try_from(i(a, 1)).unwrap_or(0);
            Ok(Out::Str(s(a, 0).chars().take(n).collect()))
        })
        .udf(),
        RowWise::new("right", &[&[Str, Int]], string(), |a| {
            let text = s(a, 0);
            let n = usize::try_from(i(a, 1)).unwrap_or(0);
            let skip = text.chars().count().saturating_sub(n);
            Ok(Out::Str(text.chars().skip(skip).collect()))
        })
        .udf(),
        RowWise::new("initcap", &[&[Str]], string(), |a| {
            Ok(Out::Str(initcap(s(a, 0))))
        })
        .udf(),
        RowWise::new("btrim", &[&[Str], &[Str, Str]], string(), |a| {
            let text = s(a, 0);
            Ok(Out::Str(match a.get(1) {
                None => text.trim_matches(' ').to_owned(),
                Some(chars) => {
                    let chars = chars.str().unwrap_or_default();
                    text.trim_matches(|c| chars.contains(c)).to_owned()
                }
            }))
        })
        .udf(),
        // A NULL `from` or `to` leaves the text as it is (observed).
        RowWise::new("translate", &[&[Str, Str, Str]], string(), |a| {
            Ok(match (a[0], a[1], a[2]) {
                (Arg::Null, ..) => Out::Null,
                (Arg::Str(t), Arg::Null, _) | (Arg::Str(t), _, Arg::Null) => Out::Str(t.to_owned()),
                _ => Out::Str(translate(s(a, 0), s(a, 1), s(a, 2))),
            })
        })
        .lenient()
        .udf(),
        // Java's `String.replace`: an empty search inserts the replacement around every
        // character.
        RowWise::new("replace", &[&[Str, Str, Str]], string(), |a| {
            let (text, from, to) = (s(a, 0), s(a, 1), s(a, 2));
            Ok(Out::Str(if from.is_empty() {
                let mut out = String::from(to);
                for c in text.chars() {
                    out.push(c);
                    out.push_str(to);
                }
                out
            } else {
                text.replace(from, to)
            }))
        })
        .udf(),
        RowWise::new(
            "startswith",
            &[&[Str, Str]],
            Returns::Fixed(DataType::Boolean),
            |a| Ok(Out::Bool(s(a, 0).starts_with(s(a, 1)))),
        )
        .udf(),
        RowWise::new(
            "endswith",
            &[&[Str, Str]],
            Returns::Fixed(DataType::Boolean),
            |a| Ok(Out::Bool(s(a, 0).ends_with(s(a, 1)))),
        )
        .udf(),
        // The first UTF-8 byte, as a signed Java byte (`é` → -61); 0 for ''.
        RowWise::new("ascii", &[&[Str]], Returns::Fixed(DataType::Int32), |a| {
            Ok(Out::Int(
                s(a, 0)
                    .as_bytes()
                    .first()
                    .map_or(0, |b| i64::from(*b as i8)),
            ))
        })
        .udf(),
        // The Latin-1 character `n mod 256`; '' for negative `n`.
        RowWise::new("chr", &[&[Int]], string(), |a| {
            let n = i(a, 0);
            Ok(Out::Str(if n < 0 {
                String::new()
            } else {
                char::from((n % 256) as u8).to_string()
            }))
        })
        .udf(),
    ]
}

fn s<'a>(a: &[Arg<'a>], n: usize) -> &'a str {
    a.get(n).and_then(|x| x.str()).unwrap_or_default()
}

fn i(a: &[Arg<'_>], n: usize) -> i64 {
    a.get(n).and_then(|x| x.int()).unwrap_or_default()
}

/// `OVERLAY(s PLACING r FROM start [FOR length])`, planned from its SQL syntax.
pub fn overlay() -> Arc<ScalarUDF> {
    use Kind::{Int, Str};
    RowWise::new(
        "overlay",
        &[&[Str, Str, Int], &[Str, Str, Int, Int]],
        Returns::Fixed(DataType::Utf8),
        |a| {
            let text = s(a, 0);
            let r = s(a, 1);
            let length = match a.get(3) {
                Some(l) => l.int().unwrap_or_default(),
                None => r.encode_utf16().count() as i64,
            };
            Ok(Out::Str(overlay_text(text, r, i(a, 2), length)))
        },
    )
    .udf()
}

/// `SqlFunctionUtils.overlay` on UTF-16 units: `s` unchanged if `start` is outside it; else
/// the units before `start`, `r`, and — only if `length > 0` and `start + length` is within
/// `s` — the units from `start + length` on (so `FOR 0` drops the rest).
fn overlay_text(s: &str, r: &str, start: i64, length: i64) -> String {
    let units: Vec<u16> = s.encode_utf16().collect();
    let n = units.len() as i64;
    if start <= 0 || start > n {
        return s.to_owned();
    }
    let mut out: Vec<u16> = units[..(start - 1) as usize].to_vec();
    out.extend(r.encode_utf16());
    if start + length <= n && length > 0 {
        out.extend_from_slice(&units[(start - 1 + length) as usize..]);
    }
    // A cut through a surrogate pair cannot be held by a Rust string (Flink writes the
    // half as `\uD83D`); it becomes U+FFFD (a listed deviation).
    String::from_utf16_lossy(&out)
}

/// Calcite's `SqlFunctions.initcap`, which Flink uses: a word is a run of ASCII letters and
/// digits; its first letter is upper-cased, the others lower-cased; every other character
/// (including non-ASCII letters: `ümlaut` → `üMlaut`) is a separator and left as is.
fn initcap(s: &str) -> String {
    let mut start = true;
    s.chars()
        .map(|c| {
            let out = if c.is_ascii_alphanumeric() {
                if start {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            } else {
                c
            };
            start = !c.is_ascii_alphanumeric();
            out
        })
        .collect()
}

/// `TRANSLATE(s, from, to)`: each character of `from` becomes the character at the same
/// position of `to`, or is deleted when `to` is shorter; the first occurrence in `from` wins.
fn translate(s: &str, from: &str, to: &str) -> String {
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.chars().position(|f| f == c) {
            Some(p) => to.get(p).copied(),
            None => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initcap_words_are_ascii_letters_and_digits() {
        assert_eq!(initcap("ümlaut café"), "üMlaut Café");
        assert_eq!(initcap("hello WORLD"), "Hello World");
        assert_eq!(initcap("a-b c_d e.f"), "A-B C_D E.F");
        assert_eq!(initcap("x1y 2z"), "X1y 2z");
        assert_eq!(initcap("éTé ÉTÉ"), "éTé ÉTÉ");
    }

    #[test]
    fn overlay_follows_flink() {
        assert_eq!(overlay_text("abcdef", "XY", 2, 2), "aXYdef");
        assert_eq!(overlay_text("abcdef", "XY", 2, 0), "aXY");
        assert_eq!(overlay_text("abcdef", "XY", 10, 2), "abcdef");
        assert_eq!(overlay_text("abcdef", "Z", 3, -1), "abZ");
        assert_eq!(overlay_text("abcdef", "Z", 6, 5), "abcdeZ");
    }

    #[test]
    fn translate_deletes_unmatched() {
        assert_eq!(translate("xyaxbycx", "abc", "xy"), "xyxxyyx");
    }
}
