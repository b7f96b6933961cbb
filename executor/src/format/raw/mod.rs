//! Flink's `raw` format: a record's value is the one physical column, a STRING (decoded and
//! encoded with `raw.charset`) or BYTES (as they are). Measured against Flink 2.3.0
//! (`sql/tests/flink/cases/raw_*`): a tombstone decodes as a row whose value is NULL, an empty
//! value as `''`; the filesystem sink writes each value followed by `\n` and fails on NULL; the
//! table must have exactly one physical column (a partitioned sink counts its partition
//! columns, so it is refused). Flink's raw format also reads and writes numeric columns in
//! `raw.endianness`; Sluice refuses them at validation.

use sluice_sql::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, RecordBatch, StringBuilder,
};
use sluice_sql::arrow::datatypes::DataType;
use sluice_sql::{SqlType, SqlTypeKind};

use crate::format::json::decode::{DecodeError, DecodeField, Decoded};
use crate::options::Options;

/// `raw.charset`: the character sets Sluice implements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Charset {
    /// `UTF-8` (Flink's default): invalid input decodes to U+FFFD.
    #[default]
    Utf8,
    /// `ISO-8859-1`: one byte per character; characters past U+00FF encode as `?`.
    Latin1,
    /// `US-ASCII`: bytes past 127 decode to U+FFFD; characters past 127 encode as `?`.
    Ascii,
}

/// The `raw.*` options of a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawOptions {
    /// `raw.charset`.
    pub charset: Charset,
    /// `raw.endianness` is `little-endian` (only numeric columns use it; Sluice has none).
    pub little_endian: bool,
}

impl RawOptions {
    /// Reads the options under `prefix` (`raw.`, or `value.raw.` with `value.format`).
    pub fn read(options: &mut Options<'_>, prefix: &str) -> RawOptions {
        let key = |k: &str| format!("{prefix}{k}");
        let charset = match options.string(&key("charset")) {
            None => Charset::Utf8,
            Some(c) => match c.to_ascii_uppercase().replace('_', "-").as_str() {
                "UTF-8" | "UTF8" => Charset::Utf8,
                "ISO-8859-1" | "ISO8859-1" | "LATIN1" | "ISO-LATIN-1" => Charset::Latin1,
                "US-ASCII" | "ASCII" => Charset::Ascii,
                _ => {
                    options.error(
                        &key("charset"),
                        format!("'{}' {c:?} is not a character set Sluice implements; use UTF-8, ISO-8859-1 or US-ASCII", key("charset")),
                    );
                    Charset::Utf8
                }
            },
        };
        let little_endian = options.choice(
            &key("endianness"),
            &["big-endian", "little-endian"],
            "big-endian",
        ) == "little-endian";
        RawOptions {
            charset,
            little_endian,
        }
    }
}

/// Checks the table's physical columns as Flink's `RawFormatFactory` does, and that the one
/// column is one Sluice's raw format holds (STRING or BYTES).
fn check_columns<'a>(
    columns: impl Iterator<Item = (&'a str, &'a SqlType)>,
) -> Result<bool, String> {
    let columns: Vec<_> = columns.collect();
    if columns.len() != 1 {
        let list = columns
            .iter()
            .map(|(n, t)| format!("`{n}` {t}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(format!(
            "The 'raw' format only supports single physical column. However the defined schema contains multiple physical columns: [{list}]"
        ));
    }
    let (name, ty) = columns[0];
    match ty.kind {
        SqlTypeKind::Char(_) | SqlTypeKind::Varchar(_) => Ok(true),
        SqlTypeKind::Binary(_) | SqlTypeKind::Varbinary(_) => Ok(false),
        _ => Err(format!(
            "column {name}: Sluice's 'raw' format holds a STRING or BYTES column, not {ty} (Flink's numeric raw encodings with raw.endianness are not implemented)"
        )),
    }
}

/// Decodes records into the one column.
pub struct RawDecoder {
    text: bool,
    wanted: bool,
    charset: Charset,
    strings: StringBuilder,
    bytes: BinaryBuilder,
}

impl RawDecoder {
    /// A decoder for the physical columns `fields` (exactly one).
    pub fn new(fields: &[DecodeField], options: RawOptions) -> Result<RawDecoder, String> {
        let text = check_columns(fields.iter().map(|f| (f.name.as_str(), &f.ty)))?;
        Ok(RawDecoder {
            text,
            wanted: fields[0].wanted,
            charset: options.charset,
            strings: StringBuilder::new(),
            bytes: BinaryBuilder::new(),
        })
    }

