//! Flink's text encodings of numbers, strings and bytes: `HEX`, `UNHEX`, `BIN`, `TO_BASE64`,
//! `FROM_BASE64`, `URL_ENCODE`, `URL_DECODE`, `ENCODE`/`DECODE` (charsets), and IPv4 addresses as numbers (`INET_ATON`,
//! `INET_NTOA`).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;

use super::rowwise::{Arg, Kind, Out, Returns, RowError, RowWise};

/// `java.util.Base64`'s basic encoder and decoder: padding written, optional when read, and
/// the unused bits of the last character not checked.
const JAVA_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    use Kind::{Bytes, Int, Str};
    let string = || Returns::Fixed(DataType::Utf8);
    vec![
        // An integer as `Long.toHexString` (two's complement), a string as its UTF-8 bytes;
        // upper case.
        RowWise::new("hex", &[&[Int], &[Str]], string(), |a| {
            Ok(Out::Str(match a[0] {
                Arg::Int(i) => format!("{i:X}"),
                Arg::Str(s) => upper_hex(s.as_bytes()),
                _ => return Ok(Out::Null),
            }))
        })
        .udf(),
        // Hex text to BYTES; NULL if not hex.
        RowWise::new("unhex", &[&[Str]], Returns::Fixed(DataType::Binary), |a| {
            Ok(unhex(a[0].str().unwrap_or_default()).map_or(Out::Null, Out::Bytes))
        })
        .udf(),
        RowWise::new(
            "inet_aton",
            &[&[Str]],
            Returns::Fixed(DataType::Int64),
            |a| Ok(inet_aton(a[0].str().unwrap_or_default()).map_or(Out::Null, Out::Int)),
        )
        .udf(),
        RowWise::new("inet_ntoa", &[&[Int]], string(), |a| {
            let n = a[0].int().unwrap_or(-1);
            Ok(match u32::try_from(n) {
                Ok(n) => Out::Str(std::net::Ipv4Addr::from(n).to_string()),
                Err(_) => Out::Null,
            })
        })
        .udf(),
        RowWise::new("bin", &[&[Int]], string(), |a| {
            Ok(Out::Str(format!("{:b}", a[0].int().unwrap_or_default())))
        })
        .udf(),
        RowWise::new("to_base64", &[&[Str], &[Bytes]], string(), |a| {
            let bytes = match a[0] {
                Arg::Str(s) => s.as_bytes(),
                Arg::Bytes(b) => b,
                _ => return Ok(Out::Null),
            };
            Ok(Out::Str(JAVA_BASE64.encode(bytes)))
        })
        .udf(),
        // A STRING of the decoded bytes (UTF-8, malformed sequences → U+FFFD); text that is
        // not Base64 fails the job, as in Flink.
        RowWise::new(
            "from_base64",
            &[&[Str], &[Bytes]],
            Returns::Fixed(DataType::Utf8),
            |a| {
                let text = match a[0] {
                    Arg::Str(s) => s.as_bytes(),
                    Arg::Bytes(b) => b,
                    _ => return Ok(Out::Null),
                };
                JAVA_BASE64
                    .decode(text)
                    .map(|b| Out::Str(String::from_utf8_lossy(&b).into_owned()))
                    .map_err(RowError::InvalidBase64)
            },
        )
        .udf(),
        // Java's `String.getBytes(charset)` / `new String(bytes, charset)`: unmappable
        // characters become `?`, malformed bytes U+FFFD; an unknown charset fails the job.
        RowWise::new(
            "encode",
            &[&[Str, Str]],
            Returns::Fixed(DataType::Binary),
            |a| {
                let (s, cs) = (
                    a[0].str().unwrap_or_default(),
                    a[1].str().unwrap_or_default(),
                );
                encode(s, cs).map(Out::Bytes)
            },
        )
        .udf(),
        RowWise::new("decode", &[&[Bytes, Str]], string(), |a| {
            let (b, cs) = (
                a[0].bytes().unwrap_or_default(),
                a[1].str().unwrap_or_default(),
            );
            decode(b, cs).map(Out::Str)
        })
        .udf(),
        RowWise::new("url_encode", &[&[Str]], string(), |a| {
            Ok(Out::Str(url_encode(a[0].str().unwrap_or_default())))
        })
        .udf(),
        // Malformed escapes give NULL (Flink catches the decoder's exception).
        RowWise::new("url_decode", &[&[Str]], string(), |a| {
            Ok(url_decode(a[0].str().unwrap_or_default()).map_or(Out::Null, Out::Str))
        })
        .udf(),
    ]
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .chars()
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len() / 2 + 1);
    let mut rest = digits.as_slice();
    // Flink turns the first digit of an odd-length text into a 0 byte (observed: "6" → 0x00,
    // "abc" → 0x00 0xBC).
    if rest.len() % 2 == 1 {
        out.push(0);
        rest = &rest[1..];
    }
    out.extend(rest.chunks(2).map(|p| (p[0] << 4) | p[1]));
    Some(out)
}

