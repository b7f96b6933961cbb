//! Flink SQL types (`STRING`, `DECIMAL(10, 2)`, `TIMESTAMP(3)`, `ARRAY<INT>`, ... `NOT NULL`),
//! parsed from their text and mapped to Arrow types.

use std::fmt;
use std::sync::Arc;

use datafusion_common::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

/// A Flink logical type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SqlTypeKind {
    /// `CHAR(n)`.
    Char(u32),
    /// `VARCHAR(n)`; `STRING` is `VARCHAR(2147483647)`.
    Varchar(u32),
    /// `BOOLEAN`.
    Boolean,
    /// `BINARY(n)`.
    Binary(u32),
    /// `VARBINARY(n)`; `BYTES` is `VARBINARY(2147483647)`.
    Varbinary(u32),
    /// `DECIMAL(p, s)`.
    Decimal(u8, i8),
    /// `TINYINT`.
    TinyInt,
    /// `SMALLINT`.
    SmallInt,
    /// `INT`.
    Int,
    /// `BIGINT`.
    BigInt,
    /// `FLOAT`.
    Float,
    /// `DOUBLE`.
    Double,
    /// `DATE`.
    Date,
    /// `TIME(p)`.
    Time(u8),
    /// `TIMESTAMP(p)` (without time zone).
    Timestamp(u8),
    /// `TIMESTAMP_LTZ(p)` (with local time zone; stored as an instant).
    TimestampLtz(u8),
    /// `ARRAY<T>`.
    Array(Box<SqlType>),
    /// `MAP<K, V>`.
    Map(Box<SqlType>, Box<SqlType>),
    /// `ROW<name T, ...>`.
    Row(Vec<(String, SqlType)>),
}

/// A Flink type with its nullability.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SqlType {
    /// The type.
    pub kind: SqlTypeKind,
    /// `false` for `... NOT NULL`.
    pub nullable: bool,
}

/// `STRING`/`BYTES` length.
pub const MAX_LENGTH: u32 = i32::MAX as u32;

/// The name of the Arrow list field that holds a MAP's entries.
pub const MAP_ENTRIES: &str = "entries";

/// Why a type's text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid type {text:?} at character {position}: {message}")]
pub struct TypeParseError {
    /// The whole type text.
    pub text: String,
    /// 1-based character position of the problem.
    pub position: usize,
    /// What is wrong, and what would be right.
    pub message: String,
}

impl SqlTypeKind {
    /// TINYINT < SMALLINT < INT < BIGINT, for widening; `None` for other types.
    pub fn integer_rank(&self) -> Option<u8> {
        match self {
            SqlTypeKind::TinyInt => Some(1),
            SqlTypeKind::SmallInt => Some(2),
            SqlTypeKind::Int => Some(3),
            SqlTypeKind::BigInt => Some(4),
            _ => None,
        }
    }
}

impl SqlType {
    /// A nullable type.
    pub fn nullable(kind: SqlTypeKind) -> SqlType {
        SqlType {
            kind,
            nullable: true,
        }
    }

    /// Parses Flink's type syntax, case-insensitively.
    pub fn parse(text: &str) -> Result<SqlType, TypeParseError> {
        let mut p = TypeParser {
            text,
            tokens: tokenize(text),
            pos: 0,
        };
        let ty = p.parse_type()?;
        if let Some(tok) = p.peek() {
            return Err(p.error_at(
                tok.start,
                format!("unexpected {:?} after the type", tok.text),
            ));
        }
        Ok(ty)
    }

