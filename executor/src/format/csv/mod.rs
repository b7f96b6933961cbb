//! Flink's `csv` format: decoding a Kafka record's value into a row as Flink's
//! `CsvRowDataDeserializationSchema` (Jackson's `CsvParser` + `CsvToRowDataConverters`), and
//! encoding rows into the exact lines Flink's filesystem sink writes (`CsvBulkWriter`:
//! `RowDataToCsvConverters` + Jackson's `CsvGenerator`). The rules, checked against Flink
//! 2.3.0 by the golden corpus, are in `docs/flink-compat.md` (§ CSV).

pub mod decode;
pub mod encode;
pub mod record;

use crate::options::Options;

/// The `csv.*` options of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// `csv.field-delimiter` (Java-unescaped, so `\t` is a tab).
    pub field_delimiter: char,
    /// `csv.quote-character`; `None` with `csv.disable-quote-character`.
    pub quote: Option<char>,
    /// `csv.allow-comments`: records starting with `#` are comments (decode).
    pub allow_comments: bool,
    /// `csv.ignore-parse-errors`: bad fields become NULL, bad records are dropped (decode).
    pub ignore_parse_errors: bool,
    /// `csv.array-element-delimiter`: separates elements of ARRAY and fields of ROW values.
    pub array_element_delimiter: String,
    /// `csv.escape-character`.
    pub escape: Option<char>,
    /// `csv.null-literal`: the text of NULL (both directions); without it NULL is written as
    /// an empty field and nothing decodes as NULL.
    pub null_literal: Option<String>,
    /// `csv.write-bigdecimal-in-scientific-notation`: accepted; Flink's filesystem writer does
    /// not apply it (checked by the golden corpus), so neither does Sluice's.
    pub bigdecimal_scientific: bool,
    /// `csv.trim-spaces` (decode).
    pub trim_spaces: bool,
    /// `csv.ignore-trailing-unmappable` (decode).
    pub ignore_trailing_unmappable: bool,
    /// `csv.allow-trailing-comma` (decode).
    pub allow_trailing_comma: bool,
    /// `csv.fail-on-missing-columns` (decode).
    pub fail_on_missing_columns: bool,
    /// `csv.empty-string-as-null` (decode).
    pub empty_string_as_null: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            field_delimiter: ',',
            quote: Some('"'),
            allow_comments: false,
            ignore_parse_errors: false,
            array_element_delimiter: ";".to_owned(),
            escape: None,
            null_literal: None,
            bigdecimal_scientific: true,
            trim_spaces: false,
            ignore_trailing_unmappable: false,
            allow_trailing_comma: true,
            fail_on_missing_columns: false,
            empty_string_as_null: false,
        }
    }
}

impl CsvOptions {
    /// Reads the options under `prefix` (`csv.`, or `value.csv.` with `value.format`), with
    /// the checks of Flink's `CsvCommons.validateFormatOptions`.
    pub fn read(options: &mut Options<'_>, prefix: &str) -> CsvOptions {
        let key = |k: &str| format!("{prefix}{k}");
        let d = CsvOptions::default();
        let field_delimiter =
            single_char(options, &key("field-delimiter"), true).unwrap_or(d.field_delimiter);
        let disable_quote = options.boolean(&key("disable-quote-character"), false);
        let quote_set = options.is_set(&key("quote-character"));
        let quote_char = single_char(options, &key("quote-character"), false);
        if disable_quote && quote_set {
            options.error(
                &key("quote-character"),
                "Format cannot define a quote character and disabled quote character at the same time.",
            );
        }
        let quote = if disable_quote {
            None
        } else {
            Some(quote_char.unwrap_or('"'))
        };
        let allow_comments = options.boolean(&key("allow-comments"), false);
        let ignore_parse_errors = options.boolean(&key("ignore-parse-errors"), false);
        let array_element_delimiter =
            match single_char(options, &key("array-element-delimiter"), false) {
                Some(c) => c.to_string(),
                None => d.array_element_delimiter,
            };
        let escape = single_char(options, &key("escape-character"), false);
        let null_literal = options.string(&key("null-literal")).map(str::to_owned);
        CsvOptions {
            field_delimiter,
            quote,
            allow_comments,
            ignore_parse_errors,
            array_element_delimiter,
            escape,
            null_literal,
            bigdecimal_scientific: options
                .boolean(&key("write-bigdecimal-in-scientific-notation"), true),
            trim_spaces: options.boolean(&key("trim-spaces"), false),
            ignore_trailing_unmappable: options.boolean(&key("ignore-trailing-unmappable"), false),
            allow_trailing_comma: options.boolean(&key("allow-trailing-comma"), true),
            fail_on_missing_columns: options.boolean(&key("fail-on-missing-columns"), false),
            empty_string_as_null: options.boolean(&key("empty-string-as-null"), false),
        }
    }
}

