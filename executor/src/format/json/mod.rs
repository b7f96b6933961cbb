//! Flink's `json` format: decoding records into Arrow columns with Flink's lenient rules, and
//! encoding rows into the exact JSON text Flink writes. The rules, with their Flink sources,
//! are in `docs/flink-compat.md` (§a, §b).

pub mod column;
pub mod decode;
pub mod encode;
mod legacy;
mod numbers;
pub mod parser;
mod rules;
pub mod scan;
pub mod text;
pub mod time;

use crate::options::Options;

/// `json.timestamp-format.standard`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimestampStandard {
    /// `yyyy-MM-dd HH:mm:ss.fff` (Flink's default).
    #[default]
    Sql,
    /// `yyyy-MM-ddTHH:mm:ss.fff`.
    Iso8601,
}

/// `json.map-null-key.mode`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MapNullKey {
    /// Fail the job on a NULL map key.
    #[default]
    Fail,
    /// Drop the entry.
    Drop,
    /// Write the key as this literal.
    Literal(String),
}

/// The `json.*` options of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonOptions {
    /// `json.fail-on-missing-field`.
    pub fail_on_missing_field: bool,
    /// `json.ignore-parse-errors`.
    pub ignore_parse_errors: bool,
    /// `json.timestamp-format.standard`.
    pub timestamp_standard: TimestampStandard,
    /// `json.map-null-key.mode` / `json.map-null-key.literal`.
    pub map_null_key: MapNullKey,
    /// `json.encode.decimal-as-plain-number`.
    pub decimal_as_plain_number: bool,
    /// `json.encode.ignore-null-fields`.
    pub ignore_null_fields: bool,
    /// `json.decode.json-parser.enabled`: the streaming decoder (default) or the tree decoder.
    pub json_parser: bool,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            fail_on_missing_field: false,
            ignore_parse_errors: false,
            timestamp_standard: TimestampStandard::Sql,
            map_null_key: MapNullKey::Fail,
            decimal_as_plain_number: false,
            ignore_null_fields: false,
            json_parser: true,
        }
    }
}

impl JsonOptions {
    /// Reads the options under `prefix` (`json.`, or `value.json.` with `value.format`).
    pub fn read(options: &mut Options<'_>, prefix: &str) -> JsonOptions {
        let key = |k: &str| format!("{prefix}{k}");
        let fail_on_missing_field = options.boolean(&key("fail-on-missing-field"), false);
        let ignore_parse_errors = options.boolean(&key("ignore-parse-errors"), false);
        if fail_on_missing_field && ignore_parse_errors {
            options.error(
                &key("ignore-parse-errors"),
                format!(
                    "{} and {} shouldn't both be true",
                    key("fail-on-missing-field"),
                    key("ignore-parse-errors")
                ),
            );
        }
        let timestamp_standard = match options.string(&key("timestamp-format.standard")) {
            None | Some("SQL") => TimestampStandard::Sql,
            Some("ISO-8601") => TimestampStandard::Iso8601,
            Some(other) => {
                options.error(
                    &key("timestamp-format.standard"),
                    format!(
                        "unsupported value '{other}' for {}; supported values are [SQL, ISO-8601]",
                        key("timestamp-format.standard")
                    ),
                );
                TimestampStandard::Sql
            }
        };
        let mode = options.choice(
            &key("map-null-key.mode"),
            &["FAIL", "DROP", "LITERAL"],
            "FAIL",
        );
        let literal = options
            .string(&key("map-null-key.literal"))
            .unwrap_or("null")
            .to_owned();
        let map_null_key = match mode {
            "DROP" => MapNullKey::Drop,
            "LITERAL" => MapNullKey::Literal(literal),
            _ => MapNullKey::Fail,
        };
        let decimal_as_plain_number =
            options.boolean(&key("encode.decimal-as-plain-number"), false);
        let ignore_null_fields = options.boolean(&key("encode.ignore-null-fields"), false);
        let json_parser = options.boolean(&key("decode.json-parser.enabled"), true);
        JsonOptions {
            fail_on_missing_field,
            ignore_parse_errors,
            timestamp_standard,
            map_null_key,
            decimal_as_plain_number,
            ignore_null_fields,
            json_parser,
        }
    }
}
