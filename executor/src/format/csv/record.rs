//! Splitting one CSV record into its fields as Jackson's `CsvParser` does with the schema
//! Flink gives it: the first row of the message is read (the rest is ignored), quoted values
//! may hold delimiters, line breaks and doubled quote characters, the escape character takes
//! the next character literally (`\n`, `\r`, `\t`, `\0` are control characters), and the field
//! count is checked against the columns.

use super::CsvOptions;

/// Why a record could not be split (Jackson's wording where it matters).
pub type SplitError = String;

/// One field's text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Field {
    /// The value, quotes and escapes removed.
    pub text: String,
    /// Whether it was quoted.
    pub quoted: bool,
}

/// Splits `text` into `fields` (cleared first) for a schema of `columns` columns.
pub fn split(
    text: &str,
    o: &CsvOptions,
    columns: usize,
    fields: &mut Vec<Field>,
) -> Result<(), SplitError> {
    fields.clear();
    let b: Vec<char> = text.chars().collect();
    let mut i = 0;
    if o.allow_comments {
        while b.get(i) == Some(&'#') {
            while i < b.len() && b[i] != '\n' && b[i] != '\r' {
                i += 1;
            }
            if b.get(i) == Some(&'\r') {
                i += 1;
            }
            if b.get(i) == Some(&'\n') {
                i += 1;
            }
        }
    }
    if i >= b.len() {
        return Err("No content to map due to end-of-input".to_owned());
    }
    let sep = o.field_delimiter;
    let space = |c: char| c == ' ' || c == '\t';
    loop {
        let mut f = Field::default();
        if o.trim_spaces {
            while i < b.len() && space(b[i]) && b[i] != sep {
                i += 1;
            }
        }
        if o.quote.is_some() && b.get(i).copied() == o.quote {
            let q = b[i];
            f.quoted = true;
            i += 1;
            loop {
                let Some(&c) = b.get(i) else {
                    return Err("Missing closing quote for value".to_owned());
                };
                i += 1;
                if c == q {
                    if b.get(i) == Some(&q) {
                        f.text.push(q);
                        i += 1;
                        continue;
                    }
                    break;
                }
                if Some(c) == o.escape
                    && let Some(&n) = b.get(i)
                {
                    f.text.push(unescape(n));
                    i += 1;
                    continue;
                }
                f.text.push(c);
            }
            if o.trim_spaces {
                while i < b.len() && space(b[i]) && b[i] != sep {
                    i += 1;
                }
            }
            if let Some(&c) = b.get(i)
                && c != sep
                && c != '\n'
                && c != '\r'
            {
                return Err(format!(
                    "Unexpected character ('{c}' (code {})): Expected column separator character ('{sep}' (code {})) or end-of-line",
                    c as u32, sep as u32
                ));
            }
        } else {
            while let Some(&c) = b.get(i) {
                if c == sep || c == '\n' || c == '\r' {
                    break;
                }
                i += 1;
                if Some(c) == o.escape
                    && let Some(&n) = b.get(i)
                {
                    f.text.push(unescape(n));
                    i += 1;
                    continue;
                }
                f.text.push(c);
            }
            if o.trim_spaces {
                let t = f.text.trim_matches(space).len();
                let start = f.text.len() - f.text.trim_start_matches(space).len();
                f.text = f.text[start..start + t].to_owned();
            }
        }
        fields.push(f);
        if b.get(i) == Some(&sep) {
            i += 1;
            continue;
        }
        break;
    }
    if fields.len() > columns {
        let trailing_comma = o.allow_trailing_comma
            && fields.len() == columns + 1
            && fields
                .last()
                .is_some_and(|f| f.text.is_empty() && !f.quoted);
        if trailing_comma || o.ignore_trailing_unmappable {
            fields.truncate(columns);
        } else {
            let extra = &fields[columns];
            return Err(format!(
                "Too many entries: expected at most {columns} (value #{columns} ({} chars) \"{}\")",
                extra.text.chars().count(),
                extra.text
            ));
        }
    }
    if o.fail_on_missing_columns && fields.len() < columns {
        return Err(format!(
            "Not enough column values: expected {columns}, found {}",
            fields.len()
        ));
    }
    Ok(())
}

/// Jackson's `CsvDecoder._unescape`.
fn unescape(c: char) -> char {
    match c {
        '0' => '\0',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str, o: &CsvOptions, n: usize) -> Result<Vec<String>, String> {
        let mut f = Vec::new();
        split(text, o, n, &mut f)?;
        Ok(f.into_iter().map(|f| f.text).collect())
    }

    #[test]
    fn quoted_values_hold_delimiters_quotes_and_newlines() {
        let o = CsvOptions::default();
        assert_eq!(
            fields("1,\"a,b\",\"q\"\"q\",x\"y", &o, 4).unwrap(),
            ["1", "a,b", "q\"q", "x\"y"]
        );
        assert_eq!(
            fields("\"multi\nline\",2", &o, 2).unwrap(),
            ["multi\nline", "2"]
        );
        assert_eq!(fields("1,x\n2,y", &o, 2).unwrap(), ["1", "x"]);
    }

    #[test]
    fn field_count_is_checked_with_one_trailing_comma_allowed() {
        let o = CsvOptions::default();
        assert_eq!(fields("1,2,", &o, 2).unwrap(), ["1", "2"]);
        assert!(
            fields("1,2,,", &o, 2)
                .unwrap_err()
                .starts_with("Too many entries")
        );
        assert_eq!(fields("1", &o, 2).unwrap(), ["1"]);
        assert_eq!(
            fields("", &o, 2).unwrap_err(),
            "No content to map due to end-of-input"
        );
    }

    #[test]
    fn bad_quoting_fails() {
        let o = CsvOptions::default();
        assert_eq!(
            fields("\"open", &o, 1).unwrap_err(),
            "Missing closing quote for value"
        );
        assert!(
            fields("1,\"x\"y", &o, 2)
                .unwrap_err()
                .starts_with("Unexpected character ('y'")
        );
    }

    #[test]
    fn comments_and_escapes() {
        let o = CsvOptions {
            allow_comments: true,
            escape: Some('\\'),
            ..CsvOptions::default()
        };
        assert_eq!(fields("#c\n1,a\\,b", &o, 2).unwrap(), ["1", "a,b"]);
        assert!(fields("#only", &o, 2).is_err());
    }
}
