//! Reading a table's Flink-style options: typed values with Flink's syntax (`128MB`, `15min`,
//! `true`), every problem collected, and unknown options reported with the list of valid ones.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One option problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OptionError {
    /// The option's name.
    pub key: String,
    /// What is wrong and what is valid.
    pub message: String,
}

/// Options being read. Each read marks the key as known; [`Options::finish`] reports the rest.
#[derive(Debug)]
pub struct Options<'a> {
    table: &'a str,
    values: &'a BTreeMap<String, String>,
    secrets: BTreeSet<String>,
    known: BTreeSet<String>,
    prefixes: Vec<String>,
    errors: Vec<OptionError>,
}

impl<'a> Options<'a> {
    /// The options of a table, its Secret-backed keys marked secret: what every connector's
    /// check starts from.
    pub fn of_table(table: &'a sluice_sql::TableDef) -> Self {
        Options::new(
            &table.name,
            &table.options,
            table.secret_options.iter().map(|(k, _)| k.clone()),
        )
    }

    /// Reads `values` of table `table`; `secrets` are options whose values come from Secrets
    /// (known to exist, their values read from the environment).
    pub fn new(
        table: &'a str,
        values: &'a BTreeMap<String, String>,
        secrets: impl IntoIterator<Item = String>,
    ) -> Self {
        Options {
            table,
            values,
            secrets: secrets.into_iter().collect(),
            known: BTreeSet::new(),
            prefixes: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Declares a key valid without reading it.
    pub fn declare(&mut self, key: &str) {
        self.known.insert(key.to_owned());
    }

    /// Declares every key with this prefix valid (e.g. `properties.`).
    pub fn declare_prefix(&mut self, prefix: &str) {
        self.prefixes.push(prefix.to_owned());
    }

    /// Records a problem with an option.
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(OptionError {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Whether a value (or a secret) is set for the key.
    pub fn is_set(&self, key: &str) -> bool {
        self.values.contains_key(key) || self.secrets.contains(key)
    }

    /// Whether the option's value comes from a Secret.
    pub fn is_secret(&self, key: &str) -> bool {
        self.secrets.contains(key)
    }

    /// The raw text of a key.
    pub fn string(&mut self, key: &str) -> Option<&'a str> {
        self.declare(key);
        self.values.get(key).map(String::as_str)
    }

    /// Every `(key without prefix, value)` with the prefix (e.g. `properties.`).
    pub fn values_with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        self.values
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(prefix)
                    .map(|rest| (rest.to_owned(), v.clone()))
            })
            .collect()
    }

