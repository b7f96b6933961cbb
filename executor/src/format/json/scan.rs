//! A small, allocation-free JSON tokenizer over one record's bytes, strict like Jackson's
//! parser (with `ALLOW_UNESCAPED_CONTROL_CHARS`, as Flink enables it).

use std::borrow::Cow;

/// A token; strings and numbers point into the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// `{`
    ObjectStart,
    /// `}`
    ObjectEnd,
    /// `[`
    ArrayStart,
    /// `]`
    ArrayEnd,
    /// A string; `escaped` when it contains backslashes.
    String {
        /// First byte after the opening quote.
        start: usize,
        /// The closing quote.
        end: usize,
        /// Whether it needs unescaping.
        escaped: bool,
    },
    /// A number; `float` when it has a fraction or exponent.
    Number {
        /// First byte.
        start: usize,
        /// One past the last byte.
        end: usize,
        /// Whether it is a floating-point token.
        float: bool,
    },
    /// `true`
    True,
    /// `false`
    False,
    /// `null`
    Null,
}

/// The tokenizer.
pub struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Scanner { input, pos: 0 }
    }

    /// The input between two offsets (valid UTF-8 for number tokens).
    pub fn text(&self, start: usize, end: usize) -> &'a str {
        std::str::from_utf8(&self.input[start..end]).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        while self.pos < self.input.len()
            && matches!(self.input[self.pos], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.pos += 1;
        }
    }

    /// Whether the next non-whitespace byte is `b` (not consumed).
    pub fn peek_is(&mut self, b: u8) -> bool {
        self.skip_ws();
        self.input.get(self.pos) == Some(&b)
    }

    /// Whether only whitespace remains.
    pub fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.input.len()
    }

    fn unexpected(&self) -> String {
        match self.input.get(self.pos) {
            None => "Unexpected end-of-input".to_owned(),
            Some(&c) if c.is_ascii_graphic() => {
                format!("Unexpected character ('{}' (code {c}))", c as char)
            }
            Some(&c) => format!("Unexpected character (code {c})"),
        }
    }

    /// Consumes `:`.
    pub fn expect_colon(&mut self) -> Result<(), String> {
        self.skip_ws();
        if self.input.get(self.pos) == Some(&b':') {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "{}: was expecting a colon to separate field name and value",
                self.unexpected()
            ))
        }
    }

    /// After an object member: consumes `,` (more members follow) or leaves `}` to be read.
    pub fn after_member(&mut self, close: u8) -> Result<(), String> {
        self.skip_ws();
        match self.input.get(self.pos) {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                if self.input.get(self.pos) == Some(&close) {
                    return Err(format!(
                        "{}: was expecting double-quote to start field name",
                        self.unexpected()
                    ));
                }
                Ok(())
            }
            Some(c) if *c == close => Ok(()),
            _ => Err(format!(
                "{}: was expecting comma to separate Object entries",
                self.unexpected()
            )),
        }
    }

    /// After an array element: `true` when `]` ended the array, `false` after a `,`.
    pub fn after_element(&mut self) -> Result<bool, String> {
        self.skip_ws();
        match self.input.get(self.pos) {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b']') => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(format!(
                "{}: was expecting comma to separate Array entries",
                self.unexpected()
            )),
        }
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token, String> {
        self.skip_ws();
        let Some(&c) = self.input.get(self.pos) else {
            return Err("Unexpected end-of-input".to_owned());
        };
        match c {
            b'{' => {
                self.pos += 1;
                Ok(Token::ObjectStart)
            }
            b'}' => {
                self.pos += 1;
                Ok(Token::ObjectEnd)
            }
            b'[' => {
                self.pos += 1;
                Ok(Token::ArrayStart)
            }
            b']' => {
                self.pos += 1;
                Ok(Token::ArrayEnd)
            }
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => self.number_token(),
            b't' => self.literal(b"true", Token::True),
            b'f' => self.literal(b"false", Token::False),
            b'n' => self.literal(b"null", Token::Null),
            _ => Err(self.unrecognized()),
        }
    }

    fn unrecognized(&self) -> String {
        let rest = &self.input[self.pos..];
        let word: String = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .take(32)
            .map(|&b| b as char)
            .collect();
        if word.is_empty() {
            format!(
                "{}: expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                self.unexpected()
            )
        } else {
            format!(
                "Unrecognized token '{word}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
            )
        }
    }

    fn literal(&mut self, word: &[u8], token: Token) -> Result<Token, String> {
        let end = self.pos + word.len();
        if self.input.get(self.pos..end) == Some(word)
            && !self
                .input
                .get(end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.pos = end;
            Ok(token)
        } else {
            Err(self.unrecognized())
        }
    }

    fn string_token(&mut self) -> Result<Token, String> {
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            match memchr::memchr2(b'"', b'\\', &self.input[i..]) {
                None => {
                    return Err(
                        "Unexpected end-of-input: was expecting closing quote for a string value"
                            .to_owned(),
                    );
                }
                Some(off) => {
                    i += off;
                    if self.input[i] == b'"' {
                        break;
                    }
                    escaped = true;
                    i += 2;
                    if i > self.input.len() {
                        return Err("Unexpected end-of-input in a string escape".to_owned());
                    }
                }
            }
        }
        self.pos = i + 1;
        Ok(Token::String {
            start,
            end: i,
            escaped,
        })
    }

    fn number_token(&mut self) -> Result<Token, String> {
        let start = self.pos;
        let b = self.input;
        let mut i = self.pos;
        if b[i] == b'-' {
            i += 1;
        }
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == int_start {
            return Err("Unexpected character after '-': expected digit for a number".to_owned());
        }
        if i - int_start > 1 && b[int_start] == b'0' {
            return Err("Invalid numeric value: Leading zeroes not allowed".to_owned());
        }
        let mut float = false;
        if i < b.len() && b[i] == b'.' {
            float = true;
            i += 1;
            let f = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == f {
                return Err(
                    "Unexpected character: Decimal point not followed by a digit".to_owned(),
                );
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            float = true;
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let e = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == e {
                return Err(
                    "Unexpected character: Exponent indicator not followed by a digit".to_owned(),
                );
            }
        }
        if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'.') {
            return Err(self.unrecognized());
        }
        self.pos = i;
        Ok(Token::Number {
            start,
            end: i,
            float,
        })
    }

    /// The value of a string token, unescaped, checked as UTF-8.
    pub fn string_value(&self, token: Token) -> Result<Cow<'a, str>, String> {
        let Token::String {
            start,
            end,
            escaped,
        } = token
        else {
            return Err("not a string".to_owned());
        };
        let raw = &self.input[start..end];
        if !escaped {
            return std::str::from_utf8(raw)
                .map(Cow::Borrowed)
                .map_err(|_| "Invalid UTF-8 in a string".to_owned());
        }
        let raw = std::str::from_utf8(raw).map_err(|_| "Invalid UTF-8 in a string".to_owned())?;
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((_, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some((_, e)) = chars.next() else {
                return Err("Unexpected end-of-input in character escape sequence".to_owned());
            };
            match e {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex = |chars: &mut std::str::CharIndices<'_>| -> Result<u32, String> {
                        let mut v = 0u32;
                        for _ in 0..4 {
                            let d = chars.next().and_then(|(_, c)| c.to_digit(16)).ok_or_else(
                                || {
                                    "Unexpected character in a \\u escape: expected a hex-digit"
                                        .to_owned()
                                },
                            )?;
                            v = v * 16 + d;
                        }
                        Ok(v)
                    };
                    let u = hex(&mut chars)?;
                    if (0xD800..0xDC00).contains(&u) {
                        // A high surrogate: combine with the following \uDC00..\uDFFF.
                        let rest = chars.as_str();
                        if let Some(after) = rest.strip_prefix("\\u") {
                            let mut look = after.char_indices();
                            if let Ok(low) = hex(&mut look)
                                && (0xDC00..0xE000).contains(&low)
                            {
                                chars.next();
                                chars.next();
                                hex(&mut chars)?;
                                let c = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
                                out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                                continue;
                            }
                        }
                        out.push('\u{FFFD}');
                    } else {
                        out.push(char::from_u32(u).unwrap_or('\u{FFFD}'));
                    }
                }
                other => return Err(format!("Unrecognized character escape '{other}'")),
            }
        }
        Ok(Cow::Owned(out))
    }
}
