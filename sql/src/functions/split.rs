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
