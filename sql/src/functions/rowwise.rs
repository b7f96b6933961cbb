//! Row-by-row scalar functions over a few argument kinds: the machinery behind Flink's many
//! small functions (`LOCATE`, `REPEAT`, `HEX`, ...), so that each one is a signature and a
//! function of one row's values.

use std::sync::Arc;

use datafusion_common::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder,
};
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::temporal::function_error;

/// The kind of an argument, and the Arrow type it is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    /// CHAR/VARCHAR/STRING, read as `Utf8`.
    Str,
    /// TINYINT..BIGINT, read as `Int64`.
    Int,
    /// Any numeric type, read as `Float64`.
    Float,
    /// BINARY/VARBINARY, read as `Binary`.
    Bytes,
}

impl Kind {
    fn arrow(self) -> DataType {
        match self {
            Kind::Str => DataType::Utf8,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Bytes => DataType::Binary,
        }
    }

    fn accepts(self, t: &DataType) -> bool {
        match self {
            _ if t == &DataType::Null => true,
            Kind::Str => matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View),
            Kind::Int => t.is_integer(),
            Kind::Float => t.is_numeric(),
            Kind::Bytes => matches!(
                t,
                DataType::Binary | DataType::LargeBinary | DataType::BinaryView
            ),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Kind::Str => "STRING",
            Kind::Int => "INTEGER",
            Kind::Float => "NUMERIC",
            Kind::Bytes => "BYTES",
        }
    }
}

/// One argument's value in a row.
#[derive(Clone, Copy, Debug)]
pub(super) enum Arg<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bytes(&'a [u8]),
}

impl<'a> Arg<'a> {
    pub(super) fn str(self) -> Option<&'a str> {
        match self {
            Arg::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn int(self) -> Option<i64> {
        match self {
            Arg::Int(i) => Some(i),
            _ => None,
        }
    }

    pub(super) fn bytes(self) -> Option<&'a [u8]> {
        match self {
            Arg::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub(super) fn float(self) -> Option<f64> {
        match self {
            Arg::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// A row's result.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Out {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
}

/// The result type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Returns {
    Fixed(DataType),
}

/// Computes one row: `Ok(Out)`, or an error that fails the job as Flink does.
pub(super) type Eval = fn(&[Arg<'_>]) -> std::result::Result<Out, RowError>;

/// Why a row fails the job; the messages are the Java exceptions' that Flink shows.
#[derive(Debug, thiserror::Error)]
pub(super) enum RowError {
    /// `Charset.forName` of a name Java does not know.
    #[error("java.nio.charset.UnsupportedCharsetException: {0}")]
    UnsupportedCharset(String),
    /// `MessageDigest.getInstance("SHA-" + bits)` of a length that does not exist.
    #[error("SHA-{0} MessageDigest not available")]
    NoSuchDigest(i64),
    /// A pattern that is not a regular expression (`SIMILAR TO`).
    #[error("{0}")]
    InvalidPattern(String),
    /// Text that `FROM_BASE64` cannot decode.
    #[error("invalid Base64 text: {0}")]
    InvalidBase64(#[source] base64::DecodeError),
}

/// A function evaluated row by row.
#[derive(Debug)]
pub(super) struct RowWise {
    name: &'static str,
    aliases: Vec<String>,
    /// The accepted argument lists.
    shapes: &'static [&'static [Kind]],
    returns: Returns,
    /// A NULL argument gives NULL without calling `eval`.
    strict: bool,
    eval: Eval,
    signature: Signature,
}

impl RowWise {
    /// A function that is NULL when any argument is NULL.
    pub(super) fn new(
        name: &'static str,
        shapes: &'static [&'static [Kind]],
        returns: Returns,
        eval: Eval,
    ) -> RowWise {
        RowWise {
            name,
            aliases: Vec::new(),
            shapes,
            returns,
            strict: true,
            eval,
            signature: if shapes.iter().all(|s| s.is_empty()) {
                Signature::nullary(Volatility::Immutable)
            } else {
                Signature::user_defined(Volatility::Immutable)
            },
        }
    }

    /// `eval` sees NULL arguments as [`Arg::Null`].
    pub(super) fn lenient(mut self) -> RowWise {
        self.strict = false;
        self
    }

    pub(super) fn udf(self) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::from(self))
    }

    fn shape(&self, args: &[DataType]) -> Option<&'static [Kind]> {
        self.shapes
            .iter()
            .copied()
            .find(|s| s.len() == args.len() && s.iter().zip(args).all(|(k, t)| k.accepts(t)))
    }
}

// Equal when they are the same function (names are unique in the registry).
impl PartialEq for RowWise {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.shapes == other.shapes && self.returns == other.returns
    }
}

impl Eq for RowWise {}

impl std::hash::Hash for RowWise {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.shapes.hash(state);
    }
}

