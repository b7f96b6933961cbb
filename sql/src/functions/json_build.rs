//! JSON values the way Flink's SQL/JSON constructors build them (`SqlJsonUtils`): a tree that
//! Jackson writes compactly with every object's keys sorted (`ORDER_MAP_ENTRIES_BY_KEYS`, Java
//! string order) and fractional numbers as `BigDecimal`s (`USE_BIG_DECIMAL_FOR_FLOATS`:
//! `1e2` → `1E+2`, `2.50` stays `2.50`); and JSON text read as Jackson's
//! `ObjectMapper.readValue(text, Object.class)` reads it: the first value, anything after it
//! ignored, except that a number (and `true`/`false`/`null` followed by a letter or digit) must
//! end the text or be followed by whitespace.

use std::fmt::Write as _;

use crate::java::parse::decimal_parts;

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Node {
    Null,
    Bool(bool),
    /// The number's text as Jackson writes it.
    Number(String),
    Str(String),
    Array(Vec<Node>),
    /// Entries in insertion order; a key set again replaces the value.
    Object(Vec<(String, Node)>),
}

/// Why text is not JSON (Jackson's complaint, shortened).
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0} at character {1}")]
pub(super) struct JsonError(pub &'static str, pub usize);

/// Jackson's `StreamReadConstraints` defaults (2.15 and later).
const MAX_DEPTH: usize = 1000;
const MAX_NUMBER_LENGTH: usize = 1000;

impl Node {
    /// `ObjectNode.set`: a key set again keeps its place and takes the new value.
    pub(super) fn set(entries: &mut Vec<(String, Node)>, key: String, value: Node) {
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = value,
            None => entries.push((key, value)),
        }
    }

    /// The compact JSON text, keys sorted.
    pub(super) fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Node::Number(n) => out.push_str(n),
            Node::Str(s) => write_string(out, s),
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Node::Object(entries) => {
                let mut sorted: Vec<&(String, Node)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Whether the value is neither an object nor an array.
    pub(super) fn is_scalar(&self) -> bool {
        !matches!(self, Node::Array(_) | Node::Object(_))
    }
}

/// A JSON string as Jackson writes it: `"` and `\` escaped, control characters as `\n`-style
/// escapes or `\u00XX` (upper-case hex), everything else as it is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{9}' => out.push_str("\\t"),
            '\u{a}' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\u{d}' => out.push_str("\\r"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `new BigDecimal(text).toString()` for a number Jackson read, or Java's text of a `double`.
pub(super) fn big_decimal_text(text: &str) -> Option<String> {
    let (negative, digits, exponent) = decimal_parts(text)?;
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let negative = negative && digits != "0";
    let scale = -exponent;
    let adjusted = -scale + digits.len() as i64 - 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(digits);
    } else if scale > 0 && adjusted >= -6 {
        let scale = scale as usize;
        if digits.len() > scale {
            out.push_str(&digits[..digits.len() - scale]);
            out.push('.');
            out.push_str(&digits[digits.len() - scale..]);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - digits.len()));
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "E{}{adjusted}", if adjusted >= 0 { "+" } else { "" });
    }
    Some(out)
}