    /// A required text option.
    pub fn required(&mut self, key: &str) -> Option<&'a str> {
        let v = self.string(key);
        if v.is_none() && !self.secrets.contains(key) {
            let msg = format!("table {}: option '{key}' is required", self.table);
            self.error(key, msg);
        }
        v
    }

    fn parse<T>(&mut self, key: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let raw = self.string(key)?;
        match parse(raw) {
            Ok(v) => Some(v),
            Err(e) => {
                let msg = format!(
                    "table {}: could not parse value '{raw}' for option '{key}': {e}",
                    self.table
                );
                self.error(key, msg);
                None
            }
        }
    }

    /// A boolean: `true`/`false`, any case.
    pub fn boolean(&mut self, key: &str, default: bool) -> bool {
        self.parse(key, parse_bool).unwrap_or(default)
    }

    /// A duration (`15min`, `1 min`, `30s`, `500ms`; no unit = milliseconds).
    pub fn duration(&mut self, key: &str, default: Duration) -> Duration {
        self.parse(key, parse_duration).unwrap_or(default)
    }

    /// A memory size (`128MB`, `64 kb`, `1gb`; powers of 1024; no unit = bytes).
    pub fn memory(&mut self, key: &str, default: u64) -> u64 {
        self.parse(key, parse_memory_size).unwrap_or(default)
    }

    /// An integer.
    pub fn integer(&mut self, key: &str, default: i64) -> i64 {
        self.parse(key, |s| s.trim().parse::<i64>().map_err(|e| e.to_string()))
            .unwrap_or(default)
    }

    /// One of `choices` (case-insensitive), returned as the choice's spelling.
    pub fn choice(
        &mut self,
        key: &str,
        choices: &[&'static str],
        default: &'static str,
    ) -> &'static str {
        self.parse(key, |s| {
            choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(s.trim()))
                .copied()
                .ok_or_else(|| format!("expected one of [{}]", choices.join(", ")))
        })
        .unwrap_or(default)
    }

    /// Ends reading: unknown keys become errors listing every supported option (as Flink's
    /// `Unsupported options found for '<connector>'`). Returns all errors.
    pub fn finish(mut self, connector: &str) -> Result<(), Vec<OptionError>> {
        let unknown: Vec<&String> = self
            .values
            .keys()
            .chain(self.secrets.iter())
            .filter(|k| {
                !self.known.contains(*k) && !self.prefixes.iter().any(|p| k.starts_with(p.as_str()))
            })
            .collect();
        if !unknown.is_empty() {
            let mut supported: Vec<String> = self.known.iter().cloned().collect();
            supported.extend(self.prefixes.iter().map(|p| format!("{p}*")));
            supported.sort();
            for k in unknown {
                let hint =
                    sluice_sql::error::did_you_mean(k, self.known.iter().map(String::as_str))
                        .map(|m| format!(" Did you mean '{m}'?"))
                        .unwrap_or_default();
                self.errors.push(OptionError {
                    key: k.clone(),
                    message: format!(
                        "table {}: unsupported option '{k}' for connector '{connector}'.{hint} Supported options: {}",
                        self.table,
                        supported.join(", ")
                    ),
                });
            }
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

/// Flink's boolean syntax.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    if s.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if s.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("expected true or false (case insensitive)".to_owned())
    }
}

fn split_number(s: &str) -> Result<(u64, String), String> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err("expected a whole number followed by a unit".to_owned());
    }
    let n = s[..digits]
        .parse::<u64>()
        .map_err(|_| "the number is too large".to_owned())?;
    Ok((n, s[digits..].trim().to_ascii_lowercase()))
}

/// Flink's `TimeUtils.parseDuration` syntax.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = split_number(s)?;
    let per_unit = match unit.as_str() {
        "d" | "day" | "days" => 86_400_000_000_000u128,
        "h" | "hour" | "hours" => 3_600_000_000_000,
        "min" | "m" | "minute" | "minutes" => 60_000_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "µs" | "us" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        other => {
            return Err(format!(
                "time unit '{other}' is not one of d, h, min, s, ms, µs, ns (or day(s), hour(s), minute(s), second(s), ...)"
            ));
        }
    };
    let nanos = u128::from(n) * per_unit;
    Ok(Duration::new(
        (nanos / 1_000_000_000) as u64,
        (nanos % 1_000_000_000) as u32,
    ))
}

/// Flink's `MemorySize.parse` syntax (units are powers of 1024).
pub fn parse_memory_size(s: &str) -> Result<u64, String> {
    let (n, unit) = split_number(s)?;
    let shift = match unit.as_str() {
        "" | "b" | "bytes" => 0,
        "k" | "kb" | "kibibytes" => 10,
        "m" | "mb" | "mebibytes" => 20,
        "g" | "gb" | "gibibytes" => 30,
        "t" | "tb" | "tebibytes" => 40,
        other => {
            return Err(format!(
                "memory unit '{other}' is not one of b, kb, mb, gb, tb"
            ));
        }
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| "the size is too large".to_owned())
}

/// Kubernetes quantity syntax for memory (`256Mi`, `1Gi`, `500M`, `1e9`, `1024`), read by the
/// same parser as the pod's resources ([`sluice_crds::resources::parse_quantity`]) so that the
/// executor and the operator never disagree on a value; a fraction of a byte rounds up, as
/// Kubernetes rounds memory.
pub fn parse_quantity_bytes(s: &str) -> Result<u64, String> {
    match sluice_crds::resources::parse_quantity(s) {
        Some(v) if v.is_finite() && v >= 0.0 && v < u64::MAX as f64 => Ok(v.ceil() as u64),
        Some(_) => Err(format!(
            "{s:?} is not a memory size: it must be at least 0 and below 16Ei"
        )),
        None => Err(format!(
            "{s:?} is not a Kubernetes quantity such as 256Mi, 1Gi, 500M or 1e9"
        )),
    }
}