impl ScalarUDFImpl for RowWise {
    udf_boilerplate!();

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match self.shape(args) {
            Some(shape) => Ok(shape.iter().map(|k| k.arrow()).collect()),
            None => {
                let want = self
                    .shapes
                    .iter()
                    .map(|s| {
                        format!(
                            "{}({})",
                            self.name.to_uppercase(),
                            s.iter().map(|k| k.sql()).collect::<Vec<_>>().join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" or ");
                let got = args
                    .iter()
                    .map(|t| {
                        crate::types::SqlType::from_arrow(t)
                            .map_or_else(|| t.to_string(), |t| t.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                plan_err!("{want} cannot be called with ({got})")
            }
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let _ = args;
        let Returns::Fixed(t) = &self.returns;
        Ok(t.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let types: Vec<DataType> = args.args.iter().map(ColumnarValue::data_type).collect();
        let ret = self.return_type(&types)?;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let readers = arrays.iter().map(Reader::new).collect::<Result<Vec<_>>>()?;
        let mut out = Builder::new(&ret, rows)?;
        let mut row: Vec<Arg<'_>> = Vec::with_capacity(readers.len());
        for i in 0..rows {
            row.clear();
            row.extend(readers.iter().map(|r| r.get(i)));
            if self.strict && row.iter().any(|a| matches!(a, Arg::Null)) {
                out.push(Out::Null)?;
                continue;
            }
            match (self.eval)(&row) {
                Ok(v) => out.push(v)?,
                Err(m) => return Err(function_error(&self.name.to_uppercase(), m)),
            }
        }
        Ok(ColumnarValue::Array(out.finish()?))
    }
}

/// Reads one argument array (already of its [`Kind`]'s Arrow type).
enum Reader<'a> {
    Null,
    Str(&'a datafusion_common::arrow::array::StringArray),
    Int(&'a datafusion_common::arrow::array::Int64Array),
    Float(&'a datafusion_common::arrow::array::Float64Array),
    Bytes(&'a datafusion_common::arrow::array::BinaryArray),
}

impl<'a> Reader<'a> {
    fn new(a: &'a ArrayRef) -> Result<Reader<'a>> {
        Ok(match a.data_type() {
            DataType::Null => Reader::Null,
            DataType::Utf8 => Reader::Str(a.as_string::<i32>()),
            DataType::Int64 => Reader::Int(a.as_primitive::<Int64Type>()),
            DataType::Float64 => Reader::Float(a.as_primitive::<Float64Type>()),
            DataType::Binary => Reader::Bytes(a.as_binary::<i32>()),
            other => return exec_err!("unexpected argument type {other}"),
        })
    }

    fn get(&self, i: usize) -> Arg<'a> {
        match self {
            Reader::Null => Arg::Null,
            Reader::Str(a) if a.is_valid(i) => Arg::Str(a.value(i)),
            Reader::Int(a) if a.is_valid(i) => Arg::Int(a.value(i)),
            Reader::Float(a) if a.is_valid(i) => Arg::Float(a.value(i)),
            Reader::Bytes(a) if a.is_valid(i) => Arg::Bytes(a.value(i)),
            _ => Arg::Null,
        }
    }
}

/// Builds the result column.
enum Builder {
    Str(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Bytes(BinaryBuilder),
    /// The result is another type: built as `Utf8`/`Int64`/... and cast at the end.
    Cast(Box<Builder>, DataType),
}

impl Builder {
    fn new(t: &DataType, rows: usize) -> Result<Builder> {
        Ok(match t {
            DataType::Utf8 => Builder::Str(StringBuilder::with_capacity(rows, rows * 8)),
            DataType::Int32 => Builder::Int32(Int32Builder::with_capacity(rows)),
            DataType::Int64 => Builder::Int64(Int64Builder::with_capacity(rows)),
            DataType::Float64 => Builder::Float(Float64Builder::with_capacity(rows)),
            DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(rows)),
            DataType::Binary => Builder::Bytes(BinaryBuilder::with_capacity(rows, rows * 8)),
            DataType::Int8 | DataType::Int16 => {
                Builder::Cast(Box::new(Builder::Int64(Int64Builder::new())), t.clone())
            }
            DataType::Float32 => {
                Builder::Cast(Box::new(Builder::Float(Float64Builder::new())), t.clone())
            }
            other => return exec_err!("unexpected result type {other}"),
        })
    }

    fn push(&mut self, v: Out) -> Result<()> {
        match (self, v) {
            (Builder::Cast(b, _), v) => b.push(v)?,
            (Builder::Str(b), Out::Null) => b.append_null(),
            (Builder::Int32(b), Out::Null) => b.append_null(),
            (Builder::Int64(b), Out::Null) => b.append_null(),
            (Builder::Float(b), Out::Null) => b.append_null(),
            (Builder::Bool(b), Out::Null) => b.append_null(),
            (Builder::Bytes(b), Out::Null) => b.append_null(),
            (Builder::Str(b), Out::Str(s)) => b.append_value(s),
            (Builder::Int32(b), Out::Int(i)) => b.append_value(i as i32),
            (Builder::Int64(b), Out::Int(i)) => b.append_value(i),
            (Builder::Float(b), Out::Float(f)) => b.append_value(f),
            (Builder::Bool(b), Out::Bool(x)) => b.append_value(x),
            (Builder::Bytes(b), Out::Bytes(x)) => b.append_value(x),
            (_, v) => return exec_err!("a function produced {v:?} for another result type"),
        }
        Ok(())
    }

    fn finish(self) -> Result<ArrayRef> {
        Ok(match self {
            Builder::Str(mut b) => Arc::new(b.finish()),
            Builder::Int32(mut b) => Arc::new(b.finish()),
            Builder::Int64(mut b) => Arc::new(b.finish()),
            Builder::Float(mut b) => Arc::new(b.finish()),
            Builder::Bool(mut b) => Arc::new(b.finish()),
            Builder::Bytes(mut b) => Arc::new(b.finish()),
            Builder::Cast(b, t) => cast(&b.finish()?, &t)?,
        })
    }
}
