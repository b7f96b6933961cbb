//! Record formats, each a module with a decode side (a Kafka record's value into Arrow columns)
//! and an encode side (an output row into the bytes of a file line): `json` is Flink's JSON
//! format, `csv` Flink's CSV format and `raw` Flink's raw format, to the character. [`Format`] is a table's checked
//! choice; [`Decoder`] and [`Encoder`] dispatch to the format's own decoder and encoder once
//! per record or row (the JSON code path itself is unchanged).

pub mod compression;
pub mod csv;
pub mod json;
pub mod raw;
pub mod row_text;

use sluice_sql::SqlType;
use sluice_sql::arrow::array::{ArrayRef, RecordBatch};

use crate::options::Options;
use csv::CsvOptions;
use json::JsonOptions;
pub use json::decode::{DecodeError, DecodeField, Decoded};
use raw::RawOptions;

/// The format names a table may choose (`format`, `value.format`).
pub const NAMES: &[&str] = &["json", "csv", "raw"];

/// A table's format with its checked options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// `json`.
    Json(JsonOptions),
    /// `csv`.
    Csv(CsvOptions),
    /// `raw`.
    Raw(RawOptions),
}

impl Default for Format {
    fn default() -> Self {
        Format::Json(JsonOptions::default())
    }
}

impl Format {
    /// Reads the options of format `name` under `prefix` + `<name>.` (`prefix` is `""`, or
    /// `value.` for Kafka's `value.format`). An unknown name is an error on `key`.
    pub fn read(name: &str, options: &mut Options<'_>, prefix: &str, key: &str) -> Format {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Format::Csv(CsvOptions::read(options, &format!("{prefix}csv."))),
            "json" => Format::Json(JsonOptions::read(options, &format!("{prefix}json."))),
            "raw" => Format::Raw(RawOptions::read(options, &format!("{prefix}raw."))),
            other => {
                options.error(
                    key,
                    format!(
                        "format '{other}' is not supported; supported formats: {}",
                        NAMES.join(", ")
                    ),
                );
                Format::default()
            }
        }
    }

    /// The format's name.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Json(_) => "json",
            Format::Csv(_) => "csv",
            Format::Raw(_) => "raw",
        }
    }

    /// The extension of the files it writes (`json`, `csv`).
    pub fn extension(&self) -> &'static str {
        self.name()
    }

    /// Whether malformed records are dropped (`<format>.ignore-parse-errors`).
    pub fn ignore_parse_errors(&self) -> bool {
        match self {
            Format::Json(j) => j.ignore_parse_errors,
            Format::Csv(c) => c.ignore_parse_errors,
            Format::Raw(_) => false,
        }
    }

    /// The JSON options (defaults for another format).
    pub fn json(&self) -> JsonOptions {
        match self {
            Format::Json(j) => j.clone(),
            Format::Csv(_) | Format::Raw(_) => JsonOptions::default(),
        }
    }
}

/// Decodes records of one table into Arrow columns, in the table's format.
pub enum Decoder {
    /// Flink's JSON.
    Json(json::decode::JsonDecoder),
    /// Flink's CSV.
    Csv(csv::decode::CsvDecoder),
    /// Flink's raw.
    Raw(raw::RawDecoder),
}

impl Decoder {
    /// A decoder for the physical columns `fields`, in declaration order.
    pub fn new(fields: &[DecodeField], format: &Format) -> Result<Decoder, String> {
        Ok(match format {
            Format::Json(o) => Decoder::Json(json::decode::JsonDecoder::new(fields, o.clone())?),
            Format::Csv(o) => Decoder::Csv(csv::decode::CsvDecoder::new(fields, o.clone())?),
            Format::Raw(o) => Decoder::Raw(raw::RawDecoder::new(fields, o.clone())?),
        })
    }

    /// Decodes one record, appending its rows; on an error nothing is appended.
    #[inline]
    pub fn decode(&mut self, record: Option<&[u8]>) -> Result<Decoded, DecodeError> {
        match self {
            Decoder::Json(d) => d.decode(record),
            Decoder::Csv(d) => d.decode(record),
            Decoder::Raw(d) => d.decode(record),
        }
    }

    /// The columns of the records decoded since the last call (the wanted ones).
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        match self {
            Decoder::Json(d) => d.finish(),
            Decoder::Csv(d) => d.finish(),
            Decoder::Raw(d) => d.finish(),
        }
    }
}

/// Encodes output rows as file lines, in the sink's format.
#[derive(Clone, Debug)]
pub enum Encoder {
    /// Flink's JSON.
    Json(json::encode::JsonEncoder),
    /// Flink's CSV.
    Csv(csv::encode::CsvEncoder),
    /// Flink's raw.
    Raw(raw::RawEncoder),
    /// Flink's `Row.toString()` (the `print` sink's text).
    RowText(row_text::RowTextEncoder),
}

impl Encoder {
    /// An encoder for `columns` (the sink's, in order), leaving out `skip` (partition columns).
    pub fn new(
        columns: &[(String, SqlType)],
        skip: &[String],
        format: &Format,
    ) -> Result<Encoder, String> {
        Ok(match format {
            Format::Json(o) => {
                Encoder::Json(json::encode::JsonEncoder::new(columns, skip, o.clone())?)
            }
            Format::Csv(o) => Encoder::Csv(csv::encode::CsvEncoder::new(columns, skip, o.clone())?),
            Format::Raw(o) => Encoder::Raw(raw::RawEncoder::new(columns, o.clone())?),
        })
    }

    /// Flink's `Row.toString()` text of `columns` (the `print` sink's lines).
    pub fn row_text(columns: &[(String, SqlType)]) -> Encoder {
        Encoder::RowText(row_text::RowTextEncoder::new(columns))
    }

    /// Prepares to encode rows of `batch` (whose columns are the sink's, in order).
    pub fn batch<'a>(&'a self, batch: &'a RecordBatch) -> Result<BatchEncoder<'a>, String> {
        Ok(match self {
            Encoder::Json(e) => BatchEncoder::Json(e.batch(batch)?),
            Encoder::Csv(e) => BatchEncoder::Csv(e.batch(batch)?),
            Encoder::Raw(e) => BatchEncoder::Raw(e.batch(batch)?),
            Encoder::RowText(e) => BatchEncoder::RowText(e, batch),
        })
    }
}

/// The encoder of one batch.
pub enum BatchEncoder<'a> {
    /// Flink's JSON.
    Json(json::encode::BatchEncoder<'a>),
    /// Flink's CSV.
    Csv(csv::encode::BatchEncoder<'a>),
    /// Flink's raw.
    Raw(raw::BatchEncoder<'a>),
    /// Flink's `Row.toString()`.
    RowText(&'a row_text::RowTextEncoder, &'a RecordBatch),
}

impl BatchEncoder<'_> {
    /// Appends row `row` as one line (with its `\n`); on an error `out` may hold part of it.
    #[inline]
    pub fn write_row(&mut self, row: usize, out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            BatchEncoder::Json(e) => e.write_row(row, out),
            BatchEncoder::Csv(e) => e.write_row(row, out),
            BatchEncoder::Raw(e) => e.write_row(row, out),
            BatchEncoder::RowText(e, batch) => e.write_row(batch, row, out),
        }
    }
}
