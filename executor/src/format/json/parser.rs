//! Jackson's streaming `JsonParser` as Flink's decoder drives it: `next_token()` one token at a
//! time (field names are their own tokens), `current()` the last one, `text()` its
//! `getText()`. Flink's converters call these in patterns that only make sense token by token
//! (see the container-for-scalar quirk in `docs/flink-compat.md` §a.3), so the decoder is a
//! port of those calls onto this parser.

use std::borrow::Cow;

use super::scan::{Scanner, Token};

/// A token as Jackson reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// `{`
    StartObject,
    /// `}`
    EndObject,
    /// `[`
    StartArray,
    /// `]`
    EndArray,
    /// A member name (the scanner's string token).
    FieldName(Token),
    /// A string value.
    String(Token),
    /// A number (the scanner's number token).
    Number(Token),
    /// `true`
    True,
    /// `false`
    False,
    /// `null`
    Null,
}

/// Where the parser is: reusable storage for [`JsonParser::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    /// In an object: the next token is a name or `}` (`first`), else `,` or `}` follows.
    Object { first: bool, after_name: bool },
    /// In an array: the next token is a value or `]` (`first`), else `,` or `]` follows.
    Array { first: bool },
}

/// The parser over one message.
pub struct JsonParser<'a> {
    sc: Scanner<'a>,
    input: &'a [u8],
    stack: Vec<Ctx>,
    current: Option<Tok>,
    /// A syntax error, repeated by every later call (Jackson's parser does not recover).
    broken: Option<String>,
}

impl<'a> JsonParser<'a> {
    /// A parser at the start of `input`; `stack` is reused storage.
    pub fn new(input: &'a [u8], mut stack: Vec<Ctx>) -> JsonParser<'a> {
        stack.clear();
        JsonParser {
            sc: Scanner::new(input),
            input,
            stack,
            current: None,
            broken: None,
        }
    }

    /// Gives the reusable storage back.
    pub fn into_stack(self) -> Vec<Ctx> {
        self.stack
    }

    /// The record's bytes.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The current token (`None` before the first and after the end of the input).
    pub fn current(&self) -> Option<Tok> {
        self.current
    }

    /// The scanner, for converters that read a string token's value.
    pub fn scanner(&self) -> &Scanner<'a> {
        &self.sc
    }

    /// Advances to the next token; `None` at the end of the input (outside any container).
    pub fn next_token(&mut self) -> Result<Option<Tok>, String> {
        if let Some(e) = &self.broken {
            return Err(e.clone());
        }
        match self.advance() {
            Ok(t) => {
                self.current = t;
                Ok(t)
            }
            Err(e) => {
                self.broken = Some(e.clone());
                Err(e)
            }
        }
    }

    fn advance(&mut self) -> Result<Option<Tok>, String> {
        let Some(ctx) = self.stack.last_mut() else {
            if self.sc.at_end() {
                return Ok(None);
            }
            return self.value().map(Some);
        };
        match *ctx {
            Ctx::Object {
                first,
                after_name: false,
            } => {
                if first {
                    *ctx = Ctx::Object {
                        first: false,
                        after_name: false,
                    };
                    if self.sc.peek_is(b'}') {
                        self.sc.next_token()?;
                        self.stack.pop();
                        return Ok(Some(Tok::EndObject));
                    }
                } else {
                    self.sc.after_member(b'}')?;
                    if self.sc.peek_is(b'}') {
                        self.sc.next_token()?;
                        self.stack.pop();
                        return Ok(Some(Tok::EndObject));
                    }
                }
                match self.sc.next_token()? {
                    t @ Token::String { .. } => {
                        self.sc.string_value(t)?;
                        if let Some(Ctx::Object { after_name, .. }) = self.stack.last_mut() {
                            *after_name = true;
                        }
                        Ok(Some(Tok::FieldName(t)))
                    }
                    _ => Err(
                        "Unexpected character: was expecting double-quote to start field name"
                            .to_owned(),
                    ),
                }
            }
            Ctx::Object {
                after_name: true, ..
            } => {
                *ctx = Ctx::Object {
                    first: false,
                    after_name: false,
                };
                self.sc.expect_colon()?;
                self.value().map(Some)
            }
            Ctx::Array { first } => {
                *ctx = Ctx::Array { first: false };
                if first {
                    if self.sc.peek_is(b']') {
                        self.sc.next_token()?;
                        self.stack.pop();
                        return Ok(Some(Tok::EndArray));
                    }
                } else if self.sc.after_element()? {
                    self.stack.pop();
                    return Ok(Some(Tok::EndArray));
                }
                self.value().map(Some)
            }
        }
    }