    /// The Arrow type that holds values of this type.
    pub fn to_arrow(&self) -> DataType {
        match &self.kind {
            SqlTypeKind::Char(_) | SqlTypeKind::Varchar(_) => DataType::Utf8,
            SqlTypeKind::Boolean => DataType::Boolean,
            SqlTypeKind::Binary(_) | SqlTypeKind::Varbinary(_) => DataType::Binary,
            SqlTypeKind::Decimal(p, s) => DataType::Decimal128(*p, *s),
            SqlTypeKind::TinyInt => DataType::Int8,
            SqlTypeKind::SmallInt => DataType::Int16,
            SqlTypeKind::Int => DataType::Int32,
            SqlTypeKind::BigInt => DataType::Int64,
            SqlTypeKind::Float => DataType::Float32,
            SqlTypeKind::Double => DataType::Float64,
            SqlTypeKind::Date => DataType::Date32,
            // Milliseconds of the day whatever the precision, as Flink's internal `int`.
            SqlTypeKind::Time(_) => DataType::Time32(TimeUnit::Millisecond),
            // Nanoseconds whatever the precision: Flink keeps every fraction digit it decodes,
            // and writes them back (a TIMESTAMP(3) column fed `.123456` prints `.123456`).
            SqlTypeKind::Timestamp(_) => DataType::Timestamp(TimeUnit::Nanosecond, None),
            SqlTypeKind::TimestampLtz(_) => {
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
            }
            // Nested fields are nullable whatever the declaration: Flink writes NULL into them
            // when a nested value fails to decode with `ignore-parse-errors`.
            SqlTypeKind::Array(item) => {
                DataType::List(Arc::new(Field::new("element", item.to_arrow(), true)))
            }
            // A list of (key, value) entries rather than Arrow's Map: Flink maps may have a NULL
            // key (`MAP[CAST(NULL AS STRING), 1]`), Arrow maps may not. The entries field is
            // named `entries` (arrays' is `element`), which is how [`SqlType::from_arrow`]
            // tells them apart.
            SqlTypeKind::Map(k, v) => DataType::List(Arc::new(Field::new(
                MAP_ENTRIES,
                DataType::Struct(Fields::from(vec![
                    Field::new("key", k.to_arrow(), true),
                    Field::new("value", v.to_arrow(), true),
                ])),
                false,
            ))),
            SqlTypeKind::Row(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|(n, t)| Field::new(n, t.to_arrow(), true))
                    .collect::<Vec<_>>()
                    .into(),
            ),
        }
    }

    /// The Flink type that Sluice infers for an Arrow type (for messages and for checking what a
    /// query produces against a sink column).
    pub fn from_arrow(dt: &DataType) -> Option<SqlType> {
        let kind = match dt {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                SqlTypeKind::Varchar(MAX_LENGTH)
            }
            DataType::Boolean => SqlTypeKind::Boolean,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                SqlTypeKind::Varbinary(MAX_LENGTH)
            }
            DataType::Decimal128(p, s) => SqlTypeKind::Decimal(*p, *s),
            DataType::Int8 => SqlTypeKind::TinyInt,
            DataType::Int16 | DataType::UInt8 => SqlTypeKind::SmallInt,
            DataType::Int32 | DataType::UInt16 => SqlTypeKind::Int,
            DataType::Int64 | DataType::UInt32 => SqlTypeKind::BigInt,
            DataType::Float16 | DataType::Float32 => SqlTypeKind::Float,
            DataType::Float64 => SqlTypeKind::Double,
            DataType::Date32 | DataType::Date64 => SqlTypeKind::Date,
            DataType::Time32(u) | DataType::Time64(u) => SqlTypeKind::Time(precision(u)),
            DataType::Timestamp(u, None) => SqlTypeKind::Timestamp(precision(u)),
            DataType::Timestamp(u, Some(_)) => SqlTypeKind::TimestampLtz(precision(u)),
            DataType::List(f) if f.name() == MAP_ENTRIES => match f.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => SqlTypeKind::Map(
                    Box::new(SqlType::from_arrow(kv[0].data_type())?),
                    Box::new(SqlType::from_arrow(kv[1].data_type())?),
                ),
                _ => return None,
            },
            DataType::List(f) | DataType::LargeList(f) => {
                SqlTypeKind::Array(Box::new(SqlType::from_arrow(f.data_type())?))
            }
            DataType::Struct(fields) => SqlTypeKind::Row(
                fields
                    .iter()
                    .map(|f| Some((f.name().clone(), SqlType::from_arrow(f.data_type())?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            DataType::Null => SqlTypeKind::Varchar(MAX_LENGTH),
            _ => return None,
        };
        Some(SqlType::nullable(kind))
    }

    /// Whether values of type `from` may be written into a column of this type without an
    /// explicit `CAST`, as Flink's `LogicalTypeCasts.supportsImplicitCast` allows on `INSERT`:
    /// widening integers, any exact numeric into FLOAT, any numeric into DOUBLE or DECIMAL,
    /// character into character, TIMESTAMP into TIMESTAMP/TIMESTAMP_LTZ/DATE/TIME.
    pub fn accepts(&self, from: &SqlType) -> bool {
        use SqlTypeKind::*;
        let int_rank = SqlTypeKind::integer_rank;
        let exact = |k: &SqlTypeKind| int_rank(k).is_some() || matches!(k, Decimal(..));
        let numeric = |k: &SqlTypeKind| exact(k) || matches!(k, Float | Double);
        match (&self.kind, &from.kind) {
            (Char(_) | Varchar(_), Char(_) | Varchar(_)) => true,
            (Binary(_) | Varbinary(_), Binary(_) | Varbinary(_)) => true,
            (Boolean, Boolean) | (Date, Date) => true,
            (Time(_), Time(_)) => true,
            (Timestamp(_) | TimestampLtz(_) | Date | Time(_), Timestamp(_)) => true,
            (TimestampLtz(_), TimestampLtz(_)) => true,
            (Decimal(..) | Double, f) => numeric(f),
            (Float, f) => exact(f) || matches!(f, Float),
            (Array(a), Array(b)) => a.accepts(b),
            (Map(ak, av), Map(bk, bv)) => ak.accepts(bk) && av.accepts(bv),
            (Row(a), Row(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((_, x), (_, y))| x.accepts(y))
            }
            (to, from) => matches!((int_rank(to), int_rank(from)), (Some(t), Some(f)) if t >= f),
        }
    }

    /// The precision of a `TIMESTAMP`/`TIMESTAMP_LTZ`/`TIME`, if it is one.
    pub fn time_precision(&self) -> Option<u8> {
        match self.kind {
            SqlTypeKind::Timestamp(p) | SqlTypeKind::TimestampLtz(p) | SqlTypeKind::Time(p) => {
                Some(p)
            }
            _ => None,
        }
    }
}

fn precision(unit: &TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SqlTypeKind::Char(n) => write!(f, "CHAR({n})")?,
            SqlTypeKind::Varchar(MAX_LENGTH) => f.write_str("STRING")?,
            SqlTypeKind::Varchar(n) => write!(f, "VARCHAR({n})")?,
            SqlTypeKind::Boolean => f.write_str("BOOLEAN")?,
            SqlTypeKind::Binary(n) => write!(f, "BINARY({n})")?,
            SqlTypeKind::Varbinary(MAX_LENGTH) => f.write_str("BYTES")?,
            SqlTypeKind::Varbinary(n) => write!(f, "VARBINARY({n})")?,
            SqlTypeKind::Decimal(p, s) => write!(f, "DECIMAL({p}, {s})")?,
            SqlTypeKind::TinyInt => f.write_str("TINYINT")?,
            SqlTypeKind::SmallInt => f.write_str("SMALLINT")?,
            SqlTypeKind::Int => f.write_str("INT")?,
            SqlTypeKind::BigInt => f.write_str("BIGINT")?,
            SqlTypeKind::Float => f.write_str("FLOAT")?,
            SqlTypeKind::Double => f.write_str("DOUBLE")?,
            SqlTypeKind::Date => f.write_str("DATE")?,
            SqlTypeKind::Time(p) => write!(f, "TIME({p})")?,
            SqlTypeKind::Timestamp(p) => write!(f, "TIMESTAMP({p})")?,
            SqlTypeKind::TimestampLtz(p) => write!(f, "TIMESTAMP_LTZ({p})")?,
            SqlTypeKind::Array(t) => write!(f, "ARRAY<{t}>")?,
            SqlTypeKind::Map(k, v) => write!(f, "MAP<{k}, {v}>")?,
            SqlTypeKind::Row(fields) => {
                f.write_str("ROW<")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{n}` {t}")?;
                }
                f.write_str(">")?;
            }
        }
        if !self.nullable {
            f.write_str(" NOT NULL")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Token<'a> {
    text: &'a str,
    start: usize,
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut end = i;
            while let Some(&(j, c)) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    end = j + c.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(Token {
                text: &text[i..end],
                start: i,
            });
        } else if c == '`' {
            chars.next();
            let mut end = text.len();
            for (j, c) in chars.by_ref() {
                if c == '`' {
                    end = j + 1;
                    break;
                }
            }
            tokens.push(Token {
                text: &text[i..end],
                start: i,
            });
        } else {
            chars.next();
            tokens.push(Token {
                text: &text[i..i + c.len_utf8()],
                start: i,
            });
        }
    }
    tokens
}