/// `ObjectMapper.readValue(text, Object.class)`.
pub(super) fn parse(text: &str) -> Result<Node, JsonError> {
    let mut p = Reader {
        b: text.as_bytes(),
        text,
        at: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.at == p.b.len() {
        return Err(JsonError("no content", p.at));
    }
    let root_number = matches!(p.peek(), Some(b'-' | b'0'..=b'9'));
    let node = p.value()?;
    if root_number && !matches!(p.peek(), None | Some(b' ' | b'\t' | b'\n' | b'\r')) {
        return Err(JsonError(
            "expected space separating root-level values",
            p.at,
        ));
    }
    Ok(node)
}

struct Reader<'a> {
    b: &'a [u8],
    text: &'a str,
    at: usize,
    depth: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn fail<T>(&self, what: &'static str) -> Result<T, JsonError> {
        Err(JsonError(what, self.at))
    }

    fn value(&mut self) -> Result<Node, JsonError> {
        match self.peek() {
            Some(b'{') => self.container(true),
            Some(b'[') => self.container(false),
            Some(b'"') => self.string().map(Node::Str),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Node::Bool(true)),
            Some(b'f') => self.literal("false", Node::Bool(false)),
            Some(b'n') => self.literal("null", Node::Null),
            _ => self.fail("unexpected character"),
        }
    }

    fn container(&mut self, object: bool) -> Result<Node, JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("nesting too deep");
        }
        self.at += 1;
        let close = if object { b'}' } else { b']' };
        let mut items = Vec::new();
        let mut entries = Vec::new();
        self.skip_ws();
        if self.peek() == Some(close) {
            self.at += 1;
        } else {
            loop {
                self.skip_ws();
                if object {
                    if self.peek() != Some(b'"') {
                        return self.fail("was expecting double-quote to start field name");
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return self.fail("was expecting a colon");
                    }
                    self.at += 1;
                    self.skip_ws();
                    let v = self.value()?;
                    Node::set(&mut entries, key, v);
                } else {
                    items.push(self.value()?);
                }
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(c) if c == close => {
                        self.at += 1;
                        break;
                    }
                    _ => return self.fail("was expecting comma or end of container"),
                }
            }
        }
        self.depth -= 1;
        Ok(if object {
            Node::Object(entries)
        } else {
            Node::Array(items)
        })
    }

    fn literal(&mut self, word: &str, node: Node) -> Result<Node, JsonError> {
        if !self.b[self.at..].starts_with(word.as_bytes()) {
            return self.fail("unrecognized token");
        }
        self.at += word.len();
        // Jackson's `_matchToken`: a following letter or digit makes it another token.
        if let Some(c) = self.text[self.at..].chars().next()
            && c >= '0'
            && c != ']'
            && c != '}'
            && (c.is_alphanumeric() || c == '_' || c == '$')
        {
            return self.fail("unrecognized token");
        }
        Ok(node)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Node, JsonError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let int_start = self.at;
        let n = self.digits();
        if n == 0 {
            return self.fail("expected digit after minus sign");
        }
        if n > 1 && self.b[int_start] == b'0' {
            return self.fail("leading zeroes not allowed");
        }
        let mut fractional = false;
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return self.fail("decimal point must be followed by a digit");
            }
            fractional = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return self.fail("exponent indicator not followed by a digit");
            }
            fractional = true;
        }
        let text = &self.text[start..self.at];
        if text.len() > MAX_NUMBER_LENGTH {
            return self.fail("number too long");
        }
        if fractional {
            return match big_decimal_text(text) {
                Some(t) => Ok(Node::Number(t)),
                None => self.fail("bad number"),
            };
        }
        // An integer: `Integer`/`Long`/`BigInteger`, written without sign for zero.
        let digits = &self.text[int_start..self.at];
        Ok(Node::Number(
            if digits == "0" { digits } else { text }.to_owned(),
        ))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = String::new();
        let mut pending_high: Option<u16> = None;
        loop {
            let Some(c) = self.text[self.at..].chars().next() else {
                return self.fail("unexpected end-of-input in a string");
            };
            self.at += c.len_utf8();
            let unit = match c {
                '"' => break,
                '\\' => {
                    let Some(e) = self.peek() else {
                        return self.fail("unexpected end-of-input in an escape");
                    };
                    self.at += 1;
                    match e {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        b'u' => {
                            let hex = self.text.get(self.at..self.at + 4).unwrap_or("");
                            let Ok(u) = u16::from_str_radix(hex, 16) else {
                                return self.fail("bad \\u escape");
                            };
                            if hex.len() != 4 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                                return self.fail("bad \\u escape");
                            }
                            self.at += 4;
                            match (pending_high.take(), u) {
                                (Some(h), 0xDC00..=0xDFFF) => {
                                    out.extend(
                                        char::decode_utf16([h, u]).map(|r| r.unwrap_or('\u{FFFD}')),
                                    );
                                    continue;
                                }
                                (h, _) => {
                                    if h.is_some() {
                                        out.push('\u{FFFD}');
                                    }
                                    if (0xD800..0xDC00).contains(&u) {
                                        pending_high = Some(u);
                                        continue;
                                    }
                                    Some(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}'))
                                }
                            }
                        }
                        _ => return self.fail("unrecognized character escape"),
                    }
                }
                c if c < ' ' => return self.fail("illegal unquoted character"),
                c => Some(c),
            };
            if pending_high.take().is_some() {
                out.push('\u{FFFD}');
            }
            out.extend(unit);
        }
        if pending_high.is_some() {
            out.push('\u{FFFD}');
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(s: &str) -> bool {
        parse(s).is_ok()
    }

    #[test]
    fn what_jackson_reads() {
        for yes in [
            "{}",
            "[1, 2]",
            "1",
            "\"str\"",
            "null",
            "true",
            "1 2",
            "true,",
            "1e400",
            "\"a\"b",
            "{} trailing",
            "{\"a\":1}}",
            "\t[1]\n",
            "{\"a\": 1, \"a\": 2}",
        ] {
            assert!(reads(yes), "{yes}");
        }
        for no in [
            "",
            "   ",
            "abc",
            "{\"a\": 1",
            "[1,]",
            "1,2",
            "123abc",
            "01",
            "NaN",
            "{a: 1}",
            "[\"\\x\"]",
            "-",
            "truex",
            "1.",
            ".5",
        ] {
            assert!(!reads(no), "{no}");
        }
    }

    #[test]
    fn written_as_jackson_writes_them() {
        let n =
            parse("{\"b\": 1, \"a\": {\"d\": 2.0, \"c\": 1e2}, \"B\": [-0, -0.0, 2.50]}").unwrap();
        assert_eq!(
            n.to_json(),
            "{\"B\":[0,0.0,2.50],\"a\":{\"c\":1E+2,\"d\":2.0},\"b\":1}"
        );
        assert_eq!(
            Node::Str("\t\u{1}\u{1f}\"\\/é".into()).to_json(),
            "\"\\t\\u0001\\u001F\\\"\\\\/é\""
        );
        assert_eq!(big_decimal_text("1.0E20").as_deref(), Some("1.0E+20"));
        assert_eq!(big_decimal_text("1.0E-7").as_deref(), Some("1.0E-7"));
        assert_eq!(
            big_decimal_text("9.999999747378752E-6").as_deref(),
            Some("0.000009999999747378752")
        );
        assert_eq!(big_decimal_text("-0.0").as_deref(), Some("0.0"));
    }
}
