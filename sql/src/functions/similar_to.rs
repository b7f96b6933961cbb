//! Flink's `s [NOT] SIMILAR TO pattern [ESCAPE e]` (`SqlLikeUtils.similar`, copied from
//! Calcite's `Like`): the SQL pattern translated to a Java regular expression
//! (`sqlToRegexSimilar`: `_` any character, `%` any text, `[...]` with `[:digit:]`-style classes,
//! `|`, `()`, `*`, `+`, `?`, `{m,n}` as in regular expressions, `$` and `\` literal) that must
//! match the whole text. `planner::syntax` rewrites the operator into `similar_to(s, pattern[,
//! escape])`. A NULL operand gives NULL; a pattern Calcite refuses fails the job.
//!
//! Java's regular expressions differ from the `regex` crate's here and there; the translation
//! writes the Java meaning out: `.` does not match a line terminator (`\n`, `\r`, U+0085,
//! U+2028, U+2029), and `\d`, `\s`, `\p{Alpha}`, ... are ASCII classes.

use std::cell::RefCell;
use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;
use regex::Regex;

use super::rowwise::{Kind, Out, Returns, RowError, RowWise};

pub fn function() -> Arc<ScalarUDF> {
    use Kind::Str;
    RowWise::new(
        "similar_to",
        &[&[Str, Str], &[Str, Str, Str]],
        Returns::Fixed(DataType::Boolean),
        |a| {
            let (s, pattern) = (
                a[0].str().unwrap_or_default(),
                a[1].str().unwrap_or_default(),
            );
            let escape = a.get(2).and_then(|e| e.str());
            LAST.with(|last| {
                let mut last = last.borrow_mut();
                let key = (pattern.to_owned(), escape.map(str::to_owned));
                if last.as_ref().is_none_or(|(k, _)| *k != key) {
                    let re = to_regex(pattern, escape)
                        .map_err(RowError::InvalidPattern)
                        .and_then(|r| {
                            Regex::new(&format!("^(?:{r})$"))
                                .map_err(|e| RowError::InvalidPattern(e.to_string()))
                        })?;
                    *last = Some((key, re));
                }
                Ok(match last.as_ref() {
                    Some((_, re)) => Out::Bool(re.is_match(s)),
                    None => Out::Null,
                })
            })
        },
    )
    .udf()
}

type Key = (String, Option<String>);

thread_local! {
    /// The last pattern compiled on this thread (patterns are nearly always literals).
    static LAST: RefCell<Option<(Key, Regex)>> = const { RefCell::new(None) };
}

const JAVA_REGEX_SPECIALS: &str = "[]()|^-+*?{}$\\.";
const SQL_SIMILAR_SPECIALS: &str = "[]()|^-+*_%?{}";
/// `[:name:]` classes and what they mean in Java (ASCII), written for a character class.
const CHAR_CLASSES: &[(&str, &str)] = &[
    ("[:ALPHA:]", "a-zA-Z"),
    ("[:alpha:]", "a-zA-Z"),
    ("[:UPPER:]", "A-Z"),
    ("[:upper:]", "A-Z"),
    ("[:LOWER:]", "a-z"),
    ("[:lower:]", "a-z"),
    ("[:DIGIT:]", "0-9"),
    ("[:digit:]", "0-9"),
    ("[:SPACE:]", " "),
    ("[:space:]", " "),
    ("[:WHITESPACE:]", " \\t\\n\\x0B\\f\\r"),
    ("[:whitespace:]", " \\t\\n\\x0B\\f\\r"),
    ("[:ALNUM:]", "a-zA-Z0-9"),
    ("[:alnum:]", "a-zA-Z0-9"),
];
/// Java's `.`: anything but a line terminator.
const JAVA_DOT: &str = "[^\\n\\r\\u{85}\\u{2028}\\u{2029}]";

fn invalid(pattern: &str) -> String {
    format!("Invalid regular expression '{pattern}'")
}

fn invalid_escape(pattern: &str, i: usize) -> String {
    format!("Invalid escape sequence '{pattern}', {i}")
}

