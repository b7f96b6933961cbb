//! `GREATEST(a, b, ...)` and `LEAST(a, b, ...)` as Flink has them: NULL when any argument is
//! NULL (DataFusion's skip NULLs), arguments widened to a common type, strings compared as Java
//! strings (UTF-16 units: U+FFFF sorts after an emoji), DOUBLE `-0.0` below `0.0`.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion_common::arrow::array::{Array, ArrayRef, AsArray, make_comparator};
use datafusion_common::arrow::compute::{SortOptions, interleave};
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::{Result, plan_err};
use datafusion_expr::type_coercion::binary::comparison_coercion;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    [("greatest", Ordering::Greater), ("least", Ordering::Less)]
        .into_iter()
        .map(|(name, wins)| {
            Arc::new(ScalarUDF::from(Extreme {
                name,
                wins,
                signature: Signature::user_defined(Volatility::Immutable),
            }))
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Extreme {
    name: &'static str,
    /// The ordering of a candidate against the current pick that makes it the new pick.
    wins: Ordering,
    signature: Signature,
}

impl ScalarUDFImpl for Extreme {
    udf_boilerplate!();

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        if args.len() < 2 {
            return plan_err!("{} needs at least two arguments", self.name.to_uppercase());
        }
        let mut common = DataType::Null;
        for t in args {
            common = match comparison_coercion(&common, t) {
                Some(c) => c,
                None => {
                    return plan_err!(
                        "{}: no common type for {common} and {t}",
                        self.name.to_uppercase()
                    );
                }
            };
        }
        if matches!(common, DataType::Utf8View | DataType::LargeUtf8) {
            common = DataType::Utf8;
        }
        // Flink's common type of DOUBLE and DECIMAL is DOUBLE.
        if args
            .iter()
            .any(|t| matches!(t, DataType::Float64 | DataType::Float32))
            && common.is_numeric()
        {
            common = DataType::Float64;
        }
        Ok(vec![common; args.len()])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let strings = arrays[0].data_type() == &DataType::Utf8;
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(rows);
        for i in 0..rows {
            if arrays.iter().any(|a| a.is_null(i)) {
                // Any NULL row of any array will do: the value there is NULL.
                let a = arrays.iter().position(|a| a.is_null(i)).unwrap_or(0);
                picks.push((a, i));
                continue;
            }
            let mut best = 0;
            for a in 1..arrays.len() {
                let ord = if strings {
                    let (x, y) = (
                        arrays[a].as_string::<i32>(),
                        arrays[best].as_string::<i32>(),
                    );
                    x.value(i).encode_utf16().cmp(y.value(i).encode_utf16())
                } else {
                    let cmp = make_comparator(
                        arrays[a].as_ref(),
                        arrays[best].as_ref(),
                        SortOptions::default(),
                    )?;
                    cmp(i, i)
                };
                if ord == self.wins {
                    best = a;
                }
            }
            picks.push((best, i));
        }
        let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        Ok(ColumnarValue::Array(interleave(&refs, &picks)?))
    }
}
