//! How `datagen` makes each column's values (Flink's `RandomGeneratorVisitor` and
//! `SequenceGenerator`), written as the JSON value the source's records carry.

use std::fmt::Write as _;

use rand::Rng;
use sluice_sql::{SqlType, SqlTypeKind};

/// How one column's values are made.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `start + row` for row `0, 1, ...`: `fields.<name>.kind` = `sequence`, from
    /// `fields.<name>.start` to `fields.<name>.end` (inclusive).
    Sequence {
        /// First value.
        start: i64,
        /// Last value.
        end: i64,
    },
    /// A uniformly random integer in `min..=max` (TINYINT … BIGINT, DECIMAL with scale 0).
    Integer {
        /// Lower bound.
        min: i64,
        /// Upper bound (inclusive).
        max: i64,
    },
    /// A uniformly random number in `min..max` (FLOAT, DOUBLE, DECIMAL), written with `scale`
    /// fraction digits when it has one.
    Number {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
        /// DECIMAL's scale.
        scale: Option<u32>,
    },
    /// `true` or `false`.
    Boolean,
    /// `length` random hexadecimal characters (Flink's `nextHexString`).
    Text {
        /// `fields.<name>.length` (default 100).
        length: usize,
    },
    /// The current date, time or timestamp (Flink's default `max-past` of 0).
    Now(Clock),
}

/// Which part of the clock a column takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// DATE.
    Date,
    /// TIME.
    Time,
    /// TIMESTAMP.
    Timestamp,
    /// TIMESTAMP_LTZ.
    TimestampLtz,
}

/// One column: its JSON key, how its values are made, and how often it is NULL.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// `"name":`.
    pub key: String,
    /// How values are made.
    pub kind: Kind,
    /// Whether values are JSON strings (STRING columns of a sequence).
    pub quoted: bool,
    /// `fields.<name>.null-rate`: the share of NULL values.
    pub null_rate: f64,
}

/// The default kind of a column's values, or why the type cannot be generated.
pub fn random_kind(ty: &SqlType) -> Result<Kind, String> {
    Ok(match &ty.kind {
        SqlTypeKind::TinyInt => int_range(i8::MIN.into(), i8::MAX.into()),
        SqlTypeKind::SmallInt => int_range(i16::MIN.into(), i16::MAX.into()),
        SqlTypeKind::Int => int_range(i32::MIN.into(), i32::MAX.into()),
        SqlTypeKind::BigInt => int_range(i64::MIN, i64::MAX),
        // Java's Float.MIN_VALUE / Double.MIN_VALUE (the smallest positive numbers) to MAX_VALUE.
        SqlTypeKind::Float => Kind::Number {
            min: f64::from(f32::from_bits(1)),
            max: f64::from(f32::MAX),
            scale: None,
        },
        SqlTypeKind::Double => Kind::Number {
            min: f64::from_bits(1),
            max: f64::MAX,
            scale: None,
        },
        SqlTypeKind::Decimal(p, s) => {
            let digits = i32::from(*p) - i32::from(*s);
            let bound = 10f64.powi(digits.clamp(0, 15)) - 10f64.powi(-i32::from(*s));
            Kind::Number {
                min: -bound,
                max: bound,
                scale: Some(u32::try_from(*s).unwrap_or(0)),
            }
        }
        SqlTypeKind::Boolean => Kind::Boolean,
        SqlTypeKind::Char(_) | SqlTypeKind::Varchar(_) => Kind::Text { length: 100 },
        SqlTypeKind::Date => Kind::Now(Clock::Date),
        SqlTypeKind::Time(_) => Kind::Now(Clock::Time),
        SqlTypeKind::Timestamp(_) => Kind::Now(Clock::Timestamp),
        SqlTypeKind::TimestampLtz(_) => Kind::Now(Clock::TimestampLtz),
        _ => {
            return Err(format!(
                "datagen cannot generate {ty} values; supported: numbers, BOOLEAN, STRING, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ"
            ));
        }
    })
}

fn int_range(min: i64, max: i64) -> Kind {
    Kind::Integer { min, max }
}

/// Whether the type can hold a sequence: integers and text.
pub fn sequence_type(ty: &SqlType) -> Option<bool> {
    match ty.kind {
        SqlTypeKind::TinyInt
        | SqlTypeKind::SmallInt
        | SqlTypeKind::Int
        | SqlTypeKind::BigInt
        | SqlTypeKind::Float
        | SqlTypeKind::Double
        | SqlTypeKind::Decimal(..) => Some(false),
        SqlTypeKind::Char(_) | SqlTypeKind::Varchar(_) => Some(true),
        _ => None,
    }
}