/// `SqlLikeUtils.sqlToRegexSimilar(pattern, escape)`, in the `regex` crate's syntax.
fn to_regex(pattern: &str, escape: Option<&str>) -> Result<String, String> {
    let escape = match escape {
        None => None,
        Some(e) if e.chars().count() == 1 => e.chars().next(),
        Some(e) => return Err(format!("Invalid escape character '{e}'")),
    };
    let p: Vec<char> = pattern.chars().collect();
    if let Some(esc) = escape {
        if SQL_SIMILAR_SPECIALS.contains(esc) {
            for (i, &c) in p.iter().enumerate() {
                if c == esc {
                    match p.get(i + 1) {
                        Some(&n) if SQL_SIMILAR_SPECIALS.contains(n) || n == esc => {}
                        _ => return Err(invalid_escape(pattern, i)),
                    }
                }
            }
        }
        if esc == ':' && !(pattern.contains("[:") && pattern.contains(":]")) {
            return Err(invalid_escape(pattern, 0));
        }
    }
    let mut out = String::new();
    let mut in_class = false;
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        if Some(c) == escape {
            let Some(&next) = p.get(i + 1) else {
                return Err(invalid_escape(pattern, i));
            };
            if SQL_SIMILAR_SPECIALS.contains(next) {
                if JAVA_REGEX_SPECIALS.contains(next) {
                    out.push('\\');
                }
                out.push(next);
            } else if Some(next) == escape {
                push_literal(&mut out, next);
            } else {
                return Err(invalid_escape(pattern, i));
            }
            i += 2;
            continue;
        }
        match c {
            '_' => out.push_str(JAVA_DOT),
            '%' => out.push_str("(?s:.*)"),
            '[' => {
                out.push('[');
                in_class = true;
                i = class(&p, &mut out, i, escape, pattern)?;
            }
            ']' if !in_class => return Err(invalid(pattern)),
            ']' => {
                in_class = false;
                out.push(']');
            }
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            '.' => out.push_str(JAVA_DOT),
            c => push_literal(&mut out, c),
        }
        i += 1;
    }
    if in_class {
        return Err(invalid(pattern));
    }
    Ok(out)
}

/// A character Java reads as itself (or as the operator it is) that the `regex` crate might not.
fn push_literal(out: &mut String, c: char) {
    if matches!(c, '#' | '&' | '~') {
        out.push('\\');
    }
    out.push(c);
}

/// `sqlSimilarRewriteCharEnumeration`: the inside of `[...]` from after `p[pos]`; the index of the
/// character before the closing `]` (or the last one).
fn class(
    p: &[char],
    out: &mut String,
    pos: usize,
    escape: Option<char>,
    pattern: &str,
) -> Result<usize, String> {
    let mut i = pos + 1;
    while i < p.len() {
        let c = p[i];
        if c == ']' {
            return Ok(i - 1);
        } else if Some(c) == escape {
            i += 1;
            let Some(&next) = p.get(i) else {
                return Err(invalid(pattern));
            };
            if SQL_SIMILAR_SPECIALS.contains(next) {
                if JAVA_REGEX_SPECIALS.contains(next) {
                    out.push('\\');
                }
                out.push(next);
            } else if Some(next) == escape {
                push_literal(out, next);
            } else {
                return Err(invalid(pattern));
            }
        } else if c == '-' || c == '^' {
            out.push(c);
        } else if p[i..].starts_with(&['[', ':']) {
            let rest: String = p[i..].iter().collect();
            let Some((name, java)) = CHAR_CLASSES.iter().find(|(n, _)| rest.starts_with(n)) else {
                return Err(invalid(pattern));
            };
            out.push_str(java);
            i += name.chars().count() - 1;
        } else if SQL_SIMILAR_SPECIALS.contains(c) {
            return Err(invalid(pattern));
        } else if matches!(c, '\\' | '[' | '&' | '~') {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
        i += 1;
    }
    Ok(i - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn similar(s: &str, pattern: &str, escape: Option<&str>) -> bool {
        let re = Regex::new(&format!("^(?:{})$", to_regex(pattern, escape).unwrap())).unwrap();
        re.is_match(s)
    }

    #[test]
    fn patterns_as_calcite_translates_them() {
        assert!(similar("abc", "a%", None));
        assert!(similar("a\nb", "a%", None));
        assert!(!similar("a\nb", "a_b", None));
        assert!(similar("abab", "(ab){2}", None));
        assert!(similar("x$", "%$", None));
        assert!(similar("a%x", "a!%%", Some("!")));
        assert!(similar("123", "[[:digit:]]+", None));
        assert!(!similar("١٢", "[[:digit:]]+", None));
        assert!(similar("", "", None));
        assert!(to_regex("a]", None).is_err());
        assert!(to_regex("[a", None).is_err());
        assert!(to_regex("a", Some("!!")).is_err());
    }
}
