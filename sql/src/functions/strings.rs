//! Flink's string and conditional functions whose semantics differ from DataFusion's.

use std::sync::Arc;

use datafusion_common::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, StringBuilder};
use datafusion_common::arrow::compute::{cast, kernels::zip::zip};
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, ScalarValue, exec_err, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::temporal::function_error;

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::from(Concat::new())),
        Arc::new(ScalarUDF::from(If::new())),
        Arc::new(ScalarUDF::from(SplitIndex::new())),
        Arc::new(ScalarUDF::from(RegexpExtract::new())),
    ]
}

fn utf8(arg: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    Ok(cast(&arg.to_array(rows)?, &DataType::Utf8)?)
}

macro_rules! udf_boilerplate {
    () => {
        fn name(&self) -> &str {
            self.name
        }
        fn signature(&self) -> &Signature {
            &self.signature
        }
    };
}

/// `CONCAT(a, b, ...)`: NULL if any argument is NULL (Flink), unlike DataFusion's.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Concat {
    name: &'static str,
    signature: Signature,
}

impl Concat {
    fn new() -> Self {
        Concat {
            name: "concat",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Concat {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.is_empty() {
            return plan_err!("CONCAT needs at least one argument");
        }
        Ok(vec![DataType::Utf8; args.len()])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| utf8(a, rows))
            .collect::<Result<Vec<_>>>()?;
        let strings: Vec<_> = arrays.iter().map(|a| a.as_string::<i32>()).collect();
        let mut out = StringBuilder::with_capacity(rows, rows * 16);
        let mut buf = String::new();
        'rows: for i in 0..rows {
            buf.clear();
            for s in &strings {
                if s.is_null(i) {
                    out.append_null();
                    continue 'rows;
                }
                buf.push_str(s.value(i));
            }
            out.append_value(&buf);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `IF(condition, then, else)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct If {
    name: &'static str,
    signature: Signature,
}

impl If {
    fn new() -> Self {
        If {
            name: "if",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for If {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [DataType::Boolean | DataType::Null, a, b] => match comparison_coercion(a, b) {
                Some(t) => Ok(vec![DataType::Boolean, t.clone(), t]),
                None => plan_err!("IF: the branches have incompatible types {a} and {b}"),
            },
            _ => plan_err!("IF(BOOLEAN condition, then, else) got {args:?}"),
        }
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let cond = args.args[0].to_array(rows)?;
        let cond = cond.as_boolean();
        // NULL conditions take the else branch.
        let mask: BooleanArray = cond.iter().map(|c| Some(c == Some(true))).collect();
        let a = args.args[1].to_array(rows)?;
        let b = args.args[2].to_array(rows)?;
        Ok(ColumnarValue::Array(zip(&mask, &a, &b)?))
    }
}

/// `SPLIT_INDEX(string, separator, index)`: the 0-based `index`-th piece, NULL if out of range.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SplitIndex {
    name: &'static str,
    signature: Signature,
}

impl SplitIndex {
    fn new() -> Self {
        SplitIndex {
            name: "split_index",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for SplitIndex {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [_, _, i] if i.is_integer() || i == &DataType::Null => {
                Ok(vec![DataType::Utf8, DataType::Utf8, DataType::Int64])
            }
            _ => plan_err!("SPLIT_INDEX(STRING, STRING separator, INT index) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let sep = utf8(&args.args[1], rows)?;
        let idx = args.args[2].to_array(rows)?;
        let idx = idx.as_primitive::<datafusion_common::arrow::datatypes::Int64Type>();
        let (s, sep) = (s.as_string::<i32>(), sep.as_string::<i32>());
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            if s.is_null(i) || sep.is_null(i) || idx.is_null(i) || idx.value(i) < 0 {
                out.append_null();
                continue;
            }
            let sep_v = sep.value(i);
            let piece = if sep_v.is_empty() {
                None
            } else {
                s.value(i).split(sep_v).nth(idx.value(i) as usize)
            };
            out.append_option(piece);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `REGEXP_EXTRACT(string, regex[, group])`: the group (default 1) of the first match.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpExtract {
    name: &'static str,
    signature: Signature,
}

impl RegexpExtract {
    fn new() -> Self {
        RegexpExtract {
            name: "regexp_extract",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for RegexpExtract {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args.len() {
            2 => Ok(vec![DataType::Utf8, DataType::Utf8]),
            3 => Ok(vec![DataType::Utf8, DataType::Utf8, DataType::Int64]),
            _ => plan_err!("REGEXP_EXTRACT(STRING, STRING regex[, INT group]) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = utf8(&args.args[0], rows)?;
        let s = s.as_string::<i32>();
        let pattern = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(p))) => p.clone(),
            ColumnarValue::Scalar(ScalarValue::Utf8(None)) => {
                return Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)));
            }
            _ => return exec_err!("REGEXP_EXTRACT: the regex must be a literal"),
        };
        let group = match args.args.get(2) {
            None => 1,
            Some(ColumnarValue::Scalar(ScalarValue::Int64(Some(g)))) if *g >= 0 => *g as usize,
            Some(_) => {
                return exec_err!("REGEXP_EXTRACT: the group must be a non-negative literal");
            }
        };
        let re = regex::Regex::new(&pattern).map_err(|e| function_error("REGEXP_EXTRACT", e))?;
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for v in s.iter() {
            out.append_option(
                v.and_then(|v| re.captures(v))
                    .and_then(|c| c.get(group))
                    .map(|m| m.as_str()),
            );
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