/// The source table option that sends records the job cannot process to a dead-letter path
/// instead of stopping the job.
pub const DEAD_LETTER_PATH: &str = "sluice.dead-letter.path";

/// Reads `sluice.dead-letter.path`: `s3://bucket/prefix` (also `s3a://`) or
/// `file:///absolute/dir`. It may not be combined with `<format>.ignore-parse-errors`, which
/// drops malformed records instead.
pub fn dead_letter_path(
    o: &mut Options<'_>,
    ignore_parse_errors: bool,
) -> Option<crate::location::Location> {
    let raw = o.string(DEAD_LETTER_PATH)?;
    if o.is_secret(DEAD_LETTER_PATH) {
        o.error(
            DEAD_LETTER_PATH,
            format!("option '{DEAD_LETTER_PATH}' cannot come from a Secret"),
        );
        return None;
    }
    match crate::location::Location::parse(raw.trim()) {
        Ok(location) if ignore_parse_errors => {
            let _ = location;
            o.error(
                DEAD_LETTER_PATH,
                format!(
                    "'{DEAD_LETTER_PATH}' and 'json.ignore-parse-errors' both say what to do with malformed records: keep them in the dead-letter path or drop them; set only one"
                ),
            );
            None
        }
        Ok(location) => Some(location),
        Err(e) => {
            o.error(DEAD_LETTER_PATH, format!("invalid dead-letter path: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_in_flink_syntax() {
        assert_eq!(parse_duration("15min"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1 min"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_millis(90)));
        assert_eq!(parse_duration("2 h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("1.5 min").is_err());
        assert!(
            parse_duration("5 fortnights")
                .unwrap_err()
                .contains("fortnights")
        );
        assert_eq!(parse_memory_size("128MB"), Ok(128 << 20));
        assert_eq!(parse_memory_size("128 mb"), Ok(128 << 20));
        assert_eq!(parse_memory_size("1024"), Ok(1024));
        assert!(parse_memory_size("1.5mb").is_err());
        assert_eq!(parse_quantity_bytes("256Mi"), Ok(256 << 20));
        assert_eq!(parse_quantity_bytes("1G"), Ok(1_000_000_000));
        // What the pod's resources accept (the operator's parser) is accepted here too.
        assert_eq!(parse_quantity_bytes("1e9"), Ok(1_000_000_000));
        assert_eq!(parse_quantity_bytes("1Pi"), Ok(1 << 50));
        assert_eq!(parse_quantity_bytes("1.5Gi"), Ok(3 << 29));
        assert_eq!(parse_quantity_bytes("1500m"), Ok(2));
        assert!(parse_quantity_bytes("-1Mi").is_err());
        assert!(parse_quantity_bytes("256MB").is_err());
    }

    #[test]
    fn unknown_options_list_the_supported_ones_and_suggest() {
        let values: BTreeMap<String, String> = [
            ("path", "s3://b/p"),
            ("sink.rolling-policy.file-sizee", "1MB"),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        let mut o = Options::new("sink", &values, []);
        o.required("path");
        o.memory("sink.rolling-policy.file-size", 1);
        let errs = o.finish("filesystem").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .message
                .contains("unsupported option 'sink.rolling-policy.file-sizee'"),
            "{}",
            errs[0]
        );
        assert!(
            errs[0]
                .message
                .contains("Did you mean 'sink.rolling-policy.file-size'?"),
            "{}",
            errs[0]
        );
        assert!(
            errs[0]
                .message
                .contains("Supported options: path, sink.rolling-policy.file-size"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        let values: BTreeMap<String, String> = [("json.ignore-parse-errors", "yes")]
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let mut o = Options::new("t", &values, []);
        assert!(!o.boolean("json.ignore-parse-errors", false));
        let errs = o.finish("kafka").unwrap_err();
        assert!(
            errs[0]
                .message
                .contains("could not parse value 'yes' for option 'json.ignore-parse-errors'"),
            "{}",
            errs[0]
        );
    }
}