    /// A value token; containers are entered.
    fn value(&mut self) -> Result<Tok, String> {
        Ok(match self.sc.next_token()? {
            Token::ObjectStart => {
                self.stack.push(Ctx::Object {
                    first: true,
                    after_name: false,
                });
                Tok::StartObject
            }
            Token::ArrayStart => {
                self.stack.push(Ctx::Array { first: true });
                Tok::StartArray
            }
            Token::ObjectEnd | Token::ArrayEnd => {
                return Err("Unexpected close marker: expected a value".to_owned());
            }
            t @ Token::String { .. } => {
                // Jackson checks strings (escapes, UTF-8) even when they are skipped.
                self.sc.string_value(t)?;
                Tok::String(t)
            }
            t @ Token::Number { .. } => Tok::Number(t),
            Token::True => Tok::True,
            Token::False => Tok::False,
            Token::Null => Tok::Null,
        })
    }

    /// Jackson's `getText()` of the current token (`None` when there is none).
    pub fn text(&self) -> Option<Cow<'a, str>> {
        Some(match self.current? {
            Tok::StartObject => Cow::Borrowed("{"),
            Tok::EndObject => Cow::Borrowed("}"),
            Tok::StartArray => Cow::Borrowed("["),
            Tok::EndArray => Cow::Borrowed("]"),
            Tok::FieldName(t) | Tok::String(t) => self.sc.string_value(t).ok()?,
            Tok::Number(Token::Number { start, end, .. }) => {
                Cow::Borrowed(self.sc.text(start, end))
            }
            Tok::Number(_) => return None,
            Tok::True => Cow::Borrowed("true"),
            Tok::False => Cow::Borrowed("false"),
            Tok::Null => Cow::Borrowed("null"),
        })
    }

    /// Flink's `JsonParserToRowDataConverters.skipToNextField`: skips a container the current
    /// token opens, then advances one token. With no current token Flink throws a
    /// `NullPointerException`.
    pub fn skip_to_next_field(&mut self) -> Result<(), String> {
        match self.current {
            None => return Err("NullPointerException while skipping a field".to_owned()),
            Some(Tok::StartObject | Tok::StartArray) => {
                let mut depth = 1;
                while depth > 0 {
                    match self.next_token()? {
                        Some(Tok::EndArray | Tok::EndObject) => depth -= 1,
                        Some(Tok::StartArray | Tok::StartObject) => depth += 1,
                        Some(_) => {}
                        None => return Err("Unexpected end-of-input".to_owned()),
                    }
                }
            }
            Some(_) => {}
        }
        self.next_token()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Result<Vec<String>, String> {
        let mut p = JsonParser::new(s.as_bytes(), Vec::new());
        let mut out = Vec::new();
        while p.next_token()?.is_some() {
            out.push(p.text().map(|t| t.into_owned()).unwrap_or_default());
        }
        Ok(out)
    }

    #[test]
    fn tokens_like_jackson() {
        assert_eq!(
            tokens(r#"{"a": [1, "x", {}], "b": null} {"c":true}"#).unwrap(),
            [
                "{", "a", "[", "1", "x", "{", "}", "]", "b", "null", "}", "{", "c", "true", "}"
            ]
        );
        assert!(tokens(r#"{"a": 1,}"#).is_err());
        assert!(tokens(r#"[1,]"#).is_err());
        assert!(tokens(r#"{"a": 1"#).is_err());
        assert!(tokens(r#"{"a" 1}"#).is_err());
        assert!(tokens(r#"{"a": 1} garbage"#).is_err());
    }
}