/// A one-character option (`CsvCommons.validateCharacterVal`), Java-unescaped first when
/// `unescape` (only `field-delimiter` is).
fn single_char(options: &mut Options<'_>, key: &str, unescape: bool) -> Option<char> {
    let raw = options.string(key)?;
    let value = if unescape {
        unescape_java(raw)
    } else {
        raw.to_owned()
    };
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        // Java counts UTF-16 units: a character outside the BMP is two.
        (Some(c), None) if c.len_utf16() == 1 => Some(c),
        _ => {
            options.error(
                key,
                format!("Option '{key}' must be a string with single character, but was: {raw}"),
            );
            None
        }
    }
}

/// `StringEscapeUtils.unescapeJava`: `\t`, `\n`, `\r`, `\b`, `\f`, `\\`, `\'`, `\"`, octal
/// and `\uXXXX` escapes; anything else is kept.
pub fn unescape_java(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = it.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) if hex.len() == 4 => {
                        out.push(ch);
                        for _ in 0..4 {
                            it.next();
                        }
                    }
                    _ => out.push_str("\\u"),
                }
            }
            Some(d @ '0'..='7') => {
                let mut v = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match it.peek().and_then(|c| c.to_digit(8)) {
                        Some(n) if v * 8 + n <= 0o377 => {
                            v = v * 8 + n;
                            it.next();
                        }
                        _ => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> (CsvOptions, Vec<String>) {
        let values: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut o = Options::new("t", &values, []);
        let csv = CsvOptions::read(&mut o, "csv.");
        let errors = o
            .finish("kafka")
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.message)
            .collect();
        (csv, errors)
    }

    #[test]
    fn defaults_are_flinks() {
        let (o, e) = read(&[]);
        assert!(e.is_empty());
        assert_eq!(o, CsvOptions::default());
        assert_eq!(o.field_delimiter, ',');
        assert_eq!(o.quote, Some('"'));
        assert_eq!(o.array_element_delimiter, ";");
    }

    #[test]
    fn field_delimiter_is_java_unescaped() {
        assert_eq!(
            read(&[("csv.field-delimiter", "\\t")]).0.field_delimiter,
            '\t'
        );
        assert_eq!(read(&[("csv.field-delimiter", "|")]).0.field_delimiter, '|');
        assert_eq!(
            read(&[("csv.field-delimiter", "\\u0001")])
                .0
                .field_delimiter,
            '\u{1}'
        );
    }

    #[test]
    fn bad_values_and_unknown_options_are_reported_together() {
        let (_, e) = read(&[
            ("csv.field-delimiter", "ab"),
            ("csv.quote-character", "'"),
            ("csv.disable-quote-character", "true"),
            ("csv.array-element-delimiter", "::"),
            ("csv.no-such-option", "x"),
        ]);
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[0].contains("must be a string with single character, but was: ab"));
        assert!(e.iter().any(|m| m.contains("disabled quote character")));
        assert!(
            e.iter()
                .any(|m| m.contains("'csv.array-element-delimiter'"))
        );
        let unknown = e.iter().find(|m| m.contains("csv.no-such-option")).unwrap();
        assert!(unknown.contains("csv.field-delimiter"), "{unknown}");
        assert!(unknown.contains("csv.null-literal"), "{unknown}");
    }

    #[test]
    fn quoting_can_be_disabled() {
        let (o, e) = read(&[("csv.disable-quote-character", "true")]);
        assert!(e.is_empty());
        assert_eq!(o.quote, None);
    }
}
