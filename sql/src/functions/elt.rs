//! `ELT(n, e1, e2, ...)` on strings: the `n`-th one (1-based), NULL when `n` is out of range
//! or NULL. Flink plans a BIGINT index but its job then fails (a `ClassCastException`), and so
//! does Sluice's.

use std::sync::Arc;

use super::args::is_string;
use datafusion_common::arrow::array::{Array, AsArray, new_null_array};
use datafusion_common::arrow::compute::{cast, interleave};
use datafusion_common::arrow::datatypes::{DataType, Int64Type};
use datafusion_common::{Result, exec_err, plan_err};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub fn function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Elt {
        name: "elt",
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Elt {
    name: &'static str,
    signature: Signature,
}

impl ScalarUDFImpl for Elt {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let Some((n, rest)) = args.split_first() else {
            return plan_err!("ELT(INT index, expr, ...) needs arguments");
        };
        if rest.is_empty() || !(n.is_integer() || n == &DataType::Null) {
            return plan_err!("ELT(INT index, expr, ...) got {args:?}");
        }
        if !rest.iter().all(|t| is_string(t) || t == &DataType::Null) {
            return plan_err!("ELT(INT index, STRING, ...) takes strings, got {args:?}");
        }
        let mut out = vec![if n == &DataType::Null {
            DataType::Int32
        } else {
            n.clone()
        }];
        out.extend(std::iter::repeat_n(DataType::Utf8, rest.len()));
        Ok(out)
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[1].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        if args.args[0].data_type() == DataType::Int64 {
            return exec_err!(
                "ELT: class java.lang.Long cannot be cast to class java.lang.Integer (Flink 2.3.0 fails a job with a BIGINT index)"
            );
        }
        let n = cast(&args.args[0].to_array(rows)?, &DataType::Int64)?;
        let n = n.as_primitive::<Int64Type>();
        let mut arrays = args.args[1..]
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        // The last array is all NULL: out-of-range rows pick from it.
        let none = arrays.len();
        arrays.push(new_null_array(arrays[0].data_type(), rows));
        let picks: Vec<(usize, usize)> = (0..rows)
            .map(|i| {
                let k = if n.is_valid(i) { n.value(i) } else { 0 };
                match usize::try_from(k) {
                    Ok(k) if (1..=none).contains(&k) => (k - 1, i),
                    _ => (none, i),
                }
            })
            .collect();
        let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        Ok(ColumnarValue::Array(interleave(&refs, &picks)?))
    }
}
