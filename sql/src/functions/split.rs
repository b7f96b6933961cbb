//! `SPLIT` and `REGEXP_EXTRACT_ALL`, which cut a string into an ARRAY<STRING>.
//!
//! `SPLIT(s, delimiter)`: the pieces of `s` between occurrences of `delimiter` as an
//! ARRAY<STRING> (empty pieces kept, `''` gives an empty array); an empty delimiter splits
//! into characters (Flink: UTF-16 units, so a non-BMP character would be split in halves,
//! which a Rust string cannot hold: it stays whole here).

use std::sync::Arc;

use datafusion_common::arrow::array::{Array, AsArray, ListBuilder, StringBuilder};
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::datatypes::{DataType, Field};
use datafusion_common::{Result, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::args::is_string;

pub fn function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Split {
        name: "split",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Split {
    name: &'static str,
    signature: Signature,
}

fn item() -> Arc<Field> {
    // The element field of every Sluice ARRAY (`SqlType::to_arrow`).
    Arc::new(Field::new("element", DataType::Utf8, true))
}

impl ScalarUDFImpl for Split {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        match args {
            [a, b]
                if (is_string(a) || a == &DataType::Null)
                    && (is_string(b) || b == &DataType::Null) =>
            {
                Ok(vec![DataType::Utf8, DataType::Utf8])
            }
            _ => plan_err!("SPLIT(STRING, STRING delimiter) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(item()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let s = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let d = cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let (s, d) = (s.as_string::<i32>(), d.as_string::<i32>());
        let mut b = ListBuilder::new(StringBuilder::new()).with_field(item());
        for i in 0..rows {
            if s.is_null(i) || d.is_null(i) {
                b.append_null();
                continue;
            }
            let (text, delim) = (s.value(i), d.value(i));
            if text.is_empty() {
                // No pieces.
            } else if delim.is_empty() {
                let mut buf = [0u8; 4];
                for c in text.chars() {
                    b.values().append_value(c.encode_utf8(&mut buf));
                }
            } else {
                for piece in text.split(delim) {
                    b.values().append_value(piece);
                }
            }
            b.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish())))
    }
}

/// `REGEXP_EXTRACT_ALL(s, re[, group])`: every match's group (default 1) as an
/// ARRAY<STRING>; NULL when the pattern has fewer groups or does not compile.
pub fn extract_all() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(ExtractAll {
        name: "regexp_extract_all",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ExtractAll {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for ExtractAll {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let text = |t: &DataType| is_string(t) || t == &DataType::Null;
        match args {
            [a, b] if text(a) && text(b) => Ok(vec![DataType::Utf8, DataType::Utf8]),
            [a, b, n] if text(a) && text(b) && (n.is_integer() || n == &DataType::Null) => {
                Ok(vec![DataType::Utf8, DataType::Utf8, DataType::Int64])
            }
            _ => plan_err!("REGEXP_EXTRACT_ALL(STRING, STRING regex[, INT group]) got {args:?}"),
        }
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::List(item()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion_common::arrow::datatypes::Int64Type;
        let rows = args.number_rows;
        let s = cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let p = cast(&args.args[1].to_array(rows)?, &DataType::Utf8)?;
        let n = match args.args.get(2) {
            Some(n) => Some(cast(&n.to_array(rows)?, &DataType::Int64)?),
            None => None,
        };
        let (s, p) = (s.as_string::<i32>(), p.as_string::<i32>());
        let mut b = ListBuilder::new(StringBuilder::new()).with_field(item());
        let mut last: Option<(String, Option<regex::Regex>)> = None;
        for i in 0..rows {
            let group = match &n {
                Some(n) => {
                    let n = n.as_primitive::<Int64Type>();
                    n.is_valid(i).then(|| n.value(i))
                }
                None => Some(1),
            };
            let (Some(group), true, true) = (group, s.is_valid(i), p.is_valid(i)) else {
                b.append_null();
                continue;
            };
            let pattern = p.value(i);
            if last.as_ref().is_none_or(|(q, _)| q != pattern) {
                last = Some((pattern.to_owned(), regex::Regex::new(pattern).ok()));
            }
            let Some(re) = last.as_ref().and_then(|(_, r)| r.as_ref()) else {
                b.append_null();
                continue;
            };
            let Ok(group) = usize::try_from(group) else {
                b.append_null();
                continue;
            };
            if group >= re.captures_len() {
                b.append_null();
                continue;
            }
            for c in re.captures_iter(s.value(i)) {
                match c.get(group) {
                    Some(m) => b.values().append_value(m.as_str()),
                    None => b.values().append_null(),
                }
            }
            b.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(b.finish())))
    }
}