/// Appends the JSON object of row `row` (0-based) to `out`; `now` is the wall clock
/// (`chrono::Utc::now()`) for DATE/TIME/TIMESTAMP columns.
pub fn write_row(
    out: &mut Vec<u8>,
    fields: &[Field],
    row: u64,
    now: chrono::DateTime<chrono::Utc>,
    rng: &mut impl Rng,
) {
    let mut text = String::with_capacity(16 * fields.len() + 2);
    text.push('{');
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&f.key);
        if f.null_rate > 0.0 && rng.random::<f64>() < f.null_rate {
            text.push_str("null");
            continue;
        }
        if f.quoted {
            text.push('"');
        }
        match &f.kind {
            Kind::Sequence { start, .. } => {
                let _ = write!(text, "{}", i128::from(*start) + i128::from(row));
            }
            Kind::Integer { min, max } => {
                let _ = write!(text, "{}", rng.random_range(*min..=*max));
            }
            Kind::Number { min, max, scale } => {
                let v = if min < max {
                    // `max - min` overflows to infinity for the widest ranges: scale each end.
                    min + (max / 2.0 - min / 2.0) * 2.0 * rng.random::<f64>()
                } else {
                    *min
                };
                match scale {
                    Some(s) => {
                        let _ = write!(text, "{v:.*}", *s as usize);
                    }
                    None => {
                        let _ = write!(text, "{v:e}");
                    }
                }
            }
            Kind::Boolean => text.push_str(if rng.random::<bool>() {
                "true"
            } else {
                "false"
            }),
            Kind::Text { length } => {
                text.push('"');
                const HEX: &[u8; 16] = b"0123456789abcdef";
                for _ in 0..*length {
                    text.push(char::from(HEX[rng.random_range(0..16)]));
                }
                text.push('"');
            }
            Kind::Now(clock) => {
                let format = match clock {
                    Clock::Date => "%Y-%m-%d",
                    Clock::Time => "%H:%M:%S%.3f",
                    Clock::Timestamp => "%Y-%m-%d %H:%M:%S%.3f",
                    Clock::TimestampLtz => "%Y-%m-%d %H:%M:%S%.3fZ",
                };
                let _ = write!(text, "\"{}\"", now.format(format));
            }
        }
        if f.quoted {
            text.push('"');
        }
    }
    text.push('}');
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    fn field(name: &str, kind: Kind, quoted: bool) -> Field {
        Field {
            key: format!("\"{name}\":"),
            kind,
            quoted,
            null_rate: 0.0,
        }
    }

    #[test]
    fn a_row_is_a_json_object_of_each_columns_value() {
        let fields = [
            field("id", Kind::Sequence { start: 10, end: 20 }, false),
            field("s", Kind::Sequence { start: 1, end: 5 }, true),
            field("v", Kind::Integer { min: 1, max: 3 }, false),
            field("t", Kind::Text { length: 4 }, false),
            field(
                "d",
                Kind::Number {
                    min: 0.0,
                    max: 1.0,
                    scale: Some(2),
                },
                false,
            ),
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap();
        for row in 0..50 {
            let mut out = Vec::new();
            write_row(&mut out, &fields, row, now, &mut rng);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v["id"], 10 + row);
            assert_eq!(v["s"], (1 + row).to_string());
            assert!((1..=3).contains(&v["v"].as_i64().unwrap()));
            let t = v["t"].as_str().unwrap();
            assert!(
                t.len() == 4 && t.bytes().all(|b| b.is_ascii_hexdigit()),
                "{t}"
            );
            let d = v["d"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&d));
        }
    }

    #[test]
    fn a_null_rate_of_one_makes_every_value_null_and_the_widest_ranges_stay_finite() {
        let mut always = field("x", Kind::Integer { min: 0, max: 1 }, false);
        always.null_rate = 1.0;
        let double = field(
            "y",
            random_kind(&SqlType::parse("DOUBLE").unwrap()).unwrap(),
            false,
        );
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let now = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let mut out = Vec::new();
        write_row(&mut out, &[always, double], 0, now, &mut rng);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v["x"].is_null());
        assert!(v["y"].as_f64().unwrap().is_finite());
    }
}