    /// Decodes one record: always one row (a tombstone's value is NULL).
    pub fn decode(&mut self, record: Option<&[u8]>) -> Result<Decoded, DecodeError> {
        match (record, self.text) {
            (None, true) => self.strings.append_null(),
            (None, false) => self.bytes.append_null(),
            (Some(b), true) => self.strings.append_value(decode_text(b, self.charset)),
            (Some(b), false) => self.bytes.append_value(b),
        }
        Ok(Decoded::Rows(1))
    }

    /// The column of the records decoded since the last call (if the statement reads it).
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        let a: ArrayRef = if self.text {
            std::sync::Arc::new(self.strings.finish())
        } else {
            std::sync::Arc::new(self.bytes.finish())
        };
        if self.wanted { vec![a] } else { Vec::new() }
    }
}

fn decode_text(b: &[u8], charset: Charset) -> String {
    match charset {
        Charset::Utf8 => String::from_utf8_lossy(b).into_owned(),
        Charset::Latin1 => b.iter().map(|&c| char::from(c)).collect(),
        Charset::Ascii => b
            .iter()
            .map(|&c| if c < 128 { char::from(c) } else { '\u{fffd}' })
            .collect(),
    }
}

/// Encodes the one column's values as lines.
#[derive(Clone, Debug)]
pub struct RawEncoder {
    charset: Charset,
}

impl RawEncoder {
    /// An encoder for the sink's `columns` (exactly one, partition columns counted).
    pub fn new(columns: &[(String, SqlType)], options: RawOptions) -> Result<RawEncoder, String> {
        check_columns(columns.iter().map(|(n, t)| (n.as_str(), t)))?;
        Ok(RawEncoder {
            charset: options.charset,
        })
    }

    /// Prepares to encode rows of `batch`.
    pub fn batch<'a>(&'a self, batch: &'a RecordBatch) -> Result<BatchEncoder<'a>, String> {
        Ok(BatchEncoder {
            charset: self.charset,
            column: batch.column(0),
        })
    }
}

/// The encoder of one batch.
pub struct BatchEncoder<'a> {
    charset: Charset,
    column: &'a ArrayRef,
}

impl BatchEncoder<'_> {
    /// Appends row `row`'s value and `\n`; a NULL fails the row, as in Flink.
    pub fn write_row(&mut self, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
        if self.column.is_null(row) {
            return Err("Cannot read the array length because \"b\" is null".to_owned());
        }
        match self.column.data_type() {
            DataType::Utf8 => {
                let s = self.column.as_string::<i32>().value(row);
                match self.charset {
                    Charset::Utf8 => out.extend_from_slice(s.as_bytes()),
                    Charset::Latin1 => {
                        out.extend(s.chars().map(|c| u8::try_from(c).unwrap_or(b'?')))
                    }
                    Charset::Ascii => {
                        out.extend(s.chars().map(|c| if c.is_ascii() { c as u8 } else { b'?' }))
                    }
                }
            }
            DataType::Binary => out.extend_from_slice(self.column.as_binary::<i32>().value(row)),
            other => return Err(format!("cannot encode a {other} value as raw")),
        }
        out.push(b'\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets_decode_like_java() {
        assert_eq!(decode_text("é".as_bytes(), Charset::Latin1), "Ã©");
        assert_eq!(decode_text(b"a\xff", Charset::Ascii), "a\u{fffd}");
        assert_eq!(decode_text(b"a\xff", Charset::Utf8), "a\u{fffd}");
    }

    #[test]
    fn one_string_or_bytes_column_only() {
        let t = |s: &str| SqlType::parse(s).unwrap();
        assert_eq!(check_columns([("v", &t("STRING"))].into_iter()), Ok(true));
        assert_eq!(check_columns([("v", &t("BYTES"))].into_iter()), Ok(false));
        assert!(
            check_columns([("v", &t("INT"))].into_iter())
                .unwrap_err()
                .contains("numeric")
        );
        let two = check_columns([("v", &t("STRING")), ("w", &t("STRING"))].into_iter());
        assert!(two.unwrap_err().contains("single physical column"));
    }
}