struct TypeParser<'a> {
    text: &'a str,
    tokens: Vec<Token<'a>>,
    pos: usize,
}

const KNOWN: &str = "STRING, VARCHAR(n), CHAR(n), BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, \
                     DECIMAL(p, s), DATE, TIME(p), TIMESTAMP(p), TIMESTAMP_LTZ(p), BYTES, VARBINARY(n), BINARY(n), \
                     ARRAY<T>, MAP<K, V>, ROW<name T, ...>";

impl<'a> TypeParser<'a> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn error_at(&self, byte: usize, message: String) -> TypeParseError {
        TypeParseError {
            text: self.text.to_owned(),
            position: self.text[..byte.min(self.text.len())].chars().count() + 1,
            message,
        }
    }

    fn end(&self) -> usize {
        self.text.len()
    }

    fn keyword(&mut self, word: &str) -> bool {
        if self
            .peek()
            .is_some_and(|t| t.text.eq_ignore_ascii_case(word))
        {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Result<(), TypeParseError> {
        match self.next() {
            Some(t) if t.text.eq_ignore_ascii_case(s) => Ok(()),
            Some(t) => Err(self.error_at(t.start, format!("expected {s:?}, found {:?}", t.text))),
            None => Err(self.error_at(self.end(), format!("expected {s:?} at the end"))),
        }
    }

    fn number(&mut self) -> Result<u32, TypeParseError> {
        match self.next() {
            Some(t) => t.text.parse::<u32>().map_err(|_| {
                self.error_at(t.start, format!("expected a number, found {:?}", t.text))
            }),
            None => Err(self.error_at(self.end(), "expected a number at the end".to_owned())),
        }
    }

    /// `(n)` if present.
    fn optional_length(&mut self) -> Result<Option<u32>, TypeParseError> {
        if self.peek().is_some_and(|t| t.text == "(") {
            self.pos += 1;
            let n = self.number()?;
            self.expect(")")?;
            Ok(Some(n))
        } else {
            Ok(None)
        }
    }

    fn time_precision(&mut self, default: u32) -> Result<u8, TypeParseError> {
        let start = self.peek().map_or(self.end(), |t| t.start);
        let p = self.optional_length()?.unwrap_or(default);
        if p > 9 {
            return Err(self.error_at(start, format!("precision {p} is out of range: use 0 to 9")));
        }
        Ok(p as u8)
    }

    /// `DECIMAL[(p[, s])]` after its keyword (default `DECIMAL(10, 0)`).
    fn decimal(&mut self) -> Result<SqlTypeKind, TypeParseError> {
        let (mut p, mut s) = (10, 0);
        if self.peek().is_some_and(|t| t.text == "(") {
            self.pos += 1;
            let at = self.peek().map_or(self.end(), |t| t.start);
            p = self.number()?;
            if self.peek().is_some_and(|t| t.text == ",") {
                self.pos += 1;
                s = self.number()?;
            }
            self.expect(")")?;
            if !(1..=38).contains(&p) || s > p {
                return Err(self.error_at(
                    at,
                    format!(
                        "DECIMAL({p}, {s}) is out of range: precision 1 to 38, scale 0 to precision"
                    ),
                ));
            }
        }
        Ok(SqlTypeKind::Decimal(p as u8, s as i8))
    }

    /// `TIME[(p)] [WITHOUT TIME ZONE]` after `TIME`.
    fn time(&mut self) -> Result<SqlTypeKind, TypeParseError> {
        let p = self.time_precision(0)?;
        if self.keyword("WITHOUT") {
            self.expect("TIME")?;
            self.expect("ZONE")?;
        }
        Ok(SqlTypeKind::Time(p))
    }

    /// `TIMESTAMP[(p)] [WITH LOCAL TIME ZONE | WITHOUT TIME ZONE]` after `TIMESTAMP`.
    fn timestamp(&mut self) -> Result<SqlTypeKind, TypeParseError> {
        let p = self.time_precision(6)?;
        if self.keyword("WITH") {
            self.expect("LOCAL")?;
            self.expect("TIME")?;
            self.expect("ZONE")?;
            Ok(SqlTypeKind::TimestampLtz(p))
        } else {
            if self.keyword("WITHOUT") {
                self.expect("TIME")?;
                self.expect("ZONE")?;
            }
            Ok(SqlTypeKind::Timestamp(p))
        }
    }

    /// `ROW<name type, ...>` or `ROW(name type, ...)` after `ROW`.
    fn row(&mut self) -> Result<SqlTypeKind, TypeParseError> {
        let close = if self.peek().is_some_and(|t| t.text == "(") {
            ")"
        } else {
            ">"
        };
        self.expect(if close == ")" { "(" } else { "<" })?;
        let mut fields = Vec::new();
        loop {
            let name = match self.next() {
                Some(t) => t.text.trim_matches('`').to_owned(),
                None => {
                    return Err(self.error_at(self.end(), "expected a field name".to_owned()));
                }
            };
            let ty = self.parse_type()?;
            fields.push((name, ty));
            match self.next() {
                Some(t) if t.text == "," => continue,
                Some(t) if t.text == close => break,
                Some(t) => {
                    return Err(self.error_at(
                        t.start,
                        format!("expected ',' or '{close}', found {:?}", t.text),
                    ));
                }
                None => {
                    return Err(self.error_at(self.end(), format!("expected '{close}' at the end")));
                }
            }
        }
        Ok(SqlTypeKind::Row(fields))
    }

    fn parse_type(&mut self) -> Result<SqlType, TypeParseError> {
        let Some(tok) = self.next() else {
            return Err(self.error_at(0, format!("empty type; use one of {KNOWN}")));
        };
        let word = tok.text.to_ascii_uppercase();
        let kind = match word.as_str() {
            "STRING" => SqlTypeKind::Varchar(MAX_LENGTH),
            "VARCHAR" => SqlTypeKind::Varchar(self.optional_length()?.unwrap_or(1)),
            "CHAR" | "CHARACTER" => {
                if self.keyword("VARYING") {
                    SqlTypeKind::Varchar(self.optional_length()?.unwrap_or(1))
                } else {
                    SqlTypeKind::Char(self.optional_length()?.unwrap_or(1))
                }
            }
            "BOOLEAN" | "BOOL" => SqlTypeKind::Boolean,
            "BYTES" => SqlTypeKind::Varbinary(MAX_LENGTH),
            "BINARY" => SqlTypeKind::Binary(self.optional_length()?.unwrap_or(1)),
            "VARBINARY" => SqlTypeKind::Varbinary(self.optional_length()?.unwrap_or(1)),
            "DECIMAL" | "DEC" | "NUMERIC" => self.decimal()?,
            "TINYINT" => SqlTypeKind::TinyInt,
            "SMALLINT" => SqlTypeKind::SmallInt,
            "INT" | "INTEGER" => SqlTypeKind::Int,
            "BIGINT" => SqlTypeKind::BigInt,
            "FLOAT" | "REAL" => SqlTypeKind::Float,
            "DOUBLE" => {
                self.keyword("PRECISION");
                SqlTypeKind::Double
            }
            "DATE" => SqlTypeKind::Date,
            "TIME" => self.time()?,
            "TIMESTAMP" => self.timestamp()?,
            "TIMESTAMP_LTZ" => SqlTypeKind::TimestampLtz(self.time_precision(6)?),
            "ARRAY" => {
                self.expect("<")?;
                let item = self.parse_type()?;
                self.expect(">")?;
                SqlTypeKind::Array(Box::new(item))
            }
            "MAP" => {
                self.expect("<")?;
                let k = self.parse_type()?;
                self.expect(",")?;
                let v = self.parse_type()?;
                self.expect(">")?;
                SqlTypeKind::Map(Box::new(k), Box::new(v))
            }
            "ROW" => self.row()?,
            _ => {
                return Err(self.error_at(
                    tok.start,
                    format!("unknown type {:?}; use one of {KNOWN}", tok.text),
                ));
            }
        };
        let mut nullable = true;
        if self.keyword("NOT") {
            self.expect("NULL")?;
            nullable = false;
        } else {
            self.keyword("NULL");
        }
        Ok(SqlType { kind, nullable })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_types_and_maps_them_to_arrow() {
        let ts3 = SqlType::parse("TIMESTAMP(3)").unwrap();
        assert_eq!(
            ts3.to_arrow(),
            DataType::Timestamp(TimeUnit::Nanosecond, None)
        );
        assert_eq!(SqlType::parse("STRING").unwrap().to_arrow(), DataType::Utf8);
        assert_eq!(
            SqlType::parse("double").unwrap().to_arrow(),
            DataType::Float64
        );
        assert_eq!(
            SqlType::parse("DECIMAL(10, 2)").unwrap().to_arrow(),
            DataType::Decimal128(10, 2)
        );
        assert_eq!(
            SqlType::parse("DECIMAL").unwrap().kind,
            SqlTypeKind::Decimal(10, 0)
        );
        assert_eq!(
            SqlType::parse("TIMESTAMP").unwrap().kind,
            SqlTypeKind::Timestamp(6)
        );
        assert_eq!(
            SqlType::parse("TIMESTAMP(3) WITH LOCAL TIME ZONE")
                .unwrap()
                .kind,
            SqlTypeKind::TimestampLtz(3)
        );
        let t = SqlType::parse("BIGINT NOT NULL").unwrap();
        assert!(!t.nullable);
        assert_eq!(t.to_string(), "BIGINT NOT NULL");
    }

    #[test]
    fn parses_nested_types() {
        let t = SqlType::parse("ROW<a INT, `b c` ARRAY<STRING>, m MAP<STRING, DOUBLE NOT NULL>>")
            .unwrap();
        assert_eq!(
            t.to_string(),
            "ROW<`a` INT, `b c` ARRAY<STRING>, `m` MAP<STRING, DOUBLE NOT NULL>>"
        );
    }

    #[test]
    fn errors_name_the_position_and_the_known_types() {
        let e = SqlType::parse("DOUBEL").unwrap_err();
        assert_eq!(e.position, 1);
        assert!(
            e.message.contains("unknown type \"DOUBEL\"") && e.message.contains("DOUBLE"),
            "{e}"
        );
        let e = SqlType::parse("DECIMAL(40, 2)").unwrap_err();
        assert!(e.message.contains("out of range"), "{e}");
        let e = SqlType::parse("TIMESTAMP(3) extra").unwrap_err();
        assert_eq!(e.position, 14);
    }

    #[test]
    fn insert_accepts_widening_but_not_cross_family() {
        let t = |s| SqlType::parse(s).unwrap();
        assert!(t("BIGINT").accepts(&t("INT")));
        assert!(t("DOUBLE").accepts(&t("BIGINT")));
        assert!(t("DECIMAL(10, 2)").accepts(&t("DOUBLE")));
        assert!(t("FLOAT").accepts(&t("BIGINT")));
        assert!(!t("FLOAT").accepts(&t("DOUBLE")));
        assert!(t("TIMESTAMP_LTZ(3)").accepts(&t("TIMESTAMP(6)")));
        assert!(!t("TIMESTAMP(3)").accepts(&t("DATE")));
        assert!(!t("STRING").accepts(&t("BOOLEAN")));
        assert!(!t("INT").accepts(&t("BIGINT")));
        assert!(!t("INT").accepts(&t("DOUBLE")));
        assert!(!t("STRING").accepts(&t("INT")));
        assert!(!t("TIMESTAMP(3)").accepts(&t("STRING")));
        assert!(t("STRING").accepts(&t("VARCHAR(10)")));
    }
}