/// `a.b.c.d` (each part at most 255) as a number; with fewer parts the last one fills the
/// remaining bytes (`1.2.3` is 1.2.0.3), as MySQL's `INET_ATON`.
fn inet_aton(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut out: i64 = 0;
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let v: i64 = p.parse().ok()?;
        if v > 255 {
            return None;
        }
        if i + 1 == parts.len() {
            out = (out << (8 * (4 - i))) | v;
        } else {
            out = (out << 8) | v;
        }
    }
    Some(out)
}

/// A Java charset name, case-insensitively, with its common aliases.
fn charset(name: &str) -> Result<&'static str, RowError> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "UTF-8" | "UTF8" => "UTF-8",
        "US-ASCII" | "ASCII" => "US-ASCII",
        "ISO-8859-1" | "ISO8859_1" | "LATIN1" => "ISO-8859-1",
        "UTF-16" | "UTF_16" => "UTF-16",
        "UTF-16BE" => "UTF-16BE",
        "UTF-16LE" => "UTF-16LE",
        _ => {
            return Err(RowError::UnsupportedCharset(name.to_owned()));
        }
    })
}

fn encode(s: &str, cs: &str) -> Result<Vec<u8>, RowError> {
    let narrow = |max: u32| -> Vec<u8> {
        s.chars()
            .map(|c| {
                if u32::from(c) <= max {
                    u32::from(c) as u8
                } else {
                    b'?'
                }
            })
            .collect()
    };
    Ok(match charset(cs)? {
        "UTF-8" => s.as_bytes().to_vec(),
        "US-ASCII" => narrow(0x7F),
        "ISO-8859-1" => narrow(0xFF),
        // Java writes a byte-order mark, then big-endian units (nothing for '').
        "UTF-16" if s.is_empty() => Vec::new(),
        "UTF-16" => [0xFE, 0xFF]
            .into_iter()
            .chain(s.encode_utf16().flat_map(u16::to_be_bytes))
            .collect(),
        "UTF-16BE" => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        _ => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
    })
}

fn decode(b: &[u8], cs: &str) -> Result<String, RowError> {
    let utf16 = |b: &[u8], le: bool| -> String {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|p| match (p, le) {
                ([x, y], false) => u16::from_be_bytes([*x, *y]),
                ([x, y], true) => u16::from_le_bytes([*x, *y]),
                _ => 0xFFFD,
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    Ok(match charset(cs)? {
        "UTF-8" => String::from_utf8_lossy(b).into_owned(),
        "US-ASCII" => b
            .iter()
            .map(|&c| if c < 0x80 { char::from(c) } else { '\u{FFFD}' })
            .collect(),
        "ISO-8859-1" => b.iter().map(|&c| char::from(c)).collect(),
        // A byte-order mark chooses the order and is dropped; big-endian without one.
        "UTF-16" => match b {
            [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
            [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
            _ => utf16(b, false),
        },
        "UTF-16BE" => utf16(b, false),
        _ => utf16(b, true),
    })
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `java.net.URLEncoder.encode(s, UTF_8)`: letters, digits and `.-*_` kept, space → `+`,
/// every other byte of the UTF-8 text → `%XX` (upper case).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `java.net.URLDecoder.decode(s, UTF_8)`: `+` → space, runs of `%XX` → their bytes as UTF-8
/// (malformed sequences → U+FFFD); `None` for a `%` not followed by two hex digits.
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(' ');
                i += 1;
            }
            b'%' => {
                let mut run = Vec::new();
                while i < bytes.len() && bytes[i] == b'%' {
                    let hex = bytes.get(i + 1..i + 3)?;
                    let hex = std::str::from_utf8(hex).ok()?;
                    run.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 3;
                }
                out.push_str(&String::from_utf8_lossy(&run));
            }
            _ => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'+' && bytes[i] != b'%' {
                    i += 1;
                }
                out.push_str(&s[start..i]);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_is_javas() {
        assert_eq!(url_encode("a b&c=d/e?f"), "a+b%26c%3Dd%2Fe%3Ff");
        assert_eq!(url_encode("*-._~!"), "*-._%7E%21");
        assert_eq!(url_encode("café"), "caf%C3%A9");
        assert_eq!(url_decode("a+b%20c").as_deref(), Some("a b c"));
        assert_eq!(url_decode("%41%zz"), None);
        assert_eq!(url_decode("caf%C3%A9").as_deref(), Some("café"));
    }

    #[test]
    fn unhex_and_inet() {
        assert_eq!(unhex("6"), Some(vec![0]));
        assert_eq!(unhex("abc"), Some(vec![0, 0xBC]));
        assert_eq!(unhex("c3A9"), Some(vec![0xC3, 0xA9]));
        assert_eq!(unhex("zz"), None);
        assert_eq!(inet_aton("1.2.3"), Some(16_908_291));
        assert_eq!(inet_aton("127.0.0.1"), Some(2_130_706_433));
        assert_eq!(inet_aton("256.1.1.1"), None);
    }

    #[test]
    fn base64_padding_is_optional_when_read() {
        assert_eq!(JAVA_BASE64.decode("aGk").unwrap(), b"hi");
        assert_eq!(JAVA_BASE64.decode("aGk=").unwrap(), b"hi");
        assert!(JAVA_BASE64.decode("hello").is_err());
    }
}
