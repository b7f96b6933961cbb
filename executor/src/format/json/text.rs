//! JSON text as Jackson (Flink's JSON library) writes it: string escaping, and re-serializing a
//! nested object or array compactly.

use sluice_sql::java::text::write_double;

use super::parser::{JsonParser, Tok};
use super::scan::Token;

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

/// Re-serializes the container the parser is on (its current token is `{` or `[`) compactly,
/// as Jackson's `readValueAsTree().toString()`: no whitespace, floating-point numbers through
/// `double` (`1.50` → `1.5`, `1e3` → `1000.0`), integers as written (`-0` → `0`), strings
/// re-escaped. The parser ends on the container's closing token.
pub fn write_compact_tokens(p: &mut JsonParser<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let close = match p.current() {
        Some(Tok::StartObject) => {
            out.push(b'{');
            Tok::EndObject
        }
        Some(Tok::StartArray) => {
            out.push(b'[');
            Tok::EndArray
        }
        _ => return Err("expected an object or an array".to_owned()),
    };
    let mut first = true;
    loop {
        let t = p
            .next_token()?
            .ok_or_else(|| "Unexpected end-of-input".to_owned())?;
        if t == close {
            break;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        if let Tok::FieldName(_) = t {
            write_json_string(out, &p.text().unwrap_or_default());
            out.push(b':');
            p.next_token()?;
        }
        match p.current() {
            Some(Tok::StartObject | Tok::StartArray) => write_compact_tokens(p, out)?,
            Some(Tok::String(_)) => write_json_string(out, &p.text().unwrap_or_default()),
            Some(Tok::Number(Token::Number { start, end, float })) => {
                write_compact_number(p.scanner().text(start, end), float, out)?
            }
            Some(Tok::True) => out.extend_from_slice(b"true"),
            Some(Tok::False) => out.extend_from_slice(b"false"),
            Some(Tok::Null) => out.extend_from_slice(b"null"),
            _ => return Err("unexpected token in a container".to_owned()),
        }
    }
    out.push(match close {
        Tok::EndObject => b'}',
        _ => b']',
    });
    Ok(())
}

/// A number as a Jackson tree writes it: floating-point through `double` and
/// `Double.toString`, integers as written except that `-0` is `0`.
pub fn write_compact_number(text: &str, float: bool, out: &mut Vec<u8>) -> Result<(), String> {
    if float {
        let v: f64 = text.parse().map_err(|_| format!("invalid number {text}"))?;
        let mut s = String::new();
        write_double(&mut s, v);
        out.extend_from_slice(s.as_bytes());
    } else {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.bytes().all(|b| b == b'0') {
            out.push(b'0');
        } else {
            out.extend_from_slice(text.as_bytes());
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
        let mut p = JsonParser::new(s.as_bytes(), Vec::new());
        p.next_token().unwrap();
        let mut out = Vec::new();
        write_compact_tokens(&mut p, &mut out).unwrap();
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
