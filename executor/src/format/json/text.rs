//! JSON text as Jackson (Flink's JSON library) writes it: string escaping, and re-serializing a
//! nested object or array compactly.

use sluice_sql::java_text::write_double;

use super::scan::{Scanner, Token};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `s` as a JSON string literal the way Jackson's default generator does: `"` and `\`
/// escaped, control characters as `\b \t \n \f \r` or `\u00XX` (upper-case hex), characters
/// outside the BMP as two `\uXXXX` surrogate escapes, everything else raw UTF-8.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            b'\t' => Some(b"\\t"),
            b'\n' => Some(b"\\n"),
            0x0c => Some(b"\\f"),
            b'\r' => Some(b"\\r"),
            _ => None,
        };
        if let Some(e) = escape {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(e);
            i += 1;
            start = i;
        } else if b < 0x20 {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
            i += 1;
            start = i;
        } else if b >= 0xF0 {
            // A 4-byte UTF-8 sequence: a supplementary character, written as surrogates.
            out.extend_from_slice(&bytes[start..i]);
            let c = s[i..].chars().next().unwrap_or('\u{FFFD}');
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((*u >> shift) & 0xf) as usize]);
                }
            }
            i += c.len_utf8();
            start = i;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Re-serializes the JSON value at the scanner's position compactly, as Jackson's
/// `readValueAsTree().toString()`: no whitespace, floating-point numbers through `double`
/// (`1.50` → `1.5`, `1e3` → `1000.0`), integers as written (`-0` → `0`), strings re-escaped.
pub fn write_compact(scanner: &mut Scanner<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let token = scanner.next_token()?;
    write_compact_token(scanner, token, out)
}

fn write_compact_token(
    scanner: &mut Scanner<'_>,
    token: Token,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    match token {
        Token::Null => out.extend_from_slice(b"null"),
        Token::True => out.extend_from_slice(b"true"),
        Token::False => out.extend_from_slice(b"false"),
        Token::String { .. } => {
            let s = scanner.string_value(token)?;
            write_json_string(out, &s);
        }
        Token::Number { start, end, float } => {
            let text = scanner.text(start, end);
            if float {
                let v: f64 = text.parse().map_err(|_| format!("invalid number {text}"))?;
                let mut s = String::new();
                write_double(&mut s, v);
                out.extend_from_slice(s.as_bytes());
            } else {
                let trimmed = text.strip_prefix('-').unwrap_or(text);
                if trimmed.bytes().all(|b| b == b'0') {
                    out.push(b'0');
                } else {
                    out.extend_from_slice(text.as_bytes());
                }
            }
        }
        Token::ObjectStart => {
            out.push(b'{');
            let mut first = true;
            loop {
                let t = scanner.next_token()?;
                match t {
                    Token::ObjectEnd => break,
                    Token::String { .. } => {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        let key = scanner.string_value(t)?;
                        write_json_string(out, &key);
                        scanner.expect_colon()?;
                        out.push(b':');
                        write_compact(scanner, out)?;
                        scanner.after_member(b'}')?;
                    }
                    _ => return Err("expected a field name".to_owned()),
                }
                if scanner.peek_is(b'}') {
                    scanner.next_token()?;
                    break;
                }
            }
            out.push(b'}');
        }
        Token::ArrayStart => {
            out.push(b'[');
            if scanner.peek_is(b']') {
                scanner.next_token()?;
            } else {
                let mut first = true;
                loop {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    write_compact(scanner, out)?;
                    if scanner.after_element()? {
                        break;
                    }
                }
            }
            out.push(b']');
        }
        Token::ObjectEnd | Token::ArrayEnd => {
            return Err("unexpected end of a container".to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn compact(s: &str) -> String {
        let mut sc = Scanner::new(s.as_bytes());
        let mut out = Vec::new();
        write_compact(&mut sc, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_as_jackson() {
        assert_eq!(esc("a\"b\\c/d"), r#""a\"b\\c/d""#);
        assert_eq!(esc("\u{0}\u{1}\u{1f}\t\n"), r#""\u0000\u0001\u001F\t\n""#);
        assert_eq!(esc("café 中 \u{7f}"), "\"café 中 \u{7f}\"");
        assert_eq!(esc("😀"), r#""\uD83D\uDE00""#);
    }

    #[test]
    fn compacts_as_jackson_tree_to_string() {
        assert_eq!(
            compact(r#"{ "a" : [1, 1.50, 1e3, -0, -0.0], "b": {"c": "\u00e9"} , "d":null}"#),
            r#"{"a":[1,1.5,1000.0,0,-0.0],"b":{"c":"é"},"d":null}"#
        );
        assert_eq!(compact("[]"), "[]");
        assert_eq!(compact("{}"), "{}");
    }
}
